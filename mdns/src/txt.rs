//! The TXT record of a chatd service: what a client may want to know before it connects.
//!
//! Keys (RFC 6763 section 6: `key=value` strings, keys compared without case):
//!
//! | key | value | meaning |
//! |-----|-------|---------|
//! | `txtvers` | `1` | the version of this set of keys |
//! | `proto` | `chatd/1` | the protocol version `HELLO` will announce (`_chatd._tcp` only) |
//! | `password` | `yes` or `no` | whether the server asks for a password |
//! | `tls` | a port | the TLS listener of the same kind, when there is one (equal to the SRV port when there is no plain listener) |
//! | `tlsfp` | `sha256:` and 64 hex digits | the TLS certificate's fingerprint, with `tls` |
//!
//! A client ignores keys it does not know, so keys can be added without a new `txtvers`.

use core::fmt;

use domain::base::charstr::CharStr;
use domain::base::rdata::ComposeRecordData;
use domain::dep::octseq::builder::OctetsBuilder;
use domain::dep::octseq::Array;
use domain::rdata::rfc1035::TxtBuilder;
use domain::rdata::Txt;

/// The largest TXT record chatd composes, in bytes (a fingerprint needs about 80).
pub const TXT_MAX: usize = 400;

/// `txtvers`: the version of the key set.
pub const TXTVERS: &str = "txtvers";
/// `proto`: the chat protocol version.
pub const PROTO: &str = "proto";
/// `password`: `yes` when a password is asked.
pub const PASSWORD: &str = "password";
/// `tls`: the port of the TLS listener of the same kind.
pub const TLS: &str = "tls";
/// `tlsfp`: the TLS certificate's fingerprint, `sha256:HEX`.
pub const TLS_FINGERPRINT: &str = "tlsfp";

/// The TXT record is full (or one entry is longer than 255 bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TxtFull;

impl fmt::Display for TxtFull {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TXT record longer than {TXT_MAX} bytes")
    }
}

impl std::error::Error for TxtFull {}

/// TXT record data: a list of `key=value` character strings, in a fixed buffer.
#[derive(Clone)]
pub struct TxtRecord {
    /// The record data as it goes on the wire, always valid TXT data (built by `domain`).
    data: Array<TXT_MAX>,
}

impl fmt::Debug for TxtRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut l = f.debug_list();
        for (k, v) in pairs(self.rdata()) {
            l.entry(&(String::from_utf8_lossy(k), v.map(String::from_utf8_lossy)));
        }
        l.finish()
    }
}

impl PartialEq for TxtRecord {
    fn eq(&self, other: &TxtRecord) -> bool {
        self.rdata() == other.rdata()
    }
}

impl Eq for TxtRecord {}

impl Default for TxtRecord {
    fn default() -> Self {
        TxtRecord::new()
    }
}

impl TxtRecord {
    /// Make an empty record (sent as one empty string, as RFC 6763 section 6.1 asks).
    pub fn new() -> TxtRecord {
        let mut data = Array::new();
        // Two bytes always fit.
        let _ = data.append_slice(&[0]);
        TxtRecord { data }
    }

    /// Return whether the record holds no entry.
    pub fn is_empty(&self) -> bool {
        pairs(self.rdata()).next().is_none()
    }

    /// Append `key=value`; on error the record is unchanged.
    pub fn push(&mut self, key: &str, value: &str) -> Result<(), TxtFull> {
        let mut entry: heapless::Vec<u8, 255> = heapless::Vec::new();
        entry
            .extend_from_slice(key.as_bytes())
            .and_then(|()| entry.extend_from_slice(b"="))
            .and_then(|()| entry.extend_from_slice(value.as_bytes()))
            .map_err(|_| TxtFull)?;
        let mut b = TxtBuilder::<Array<TXT_MAX>>::new();
        if !self.is_empty() {
            for s in self.txt().iter().flat_map(Txt::iter_charstrs) {
                b.append_charstr(s).map_err(|_| TxtFull)?;
            }
        }
        let s = CharStr::from_slice(&entry).map_err(|_| TxtFull)?;
        b.append_charstr(s).map_err(|_| TxtFull)?;
        let txt = b.finish().map_err(|_| TxtFull)?;
        let mut data = Array::new();
        txt.compose_rdata(&mut data).map_err(|_| TxtFull)?;
        self.data = data;
        Ok(())
    }

    /// Return the record data, as it goes on the wire.
    pub fn rdata(&self) -> &[u8] {
        self.data.as_ref()
    }

    /// Return the record as `domain` composes it (always `Some`: the data was composed by
    /// `domain` as TXT data).
    pub(crate) fn txt(&self) -> Option<Txt<&[u8]>> {
        Txt::from_octets(self.rdata()).ok()
    }

    /// Return the value of `key` (first occurrence, key compared without case).
    pub fn get(&self, key: &str) -> Option<Option<&[u8]>> {
        get(self.rdata(), key)
    }
}

/// Iterate over the `key=value` pairs of raw TXT record data; a string without `=` is a key
/// with no value (a boolean attribute), an empty string or one starting with `=` is skipped.
/// Malformed data yields nothing.
pub fn pairs(rdata: &[u8]) -> impl Iterator<Item = (&[u8], Option<&[u8]>)> {
    Txt::from_slice(rdata)
        .ok()
        .into_iter()
        .flat_map(|t| t.iter())
        .filter(|s| !s.is_empty() && s[0] != b'=')
        .map(|s| match s.iter().position(|&b| b == b'=') {
            Some(i) => (&s[..i], Some(&s[i + 1..])),
            None => (s, None),
        })
}

/// Return the value of `key` in raw TXT data: `None` if absent, `Some(None)` if present
/// without a value.
pub fn get<'a>(rdata: &'a [u8], key: &str) -> Option<Option<&'a [u8]>> {
    pairs(rdata)
        .find(|(k, _)| k.eq_ignore_ascii_case(key.as_bytes()))
        .map(|(_, v)| v)
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn entries_round_trip() {
        let mut t = TxtRecord::new();
        assert_eq!(t.rdata(), &[0], "an empty record is one empty string");
        t.push(TXTVERS, "1").expect("fits");
        t.push(PASSWORD, "no").expect("fits");
        assert_eq!(t.rdata(), b"\x09txtvers=1\x0bpassword=no");
        assert_eq!(t.get("PASSWORD"), Some(Some(&b"no"[..])));
        assert_eq!(t.get("proto"), None);
        let all: Vec<_> = pairs(t.rdata()).collect();
        assert_eq!(all.len(), 2);
    }

    #[test]
    fn odd_data_is_read_safely() {
        assert_eq!(pairs(b"").count(), 0, "no strings at all is malformed");
        assert_eq!(
            pairs(b"\x05abc").count(),
            0,
            "a string running past the end"
        );
        let odd = b"\x00\x01=\x04flag\x03k=v";
        let got: Vec<_> = pairs(odd).collect();
        assert_eq!(
            got,
            vec![(&b"flag"[..], None), (&b"k"[..], Some(&b"v"[..]))]
        );
    }

    #[test]
    fn the_size_is_bounded() {
        let mut t = TxtRecord::new();
        assert_eq!(
            t.push("k", &"x".repeat(300)),
            Err(TxtFull),
            "one entry is ≤ 255"
        );
        for _ in 0..16 {
            t.push("key", &"v".repeat(20)).expect("fits");
        }
        assert_eq!(t.push("key", &"v".repeat(20)), Err(TxtFull));
        assert_eq!(
            pairs(t.rdata()).count(),
            16,
            "a refused entry leaves it unchanged"
        );
    }
}

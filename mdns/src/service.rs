//! The services chatd announces: a DNS-SD service type, a port and a TXT record each.

use crate::txt::{self, TxtFull, TxtRecord};

/// A DNS-SD service type chatd can announce (RFC 6763 section 7), always over TCP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ServiceType {
    /// `_chatd._tcp`: the native chatd protocol.
    Chatd,
    /// `_irc._tcp`: the IRC dialect.
    Irc,
}

impl ServiceType {
    /// Return the service label, e.g. `_chatd`.
    pub fn label(self) -> &'static str {
        match self {
            ServiceType::Chatd => "_chatd",
            ServiceType::Irc => "_irc",
        }
    }
}

impl core::fmt::Display for ServiceType {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{}._tcp", self.label())
    }
}

/// One announced service: its type, its TCP port and its TXT record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Service {
    /// The service type.
    pub kind: ServiceType,
    /// The TCP port it listens on.
    pub port: u16,
    /// What a client may read before connecting.
    pub txt: TxtRecord,
}

/// A TLS listener to mention in a TXT record: its port and its certificate's fingerprint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TlsTxt<'a> {
    /// The TLS listener's port.
    pub port: u16,
    /// `sha256:` and the hex digest of the certificate, if known.
    pub fingerprint: Option<&'a str>,
}

/// Build the TXT record of a service of `kind`: `txtvers`, `proto` (for `_chatd._tcp`),
/// `password`, and `tls`/`tlsfp` when a TLS listener of that kind exists.
pub fn txt_for(
    kind: ServiceType,
    password: bool,
    tls: Option<TlsTxt<'_>>,
) -> Result<TxtRecord, TxtFull> {
    let mut t = TxtRecord::new();
    t.push(txt::TXTVERS, "1")?;
    if kind == ServiceType::Chatd {
        t.push(txt::PROTO, chat_core::wire::VERSION)?;
    }
    t.push(txt::PASSWORD, if password { "yes" } else { "no" })?;
    if let Some(tls) = tls {
        let mut port: heapless::String<5> = heapless::String::new();
        let _ = core::fmt::write(&mut port, format_args!("{}", tls.port));
        t.push(txt::TLS, &port)?;
        if let Some(fp) = tls.fingerprint {
            t.push(txt::TLS_FINGERPRINT, fp)?;
        }
    }
    Ok(t)
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn the_txt_keys() {
        let t = txt_for(ServiceType::Chatd, true, None).expect("fits");
        assert_eq!(t.get("txtvers"), Some(Some(&b"1"[..])));
        assert_eq!(t.get("proto"), Some(Some(&b"chatd/1"[..])));
        assert_eq!(t.get("password"), Some(Some(&b"yes"[..])));
        assert_eq!(t.get("tls"), None);
        let fp = format!("sha256:{}", "ab".repeat(32));
        let tls = TlsTxt {
            port: 5001,
            fingerprint: Some(&fp),
        };
        let t = txt_for(ServiceType::Irc, false, Some(tls)).expect("fits");
        assert_eq!(t.get("proto"), None, "proto is the native protocol's");
        assert_eq!(t.get("password"), Some(Some(&b"no"[..])));
        assert_eq!(t.get("tls"), Some(Some(&b"5001"[..])));
        assert_eq!(t.get("tlsfp"), Some(Some(fp.as_bytes())));
        assert_eq!(ServiceType::Irc.to_string(), "_irc._tcp");
    }
}

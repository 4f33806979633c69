//! The text form of a TLS certificate's fingerprint, as chatd logs it, `chatd --fingerprint`
//! prints it, people hand it around, and `chatc --fingerprint` and chatc's `known_hosts` read it.
//!
//! A fingerprint is the SHA-256 hash of the certificate (its DER bytes), written
//! `SHA256:` and then the 32 bytes as upper-case hexadecimal pairs separated by colons, the
//! form `openssl x509 -noout -fingerprint -sha256` prints after `sha256 Fingerprint=`, so a
//! fingerprint can be checked with openssl alone. Reading is lenient about what people type:
//! the `SHA256:` prefix in any case or left out, lower-case digits, colons or none. Hashing is
//! left to the caller (the core does no cryptography).

use core::fmt;

/// The prefix of the text form.
pub const PREFIX: &str = "SHA256:";

/// Bytes in a SHA-256 hash.
pub const LEN: usize = 32;

/// Characters in the text form: the prefix, 32 pairs of digits and 31 colons.
pub const TEXT_LEN: usize = PREFIX.len() + LEN * 3 - 1;

/// A certificate's SHA-256 fingerprint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Fingerprint(pub [u8; LEN]);

/// Why a text is not a fingerprint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FingerprintError {
    /// A character other than a hexadecimal digit or a colon.
    NotHex,
    /// Not 64 hexadecimal digits.
    WrongLength,
}

impl fmt::Display for FingerprintError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FingerprintError::NotHex => "a fingerprint holds hexadecimal digits and colons only",
            FingerprintError::WrongLength => "a SHA-256 fingerprint has 64 hexadecimal digits",
        })
    }
}

impl core::error::Error for FingerprintError {}

impl Fingerprint {
    /// Read a fingerprint: `SHA256:AB:CD:…`, with or without the prefix and the colons, in
    /// either case.
    pub fn parse(text: &str) -> Result<Fingerprint, FingerprintError> {
        let text = text.trim();
        let body = match text.get(..PREFIX.len()) {
            Some(p) if p.eq_ignore_ascii_case(PREFIX) => &text[PREFIX.len()..],
            _ => text,
        };
        let mut out = [0u8; LEN];
        let mut digits = 0usize;
        for c in body.bytes() {
            if c == b':' {
                continue;
            }
            let v = match c {
                b'0'..=b'9' => c - b'0',
                b'a'..=b'f' => c - b'a' + 10,
                b'A'..=b'F' => c - b'A' + 10,
                _ => return Err(FingerprintError::NotHex),
            };
            let Some(byte) = out.get_mut(digits / 2) else {
                return Err(FingerprintError::WrongLength);
            };
            *byte = (*byte << 4) | v;
            digits += 1;
        }
        if digits != LEN * 2 {
            return Err(FingerprintError::WrongLength);
        }
        Ok(Fingerprint(out))
    }
}

impl Fingerprint {
    /// Return the compact form, `sha256:` and 64 lower-case hexadecimal digits, for places
    /// short of room (an mDNS TXT record); [`Fingerprint::parse`] reads it too.
    pub fn compact(&self) -> Compact<'_> {
        Compact(self)
    }
}

/// The compact text form of a [`Fingerprint`]: see [`Fingerprint::compact`].
#[derive(Debug, Clone, Copy)]
pub struct Compact<'a>(&'a Fingerprint);

impl fmt::Display for Compact<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("sha256:")?;
        for b in self.0 .0.iter() {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(PREFIX)?;
        for (i, b) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(":")?;
            }
            write!(f, "{b:02X}")?;
        }
        Ok(())
    }
}

impl core::str::FromStr for Fingerprint {
    type Err = FingerprintError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Fingerprint::parse(s)
    }
}

#[cfg(test)]
mod test {
    use super::*;
    use std::string::ToString;

    fn sample() -> Fingerprint {
        let mut b = [0u8; LEN];
        for (i, x) in b.iter_mut().enumerate() {
            *x = u8::try_from(i)
                .unwrap_or(0)
                .wrapping_mul(37)
                .wrapping_add(5);
        }
        Fingerprint(b)
    }

    #[test]
    fn written_as_openssl_does_and_read_back() {
        let f = sample();
        let text = f.to_string();
        assert_eq!(text.len(), TEXT_LEN);
        assert!(text.starts_with("SHA256:05:2A:4F:"), "{text}");
        assert_eq!(Fingerprint::parse(&text), Ok(f));
    }

    #[test]
    fn reading_forgives_case_prefix_and_colons() {
        let f = sample();
        let text = f.to_string();
        let bare: std::string::String =
            text[PREFIX.len()..].chars().filter(|&c| c != ':').collect();
        assert_eq!(Fingerprint::parse(&bare), Ok(f));
        assert_eq!(Fingerprint::parse(&bare.to_lowercase()), Ok(f));
        assert_eq!(Fingerprint::parse(&text.to_lowercase()), Ok(f));
        assert_eq!(Fingerprint::parse(&std::format!("  {text}\n")), Ok(f));
        let compact = f.compact().to_string();
        assert!(
            compact.starts_with("sha256:052a4f") && compact.len() == 7 + 64,
            "{compact}"
        );
        assert_eq!(Fingerprint::parse(&compact), Ok(f));
    }

    #[test]
    fn anything_else_is_refused() {
        let text = sample().to_string();
        assert_eq!(
            Fingerprint::parse(&text[..text.len() - 3]),
            Err(FingerprintError::WrongLength)
        );
        assert_eq!(
            Fingerprint::parse(&std::format!("{text}:00")),
            Err(FingerprintError::WrongLength)
        );
        assert_eq!(
            Fingerprint::parse(&text.replace('A', "G")),
            Err(FingerprintError::NotHex)
        );
        assert_eq!(Fingerprint::parse(""), Err(FingerprintError::WrongLength));
        assert_eq!(
            Fingerprint::parse("SHA1:00"),
            Err(FingerprintError::NotHex),
            "another hash's prefix is not a fingerprint"
        );
    }
}

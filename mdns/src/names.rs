//! The names chatd announces: the service instance (what people see, e.g. `studio`) and the
//! host the service points at (`chatd-studio.local`), each renamed by a number on a conflict.
//!
//! chatd answers for a host name of its own rather than the machine's `HOST.local`, which
//! Avahi (or systemd-resolved) may own: a record for that name with a different address set
//! would be a conflict, and Avahi resolves a conflict by renaming the whole machine.

use core::fmt;

use domain::base::name::{Name, NameBuilder};
use domain::dep::octseq::Array;

/// The longest DNS label, in bytes.
pub const MAX_LABEL: usize = 63;

/// A domain name in wire format, kept in a fixed buffer.
pub type DnsName = Name<Array<255>>;

/// Why a name could not be built.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NameTooLong;

impl fmt::Display for NameTooLong {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("domain name too long")
    }
}

impl std::error::Error for NameTooLong {}

/// Build the absolute name made of `labels` (then the root).
pub fn from_labels(labels: &[&[u8]]) -> Result<DnsName, NameTooLong> {
    let mut b = NameBuilder::<Array<255>>::new();
    for l in labels {
        b.append_label(l).map_err(|_| NameTooLong)?;
    }
    b.into_name().map_err(|_| NameTooLong)
}

/// Return the longest prefix of `s` that fits in `max` bytes without splitting a character.
fn truncated(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// The instance label: free UTF-8 text up to 63 bytes (RFC 6763 section 4.1.1), without
/// control characters, never empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceLabel(heapless::String<MAX_LABEL>);

impl InstanceLabel {
    /// The label used when the given text has nothing usable left.
    pub const FALLBACK: &'static str = "chatd";

    /// Make a label from `text`: control characters dropped, surrounding spaces trimmed, cut
    /// to 63 bytes at a character boundary.
    pub fn new(text: &str) -> InstanceLabel {
        let mut clean: heapless::String<MAX_LABEL> = heapless::String::new();
        for c in text.trim().chars().filter(|c| !c.is_control()) {
            if clean.push(c).is_err() {
                break;
            }
        }
        let trimmed = clean.trim_end();
        let text = if trimmed.is_empty() {
            Self::FALLBACK
        } else {
            trimmed
        };
        let mut s = heapless::String::new();
        let _ = s.push_str(text);
        InstanceLabel(s)
    }

    /// Return the `n`th name after a conflict: `BASE (n)`, the base cut to keep 63 bytes.
    pub fn numbered(&self, n: u32) -> InstanceLabel {
        let mut suffix: heapless::String<16> = heapless::String::new();
        let _ = fmt::write(&mut suffix, format_args!(" ({n})"));
        let base = truncated(&self.0, MAX_LABEL - suffix.len()).trim_end();
        let mut s = heapless::String::new();
        let _ = s.push_str(base);
        let _ = s.push_str(&suffix);
        InstanceLabel(s)
    }

    /// Return the text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for InstanceLabel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The host label: `chatd-` and the machine's host name as a DNS host label (letters,
/// digits and hyphens, lower case, RFC 952), so `chatd-studio.local`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostLabel(heapless::String<MAX_LABEL>);

impl HostLabel {
    /// What every host label starts with.
    pub const PREFIX: &'static str = "chatd";

    /// Make the label from the machine's host name (only its first label is used).
    pub fn from_hostname(hostname: &str) -> HostLabel {
        let mut s: heapless::String<MAX_LABEL> = heapless::String::new();
        let _ = s.push_str(Self::PREFIX);
        let first = hostname.split('.').next().unwrap_or("");
        let mut pending_hyphen = true;
        for c in first.chars() {
            let c = c.to_ascii_lowercase();
            if c.is_ascii_alphanumeric() {
                if pending_hyphen && s.push('-').is_err() {
                    break;
                }
                pending_hyphen = false;
                if s.push(c).is_err() {
                    break;
                }
            } else {
                pending_hyphen = true;
            }
        }
        while s.ends_with('-') {
            s.pop();
        }
        HostLabel(s)
    }

    /// Return the `n`th name after a conflict: `BASE-n`, the base cut to keep 63 bytes.
    pub fn numbered(&self, n: u32) -> HostLabel {
        let mut suffix: heapless::String<16> = heapless::String::new();
        let _ = fmt::write(&mut suffix, format_args!("-{n}"));
        let base = truncated(&self.0, MAX_LABEL - suffix.len()).trim_end_matches('-');
        let mut s = heapless::String::new();
        let _ = s.push_str(base);
        let _ = s.push_str(&suffix);
        HostLabel(s)
    }

    /// Return the text (without `.local`).
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for HostLabel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.local", self.0)
    }
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn instance_labels_are_clean_and_short() {
        assert_eq!(InstanceLabel::new("  Studio  ").as_str(), "Studio");
        assert_eq!(InstanceLabel::new("a\tb\nc").as_str(), "abc");
        assert_eq!(InstanceLabel::new(" \x07 ").as_str(), "chatd");
        let long = "é".repeat(40);
        let l = InstanceLabel::new(&long);
        assert_eq!(l.as_str().len(), 62, "cut at a character boundary");
        assert_eq!(l.numbered(2).as_str().len(), 62);
        assert!(l.numbered(12).as_str().ends_with(" (12)"));
        assert!(l.numbered(12).as_str().len() <= MAX_LABEL);
        assert_eq!(
            InstanceLabel::new("Sala de estar").numbered(3).as_str(),
            "Sala de estar (3)"
        );
    }

    #[test]
    fn host_labels_are_dns_host_labels() {
        assert_eq!(HostLabel::from_hostname("Studio").as_str(), "chatd-studio");
        assert_eq!(
            HostLabel::from_hostname("my_box.example.org").as_str(),
            "chatd-my-box"
        );
        assert_eq!(HostLabel::from_hostname("--").as_str(), "chatd");
        assert_eq!(HostLabel::from_hostname("").to_string(), "chatd.local");
        let long = HostLabel::from_hostname(&"x".repeat(100));
        assert_eq!(long.as_str().len(), MAX_LABEL);
        assert_eq!(long.numbered(7).as_str().len(), MAX_LABEL);
        assert!(long.numbered(7).as_str().ends_with("x-7"));
    }

    #[test]
    fn names_are_built_from_labels() {
        let n = from_labels(&[b"My Studio", b"_chatd", b"_tcp", b"local"]).expect("fits");
        assert_eq!(n.label_count(), 5, "four labels and the root");
        assert!(
            from_labels(&[&[b'a'; 64]]).is_err(),
            "a label is at most 63 bytes"
        );
        let many: Vec<&[u8]> = vec![&[b'a'; 63]; 4];
        assert!(from_labels(&many).is_err(), "a name is at most 255 bytes");
    }
}

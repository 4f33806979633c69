//! Names: what a valid name is, and when two names are the same.
//!
//! A name is 1 to [`MAX_NAME`] bytes of UTF-8 with no whitespace and no control characters,
//! and does not start with `/` or `@` (which would read as a command). Names are compared
//! ignoring case, so `Ana` and `ANA` cannot both be online.

use core::fmt;

use crate::config::MAX_NAME;

/// A valid name, as its owner spelled it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Name(heapless::String<MAX_NAME>);

/// Why a name was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameError {
    /// The name is empty.
    Empty,
    /// The name is longer than [`MAX_NAME`] bytes.
    TooLong,
    /// The name contains whitespace or a control character.
    BadChar,
    /// The name starts with `/` or `@`.
    BadStart,
}

impl fmt::Display for NameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NameError::Empty => f.write_str("a name cannot be empty"),
            NameError::TooLong => write!(f, "a name is at most {MAX_NAME} bytes"),
            NameError::BadChar => f.write_str("a name cannot contain spaces or control characters"),
            NameError::BadStart => f.write_str("a name cannot start with / or @"),
        }
    }
}

impl core::error::Error for NameError {}

impl Name {
    /// Check `s` and make it a name.
    pub fn new(s: &str) -> Result<Name, NameError> {
        if s.is_empty() {
            return Err(NameError::Empty);
        }
        if s.len() > MAX_NAME {
            return Err(NameError::TooLong);
        }
        if s.chars()
            .any(|c| c.is_whitespace() || c.is_control() || is_invisible(c))
        {
            return Err(NameError::BadChar);
        }
        if s.starts_with(['/', '@']) {
            return Err(NameError::BadStart);
        }
        let mut v = heapless::String::new();
        v.push_str(s).map_err(|_| NameError::TooLong)?;
        Ok(Name(v))
    }

    /// Return the name as its owner spelled it.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Return whether `other` is the same name, ignoring case.
    pub fn same_as(&self, other: &str) -> bool {
        same_name(self.as_str(), other)
    }
}

/// Return whether `c` is an invisible formatting character (Unicode category Cf, plus the
/// invisible fillers): zero-width spaces and joiners, direction overrides, the byte-order mark.
///
/// A name holding one looks like another name on screen (`ana` + U+200B looks like `ana`) or
/// reorders the text around it, so one person could pass for another.
fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'
            | '\u{034F}'
            | '\u{0600}'..='\u{0605}'
            | '\u{061C}'
            | '\u{06DD}'
            | '\u{070F}'
            | '\u{115F}'..='\u{1160}'
            | '\u{17B4}'..='\u{17B5}'
            | '\u{180B}'..='\u{180F}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{206F}'
            | '\u{3164}'
            | '\u{FE00}'..='\u{FE0F}'
            | '\u{FEFF}'
            | '\u{FFA0}'
            | '\u{FFF9}'..='\u{FFFB}'
            | '\u{E0000}'..='\u{E0FFF}'
    )
}

/// Return whether two names are the same ignoring case (Unicode lower-casing).
pub fn same_name(a: &str, b: &str) -> bool {
    a.chars()
        .flat_map(char::to_lowercase)
        .eq(b.chars().flat_map(char::to_lowercase))
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn accepts_ordinary_names() {
        for n in ["Ana", "bruno_2", "José", "a", "x-y.z", "日本"] {
            assert_eq!(
                Name::new(n).map(|n| n.as_str() == n.as_str()),
                Ok(true),
                "{n}"
            );
        }
        assert!(Name::new(&"n".repeat(MAX_NAME)).is_ok());
    }

    #[test]
    fn refuses_bad_names() {
        assert_eq!(Name::new(""), Err(NameError::Empty));
        assert_eq!(
            Name::new(&"n".repeat(MAX_NAME + 1)),
            Err(NameError::TooLong)
        );
        for n in [
            "a b",
            "a\tb",
            "a\u{1b}[2J",
            "nul\0",
            "a\u{a0}b",
            "x\u{7f}",
            "ana\u{200b}",
            "a\u{202e}nib",
            "\u{feff}ana",
            "an\u{ad}a",
            "a\u{2066}b",
        ] {
            assert_eq!(Name::new(n), Err(NameError::BadChar), "{n:?}");
        }
        assert_eq!(Name::new("/quit"), Err(NameError::BadStart));
        assert_eq!(Name::new("@sair"), Err(NameError::BadStart));
    }

    #[test]
    fn comparison_ignores_case() {
        assert!(same_name("Ana", "aNA"));
        assert!(same_name("JOSÉ", "josé"));
        assert!(!same_name("Ana", "Anna"));
        assert!(!same_name("Ana", "An"));
        let n = Name::new("Bruno").unwrap();
        assert!(n.same_as("BRUNO"));
    }
}

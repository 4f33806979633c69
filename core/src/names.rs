//! Names: what a valid name is, and when two names are the same.
//!
//! One rule set serves both protocols, so that a name is a valid, unambiguous IRC nick and
//! every nick an IRC client may register (RFC 2812: `A-Z a-z 0-9 [ ] \ ` _ ^ { | } -`, up to
//! [`NICKLEN`]) is a valid name. A name is 1 to [`MAX_NAME`] bytes of UTF-8 and:
//!
//! - holds only characters assigned in Unicode [`UNICODE_VERSION`], and none that is a control,
//!   format (category Cf), private-use or separator character, a default-ignorable one (the
//!   invisible ones: zero-width spaces and joiners, direction marks, variation selectors, Hangul
//!   fillers) or a blank symbol (U+2800 BRAILLE PATTERN BLANK, U+1D159 MUSICAL SYMBOL NULL
//!   NOTEHEAD): each would let one name pass for another, or for no name at all;
//! - holds none of [`NEVER_IN_NAME`] (`!` `@` `,` `*` `?` `:`), which IRC uses to build
//!   prefixes, lists, masks and trailing parameters;
//! - does not start with a combining mark, nor with one of [`NEVER_FIRST`] (`/` `#` `&` `+` `%`
//!   `~` `$` `-`, and `@`): a native command, an IRC channel, a NAMES-list prefix, a server
//!   mask or an option;
//! - and its *folded* form (below) obeys the last two rules too, so that `ＡＮＡ！` (fullwidth)
//!   is refused like `ANA!`.
//!
//! Two names are the same when their folded forms are equal: Unicode's compatibility caseless
//! match (see [`Folded`]), so `Straße`/`STRASSE`, `ΣΟΦΟΣ`/`σοφος`, `ﬀ`/`FF` and `Ａｎａ`/`ana`
//! cannot both be online. On ASCII this is exactly IRC's `ascii` case mapping, which chatd
//! advertises as [`CASEMAPPING`], with [`UTF8MAPPING`] for the rest.

use core::fmt;

mod fold;
mod tables;

pub use fold::Folded;
pub use tables::UNICODE_VERSION;

use crate::config::MAX_NAME;
use fold::{FORBIDDEN, MARK, UNASSIGNED};

/// Characters no name contains: IRC separates `nick!user@host` with `!` and `@`, lists with
/// `,`, masks with `*` and `?`, and clients address people as `nick: text`.
pub const NEVER_IN_NAME: [char; 6] = ['!', '@', ',', '*', '?', ':'];

/// Characters no name starts with: `/` starts a native command, `#` and `&` an IRC channel,
/// `+` `%` `~` (and `@`) are NAMES-list prefixes, `$` a server mask, `-` an option of IRC
/// clients' `/msg` (and `+N` ends a native `WHO` list).
pub const NEVER_FIRST: [char; 8] = ['/', '#', '&', '+', '%', '~', '$', '-'];

/// The longest nick IRC clients may use, in bytes: the `NICKLEN` of `005 ISUPPORT`.
pub const NICKLEN: usize = MAX_NAME;

/// The `CASEMAPPING` of `005 ISUPPORT`: on ASCII names chatd compares exactly like this.
pub const CASEMAPPING: &str = "ascii";

/// The `UTF8MAPPING` of `005 ISUPPORT`, telling clients that know it (WeeChat, Ergo's) that
/// non-ASCII nicks are valid and compared ignoring case and width (RFC 8265); chatd's
/// comparison ([`Folded`]) is a superset of that one.
pub const UTF8MAPPING: &str = "rfc8265";

/// A valid name, as its owner spelled it.
///
/// Equality (`==`) is equality of spelling; use [`Name::same_as`] or [`Name::is_same`] to ask
/// whether two names are the same name.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Name {
    text: heapless::String<MAX_NAME>,
    /// [`fold_hash`] of the name, computed once.
    hash: u64,
}

/// Why a name was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameError {
    /// The name is empty.
    Empty,
    /// The name is longer than [`MAX_NAME`] bytes.
    TooLong,
    /// The name contains whitespace, a control character, an invisible formatting character
    /// or a blank symbol.
    BadChar,
    /// The name contains a character that Unicode [`UNICODE_VERSION`] does not assign.
    Unassigned,
    /// The name starts with one of [`NEVER_FIRST`] or `@` (or a variant of one).
    BadStart,
    /// The name starts with a combining mark (an accent with nothing to sit on).
    StartsWithMark,
    /// The name contains this character of [`NEVER_IN_NAME`] (or a variant of it).
    Reserved(char),
}

impl fmt::Display for NameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NameError::Empty => f.write_str("a name cannot be empty"),
            NameError::TooLong => write!(f, "a name is at most {MAX_NAME} bytes"),
            NameError::BadChar => {
                f.write_str("a name cannot contain spaces, control, invisible or blank characters")
            }
            NameError::Unassigned => {
                let (a, b, _) = UNICODE_VERSION;
                write!(f, "a name can only use characters of Unicode {a}.{b}")
            }
            NameError::BadStart => f.write_str("a name cannot start with / @ # & + % ~ $ or -"),
            NameError::StartsWithMark => f.write_str("a name cannot start with a combining mark"),
            NameError::Reserved(c) => write!(f, "a name cannot contain {c} (IRC reserves it)"),
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
        for c in s.chars() {
            let flags = fold::flags(c);
            if flags & UNASSIGNED != 0 {
                return Err(NameError::Unassigned);
            }
            if flags & FORBIDDEN != 0 {
                return Err(NameError::BadChar);
            }
        }
        check_start(s.chars().next())?;
        if let Some(c) = s.chars().find(|c| NEVER_IN_NAME.contains(c)) {
            return Err(NameError::Reserved(c));
        }
        // The same rules on the folded form, which also gives the hash.
        let mut folded = Folded::new(s);
        check_start(folded.clone().next())?;
        let mut hash = Fnv::new();
        for c in folded.by_ref() {
            if NEVER_IN_NAME.contains(&c) {
                return Err(NameError::Reserved(c));
            }
            if fold::flags(c) & FORBIDDEN != 0 {
                return Err(NameError::BadChar);
            }
            hash.add(c);
        }
        let mut text = heapless::String::new();
        text.push_str(s).map_err(|_| NameError::TooLong)?;
        Ok(Name { text, hash: hash.0 })
    }

    /// Return the name as its owner spelled it.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Return whether `other` is the same name (see [`same_name`]).
    pub fn same_as(&self, other: &str) -> bool {
        same_name(self.as_str(), other)
    }

    /// Return whether `other` is the same name; cheaper than [`Name::same_as`] when the names
    /// differ, since it first compares the hashes computed when the names were made.
    pub fn is_same(&self, other: &Name) -> bool {
        self.hash == other.hash && same_name(self.as_str(), other.as_str())
    }

    /// Return [`fold_hash`] of the name (computed once, when the name was made).
    pub fn fold_hash(&self) -> u64 {
        self.hash
    }
}

fn check_start(first: Option<char>) -> Result<(), NameError> {
    match first {
        Some(c) if c == '@' || NEVER_FIRST.contains(&c) => Err(NameError::BadStart),
        Some(c) if fold::flags(c) & MARK != 0 => Err(NameError::StartsWithMark),
        _ => Ok(()),
    }
}

/// Return whether two names are the same: whether their folded forms are equal (see
/// [`Folded`]). Any two strings may be compared; the relation is an equivalence.
///
/// Cheap when the names differ early: the folded forms are compared as they are produced.
pub fn same_name(a: &str, b: &str) -> bool {
    // An ASCII character folds to one starter of its own, which nothing moves: two names that
    // differ in an ASCII character before any other character differ.
    for (x, y) in a.bytes().zip(b.bytes()) {
        if !x.is_ascii() || !y.is_ascii() {
            return Folded::new(a).eq(Folded::new(b));
        }
        if !x.eq_ignore_ascii_case(&y) {
            return false;
        }
    }
    if a.is_ascii() && b.is_ascii() {
        return a.len() == b.len();
    }
    Folded::new(a).eq(Folded::new(b))
}

/// Return the folded form of `s`, one character at a time: what [`same_name`] compares.
pub fn folded(s: &str) -> Folded<'_> {
    Folded::new(s)
}

/// Return a 64-bit FNV-1a hash of the folded form of `s`: the same name gives the same hash,
/// so it can key a hash map or skip most comparisons (confirm a match with [`same_name`]).
pub fn fold_hash(s: &str) -> u64 {
    let mut h = Fnv::new();
    Folded::new(s).for_each(|c| h.add(c));
    h.0
}

/// FNV-1a, 64 bits, over the code points of a folded form.
struct Fnv(u64);

impl Fnv {
    fn new() -> Fnv {
        Fnv(0xcbf2_9ce4_8422_2325)
    }

    fn add(&mut self, c: char) {
        for b in (c as u32).to_le_bytes() {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

#[cfg(test)]
mod test;

//! The folded form of a name: what two names must share to be the same name.
//!
//! The folded form of a string is its *compatibility caseless* form, Unicode section 3.13 D146:
//! `NFKD(toCasefold(NFKD(toCasefold(NFD(s)))))`. Two strings with the same folded form differ
//! only in case (`ANA`, `ana`; `STRASSE`, `straße`; `ΣΟΦΟΣ`, `σοφος`), width (`Ａｎａ`),
//! compatibility variants (`ﬀ`, `ff`; `ℌ`, `h`) or in how accents are encoded (precomposed
//! `é` or `e` and U+0301). For names, which hold no default-ignorable characters, this is the
//! same comparison as Unicode's NFKC_Casefold (D147, the identifier caseless match).
//!
//! [`Folded`] produces the folded form one character at a time, with fixed buffers: the key of
//! each character is looked up in generated tables (see `core/unicode/gen_tables.py`), and each
//! run of combining marks is put in canonical order. The only subtlety is U+0345 COMBINING
//! GREEK YPOGEGRAMMENI, which case folding turns into the letter U+03B9: D146 first moves it to
//! the end of its run of marks, so the U+03B9 it becomes is held back until that run ends. The
//! generator checks this shortcut against the exact D146 on Unicode's own test strings.

use core::str::Chars;

use super::tables::{BMP_BLOCKS, INFO, MAX_NON_STARTERS_PER_BYTE, POOL, STARTS};
use crate::config::MAX_NAME;

/// The character may not appear in a name (control, format, private-use, separator,
/// default-ignorable, blank or unassigned).
pub(super) const FORBIDDEN: u32 = 1;
/// The character is a combining mark (general category M).
pub(super) const MARK: u32 = 2;
/// The character's canonical decomposition starts with a non-starter.
const NOT_U_STARTER: u32 = 4;
/// After the first case folding and decomposition, the character's key does not start a run.
const NOT_V_STARTER: u32 = 8;
/// The key ends with a U+03B9 from a U+0345 of the canonical decomposition.
const DEFER_NFD: u32 = 16;
/// The key ends with a U+03B9 from a U+0345 of the compatibility decomposition.
const DEFER_NFKD: u32 = 32;
/// The character is not assigned in the tables' version of Unicode.
pub(super) const UNASSIGNED: u32 = 64;

const KIND_SAME: u32 = 0;
const KIND_DELTA: u32 = 1;
const KIND_POOL: u32 = 2;

/// U+03B9 GREEK SMALL LETTER IOTA, a starter, as a key element.
const IOTA: u32 = 0x03B9;

/// Hangul syllables decompose by arithmetic (Unicode section 3.12).
const S_BASE: u32 = 0xAC00;
const S_COUNT: u32 = 11172;
const L_BASE: u32 = 0x1100;
const V_BASE: u32 = 0x1161;
const T_BASE: u32 = 0x11A7;
const N_COUNT: u32 = 588;
const T_COUNT: u32 = 28;

/// The longest run of non-starters (plus its starter) the key of a name can hold; a longer run
/// (only in strings longer than any name) is cut, which keeps the key a function of the string.
const RUN: usize = MAX_NAME * MAX_NON_STARTERS_PER_BYTE + 1;

/// Return the table entry for `c`: flags (bits 0-6), kind (7-8), payload (9-31).
fn info(c: char) -> u32 {
    let cp = c as u32;
    // The ranges that may hold `c`: those of its block in the BMP, or all the others.
    let (lo, hi) = match BMP_BLOCKS.get(cp as usize >> 7..(cp as usize >> 7) + 2) {
        Some(&[lo, hi]) => (usize::from(lo), usize::from(hi) + 1),
        _ => (usize::from(BMP_BLOCKS[BMP_BLOCKS.len() - 1]), STARTS.len()),
    };
    let starts = STARTS.get(lo..hi).unwrap_or(&[]);
    // starts[0] <= cp, so the partition point is at least 1.
    let i = lo + starts.partition_point(|&s| s <= cp).saturating_sub(1);
    INFO.get(i).copied().unwrap_or(FORBIDDEN)
}

/// Return the flags of `c` (the bits named above).
pub(super) fn flags(c: char) -> u32 {
    match c {
        '\0'..=' ' | '\u{7f}' => FORBIDDEN,
        '!'..='~' => 0,
        _ => info(c) & 0x7f,
    }
}

/// One element of a key: a code point (bits 0-20) and its canonical combining class (24-31).
type Elem = u32;

fn ccc(e: Elem) -> u32 {
    e >> 24
}

fn to_char(e: Elem) -> char {
    char::from_u32(e & 0x1F_FFFF).unwrap_or(char::REPLACEMENT_CHARACTER)
}

/// The keys of the characters of a string, concatenated, before canonical reordering.
#[derive(Clone)]
struct Keys<'a> {
    input: Chars<'a>,
    /// U+03B9 to give before anything else.
    iotas: u32,
    /// Held-back U+03B9 (see the module doc), by where they came from.
    defer_nfd: u32,
    defer_nfkd: u32,
    /// The rest of the current character's key: inline, then from the pool.
    inline: [Elem; 3],
    inline_len: u8,
    inline_at: u8,
    pool: &'static [Elem],
}

impl<'a> Keys<'a> {
    fn new(s: &'a str) -> Keys<'a> {
        Keys {
            input: s.chars(),
            iotas: 0,
            defer_nfd: 0,
            defer_nfkd: 0,
            inline: [0; 3],
            inline_len: 0,
            inline_at: 0,
            pool: &[],
        }
    }

    fn set_inline(&mut self, elems: &[Elem]) {
        let n = elems.len().min(self.inline.len());
        self.inline[..n].copy_from_slice(&elems[..n]);
        // n is at most the inline array's length, 3.
        self.inline_len = u8::try_from(n).unwrap_or(u8::MAX);
        self.inline_at = 0;
    }

    /// Start on the next character of the input.
    fn load(&mut self, c: char) {
        if c.is_ascii() {
            self.iotas = self.defer_nfd + self.defer_nfkd;
            self.defer_nfd = 0;
            self.defer_nfkd = 0;
            self.set_inline(&[c.to_ascii_lowercase() as u32]);
            return;
        }
        let info = info(c);
        let flags = info & 0x7f;
        let payload = info >> 9;
        let cp = c as u32;
        // A held-back U+03B9 of the canonical decomposition goes before the next starter; being
        // a starter itself, it ends the run of one held back from the compatibility one too.
        if (flags & NOT_U_STARTER == 0 && self.defer_nfd > 0) || flags & NOT_V_STARTER == 0 {
            self.iotas = self.defer_nfd + self.defer_nfkd;
            self.defer_nfd = 0;
            self.defer_nfkd = 0;
        }
        match (info >> 7) & 3 {
            KIND_SAME => self.set_inline(&[cp | payload << 24]),
            KIND_DELTA => {
                // A 23-bit signed offset to a single starter.
                let delta = ((payload << 9) as i32) >> 9;
                self.set_inline(&[cp.wrapping_add_signed(delta)]);
            }
            KIND_POOL => {
                let at = (payload & 0x3_FFFF) as usize;
                let len = (payload >> 18) as usize;
                self.set_inline(&[]);
                self.pool = POOL.get(at..at + len).unwrap_or(&[]);
            }
            _ => {
                let s = cp.wrapping_sub(S_BASE) % S_COUNT;
                let l = L_BASE + s / N_COUNT;
                let v = V_BASE + (s % N_COUNT) / T_COUNT;
                let t = s % T_COUNT;
                if t == 0 {
                    self.set_inline(&[l, v]);
                } else {
                    self.set_inline(&[l, v, T_BASE + t]);
                }
            }
        }
        if flags & DEFER_NFD != 0 {
            self.defer_nfd = self.defer_nfd.saturating_add(1);
        }
        if flags & DEFER_NFKD != 0 {
            self.defer_nfkd = self.defer_nfkd.saturating_add(1);
        }
    }
}

impl Iterator for Keys<'_> {
    type Item = Elem;

    fn next(&mut self) -> Option<Elem> {
        loop {
            if self.iotas > 0 {
                self.iotas -= 1;
                return Some(IOTA);
            }
            if self.inline_at < self.inline_len {
                self.inline_at += 1;
                return Some(self.inline[self.inline_at as usize - 1]);
            }
            if let Some((&e, rest)) = self.pool.split_first() {
                self.pool = rest;
                return Some(e);
            }
            match self.input.next() {
                Some(c) => self.load(c),
                None if self.defer_nfd + self.defer_nfkd > 0 => {
                    self.iotas = self.defer_nfd + self.defer_nfkd;
                    self.defer_nfd = 0;
                    self.defer_nfkd = 0;
                }
                None => return None,
            }
        }
    }
}

/// The folded form of a string, one character at a time (see the module doc).
#[derive(Clone)]
pub struct Folded<'a> {
    keys: Keys<'a>,
    /// The current run: a starter (or not, at the very start) and the non-starters after it,
    /// in canonical order once complete.
    run: [Elem; RUN],
    len: usize,
    at: usize,
    /// The starter that ended the current run, which begins the next.
    next_starter: Option<Elem>,
}

impl<'a> Folded<'a> {
    /// Fold `s`.
    pub fn new(s: &'a str) -> Folded<'a> {
        Folded {
            keys: Keys::new(s),
            run: [0; RUN],
            len: 0,
            at: 0,
            next_starter: None,
        }
    }
}

impl Iterator for Folded<'_> {
    type Item = char;

    fn next(&mut self) -> Option<char> {
        if self.at < self.len {
            self.at += 1;
            return Some(to_char(self.run[self.at - 1]));
        }
        let first = match self.next_starter.take() {
            Some(e) => e,
            None => self.keys.next()?,
        };
        self.run[0] = first;
        self.len = 1;
        for e in self.keys.by_ref() {
            if ccc(e) == 0 || self.len == RUN {
                self.next_starter = Some(e);
                break;
            }
            self.run[self.len] = e;
            self.len += 1;
        }
        // Canonical ordering: a stable insertion sort of the non-starters by combining class.
        let from = usize::from(ccc(first) == 0);
        for i in from + 1..self.len {
            let mut j = i;
            while j > from && ccc(self.run[j - 1]) > ccc(self.run[j]) {
                self.run.swap(j - 1, j);
                j -= 1;
            }
        }
        self.at = 1;
        Some(to_char(self.run[0]))
    }
}

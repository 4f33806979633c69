//! Removing IRC formatting (bold, colours, …) from text, so it can enter the native room.
//!
//! The codes (ircdocs.horse, "Formatting"): `\x02` bold, `\x1d` italic, `\x1f` underline,
//! `\x1e` strikethrough, `\x11` monospace, `\x16` reverse, `\x0f` reset; `\x03` colour,
//! followed by up to two digits and, only after a digit, a comma and up to two more; `\x04`
//! hex colour, followed by six hex digits and, after them, a comma and six more.
//!
//! The native protocol refuses every control character but tab, so the stripper removes the
//! others too (a stray `\x01` or bell): what it leaves is text a native client may send. A
//! colour's digits go with it; digits not part of a code stay (`\x03,5` leaves `,5`).

use core::fmt::Write;

use super::BufferFull;

/// The runs of plain text between formatting codes and control characters, in order.
#[derive(Debug, Clone)]
pub struct PlainRuns<'a> {
    rest: &'a str,
}

/// Return the plain runs of `text`; concatenated, they are the text without formatting.
pub fn plain_runs(text: &str) -> PlainRuns<'_> {
    PlainRuns { rest: text }
}

fn stripped(c: char) -> bool {
    c.is_control() && c != '\t'
}

/// Return how many bytes the code starting `s` takes (`s` starts with a stripped character).
fn code_len(s: &str) -> usize {
    let b = s.as_bytes();
    let digits = |from: usize, max: usize| {
        b.iter()
            .skip(from)
            .take(max)
            .take_while(|c| c.is_ascii_digit())
            .count()
    };
    let hex6 =
        |from: usize| b.len() >= from + 6 && b[from..from + 6].iter().all(u8::is_ascii_hexdigit);
    match b.first() {
        Some(0x03) => {
            let fg = digits(1, 2);
            let mut n = 1 + fg;
            if fg > 0 && b.get(n) == Some(&b',') && b.get(n + 1).is_some_and(u8::is_ascii_digit) {
                n += 1 + digits(n + 1, 2);
            }
            n
        }
        Some(0x04) => {
            let mut n = 1;
            if hex6(1) {
                n += 6;
                if b.get(n) == Some(&b',') && hex6(n + 1) {
                    n += 7;
                }
            }
            n
        }
        _ => s.chars().next().map_or(0, char::len_utf8),
    }
}

impl<'a> Iterator for PlainRuns<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        loop {
            if self.rest.is_empty() {
                return None;
            }
            match self.rest.find(stripped) {
                Some(0) => self.rest = &self.rest[code_len(self.rest)..],
                Some(i) => {
                    let (run, rest) = self.rest.split_at(i);
                    self.rest = rest;
                    return Some(run);
                }
                None => return Some(core::mem::take(&mut self.rest)),
            }
        }
    }
}

impl core::iter::FusedIterator for PlainRuns<'_> {}

/// Write `text` without its formatting codes and control characters (tab stays).
///
/// The result is never longer than `text`, so a buffer of its size is always enough.
pub fn strip_formatting<W: Write + ?Sized>(text: &str, out: &mut W) -> Result<(), BufferFull> {
    plain_runs(text).try_for_each(|run| out.write_str(run).map_err(|_| BufferFull))
}

/// Return whether `text` holds nothing to strip, so it can be used as it is.
pub fn is_plain(text: &str) -> bool {
    !text.contains(stripped)
}

#[cfg(test)]
mod test {
    use super::*;
    use std::string::String;

    fn strip(text: &str) -> String {
        let mut s = String::new();
        assert_eq!(strip_formatting(text, &mut s), Ok(()));
        s
    }

    #[test]
    fn toggles_go() {
        assert_eq!(
            strip("\x02bold\x02 \x1ditalic\x1d \x1funder\x1f \x1estrike\x1e \x11mono\x11 \x16rev\x16\x0f."),
            "bold italic under strike mono rev."
        );
    }

    #[test]
    fn colours_go_with_their_digits() {
        assert_eq!(strip("\x0304red\x03 plain"), "red plain");
        assert_eq!(strip("\x034,12red on blue"), "red on blue");
        assert_eq!(strip("\x0304,1"), "");
        assert_eq!(strip("\x03123"), "3", "two digits at most");
        assert_eq!(strip("\x031,234"), "4");
        assert_eq!(strip("\x03,5x"), ",5x", "a comma needs a colour before it");
        assert_eq!(strip("\x031,x"), ",x", "and a digit after it");
        assert_eq!(strip("\x03"), "");
        assert_eq!(strip("9\x03"), "9");
    }

    #[test]
    fn hex_colours_go_with_their_digits() {
        assert_eq!(strip("\x04FF0000red"), "red");
        assert_eq!(strip("\x04ff0000,00ff00x"), "x");
        assert_eq!(
            strip("\x04FF00,"),
            "FF00,",
            "not six digits: only the code goes"
        );
        assert_eq!(strip("\x04FF0000,12x"), ",12x");
    }

    #[test]
    fn other_controls_go_and_tab_and_unicode_stay() {
        assert_eq!(strip("\x01VERSION\x01"), "VERSION");
        assert_eq!(
            strip("bell\x07 esc\x1b[2J del\x7f c1\u{85}."),
            "bell esc[2J del c1."
        );
        assert_eq!(strip("a\tb — João 日本 🎉"), "a\tb — João 日本 🎉");
        assert!(is_plain("a\tb — João"));
        assert!(!is_plain("a\x02b"));
        assert!(!is_plain("\u{9f}"));
    }

    #[test]
    fn runs_borrow_the_text_and_a_small_buffer_is_an_error() {
        let runs: std::vec::Vec<&str> = plain_runs("a\x02b\x0312c").collect();
        assert_eq!(runs, ["a", "b", "c"]);
        let mut small: heapless::String<2> = heapless::String::new();
        assert_eq!(strip_formatting("a\x02bc", &mut small), Err(BufferFull));
        let mut fits: heapless::String<3> = heapless::String::new();
        assert_eq!(strip_formatting("a\x02bc", &mut fits), Ok(()));
        assert_eq!(fits.as_str(), "abc");
    }
}

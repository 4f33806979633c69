//! Cutting text too long for one IRC line into pieces that each fit.
//!
//! A native line may carry up to 1023 bytes of text; an IRC line is at most
//! [`super::MAX_IRC_LINE`] bytes with its source, command, target and CRLF. [`SplitText`]
//! yields the text in pieces of at most a budget of bytes each (see
//! [`super::Message::text_budget`]), never cutting inside a UTF-8 character.
//!
//! Like most clients and bouncers, it prefers to cut after a space in the second half of the
//! budget, so words stay whole; a piece cut there keeps its space at its end. Nothing is
//! dropped or added: the pieces concatenated are exactly the text.

use core::fmt;

/// The smallest budget that fits any character (UTF-8 needs up to four bytes for one).
pub const MIN_TEXT_BUDGET: usize = 4;

/// A budget below [`MIN_TEXT_BUDGET`] could not fit every character.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BudgetTooSmall;

impl fmt::Display for BudgetTooSmall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a text budget must be at least {MIN_TEXT_BUDGET} bytes")
    }
}

impl core::error::Error for BudgetTooSmall {}

/// The pieces of a text, each at most `budget` bytes, in order; an empty text has none.
#[derive(Debug, Clone)]
pub struct SplitText<'a> {
    rest: &'a str,
    budget: usize,
}

impl<'a> SplitText<'a> {
    /// Prepare to cut `text` into pieces of at most `budget` bytes.
    pub fn new(text: &'a str, budget: usize) -> Result<SplitText<'a>, BudgetTooSmall> {
        if budget < MIN_TEXT_BUDGET {
            return Err(BudgetTooSmall);
        }
        Ok(SplitText { rest: text, budget })
    }
}

impl<'a> Iterator for SplitText<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        if self.rest.is_empty() {
            return None;
        }
        let mut cut = self.rest.len().min(self.budget);
        if cut < self.rest.len() {
            // A character is at most 4 bytes and the budget at least 4, so `cut` stays > 0.
            while !self.rest.is_char_boundary(cut) {
                cut -= 1;
            }
            if let Some(space) = self.rest[..cut].rfind(' ') {
                if space + 1 > cut / 2 {
                    cut = space + 1;
                }
            }
        }
        let (piece, rest) = self.rest.split_at(cut);
        self.rest = rest;
        Some(piece)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.rest.len();
        // A piece is at most `budget` bytes; one before the last at least `cut / 2 + 1`, where
        // `cut >= budget - 3` (a character cut off at the end).
        let smallest = (self.budget - 3) / 2 + 1;
        (n.div_ceil(self.budget), Some(n.div_ceil(smallest)))
    }
}

impl core::iter::FusedIterator for SplitText<'_> {}

#[cfg(test)]
mod test {
    use super::*;
    use std::string::String;
    use std::vec::Vec;

    fn pieces(text: &str, budget: usize) -> Vec<&str> {
        SplitText::new(text, budget)
            .map(Iterator::collect)
            .unwrap_or_default()
    }

    #[test]
    fn short_text_is_one_piece_and_empty_text_none() {
        assert_eq!(pieces("hello", 10), ["hello"]);
        assert_eq!(pieces("hello", 5), ["hello"]);
        assert_eq!(pieces("", 10), [] as [&str; 0]);
        assert_eq!(SplitText::new("x", 3).err(), Some(BudgetTooSmall));
    }

    #[test]
    fn prefers_a_space_in_the_second_half() {
        assert_eq!(pieces("hello world again", 12), ["hello world ", "again"]);
        assert_eq!(pieces("hello world", 8), ["hello ", "world"]);
        // A space in the first half would make a tiny piece: cut the word instead.
        assert_eq!(pieces("a bcdefghijkl", 8), ["a bcdefg", "hijkl"]);
        assert_eq!(pieces("abcdefghij", 4), ["abcd", "efgh", "ij"]);
    }

    #[test]
    fn never_cuts_inside_a_character() {
        // "é" is 2 bytes, "日" 3, "🎉" 4.
        assert_eq!(pieces("ééé", 5), ["éé", "é"]);
        assert_eq!(pieces("日日日", 4), ["日", "日", "日"]);
        assert_eq!(pieces("a🎉b", 4), ["a", "🎉", "b"]);
        assert_eq!(pieces("🎉🎉", 4), ["🎉", "🎉"]);
    }

    #[test]
    fn a_full_native_line_fits_in_three_irc_lines() {
        // The longest native text beside the longest fixed part chatd writes.
        let text: String = "João diz: ".repeat(93);
        assert_eq!(text.len(), 1023);
        let budget = 512 - ":nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn!u@h PRIVMSG #chat :\r\n".len();
        let got = pieces(&text, budget);
        assert_eq!(got.len(), 3);
        assert!(got.iter().all(|p| p.len() <= budget));
        assert_eq!(got.concat(), text);
        assert!(got[..2].iter().all(|p| p.ends_with(' ')));
    }

    #[test]
    fn size_hint_brackets_the_count() {
        let text = "日本語のテキスト ".repeat(40);
        for budget in [4, 5, 7, 50, 475] {
            let it = SplitText::new(&text, budget).unwrap();
            let (lo, hi) = it.size_hint();
            let n = it.count();
            assert!(lo <= n && Some(n) <= hi, "{budget}: {lo} <= {n} <= {hi:?}");
        }
    }
}

//! The line being typed in interactive mode: its text, the cursor, and how much of it fits.
//!
//! The cursor is counted in characters and always rests at the start of a character that takes
//! room on screen, so a combining mark moves, and is deleted, with the letter it belongs to.
//! Widths come from the `unicode-width` crate (East Asian wide characters and emoji take two
//! columns, combining marks none), the same tables terminals use.
//! [`Editor::view`] picks the part that fits the screen, scrolling sideways if it is too long.

use chat_core::config::MAX_LINE;
use unicode_width::UnicodeWidthChar;

use crate::keys::Key;

/// What the caller should do after a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Redraw the input line (it may have changed).
    Redraw,
    /// The user pressed Enter on this text; the line is now empty.
    Submit(String),
    /// The user wants to leave (Ctrl-C, or Ctrl-D on an empty line).
    Quit,
    /// A key the editor does not handle; the caller may.
    Other(Key),
}

/// The line being typed.
#[derive(Debug, Default)]
pub struct Editor {
    chars: Vec<char>,
    cursor: usize,
}

/// Longest line the editor accepts, in bytes: what the server takes without its `\n`.
const MAX_BYTES: usize = MAX_LINE - 1;

impl Editor {
    /// Return the text typed so far.
    pub fn text(&self) -> String {
        self.chars.iter().collect()
    }

    /// Replace the text, with the cursor at the end.
    pub fn set(&mut self, text: &str) {
        self.chars = text.chars().collect();
        self.cursor = self.chars.len();
    }

    /// Return the cursor, in characters from the start.
    pub fn cursor(&self) -> usize {
        self.cursor
    }

    /// Return the characters before the cursor.
    pub fn before_cursor(&self) -> &[char] {
        &self.chars[..self.cursor]
    }

    /// Replace the characters from `start` to the cursor by `text` and put the cursor after it
    /// (used by completion); text that would pass the line limit is not inserted.
    pub fn replace_before_cursor(&mut self, start: usize, text: &str) {
        let start = start.min(self.cursor);
        let removed: usize = self.chars[start..self.cursor]
            .iter()
            .map(|c| c.len_utf8())
            .sum();
        if self.bytes() - removed + text.len() > MAX_BYTES {
            return;
        }
        let new: Vec<char> = text.chars().collect();
        let n = new.len();
        self.chars.splice(start..self.cursor, new);
        self.cursor = start + n;
    }

    /// Insert text at the cursor, as far as the line limit allows.
    pub fn insert(&mut self, text: &str) {
        let mut bytes = self.bytes();
        for c in text.chars() {
            if bytes + c.len_utf8() > MAX_BYTES {
                break;
            }
            bytes += c.len_utf8();
            self.chars.insert(self.cursor, c);
            self.cursor += 1;
        }
    }

    /// Return the length of the text in bytes.
    fn bytes(&self) -> usize {
        self.chars.iter().map(|c| c.len_utf8()).sum()
    }

    /// Return where the character cluster before `at` starts.
    fn cluster_before(&self, at: usize) -> usize {
        let mut i = at.saturating_sub(1);
        while i > 0 && width(self.chars[i]) == 0 {
            i -= 1;
        }
        i
    }

    /// Return where the character cluster at `at` ends.
    fn cluster_after(&self, at: usize) -> usize {
        let mut i = (at + 1).min(self.chars.len());
        while i < self.chars.len() && width(self.chars[i]) == 0 {
            i += 1;
        }
        i
    }

    /// Apply one key.
    pub fn key(&mut self, key: Key) -> Action {
        match key {
            Key::Char(c) => self.insert(c.encode_utf8(&mut [0; 4])),
            Key::Enter => {
                let text = self.text();
                self.set("");
                return Action::Submit(text);
            }
            Key::Backspace if self.cursor > 0 => {
                let start = self.cluster_before(self.cursor);
                self.chars.drain(start..self.cursor);
                self.cursor = start;
            }
            Key::Delete if self.cursor < self.chars.len() => {
                let end = self.cluster_after(self.cursor);
                self.chars.drain(self.cursor..end);
            }
            Key::Left => self.cursor = self.cluster_before(self.cursor),
            Key::Right => self.cursor = self.cluster_after(self.cursor),
            Key::Home => self.cursor = 0,
            Key::End => self.cursor = self.chars.len(),
            Key::KillToStart => {
                self.chars.drain(..self.cursor);
                self.cursor = 0;
            }
            Key::KillToEnd => self.chars.truncate(self.cursor),
            Key::KillWord => {
                let mut start = self.cursor;
                while start > 0 && self.chars[start - 1] == ' ' {
                    start -= 1;
                }
                while start > 0 && self.chars[start - 1] != ' ' {
                    start -= 1;
                }
                self.chars.drain(start..self.cursor);
                self.cursor = start;
            }
            Key::Eof if self.chars.is_empty() => return Action::Quit,
            Key::Eof => return self.key(Key::Delete),
            Key::Interrupt => return Action::Quit,
            Key::Backspace | Key::Delete | Key::Redraw => {}
            other => return Action::Other(other),
        }
        Action::Redraw
    }

    /// Return the part of the text to draw in `room` columns and the cursor's column in it.
    ///
    /// When the text is wider than `room`, the view scrolls so that the cursor stays visible.
    pub fn view(&self, room: usize) -> (String, usize) {
        let room = room.max(2);
        let widths: Vec<usize> = self.chars.iter().map(|&c| width(c)).collect();
        let mut start = 0;
        while widths[start..self.cursor].iter().sum::<usize>() >= room {
            start += 1;
        }
        let mut shown = String::new();
        let mut used = 0;
        for (c, w) in self.chars[start..].iter().zip(&widths[start..]) {
            if used + w > room {
                break;
            }
            shown.push(*c);
            used += w;
        }
        (shown, widths[start..self.cursor].iter().sum())
    }
}

/// Return how many columns a character takes on a terminal: 2 for East Asian wide characters
/// and emoji, 0 for combining marks and other zero-width characters, else 1.
pub fn width(c: char) -> usize {
    UnicodeWidthChar::width(c).unwrap_or(0)
}

/// Return how many columns a string takes, character by character as a terminal places them.
pub fn str_width(s: &str) -> usize {
    s.chars().map(width).sum()
}

#[cfg(test)]
mod test {
    use super::*;

    fn typed(keys: &[Key]) -> Editor {
        let mut e = Editor::default();
        for k in keys {
            e.key(k.clone());
        }
        e
    }

    fn chars(s: &str) -> Vec<Key> {
        s.chars().map(Key::Char).collect()
    }

    #[test]
    fn edits_in_the_middle_by_whole_characters() {
        let mut keys = chars("olá mundo");
        keys.extend([
            Key::Home,
            Key::Right,
            Key::Right,
            Key::Right,
            Key::Backspace,
        ]);
        keys.extend(chars("a!"));
        let e = typed(&keys);
        assert_eq!(e.text(), "ola! mundo");
        let mut e = e;
        assert_eq!(e.key(Key::End), Action::Redraw);
        e.key(Key::KillWord);
        assert_eq!(e.text(), "ola! ");
        e.key(Key::KillWord);
        assert_eq!(e.text(), "");
    }

    #[test]
    fn a_combining_mark_moves_and_goes_with_its_letter() {
        let mut e = typed(&chars("ae\u{301}b"));
        assert_eq!(e.view(20).1, 3, "e + acute is one column");
        e.key(Key::Left);
        e.key(Key::Left);
        assert_eq!(e.cursor(), 1, "the cursor skips the mark, landing before e");
        e.key(Key::Right);
        assert_eq!(e.cursor(), 3, "and after it");
        e.key(Key::Backspace);
        assert_eq!(e.text(), "ab", "Backspace takes the letter and its mark");
        let mut e = typed(&chars("xe\u{301}\u{302}y"));
        e.key(Key::Home);
        e.key(Key::Right);
        e.key(Key::Delete);
        assert_eq!(e.text(), "xy", "Delete too");
    }

    #[test]
    fn kill_keys_and_enter() {
        let mut e = typed(&chars("abc def"));
        e.key(Key::Left);
        e.key(Key::Left);
        e.key(Key::KillToStart);
        assert_eq!(e.text(), "ef");
        e.key(Key::Right);
        e.key(Key::KillToEnd);
        assert_eq!(e.text(), "e");
        e.key(Key::Home);
        e.key(Key::Eof);
        assert_eq!(e.text(), "", "Ctrl-D deletes under the cursor");
        assert_eq!(
            e.key(Key::Eof),
            Action::Quit,
            "Ctrl-D on an empty line leaves"
        );
        let mut e = typed(&chars("oi"));
        assert_eq!(e.key(Key::Enter), Action::Submit("oi".into()));
        assert_eq!(e.text(), "");
        assert_eq!(e.key(Key::Interrupt), Action::Quit);
        assert_eq!(e.key(Key::Tab), Action::Other(Key::Tab));
    }

    #[test]
    fn stops_at_the_line_limit() {
        let mut e = Editor::default();
        for _ in 0..2000 {
            e.key(Key::Char('é'));
        }
        assert_eq!(
            e.text().len(),
            MAX_BYTES - 1,
            "511 two-byte characters fit in 1023 bytes"
        );
        e.key(Key::Char('x'));
        assert_eq!(e.text().len(), MAX_BYTES);
        e.key(Key::Home);
        e.insert("yz");
        assert_eq!(e.text().len(), MAX_BYTES, "insert stops there too");
        e.replace_before_cursor(0, "longer than nothing");
        assert_eq!(e.text().len(), MAX_BYTES, "and so does completion");
    }

    #[test]
    fn view_scrolls_to_keep_the_cursor_visible() {
        let mut e = typed(&chars("0123456789"));
        assert_eq!(e.view(20), ("0123456789".to_string(), 10));
        assert_eq!(e.view(6), ("56789".to_string(), 5));
        e.key(Key::Home);
        assert_eq!(e.view(6), ("012345".to_string(), 0));
        let e = typed(&chars("日本語"));
        assert_eq!(e.view(20), ("日本語".to_string(), 6));
    }

    #[test]
    fn widths_of_emoji_cjk_and_combining_marks() {
        assert_eq!(str_width("🚀🚀🚀 ☕☕"), 11, "the issue's example");
        assert_eq!(str_width("日本語 e\u{301}"), 8);
        assert_eq!(
            str_width("ñ\u{0331}ก\u{0e35}\u{0e49}"),
            2,
            "marks take no room"
        );
        assert_eq!(str_width("한국어"), 6);
    }

    #[test]
    fn replace_before_cursor_puts_the_cursor_after_the_new_text() {
        let mut e = typed(&chars("oi an tudo"));
        for _ in 0.." tudo".len() {
            e.key(Key::Left);
        }
        e.replace_before_cursor(3, "Ana");
        assert_eq!(e.text(), "oi Ana tudo");
        assert_eq!(e.cursor(), 6);
        assert_eq!(e.before_cursor().iter().collect::<String>(), "oi Ana");
    }
}

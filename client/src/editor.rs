//! The line editor of interactive mode: keys in, one line of text out.
//!
//! [`Decoder`] turns the bytes a terminal sends in raw mode into [`Key`]s (UTF-8 characters,
//! arrows, Home/End in their common encodings, control keys). [`Editor`] holds the line being
//! typed and a cursor counted in characters, so multi-byte text edits as whole characters, and
//! [`Editor::view`] picks the part that fits the screen, scrolling sideways if it is too long.

use chat_core::config::MAX_LINE;

/// One key press.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    /// A printable character.
    Char(char),
    /// Enter.
    Enter,
    /// Backspace: delete before the cursor.
    Backspace,
    /// Delete: delete under the cursor.
    Delete,
    /// Left arrow or Ctrl-B.
    Left,
    /// Right arrow or Ctrl-F.
    Right,
    /// Home or Ctrl-A.
    Home,
    /// End or Ctrl-E.
    End,
    /// Ctrl-U: delete from the start of the line to the cursor.
    KillToStart,
    /// Ctrl-K: delete from the cursor to the end of the line.
    KillToEnd,
    /// Ctrl-W: delete the word before the cursor.
    KillWord,
    /// Ctrl-D: leave on an empty line, else delete under the cursor.
    Eof,
    /// Ctrl-C: leave.
    Interrupt,
    /// Ctrl-L: redraw.
    Redraw,
}

/// Turns raw terminal bytes into keys, keeping incomplete sequences for the next read.
#[derive(Debug, Default)]
pub struct Decoder {
    pending: Vec<u8>,
}

/// What one attempt to read a key from the front of the buffer found.
enum Parsed {
    /// A key (or nothing, for ignored input) using this many bytes.
    Key(Option<Key>, usize),
    /// More bytes are needed.
    Incomplete,
}

impl Decoder {
    /// Decode `bytes` (one read's worth) into keys.
    pub fn feed(&mut self, bytes: &[u8]) -> Vec<Key> {
        self.pending.extend_from_slice(bytes);
        let mut keys = Vec::new();
        let mut at = 0;
        while at < self.pending.len() {
            match parse(&self.pending[at..]) {
                Parsed::Key(k, used) => {
                    keys.extend(k);
                    at += used.max(1);
                }
                Parsed::Incomplete => break,
            }
        }
        self.pending.drain(..at);
        // A lone ESC at the end of a read is the Escape key: nothing to do.
        if self.pending == [0x1b] || self.pending.len() > 32 {
            self.pending.clear();
        }
        keys
    }
}

/// Read one key from the front of `b` (not empty).
fn parse(b: &[u8]) -> Parsed {
    let key = |k: Key| Parsed::Key(Some(k), 1);
    match b[0] {
        0x1b => escape(b),
        b'\r' | b'\n' => key(Key::Enter),
        0x7f | 0x08 => key(Key::Backspace),
        0x01 => key(Key::Home),
        0x02 => key(Key::Left),
        0x03 => key(Key::Interrupt),
        0x04 => key(Key::Eof),
        0x05 => key(Key::End),
        0x06 => key(Key::Right),
        b'\t' => key(Key::Char(' ')),
        0x0b => key(Key::KillToEnd),
        0x0c => key(Key::Redraw),
        0x15 => key(Key::KillToStart),
        0x17 => key(Key::KillWord),
        c if c < 0x20 => Parsed::Key(None, 1),
        c => {
            let len = match c {
                0x00..=0x7f => 1,
                0xc2..=0xdf => 2,
                0xe0..=0xef => 3,
                0xf0..=0xf4 => 4,
                _ => return Parsed::Key(None, 1),
            };
            if b.len() < len {
                return Parsed::Incomplete;
            }
            match std::str::from_utf8(&b[..len])
                .ok()
                .and_then(|s| s.chars().next())
            {
                Some(ch) if !ch.is_control() => Parsed::Key(Some(Key::Char(ch)), len),
                Some(_) => Parsed::Key(None, len),
                None => Parsed::Key(None, 1),
            }
        }
    }
}

/// Read an escape sequence: `ESC [ params final`, `ESC O x`, or `ESC x` (ignored).
fn escape(b: &[u8]) -> Parsed {
    match b.get(1) {
        None => Parsed::Incomplete,
        Some(b'[') => {
            let Some(end) = b[2..].iter().position(|c| (0x40..=0x7e).contains(c)) else {
                return Parsed::Incomplete;
            };
            let params = &b[2..2 + end];
            let k = match (b[2 + end], params) {
                (b'C', _) => Some(Key::Right),
                (b'D', _) => Some(Key::Left),
                (b'H', _) => Some(Key::Home),
                (b'F', _) => Some(Key::End),
                (b'~', b"1" | b"7") => Some(Key::Home),
                (b'~', b"4" | b"8") => Some(Key::End),
                (b'~', b"3") => Some(Key::Delete),
                _ => None,
            };
            Parsed::Key(k, 3 + end)
        }
        Some(b'O') => match b.get(2) {
            None => Parsed::Incomplete,
            Some(c) => {
                let k = match c {
                    b'C' => Some(Key::Right),
                    b'D' => Some(Key::Left),
                    b'H' => Some(Key::Home),
                    b'F' => Some(Key::End),
                    _ => None,
                };
                Parsed::Key(k, 3)
            }
        },
        Some(0x1b) => Parsed::Key(None, 1),
        Some(_) => Parsed::Key(None, 2),
    }
}

/// What the caller should do after a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Redraw the input line (it may have changed).
    Redraw,
    /// The user pressed Enter on this text; the line is now empty.
    Submit(String),
    /// The user wants to leave (Ctrl-C, or Ctrl-D on an empty line).
    Quit,
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

    /// Apply one key.
    pub fn key(&mut self, key: Key) -> Action {
        match key {
            Key::Char(c) => {
                let bytes: usize = self.chars.iter().map(|c| c.len_utf8()).sum();
                if bytes + c.len_utf8() <= MAX_BYTES {
                    self.chars.insert(self.cursor, c);
                    self.cursor += 1;
                }
            }
            Key::Enter => {
                let text = self.text();
                self.set("");
                return Action::Submit(text);
            }
            Key::Backspace if self.cursor > 0 => {
                self.cursor -= 1;
                self.chars.remove(self.cursor);
            }
            Key::Delete if self.cursor < self.chars.len() => {
                self.chars.remove(self.cursor);
            }
            Key::Left => self.cursor = self.cursor.saturating_sub(1),
            Key::Right => self.cursor = (self.cursor + 1).min(self.chars.len()),
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
        }
        Action::Redraw
    }

    /// Return the part of the text to draw in `room` columns and the cursor's column in it.
    ///
    /// When the text is wider than `room`, the view scrolls so that the cursor stays visible.
    pub fn view(&self, room: usize) -> (String, usize) {
        let room = room.max(2);
        let widths: Vec<usize> = self.chars.iter().map(|&c| char_width(c)).collect();
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

/// Return how many columns a character takes: 0 for combining marks, 2 for wide (East Asian,
/// emoji) characters, else 1. An approximation that keeps the cursor right for common text.
pub fn char_width(c: char) -> usize {
    match u32::from(c) {
        0x0300..=0x036f | 0x200b..=0x200f | 0x20d0..=0x20ff | 0xfe00..=0xfe0f => 0,
        0x1100..=0x115f
        | 0x2e80..=0x303e
        | 0x3041..=0x33ff
        | 0x3400..=0x4dbf
        | 0x4e00..=0x9fff
        | 0xa000..=0xa4cf
        | 0xac00..=0xd7a3
        | 0xf900..=0xfaff
        | 0xfe30..=0xfe4f
        | 0xff00..=0xff60
        | 0xffe0..=0xffe6
        | 0x1f300..=0x1f64f
        | 0x1f900..=0x1f9ff
        | 0x20000..=0x3fffd => 2,
        _ => 1,
    }
}

/// Return how many columns a string takes.
pub fn str_width(s: &str) -> usize {
    s.chars().map(char_width).sum()
}

#[cfg(test)]
mod test {
    use super::*;

    fn typed(keys: &[Key]) -> Editor {
        let mut e = Editor::default();
        for &k in keys {
            e.key(k);
        }
        e
    }

    fn chars(s: &str) -> Vec<Key> {
        s.chars().map(Key::Char).collect()
    }

    #[test]
    fn decodes_text_arrows_and_control_keys() {
        let mut d = Decoder::default();
        let keys = d.feed(
            b"\ta\xc3\xa9\x1b[D\x1b[C\x1bOH\x1b[F\x1b[3~\x1b[1~\x1b[4~\x7f\x15\x17\x03\x04\r",
        );
        use Key::*;
        assert_eq!(
            keys,
            [
                Char(' '),
                Char('a'),
                Char('é'),
                Left,
                Right,
                Home,
                End,
                Delete,
                Home,
                End,
                Backspace,
                KillToStart,
                KillWord,
                Interrupt,
                Eof,
                Enter
            ]
        );
    }

    #[test]
    fn decodes_sequences_split_across_reads() {
        let mut d = Decoder::default();
        assert_eq!(d.feed(b"\xe2\x82"), []);
        assert_eq!(d.feed(b"\xac\x1b["), [Key::Char('€')]);
        assert_eq!(d.feed(b"D"), [Key::Left]);
        assert_eq!(d.feed(b"\x1b"), [], "a lone Escape is dropped");
        assert_eq!(d.feed(b"x"), [Key::Char('x')]);
        assert_eq!(
            d.feed(b"\x1b[200~\x1bxy\xff"),
            [Key::Char('y')],
            "unknown keys are ignored"
        );
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
        assert_eq!(str_width("日本語 e\u{301}"), 8);
    }
}

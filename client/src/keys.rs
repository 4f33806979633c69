//! Keys from the terminal: the bytes a terminal sends in raw mode, turned into [`Key`]s.
//!
//! [`Decoder`] knows UTF-8 characters, arrows, Home/End in their common encodings, the control
//! keys the editor uses, and bracketed paste: between `ESC [ 200 ~` and `ESC [ 201 ~` every
//! byte is pasted text, so a pasted line break is not Enter and a pasted escape is not a key.
//! Incomplete sequences wait for the next read.

/// The most bytes of one paste kept; the rest is dropped (and [`Key::Paste`] says so).
const MAX_PASTE: usize = 256 * 1024;
/// Bracketed paste ends with this (and starts with `ESC [ 200 ~`).
const PASTE_END: &[u8] = b"\x1b[201~";

/// One key press, or one paste.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Key {
    /// A printable character.
    Char(char),
    /// Enter.
    Enter,
    /// Tab: complete a name or command.
    Tab,
    /// Backspace: delete before the cursor.
    Backspace,
    /// Delete: delete under the cursor.
    Delete,
    /// Left arrow or Ctrl-B.
    Left,
    /// Right arrow or Ctrl-F.
    Right,
    /// Up arrow or Ctrl-P: an older line typed before.
    Up,
    /// Down arrow or Ctrl-N: a newer line typed before.
    Down,
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
    /// Ctrl-R: search back through the lines typed before.
    SearchBack,
    /// Ctrl-G: cancel a search.
    Cancel,
    /// Ctrl-Z: suspend chatc (the shell's `fg` brings it back).
    Suspend,
    /// Text pasted in one go (bracketed paste), and whether some was dropped for size.
    Paste {
        /// The text, line breaks included (as `\n`).
        text: String,
        /// True if the paste was longer than chatc keeps.
        cut: bool,
    },
}

/// Turns raw terminal bytes into keys, keeping incomplete sequences for the next read.
#[derive(Debug, Default)]
pub struct Decoder {
    pending: Vec<u8>,
    /// Inside a bracketed paste: the bytes so far, and whether some were dropped.
    paste: Option<(Vec<u8>, bool)>,
}

/// What one attempt to read a key from the front of the buffer found.
enum Parsed {
    /// A key (or nothing, for ignored input) using this many bytes.
    Key(Option<Key>, usize),
    /// A bracketed paste starts; it used this many bytes.
    PasteStart(usize),
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
            if self.paste.is_some() {
                match self.pasted(at) {
                    Some((used, key)) => {
                        at += used;
                        keys.extend(key);
                        continue;
                    }
                    None => break,
                }
            }
            match parse(&self.pending[at..]) {
                Parsed::Key(k, used) => {
                    keys.extend(k);
                    at += used.max(1);
                }
                Parsed::PasteStart(used) => {
                    self.paste = Some((Vec::new(), false));
                    at += used;
                }
                Parsed::Incomplete => break,
            }
        }
        self.pending.drain(..at);
        // A lone ESC at the end of a read is the Escape key: nothing to do.
        if self.paste.is_none() && (self.pending == [0x1b] || self.pending.len() > 32) {
            self.pending.clear();
        }
        keys
    }

    /// Take pasted bytes from `self.pending[at..]`: return how many were used and the paste
    /// once its end marker came, or `None` if the end marker may be split across reads.
    fn pasted(&mut self, at: usize) -> Option<(usize, Option<Key>)> {
        let rest = &self.pending[at..];
        let (body, used, done) = match find(rest, PASTE_END) {
            Some(i) => (&rest[..i], i + PASTE_END.len(), true),
            None => {
                // Keep a possible start of the end marker for the next read.
                let keep = (1..PASTE_END.len())
                    .rev()
                    .find(|&n| rest.ends_with(&PASTE_END[..n]))
                    .unwrap_or(0);
                if keep == rest.len() {
                    return None;
                }
                (&rest[..rest.len() - keep], rest.len() - keep, false)
            }
        };
        let (buf, cut) = self.paste.as_mut()?;
        let room = MAX_PASTE.saturating_sub(buf.len());
        *cut |= body.len() > room;
        buf.extend_from_slice(&body[..body.len().min(room)]);
        if !done {
            return Some((used, None));
        }
        let (buf, cut) = self.paste.take()?;
        let text = String::from_utf8_lossy(&buf)
            .replace("\r\n", "\n")
            .replace('\r', "\n");
        Some((used, Some(Key::Paste { text, cut })))
    }
}

/// Return where `needle` first occurs in `hay`.
fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Read one key from the front of `b` (not empty).
fn parse(b: &[u8]) -> Parsed {
    let key = |k: Key| Parsed::Key(Some(k), 1);
    match b[0] {
        0x1b => escape(b),
        b'\r' | b'\n' => key(Key::Enter),
        b'\t' => key(Key::Tab),
        0x7f | 0x08 => key(Key::Backspace),
        0x01 => key(Key::Home),
        0x02 => key(Key::Left),
        0x03 => key(Key::Interrupt),
        0x04 => key(Key::Eof),
        0x05 => key(Key::End),
        0x06 => key(Key::Right),
        0x07 => key(Key::Cancel),
        0x0b => key(Key::KillToEnd),
        0x0c => key(Key::Redraw),
        0x0e => key(Key::Down),
        0x10 => key(Key::Up),
        0x12 => key(Key::SearchBack),
        0x15 => key(Key::KillToStart),
        0x17 => key(Key::KillWord),
        0x1a => key(Key::Suspend),
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
                (b'~', b"200") => return Parsed::PasteStart(3 + end),
                (b'A', _) => Some(Key::Up),
                (b'B', _) => Some(Key::Down),
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
                    b'A' => Some(Key::Up),
                    b'B' => Some(Key::Down),
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

#[cfg(test)]
mod test {
    use super::*;

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
                Tab,
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
        let keys = d.feed(b"\x1b[A\x1b[B\x1bOA\x1bOB\x10\x0e\x12\x07\x1a");
        assert_eq!(
            keys,
            [Up, Down, Up, Down, Up, Down, SearchBack, Cancel, Suspend]
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
            d.feed(b"\x1b[999~\x1bxy\xff"),
            [Key::Char('y')],
            "unknown keys are ignored"
        );
    }

    #[test]
    fn a_bracketed_paste_is_one_key_with_its_line_breaks() {
        let mut d = Decoder::default();
        let keys = d.feed(b"a\x1b[200~one\rtwo\r\nthr\x1b[Dee\n\x1b[201~b");
        assert_eq!(
            keys,
            [
                Key::Char('a'),
                Key::Paste {
                    text: "one\ntwo\nthr\x1b[Dee\n".into(),
                    cut: false
                },
                Key::Char('b')
            ],
            "an escape inside a paste is text, for the sanitizer to remove"
        );
    }

    #[test]
    fn a_paste_split_across_reads_and_its_end_marker_split_too() {
        let mut d = Decoder::default();
        assert_eq!(d.feed(b"\x1b[20"), []);
        assert_eq!(d.feed(b"0~first\nsec"), []);
        assert_eq!(d.feed(b"ond\x1b[2"), []);
        assert_eq!(
            d.feed(b"01~\r"),
            [
                Key::Paste {
                    text: "first\nsecond".into(),
                    cut: false
                },
                Key::Enter
            ]
        );
    }

    #[test]
    fn a_huge_paste_is_cut_and_says_so() {
        let mut d = Decoder::default();
        d.feed(b"\x1b[200~");
        let chunk = vec![b'x'; 64 * 1024];
        for _ in 0..5 {
            assert_eq!(d.feed(&chunk), []);
        }
        let keys = d.feed(PASTE_END);
        let [Key::Paste { text, cut }] = keys.as_slice() else {
            panic!("{keys:?}");
        };
        assert!(*cut);
        assert_eq!(text.len(), MAX_PASTE);
    }
}

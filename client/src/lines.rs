//! Cutting a byte stream into lines, for both streams chatc reads: the server's socket and, in
//! script mode, standard input.
//!
//! A line ends in `\n`, and a `\r` before it is dropped. Bytes are decoded as UTF-8, invalid
//! sequences becoming U+FFFD. A line that grows past the buffer's limit without a `\n` is
//! handed out in pieces of at most that many bytes, cut between characters, so a broken peer
//! or a huge log line cannot make chatc hold unbounded memory.

/// Bytes received but not yet cut into lines.
#[derive(Debug)]
pub struct LineBuffer {
    buf: Vec<u8>,
    /// Bytes before this offset were handed out already.
    start: usize,
    /// The longest piece handed out without a `\n`.
    max: usize,
}

impl LineBuffer {
    /// Make an empty buffer that cuts lines longer than `max` bytes (at least 4).
    pub fn new(max: usize) -> LineBuffer {
        LineBuffer {
            buf: Vec::new(),
            start: 0,
            max: max.max(4),
        }
    }

    /// Add bytes read from the stream.
    pub fn push(&mut self, bytes: &[u8]) {
        if self.start > 0 && self.start * 2 >= self.buf.len() {
            self.buf.drain(..self.start);
            self.start = 0;
        }
        self.buf.extend_from_slice(bytes);
    }

    /// Cut the next complete line off the buffer, without its line ending.
    pub fn next_line(&mut self) -> Option<String> {
        let rest = &self.buf[self.start..];
        let (end, used) = match rest.iter().position(|&b| b == b'\n') {
            Some(i) if i <= self.max => (i, i + 1),
            _ if rest.len() > self.max => {
                let cut = char_boundary(rest, self.max);
                (cut, cut)
            }
            _ => return None,
        };
        let line = &rest[..end];
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let text = String::from_utf8_lossy(line).into_owned();
        self.start += used;
        Some(text)
    }

    /// Return the next line after the stream ended: complete lines first, then the last one
    /// even without its `\n`; `None` once everything was handed out.
    pub fn finish(&mut self) -> Option<String> {
        if let Some(line) = self.next_line() {
            return Some(line);
        }
        let rest = &self.buf[self.start..];
        let rest = rest.strip_suffix(b"\r").unwrap_or(rest);
        let line = (!rest.is_empty()).then(|| String::from_utf8_lossy(rest).into_owned());
        self.buf.clear();
        self.start = 0;
        line
    }
}

/// Return the largest index at most `at` that does not split a UTF-8 character of `b`
/// (`at` itself when no character boundary is near, as in invalid input).
fn char_boundary(b: &[u8], at: usize) -> usize {
    (at.saturating_sub(3)..=at)
        .rev()
        .find(|&i| b.get(i).is_none_or(|&c| c & 0xC0 != 0x80))
        .filter(|&i| i > 0)
        .unwrap_or(at)
}

#[cfg(test)]
mod test {
    use super::*;

    fn all(buf: &mut LineBuffer) -> Vec<String> {
        std::iter::from_fn(|| buf.next_line()).collect()
    }

    #[test]
    fn lines_split_across_pushes_come_out_whole() {
        let mut b = LineBuffer::new(100);
        b.push(b"MSG one\nMSG t");
        assert_eq!(all(&mut b), ["MSG one"]);
        b.push(b"wo\r\n\nlast");
        assert_eq!(all(&mut b), ["MSG two", ""]);
        assert_eq!(b.finish().as_deref(), Some("last"));
        assert_eq!(b.finish(), None);
    }

    #[test]
    fn long_lines_are_cut_between_characters() {
        let mut b = LineBuffer::new(5);
        b.push("abcdé€fg\n".as_bytes());
        assert_eq!(all(&mut b), ["abcd", "é€", "fg"]);
        let mut b = LineBuffer::new(5);
        b.push(b"abcde\n");
        assert_eq!(all(&mut b), ["abcde"], "exactly the limit is one line");
    }

    #[test]
    fn invalid_utf8_is_replaced_not_refused() {
        let mut b = LineBuffer::new(100);
        b.push(b"a\xffb\n");
        assert_eq!(b.next_line().as_deref(), Some("a\u{fffd}b"));
    }

    #[test]
    fn many_lines_do_not_grow_the_buffer() {
        let mut b = LineBuffer::new(100);
        for i in 0..1000 {
            b.push(format!("line {i}\n").as_bytes());
            assert_eq!(b.next_line(), Some(format!("line {i}")));
        }
        assert!(b.buf.len() < 64, "{}", b.buf.len());
    }
}

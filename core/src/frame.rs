//! Cutting a byte stream into lines: the framing the original programs lacked.
//!
//! A line ends in `\n` (a `\r` before it is dropped) and may be at most [`MAX_LINE`] bytes
//! including the terminator. A longer line is reported once as [`Frame::TooLong`] and then
//! discarded up to the next `\n`, so the line after it decodes normally.

use crate::config::MAX_LINE;

/// One thing the decoder found in the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Frame<'a> {
    /// A complete line, without its terminator.
    Line(&'a [u8]),
    /// A line longer than [`MAX_LINE`]; its bytes are being discarded.
    TooLong,
}

/// Reassembles lines from chunks of input, holding at most one partial line.
#[derive(Debug, Clone, Default)]
pub struct LineDecoder {
    buf: heapless::Vec<u8, MAX_LINE>,
    /// Skipping the rest of an over-long line.
    discarding: bool,
    /// `buf` holds a line already returned; empty it on the next call.
    returned: bool,
}

fn strip_cr(line: &[u8]) -> &[u8] {
    match line.split_last() {
        Some((b'\r', rest)) => rest,
        _ => line,
    }
}

impl LineDecoder {
    /// Make an empty decoder.
    pub const fn new() -> Self {
        LineDecoder {
            buf: heapless::Vec::new(),
            discarding: false,
            returned: false,
        }
    }

    /// Return how many bytes of a partial line are buffered.
    pub fn buffered(&self) -> usize {
        if self.returned {
            0
        } else {
            self.buf.len()
        }
    }

    /// Decode from `input`: return how many bytes were used and what, if anything, was found.
    ///
    /// Call again with the rest of the input until it is all used; a returned line borrows
    /// from `input` or from the decoder and is valid until the next call.
    pub fn decode<'a>(&'a mut self, input: &'a [u8]) -> (usize, Option<Frame<'a>>) {
        if self.returned {
            self.buf.clear();
            self.returned = false;
        }
        let newline = input.iter().position(|&b| b == b'\n');
        if self.discarding {
            return match newline {
                Some(i) => {
                    self.discarding = false;
                    (i + 1, None)
                }
                None => (input.len(), None),
            };
        }
        match newline {
            Some(i) => {
                if self.buf.len() + i + 1 > MAX_LINE {
                    self.buf.clear();
                    return (i + 1, Some(Frame::TooLong));
                }
                if self.buf.is_empty() {
                    return (i + 1, Some(Frame::Line(strip_cr(&input[..i]))));
                }
                // Fits: checked against MAX_LINE above.
                if self.buf.extend_from_slice(&input[..i]).is_err() {
                    self.buf.clear();
                    return (i + 1, Some(Frame::TooLong));
                }
                self.returned = true;
                (i + 1, Some(Frame::Line(strip_cr(&self.buf))))
            }
            None => {
                if self.buf.len() + input.len() > MAX_LINE - 1
                    || self.buf.extend_from_slice(input).is_err()
                {
                    self.buf.clear();
                    self.discarding = true;
                    return (input.len(), Some(Frame::TooLong));
                }
                (input.len(), None)
            }
        }
    }
}

#[cfg(test)]
mod test {
    use super::*;
    use std::vec::Vec;

    #[derive(Debug, PartialEq)]
    enum Got {
        Line(Vec<u8>),
        TooLong,
    }

    fn feed(dec: &mut LineDecoder, mut input: &[u8]) -> Vec<Got> {
        let mut out = Vec::new();
        while !input.is_empty() {
            let (used, frame) = dec.decode(input);
            assert!(used > 0, "decoder must make progress");
            match frame {
                Some(Frame::Line(l)) => out.push(Got::Line(l.to_vec())),
                Some(Frame::TooLong) => out.push(Got::TooLong),
                None => {}
            }
            input = &input[used..];
        }
        out
    }

    fn line(s: &[u8]) -> Got {
        Got::Line(s.to_vec())
    }

    #[test]
    fn splits_lines_and_drops_cr() {
        let mut d = LineDecoder::new();
        assert_eq!(
            feed(&mut d, b"a\nbc\r\n\n"),
            [line(b"a"), line(b"bc"), line(b"")]
        );
        assert_eq!(d.buffered(), 0);
    }

    #[test]
    fn joins_partial_lines_across_chunks() {
        let mut d = LineDecoder::new();
        assert_eq!(feed(&mut d, b"hel"), []);
        assert_eq!(d.buffered(), 3);
        assert_eq!(feed(&mut d, b"lo\nwor"), [line(b"hello")]);
        assert_eq!(feed(&mut d, b"ld\r"), []);
        assert_eq!(feed(&mut d, b"\n"), [line(b"world")]);
    }

    #[test]
    fn longest_allowed_line_passes() {
        let mut d = LineDecoder::new();
        let mut input = [b'x'; MAX_LINE];
        input[MAX_LINE - 1] = b'\n';
        assert_eq!(feed(&mut d, &input), [line(&input[..MAX_LINE - 1])]);
        // The same line split in two chunks.
        assert_eq!(feed(&mut d, &input[..500]), []);
        assert_eq!(feed(&mut d, &input[500..]), [line(&input[..MAX_LINE - 1])]);
    }

    #[test]
    fn one_byte_over_is_too_long_and_next_line_works() {
        let mut d = LineDecoder::new();
        let mut input = [b'x'; MAX_LINE + 1];
        input[MAX_LINE] = b'\n';
        let mut all = input.to_vec();
        all.extend_from_slice(b"next\n");
        assert_eq!(feed(&mut d, &all), [Got::TooLong, line(b"next")]);
    }

    #[test]
    fn huge_line_in_small_chunks_reports_once_then_recovers() {
        let mut d = LineDecoder::new();
        let mut got = Vec::new();
        for _ in 0..1000 {
            got.extend(feed(&mut d, &[b'y'; 1000]));
        }
        got.extend(feed(&mut d, b"tail\nok\n"));
        assert_eq!(got, [Got::TooLong, line(b"ok")]);
    }
}

//! Feed `LineDecoder` a byte stream cut into arbitrary chunks and compare what it finds with a
//! chunking-independent model: lines stay under the limit, never hold `\n`, the decoder always
//! makes progress, and the line after an over-long one decodes.
#![no_main]

use arbitrary::Arbitrary;
use chat_core::config::MAX_LINE;
use chat_core::frame::{Frame, LineDecoder};
use libfuzzer_sys::fuzz_target;

#[derive(Debug, Arbitrary)]
struct Input {
    data: Vec<u8>,
    cuts: Vec<u16>,
    /// Stretch the input with a run of filler to reach the over-long paths cheaply.
    filler: Option<(u16, u8)>,
}

#[derive(Debug, PartialEq)]
enum Got {
    Line(Vec<u8>),
    TooLong,
}

/// What the decoder must report for `stream`, whatever the chunking.
fn model(stream: &[u8]) -> Vec<Got> {
    let mut out = Vec::new();
    let mut segs = stream.split(|&b| b == b'\n').peekable();
    while let Some(seg) = segs.next() {
        let terminated = segs.peek().is_some();
        if terminated {
            if seg.len() + 1 > MAX_LINE {
                out.push(Got::TooLong);
            } else {
                out.push(Got::Line(seg.strip_suffix(b"\r").unwrap_or(seg).to_vec()));
            }
        } else if seg.len() > MAX_LINE - 1 {
            out.push(Got::TooLong);
        }
    }
    out
}

fuzz_target!(|input: Input| {
    let mut stream = input.data;
    if let Some((n, b)) = input.filler {
        let at = stream.len() / 2;
        stream.splice(at..at, std::iter::repeat_n(b, usize::from(n) % 3000));
    }
    let mut dec = LineDecoder::new();
    let mut got = Vec::new();
    let mut rest = &stream[..];
    let mut cuts = input.cuts.iter().map(|&c| usize::from(c));
    while !rest.is_empty() {
        let take = cuts
            .next()
            .map_or(rest.len(), |c| c % (rest.len() + 1))
            .max(1);
        let (mut chunk, tail) = rest.split_at(take);
        rest = tail;
        // Bounded: each call uses at least one byte.
        for _ in 0..=chunk.len() {
            if chunk.is_empty() {
                break;
            }
            let (used, frame) = dec.decode(chunk);
            assert!(used > 0, "no progress");
            assert!(used <= chunk.len(), "used more than given");
            match frame {
                Some(Frame::Line(l)) => {
                    assert!(l.len() < MAX_LINE, "line of {} bytes", l.len());
                    assert!(!l.contains(&b'\n'), "line holds a newline");
                    got.push(Got::Line(l.to_vec()));
                }
                Some(Frame::TooLong) => got.push(Got::TooLong),
                None => {}
            }
            chunk = &chunk[used..];
            assert!(dec.buffered() < MAX_LINE, "buffered {}", dec.buffered());
        }
        assert!(chunk.is_empty(), "decoder stalled");
    }
    assert_eq!(got, model(&stream), "decoder differs from the model");
});

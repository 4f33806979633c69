//! What a connection has to send next: its private lines and its share of the broadcast ring,
//! merged in the order the server queued them.
//!
//! Each private line is tagged with the broadcast head at the moment it was queued; it goes out
//! once the connection has been sent every broadcast byte before that tag. Broadcast records a
//! connection sent itself are skipped. The walk is pure, so a caller can look ahead (to fill a
//! gather write) and then consume exactly what was written.

use crate::broadcast::Broadcast;
use crate::slot::{Slot, PRIVATE_HEADER};

/// Longest run of broadcast bytes handed out as one piece.
const MAX_RUN: u64 = 64 * 1024;
/// Most broadcast records looked at for one piece.
const MAX_RUN_RECORDS: usize = 2048;

/// A position in a connection's output: in the ring, and in its private queue.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Cursor {
    pos: u64,
    rec: u64,
    /// Queue offset of the current private line's header.
    off: usize,
    /// Bytes of the current private line already sent.
    sent: usize,
}

/// One contiguous piece of output.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Piece {
    /// Broadcast bytes `from..to` (absolute positions).
    Ring { from: u64, to: u64 },
    /// Private queue bytes `from..to` (offsets), the rest of a line whose text is `len` bytes.
    Private { from: usize, to: usize, len: usize },
}

impl Piece {
    fn len(self) -> usize {
        match self {
            // A run is at most MAX_RUN bytes.
            Piece::Ring { from, to } => usize::try_from(to - from).unwrap_or(0),
            Piece::Private { from, to, .. } => to - from,
        }
    }

    /// Return the piece's bytes as up to two slices.
    pub(crate) fn slices<'a>(self, ring: &'a Broadcast, slot: &'a Slot) -> (&'a [u8], &'a [u8]) {
        match self {
            Piece::Ring { from, to } => ring.slices(from, to),
            Piece::Private { from, to, .. } => slot.private_slices(from, to),
        }
    }
}

impl Cursor {
    /// Start where the slot's output starts.
    pub(crate) fn of(slot: &Slot) -> Cursor {
        Cursor {
            pos: slot.ring_pos,
            rec: slot.ring_rec,
            off: 0,
            sent: slot.priv_sent,
        }
    }

    /// Step over broadcast records this connection sent itself.
    fn skip_own(&mut self, ring: &Broadcast, me: u16, limit: u64) {
        for _ in 0..=crate::config::RING_RECORDS {
            if self.pos >= limit {
                return;
            }
            match ring.record(self.rec) {
                Some(r) if r.sender == Some(me) && r.start == self.pos => {
                    self.pos = ring.record_end(self.rec);
                    self.rec += 1;
                }
                _ => return,
            }
        }
    }

    /// Return the next piece to send from here, if any.
    pub(crate) fn next(&mut self, ring: &Broadcast, slot: &Slot, me: u16) -> Option<Piece> {
        let ring_end = ring.head().min(slot.ring_limit);
        self.skip_own(ring, me, ring_end);
        let entry = slot.entry_at(self.off);
        let limit = entry.map_or(ring_end, |(tag, _)| ring_end.min(tag));
        if self.pos < limit && self.pos >= ring.tail() {
            let mut to = self.pos;
            let mut rec = self.rec;
            for _ in 0..MAX_RUN_RECORDS {
                match ring.record(rec) {
                    Some(r) if r.start < limit && (r.sender != Some(me) || r.start < self.pos) => {
                        to = ring.record_end(rec).min(limit);
                        rec += 1;
                        if to - self.pos >= MAX_RUN {
                            break;
                        }
                    }
                    _ => break,
                }
            }
            if to > self.pos {
                return Some(Piece::Ring { from: self.pos, to });
            }
        }
        let (_, len) = entry?;
        let base = self.off + PRIVATE_HEADER;
        Some(Piece::Private {
            from: base + self.sent,
            to: base + len,
            len,
        })
    }

    /// Move past `n` bytes of `piece` (at most its length).
    pub(crate) fn advance(&mut self, ring: &Broadcast, piece: Piece, n: usize) {
        let n = n.min(piece.len());
        match piece {
            Piece::Ring { .. } => {
                self.pos += n as u64;
                while self.rec < ring.end_record() && ring.record_end(self.rec) <= self.pos {
                    self.rec += 1;
                }
            }
            Piece::Private { len, .. } => {
                self.sent += n;
                if self.sent >= len {
                    self.off += PRIVATE_HEADER + len;
                    self.sent = 0;
                }
            }
        }
    }
}

/// Move a slot's real output position past `n` written bytes.
pub(crate) fn consume(ring: &Broadcast, slot: &mut Slot, me: u16, mut n: usize) {
    for _ in 0..=crate::config::RING_RECORDS + crate::config::OUT_QUEUE {
        if n == 0 {
            break;
        }
        let mut cur = Cursor::of(slot);
        let Some(piece) = cur.next(ring, slot, me) else {
            break;
        };
        let take = n.min(piece.len());
        cur.advance(ring, piece, take);
        n -= take;
        slot.ring_pos = cur.pos;
        slot.ring_rec = cur.rec;
        if let Piece::Private { len, .. } = piece {
            if cur.off > 0 {
                slot.pop_entry(len);
            } else {
                slot.priv_sent = cur.sent;
            }
        }
    }
    // Leave the position past any of its own records, so "has output" is a cheap check.
    let mut cur = Cursor::of(slot);
    cur.skip_own(ring, me, ring.head().min(slot.ring_limit));
    slot.ring_pos = cur.pos;
    slot.ring_rec = cur.rec;
}

//! The broadcast ring: every line meant for everyone is stored once, and each client keeps
//! only a read position into it.
//!
//! Copying a public line into N per-client queues costs N copies and N times the memory, and
//! limits how much one wake-up can batch for a client to its own small queue. Here a line is
//! appended once as a *record* (its bytes, and which slot sent it, so that the sender can skip
//! it); a client's backlog is just the distance from its position to the head. Positions are
//! absolute byte counts that never wrap. When the ring must make room it forgets its oldest
//! records, and a client whose position they held has fallen [`RING_BYTES`] behind: that is the
//! slow-consumer rule, with no per-client bookkeeping.

use heapless::Deque;

use crate::config::{RING_BYTES, RING_RECORDS};

/// One stored line: where it starts and who sent it (`None`: for everyone, sender included).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Record {
    /// Absolute position of the record's first byte.
    pub start: u64,
    /// Slot index of the sender, whose own lines are not sent back to it.
    pub sender: Option<u16>,
}

/// The ring of recent lines for everyone.
///
/// `repr(C)` with the byte storage last, so that starting a server leaves it untouched (see
/// `Server`).
#[derive(Debug)]
#[repr(C)]
pub struct Broadcast {
    /// Absolute position of the first byte still held.
    tail: u64,
    /// Absolute number of the first record still held.
    first: u64,
    records: Deque<Record, RING_RECORDS>,
    bytes: Deque<u8, RING_BYTES>,
}

impl Default for Broadcast {
    fn default() -> Self {
        Self::new()
    }
}

impl Broadcast {
    /// Make an empty ring.
    pub const fn new() -> Self {
        Broadcast {
            tail: 0,
            first: 0,
            records: Deque::new(),
            bytes: Deque::new(),
        }
    }

    /// Return the absolute position just past the newest byte.
    pub fn head(&self) -> u64 {
        self.tail + self.bytes.len() as u64
    }

    /// Return the absolute position of the oldest byte still held.
    pub fn tail(&self) -> u64 {
        self.tail
    }

    /// Return the absolute number one past the newest record.
    pub fn end_record(&self) -> u64 {
        self.first + self.records.len() as u64
    }

    /// Return record number `rec`, if it is still held.
    pub fn record(&self, rec: u64) -> Option<Record> {
        let i = usize::try_from(rec.checked_sub(self.first)?).ok()?;
        self.records.get(i).copied()
    }

    /// Return the absolute position just past record `rec`.
    pub fn record_end(&self, rec: u64) -> u64 {
        self.record(rec + 1).map_or(self.head(), |r| r.start)
    }

    /// Append a line from `sender`, forgetting the oldest records if needed.
    ///
    /// Returns the record's start, or `None` if the line is longer than the whole ring (which
    /// the line limits rule out).
    pub fn append(&mut self, sender: Option<u16>, line: &[u8]) -> Option<u64> {
        if line.len() > RING_BYTES {
            return None;
        }
        while self.records.is_full() || self.bytes.len() + line.len() > RING_BYTES {
            self.forget_oldest();
        }
        let start = self.head();
        self.records.push_back(Record { start, sender }).ok()?;
        for &b in line {
            // Room was made above.
            self.bytes.push_back(b).ok()?;
        }
        Some(start)
    }

    fn forget_oldest(&mut self) {
        let end = self.record_end(self.first);
        if self.records.pop_front().is_none() {
            return;
        }
        for _ in self.tail..end {
            self.bytes.pop_front();
        }
        self.tail = end;
        self.first += 1;
    }

    /// Return the bytes from `from` to `to` (absolute positions) as up to two slices, or
    /// nothing if that range is not held.
    pub fn slices(&self, from: u64, to: u64) -> (&[u8], &[u8]) {
        if from < self.tail || to > self.head() || from >= to {
            return (&[], &[]);
        }
        // Both are below RING_BYTES here, so they fit.
        let (Ok(off), Ok(len)) = (
            usize::try_from(from - self.tail),
            usize::try_from(to - from),
        ) else {
            return (&[], &[]);
        };
        let (a, b) = self.bytes.as_slices();
        if off >= a.len() {
            let o = off - a.len();
            (b.get(o..o + len).unwrap_or_default(), &[])
        } else if off + len <= a.len() {
            (a.get(off..off + len).unwrap_or_default(), &[])
        } else {
            let rest = off + len - a.len();
            (
                a.get(off..).unwrap_or_default(),
                b.get(..rest).unwrap_or_default(),
            )
        }
    }
}

#[cfg(test)]
mod test {
    use super::*;
    use std::vec::Vec;

    fn joined(b: &Broadcast, from: u64, to: u64) -> Vec<u8> {
        let (x, y) = b.slices(from, to);
        [x, y].concat()
    }

    #[test]
    fn appends_and_reads_back() {
        let mut b = Broadcast::new();
        assert_eq!(b.append(Some(1), b"one\n"), Some(0));
        assert_eq!(b.append(None, b"two\n"), Some(4));
        assert_eq!(b.head(), 8);
        assert_eq!(b.end_record(), 2);
        assert_eq!(
            b.record(1),
            Some(Record {
                start: 4,
                sender: None
            })
        );
        assert_eq!(b.record_end(0), 4);
        assert_eq!(b.record_end(1), 8);
        assert_eq!(joined(&b, 0, 8), b"one\ntwo\n");
        assert_eq!(joined(&b, 2, 6), b"e\ntw");
        assert_eq!(joined(&b, 6, 9), b"", "past the head");
    }

    #[test]
    fn forgets_oldest_records_whole_and_wraps() {
        let mut b = Broadcast::new();
        let line = [b'x'; 1000];
        let mut starts = Vec::new();
        for _ in 0..(RING_BYTES / 1000) * 3 {
            starts.push(b.append(Some(0), &line).unwrap());
        }
        assert!(b.head() - b.tail() <= RING_BYTES as u64);
        assert!(b.head() - b.tail() > (RING_BYTES - 1000) as u64);
        let first = b
            .record(b.end_record() - (b.head() - b.tail()) / 1000)
            .unwrap();
        assert_eq!(first.start, b.tail(), "the tail is always a record start");
        assert_eq!(
            joined(&b, b.tail(), b.head()).len() as u64,
            b.head() - b.tail()
        );
        assert_eq!(
            b.slices(0, 10),
            (&[][..], &[][..]),
            "forgotten bytes are not returned"
        );
        assert_eq!(b.record(0), None);
    }

    #[test]
    fn record_count_is_bounded_too() {
        let mut b = Broadcast::new();
        for _ in 0..RING_RECORDS + 10 {
            b.append(None, b"a\n");
        }
        assert_eq!(b.records.len(), RING_RECORDS);
        assert_eq!(b.end_record() - b.first, RING_RECORDS as u64);
        assert_eq!(b.tail(), 20);
    }

    #[test]
    fn refuses_a_line_longer_than_the_ring() {
        let mut b = Broadcast::new();
        let mut big = std::vec::Vec::new();
        big.resize(RING_BYTES + 1, b'x');
        assert_eq!(b.append(None, &big), None);
        assert_eq!(b.head(), 0);
    }
}

//! The last public messages, replayed to newcomers oldest first.
//!
//! The last [`HISTORY_LEN`] entries are the history; writing the eleventh drops the oldest
//! from it. Private messages never enter it. Each entry keeps its original sender and time, so
//! a replay says who spoke and when, not who was online at replay time.
//!
//! The ring keeps [`HISTORY_LEN`] more entries than that, out of the history: an IRC
//! newcomer's replay is generated while it is being written (`burst.rs`), and entries
//! said meanwhile must not push out the ones it has yet to replay. Entries are numbered from
//! the first ever written ([`History::changes`] is the next number), so a replay can ask for
//! entry *n* ([`History::entry`]) whatever was written since.

use crate::config::{HISTORY_LEN, MAX_LINE};
use crate::names::Name;
use crate::time::Timestamp;

/// Which kind of public message an entry was (its wire words are in [`crate::wire`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    /// A plain public message (`MSG`).
    Msg,
    /// An action (`/me`, `ME`).
    Me,
}

/// One public message as it was said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Message or action.
    pub kind: EntryKind,
    /// When the server received it.
    pub time: Timestamp,
    /// Who said it, under the name they had then.
    pub name: Name,
    /// What was said.
    pub text: heapless::String<MAX_LINE>,
}

impl Entry {
    /// Make an entry; `None` if the text is longer than a line can be.
    pub fn new(kind: EntryKind, time: Timestamp, name: Name, text: &str) -> Option<Entry> {
        let mut t = heapless::String::new();
        t.push_str(text).ok()?;
        Some(Entry {
            kind,
            time,
            name,
            text: t,
        })
    }
}

/// Entries the ring keeps: the history, and as many again for replays in progress.
const KEPT: usize = 2 * HISTORY_LEN;

/// The ring of recent public messages.
#[derive(Debug, Clone, Default)]
pub struct History {
    ring: heapless::HistoryBuf<Entry, KEPT>,
    changes: u64,
}

impl History {
    /// Make an empty history.
    pub const fn new() -> Self {
        History {
            ring: heapless::HistoryBuf::new(),
            changes: 0,
        }
    }

    /// Add a message, dropping the oldest if the ring is full.
    pub fn push(&mut self, e: Entry) {
        self.ring.write(e);
        self.changes = self.changes.wrapping_add(1);
    }

    /// Return the entries, oldest first.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &Entry> + '_ {
        let older = self.ring.len().saturating_sub(HISTORY_LEN);
        let (a, b) = self.ring.as_slices();
        let in_a = older.min(a.len());
        let a = a.get(in_a..).unwrap_or_default();
        let b = b.get(older - in_a..).unwrap_or_default();
        a.iter().chain(b)
    }

    /// Return how many entries there are (at most [`HISTORY_LEN`]).
    pub fn len(&self) -> usize {
        self.ring.len().min(HISTORY_LEN)
    }

    /// Return whether there are no entries.
    pub fn is_empty(&self) -> bool {
        self.ring.is_empty()
    }

    /// Return entry number `n` (counting every entry ever written from 0), if it is still
    /// kept: the history's entries, and up to [`HISTORY_LEN`] older ones.
    pub fn entry(&self, n: u64) -> Option<&Entry> {
        let oldest = self.changes - self.ring.len() as u64;
        let k = usize::try_from(n.checked_sub(oldest)?).ok()?;
        let (a, b) = self.ring.as_slices();
        a.get(k).or_else(|| b.get(k.checked_sub(a.len())?))
    }

    /// Return the number of the oldest entry still kept ([`History::entry`]).
    pub fn oldest_kept(&self) -> u64 {
        self.changes - self.ring.len() as u64
    }

    /// Return a counter that changes whenever an entry is added, so a caller can tell
    /// whether the history needs saving again.
    pub fn changes(&self) -> u64 {
        self.changes
    }
}

#[cfg(test)]
mod test {
    use super::*;
    use std::format;
    use std::vec::Vec;

    fn entry(i: u64) -> Entry {
        let name = Name::new("Ana").unwrap();
        Entry::new(EntryKind::Msg, Timestamp(i), name, &format!("m{i}")).unwrap()
    }

    #[test]
    fn keeps_the_last_ten_oldest_first() {
        let mut h = History::new();
        assert!(h.is_empty());
        for i in 0..12 {
            h.push(entry(i));
        }
        assert_eq!(h.len(), HISTORY_LEN);
        let times: Vec<u64> = h.iter().map(|e| e.time.0).collect();
        assert_eq!(times, (2..12).collect::<Vec<_>>());
        assert_eq!(h.changes(), 12);
        assert_eq!(h.iter().next_back().map(|e| e.time.0), Some(11));
    }

    #[test]
    fn entries_out_of_the_history_are_kept_for_replays_in_progress() {
        let mut h = History::new();
        for i in 0..25 {
            h.push(entry(i));
        }
        assert_eq!(h.len(), HISTORY_LEN);
        assert_eq!(h.oldest_kept(), 5);
        assert_eq!(h.entry(4), None);
        assert_eq!(h.entry(5).map(|e| e.time.0), Some(5));
        assert_eq!(h.entry(24).map(|e| e.time.0), Some(24));
        assert_eq!(h.entry(25), None);
        assert_eq!(h.iter().next().map(|e| e.time.0), Some(15));
    }
}

//! The last public messages, replayed to newcomers oldest first.
//!
//! A fixed ring of [`HISTORY_LEN`] entries: writing the eleventh drops the oldest. Private
//! messages never enter it. Each entry keeps its original sender and time, so a replay says
//! who spoke and when, not who was online at replay time.

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

/// The ring of recent public messages.
#[derive(Debug, Clone, Default)]
pub struct History {
    ring: heapless::HistoryBuf<Entry, HISTORY_LEN>,
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
        self.ring.oldest_ordered()
    }

    /// Return how many entries there are (at most [`HISTORY_LEN`]).
    pub fn len(&self) -> usize {
        self.ring.len()
    }

    /// Return whether there are no entries.
    pub fn is_empty(&self) -> bool {
        self.ring.is_empty()
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
    }
}

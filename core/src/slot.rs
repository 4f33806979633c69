//! One connection's state: where it is in joining, its partial input, its place in the broadcast
//! ring and its queue of lines for it alone.

use core::net::SocketAddr;

use heapless::Deque;

use crate::config::OUT_QUEUE;
use crate::flood::{Bucket, FloodLimit};
use crate::frame::LineDecoder;
use crate::names::Name;
use crate::time::Instant;

/// Where a connection is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// No connection uses the slot.
    Free,
    /// Connected; waiting for the password.
    AwaitPassword,
    /// Connected (and past the password); waiting for a valid name.
    AwaitName,
    /// In the chat.
    Joined,
    /// The server has decided to close it; only flushing remains.
    Closing,
}

/// The outgoing queue did not have room for a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueFull;

/// A connection slot. Its buffers live as long as the server, and are reused.
#[derive(Debug)]
pub struct Slot {
    /// Bumped each time the slot is freed, so stale connection ids are told apart.
    pub(crate) generation: u32,
    pub(crate) phase: Phase,
    pub(crate) peer: Option<SocketAddr>,
    pub(crate) connected_at: Instant,
    pub(crate) bucket: Bucket,
    pub(crate) name: Option<Name>,
    /// Its outgoing queue overflowed; it is to be dropped as a slow consumer.
    pub(crate) overflowed: bool,
    /// The server already handed it out through `poll_close`.
    pub(crate) close_reported: bool,
    /// Absolute position of the next broadcast byte to send.
    pub(crate) ring_pos: u64,
    /// Absolute number of the broadcast record `ring_pos` falls in.
    pub(crate) ring_rec: u64,
    /// Broadcast bytes at or past this position are not for this connection (it has not
    /// joined, or is closing).
    pub(crate) ring_limit: u64,
    /// Bytes of the first private line already sent.
    pub(crate) priv_sent: usize,
    pub(crate) decoder: LineDecoder,
    /// Private lines, each as a [`PRIVATE_HEADER`]-byte header (the broadcast head when it
    /// was queued, then its length) and its bytes.
    pub(crate) out: Deque<u8, OUT_QUEUE>,
}

/// Bytes of a private line's header in the queue: an 8-byte position and a 2-byte length.
pub const PRIVATE_HEADER: usize = 10;

impl Slot {
    /// Make a free slot.
    pub(crate) fn new(limit: &FloodLimit) -> Self {
        Slot {
            generation: 0,
            phase: Phase::Free,
            peer: None,
            connected_at: Instant::ZERO,
            bucket: Bucket::new(limit, Instant::ZERO),
            name: None,
            overflowed: false,
            close_reported: false,
            ring_pos: 0,
            ring_rec: 0,
            ring_limit: 0,
            priv_sent: 0,
            decoder: LineDecoder::new(),
            out: Deque::new(),
        }
    }

    /// Take the slot for a new connection.
    pub(crate) fn open(
        &mut self,
        now: Instant,
        peer: SocketAddr,
        phase: Phase,
        limit: &FloodLimit,
    ) {
        self.phase = phase;
        self.peer = Some(peer);
        self.connected_at = now;
        self.decoder = LineDecoder::new();
        self.out.clear();
        self.bucket = Bucket::new(limit, now);
        self.name = None;
        self.overflowed = false;
        self.close_reported = false;
        self.ring_pos = 0;
        self.ring_rec = 0;
        self.ring_limit = 0;
        self.priv_sent = 0;
    }

    /// Give the slot back.
    pub(crate) fn free(&mut self) {
        self.phase = Phase::Free;
        self.peer = None;
        self.name = None;
        self.out.clear();
        self.priv_sent = 0;
        self.ring_limit = self.ring_pos;
        self.generation = self.generation.wrapping_add(1);
    }

    /// Return where the connection is in its life.
    pub fn phase(&self) -> Phase {
        self.phase
    }

    /// Return free room in the private queue, in bytes.
    pub fn room(&self) -> usize {
        OUT_QUEUE - self.out.len()
    }

    /// Return bytes used in the private queue, headers included.
    pub fn queued(&self) -> usize {
        self.out.len()
    }

    /// Queue a whole private line, to go out once the broadcast ring up to `tag` has.
    pub(crate) fn push(&mut self, tag: u64, line: &[u8]) -> Result<(), QueueFull> {
        let len = u16::try_from(line.len()).map_err(|_| QueueFull)?;
        if PRIVATE_HEADER + line.len() > self.room() {
            return Err(QueueFull);
        }
        let header = tag.to_le_bytes().into_iter().chain(len.to_le_bytes());
        for b in header.chain(line.iter().copied()) {
            // Cannot fail: room checked above.
            self.out.push_back(b).map_err(|_| QueueFull)?;
        }
        Ok(())
    }

    /// Return the tag and length of the private line whose header starts at `off`.
    pub(crate) fn entry_at(&self, off: usize) -> Option<(u64, usize)> {
        let mut h = [0u8; PRIVATE_HEADER];
        for (k, b) in h.iter_mut().enumerate() {
            *b = *self.out.get(off + k)?;
        }
        let [t0, t1, t2, t3, t4, t5, t6, t7, l0, l1] = h;
        let tag = u64::from_le_bytes([t0, t1, t2, t3, t4, t5, t6, t7]);
        Some((tag, usize::from(u16::from_le_bytes([l0, l1]))))
    }

    /// Return queue bytes `from..to` (offsets from the front) as up to two slices.
    pub(crate) fn private_slices(&self, from: usize, to: usize) -> (&[u8], &[u8]) {
        let (a, b) = self.out.as_slices();
        if from >= to {
            return (&[], &[]);
        }
        if from >= a.len() {
            let (f, t) = (from - a.len(), to - a.len());
            (b.get(f..t).unwrap_or_default(), &[])
        } else if to <= a.len() {
            (a.get(from..to).unwrap_or_default(), &[])
        } else {
            (
                a.get(from..).unwrap_or_default(),
                b.get(..to - a.len()).unwrap_or_default(),
            )
        }
    }

    /// Drop the first private line, whose text is `len` bytes.
    ///
    /// An emptied queue starts again at the front of its buffer, so what is queued next goes
    /// out as one contiguous slice.
    pub(crate) fn pop_entry(&mut self, len: usize) {
        self.priv_sent = 0;
        if PRIVATE_HEADER + len >= self.out.len() {
            self.out.clear();
            return;
        }
        for _ in 0..PRIVATE_HEADER + len {
            self.out.pop_front();
        }
    }
}

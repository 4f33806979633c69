//! One connection's state: where it is in joining, its partial input and its outgoing queue.

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
    pub(crate) decoder: LineDecoder,
    pub(crate) out: Deque<u8, OUT_QUEUE>,
}

impl Slot {
    /// Make a free slot.
    pub(crate) fn new(limit: &FloodLimit) -> Self {
        Slot {
            generation: 0,
            phase: Phase::Free,
            peer: None,
            connected_at: Instant(0),
            bucket: Bucket::new(limit, Instant(0)),
            name: None,
            overflowed: false,
            close_reported: false,
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
    }

    /// Give the slot back.
    pub(crate) fn free(&mut self) {
        self.phase = Phase::Free;
        self.peer = None;
        self.name = None;
        self.out.clear();
        self.generation = self.generation.wrapping_add(1);
    }

    /// Return where the connection is in its life.
    pub fn phase(&self) -> Phase {
        self.phase
    }

    /// Return free room in the outgoing queue, in bytes.
    pub fn room(&self) -> usize {
        OUT_QUEUE - self.out.len()
    }

    /// Return queued outgoing bytes.
    pub fn queued(&self) -> usize {
        self.out.len()
    }

    /// Queue a whole line, or nothing if it does not fit.
    pub(crate) fn push(&mut self, line: &[u8]) -> Result<(), QueueFull> {
        if line.len() > self.room() {
            return Err(QueueFull);
        }
        for &b in line {
            // Cannot fail: room checked above.
            self.out.push_back(b).map_err(|_| QueueFull)?;
        }
        Ok(())
    }

    /// Drop `n` sent bytes from the front of the queue.
    ///
    /// An emptied queue starts again at the front of its buffer, so what is queued next goes
    /// out as one contiguous slice, and a client that keeps up reuses the same few bytes.
    pub(crate) fn consume(&mut self, n: usize) {
        if n >= self.out.len() {
            self.out.clear();
            return;
        }
        for _ in 0..n {
            self.out.pop_front();
        }
    }
}

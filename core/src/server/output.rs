//! Handing a connection's output to the caller: its lines, in order, for a gather write
//! ([`Server::outgoing_vectored`], [`Server::consume`]) or written to a [`Transport`]
//! ([`Server::flush`]); which connections have something new to write
//! ([`Server::poll_output`], [`Server::broadcasts`]); and the connections to close
//! ([`Server::poll_close`]).

use super::{slot_index, ConnId, Server, FLUSH_ROUNDS};
use crate::dialect::Dialect;
use crate::outbox::{self, Cursor};
use crate::slot::Phase;
use crate::transport::Transport;

impl<const N: usize> Server<N> {
    /// Return how many lines have been stored for everyone so far, in either protocol.
    ///
    /// While it stays the same, no connection got any public output: a caller that wrote out
    /// everything once, and since then every connection [`Server::poll_output`] named, has
    /// written all there is (but for what a full socket held back). When it changes, every
    /// connection in the room may have something to write.
    pub fn broadcasts(&self) -> u64 {
        self.ring.end_record() + self.irc_ring.end_record()
    }

    /// Take the next connection that got output of its own (lines for it alone, or a
    /// listing) since it was last taken, once each.
    ///
    /// With [`Server::broadcasts`], it lets a caller with many connections write out to just
    /// those that have something new, instead of trying each of them every turn. (Entering
    /// the room always stores a `JOIN` for everyone, and connections to close come from
    /// [`Server::poll_close`].)
    #[must_use]
    pub fn poll_output(&mut self) -> Option<ConnId> {
        while let Some(k) = self.output.pop_front() {
            let i = usize::from(k);
            let Some(s) = self.slots.get_mut(i) else {
                continue;
            };
            s.output_listed = false;
            if s.phase != Phase::Free {
                return Some(self.id_of(i));
            }
        }
        None
    }

    /// List connection `i` for [`Server::poll_output`], unless it already is.
    pub(super) fn note_output(&mut self, i: usize) {
        let s = &mut self.slots[i];
        if !s.output_listed {
            s.output_listed = true;
            // At most one entry per slot, so the list never fills.
            let _ = self.output.push_back(slot_index(i));
        }
    }

    /// Check that [`Server::poll_output`]'s list holds each slot marked as listed, once.
    pub(super) fn check_output_list(&self) -> Result<(), &'static str> {
        let mut marked = 0;
        for (i, _) in self
            .slots
            .iter()
            .enumerate()
            .filter(|(_, s)| s.output_listed)
        {
            marked += 1;
            if !self.output.iter().any(|&k| usize::from(k) == i) {
                return Err("a connection marked as listed for output is not on the list");
            }
        }
        // Every marked slot is on the list, and the list is no longer: no slot is on it twice.
        if marked != self.output.len() {
            return Err("the list of connections with output disagrees with their marks");
        }
        Ok(())
    }

    /// Fill `bufs` with a connection's output, in order, for one gather write; return how
    /// many slices were filled (0: nothing to send; at least 2 slices are needed to get any).
    ///
    /// Its private lines and the public lines of others come interleaved in the order they
    /// were queued. Then [`Server::consume`] what was written.
    pub fn outgoing_vectored<'a>(&'a self, id: ConnId, bufs: &mut [&'a [u8]]) -> usize {
        let Some(i) = self.index(id) else { return 0 };
        let slot = &self.slots[i];
        let ring = self.ring_of(slot.dialect);
        let mut cur = Cursor::of(slot);
        let mut filled = 0;
        while filled + 2 <= bufs.len() {
            let Some(piece) = cur.next(ring, slot, slot_index(i)) else {
                break;
            };
            let (a, b) = piece.slices(ring, slot);
            for part in [a, b] {
                if !part.is_empty() {
                    bufs[filled] = part;
                    filled += 1;
                }
            }
            cur.advance(ring, piece, usize::MAX);
        }
        filled
    }

    /// Mark `n` bytes of a connection's output as written.
    pub fn consume(&mut self, id: ConnId, n: usize) {
        let Some(i) = self.index(id) else { return };
        if self.slots[i].dialect == Dialect::Native {
            // Natives have no listings: the path of every native delivery stays as it was.
            outbox::consume(&self.ring, &mut self.slots[i], slot_index(i), n);
            return;
        }
        let mut n = n;
        // Each round places bytes or generates a burst's next lines; a burst ends in as many
        // rounds as it has lines, so this bound is never reached by a caller that consumes
        // only what it was offered.
        for _ in 0..=crate::config::OUT_QUEUE {
            n = outbox::consume(&self.irc_ring, &mut self.slots[i], slot_index(i), n);
            self.pump(i);
            if n == 0 {
                return;
            }
        }
    }

    /// Write a connection's pending bytes to `t` until done or it would block: a loop of
    /// [`Server::outgoing_vectored`] and [`Server::consume`] over a [`Transport`].
    ///
    /// `Ok(())` means everything was written; `WouldBlock` means wait for writability. On
    /// another error the caller closes the transport and reports [`Server::closed`].
    pub fn flush<T: Transport>(&mut self, id: ConnId, t: &mut T) -> nb::Result<(), T::Error> {
        for _ in 0..FLUSH_ROUNDS {
            let mut bufs: [&[u8]; 16] = [&[]; 16];
            let k = self.outgoing_vectored(id, &mut bufs);
            if k == 0 {
                return Ok(());
            }
            let offered: usize = bufs[..k].iter().map(|b| b.len()).sum();
            let n = t.write_vectored(&bufs[..k])?;
            if n == 0 {
                return Err(nb::Error::WouldBlock);
            }
            self.consume(id, n);
            if n < offered {
                // The transport took less than offered: it is full for now.
                return Err(nb::Error::WouldBlock);
            }
        }
        Err(nb::Error::WouldBlock)
    }

    /// Take the next connection the server wants closed, once each.
    ///
    /// Write what it still has queued if the socket takes it, then close it and report
    /// [`Server::closed`] with [`CloseReason::Closed`](super::CloseReason::Closed).
    #[must_use]
    pub fn poll_close(&mut self) -> Option<ConnId> {
        while let Some(id) = self.to_close.pop_front() {
            if let Some(i) = self.index(id) {
                let s = &mut self.slots[i];
                if s.phase == Phase::Closing && !s.close_reported {
                    s.close_reported = true;
                    return Some(id);
                }
            }
        }
        None
    }
}

//! Handing a connection's output to the caller: its lines, in order, for a gather write
//! ([`Server::outgoing_vectored`], [`Server::consume`]) or written to a [`Transport`]
//! ([`Server::flush`]); and the connections to close ([`Server::poll_close`]).

use super::{slot_index, ConnId, Server, FLUSH_ROUNDS};
use crate::dialect::Dialect;
use crate::outbox::{self, Cursor};
use crate::slot::Phase;
use crate::transport::Transport;

impl<const N: usize> Server<N> {
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

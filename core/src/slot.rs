//! One connection's state: where it is in joining, its partial input, its place in the broadcast
//! ring of its dialect, its queue of lines for it alone and, for IRC, its registration and
//! keep-alive state and its burst of long listings.

use core::net::SocketAddr;

use heapless::Deque;

use crate::burst::{Burst, Listing};
use crate::config::{OUT_QUEUE, USERLEN};
use crate::dialect::Dialect;
use crate::flood::{Bucket, FloodLimit};
use crate::frame::LineDecoder;
use crate::names::Name;
use crate::server::deadlines::Link;
use crate::time::Instant;

/// Where a connection is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// No connection uses the slot.
    Free,
    /// Connected; waiting for the password (IRC: for a right `PASS`).
    AwaitPassword,
    /// Connected (and past the password); waiting for a valid name (IRC: registering).
    AwaitName,
    /// In the chat: its name is taken. (An IRC client that left the channel with `PART`
    /// is still joined, and can come back with `JOIN`.)
    Joined,
    /// The server has decided to close it; only flushing remains.
    Closing,
}

/// The outgoing queue did not have room for a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueFull;

/// The IRC side of a connection: what registration has gathered, and the keep-alive timer.
#[derive(Debug, Clone)]
pub(crate) struct IrcSession {
    /// `CAP LS` or `CAP REQ` opened capability negotiation: registration waits for `CAP END`.
    pub(crate) cap_open: bool,
    /// The client enabled `server-time`: replayed history carries `@time=` tags.
    pub(crate) server_time: bool,
    /// The nick given with `NICK` before registration, checked and free when given.
    pub(crate) nick: Option<Name>,
    /// The user name shown as `nick!~user@irc`, its `~` included; empty until `USER`.
    pub(crate) user: heapless::String<{ USERLEN + 1 }>,
    /// User mode `+i`, kept only to be reported back.
    pub(crate) invisible: bool,
    /// When the client last sent anything.
    pub(crate) heard: Instant,
    /// When the server pinged it for its silence, if it has not sent anything since.
    pub(crate) pinged: Option<Instant>,
}

impl IrcSession {
    const fn new() -> IrcSession {
        IrcSession {
            cap_open: false,
            server_time: false,
            nick: None,
            user: heapless::String::new(),
            invisible: false,
            heard: Instant::ZERO,
            pinged: None,
        }
    }
}

/// One entry of the private queue, as its header says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Queued {
    /// A line of `len` bytes, to go out once the broadcast ring up to `tag` has.
    Line {
        /// The broadcast head when it was queued.
        tag: u64,
        /// Its length in bytes.
        len: usize,
    },
    /// A long listing to send from here (see [`crate::burst`]); its only bytes in the queue
    /// are its snapshot.
    Burst {
        /// The broadcast head when it was queued.
        tag: u64,
        /// Which listing.
        listing: Listing,
        /// Its snapshot, taken when it was asked for: NAMES lists who had entered the room by
        /// this count of entries, the history replays the entries numbered below it.
        upto: u64,
    },
}

impl Queued {
    /// Return the broadcast head the entry waits for.
    pub(crate) fn tag(self) -> u64 {
        match self {
            Queued::Line { tag, .. } | Queued::Burst { tag, .. } => tag,
        }
    }

    /// Return the bytes the entry takes in the queue, its header included.
    fn size(self) -> usize {
        PRIVATE_HEADER
            + match self {
                Queued::Line { len, .. } => len,
                Queued::Burst { .. } => MARKER_BODY,
            }
    }
}

/// The length field of a marker's header: this, plus the listing's code. No line is that long.
const MARKER: u16 = 0xff00;

/// Bytes after a marker's header: its snapshot (`Queued::Burst::upto`).
const MARKER_BODY: usize = 8;

/// A connection slot. Its buffers live as long as the server, and are reused.
#[derive(Debug)]
pub struct Slot {
    /// Bumped each time the slot is freed, so stale connection ids are told apart.
    pub(crate) generation: u32,
    pub(crate) phase: Phase,
    /// The protocol it speaks; its ring is that dialect's.
    pub(crate) dialect: Dialect,
    /// It is in the room: it receives the room's lines and appears in its listings. A joined
    /// native client always is; an IRC client leaves with `PART` and comes back with `JOIN`.
    pub(crate) in_room: bool,
    /// The room's count of entries when it last entered (see `Server::joins`).
    pub(crate) entered: u64,
    pub(crate) irc: IrcSession,
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
    /// was queued, then its length) and its bytes; or a listing's marker, a header alone.
    pub(crate) out: Deque<u8, OUT_QUEUE>,
    /// The listing being sent, and its generated lines (IRC only).
    pub(crate) burst: Burst,
    /// Its place on the list of the timer it waits on, if any (see `server::deadlines`).
    pub(crate) deadline: Link,
    /// It is on the server's list of connections with output of their own to write (see
    /// `Server::poll_output`).
    pub(crate) output_listed: bool,
}

/// Bytes of a private line's header in the queue: an 8-byte position and a 2-byte length.
pub const PRIVATE_HEADER: usize = 10;

impl Slot {
    /// Make a free slot.
    pub(crate) fn new(limit: &FloodLimit) -> Self {
        Slot {
            generation: 0,
            phase: Phase::Free,
            dialect: Dialect::Native,
            in_room: false,
            entered: 0,
            irc: IrcSession::new(),
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
            burst: Burst::new(),
            deadline: Link::new(),
            output_listed: false,
        }
    }

    /// Take the slot for a new connection.
    pub(crate) fn open(
        &mut self,
        now: Instant,
        peer: SocketAddr,
        phase: Phase,
        dialect: Dialect,
        limit: &FloodLimit,
    ) {
        self.phase = phase;
        self.dialect = dialect;
        self.in_room = false;
        self.irc = IrcSession::new();
        self.irc.heard = now;
        self.burst.clear();
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
        self.in_room = false;
        self.irc.nick = None;
        self.out.clear();
        self.burst.clear();
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

    /// Queue a listing's marker with its snapshot `upto`, to start once the broadcast ring
    /// up to `tag` has gone out and every private line queued before it.
    pub(crate) fn push_marker(
        &mut self,
        tag: u64,
        listing: Listing,
        upto: u64,
    ) -> Result<(), QueueFull> {
        if PRIVATE_HEADER + MARKER_BODY > self.room() {
            return Err(QueueFull);
        }
        let len = MARKER | u16::from(listing.code());
        let bytes = tag.to_le_bytes().into_iter().chain(len.to_le_bytes());
        for b in bytes.chain(upto.to_le_bytes()) {
            // Cannot fail: room checked above.
            self.out.push_back(b).map_err(|_| QueueFull)?;
        }
        Ok(())
    }

    /// Return where a marker of `listing` queued with `tag` sits with nothing but other
    /// markers after it, if one does: a new request for that listing with that tag would be
    /// answered by the same lines at the same place, as nothing was queued or broadcast since.
    pub(crate) fn trailing_marker(&self, listing: Listing, tag: u64) -> Option<usize> {
        let (mut off, mut found) = (0, None);
        // Every entry takes at least a header.
        for _ in 0..=OUT_QUEUE / PRIVATE_HEADER {
            let Some(entry) = self.entry_at(off) else {
                break;
            };
            match entry {
                Queued::Line { .. } => found = None,
                Queued::Burst {
                    tag: t, listing: l, ..
                } if l == listing && t == tag => {
                    found = Some(off);
                }
                Queued::Burst { .. } => {}
            }
            off += entry.size();
        }
        found
    }

    /// Return the private queue's entry whose header starts at `off`.
    pub(crate) fn entry_at(&self, off: usize) -> Option<Queued> {
        let mut h = [0u8; PRIVATE_HEADER];
        for (k, b) in h.iter_mut().enumerate() {
            *b = *self.out.get(off + k)?;
        }
        let [t0, t1, t2, t3, t4, t5, t6, t7, l0, l1] = h;
        let tag = u64::from_le_bytes([t0, t1, t2, t3, t4, t5, t6, t7]);
        let len = u16::from_le_bytes([l0, l1]);
        if len & MARKER == MARKER {
            let [code, _] = len.to_le_bytes();
            if let Some(listing) = Listing::from_code(code) {
                let mut body = [0u8; MARKER_BODY];
                for (k, b) in body.iter_mut().enumerate() {
                    *b = *self.out.get(off + PRIVATE_HEADER + k)?;
                }
                let upto = u64::from_le_bytes(body);
                return Some(Queued::Burst { tag, listing, upto });
            }
        }
        Some(Queued::Line {
            tag,
            len: usize::from(len),
        })
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

    /// Drop the listing marker at the front of the queue.
    pub(crate) fn pop_marker(&mut self) {
        self.pop_entry(MARKER_BODY);
    }
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn markers_and_lines_share_the_queue_in_order() {
        let mut s = Slot::new(&FloodLimit::default());
        s.push(7, b"one\n").unwrap();
        s.push_marker(9, Listing::History, 31).unwrap();
        s.push(9, b"two\n").unwrap();
        assert_eq!(s.entry_at(0), Some(Queued::Line { tag: 7, len: 4 }));
        let m = PRIVATE_HEADER + 4;
        assert_eq!(
            s.entry_at(m),
            Some(Queued::Burst {
                tag: 9,
                listing: Listing::History,
                upto: 31,
            })
        );
        assert_eq!(
            s.entry_at(m + PRIVATE_HEADER + MARKER_BODY),
            Some(Queued::Line { tag: 9, len: 4 })
        );
        s.pop_entry(4);
        assert_eq!(s.entry_at(0).map(Queued::tag), Some(9));
        s.pop_marker();
        assert_eq!(s.entry_at(0), Some(Queued::Line { tag: 9, len: 4 }));
        assert_eq!(
            s.private_slices(PRIVATE_HEADER, PRIVATE_HEADER + 4).0,
            b"two\n"
        );
        // A full queue refuses a marker too.
        while s.push(0, &[b'x'; 100]).is_ok() {}
        while s.room() >= PRIVATE_HEADER {
            s.out.push_back(0).unwrap();
        }
        assert_eq!(s.push_marker(0, Listing::Names, 0), Err(QueueFull));
    }

    #[test]
    fn only_a_marker_followed_by_markers_alone_answers_a_request_again() {
        let mut s = Slot::new(&FloodLimit::default());
        s.push_marker(3, Listing::Names, 1).unwrap();
        s.push_marker(3, Listing::Who, 0).unwrap();
        assert_eq!(s.trailing_marker(Listing::Names, 3), Some(0));
        assert_eq!(
            s.trailing_marker(Listing::Who, 3),
            Some(PRIVATE_HEADER + MARKER_BODY)
        );
        assert_eq!(s.trailing_marker(Listing::Names, 4), None, "the ring moved");
        assert_eq!(s.trailing_marker(Listing::History, 3), None);
        s.push(3, b"PONG\r\n").unwrap();
        assert_eq!(
            s.trailing_marker(Listing::Names, 3),
            None,
            "a line came after"
        );
        s.push_marker(3, Listing::Names, 2).unwrap();
        let last = 2 * (PRIVATE_HEADER + MARKER_BODY) + PRIVATE_HEADER + 6;
        assert_eq!(s.trailing_marker(Listing::Names, 3), Some(last));
    }
}

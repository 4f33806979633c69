//! The burst generator: NAMES, WHO and the history for an IRC client, generated a few lines
//! at a time as they are written (see [`crate::burst`] for why and how they are ordered).

use core::fmt::Write as _;

use super::irc_render::{self, IrcCtx};
use super::room::{IRC_HOST, NATIVE_HOST, NATIVE_USER};
use super::Server;
use crate::burst::{Listing, BURST_BUF};
use crate::config::{HISTORY_LEN, OUT_QUEUE};
use crate::dialect::Dialect;
use crate::irc::numeric;
use crate::irc::{Message, Source};
use crate::slot::{Phase, Queued, Slot, PRIVATE_HEADER};

/// One generated line.
type BurstLine = heapless::String<BURST_BUF>;

/// Where a listing stands after a line: the `next` and `piece` of [`crate::burst::Burst`].
#[derive(Debug, Clone, Copy)]
struct Place {
    next: u64,
    piece: usize,
}

/// `next` once a listing's last line is out.
const END: u64 = u64::MAX;

impl<const N: usize> Server<N> {
    /// Queue `listing` for IRC connection `i`, after everything queued for it so far, with
    /// its snapshot taken now. Asking again for a listing whose marker waits with nothing but
    /// other listings after it, and no broadcast since, adds nothing: the same lines would
    /// come at the same place.
    pub(super) fn request(&mut self, i: usize, listing: Listing) {
        let upto = match listing {
            Listing::Names => self.joins,
            Listing::History => self.history.changes(),
            Listing::Who => 0,
        };
        let tag = self.ring_of(self.slots[i].dialect).head();
        let s = &mut self.slots[i];
        if let Some(off) = s.trailing_marker(listing, tag) {
            // The front marker may have started: its lines are partly out.
            if off > 0 || s.burst.active.is_none() {
                return;
            }
        }
        if s.push_marker(tag, listing, upto).is_err() {
            self.overflowed(i);
            return;
        }
        s.burst.waiting = s.burst.waiting.saturating_add(1);
        self.note_output(i);
        self.pump(i);
    }

    /// Keep connection `i`'s listings going: start the one whose marker reached the front of
    /// its queue, generate its next lines once the last ones were written, and drop its marker
    /// when it is done so that what follows goes out.
    pub(super) fn pump(&mut self, i: usize) {
        let b = &self.slots[i].burst;
        if b.active.is_none() && b.waiting == 0 {
            return;
        }
        // Each round ends a listing (at most one marker per header's room) or generates lines.
        for _ in 0..=OUT_QUEUE / PRIVATE_HEADER {
            let s = &mut self.slots[i];
            let Some(Queued::Burst { listing, upto, .. }) = s.entry_at(0) else {
                return;
            };
            if s.burst.active.is_none() {
                start(s, listing, upto);
            }
            if !s.burst.drained() {
                return;
            }
            s.burst.buf.clear();
            s.burst.sent = 0;
            if s.burst.done {
                s.burst.active = None;
                s.burst.done = false;
                s.pop_marker();
                continue;
            }
            self.generate(i, listing);
            if !self.slots[i].burst.buf.is_empty() {
                return;
            }
        }
    }

    /// Fill connection `i`'s burst buffer with the listing's next lines, as many as fit.
    fn generate(&mut self, i: usize, listing: Listing) {
        let mut buf: heapless::Vec<u8, BURST_BUF> = heapless::Vec::new();
        let b = &self.slots[i].burst;
        let mut place = Place {
            next: b.next,
            piece: b.piece,
        };
        let upto = b.upto;
        let mut done = false;
        // A listing has at most a line per slot or history piece, and one to end it.
        for _ in 0..=N + 3 * HISTORY_LEN + 1 {
            let Some((line, after)) = self.listing_line(i, listing, place, upto) else {
                done = true;
                break;
            };
            if buf.len() + line.len() > buf.capacity() {
                if buf.is_empty() {
                    // Cannot happen (a line is at most 543 bytes); skip it rather than stall.
                    place = after;
                    continue;
                }
                break;
            }
            let _ = buf.extend_from_slice(line.as_bytes());
            place = after;
        }
        let b = &mut self.slots[i].burst;
        b.buf = buf;
        b.sent = 0;
        b.next = place.next;
        b.piece = place.piece;
        b.done = done;
    }

    /// Return the listing's line at `place` and the place after it, or `None` at its end.
    fn listing_line(
        &self,
        i: usize,
        listing: Listing,
        place: Place,
        upto: u64,
    ) -> Option<(BurstLine, Place)> {
        if place.next == END {
            return None;
        }
        let ctx = self.irc_ctx(i);
        let mut line = BurstLine::new();
        match listing {
            Listing::Names => {
                let (next, found) = self.names_line(&mut line, &ctx, i, place.next, upto);
                if found {
                    return Some((line, Place { next, piece: 0 }));
                }
                let text = "End of /NAMES list.";
                let end = &[ctx.channel][..];
                irc_render::numeric(&mut line, &ctx, numeric::RPL_ENDOFNAMES, end, Some(text))
                    .ok()?;
            }
            Listing::Who => {
                let from = usize::try_from(place.next).unwrap_or(usize::MAX);
                let member = self
                    .slots
                    .iter()
                    .enumerate()
                    .skip(from)
                    .find(|(_, s)| s.in_room && s.phase == Phase::Joined);
                if let Some((j, s)) = member {
                    who_line(&mut line, &ctx, s).ok()?;
                    let next = u64::try_from(j + 1).unwrap_or(END);
                    return Some((line, Place { next, piece: 0 }));
                }
                let text = "End of /WHO list.";
                let end = &[ctx.channel][..];
                irc_render::numeric(&mut line, &ctx, numeric::RPL_ENDOFWHO, end, Some(text))
                    .ok()?;
            }
            Listing::History => {
                let oldest = self.history.oldest_kept();
                let (mut seq, mut from) = (place.next, place.piece);
                if seq < oldest {
                    // Forgotten meanwhile (more than ten newer messages came while it was
                    // being written): go on from the oldest still kept.
                    (seq, from) = (oldest, 0);
                }
                if seq >= upto {
                    return None;
                }
                let entry = self.history.entry(seq)?;
                let server_time = self.slots[i].irc.server_time;
                let next =
                    irc_render::history_piece(&mut line, ctx.channel, entry, from, server_time)
                        .ok()?;
                let after = match next {
                    Some(piece) => Place { next: seq, piece },
                    None => Place {
                        next: seq + 1,
                        piece: 0,
                    },
                };
                return Some((line, after));
            }
        }
        Some((
            line,
            Place {
                next: END,
                piece: 0,
            },
        ))
    }

    /// Write one `353` line for connection `me` with the names of members in the room since
    /// at most entry `upto`, from slot `from` on; return the slot to go on from, and whether
    /// it found any. `me` is listed whenever it is in the room: each of its listings follows
    /// a `JOIN` of its own, and clients look for themselves in the names, even when they left
    /// and came back before this listing was written.
    fn names_line(
        &self,
        line: &mut BurstLine,
        ctx: &IrcCtx<'_>,
        me: usize,
        from: u64,
        upto: u64,
    ) -> (u64, bool) {
        let fixed = Message::new(numeric::RPL_NAMREPLY)
            .with_source(Source::server(ctx.server))
            .with_param(ctx.nick)
            .with_param("=")
            .with_param(ctx.channel);
        let budget = fixed.text_budget().unwrap_or(0);
        let mut names: heapless::String<BURST_BUF> = heapless::String::new();
        let from = usize::try_from(from).unwrap_or(usize::MAX);
        let mut next = self.slots.len();
        for (j, s) in self.slots.iter().enumerate().skip(from) {
            if !(s.in_room && s.phase == Phase::Joined && (s.entered <= upto || j == me)) {
                continue;
            }
            let Some(n) = &s.name else { continue };
            let extra = n.as_str().len() + usize::from(!names.is_empty());
            if names.len() + extra > budget {
                next = j;
                break;
            }
            if !names.is_empty() {
                let _ = names.push(' ');
            }
            let _ = names.push_str(n.as_str());
        }
        if names.is_empty() {
            return (END, false);
        }
        let ok = fixed.with_trailing(&names).emit(line).is_ok();
        (u64::try_from(next).unwrap_or(END), ok)
    }
}

/// Make `s`'s active listing `listing`, with snapshot `upto`, from its start.
fn start(s: &mut Slot, listing: Listing, upto: u64) {
    let b = &mut s.burst;
    b.active = Some(listing);
    b.waiting = b.waiting.saturating_sub(1);
    b.done = false;
    b.piece = 0;
    b.upto = upto;
    b.next = match listing {
        Listing::Names | Listing::Who => 0,
        Listing::History => upto.saturating_sub(HISTORY_LEN as u64),
    };
}

/// Write the `352` line of member `s`: `#chat ~user irc server nick H :0 nick`.
fn who_line(line: &mut BurstLine, ctx: &IrcCtx<'_>, s: &Slot) -> Result<(), crate::irc::EmitError> {
    let nick = s.name.as_ref().map_or("*", |n| n.as_str());
    let (user, host) = match s.dialect {
        Dialect::Native => (NATIVE_USER, NATIVE_HOST),
        Dialect::Irc => (s.irc.user.as_str(), IRC_HOST),
    };
    let mut real: heapless::String<48> = heapless::String::new();
    let _ = write!(real, "0 {nick}");
    let params = [ctx.channel, user, host, ctx.server, nick, "H"];
    irc_render::numeric(line, ctx, numeric::RPL_WHOREPLY, &params, Some(&real))
}

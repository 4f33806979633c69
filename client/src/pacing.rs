//! Lines on their way to the server: cleaned, cut to the server's limit, and sent no faster
//! than its default flood limit allows.
//!
//! Script mode sends every input line through an [`Outbox`], and so does interactive mode,
//! so that a long paste goes out as separate messages without chatc being warned or
//! disconnected for flooding. The pace is the core's default [`FloodLimit`] with half the
//! burst kept in reserve for what the user types meanwhile.

use std::collections::VecDeque;
use std::time::Duration;

use chat_core::commands::Command;
use chat_core::config::MAX_LINE;
use chat_core::flood::{Bucket, FloodLimit, Verdict};
use chat_core::Instant;

use crate::clock;
use crate::sanitize::clean;

/// Return the lines to send for one line of input: cleaned, and cut into pieces the server
/// accepts; nothing for a blank line.
pub fn outgoing(input: &str) -> Vec<String> {
    let text = clean(input);
    if matches!(Command::parse(&text), Command::Empty) {
        return Vec::new();
    }
    let mut pieces = Vec::new();
    let mut piece = String::new();
    for c in text.chars() {
        if piece.len() + c.len_utf8() > MAX_LINE - 1 {
            pieces.push(std::mem::take(&mut piece));
        }
        piece.push(c);
    }
    pieces.push(piece);
    pieces
}

/// Return the pace chatc keeps: the default limit with half the burst in reserve.
pub fn pace() -> FloodLimit {
    let d = FloodLimit::default();
    FloodLimit {
        burst: (d.burst / 2).max(1),
        per_sec: d.per_sec.max(1),
    }
}

/// Lines waiting to be sent, and the token bucket that paces them.
#[derive(Debug)]
pub struct Outbox {
    queue: VecDeque<String>,
    limit: FloodLimit,
    bucket: Bucket,
}

impl Default for Outbox {
    fn default() -> Self {
        let limit = pace();
        Outbox {
            queue: VecDeque::new(),
            limit,
            bucket: Bucket::new(&limit, clock::pace_now()),
        }
    }
}

impl Outbox {
    /// Queue a line (already cleaned and cut, see [`outgoing`]).
    pub fn push(&mut self, line: String) {
        self.queue.push_back(line);
    }

    /// Return how many lines wait.
    pub fn len(&self) -> usize {
        self.queue.len()
    }

    /// Return true if nothing waits.
    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }

    /// Take the next line if the pace allows sending it now.
    pub fn pop_ready(&mut self) -> Option<String> {
        self.pop_ready_at(clock::pace_now())
    }

    /// Take the next line if the pace allows sending it at `now`.
    fn pop_ready_at(&mut self, now: Instant) -> Option<String> {
        self.queue.front()?;
        let mut trial = self.bucket;
        if trial.take(&self.limit, now) != Verdict::Pass {
            return None;
        }
        self.bucket = trial;
        self.queue.pop_front()
    }

    /// Put back a line [`Outbox::pop_ready`] gave that could not be sent after all.
    pub fn unpop(&mut self, line: String) {
        self.queue.push_front(line);
    }

    /// Return how long to wait before trying [`Outbox::pop_ready`] again, if lines wait.
    pub fn wait(&self) -> Option<Duration> {
        (!self.queue.is_empty())
            .then(|| Duration::from_millis(1000 / u64::from(self.limit.per_sec.max(1))))
    }

    /// Drop every waiting line; return how many there were.
    pub fn clear(&mut self) -> usize {
        let n = self.queue.len();
        self.queue.clear();
        n
    }
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn lines_are_cleaned_and_blank_ones_dropped() {
        assert_eq!(outgoing("build done"), ["build done"]);
        assert_eq!(outgoing("\x1b[32mok\x1b[0m\ttests"), ["ok tests"]);
        assert_eq!(outgoing("   "), Vec::<String>::new());
        assert_eq!(outgoing("\x1b[0m"), Vec::<String>::new());
        assert_eq!(
            outgoing("/me deploys"),
            ["/me deploys"],
            "commands pass through"
        );
        assert_eq!(outgoing("@sair"), ["@sair"]);
    }

    #[test]
    fn long_lines_are_cut_at_character_boundaries() {
        let long = "é".repeat(1000);
        let pieces = outgoing(&long);
        assert_eq!(pieces.len(), 2);
        assert!(pieces.iter().all(|p| p.len() < MAX_LINE));
        assert_eq!(pieces.concat(), long);
    }

    #[test]
    fn the_pace_stays_under_the_server_limit() {
        let (p, d) = (pace(), FloodLimit::default());
        assert!(p.burst < d.burst && p.per_sec <= d.per_sec);
    }

    #[test]
    fn a_burst_goes_at_once_and_the_rest_waits() {
        let start = clock::pace_now();
        let mut out = Outbox::default();
        out.bucket = Bucket::new(&out.limit, start);
        let n = pace().burst as usize + 5;
        for i in 0..n {
            out.push(format!("line {i}"));
        }
        let sent: Vec<String> = std::iter::from_fn(|| out.pop_ready_at(start)).collect();
        assert_eq!(sent.len(), pace().burst as usize, "one burst at once");
        assert_eq!(sent[0], "line 0", "in order");
        assert_eq!(out.len(), 5);
        let later = start + Duration::from_millis(1000 / u64::from(pace().per_sec));
        assert_eq!(
            out.pop_ready_at(later),
            Some(format!("line {}", pace().burst))
        );
        assert_eq!(out.pop_ready_at(later), None);
        assert!(out.wait().is_some_and(|w| w <= Duration::from_secs(1)));
        out.unpop("again".into());
        assert_eq!(out.clear(), 5);
        assert!(out.is_empty() && out.wait().is_none());
    }
}

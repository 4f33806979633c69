//! Remembering the last public messages shown, so that the history the server replays after
//! a reconnection does not show them twice.

use std::collections::VecDeque;

use chat_core::config::HISTORY_LEN;
use chat_core::names::same_name;
use chat_core::Timestamp;

/// How far apart (seconds) two stamps of the same message may be: a message the user sent is
/// stamped by chatc's clock when shown and by the server's in the replay.
const SLACK_SECS: u64 = 5;

/// The last public messages shown: time, sender and text.
#[derive(Debug, Default)]
pub struct Seen {
    recent: VecDeque<(Timestamp, String, String)>,
}

impl Seen {
    /// Remember a public message that was shown.
    pub fn note(&mut self, time: Timestamp, name: &str, text: &str) {
        if self.recent.len() >= 2 * HISTORY_LEN {
            self.recent.pop_front();
        }
        self.recent
            .push_back((time, name.to_string(), text.to_string()));
    }

    /// Return true if this replayed message was already shown.
    pub fn contains(&self, time: Timestamp, name: &str, text: &str) -> bool {
        self.recent
            .iter()
            .any(|(t, n, x)| t.0.abs_diff(time.0) <= SLACK_SECS && same_name(n, name) && x == text)
    }
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn finds_what_was_shown_and_forgets_the_oldest() {
        let mut s = Seen::default();
        s.note(Timestamp(100), "Ana", "oi");
        assert!(s.contains(Timestamp(100), "ana", "oi"));
        assert!(
            s.contains(Timestamp(103), "Ana", "oi"),
            "own message, server clock"
        );
        assert!(!s.contains(Timestamp(200), "Ana", "oi"), "same words later");
        assert!(!s.contains(Timestamp(100), "Bia", "oi"));
        assert!(!s.contains(Timestamp(100), "Ana", "oi!"));
        for i in 0..2 * HISTORY_LEN as u64 {
            s.note(Timestamp(1000 + i), "Bia", "x");
        }
        assert!(!s.contains(Timestamp(100), "Ana", "oi"));
    }
}

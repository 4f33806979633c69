//! Recalling lines typed before: Up and Down step through them, Ctrl-R searches back.
//!
//! The lines live in memory only, for as long as chatc runs: what people type into a chat
//! includes private messages, which should not end up in a file nobody remembers. Stepping up
//! keeps the line being typed as a draft, and stepping down past the newest line brings it back.

use std::collections::VecDeque;

/// Lines kept.
const KEEP: usize = 500;

/// The lines typed, oldest first, and where Up/Down stand.
#[derive(Debug, Default)]
pub struct Recall {
    lines: VecDeque<String>,
    /// The line shown by Up/Down (an index into `lines`), if any.
    at: Option<usize>,
    /// What was typed before the first Up.
    draft: String,
}

impl Recall {
    /// Remember a line that was entered (not a repeat of the one before, not a blank one).
    pub fn push(&mut self, line: &str) {
        self.at = None;
        if line.trim().is_empty() || self.lines.back().is_some_and(|l| l == line) {
            return;
        }
        if self.lines.len() == KEEP {
            self.lines.pop_front();
        }
        self.lines.push_back(line.to_string());
    }

    /// Step to an older line; `current` is what the editor holds. `None` at the oldest.
    pub fn up(&mut self, current: &str) -> Option<&str> {
        let next = match self.at {
            None => {
                self.draft = current.to_string();
                self.lines.len().checked_sub(1)?
            }
            Some(i) => i.checked_sub(1)?,
        };
        self.at = Some(next);
        self.lines.get(next).map(String::as_str)
    }

    /// Step to a newer line, or back to the draft; `None` when not stepping through lines.
    pub fn down(&mut self) -> Option<&str> {
        let i = self.at?;
        if i + 1 < self.lines.len() {
            self.at = Some(i + 1);
            return self.lines.get(i + 1).map(String::as_str);
        }
        self.at = None;
        Some(&self.draft)
    }

    /// Return the newest line older than index `before` (all lines if `None`) containing
    /// `query`, with its index.
    pub fn search(&self, query: &str, before: Option<usize>) -> Option<(usize, &str)> {
        let end = before.unwrap_or(self.lines.len()).min(self.lines.len());
        (0..end)
            .rev()
            .map(|i| (i, self.lines[i].as_str()))
            .find(|(_, l)| l.contains(query))
    }
}

/// A Ctrl-R search in progress.
#[derive(Debug, Default)]
pub struct Search {
    /// What was typed to search for.
    pub query: String,
    /// The match shown (index and text), if any.
    pub found: Option<(usize, String)>,
    /// The line being typed when the search began, put back if it is cancelled.
    pub original: String,
}

impl Search {
    /// Start searching; `original` is the line being typed.
    pub fn new(original: String) -> Search {
        Search {
            original,
            ..Search::default()
        }
    }

    /// Look for the query again, from the newest line (after the query changed).
    pub fn refresh(&mut self, recall: &Recall) {
        self.found = recall
            .search(&self.query, None)
            .map(|(i, l)| (i, l.to_string()));
    }

    /// Look for an older match (Ctrl-R again); keep the current one if there is none.
    pub fn older(&mut self, recall: &Recall) {
        let before = self.found.as_ref().map(|(i, _)| *i);
        if let Some((i, l)) = recall.search(&self.query, before) {
            self.found = Some((i, l.to_string()));
        }
    }
}

#[cfg(test)]
mod test {
    use super::*;

    fn recall(lines: &[&str]) -> Recall {
        let mut r = Recall::default();
        for l in lines {
            r.push(l);
        }
        r
    }

    #[test]
    fn up_and_down_step_through_and_bring_the_draft_back() {
        let mut r = recall(&["one", "two", "two", "", "three"]);
        assert_eq!(r.up("half"), Some("three"));
        assert_eq!(r.up("three"), Some("two"), "repeats are kept once");
        assert_eq!(r.up("two"), Some("one"));
        assert_eq!(r.up("one"), None, "nothing older");
        assert_eq!(r.down(), Some("two"));
        assert_eq!(r.down(), Some("three"));
        assert_eq!(r.down(), Some("half"), "the draft comes back");
        assert_eq!(r.down(), None);
        assert_eq!(Recall::default().up("x"), None);
    }

    #[test]
    fn only_the_newest_lines_are_kept() {
        let mut r = Recall::default();
        for i in 0..KEEP + 10 {
            r.push(&format!("line {i}"));
        }
        assert_eq!(r.lines.len(), KEEP);
        assert_eq!(r.search("line 50", None).map(|x| x.1), Some("line 509"));
        assert_eq!(r.search("line 5", Some(0)), None);
        assert_eq!(r.search("line 0", None), None, "the oldest lines are gone");
        assert_eq!(r.lines[0], "line 10", "the oldest kept");
    }

    #[test]
    fn search_goes_back_through_matches() {
        let r = recall(&["oi ana", "deploy done", "oi bruno", "tchau"]);
        let mut s = Search::new("typed".into());
        s.query.push_str("oi");
        s.refresh(&r);
        assert_eq!(s.found.as_ref().map(|f| f.1.as_str()), Some("oi bruno"));
        s.older(&r);
        assert_eq!(s.found.as_ref().map(|f| f.1.as_str()), Some("oi ana"));
        s.older(&r);
        assert_eq!(
            s.found.as_ref().map(|f| f.1.as_str()),
            Some("oi ana"),
            "the oldest match stays"
        );
        s.query.push('x');
        s.refresh(&r);
        assert_eq!(s.found, None);
        assert_eq!(s.original, "typed");
    }
}

//! The lines a child process writes to a pipe, read by a thread and waited for with a bound.

use std::io::{BufRead, BufReader, Read};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread;
use std::time::Instant;

use crate::WAIT;

/// Every line read from one pipe so far, and whether the writer has closed it.
#[derive(Default)]
struct Seen {
    lines: Vec<String>,
    closed: bool,
}

#[derive(Default)]
struct Shared {
    seen: Mutex<Seen>,
    grown: Condvar,
}

/// The lines of a child's stdout or stderr, collected by a thread as they come.
///
/// [`Lines::expect`] consumes: each call looks only past the line the last one matched. The
/// crate's own [`Chatd::wait_log`](crate::Chatd::wait_log) searches from the start instead.
pub struct Lines {
    shared: Arc<Shared>,
    /// Lines before this index were matched or passed over by [`Lines::expect`].
    next: usize,
}

impl Lines {
    /// Start a thread that reads `r` (a child's stdout or stderr) line by line until end of
    /// stream.
    pub fn spawn(r: impl Read + Send + 'static) -> Lines {
        let shared = Arc::new(Shared::default());
        let writer = Arc::clone(&shared);
        thread::spawn(move || {
            let mut r = BufReader::new(r);
            let mut buf = Vec::new();
            // Ends at end of stream, i.e. when the child and everything it forked are gone.
            while r.read_until(b'\n', &mut buf).is_ok_and(|n| n > 0) {
                if buf.last() == Some(&b'\n') {
                    buf.pop();
                    if buf.last() == Some(&b'\r') {
                        buf.pop();
                    }
                }
                let line = String::from_utf8_lossy(&buf).into_owned();
                lock(&writer).lines.push(line);
                writer.grown.notify_all();
                buf.clear();
            }
            lock(&writer).closed = true;
            writer.grown.notify_all();
        });
        Lines { shared, next: 0 }
    }

    /// Wait for the next line containing `needle` (lines before it are passed over) and return
    /// it; panic with everything seen if none comes within [`WAIT`] or the pipe closes.
    pub fn expect(&mut self, needle: &str) -> String {
        let from = self.next;
        let found = self.wait(|seen| {
            let i = seen.lines[from..].iter().position(|l| l.contains(needle))?;
            Some((from + i, seen.lines[from + i].clone()))
        });
        match found {
            Ok((i, line)) => {
                self.next = i + 1;
                line
            }
            Err(seen) => panic!("no line with {needle:?}; saw {seen:#?}"),
        }
    }

    /// Wait (at most [`WAIT`]) for the writer to close the pipe; return every line it wrote.
    pub fn drain(&mut self) -> Vec<String> {
        match self.wait(|seen| seen.closed.then(|| seen.lines.clone())) {
            Ok(lines) | Err(lines) => lines,
        }
    }

    /// Wait for any line so far or to come that contains `needle`, and return it; panic with
    /// everything seen if none comes within [`WAIT`] or the pipe closes.
    pub(crate) fn find(&self, needle: &str, what: &str) -> String {
        match self.wait(|seen| seen.lines.iter().find(|l| l.contains(needle)).cloned()) {
            Ok(line) => line,
            Err(seen) => panic!("{what} never wrote a line with {needle:?}; it wrote {seen:#?}"),
        }
    }

    /// Wait (at most [`WAIT`]) for the writer to close the pipe; return whether it did.
    pub(crate) fn wait_closed(&self) -> bool {
        self.wait(|seen| seen.closed.then_some(())).is_ok()
    }

    /// Return every line so far, each ended by `\n`.
    pub(crate) fn text(&self) -> String {
        lock(&self.shared)
            .lines
            .iter()
            .map(|l| format!("{l}\n"))
            .collect()
    }

    /// Wait until `found` returns something, the pipe closes, or [`WAIT`] passes. On failure,
    /// return the lines seen.
    fn wait<T>(&self, mut found: impl FnMut(&Seen) -> Option<T>) -> Result<T, Vec<String>> {
        let end = Instant::now() + WAIT;
        let mut seen = lock(&self.shared);
        loop {
            if let Some(t) = found(&seen) {
                return Ok(t);
            }
            let left = end.saturating_duration_since(Instant::now());
            if seen.closed || left.is_zero() {
                return Err(seen.lines.clone());
            }
            seen = match self.shared.grown.wait_timeout(seen, left) {
                Ok((guard, _)) => guard,
                Err(poisoned) => poisoned.into_inner().0,
            };
        }
    }
}

/// Lock the shared lines; a panic elsewhere while holding the lock leaves them still readable.
fn lock(shared: &Shared) -> MutexGuard<'_, Seen> {
    shared.seen.lock().unwrap_or_else(|p| p.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expect_consumes_and_drain_returns_everything() {
        let mut l = Lines::spawn(&b"one\r\ntwo\nthree a\nthree b"[..]);
        assert_eq!(l.expect("three"), "three a");
        assert_eq!(l.expect("three"), "three b");
        assert_eq!(l.find("two", "the input"), "two");
        assert_eq!(l.drain(), ["one", "two", "three a", "three b"]);
        assert!(l.wait_closed());
        assert_eq!(l.text(), "one\ntwo\nthree a\nthree b\n");
    }

    #[test]
    #[should_panic(expected = "no line with \"four\"")]
    fn expect_fails_when_the_writer_closes_without_it() {
        Lines::spawn(&b"one\n"[..]).expect("four");
    }
}

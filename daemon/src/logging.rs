//! Where log lines go — standard error (the journal under systemd) or syslog — without ever
//! blocking the daemon's one thread.
//!
//! The core and the daemon log through the `log` crate with target `chatd`, in a `key=value`
//! format, and never log what people say. This logger adds two guarantees:
//! - a stalled sink never blocks the loop: [`sink`] writes without blocking, keeps a little
//!   in a fixed buffer, drops and counts the rest, and reports the count as `log-dropped`
//!   once the sink takes lines again (the event loop calls [`flush`] when [`wake_in`] says);
//! - a storm cannot flood the log: [`rate`] limits each kind of line (its first word), and
//!   reports what it held back as `log-suppressed`. Errors are never held back.

mod rate;
mod sink;

use std::fmt::Write as _;
use std::path::Path;
use std::sync::{Mutex, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use log::{Level, LevelFilter, Log, Metadata, Record};

pub use rate::LogRate;
use rate::{kind_of, Limiter};
use sink::Output;

/// How soon to retry a sink that was full.
const RETRY: Duration = Duration::from_millis(100);
/// Longest message kept; longer ones are cut.
const MESSAGE: usize = 2048;

/// The logger installed by [`init_stderr`] or [`init_syslog`].
static LOGGER: OnceLock<Logger> = OnceLock::new();

/// The installed logger: one sink and its limiter, behind a lock (only the daemon's thread
/// logs, so it is never contended).
#[derive(Debug)]
struct Logger {
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    out: Output,
    limiter: Limiter,
    /// Lines dropped because the sink was full or failing, not yet reported.
    dropped: u64,
}

impl State {
    /// Write a line now, or queue it, or count it as dropped.
    fn write(&mut self, level: Level, msg: &str) {
        self.report_dropped();
        if !self.out.emit(level, msg) {
            self.dropped += 1;
        }
    }

    /// Once the sink has room again, say how many lines it lost.
    fn report_dropped(&mut self) {
        let flushed = self.out.flush();
        self.dropped += self.out.take_lost();
        if self.dropped == 0 || !flushed {
            return;
        }
        let mut m: heapless::String<96> = heapless::String::new();
        let _ = write!(
            m,
            "log-dropped lines={} reason=\"the log sink was full or failing\"",
            self.dropped
        );
        if self.out.emit(Level::Warn, &m) {
            self.dropped = 0;
        }
    }

    /// Flush what waits and write the reports that are due.
    fn service(&mut self, now: Instant) {
        self.report_dropped();
        let State {
            out,
            limiter,
            dropped,
        } = self;
        limiter.take_reports(now, |kind, lines| {
            let mut m: heapless::String<128> = heapless::String::new();
            let _ = write!(m, "log-suppressed kind={kind} lines={lines}");
            if !out.emit(Level::Warn, &m) {
                *dropped += 1;
            }
        });
    }

    /// Return how soon [`State::service`] has work to do.
    fn wake_in(&self, now: Instant) -> Option<Duration> {
        let retry =
            (self.out.waiting() > 0 || (self.dropped > 0 && self.out.congested())).then_some(RETRY);
        let report = self
            .limiter
            .next_report()
            .map(|t| t.saturating_duration_since(now));
        match (retry, report) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

impl Logger {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Log for Logger {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.level() <= log::max_level()
    }

    fn log(&self, record: &Record<'_>) {
        if !self.enabled(record.metadata()) {
            return;
        }
        // Formatted on the stack; a message longer than MESSAGE loses its end.
        let mut msg: heapless::String<MESSAGE> = heapless::String::new();
        let _ = write!(msg, "{}", record.args());
        let now = Instant::now();
        let mut st = self.state();
        if record.level() > Level::Error && !st.limiter.allow(kind_of(&msg), now) {
            return;
        }
        st.write(record.level(), &msg);
    }

    fn flush(&self) {
        self.state().service(Instant::now());
    }
}

fn install(out: Output, level: LevelFilter, rate: Option<LogRate>) {
    let logger = LOGGER.get_or_init(|| Logger {
        state: Mutex::new(State {
            out,
            limiter: Limiter::new(rate),
            dropped: 0,
        }),
    });
    let _ = log::set_logger(logger);
    log::set_max_level(level);
}

/// Log to standard error at `level` and up, each kind of line limited to `rate`; later calls
/// only change the level.
pub fn init_stderr(level: LevelFilter, rate: Option<LogRate>) {
    install(Output::stderr(), level, rate);
}

/// Log to the syslog socket at `path` (facility daemon); on failure nothing is installed.
pub fn init_syslog(level: LevelFilter, rate: Option<LogRate>, path: &Path) -> std::io::Result<()> {
    let out = Output::syslog(path)?;
    install(out, level, rate);
    Ok(())
}

/// Return the prefix that gives a line written straight to standard error the priority of an
/// error in the journal (`<3>`), or nothing when standard error is not the journal.
pub fn stderr_error_prefix() -> &'static str {
    if sink::stderr_is_journal() {
        "<3>"
    } else {
        ""
    }
}

/// Write what waits for a stalled sink and the reports that are due (the event loop calls
/// this every turn; it never blocks).
pub fn flush() {
    if let Some(l) = LOGGER.get() {
        l.state().service(Instant::now());
    }
}

/// Return how soon [`flush`] has work to do, if it has any: the loop's longest sleep.
pub fn wake_in() -> Option<Duration> {
    LOGGER.get().and_then(|l| l.state().wake_in(Instant::now()))
}

//! Where log lines go: standard error (one `TIME LEVEL message` line each) or syslog.
//!
//! The core and the daemon log through the `log` crate with target `chatd`, in a `key=value`
//! format, and never log what people say.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;

use log::{Level, LevelFilter, Log, Metadata, Record};

use crate::clock;

/// A logger writing one line per record to standard error.
#[derive(Debug)]
struct StderrLogger;

impl Log for StderrLogger {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.level() <= log::max_level()
    }

    fn log(&self, record: &Record<'_>) {
        if !self.enabled(record.metadata()) {
            return;
        }
        // Built on the stack and written with one call, so lines never interleave.
        let mut line: heapless::String<2048> = heapless::String::new();
        let level = match record.level() {
            Level::Error => "ERROR",
            Level::Warn => "WARN",
            Level::Info => "INFO",
            Level::Debug => "DEBUG",
            Level::Trace => "TRACE",
        };
        let _ = write!(line, "{} {level} {}", clock::wall(), record.args());
        if line.len() >= line.capacity() {
            line.pop();
        }
        let _ = line.push('\n');
        let _ = std::io::stderr().lock().write_all(line.as_bytes());
    }

    fn flush(&self) {}
}

/// Log to standard error at `level` and up; later calls only change the level.
pub fn init_stderr(level: LevelFilter) {
    let _ = log::set_logger(&StderrLogger);
    log::set_max_level(level);
}

/// Log to the syslog socket at `path` (facility daemon); on failure nothing is installed.
pub fn init_syslog(level: LevelFilter, path: &Path) -> Result<(), syslog::Error> {
    let formatter = syslog::Formatter3164 {
        facility: syslog::Facility::LOG_DAEMON,
        hostname: None,
        process: "chatd".into(),
        pid: std::process::id(),
    };
    let logger = syslog::unix_custom(formatter, path)?;
    log::set_boxed_logger(Box::new(syslog::BasicLogger::new(logger)))
        .map_err(|e| syslog::Error::Initialization(Box::new(e)))?;
    log::set_max_level(level);
    Ok(())
}

//! CPU time and memory of a process, read from `/proc/PID/stat` and `/proc/PID/status`.

use std::fmt;
use std::fs;

/// Why a process's figures could not be read.
#[derive(Debug)]
pub enum ProcError {
    /// The file could not be read (no such process, or no permission).
    Read(String, std::io::Error),
    /// The file did not have the expected shape.
    Parse(String),
}

impl fmt::Display for ProcError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProcError::Read(path, e) => write!(f, "cannot read {path}: {e}"),
            ProcError::Parse(path) => write!(f, "unexpected contents in {path}"),
        }
    }
}

impl std::error::Error for ProcError {}

/// One reading of a process's counters.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct ProcSample {
    /// User CPU time, seconds (all threads).
    pub user_s: f64,
    /// System CPU time, seconds (all threads).
    pub system_s: f64,
    /// Peak resident set size, KiB (`VmHWM`).
    pub peak_rss_kib: u64,
    /// Current resident set size, KiB (`VmRSS`).
    pub rss_kib: u64,
    /// Private anonymous memory resident now, KiB (`RssAnon`): what the process itself
    /// costs, without the pages of its binary and libraries that other processes share.
    pub rss_anon_kib: u64,
    /// Number of threads.
    pub threads: u64,
    /// Nanoseconds on a CPU from `/proc/PID/schedstat`, when the process has one thread.
    pub run_ns: Option<u64>,
}

impl ProcSample {
    /// Return user + system CPU time, seconds (clock-tick resolution).
    pub fn cpu_s(&self) -> f64 {
        self.user_s + self.system_s
    }

    /// Return the CPU time used since `earlier`, seconds: from schedstat (nanosecond resolution)
    /// when both samples have it, else from the tick counts of `stat`.
    pub fn cpu_since(&self, earlier: &ProcSample) -> f64 {
        match (self.run_ns, earlier.run_ns) {
            (Some(b), Some(a)) if b >= a => (b - a) as f64 / 1e9,
            _ => self.cpu_s() - earlier.cpu_s(),
        }
    }
}

/// Return the kernel's clock ticks per second (`_SC_CLK_TCK`), 100 if it cannot be read.
fn ticks_per_second() -> f64 {
    match nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK) {
        Ok(Some(t)) if t > 0 => t as f64,
        _ => 100.0,
    }
}

/// Parse the user and system ticks out of the text of `/proc/PID/stat`.
pub fn parse_stat(text: &str) -> Option<(u64, u64)> {
    // The command name (field 2) is in parentheses and may contain spaces: start after the last ')'.
    let rest = &text[text.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace();
    // After ')', field 3 (state) is index 0; utime is field 14 (index 11), stime field 15.
    let utime = fields.nth(11)?.parse().ok()?;
    let stime = fields.next()?.parse().ok()?;
    Some((utime, stime))
}

/// Return the value in KiB (or count) of a `Key:   123 kB` line of `/proc/PID/status`.
pub fn parse_status_field(text: &str, key: &str) -> Option<u64> {
    text.lines().find_map(|line| {
        let value = line.strip_prefix(key)?.strip_prefix(':')?;
        value.split_whitespace().next()?.parse().ok()
    })
}

/// Read the counters of process `pid` (`None`: this process).
pub fn sample(pid: Option<u32>) -> Result<ProcSample, ProcError> {
    let dir = match pid {
        Some(p) => format!("/proc/{p}"),
        None => "/proc/self".to_string(),
    };
    let read = |name: &str| {
        let path = format!("{dir}/{name}");
        fs::read_to_string(&path).map_err(|e| ProcError::Read(path, e))
    };
    let stat = read("stat")?;
    let (utime, stime) =
        parse_stat(&stat).ok_or_else(|| ProcError::Parse(format!("{dir}/stat")))?;
    let status = read("status")?;
    let field = |key| parse_status_field(&status, key).unwrap_or(0);
    let tps = ticks_per_second();
    let threads = field("Threads");
    // schedstat covers the main thread only: use it only for single-threaded processes.
    let run_ns = if threads == 1 {
        read("schedstat")
            .ok()
            .and_then(|t| t.split_whitespace().next()?.parse().ok())
    } else {
        None
    };
    Ok(ProcSample {
        user_s: utime as f64 / tps,
        system_s: stime as f64 / tps,
        peak_rss_kib: field("VmHWM"),
        rss_kib: field("VmRSS"),
        rss_anon_kib: field("RssAnon"),
        threads,
        run_ns,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_with_spaces_in_the_name_parses() {
        let line = "1234 (my (odd) name) S 1 1234 1234 0 -1 4194560 100 0 0 0 \
                    57 31 0 0 20 0 1 0 12345 1000000 200 18446744073709551615";
        assert_eq!(parse_stat(line), Some((57, 31)));
        assert_eq!(parse_stat("garbage"), None);
    }

    #[test]
    fn status_fields_parse() {
        let text = "Name:\tchatd\nVmHWM:\t    1880 kB\nVmRSS:\t    1700 kB\nRssAnon:\t     320 kB\nThreads:\t1\n";
        assert_eq!(parse_status_field(text, "VmHWM"), Some(1880));
        assert_eq!(parse_status_field(text, "VmRSS"), Some(1700));
        assert_eq!(parse_status_field(text, "RssAnon"), Some(320));
        assert_eq!(parse_status_field(text, "Threads"), Some(1));
        assert_eq!(parse_status_field(text, "VmSwap"), None);
    }

    #[test]
    fn this_process_can_be_sampled() {
        let s = sample(None).expect("own /proc");
        assert!(s.peak_rss_kib >= s.rss_kib && s.rss_kib > 0);
        assert!(s.rss_anon_kib > 0 && s.rss_anon_kib <= s.rss_kib);
        assert!(s.threads >= 1);
    }
}

//! Where the bytes of log lines go, without ever blocking the daemon's one thread.
//!
//! A log sink can stall: a pipe nobody reads, a terminal on hold, a journal or syslog daemon
//! that is busy or stuck. So every write here is non-blocking, and what cannot be written at
//! once waits in a small fixed buffer ([`PENDING`] bytes) that the event loop flushes; what
//! does not fit there is dropped, and the caller counts it.
//!
//! Making standard error `O_NONBLOCK` would change the file description chatd shares with
//! whoever started it (a shell's terminal, a supervisor's pipe), so chatd does not. Instead:
//! - a socket (the journal's stream, see `$JOURNAL_STREAM`) is written with `MSG_DONTWAIT`;
//! - a pipe, FIFO or terminal is reopened through `/proc/self/fd/2`, which on Linux gives a
//!   new description of the same pipe or terminal that chatd alone makes non-blocking (where
//!   that fails, `poll` with no timeout decides whether one `PIPE_BUF` may be written);
//! - a regular file never stalls for long and is written as is;
//! - syslog gets datagrams from a socket of chatd's own, which is non-blocking.
//!
//! The line formats: `TIME LEVEL message` on standard error; `<N>message` when standard error
//! is the journal (sd-daemon(3): the journal stamps the time and takes `N` as the priority);
//! RFC 3164 from the `syslog` crate's formatter for syslog.

use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::{self, Stderr};
use std::os::fd::{AsFd as _, AsRawFd as _};
use std::os::unix::fs::OpenOptionsExt as _;
use std::os::unix::net::{UnixDatagram, UnixStream};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use log::Level;
use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::socket::{send, MsgFlags};
use nix::sys::stat::{fstat, FileStat, SFlag};
use syslog::{Formatter3164, LogFormat as _, Severity};

use crate::clock;

/// Bytes of log lines that may wait for a stalled sink before lines are dropped.
pub const PENDING: usize = 16 * 1024;
/// Longest line written, prefix included; longer lines are cut.
pub const LINE: usize = 2304;
/// Bytes a pipe takes in one piece when `poll` says it has room.
const PIPE_BUF: usize = 4096;
/// Least time between two attempts to reconnect to a syslog socket that failed.
const RECONNECT: Duration = Duration::from_secs(1);

/// How a line is laid out.
#[derive(Debug)]
enum Style {
    /// `TIME LEVEL message`.
    Plain,
    /// `<N>message` for the journal.
    Journal,
    /// RFC 3164, ending in NUL on a stream socket.
    Syslog(Box<Formatter3164>, bool),
}

/// A socket chatd writes its lines to.
#[derive(Debug)]
enum Socket {
    /// Standard error itself.
    Stderr(Stderr),
    /// A stream socket of chatd's own (syslog over a stream socket).
    Own(UnixStream),
}

/// Where the bytes go.
#[derive(Debug)]
enum Dest {
    /// A socket, written with `MSG_DONTWAIT`.
    Socket(Socket),
    /// A non-blocking description of standard error's pipe or terminal, chatd's alone.
    Reopened(File),
    /// Standard error, written only when `poll` says it has room.
    Polled(Stderr),
    /// Standard error, written as is (a regular file).
    Direct(Stderr),
    /// The syslog datagram socket.
    Datagram {
        sock: UnixDatagram,
        path: PathBuf,
        broken: bool,
        tried: Option<Instant>,
    },
}

/// What one write did.
enum Wrote {
    All,
    Part(usize),
    Blocked,
    Failed,
}

/// A log sink: a style, a destination and the bytes waiting for it.
#[derive(Debug)]
pub struct Output {
    style: Style,
    dest: Dest,
    pending: Vec<u8>,
    start: usize,
    congested: bool,
    /// Queued lines lost because the sink failed for good.
    lost: u64,
}

/// A fixed buffer that `write!` fills and silently cuts when full.
struct LineBuf<'a> {
    buf: &'a mut [u8],
    len: usize,
}

impl io::Write for LineBuf<'_> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let n = data.len().min(self.buf.len() - self.len);
        self.buf[self.len..self.len + n].copy_from_slice(&data[..n]);
        self.len += n;
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl fmt::Write for LineBuf<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let _ = io::Write::write(self, s.as_bytes());
        Ok(())
    }
}

/// Return whether `$JOURNAL_STREAM` names the file standard error is (`st`).
fn is_journal(st: &FileStat) -> bool {
    let Some(v) = std::env::var_os("JOURNAL_STREAM") else {
        return false;
    };
    let Some((dev, ino)) = v.to_str().and_then(|v| v.split_once(':')) else {
        return false;
    };
    dev.parse().ok() == Some(st.st_dev) && ino.parse().ok() == Some(st.st_ino)
}

/// Return whether standard error is the journal (`$JOURNAL_STREAM` names it).
pub fn stderr_is_journal() -> bool {
    fstat(std::io::stderr()).is_ok_and(|st| is_journal(&st))
}

/// Open a description of standard error's pipe or terminal of our own, non-blocking.
fn reopen_stderr(st: &FileStat) -> Option<File> {
    let f = OpenOptions::new()
        .write(true)
        .custom_flags((OFlag::O_NONBLOCK | OFlag::O_NOCTTY).bits())
        .open("/proc/self/fd/2")
        .ok()?;
    let mine = fstat(&f).ok()?;
    (mine.st_dev == st.st_dev && mine.st_ino == st.st_ino).then_some(f)
}

/// Map the result of a write or send.
fn wrote(r: nix::Result<usize>, len: usize) -> Option<Wrote> {
    match r {
        Ok(n) if n >= len => Some(Wrote::All),
        Ok(n) => Some(Wrote::Part(n)),
        Err(Errno::EINTR) => None,
        Err(Errno::EAGAIN) => Some(Wrote::Blocked),
        Err(_) => Some(Wrote::Failed),
    }
}

impl Dest {
    fn write(&mut self, bytes: &[u8]) -> Wrote {
        let flags = MsgFlags::MSG_DONTWAIT | MsgFlags::MSG_NOSIGNAL;
        loop {
            let r = match self {
                Dest::Socket(Socket::Stderr(e)) => send(e.as_raw_fd(), bytes, flags),
                Dest::Socket(Socket::Own(s)) => send(s.as_raw_fd(), bytes, flags),
                Dest::Reopened(f) => nix::unistd::write(&*f, bytes),
                Dest::Direct(e) => nix::unistd::write(&*e, bytes),
                Dest::Polled(e) => {
                    let mut fds = [PollFd::new(e.as_fd(), PollFlags::POLLOUT)];
                    let gone = PollFlags::POLLERR | PollFlags::POLLHUP | PollFlags::POLLNVAL;
                    match poll(&mut fds, PollTimeout::ZERO).map(|_| fds[0].revents()) {
                        // The reader is gone: a write would only fail.
                        Ok(Some(r)) if r.intersects(gone) => Err(Errno::EPIPE),
                        Ok(Some(r)) if r.contains(PollFlags::POLLOUT) => {
                            nix::unistd::write(&*e, &bytes[..bytes.len().min(PIPE_BUF)])
                        }
                        Err(Errno::EINTR) => continue,
                        _ => Err(Errno::EAGAIN),
                    }
                }
                Dest::Datagram {
                    sock,
                    path,
                    broken,
                    tried,
                } => {
                    if *broken {
                        let now = Instant::now();
                        if tried.is_some_and(|t| now.saturating_duration_since(t) < RECONNECT) {
                            return Wrote::Failed;
                        }
                        *tried = Some(now);
                        if sock.connect(&*path).is_err() {
                            return Wrote::Failed;
                        }
                        *broken = false;
                    }
                    match send(sock.as_raw_fd(), bytes, flags) {
                        Err(Errno::EINTR) => continue,
                        Err(Errno::EAGAIN) => return Wrote::Blocked,
                        Err(_) => {
                            *broken = true;
                            return Wrote::Failed;
                        }
                        // A datagram goes whole or not at all.
                        Ok(_) => return Wrote::All,
                    }
                }
            };
            if let Some(w) = wrote(r, bytes.len()) {
                return w;
            }
        }
    }
}

impl Output {
    fn new(style: Style, dest: Dest) -> Output {
        Output {
            style,
            dest,
            pending: Vec::with_capacity(PENDING),
            start: 0,
            congested: false,
            lost: 0,
        }
    }

    /// Standard error, laid out for the journal when `$JOURNAL_STREAM` says it is the journal.
    pub fn stderr() -> Output {
        let err = std::io::stderr();
        let Ok(st) = fstat(&err) else {
            return Output::new(Style::Plain, Dest::Direct(err));
        };
        let style = if is_journal(&st) {
            Style::Journal
        } else {
            Style::Plain
        };
        let kind = SFlag::from_bits_truncate(st.st_mode & SFlag::S_IFMT.bits());
        let dest = if kind == SFlag::S_IFSOCK {
            Dest::Socket(Socket::Stderr(err))
        } else if kind == SFlag::S_IFIFO || kind == SFlag::S_IFCHR {
            reopen_stderr(&st).map_or(Dest::Polled(err), Dest::Reopened)
        } else {
            Dest::Direct(err)
        };
        Output::new(style, dest)
    }

    /// The syslog socket at `path` (a datagram socket, or a stream socket as some loggers
    /// have), with facility daemon and the tag `chatd`.
    pub fn syslog(path: &Path) -> io::Result<Output> {
        let formatter = Box::new(Formatter3164 {
            facility: syslog::Facility::LOG_DAEMON,
            hostname: None,
            process: "chatd".into(),
            pid: std::process::id(),
        });
        let sock = UnixDatagram::unbound()?;
        match sock.connect(path) {
            Ok(()) => {
                sock.set_nonblocking(true)?;
                let dest = Dest::Datagram {
                    sock,
                    path: path.to_path_buf(),
                    broken: false,
                    tried: None,
                };
                Ok(Output::new(Style::Syslog(formatter, false), dest))
            }
            Err(e) if e.raw_os_error() == Some(Errno::EPROTOTYPE as i32) => {
                let stream = UnixStream::connect(path)?;
                stream.set_nonblocking(true)?;
                let dest = Dest::Socket(Socket::Own(stream));
                Ok(Output::new(Style::Syslog(formatter, true), dest))
            }
            Err(e) => Err(e),
        }
    }

    /// Lay out `msg` at `level` as a line into `buf`; return its length.
    fn render(&self, level: Level, msg: &str, buf: &mut [u8; LINE]) -> usize {
        // The last byte is kept for the line's end, so a cut line still ends.
        let mut w = LineBuf {
            buf: &mut buf[..LINE - 1],
            len: 0,
        };
        let end = match &self.style {
            Style::Plain => {
                let name = match level {
                    Level::Error => "ERROR",
                    Level::Warn => "WARN",
                    Level::Info => "INFO",
                    Level::Debug => "DEBUG",
                    Level::Trace => "TRACE",
                };
                let _ =
                    fmt::Write::write_fmt(&mut w, format_args!("{} {name} {msg}", clock::wall()));
                Some(b'\n')
            }
            Style::Journal => {
                let _ = fmt::Write::write_fmt(
                    &mut w,
                    format_args!("<{}>{msg}", journal_priority(level)),
                );
                Some(b'\n')
            }
            Style::Syslog(f, stream) => {
                let _ = f.format(&mut w, severity(level), msg);
                stream.then_some(0)
            }
        };
        let len = w.len;
        match end {
            Some(b) => {
                buf[len] = b;
                len + 1
            }
            None => len,
        }
    }

    /// Write `msg` at `level` now, or queue it; return `false` if it had to be dropped.
    pub fn emit(&mut self, level: Level, msg: &str) -> bool {
        let mut buf = [0u8; LINE];
        let len = self.render(level, msg, &mut buf);
        self.deliver(&buf[..len])
    }

    fn deliver(&mut self, bytes: &[u8]) -> bool {
        if let Dest::Datagram { .. } = self.dest {
            return match self.dest.write(bytes) {
                Wrote::All | Wrote::Part(_) => {
                    self.congested = false;
                    true
                }
                Wrote::Blocked => {
                    self.congested = true;
                    false
                }
                Wrote::Failed => false,
            };
        }
        if !self.flush() {
            return self.queue(bytes);
        }
        match self.dest.write(bytes) {
            Wrote::All => {
                self.congested = false;
                true
            }
            Wrote::Part(n) => self.queue(&bytes[n..]),
            Wrote::Blocked => self.queue(bytes),
            Wrote::Failed => false,
        }
    }

    /// Keep `bytes` to write later, if they fit.
    fn queue(&mut self, bytes: &[u8]) -> bool {
        self.congested = true;
        if self.pending.len() - self.start + bytes.len() > PENDING {
            return false;
        }
        if self.pending.len() + bytes.len() > PENDING {
            self.pending.drain(..self.start);
            self.start = 0;
        }
        self.pending.extend_from_slice(bytes);
        true
    }

    /// Write what waits; return whether nothing waits any more.
    pub fn flush(&mut self) -> bool {
        while self.start < self.pending.len() {
            match self.dest.write(&self.pending[self.start..]) {
                Wrote::All => {
                    self.pending.clear();
                    self.start = 0;
                }
                Wrote::Part(n) => self.start += n,
                Wrote::Blocked => {
                    self.congested = true;
                    return false;
                }
                Wrote::Failed => {
                    // A sink that fails for good takes nothing more; what waited is lost.
                    let waiting = &self.pending[self.start..];
                    let lines = waiting.iter().filter(|&&b| b == b'\n' || b == 0).count();
                    self.lost += u64::try_from(lines).unwrap_or(u64::MAX);
                    self.pending.clear();
                    self.start = 0;
                    return true;
                }
            }
        }
        self.congested = false;
        true
    }

    /// Return whether the sink was full at the last attempt (retrying later makes sense).
    pub fn congested(&self) -> bool {
        self.congested
    }

    /// Return how many queued lines were lost since the last call, and forget them.
    pub fn take_lost(&mut self) -> u64 {
        std::mem::take(&mut self.lost)
    }

    /// Return how many bytes wait.
    pub fn waiting(&self) -> usize {
        self.pending.len() - self.start
    }
}

/// The sd-daemon(3) priority of `level`.
fn journal_priority(level: Level) -> u8 {
    match level {
        Level::Error => 3,
        Level::Warn => 4,
        Level::Info => 6,
        Level::Debug | Level::Trace => 7,
    }
}

/// The syslog severity of `level`.
fn severity(level: Level) -> Severity {
    match level {
        Level::Error => Severity::LOG_ERR,
        Level::Warn => Severity::LOG_WARNING,
        Level::Info => Severity::LOG_INFO,
        Level::Debug | Level::Trace => Severity::LOG_DEBUG,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod test {
    use super::*;
    use std::io::Read as _;

    fn socket_output(style: Style) -> (Output, UnixStream) {
        let (a, b) = UnixStream::pair().unwrap();
        a.set_nonblocking(true).unwrap();
        (Output::new(style, Dest::Socket(Socket::Own(a))), b)
    }

    #[test]
    fn journal_lines_carry_the_priority_and_no_time() {
        let (mut out, mut peer) = socket_output(Style::Journal);
        assert!(out.emit(Level::Warn, "auth-failure peer=1.2.3.4:5 failures=1"));
        assert!(out.emit(Level::Info, "connect peer=1.2.3.4:5 conn=0"));
        let mut got = [0u8; 256];
        let n = peer.read(&mut got).unwrap();
        assert_eq!(
            &got[..n],
            b"<4>auth-failure peer=1.2.3.4:5 failures=1\n<6>connect peer=1.2.3.4:5 conn=0\n"
        );
    }

    #[test]
    fn a_stalled_socket_queues_then_drops_and_never_blocks() {
        let (mut out, mut peer) = socket_output(Style::Journal);
        let msg = "x".repeat(1000);
        let mut dropped = 0;
        // The socket buffer fills, then the pending buffer, then lines are dropped.
        for _ in 0..2000 {
            if !out.emit(Level::Info, &msg) {
                dropped += 1;
            }
        }
        assert!(dropped > 0);
        assert!(out.congested());
        assert!(out.waiting() > 0 && out.waiting() <= PENDING);
        // Once the reader drains, the queue goes out whole lines at a time.
        peer.set_nonblocking(true).unwrap();
        let mut sink = vec![0u8; 1 << 20];
        let mut total = 0;
        for _ in 0..1000 {
            while let Ok(n) = peer.read(&mut sink) {
                total += n;
            }
            if out.flush() {
                break;
            }
        }
        assert!(!out.congested());
        assert_eq!(out.waiting(), 0);
        while let Ok(n) = peer.read(&mut sink) {
            total += n;
        }
        assert_eq!(total % 1004, 0, "only whole lines were written");
    }

    #[test]
    fn lines_waiting_for_a_sink_that_dies_are_counted_as_lost() {
        let (mut out, peer) = socket_output(Style::Journal);
        let msg = "z".repeat(500);
        while out.waiting() == 0 {
            assert!(out.emit(Level::Info, &msg));
        }
        let waiting = out.waiting();
        drop(peer);
        assert!(out.flush(), "a dead sink has nothing left to wait for");
        let lost = out.take_lost();
        // Whole lines wait, except perhaps the tail of one cut by a partial write.
        assert!(lost >= 1 && lost <= (waiting / 504 + 1) as u64, "{lost}");
        assert_eq!(out.take_lost(), 0);
        assert!(!out.emit(Level::Info, "after"));
    }

    #[test]
    fn over_long_lines_are_cut_and_still_end_in_a_newline() {
        let (mut out, mut peer) = socket_output(Style::Journal);
        assert!(out.emit(Level::Error, &"y".repeat(5000)));
        let mut got = vec![0u8; 8192];
        let n = peer.read(&mut got).unwrap();
        assert_eq!(n, LINE);
        assert!(got[..n].starts_with(b"<3>yyy"));
        assert_eq!(got[n - 1], b'\n');
    }
}

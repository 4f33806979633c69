//! One client connection: a non-blocking TCP socket that the core writes through
//! [`chat_core::Transport`], plus the options set on it when it is accepted.

use std::io::{self, IoSlice, Read as _};
use std::net::TcpStream;
use std::os::fd::AsRawFd;

use chat_core::CloseReason;
use nix::errno::Errno;
use nix::sys::socket::{self, sockopt, MsgFlags};

/// Seconds of silence before keepalive probes start.
const KEEPALIVE_IDLE_S: u32 = 60;
/// Seconds between keepalive probes.
const KEEPALIVE_INTERVAL_S: u32 = 10;
/// Unanswered probes before the peer counts as gone (about 2 minutes in all).
const KEEPALIVE_PROBES: u32 = 6;

/// A client socket as the core sees it.
#[derive(Debug)]
pub struct Sock<'a>(pub &'a TcpStream);

impl chat_core::Transport for Sock<'_> {
    type Error = io::Error;

    fn write_vectored(&mut self, bufs: &[&[u8]]) -> nb::Result<usize, io::Error> {
        let mut iov: heapless::Vec<IoSlice<'_>, 16> = heapless::Vec::new();
        for b in bufs.iter().filter(|b| !b.is_empty()) {
            if iov.push(IoSlice::new(b)).is_err() {
                break;
            }
        }
        if iov.is_empty() {
            return Ok(0);
        }
        send_vectored(self.0, &iov)
    }
}

impl Sock<'_> {
    /// Read into `buf`, retrying on EINTR; `Ok(0)` means the peer closed its side.
    pub fn read(&mut self, buf: &mut [u8]) -> nb::Result<usize, io::Error> {
        loop {
            match (&mut &*self.0).read(buf) {
                Ok(n) => return Ok(n),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    return Err(nb::Error::WouldBlock)
                }
                Err(e) => return Err(nb::Error::Other(e)),
            }
        }
    }
}

/// Gather-write `iov` with `MSG_NOSIGNAL` (no SIGPIPE on a closed peer), retrying on EINTR.
pub fn send_vectored(s: &TcpStream, iov: &[IoSlice<'_>]) -> nb::Result<usize, io::Error> {
    let flags = MsgFlags::MSG_NOSIGNAL | MsgFlags::MSG_DONTWAIT;
    loop {
        match socket::sendmsg::<()>(s.as_raw_fd(), iov, &[], flags, None) {
            Ok(n) => return Ok(n),
            Err(Errno::EINTR) => continue,
            Err(Errno::EAGAIN) => return Err(nb::Error::WouldBlock),
            Err(e) => return Err(nb::Error::Other(io::Error::from(e))),
        }
    }
}

/// Prepare an accepted socket: non-blocking, `TCP_NODELAY`, keepalive.
pub fn configure(s: &TcpStream) -> io::Result<()> {
    s.set_nonblocking(true)?;
    s.set_nodelay(true)?;
    socket::setsockopt(s, sockopt::KeepAlive, &true)?;
    socket::setsockopt(s, sockopt::TcpKeepIdle, &KEEPALIVE_IDLE_S)?;
    socket::setsockopt(s, sockopt::TcpKeepInterval, &KEEPALIVE_INTERVAL_S)?;
    socket::setsockopt(s, sockopt::TcpKeepCount, &KEEPALIVE_PROBES)?;
    Ok(())
}

/// Return the close reason a transport error stands for.
pub fn close_reason(e: &io::Error) -> CloseReason {
    match e.raw_os_error().map(Errno::from_raw) {
        Some(Errno::ETIMEDOUT) => CloseReason::Timeout,
        Some(Errno::ECONNRESET | Errno::EPIPE | Errno::ECONNABORTED) => CloseReason::Reset,
        _ => match e.kind() {
            io::ErrorKind::ConnectionReset | io::ErrorKind::BrokenPipe => CloseReason::Reset,
            io::ErrorKind::TimedOut => CloseReason::Timeout,
            _ => CloseReason::Error,
        },
    }
}

/// Read and discard what the peer already sent (bounded), so that closing sends FIN, not RST,
/// and the peer gets to read our last line.
pub fn drain(s: &TcpStream) {
    let mut scratch = [0u8; 1024];
    for _ in 0..64 {
        match (&mut &*s).read(&mut scratch) {
            Ok(0) => return,
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return,
        }
    }
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn maps_errors_to_reasons() {
        let r = |e: Errno| close_reason(&io::Error::from(e));
        assert_eq!(r(Errno::ETIMEDOUT), CloseReason::Timeout);
        assert_eq!(r(Errno::ECONNRESET), CloseReason::Reset);
        assert_eq!(r(Errno::EPIPE), CloseReason::Reset);
        assert_eq!(r(Errno::EIO), CloseReason::Error);
    }
}

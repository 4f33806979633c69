//! Listening sockets: the default dual-stack pair, `--listen` addresses, and sockets passed by
//! systemd socket activation (`LISTEN_FDS`/`LISTEN_PID`, descriptors from 3).
//!
//! Each [`Listener`] knows whether it is a TLS listener. systemd says which kind a passed
//! socket is with its name in `LISTEN_FDNAMES` (`FileDescriptorName=`): `tls` is native TLS;
//! anything else (`native`, the unit's own name, none) is native plain text, as before names
//! existed. Sockets passed for a kind replace that kind's default addresses.

use std::fmt;
use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener};
use std::os::fd::{AsFd, FromRawFd, OwnedFd, RawFd};

use nix::fcntl::{fcntl, FcntlArg, FdFlag};
use nix::sys::socket::{
    self, sockopt, AddressFamily, Backlog, SockFlag, SockType, SockaddrStorage,
};

use crate::settings::{ListenOn, DEFAULT_PORT, DEFAULT_TLS_PORT};

/// The first descriptor systemd passes.
const SD_LISTEN_FDS_START: RawFd = 3;

/// Why a listening socket could not be made.
#[derive(Debug)]
pub struct BindError {
    /// The address (or a description of the passed socket).
    pub what: String,
    /// What the system said.
    pub source: io::Error,
}

impl fmt::Display for BindError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cannot listen on {}: {}", self.what, self.source)
    }
}

impl std::error::Error for BindError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

/// One listening socket and what it serves.
#[derive(Debug)]
pub struct Listener {
    /// The non-blocking socket.
    pub socket: TcpListener,
    /// Whether its connections speak TLS (wrapped before the core sees a byte).
    pub tls: bool,
}

/// The systemd socket name (`FileDescriptorName=`) of native TLS listeners.
pub const TLS_FDNAME: &str = "tls";

/// Listening sockets and notes for the log (written once logging is set up).
#[derive(Debug, Default)]
pub struct Bound {
    /// The listeners: native plain text first, then TLS.
    pub listeners: Vec<Listener>,
    /// Things worth logging, such as a missing IPv6 stack.
    pub notes: Vec<String>,
}

/// Bind one address: `SO_REUSEADDR`, `IPV6_V6ONLY` for IPv6, non-blocking, close-on-exec.
pub fn bind(addr: SocketAddr) -> Result<TcpListener, BindError> {
    bind_inner(addr).map_err(|source| BindError {
        what: addr.to_string(),
        source,
    })
}

fn bind_inner(addr: SocketAddr) -> io::Result<TcpListener> {
    let family = if addr.is_ipv6() {
        AddressFamily::Inet6
    } else {
        AddressFamily::Inet
    };
    let flags = SockFlag::SOCK_NONBLOCK | SockFlag::SOCK_CLOEXEC;
    let fd = socket::socket(family, SockType::Stream, flags, None)?;
    socket::setsockopt(&fd, sockopt::ReuseAddr, &true)?;
    if addr.is_ipv6() {
        socket::setsockopt(&fd, sockopt::Ipv6V6Only, &true)?;
    }
    socket::bind(fd.as_fd().as_fd_raw(), &SockaddrStorage::from(addr))?;
    socket::listen(&fd, Backlog::new(1024).unwrap_or(Backlog::MAXCONN))?;
    Ok(TcpListener::from(fd))
}

/// Helper to get a raw fd from a borrowed one without importing `AsRawFd` everywhere.
trait AsFdRaw {
    fn as_fd_raw(&self) -> RawFd;
}

impl AsFdRaw for std::os::fd::BorrowedFd<'_> {
    fn as_fd_raw(&self) -> RawFd {
        std::os::fd::AsRawFd::as_raw_fd(self)
    }
}

/// Bind what the settings ask for: the given addresses, or else (when systemd passed no
/// sockets of the kind) `[::]:PORT` plus `0.0.0.0:PORT`, IPv4 alone if IPv6 is unavailable;
/// plain text on 5000, TLS on 5001 unless `tls` is [`ListenOn::Off`].
pub fn bind_all(
    addrs: &[SocketAddr],
    tls: &ListenOn,
    socket_activation: bool,
) -> Result<Bound, BindError> {
    let mut bound = Bound::default();
    let passed = if socket_activation {
        take_systemd_sockets()?
    } else {
        Vec::new()
    };
    let (passed_tls, passed_plain): (Vec<Listener>, Vec<Listener>) =
        passed.into_iter().partition(|l| l.tls);
    let plain_passed = !passed_plain.is_empty();
    bound.listeners.extend(passed_plain);
    for &a in addrs {
        bound.listeners.push(Listener {
            socket: bind(a)?,
            tls: false,
        });
    }
    if addrs.is_empty() && !plain_passed {
        bind_default(DEFAULT_PORT, false, &mut bound)?;
    }
    let tls_passed = !passed_tls.is_empty();
    bound.listeners.extend(passed_tls);
    match tls {
        ListenOn::Off => {}
        ListenOn::Default if tls_passed => {}
        ListenOn::Default => bind_default(DEFAULT_TLS_PORT, true, &mut bound)?,
        ListenOn::Addrs(list) => {
            for &a in list {
                bound.listeners.push(Listener {
                    socket: bind(a)?,
                    tls: true,
                });
            }
        }
    }
    Ok(bound)
}

/// Bind `[::]:port` and `0.0.0.0:port`, noting (not failing) a host without IPv6.
fn bind_default(port: u16, tls: bool, bound: &mut Bound) -> Result<(), BindError> {
    let v6 = SocketAddr::from((Ipv6Addr::UNSPECIFIED, port));
    match bind(v6) {
        Ok(socket) => bound.listeners.push(Listener { socket, tls }),
        Err(e) if ipv6_unavailable(&e.source) => {
            bound.notes.push(format!(
                "ipv6-unavailable addr={v6} error=\"{}\"; listening on IPv4 only",
                e.source
            ));
        }
        Err(e) => return Err(e),
    }
    let socket = bind(SocketAddr::from((Ipv4Addr::UNSPECIFIED, port)))?;
    bound.listeners.push(Listener { socket, tls });
    Ok(())
}

/// Return whether a bind error means the host has no IPv6.
fn ipv6_unavailable(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc_codes::EAFNOSUPPORT | libc_codes::EADDRNOTAVAIL | libc_codes::EPROTONOSUPPORT)
    )
}

mod libc_codes {
    use nix::errno::Errno;
    pub const EAFNOSUPPORT: i32 = Errno::EAFNOSUPPORT as i32;
    pub const EADDRNOTAVAIL: i32 = Errno::EADDRNOTAVAIL as i32;
    pub const EPROTONOSUPPORT: i32 = Errno::EPROTONOSUPPORT as i32;
}

/// Take the listening sockets systemd passed, if `LISTEN_PID` names this process, each marked
/// TLS or not by its name in `LISTEN_FDNAMES`.
fn take_systemd_sockets() -> Result<Vec<Listener>, BindError> {
    let pid_ok = std::env::var("LISTEN_PID")
        .ok()
        .and_then(|p| p.trim().parse::<u32>().ok())
        .is_some_and(|p| p == std::process::id());
    let n = std::env::var("LISTEN_FDS")
        .ok()
        .and_then(|n| n.trim().parse::<i32>().ok())
        .unwrap_or(0);
    if !pid_ok || n <= 0 {
        return Ok(Vec::new());
    }
    let names = std::env::var("LISTEN_FDNAMES").unwrap_or_default();
    let mut names = names.split(':');
    let mut out = Vec::new();
    for fd in SD_LISTEN_FDS_START..SD_LISTEN_FDS_START.saturating_add(n.min(64)) {
        let tls = names.next() == Some(TLS_FDNAME);
        let what = format!("systemd socket fd {fd}");
        // SAFETY: under the socket activation protocol (LISTEN_PID is our pid), descriptors
        // 3..3+LISTEN_FDS were opened for us by systemd and nothing else in this process owns
        // them; each is taken exactly once, here, before any other file is opened.
        #[allow(unsafe_code)]
        let owned = unsafe { OwnedFd::from_raw_fd(fd) };
        let check = || -> io::Result<()> {
            if !socket::getsockopt(&owned, sockopt::AcceptConn)? {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "not a listening socket",
                ));
            }
            if socket::getsockopt(&owned, sockopt::SockType)? != SockType::Stream {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "not a stream socket",
                ));
            }
            fcntl(&owned, FcntlArg::F_SETFD(FdFlag::FD_CLOEXEC))?;
            Ok(())
        };
        check().map_err(|source| BindError {
            what: what.clone(),
            source,
        })?;
        let l = TcpListener::from(owned);
        l.set_nonblocking(true)
            .map_err(|source| BindError { what, source })?;
        out.push(Listener { socket: l, tls });
    }
    Ok(out)
}

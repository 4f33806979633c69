//! Listening sockets: for each kind (native and IRC, each in plain text and in TLS), the default
//! dual-stack pair or the addresses given, and sockets passed by systemd socket activation
//! (`LISTEN_FDS`/`LISTEN_PID`, descriptors from 3, their kind named in `LISTEN_FDNAMES`: `irc`
//! is IRC, `tls` native TLS, `irc-tls` IRC over TLS, any other name or none native plain
//! text). Passed sockets of a kind replace that kind's default addresses.

use std::fmt;
use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener};
use std::os::fd::{AsFd, FromRawFd, OwnedFd, RawFd};

use chat_core::Dialect;
use nix::fcntl::{fcntl, FcntlArg, FdFlag};
use nix::sys::socket::{
    self, sockopt, AddressFamily, Backlog, SockFlag, SockType, SockaddrStorage,
};

use crate::settings::{
    ListenAddrs, Settings, DEFAULT_IRC_PORT, DEFAULT_IRC_TLS_PORT, DEFAULT_PORT, DEFAULT_TLS_PORT,
};

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

/// One listening socket and what its clients speak.
#[derive(Debug)]
pub struct Listener {
    /// The non-blocking socket.
    pub socket: TcpListener,
    /// The protocol of the connections it accepts, passed to the core's `accept`.
    pub dialect: Dialect,
    /// Whether its connections are wrapped in TLS (before the core sees a byte).
    pub tls: bool,
}

impl Listener {
    /// Make a plain (non-TLS) listener of `dialect`.
    pub fn plain(socket: TcpListener, dialect: Dialect) -> Listener {
        Listener {
            socket,
            dialect,
            tls: false,
        }
    }
}

/// Listening sockets and notes for the log (written once logging is set up).
#[derive(Debug, Default)]
pub struct Bound {
    /// The listeners, systemd's first, then native ones, IRC ones, native TLS, IRC TLS.
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

/// Bind what the settings ask for. Native: the `--listen` addresses, or else (when systemd
/// passed no native socket) `[::]:5000` plus `0.0.0.0:5000`. IRC (`--irc-listen`, 6667), native
/// TLS (`--tls-listen`, 5001) and IRC TLS (`--irc-tls-listen`, 6697): the addresses given, none
/// if `off`, or else (when systemd passed no socket of the kind) the default pair on the kind's
/// port. A default pair is IPv4 alone if IPv6 is unavailable.
pub fn bind_all(settings: &Settings) -> Result<Bound, BindError> {
    let mut bound = Bound::default();
    if settings.socket_activation {
        bound.listeners = take_systemd_sockets()?;
    }
    let passed = |b: &Bound, d: Dialect, tls: bool| {
        b.listeners.iter().any(|l| l.dialect == d && l.tls == tls)
    };
    for &a in &settings.listen {
        bound
            .listeners
            .push(Listener::plain(bind(a)?, Dialect::Native));
    }
    if settings.listen.is_empty() && !passed(&bound, Dialect::Native, false) {
        bind_default(&mut bound, DEFAULT_PORT, Dialect::Native, false)?;
    }
    let kinds = [
        (&settings.irc_listen, Dialect::Irc, false, DEFAULT_IRC_PORT),
        (
            &settings.tls_listen,
            Dialect::Native,
            true,
            DEFAULT_TLS_PORT,
        ),
        (
            &settings.irc_tls_listen,
            Dialect::Irc,
            true,
            DEFAULT_IRC_TLS_PORT,
        ),
    ];
    for (addrs, dialect, tls, port) in kinds {
        match addrs {
            ListenAddrs::Off => {}
            ListenAddrs::At(addrs) => {
                for &a in addrs {
                    bound.listeners.push(Listener {
                        socket: bind(a)?,
                        dialect,
                        tls,
                    });
                }
            }
            ListenAddrs::Default if passed(&bound, dialect, tls) => {}
            ListenAddrs::Default => bind_default(&mut bound, port, dialect, tls)?,
        }
    }
    Ok(bound)
}

/// Bind `[::]:port` and `0.0.0.0:port` for `dialect` (over TLS or not), IPv4 alone if IPv6 is
/// unavailable.
fn bind_default(
    bound: &mut Bound,
    port: u16,
    dialect: Dialect,
    tls: bool,
) -> Result<(), BindError> {
    let v6 = SocketAddr::from((Ipv6Addr::UNSPECIFIED, port));
    match bind(v6) {
        Ok(socket) => bound.listeners.push(Listener {
            socket,
            dialect,
            tls,
        }),
        Err(e) if ipv6_unavailable(&e.source) => {
            bound.notes.push(format!(
                "ipv6-unavailable addr={v6} error=\"{}\"; listening on IPv4 only",
                e.source
            ));
        }
        Err(e) => return Err(e),
    }
    let socket = bind(SocketAddr::from((Ipv4Addr::UNSPECIFIED, port)))?;
    bound.listeners.push(Listener {
        socket,
        dialect,
        tls,
    });
    Ok(())
}

/// Return the kind of a socket systemd passed under `name` (its `FileDescriptorName=`): its
/// dialect and whether it is TLS. `irc` is IRC, `tls` native TLS, `irc-tls` IRC over TLS;
/// `native`, no name or any other name is native plain text, as before names were read.
pub fn kind_of_name(name: Option<&str>) -> (Dialect, bool) {
    match name {
        Some("irc") => (Dialect::Irc, false),
        Some("tls") => (Dialect::Native, true),
        Some("irc-tls") => (Dialect::Irc, true),
        _ => (Dialect::Native, false),
    }
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

/// Take the listening sockets systemd passed, if `LISTEN_PID` names this process, each with
/// the kind its name in `LISTEN_FDNAMES` says.
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
        let (dialect, tls) = kind_of_name(names.next());
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
        out.push(Listener {
            socket: l,
            dialect,
            tls,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn systemd_names_pick_the_kind() {
        assert_eq!(kind_of_name(Some("irc")), (Dialect::Irc, false));
        assert_eq!(kind_of_name(Some("tls")), (Dialect::Native, true));
        assert_eq!(kind_of_name(Some("irc-tls")), (Dialect::Irc, true));
        assert_eq!(kind_of_name(Some("native")), (Dialect::Native, false));
        assert_eq!(kind_of_name(Some("chatd.socket")), (Dialect::Native, false));
        assert_eq!(kind_of_name(Some("")), (Dialect::Native, false));
        assert_eq!(kind_of_name(None), (Dialect::Native, false));
    }
}

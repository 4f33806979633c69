//! TCP sockets with options std cannot set before connecting, and abortive closes.

use std::net::{IpAddr, SocketAddr, TcpStream};
use std::os::fd::AsRawFd;

use nix::sys::socket::{self, sockopt, AddressFamily, SockFlag, SockType, SockaddrStorage};

/// Connect to `to` from the address `from` (port chosen by the kernel), with a receive buffer
/// of `rcvbuf` bytes: set before connecting, so the window the peer sees stays that small and
/// a client that stops reading backs up in the server quickly.
pub fn raw_connect(to: SocketAddr, from: Option<IpAddr>, rcvbuf: Option<usize>) -> TcpStream {
    let family = if to.is_ipv4() {
        AddressFamily::Inet
    } else {
        AddressFamily::Inet6
    };
    let fd = socket::socket(family, SockType::Stream, SockFlag::SOCK_CLOEXEC, None)
        .expect("make a socket");
    if let Some(n) = rcvbuf {
        socket::setsockopt(&fd, sockopt::RcvBuf, &n).expect("set SO_RCVBUF");
    }
    if let Some(ip) = from {
        let local = SockaddrStorage::from(SocketAddr::new(ip, 0));
        socket::bind(fd.as_raw_fd(), &local).unwrap_or_else(|e| panic!("bind to {ip}: {e}"));
    }
    socket::connect(fd.as_raw_fd(), &SockaddrStorage::from(to))
        .unwrap_or_else(|e| panic!("connect to {to}: {e}"));
    TcpStream::from(fd)
}

/// Close `s` with a reset (`SO_LINGER` 0) instead of an orderly FIN.
pub fn reset(s: TcpStream) {
    let linger = nix::libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    socket::setsockopt(&s, sockopt::Linger, &linger).expect("set SO_LINGER");
    drop(s);
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;
    use std::net::{Ipv4Addr, TcpListener};

    #[test]
    fn binds_the_source_address_and_resets() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let from = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2));
        let s = raw_connect(listener.local_addr().unwrap(), Some(from), Some(4096));
        let (mut peer, addr) = listener.accept().unwrap();
        peer.set_read_timeout(Some(crate::WAIT)).unwrap();
        assert_eq!(addr.ip(), from);
        reset(s);
        let err = peer.read(&mut [0u8; 8]).unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::ConnectionReset);
    }
}

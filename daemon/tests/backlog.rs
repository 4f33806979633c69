//! A reader whose socket filled up gets the rest once it reads again, even when the room has
//! gone quiet: the daemon writes only to connections with something new, and a socket
//! becoming writable again counts as that.
#![allow(clippy::unwrap_used)]

use std::net::{SocketAddr, TcpStream};
use std::os::fd::AsRawFd;

use chat_testkit::{msg_from, Chatd, Client};
use nix::sys::socket::{self, sockopt, AddressFamily, SockFlag, SockType, SockaddrStorage};

/// Connect to `to` with a 2 KiB receive buffer and 536-byte segments, both set before
/// connecting: the daemon's socket then sizes its send buffer for small segments (on
/// loopback, whose segments are 64 KiB, it holds more than the broadcast ring), so that its
/// writes to a reader that stops back up within a few dozen lines.
fn narrow_connect(to: SocketAddr) -> TcpStream {
    let fd = socket::socket(
        AddressFamily::Inet,
        SockType::Stream,
        SockFlag::SOCK_CLOEXEC,
        None,
    )
    .unwrap();
    socket::setsockopt(&fd, sockopt::RcvBuf, &2048).unwrap();
    socket::setsockopt(&fd, sockopt::TcpMaxSeg, &536).unwrap();
    socket::connect(fd.as_raw_fd(), &SockaddrStorage::from(to)).unwrap();
    TcpStream::from(fd)
}

/// Lines the writer sends at once.
const LINES: usize = 250;

#[test]
fn a_reader_whose_socket_filled_gets_everything_once_the_room_is_quiet() {
    let d = Chatd::start(&["--flood", "off"]);
    let mut reader = Client::from_stream(narrow_connect(d.addr));
    reader.join_settled("reader");
    let mut writer = d.join_settled("writer");
    reader.expect("JOIN ");
    // 250 lines of 900 bytes: more than the sockets hold, within the broadcast ring
    // (256 KiB), so the reader is behind but not a slow consumer.
    let text = "z".repeat(900);
    let burst: String = (0..LINES).map(|k| format!("{k} {text}\n")).collect();
    writer.send_raw(burst.as_bytes());
    // Its /who is answered after all the lines were handled; then nothing more happens.
    writer.sync();
    for k in 0..LINES {
        let line = reader.line();
        assert_eq!(
            msg_from(&line, "writer"),
            Some(format!("{k} {text}").as_str()),
            "line {k}"
        );
    }
    writer.send("after");
    assert_eq!(msg_from(&reader.line(), "writer"), Some("after"));
    assert!(!d.log().contains("slow-consumer"), "{}", d.log());
}

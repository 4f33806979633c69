//! A syslog socket of the test's own, for chatd's `--log syslog --syslog-socket PATH`: the
//! machine may have no `/dev/log`, and a test must see what arrives.

use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::WAIT;

/// A Unix datagram socket that chatd logs to, read message by message.
pub struct SyslogSocket {
    socket: UnixDatagram,
    path: PathBuf,
}

impl SyslogSocket {
    /// Bind a socket at `path` (in a directory of the test's).
    pub fn bind(path: PathBuf) -> SyslogSocket {
        let socket = UnixDatagram::bind(&path)
            .unwrap_or_else(|e| panic!("bind a syslog socket at {}: {e}", path.display()));
        SyslogSocket { socket, path }
    }

    /// Return where it is bound, for `--syslog-socket`.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Read messages (as text, `<PRI>` header and all) until one that `found` picks, and
    /// return it; push every message read, that one too, onto `seen`. Panic with them if none
    /// comes within [`WAIT`].
    pub fn wait_for(&self, mut found: impl FnMut(&str) -> bool, seen: &mut Vec<String>) -> String {
        let end = Instant::now() + WAIT;
        let mut buf = [0u8; 4096];
        loop {
            let left = end.saturating_duration_since(Instant::now());
            assert!(!left.is_zero(), "not in syslog in time; got {seen:#?}");
            self.socket
                .set_read_timeout(Some(left))
                .expect("set a read timeout");
            let n = match self.socket.recv(&mut buf) {
                Ok(n) => n,
                Err(e) => panic!("not in syslog in time ({e}); got {seen:#?}"),
            };
            let msg = String::from_utf8_lossy(&buf[..n]).into_owned();
            seen.push(msg.clone());
            if found(&msg) {
                return msg;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::TempDir;

    #[test]
    fn returns_the_first_message_picked_and_keeps_all_it_read() {
        let dir = TempDir::new("syslog-socket");
        let log = SyslogSocket::bind(dir.join("log.sock"));
        let sender = UnixDatagram::unbound().unwrap();
        for m in ["<30>one", "<28>two", "<30>three"] {
            sender.send_to(m.as_bytes(), log.path()).unwrap();
        }
        let mut seen = Vec::new();
        assert_eq!(
            log.wait_for(|m| m.starts_with("<28>"), &mut seen),
            "<28>two"
        );
        assert_eq!(seen, ["<30>one", "<28>two"]);
    }
}

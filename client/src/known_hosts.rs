//! Trust on first use: the certificate fingerprints of the servers chatc has spoken TLS to.
//!
//! They live in `$XDG_DATA_HOME/chatc/known_hosts` (by default
//! `~/.local/share/chatc/known_hosts`), one server a line: `HOST:PORT SHA256:…`, an IPv6 host
//! in brackets; `#` starts a comment. The first contact with a server adds its line; later
//! contacts must show the same fingerprint. A host that has a line (for any port) gets no plain
//! text from chatc unless told so (`--no-tls`): that is the "no silent downgrade" rule. Lines
//! chatc cannot read are kept as they are and otherwise ignored.

use std::io::{self, Write as _};
use std::os::unix::fs::DirBuilderExt as _;
use std::path::{Path, PathBuf};

use chat_core::fingerprint::Fingerprint;

/// The file, as read.
#[derive(Debug, Default)]
pub struct KnownHosts {
    path: Option<PathBuf>,
    /// Every line, to write back what chatc does not understand unchanged.
    lines: Vec<String>,
}

/// Return where the file is: `$XDG_DATA_HOME/chatc/known_hosts`, else under `~/.local/share`.
pub fn default_path() -> Option<PathBuf> {
    let xdg = std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute());
    let base = xdg.or_else(|| {
        Some(
            PathBuf::from(std::env::var_os("HOME")?)
                .join(".local")
                .join("share"),
        )
    })?;
    Some(base.join("chatc").join("known_hosts"))
}

/// Return the key of `host` in the file: lower case (host names ignore case), without brackets.
fn host_key(host: &str) -> String {
    host.trim_start_matches('[')
        .trim_end_matches(']')
        .to_ascii_lowercase()
}

/// Split a line into its target (`HOST:PORT`) and fingerprint, if it is an entry.
fn entry(line: &str) -> Option<(&str, Fingerprint)> {
    let line = line.trim();
    if line.starts_with('#') {
        return None;
    }
    let mut words = line.split_whitespace();
    let target = words.next()?;
    let fp = Fingerprint::parse(words.next()?).ok()?;
    Some((target, fp))
}

/// Return the host of a `HOST:PORT` target, as a key.
fn host_of(target: &str) -> String {
    let host = match target.rsplit_once(':') {
        Some((h, port)) if port.parse::<u16>().is_ok() => h,
        _ => target,
    };
    host_key(host)
}

impl KnownHosts {
    /// Read the file at `path` (none yet, or unreadable, is an empty list).
    pub fn load(path: Option<PathBuf>) -> KnownHosts {
        let lines = path
            .as_deref()
            .and_then(|p| std::fs::read_to_string(p).ok())
            .map(|t| t.lines().map(str::to_string).collect())
            .unwrap_or_default();
        KnownHosts { path, lines }
    }

    /// Return the file's path, if chatc knows where it is.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// Return the fingerprint remembered for `target` (`HOST:PORT` as [`crate::connection::Target`]
    /// writes it).
    pub fn get(&self, target: &str) -> Option<Fingerprint> {
        let want = target.to_ascii_lowercase();
        self.lines
            .iter()
            .filter_map(|l| entry(l))
            .find(|(t, _)| t.to_ascii_lowercase() == want)
            .map(|(_, fp)| fp)
    }

    /// Return whether chatc has spoken TLS to `host`, on any port.
    pub fn knows_host(&self, host: &str) -> bool {
        let want = host_key(host);
        self.lines
            .iter()
            .filter_map(|l| entry(l))
            .any(|(t, _)| host_of(t) == want)
    }

    /// Remember `fp` for `target`, replacing what was there, and write the file (a temporary
    /// file renamed over it, in a directory made private if new).
    pub fn remember(&mut self, target: &str, fp: Fingerprint) -> io::Result<()> {
        let want = target.to_ascii_lowercase();
        self.lines
            .retain(|l| entry(l).is_none_or(|(t, _)| t.to_ascii_lowercase() != want));
        if self.lines.is_empty() {
            self.lines.push(
                "# chatc: TLS certificate fingerprints of chatd servers (HOST:PORT SHA256:...)"
                    .into(),
            );
        }
        self.lines.push(format!("{target} {fp}"));
        let Some(path) = self.path.as_deref() else {
            return Err(io::Error::new(
                io::ErrorKind::NotFound,
                "no home directory to keep known_hosts in",
            ));
        };
        if let Some(dir) = path.parent() {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)?;
        }
        let tmp = path.with_extension("tmp");
        let mut f = std::fs::File::create(&tmp)?;
        for l in &self.lines {
            writeln!(f, "{l}")?;
        }
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    }
}

#[cfg(test)]
mod test {
    use super::*;

    fn fp(n: u8) -> Fingerprint {
        Fingerprint([n; 32])
    }

    #[test]
    fn entries_are_found_by_target_and_by_host() {
        let dir = std::env::temp_dir().join(format!("chatc-kh-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let path = dir.join("chatc").join("known_hosts");
        let mut kh = KnownHosts::load(Some(path.clone()));
        assert_eq!(kh.get("chat.lan:5001"), None);
        assert!(!kh.knows_host("chat.lan"));
        kh.remember("Chat.LAN:5001", fp(1)).expect("write");
        kh.remember("[::1]:5001", fp(2)).expect("write");
        let kh = KnownHosts::load(Some(path.clone()));
        assert_eq!(kh.get("chat.lan:5001"), Some(fp(1)));
        assert_eq!(kh.get("chat.lan:6000"), None);
        assert!(kh.knows_host("chat.lan") && kh.knows_host("CHAT.lan"));
        assert!(kh.knows_host("::1") && kh.knows_host("[::1]"));
        assert!(!kh.knows_host("other.lan"));
        let mut kh = kh;
        kh.remember("chat.lan:5001", fp(3)).expect("replace");
        let text = std::fs::read_to_string(&path).expect("read");
        assert_eq!(text.matches("chat.lan:5001").count(), 1, "{text}");
        assert_eq!(
            KnownHosts::load(Some(path)).get("chat.lan:5001"),
            Some(fp(3))
        );
        std::fs::remove_dir_all(&dir).expect("clean up");
    }

    #[test]
    fn lines_it_cannot_read_are_kept_and_ignored() {
        let mut kh = KnownHosts {
            path: None,
            lines: vec!["# mine".into(), "garbage".into(), format!("a:1 {}", fp(4))],
        };
        assert_eq!(kh.get("a:1"), Some(fp(4)));
        assert!(
            kh.remember("b:2", fp(5)).is_err(),
            "no path: nowhere to write"
        );
        assert!(kh.lines.contains(&"garbage".to_string()));
        assert_eq!(kh.get("b:2"), Some(fp(5)));
    }
}

//! History that survives a restart: the ring saved as `HIST` lines in `STATE_DIR/history`,
//! and the state directory itself ([`make_dir`]).
//!
//! Saving is atomic (temp file, fsync, rename, fsync of the directory) and reuses one buffer
//! sized at start, so the periodic save allocates nothing. It runs at graceful shutdown and,
//! when the history changed, at most once per [`SAVE_INTERVAL`] (on the monotonic clock), so
//! `kill -9` loses about a second. A missing or corrupt file and an unwritable directory are
//! logged, never fatal. The line format is the core's: [`Entry`] writes and parses it.
//!
//! The files are opened as [`crate::files`] says: the history is read only if it is a regular
//! file (never a FIFO or a link), and only its last [`MAX_HISTORY_FILE`] bytes; the temp file
//! is created afresh with `O_EXCL | O_NOFOLLOW`, replacing whatever a crash left there.

use std::fs;
use std::io::{self, Write as _};
use std::os::unix::fs::DirBuilderExt as _;
use std::path::{Path, PathBuf};

use chat_core::config::{HISTORY_LEN, MAX_SERVER_LINE};
use chat_core::{Duration, Entry, Instant, Server};
use log::{debug, info, warn};

use crate::files::{self, FileError, Links};

/// Least time between two saves of a changing history.
pub const SAVE_INTERVAL: Duration = Duration::from_secs(1);

/// The most of the history file read at start: its tail of this size, which holds far more
/// than the [`HISTORY_LEN`] lines a save writes. A bigger file costs no more to start.
pub const MAX_HISTORY_FILE: u64 = 64 * 1024;

/// Permissions of the history file (less the umask): the chat's words are nobody else's.
const HISTORY_MODE: u32 = 0o600;

/// Permissions of a state directory chatd makes (less the umask), as systemd's
/// `StateDirectoryMode=0700`: it holds the history and the TLS key.
pub const STATE_DIR_MODE: u32 = 0o700;

/// Make the state directory `dir` (and its missing parents) with [`STATE_DIR_MODE`] if it
/// does not exist yet; an existing directory is left as it is. Called once at start, before
/// anything (the TLS certificate, the history) is saved in it.
pub fn make_dir(dir: &Path) -> io::Result<()> {
    fs::DirBuilder::new()
        .recursive(true)
        .mode(STATE_DIR_MODE)
        .create(dir)
}

/// The history file and what was last saved to it.
#[derive(Debug)]
pub struct HistoryStore {
    dir: PathBuf,
    file: PathBuf,
    tmp: PathBuf,
    buf: Vec<u8>,
    saved: u64,
    /// When the last periodic save ran; `None` before the first.
    last_save: Option<Instant>,
    failing: bool,
}

/// What loading found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Loaded {
    /// Entries restored.
    pub entries: usize,
    /// Lines that could not be read and were skipped.
    pub bad_lines: usize,
    /// Bytes at the start of an over-long file that were not read (see [`MAX_HISTORY_FILE`]).
    pub skipped_bytes: u64,
}

impl HistoryStore {
    /// Use `dir` (made by [`make_dir`]) for the history; a directory that is missing or
    /// unwritable is logged by [`HistoryStore::check_writable`] and each save, never fatal.
    pub fn new(dir: &Path) -> Self {
        HistoryStore {
            dir: dir.to_path_buf(),
            file: dir.join("history"),
            tmp: dir.join(".history.tmp"),
            buf: Vec::with_capacity(HISTORY_LEN * (MAX_SERVER_LINE + 1)),
            saved: 0,
            last_save: None,
            failing: false,
        }
    }

    /// Check that the directory takes files, by creating and removing the temp file.
    pub fn check_writable(&self) -> io::Result<()> {
        files::create_new(&self.tmp, HISTORY_MODE)?;
        fs::remove_file(&self.tmp)
    }

    /// Return the history file's path.
    pub fn path(&self) -> &Path {
        &self.file
    }

    /// Read the saved history into `server`, oldest first; a missing file is not an error.
    ///
    /// Only a regular file is read (a FIFO or a link there is an error, never a hang), and
    /// only its last [`MAX_HISTORY_FILE`] bytes, whose first, partial line is skipped.
    pub fn load<const N: usize>(&mut self, server: &mut Server<N>) -> Result<Loaded, FileError> {
        let mut text = Vec::new();
        let skipped = match files::read_tail(&self.file, Links::Refuse, MAX_HISTORY_FILE, &mut text)
        {
            Ok(n) => n,
            Err(e) if e.is_not_found() => {
                self.saved = server.history_changes();
                return Ok(Loaded::default());
            }
            Err(e) => return Err(e),
        };
        let mut from = 0;
        if skipped > 0 {
            // The tail starts inside a line unless the byte before it ended one; either way
            // the piece up to the first newline is not a whole line.
            from = text
                .iter()
                .position(|&b| b == b'\n')
                .map_or(text.len(), |i| i + 1);
        }
        let mut loaded = restore(server, &text[from..]);
        loaded.skipped_bytes = skipped + from as u64;
        self.saved = server.history_changes();
        Ok(loaded)
    }

    /// Return whether the history changed since the last save.
    pub fn dirty<const N: usize>(&self, server: &Server<N>) -> bool {
        server.history_changes() != self.saved
    }

    /// Return when the next periodic save may run if the history is dirty (`None`: now).
    pub fn due_at(&self) -> Option<Instant> {
        self.last_save.map(|t| t + SAVE_INTERVAL)
    }

    /// Save if the history changed and the last save is old enough.
    pub fn save_if_due<const N: usize>(&mut self, now: Instant, server: &Server<N>) {
        if self.dirty(server) && self.due_at().is_none_or(|t| now >= t) {
            self.last_save = Some(now);
            self.save_logged(server, false);
        }
    }

    /// Save now and log the outcome (`final_save` logs success at info level).
    pub fn save_logged<const N: usize>(&mut self, server: &Server<N>, final_save: bool) {
        match self.save(server) {
            Ok(n) => {
                if final_save || self.failing {
                    info!(target: "chatd", "history-saved entries={n} file={}", self.file.display());
                } else {
                    debug!(target: "chatd", "history-saved entries={n}");
                }
                self.failing = false;
            }
            Err(e) => {
                if !self.failing || final_save {
                    warn!(target: "chatd", "history-save-failed file={} error=\"{e}\"", self.file.display());
                }
                self.failing = true;
            }
        }
    }

    /// Write the history atomically; return how many entries were written.
    pub fn save<const N: usize>(&mut self, server: &Server<N>) -> io::Result<usize> {
        self.buf.clear();
        let mut n = 0;
        for e in server.history() {
            writeln!(self.buf, "{}", e.line())?;
            n += 1;
        }
        let mut f = files::create_new(&self.tmp, HISTORY_MODE)?;
        f.write_all(&self.buf)?;
        f.sync_all()?;
        drop(f);
        fs::rename(&self.tmp, &self.file)?;
        files::open_dir(&self.dir)?.sync_all()?;
        self.saved = server.history_changes();
        Ok(n)
    }
}

/// Restore every readable `HIST` line of `text` into `server`, oldest first.
pub fn restore<const N: usize>(server: &mut Server<N>, text: &[u8]) -> Loaded {
    let mut loaded = Loaded::default();
    for raw in text.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        match std::str::from_utf8(raw)
            .ok()
            .and_then(|l| Entry::parse(l).ok())
        {
            Some(e) => {
                server.restore_history(e);
                loaded.entries += 1;
            }
            None => loaded.bad_lines += 1,
        }
    }
    loaded.entries = loaded.entries.min(HISTORY_LEN);
    loaded
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod test {
    use super::*;
    use chat_core::{Config, EntryKind, Name, Timestamp};

    /// Build a small server on a thread with a big stack: its two rings take 640 KiB, and an
    /// unoptimised build may hold more than one copy of it on the stack while boxing it.
    fn server() -> Box<Server<2>> {
        std::thread::Builder::new()
            .stack_size(64 << 20)
            .spawn(|| Box::write(Box::new_uninit(), Server::new(Config::default())))
            .unwrap()
            .join()
            .unwrap()
    }

    #[test]
    fn the_state_dir_is_made_private_once_and_an_existing_one_is_left_alone() {
        use std::os::unix::fs::PermissionsExt as _;
        let top = std::env::temp_dir().join(format!("chatd-state-dir-{}", std::process::id()));
        let _ = fs::remove_dir_all(&top);
        let dir = top.join("a").join("state");
        make_dir(&dir).unwrap();
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&dir), STATE_DIR_MODE);
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o750)).unwrap();
        make_dir(&dir).unwrap();
        assert_eq!(mode(&dir), 0o750, "the admin's choice stands");
        fs::write(top.join("file"), b"").unwrap();
        assert!(
            make_dir(&top.join("file")).is_err(),
            "a file is no directory"
        );
        let _ = fs::remove_dir_all(&top);
    }

    #[test]
    fn round_trips_and_skips_garbage() {
        let dir = std::env::temp_dir().join(format!("chatd-state-test-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        make_dir(&dir).unwrap();
        let mut s = server();
        for i in 0..12u64 {
            let e = Entry::new(
                EntryKind::Msg,
                Timestamp(1_800_000_000 + i),
                Name::new("Ana").unwrap(),
                &format!("m {i} "),
            )
            .unwrap();
            s.restore_history(e);
        }
        s.restore_history(
            Entry::new(
                EntryKind::Me,
                Timestamp(1_800_000_100),
                Name::new("Bo").unwrap(),
                "acena",
            )
            .unwrap(),
        );
        let mut store = HistoryStore::new(&dir);
        assert_eq!(store.save(&s).unwrap(), 10);
        let mut t = server();
        let mut store2 = HistoryStore::new(&dir);
        let got = store2.load(&mut t).unwrap();
        assert_eq!(
            got,
            Loaded {
                entries: 10,
                bad_lines: 0,
                skipped_bytes: 0
            }
        );
        assert!(s.history().eq(t.history()));
        assert!(!store2.dirty(&t));

        fs::write(store.path(), b"HIST MSG 2026-11-24T14:03:05Z Ana hi\ngarbage\n\xff\nMSG 2026-11-24T14:03:05Z Ana x\n").unwrap();
        let mut u = server();
        let got = store2.load(&mut u).unwrap();
        assert_eq!(
            got,
            Loaded {
                entries: 1,
                bad_lines: 3,
                skipped_bytes: 0
            }
        );
        assert_eq!(u.history().next().map(|e| e.text.as_str()), Some("hi"));
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn only_the_tail_of_a_huge_file_is_read() {
        let dir = std::env::temp_dir().join(format!("chatd-state-tail-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        let mut text = Vec::new();
        let old = b"HIST MSG 2026-11-24T14:03:05Z Ana old\n";
        while text.len() < 3 * MAX_HISTORY_FILE as usize {
            text.extend_from_slice(old);
        }
        for i in 0..10 {
            text.extend_from_slice(format!("HIST MSG 2026-11-24T14:03:06Z Bo new{i}\n").as_bytes());
        }
        fs::write(dir.join("history"), &text).unwrap();
        let mut s = server();
        let got = HistoryStore::new(&dir).load(&mut s).unwrap();
        assert_eq!(got.entries, 10);
        assert_eq!(got.bad_lines, 0);
        assert!(got.skipped_bytes >= 2 * MAX_HISTORY_FILE, "{got:?}");
        let texts: Vec<String> = s.history().map(|e| e.text.to_string()).collect();
        let want: Vec<String> = (0..10).map(|i| format!("new{i}")).collect();
        assert_eq!(texts, want);
        let _ = fs::remove_dir_all(&dir);
    }
}

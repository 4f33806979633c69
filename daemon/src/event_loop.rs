//! The daemon proper: one thread, non-blocking sockets, an epoll readiness loop that feeds the
//! core ([`chat_core::Server`]) and writes what it says.
//!
//! Everything is allocated in [`Daemon::bind`]: the core (in a `Box`), the connection table,
//! the read buffer. `bind` runs on a setup thread with a big stack (building the core, TLS and
//! mDNS take big frames), so that those pages go back to the system when it ends and the loop's
//! own stack stays small: an idle daemon's memory is what it keeps, not what it built. The
//! loop itself allocates nothing while relaying messages in plain text (see
//! `tests/no_alloc.rs`). A TLS connection gets its fixed buffers when it is accepted; what
//! rustls still allocates per record is measured in `tests/tls_alloc.rs`. The TLS side of the
//! loop is in `event_loop/tls_io.rs`.

mod tls_io;

use std::fmt;
use std::io::{self, IoSlice, Read as _};
use std::net::{SocketAddr, TcpStream};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use chat_core::{CloseReason, Config, ConnId, Dialect, Duration, Instant, Now, Server};
use log::{info, warn, Level};
use nix::errno::Errno;
use nix::sys::epoll::{Epoll, EpollCreateFlags, EpollEvent, EpollFlags, EpollTimeout};

pub use crate::error::{RunError, StartError};
pub use crate::handle::Handle;
use crate::listen::{self, Listener};
use crate::mdns::{self, Mdns};
use crate::password;
use crate::settings::{Plain, Settings, SLOTS};
use crate::socket::{self, Sock};
use crate::state::{self, HistoryStore};
use crate::tls::{self, CertSource, Tls, TlsAdvert};
use crate::{clock, notify};
use crate::{fd_limit, logging};

/// The core as the daemon runs it.
pub type Core = Server<SLOTS>;

/// What every client is told when the daemon stops.
pub const SHUTDOWN_TEXT: &str = "chatd is shutting down.";

/// Token of the wake-up socket in the epoll set.
const WAKER: u64 = u64::MAX;
/// Tokens of listeners start here; connection tokens are slot indexes below [`SLOTS`].
const LISTENER_BASE: u64 = 1 << 32;
/// Bytes read from one connection per wake-up, so one busy client cannot starve the others.
const READ_BUDGET: usize = 16 * 1024;
/// Size of the read buffer.
const SCRATCH: usize = 4096;
/// Connections accepted from one listener per wake-up.
const ACCEPTS_PER_WAKE: usize = 64;
/// How long a connection the server closes may take to receive its last lines.
const LINGER: Duration = Duration::from_secs(2);
/// How long shutdown may spend flushing `SHUTDOWN` lines.
const SHUTDOWN_BOUND: Duration = Duration::from_secs(2);
/// How long to stop accepting after running out of file descriptors.
const ACCEPT_PAUSE: Duration = Duration::from_millis(100);
/// Readiness events taken per `epoll_wait`.
const EVENTS: usize = 64;
/// Stack of the setup thread that runs [`Daemon::bind`]. Building the core, which is a few
/// megabytes, must not happen on a small stack: an unoptimised build may hold several copies
/// of it on the stack while moving it into its box. Only the pages used are ever touched, and
/// they are returned when the thread ends.
const INIT_STACK: usize = 8 * std::mem::size_of::<Core>();

/// One open client connection.
#[derive(Debug)]
struct Conn {
    stream: TcpStream,
    id: ConnId,
    interest: EpollFlags,
    /// Set once the core asked to close it: only its last bytes are written until then
    /// (monotonic clock, like every timer here).
    closing_until: Option<Instant>,
    /// The TLS session of a connection accepted on a TLS listener.
    tls: Option<Box<tls::Session>>,
    /// Nothing has been read from it yet (a TLS handshake on a plain port shows at once).
    fresh: bool,
}

impl Conn {
    /// Make `want` the events epoll reports for this connection (slot `idx`), unless they
    /// already are; on failure the old ones stay, and the next write tries again.
    fn set_interest(&mut self, epoll: &Epoll, idx: usize, want: EpollFlags) {
        if want != self.interest {
            let token = u64::try_from(idx).unwrap_or(u64::MAX - 1);
            if epoll
                .modify(&self.stream, &mut EpollEvent::new(want, token))
                .is_ok()
            {
                self.interest = want;
            }
        }
    }
}

/// The chat daemon: listeners, connections and the core, driven by [`Daemon::run`].
pub struct Daemon {
    server: Box<Core>,
    epoll: Epoll,
    listeners: Vec<Listener>,
    /// Where each listener listens (with real ports when bound to port 0), in their order.
    local: Vec<SocketAddr>,
    /// Certificate and configuration, when any listener speaks TLS.
    tls: Option<Tls>,
    /// Whether plain-text clients may chat.
    plain: Plain,
    /// What a plain-text client is told when `--plain refuse` turns it away, per dialect.
    plain_refused_lines: tls_io::PerDialect,
    /// What plain text on a TLS port is told, per dialect.
    not_tls_lines: tls_io::PerDialect,
    /// Plaintext decrypted from one connection's records, being fed to the core.
    plain_buf: Vec<u8>,
    /// A connection's pending output gathered into one record's plaintext.
    stage: Vec<u8>,
    /// Connections by slot index; it grows (within the capacity reserved at start) as slots
    /// are first used, so that an idle daemon touches none of it.
    conns: Vec<Option<Conn>>,
    /// [`Server::broadcasts`] when every connection was last written to.
    written_broadcasts: u64,
    /// Connections the core asked to close that are still writing their last bytes.
    lingering: usize,
    /// A connection became writable again since every connection was last written to.
    writable: bool,
    /// Open TLS connections: only while there are some does a turn look for TLS input that
    /// waited for output room ([`Daemon::tls_backlog`]).
    tls_conns: usize,
    wake_rx: UnixStream,
    handle: Handle,
    password_file: Option<PathBuf>,
    store: Option<HistoryStore>,
    notes: Vec<(Level, String)>,
    scratch: Vec<u8>,
    accept_paused_until: Option<Instant>,
    shutdown_deadline: Option<Instant>,
    /// A descriptor held in reserve, to tell clients past the fd limit `BYE full`.
    spare_fd: fd_limit::Spare,
    /// The mDNS responder, unless `--mdns off` or it cannot run.
    mdns: Option<Box<Mdns>>,
}

impl fmt::Debug for Daemon {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Daemon")
            .field("local", &self.local)
            .finish_non_exhaustive()
    }
}

/// Make `p` absolute so it still names the same file after `chdir /`.
fn absolute(p: &PathBuf) -> PathBuf {
    std::path::absolute(p).unwrap_or_else(|_| p.clone())
}

impl Daemon {
    /// Read the password, bind the listeners, load the history and build the core.
    ///
    /// Nothing is logged yet (logging may start only after daemonizing): call
    /// [`Daemon::announce`] once logging is set up. The work is done on a setup thread (see
    /// [`INIT_STACK`]) while the caller waits.
    pub fn bind(settings: &Settings) -> Result<Daemon, StartError> {
        std::thread::scope(|scope| {
            std::thread::Builder::new()
                .name("chatd-init".into())
                .stack_size(INIT_STACK)
                .spawn_scoped(scope, || Daemon::bind_here(settings))
                .map_err(|e| StartError::Setup("start the setup thread", e))?
                // Joined here, so the thread's stack is freed before `bind` returns.
                .join()
                .map_err(|_| {
                    StartError::Setup("set up the daemon", io::Error::other("setup thread failed"))
                })?
        })
    }

    /// Do [`Daemon::bind`]'s work on the calling thread.
    fn bind_here(settings: &Settings) -> Result<Daemon, StartError> {
        let mut notes = Vec::new();
        let mut config = Config {
            max_clients: settings.max_clients.clamp(1, SLOTS),
            flood: settings.flood,
            join_timeout: settings.join_timeout,
            max_per_address: settings.max_per_address,
            irc: settings.irc.clone(),
            ..Config::default()
        };
        let password_file = settings.password_file.as_ref().map(absolute);
        if let Some(p) = &password_file {
            config.password = password::load(p)?;
            let state = if config.password.is_some() {
                "on"
            } else {
                "off (the file is empty)"
            };
            notes.push((
                Level::Info,
                format!("password file={} password={state}", p.display()),
            ));
        }
        let bound = listen::bind_all(settings)?;
        notes.extend(bound.notes.into_iter().map(|n| (Level::Warn, n)));
        let any_tls = bound.listeners.iter().any(|l| l.tls);
        if settings.plain == Plain::Refuse && !any_tls {
            return Err(StartError::NoTls);
        }
        // Made here, once, before the certificate or the history is saved in it.
        let state_dir = settings.state_dir.as_ref().map(absolute);
        if let Some(dir) = &state_dir {
            if let Err(e) = state::make_dir(dir) {
                notes.push((
                    Level::Warn,
                    format!("state-dir-not-made dir={} error=\"{e}\"", dir.display()),
                ));
            }
        }
        let tls = if any_tls {
            let source = match (&settings.tls_cert, &state_dir) {
                (Some((cert, key)), _) => CertSource::Files {
                    cert: absolute(cert),
                    key: absolute(key),
                },
                (None, Some(dir)) => CertSource::StateDir(dir.clone()),
                (None, None) => CertSource::Ephemeral,
            };
            let tls = Tls::new(source)?;
            if let Some(w) = tls.warning() {
                notes.push((Level::Warn, w.to_string()));
            }
            notes.push((Level::Info, tls.describe()));
            Some(tls)
        } else {
            None
        };
        notes.extend(fd_limit::raise_for(
            config.max_clients,
            bound.listeners.len(),
        ));
        let mut server: Box<Core> = Box::write(Box::new_uninit(), Core::new(config));

        let epoll = Epoll::new(EpollCreateFlags::EPOLL_CLOEXEC)
            .map_err(|e| StartError::Setup("create epoll", e.into()))?;
        let (wake_rx, wake_tx) =
            UnixStream::pair().map_err(|e| StartError::Setup("create the wake-up socket", e))?;
        for s in [&wake_rx, &wake_tx] {
            s.set_nonblocking(true)
                .map_err(|e| StartError::Setup("set up the wake-up socket", e))?;
        }
        epoll
            .add(&wake_rx, EpollEvent::new(EpollFlags::EPOLLIN, WAKER))
            .map_err(|e| StartError::Setup("watch the wake-up socket", e.into()))?;
        let mut local = Vec::new();
        for (i, l) in bound.listeners.iter().enumerate() {
            let addr = l
                .socket
                .local_addr()
                .map_err(|e| StartError::Setup("read a listening address", e))?;
            local.push(addr);
            epoll
                .add(
                    &l.socket,
                    EpollEvent::new(EpollFlags::EPOLLIN, LISTENER_BASE + i as u64),
                )
                .map_err(|e| StartError::Setup("watch a listener", e.into()))?;
        }

        // Each listener is announced as what it speaks, with the certificate's fingerprint
        // beside the TLS ports.
        let announced = bound
            .listeners
            .iter()
            .filter_map(|l| mdns::listener(&l.socket, mdns::Kind::of(l.dialect, l.tls)))
            .collect();
        let fingerprint = tls.as_ref().map(|t| t.fingerprint().compact().to_string());
        let facts = mdns::Facts {
            password: server.config().password.is_some(),
            tls_fingerprint: fingerprint.as_deref(),
        };
        let mdns =
            mdns::start_on(&settings.mdns, announced, facts, &epoll, &mut notes).map(Box::new);

        let store = state_dir.map(|dir| {
            let mut store = HistoryStore::new(&dir);
            if let Err(e) = store.check_writable() {
                notes.push((
                    Level::Warn,
                    format!("state-dir-unwritable dir={} error=\"{e}\"; history will not survive a restart", dir.display()),
                ));
            }
            match store.load(&mut server) {
                Ok(l) if l.bad_lines > 0 || l.skipped_bytes > 0 => notes.push((
                    Level::Warn,
                    format!(
                        "history-loaded entries={} skipped-bad-lines={} skipped-bytes={} file={}",
                        l.entries,
                        l.bad_lines,
                        l.skipped_bytes,
                        store.path().display()
                    ),
                )),
                Ok(l) => notes.push((
                    Level::Info,
                    format!(
                        "history-loaded entries={} file={}",
                        l.entries,
                        store.path().display()
                    ),
                )),
                Err(e) => notes.push((
                    Level::Warn,
                    format!(
                        "history-load-failed file={} error=\"{e}\"; starting empty",
                        store.path().display()
                    ),
                )),
            }
            store
        });

        let handle = Handle {
            stop: Arc::new(AtomicBool::new(false)),
            reload: Arc::new(AtomicBool::new(false)),
            waker: Arc::new(wake_tx),
        };
        let port_of = |dialect: Dialect, tls: bool| {
            bound
                .listeners
                .iter()
                .zip(&local)
                .find(|(l, _)| l.dialect == dialect && l.tls == tls)
                .map(|(_, a)| a.port())
        };
        let plain_refused_lines =
            tls_io::PerDialect::new(|d| tls_io::plain_refused_line(d, port_of(d, true)));
        let not_tls_lines = tls_io::PerDialect::new(|d| {
            let plain_port = match settings.plain {
                Plain::Allow => port_of(d, false),
                Plain::Refuse => None,
            };
            tls_io::not_tls_line(d, plain_port)
        });
        Ok(Daemon {
            server,
            epoll,
            listeners: bound.listeners,
            local,
            tls,
            plain: settings.plain,
            plain_refused_lines,
            not_tls_lines,
            plain_buf: if any_tls {
                vec![0; tls::session::PLAIN_BUF]
            } else {
                Vec::new()
            },
            stage: if any_tls {
                vec![0; tls::session::MAX_FRAGMENT]
            } else {
                Vec::new()
            },
            conns: Vec::with_capacity(SLOTS),
            written_broadcasts: 0,
            lingering: 0,
            writable: false,
            tls_conns: 0,
            wake_rx,
            handle,
            password_file,
            store,
            notes,
            scratch: vec![0; SCRATCH],
            accept_paused_until: None,
            shutdown_deadline: None,
            spare_fd: fd_limit::Spare::new(),
            mdns,
        })
    }

    /// Return the addresses the daemon listens on (with real ports when bound to port 0).
    pub fn local_addrs(&self) -> &[SocketAddr] {
        &self.local
    }

    /// Return the addresses where clients speaking `dialect` connect, in plain text.
    pub fn local_addrs_of(&self, dialect: Dialect) -> Vec<SocketAddr> {
        self.addrs_of(dialect, false)
    }

    /// Return the addresses of the listeners of `dialect` over TLS (`tls`) or in plain text.
    pub fn addrs_of(&self, dialect: Dialect, tls: bool) -> Vec<SocketAddr> {
        self.listeners
            .iter()
            .zip(&self.local)
            .filter(|(l, _)| l.dialect == dialect && l.tls == tls)
            .map(|(_, a)| *a)
            .collect()
    }

    /// Return the addresses of the native TLS listeners.
    pub fn tls_addrs(&self) -> Vec<SocketAddr> {
        self.addrs_of(Dialect::Native, true)
    }

    /// Return what to advertise about TLS (e.g. in mDNS TXT records): the port of the first
    /// native TLS listener and the fingerprint of the certificate presented now (it changes
    /// when SIGHUP loads a new operator certificate). `None` when no native listener speaks TLS.
    pub fn tls_advert(&self) -> Option<TlsAdvert> {
        let tls = self.tls.as_ref()?;
        let port = self.tls_addrs().first()?.port();
        Some(TlsAdvert {
            port,
            fingerprint: tls.fingerprint(),
        })
    }

    /// Return a handle to stop or reload the daemon from elsewhere.
    pub fn handle(&self) -> Handle {
        self.handle.clone()
    }

    /// Log what happened while starting, and one `listening` line per address.
    pub fn announce(&mut self) {
        for (level, note) in self.notes.drain(..) {
            log::log!(target: "chatd", level, "{note}");
        }
        let max = self.server.config().max_clients;
        for (l, a) in self.listeners.iter().zip(&self.local) {
            let tls = if l.tls { "yes" } else { "no" };
            let protocol = l.dialect;
            info!(target: "chatd", "listening addr={a} max-clients={max} protocol={protocol} tls={tls}");
        }
        if let Some(m) = &self.mdns {
            info!(target: "chatd", "{}", m.describe());
        }
    }

    /// Run until stopped by [`Handle::stop`] (or a signal wired to it), then shut down
    /// gracefully: every client gets `SHUTDOWN`, queues are flushed for a short while, the
    /// history is saved.
    pub fn run(&mut self) -> Result<(), RunError> {
        let mut events = [EpollEvent::empty(); EVENTS];
        loop {
            let timeout = self.timeout(clock::monotonic());
            let n = match self.epoll.wait(&mut events, timeout) {
                Ok(n) => n,
                Err(Errno::EINTR) => 0,
                Err(e) => {
                    self.finish(clock::now());
                    return Err(RunError(e.into()));
                }
            };
            let now = clock::now();
            for ev in &events[..n.min(EVENTS)] {
                self.dispatch(now, ev.data(), ev.events());
            }
            self.check_flags(now);
            if self.server.poll_at().is_some_and(|t| t <= now.instant) {
                self.server.tick(now);
            }
            if let Some(m) = &mut self.mdns {
                m.drive(now.instant);
            }
            self.resume_accepting(now);
            self.take_closes(now);
            self.service_writes(now);
            if self.tls_backlog(now) {
                self.take_closes(now);
                self.service_writes(now);
            }
            if let Some(store) = &mut self.store {
                store.save_if_due(now.instant, &self.server);
            }
            logging::flush();
            if let Some(deadline) = self.shutdown_deadline {
                if self.conns.iter().all(Option::is_none) || now.instant >= deadline {
                    self.finish(now);
                    return Ok(());
                }
            }
        }
    }

    /// Return how long to wait for readiness: until the next timer of the core, the history
    /// saver, a lingering close or the shutdown.
    fn timeout(&self, now: Instant) -> EpollTimeout {
        let mut next = self.server.poll_at();
        let mut consider = |t: Instant| next = Some(next.map_or(t, |n| n.min(t)));
        if let Some(store) = &self.store {
            if store.dirty(&self.server) {
                consider(store.due_at().unwrap_or(now));
            }
        }
        if let Some(t) = self.accept_paused_until {
            consider(t);
        }
        if let Some(t) = self.shutdown_deadline {
            consider(t);
        }
        if let Some(d) = logging::wake_in() {
            consider(now + d);
        }
        if let Some(m) = &self.mdns {
            consider(m.poll_at());
        }
        if self.server.broadcasts() != self.written_broadcasts {
            // A line for everyone was stored while writing out (a connection that failed
            // left): go round again at once to write it.
            consider(now);
        }
        if self.lingering > 0 {
            for c in self.conns.iter().flatten() {
                if let Some(t) = c.closing_until {
                    consider(t);
                }
            }
        }
        if self.tls_conns > 0 && self.tls_due() {
            consider(now);
        }
        match next {
            None => EpollTimeout::NONE,
            Some(t) => {
                let ms = i32::try_from(t.duration_since(now).as_millis()).unwrap_or(i32::MAX);
                EpollTimeout::try_from(ms).unwrap_or(EpollTimeout::MAX)
            }
        }
    }

    fn dispatch(&mut self, now: Now, token: u64, flags: EpollFlags) {
        if token == WAKER {
            let mut buf = [0u8; 64];
            for _ in 0..64 {
                match (&self.wake_rx).read(&mut buf) {
                    Ok(n) if n > 0 => {}
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    _ => break,
                }
            }
        } else if Mdns::owns(token) {
            if let Some(m) = &mut self.mdns {
                m.on_readable(now.instant, token);
            }
        } else if token >= LISTENER_BASE {
            if let Ok(i) = usize::try_from(token - LISTENER_BASE) {
                self.accept_from(now, i);
            }
        } else if let Ok(idx) = usize::try_from(token) {
            self.on_conn(now, idx, flags);
        }
    }

    fn on_conn(&mut self, now: Now, idx: usize, flags: EpollFlags) {
        let Some(conn) = self.conns.get(idx).and_then(Option::as_ref) else {
            return;
        };
        if flags.contains(EpollFlags::EPOLLOUT) {
            self.writable = true;
        }
        let id = conn.id;
        if conn.tls.is_some() && conn.closing_until.is_none() {
            self.on_tls_conn(now, idx, flags);
            // What the read produced (handshake records, or replies the core queued while
            // the session could not encrypt yet) goes out now: the core's own list of
            // connections with new output does not know about the TLS layer's.
            if self
                .conns
                .get(idx)
                .and_then(Option::as_ref)
                .is_some_and(|c| c.id == id)
            {
                self.write_conn(now, idx);
            }
            return;
        }
        if conn.closing_until.is_some() {
            // Only its last bytes matter now (written in `service_writes`); a hang-up ends it.
            if flags.intersects(EpollFlags::EPOLLHUP | EpollFlags::EPOLLERR) {
                self.close_conn(now, idx);
            }
            return;
        }
        if !flags.intersects(EpollFlags::EPOLLIN | EpollFlags::EPOLLHUP | EpollFlags::EPOLLERR) {
            return;
        }
        let mut done = 0;
        while done < READ_BUDGET {
            // The connection may have been closed by a flush in between.
            let Some(conn) = self.conns.get(idx).and_then(Option::as_ref) else {
                return;
            };
            if conn.id != id || conn.closing_until.is_some() {
                return;
            }
            let n = match Sock(&conn.stream).read(&mut self.scratch) {
                Ok(0) => {
                    self.forget(idx);
                    self.server.closed(now, id, CloseReason::Eof);
                    return;
                }
                Ok(n) => n.min(self.scratch.len()),
                Err(nb::Error::WouldBlock) => return,
                Err(nb::Error::Other(e)) => {
                    self.forget(idx);
                    self.server.closed(now, id, socket::close_reason(&e));
                    return;
                }
            };
            done += n;
            let fresh = self
                .conns
                .get_mut(idx)
                .and_then(Option::as_mut)
                .is_some_and(|c| std::mem::take(&mut c.fresh));
            if fresh && tls_io::looks_like_tls(&self.scratch[..n]) {
                self.tls_on_plain_port(now, idx);
                return;
            }
            self.feed(now, id, n, false);
            if n < self.scratch.len() {
                // A short read drained the socket: skip the read that would only say EAGAIN.
                // epoll is level-triggered, so anything arriving later wakes us again.
                return;
            }
        }
    }

    /// Hand `scratch[..n]` to the core. Whenever it says output piled up, write out to every
    /// connection before feeding the rest: a burst of input must not overflow the queue of a
    /// client that does read, nor lap the broadcast ring.
    /// (`tls`: the bytes are in `plain_buf`, decrypted, not in `scratch`.)
    fn feed(&mut self, now: Now, id: ConnId, n: usize, tls: bool) {
        let mut start = 0;
        // The core uses at least one byte a call, so this ends.
        while start < n {
            let bytes = if tls { &self.plain_buf } else { &self.scratch };
            let fed = self.server.input(now, id, &bytes[start..n]);
            start += fed.used;
            if fed.write_out {
                self.take_closes(now);
                self.service_writes(now);
            }
        }
    }

    fn accept_from(&mut self, now: Now, i: usize) {
        for _ in 0..ACCEPTS_PER_WAKE {
            let Some(l) = self.listeners.get(i) else {
                return;
            };
            let (dialect, tls) = (l.dialect, l.tls);
            match l.socket.accept() {
                Ok((stream, peer)) => self.admit(now, stream, peer, dialect, tls),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if fd_limit::out_of_fds(&e) && self.spare_fd.is_ready() => {
                    // A TLS client cannot read a plain line: it is just closed.
                    let line = if tls {
                        b""
                    } else {
                        chat_core::Refused::Full.line_in(dialect)
                    };
                    if !self.spare_fd.refuse_one(&l.socket, line) {
                        return;
                    }
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::Interrupted | io::ErrorKind::ConnectionAborted
                    ) => {}
                Err(e) => {
                    warn!(target: "chatd", "accept-failed error=\"{e}\" pause-ms={}", ACCEPT_PAUSE.as_millis());
                    self.pause_accepting(now);
                    return;
                }
            }
        }
    }

    fn admit(
        &mut self,
        now: Now,
        stream: TcpStream,
        peer: SocketAddr,
        dialect: Dialect,
        tls: bool,
    ) {
        let peer = SocketAddr::new(peer.ip().to_canonical(), peer.port());
        if let Err(e) = socket::configure(&stream) {
            warn!(target: "chatd", "socket-setup-failed peer={peer} error=\"{e}\"");
            return;
        }
        if !tls && self.plain == Plain::Refuse {
            info!(target: "chatd", "refused peer={peer} reason=plain-text");
            let line = self.plain_refused_lines.get(dialect);
            let _ = socket::send_vectored(&stream, &[IoSlice::new(line)]);
            socket::drain(&stream);
            return;
        }
        let session = match (tls, &self.tls) {
            (false, _) => None,
            (true, Some(t)) => match t.session() {
                Ok(s) => Some(Box::new(s)),
                Err(e) => {
                    warn!(target: "chatd", "tls-failed peer={peer} error=\"{e}\"");
                    return;
                }
            },
            (true, None) => return,
        };
        let id = match self.server.accept(now, peer, dialect) {
            Ok(id) => id,
            Err(refused) => {
                // A TLS client cannot read a plain line before its handshake: just close.
                if !tls {
                    let line = refused.line_in(dialect);
                    let _ = socket::send_vectored(&stream, &[IoSlice::new(line)]);
                }
                socket::drain(&stream);
                return;
            }
        };
        let idx = id.index();
        let Ok(token) = u64::try_from(idx) else {
            return;
        };
        if idx >= SLOTS {
            self.server.closed(now, id, CloseReason::Error);
            return;
        }
        if idx >= self.conns.len() {
            // Slots are taken lowest first, so this adds one entry, within the capacity.
            self.conns.resize_with(idx + 1, || None);
        }
        if let Err(e) = self
            .epoll
            .add(&stream, EpollEvent::new(EpollFlags::EPOLLIN, token))
        {
            warn!(target: "chatd", "epoll-add-failed peer={peer} error=\"{e}\"");
            self.server.closed(now, id, CloseReason::Error);
            return;
        }
        if let Some(old) = self.take_conn(idx) {
            let _ = self.epoll.delete(&old.stream);
        }
        self.tls_conns += usize::from(session.is_some());
        self.conns[idx] = Some(Conn {
            stream,
            id,
            interest: EpollFlags::EPOLLIN,
            closing_until: None,
            tls: session,
            fresh: true,
        });
    }

    fn pause_accepting(&mut self, now: Now) {
        self.accept_paused_until = Some(now.instant + ACCEPT_PAUSE);
        for (i, l) in self.listeners.iter().enumerate() {
            let _ = self.epoll.modify(
                &l.socket,
                &mut EpollEvent::new(EpollFlags::empty(), LISTENER_BASE + i as u64),
            );
        }
    }

    fn resume_accepting(&mut self, now: Now) {
        if self.accept_paused_until.is_some_and(|t| t <= now.instant) {
            self.accept_paused_until = None;
            for (i, l) in self.listeners.iter().enumerate() {
                let _ = self.epoll.modify(
                    &l.socket,
                    &mut EpollEvent::new(EpollFlags::EPOLLIN, LISTENER_BASE + i as u64),
                );
            }
        }
    }

    fn check_flags(&mut self, now: Now) {
        if self.handle.reload.swap(false, Ordering::SeqCst) {
            self.reload_password();
            self.reload_tls();
            if let Some(m) = &mut self.mdns {
                m.set_password(now.instant, self.server.config().password.is_some());
                let fingerprint = self
                    .tls
                    .as_ref()
                    .map(|t| t.fingerprint().compact().to_string());
                m.set_tls_fingerprint(now.instant, fingerprint.as_deref());
            }
        }
        if self.handle.stop.load(Ordering::SeqCst) && self.shutdown_deadline.is_none() {
            self.begin_shutdown(now);
        }
    }

    fn reload_password(&mut self) {
        let Some(path) = &self.password_file else {
            info!(target: "chatd", "reload password=unchanged reason=\"no password file configured\"");
            return;
        };
        if let Some(p) = password::reload(path, self.server.config().password.is_some()) {
            self.server.set_password(p);
        }
    }

    fn begin_shutdown(&mut self, now: Now) {
        info!(target: "chatd", "stopping connections={}", self.server.connections());
        notify::notify_or_log("STOPPING=1");
        if let Some(m) = &mut self.mdns {
            m.shutdown(now.instant);
        }
        for l in self.listeners.drain(..) {
            let _ = self.epoll.delete(&l.socket);
        }
        self.accept_paused_until = None;
        self.shutdown_deadline = Some(now.instant + SHUTDOWN_BOUND);
        self.server.shutdown(now, SHUTDOWN_TEXT);
    }

    /// Take the connections the core wants closed; each lingers until its queue is written.
    fn take_closes(&mut self, now: Now) {
        while let Some(id) = self.server.poll_close() {
            let until = self.shutdown_deadline.unwrap_or(now.instant + LINGER);
            match self
                .conns
                .get_mut(id.index())
                .and_then(Option::as_mut)
                .filter(|c| c.id == id)
            {
                Some(c) => {
                    if c.closing_until.replace(until).is_none() {
                        self.lingering += 1;
                    }
                }
                None => self.server.closed(now, id, CloseReason::Closed),
            }
        }
    }

    /// Write out what connections have pending: to every connection after a line for
    /// everyone was stored, a socket became writable again, or while connections linger;
    /// else only to those the core names ([`Server::poll_output`]). A turn that gave nobody
    /// anything new costs nothing per connection.
    fn service_writes(&mut self, now: Now) {
        let broadcasts = self.server.broadcasts();
        if broadcasts != self.written_broadcasts
            || self.lingering > 0
            || std::mem::take(&mut self.writable)
        {
            self.written_broadcasts = broadcasts;
            while self.server.poll_output().is_some() {}
            for idx in 0..self.conns.len() {
                self.write_conn(now, idx);
            }
        } else {
            while let Some(id) = self.server.poll_output() {
                self.write_conn(now, id.index());
            }
        }
    }

    /// Write connection `idx`'s pending bytes with gather writes, keep its epoll interest in
    /// step, and close it if it lingers and is done or out of time.
    fn write_conn(&mut self, now: Now, idx: usize) {
        let Some(c) = self.conns.get_mut(idx).and_then(Option::as_mut) else {
            return;
        };
        if c.tls.is_some() {
            self.write_tls(now, idx);
            return;
        }
        let id = c.id;
        let pending = match self.server.flush(id, &mut Sock(&c.stream)) {
            Ok(()) => false,
            Err(nb::Error::WouldBlock) => true,
            Err(nb::Error::Other(e)) => {
                self.write_failed(now, idx, &e);
                return;
            }
        };
        let want = match c.closing_until {
            Some(until) if !pending || now.instant >= until => {
                self.close_conn(now, idx);
                return;
            }
            Some(_) => EpollFlags::EPOLLOUT,
            None if pending => EpollFlags::EPOLLIN | EpollFlags::EPOLLOUT,
            None => EpollFlags::EPOLLIN,
        };
        c.set_interest(&self.epoll, idx, want);
    }

    /// Take connection `idx` out of the table, keeping the counts of lingering and TLS ones.
    fn take_conn(&mut self, idx: usize) -> Option<Conn> {
        let c = self.conns.get_mut(idx).and_then(Option::take)?;
        if c.closing_until.is_some() {
            self.lingering = self.lingering.saturating_sub(1);
        }
        if c.tls.is_some() {
            self.tls_conns = self.tls_conns.saturating_sub(1);
        }
        Some(c)
    }

    /// A write to connection `idx` failed with `e`: drop it and tell the core why it went (one
    /// that was closing anyway has just closed).
    fn write_failed(&mut self, now: Now, idx: usize, e: &io::Error) {
        if let Some(c) = self.take_conn(idx) {
            let _ = self.epoll.delete(&c.stream);
            let reason = if c.closing_until.is_some() {
                CloseReason::Closed
            } else {
                socket::close_reason(e)
            };
            self.server.closed(now, c.id, reason);
        }
    }

    /// Drop a connection's socket; the core already knows it is gone (or is told next).
    fn forget(&mut self, idx: usize) {
        if let Some(c) = self.take_conn(idx) {
            let _ = self.epoll.delete(&c.stream);
        }
    }

    /// Close a connection the core asked to close, and report it closed.
    fn close_conn(&mut self, now: Now, idx: usize) {
        if let Some(c) = self.take_conn(idx) {
            let _ = self.epoll.delete(&c.stream);
            socket::drain(&c.stream);
            drop(c.stream);
            self.server.closed(now, c.id, CloseReason::Closed);
        }
    }

    /// Close whatever is left and save the history.
    fn finish(&mut self, now: Now) {
        for idx in 0..self.conns.len() {
            self.close_conn(now, idx);
        }
        if let Some(store) = &mut self.store {
            store.save_logged(&self.server, true);
        }
        info!(target: "chatd", "stopped");
    }
}

//! chatd on the LAN without an address: it answers multicast DNS itself (RFC 6762/6763), as
//! `NAME._chatd._tcp.local` (and `_irc._tcp` for an IRC listener), so `chatc` and any DNS-SD
//! browser (`avahi-browse`) find it.
//!
//! [`Mdns`] ties [`chat_mdns::Responder`] (the protocol, no I/O) to two UDP sockets
//! ([`sockets`]) on the daemon's epoll loop, to the interfaces ([`interfaces`], scanned again
//! every [`RESCAN`]) and to what is announced ([`announce`]). Packets are read and answered
//! in fixed buffers allocated here, once: a query costs no allocation, and nothing blocks.

pub mod announce;
pub mod interfaces;
pub mod sockets;

use std::fmt::Write as _;
use std::io;
use std::net::{IpAddr, TcpListener};

use chat_core::{Duration, Instant};
use chat_mdns::responder::Which;
use chat_mdns::{Event, Family, HostLabel, InstanceLabel, Responder, Source, MAX_PACKET, SEND_MAX};
use log::{debug, info, warn, Level};
use nix::sys::epoll::{Epoll, EpollEvent, EpollFlags};
use nix::sys::socket::{getsockopt, sockopt};

pub use self::announce::{Announcement, Facts, Kind, Listener};
use self::interfaces::Found;
use self::sockets::Sockets;

/// How often the interfaces are scanned again (new links, new addresses).
pub const RESCAN: Duration = Duration::from_secs(30);
/// Epoll token of the IPv4 socket (well above connection and listener tokens).
pub const TOKEN_V4: u64 = 1 << 48;
/// Epoll token of the IPv6 socket.
pub const TOKEN_V6: u64 = (1 << 48) + 1;
/// Packets read from one socket per wake-up.
const READS_PER_WAKE: usize = 32;

/// What `--mdns` and `--mdns-name` asked for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MdnsSettings {
    /// Whether to announce chatd at all.
    pub enabled: bool,
    /// The instance name; `None` for the host name.
    pub name: Option<String>,
}

/// Return a listening socket as the announcement sees it: where it listens (and whether an
/// IPv6 wildcard also takes IPv4) and the `kind` of listener it is.
pub fn listener(socket: &TcpListener, kind: Kind) -> Option<Listener> {
    let addr = socket.local_addr().ok()?;
    let dual_stack = addr.is_ipv6() && !getsockopt(socket, sockopt::Ipv6V6Only).unwrap_or(true);
    Some(Listener {
        addr,
        dual_stack,
        kind,
    })
}

/// Start mDNS for `listeners` if `settings` ask for it, and add it to the epoll set; `None`
/// (with a note saying why) when it is off or cannot run, which never stops chatd. `facts`
/// says whether a password is asked and, once TLS exists, the certificate's fingerprint.
pub fn start_on(
    settings: &MdnsSettings,
    listeners: Vec<Listener>,
    facts: Facts<'_>,
    epoll: &Epoll,
    notes: &mut Vec<(Level, String)>,
) -> Option<Mdns> {
    let now = crate::clock::monotonic();
    match Mdns::start(settings, listeners, facts, now, notes) {
        Ok(m) => match m.register(epoll) {
            Ok(()) => Some(m),
            Err(e) => {
                notes.push((
                    Level::Warn,
                    format!("mdns-off reason=\"cannot watch its sockets\" error=\"{e}\""),
                ));
                None
            }
        },
        Err(off) => {
            notes.push((off.level, off.line));
            None
        }
    }
}

/// The responder, its sockets and buffers.
pub struct Mdns {
    responder: Responder,
    sockets: Sockets,
    /// The listeners and facts announced; SIGHUP may change the facts.
    announcement: Announcement,
    found: Vec<Found>,
    ifaces: Vec<chat_mdns::Interface>,
    next_scan: Instant,
    recv_buf: Vec<u8>,
    send_buf: Vec<u8>,
}

impl std::fmt::Debug for Mdns {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mdns")
            .field("instance", self.responder.instance())
            .finish_non_exhaustive()
    }
}

/// Why mDNS is not running, as one log line.
#[derive(Debug)]
pub struct Off {
    /// How loud to log it.
    pub level: Level,
    /// The line.
    pub line: String,
}

impl Mdns {
    /// Open the sockets and make the responder, or say why mDNS is off. Nothing is sent yet;
    /// `notes` collects lines for the log (written once logging is set up).
    pub fn start(
        settings: &MdnsSettings,
        listeners: Vec<Listener>,
        facts: Facts<'_>,
        now: Instant,
        notes: &mut Vec<(Level, String)>,
    ) -> Result<Mdns, Off> {
        let off = |level, reason: &str| Off {
            level,
            line: format!("mdns-off reason=\"{reason}\""),
        };
        if !settings.enabled {
            return Err(off(Level::Debug, "--mdns off"));
        }
        let announcement = Announcement::new(listeners, facts);
        let services = announcement
            .services()
            .map_err(|_| off(Level::Warn, "the TXT record is too long"))?;
        if services.is_empty() {
            // Not worth more than a debug line: nothing on the LAN could connect anyway.
            return Err(off(
                Level::Debug,
                "no listener is reachable from the network (loopback only)",
            ));
        }
        let (sockets, v6_error) = Sockets::open().map_err(|e| Off {
            level: Level::Warn,
            line: format!("mdns-off reason=\"cannot bind UDP port 5353\" error=\"{e}\""),
        })?;
        if let Some(e) = v6_error {
            notes.push((
                Level::Info,
                format!("mdns-ipv4-only reason=\"no IPv6 socket on UDP port 5353\" error=\"{e}\""),
            ));
        }
        let hostname = nix::unistd::gethostname()
            .ok()
            .and_then(|h| h.into_string().ok())
            .unwrap_or_default();
        let instance = InstanceLabel::new(settings.name.as_deref().unwrap_or(&hostname));
        let host = HostLabel::from_hostname(&hostname);
        let seed =
            u64::from(std::process::id()) ^ now.duration_since(Instant::ZERO).as_nanos() as u64;
        let responder = Responder::new(now, instance, host, &services, seed)
            .map_err(|e| off(Level::Warn, &e.to_string()))?;
        let mut m = Mdns {
            responder,
            sockets,
            announcement,
            found: Vec::new(),
            ifaces: Vec::new(),
            next_scan: now,
            recv_buf: vec![0; MAX_PACKET],
            send_buf: vec![0; SEND_MAX],
        };
        m.rescan(now, notes);
        Ok(m)
    }

    /// Add the sockets to the epoll set.
    pub fn register(&self, epoll: &Epoll) -> io::Result<()> {
        for (family, token) in [(Family::V4, TOKEN_V4), (Family::V6, TOKEN_V6)] {
            if let Some(s) = self.sockets.socket(family) {
                epoll.add(s, EpollEvent::new(EpollFlags::EPOLLIN, token))?;
            }
        }
        Ok(())
    }

    /// Return whether `token` is one of ours.
    pub fn owns(token: u64) -> bool {
        token == TOKEN_V4 || token == TOKEN_V6
    }

    /// Return a line describing what is announced, for the log at start.
    pub fn describe(&self) -> String {
        let mut line = format!(
            "mdns instance={:?} host={}",
            self.responder.instance().as_str(),
            self.responder.host()
        );
        let _ = write!(line, " services=");
        for (i, s) in self.responder.services().iter().enumerate() {
            let sep = if i == 0 { "" } else { "," };
            let _ = write!(line, "{sep}{}:{}", s.kind, s.port);
        }
        let _ = write!(line, " interfaces={}", self.interface_names());
        line
    }

    fn interface_names(&self) -> String {
        if self.found.is_empty() {
            return "none".to_string();
        }
        self.found
            .iter()
            .map(|f| f.name.as_str())
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Read what arrived on the socket of `token` and hand it to the responder.
    pub fn on_readable(&mut self, now: Instant, token: u64) {
        let family = if token == TOKEN_V6 {
            Family::V6
        } else {
            Family::V4
        };
        for _ in 0..READS_PER_WAKE {
            match self.sockets.recv(family, &mut self.recv_buf) {
                Ok(Some(r)) => {
                    let packet = self.recv_buf.get(..r.len).unwrap_or_default();
                    let source = Source {
                        addr: r.from,
                        iface: r.iface,
                    };
                    self.responder.handle(now, packet, source);
                }
                Ok(None) => {}
                Err(nb::Error::WouldBlock) => return,
                Err(nb::Error::Other(e)) => {
                    debug!(target: "chatd", "mdns-recv-failed error=\"{e}\"");
                    return;
                }
            }
        }
    }

    /// Do what is due: scan the interfaces again, send what the responder composed, log
    /// its events.
    pub fn drive(&mut self, now: Instant) {
        if now >= self.next_scan {
            let mut notes = Vec::new();
            self.rescan(now, &mut notes);
            for (level, line) in notes {
                log::log!(target: "chatd", level, "{line}");
            }
        }
        while let Some(t) = self.responder.poll_transmit(now, &mut self.send_buf) {
            let Some(iface) = self.ifaces.iter().find(|i| i.index() == t.iface) else {
                continue;
            };
            let bytes = self.send_buf.get(..t.len).unwrap_or_default();
            if let Err(e) = self.sockets.send(&t, bytes, iface) {
                debug!(target: "chatd", "mdns-send-failed iface={} error=\"{e}\"", t.iface);
            }
        }
        while let Some(e) = self.responder.poll_event() {
            self.log_event(e);
        }
    }

    /// Return when [`Mdns::drive`] next has work.
    pub fn poll_at(&self) -> Instant {
        match self.responder.poll_at() {
            Some(t) => t.min(self.next_scan),
            None => self.next_scan,
        }
    }

    /// Say whether a password is now asked (SIGHUP); a change is announced.
    pub fn set_password(&mut self, now: Instant, on: bool) {
        if self.announcement.set_password(on) {
            self.reannounce(now);
        }
    }

    /// Set the fingerprint (`sha256:` and hex) of the certificate presented now, after SIGHUP
    /// loaded a new operator certificate; a change is announced in the TXT records.
    pub fn set_tls_fingerprint(&mut self, now: Instant, fingerprint: Option<&str>) {
        if self.announcement.set_tls_fingerprint(fingerprint) {
            self.reannounce(now);
        }
    }

    /// Hand the responder the services as they are now; it announces what changed.
    fn reannounce(&mut self, now: Instant) {
        match self.announcement.services() {
            Ok(services) => {
                if let Err(e) = self.responder.set_services(now, &services) {
                    warn!(target: "chatd", "mdns-update-failed error=\"{e}\"");
                }
            }
            Err(e) => warn!(target: "chatd", "mdns-update-failed error=\"{e}\""),
        }
    }

    /// Say goodbye: send every record with TTL 0, now.
    pub fn shutdown(&mut self, now: Instant) {
        self.responder.shutdown(now);
        self.next_scan = Instant::from_millis(u64::MAX);
        self.drive(now);
    }

    /// Scan the interfaces, join the group where new, and tell the responder.
    fn rescan(&mut self, now: Instant, notes: &mut Vec<(Level, String)>) {
        self.next_scan = now + RESCAN;
        let listeners = self.announcement.listeners();
        let accepts = |ip: IpAddr| listeners.iter().any(|l| l.accepts(ip));
        let found = match interfaces::scan(accepts) {
            Ok(f) => f,
            Err(e) => {
                notes.push((
                    Level::Warn,
                    format!("mdns-interfaces-unreadable error=\"{e}\""),
                ));
                return;
            }
        };
        if found == self.found {
            return;
        }
        let first = self.found.is_empty() && self.ifaces.is_empty();
        self.found = found;
        self.ifaces = self.found.iter().map(|f| f.iface.clone()).collect();
        for (index, e) in self.sockets.join(&self.ifaces) {
            let name = self
                .found
                .iter()
                .find(|f| f.iface.index() == index)
                .map_or("?", |f| f.name.as_str());
            notes.push((
                Level::Warn,
                format!("mdns-join-failed interface={name} error=\"{e}\""),
            ));
        }
        self.responder.set_interfaces(now, &self.ifaces);
        if !first {
            // The first scan is part of the `mdns` line at start.
            notes.push((
                Level::Info,
                format!("mdns-interfaces interfaces={}", self.interface_names()),
            ));
        }
    }

    fn log_event(&self, e: Event) {
        let instance = self.responder.instance().as_str();
        let host = self.responder.host();
        match e {
            Event::Announced => {
                info!(target: "chatd", "mdns-announced instance={instance:?} host={host}");
            }
            Event::Renamed(Which::Instance) => {
                warn!(target: "chatd", "mdns-renamed what=instance reason=\"name taken on the network\" instance={instance:?}");
            }
            Event::Renamed(Which::Host) => {
                warn!(target: "chatd", "mdns-renamed what=host reason=\"name taken on the network\" host={host}");
            }
            Event::Conflict(which) => {
                let what = match which {
                    Which::Instance => "instance",
                    Which::Host => "host",
                };
                warn!(target: "chatd", "mdns-conflict what={what} instance={instance:?} host={host}; probing again");
            }
            Event::LostTieBreak => {
                info!(target: "chatd", "mdns-tie-break instance={instance:?}; probing again in a second");
            }
        }
    }
}

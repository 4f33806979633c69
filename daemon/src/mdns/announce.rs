//! What chatd announces for its listeners: the one table to extend when a kind of listener
//! is added. Each kind is either a DNS-SD service of its own (`_chatd._tcp`, `_irc._tcp`) or a
//! TLS port mentioned in the TXT record of the service of the same dialect (`tls=PORT`, with
//! `tlsfp=sha256:…` when the certificate's fingerprint is known).

use std::net::{IpAddr, SocketAddr};

use chat_mdns::service::{txt_for, TlsTxt};
use chat_mdns::txt::TxtFull;
use chat_mdns::{Service, ServiceType};

/// A kind of listener (docs: the listener conventions): its dialect and whether it is TLS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The native protocol, plain (`--listen`).
    Native,
    /// IRC, plain (`--irc-listen`).
    Irc,
    /// The native protocol over TLS (`--tls-listen`).
    NativeTls,
    /// IRC over TLS (`--irc-tls-listen`).
    IrcTls,
}

impl Kind {
    /// Return the kind of a listener that speaks `dialect`, over TLS or not.
    pub fn of(dialect: chat_core::Dialect, tls: bool) -> Kind {
        match (dialect, tls) {
            (chat_core::Dialect::Native, false) => Kind::Native,
            (chat_core::Dialect::Irc, false) => Kind::Irc,
            (chat_core::Dialect::Native, true) => Kind::NativeTls,
            (chat_core::Dialect::Irc, true) => Kind::IrcTls,
        }
    }
}

/// How a kind of listener is announced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Announce {
    /// As a service of this type.
    Service(ServiceType),
    /// As the `tls` key of the service of this type (or as that service itself, with `tls`
    /// equal to its port, when the kind has no plain listener).
    TlsOf(ServiceType),
}

/// The table: how each kind of listener is announced.
const TABLE: [(Kind, Announce); 4] = [
    (Kind::Native, Announce::Service(ServiceType::Chatd)),
    (Kind::Irc, Announce::Service(ServiceType::Irc)),
    (Kind::NativeTls, Announce::TlsOf(ServiceType::Chatd)),
    (Kind::IrcTls, Announce::TlsOf(ServiceType::Irc)),
];

/// A listening socket as the announcement sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Listener {
    /// Where it listens.
    pub addr: SocketAddr,
    /// Whether an IPv6 wildcard socket also accepts IPv4 (`IPV6_V6ONLY` off).
    pub dual_stack: bool,
    /// What it speaks.
    pub kind: Kind,
}

impl Listener {
    /// Return whether people on the LAN can reach it (it is not bound to loopback).
    fn reachable(&self) -> bool {
        !self.addr.ip().to_canonical().is_loopback()
    }

    /// Return whether it accepts connections to `ip`.
    pub fn accepts(&self, ip: IpAddr) -> bool {
        let own = self.addr.ip();
        if !self.reachable() {
            return false;
        }
        match (own, ip) {
            (IpAddr::V4(a), IpAddr::V4(_)) if a.is_unspecified() => true,
            (IpAddr::V6(a), IpAddr::V6(_)) if a.is_unspecified() => true,
            (IpAddr::V6(a), IpAddr::V4(_)) if a.is_unspecified() => self.dual_stack,
            _ => own.to_canonical() == ip,
        }
    }
}

/// What the TXT records say beyond the listeners.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Facts<'a> {
    /// Whether a password is asked.
    pub password: bool,
    /// The TLS certificate's fingerprint (`sha256:` and hex), once TLS exists.
    pub tls_fingerprint: Option<&'a str>,
}

/// What chatd announces, kept while it runs: the listeners and the facts, which SIGHUP may
/// change (a password added or removed, a new operator certificate). Changing one fact keeps
/// the other.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Announcement {
    listeners: Vec<Listener>,
    password: bool,
    tls_fingerprint: Option<String>,
}

impl Announcement {
    /// Announce `listeners` with `facts`.
    pub fn new(listeners: Vec<Listener>, facts: Facts<'_>) -> Announcement {
        Announcement {
            listeners,
            password: facts.password,
            tls_fingerprint: facts.tls_fingerprint.map(str::to_string),
        }
    }

    /// Return the listeners announced.
    pub fn listeners(&self) -> &[Listener] {
        &self.listeners
    }

    /// Return the services to announce now (see [`services`]).
    pub fn services(&self) -> Result<Vec<Service>, TxtFull> {
        let facts = Facts {
            password: self.password,
            tls_fingerprint: self.tls_fingerprint.as_deref(),
        };
        services(&self.listeners, facts)
    }

    /// Say whether a password is asked; return whether that changed anything.
    pub fn set_password(&mut self, on: bool) -> bool {
        std::mem::replace(&mut self.password, on) != on
    }

    /// Set the fingerprint of the certificate presented now; return whether it changed.
    pub fn set_tls_fingerprint(&mut self, fingerprint: Option<&str>) -> bool {
        if self.tls_fingerprint.as_deref() == fingerprint {
            return false;
        }
        self.tls_fingerprint = fingerprint.map(str::to_string);
        true
    }
}

/// Return the services to announce for `listeners` (only those reachable from the LAN; the
/// first port of each kind).
pub fn services(listeners: &[Listener], facts: Facts<'_>) -> Result<Vec<Service>, TxtFull> {
    let port_of = |kind: Kind| {
        listeners
            .iter()
            .find(|l| l.kind == kind && l.reachable())
            .map(|l| l.addr.port())
    };
    let mut out = Vec::new();
    for (kind, how) in TABLE {
        let Announce::Service(service) = how else {
            continue;
        };
        let tls_kind = TABLE
            .iter()
            .find(|(_, h)| *h == Announce::TlsOf(service))
            .map(|(k, _)| *k);
        let tls = tls_kind.and_then(port_of).map(|port| TlsTxt {
            port,
            fingerprint: facts.tls_fingerprint,
        });
        let Some(port) = port_of(kind).or(tls.map(|t| t.port)) else {
            continue;
        };
        out.push(Service {
            kind: service,
            port,
            txt: txt_for(service, facts.password, tls)?,
        });
    }
    Ok(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod test {
    use super::*;

    fn l(addr: &str, kind: Kind) -> Listener {
        Listener {
            addr: addr.parse().unwrap(),
            dual_stack: false,
            kind,
        }
    }

    const OPEN: Facts<'static> = Facts {
        password: false,
        tls_fingerprint: None,
    };

    #[test]
    fn each_kind_has_its_entry() {
        let ls = [
            l("0.0.0.0:5000", Kind::Native),
            l("[::]:5000", Kind::Native),
        ];
        let s = services(&ls, OPEN).unwrap();
        assert_eq!(s.len(), 1);
        assert_eq!((s[0].kind, s[0].port), (ServiceType::Chatd, 5000));
        assert_eq!(s[0].txt.get("password"), Some(Some(&b"no"[..])));
        let ls = [
            l("0.0.0.0:5000", Kind::Native),
            l("0.0.0.0:6667", Kind::Irc),
            l("0.0.0.0:5001", Kind::NativeTls),
        ];
        let fp = "sha256:00";
        let facts = Facts {
            password: true,
            tls_fingerprint: Some(fp),
        };
        let s = services(&ls, facts).unwrap();
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].txt.get("tls"), Some(Some(&b"5001"[..])));
        assert_eq!(s[0].txt.get("tlsfp"), Some(Some(fp.as_bytes())));
        assert_eq!((s[1].kind, s[1].port), (ServiceType::Irc, 6667));
        assert_eq!(s[1].txt.get("tls"), None, "no IRC TLS listener");
        assert_eq!(s[1].txt.get("password"), Some(Some(&b"yes"[..])));
    }

    #[test]
    fn a_new_fingerprint_reaches_every_tls_txt_and_keeps_the_password() {
        let ls = vec![
            l("0.0.0.0:5000", Kind::Native),
            l("0.0.0.0:5001", Kind::NativeTls),
            l("0.0.0.0:6667", Kind::Irc),
            l("0.0.0.0:6697", Kind::IrcTls),
        ];
        let (old, new) = (
            format!("sha256:{}", "0".repeat(64)),
            format!("sha256:{}", "f".repeat(64)),
        );
        let mut a = Announcement::new(
            ls,
            Facts {
                password: false,
                tls_fingerprint: Some(&old),
            },
        );
        let fps = |a: &Announcement| -> Vec<Vec<u8>> {
            a.services()
                .unwrap()
                .iter()
                .map(|s| s.txt.get("tlsfp").flatten().unwrap().to_vec())
                .collect()
        };
        assert_eq!(fps(&a), vec![old.as_bytes().to_vec(); 2]);
        assert!(a.set_password(true));
        assert!(!a.set_password(true), "no change, nothing to announce");
        assert!(a.set_tls_fingerprint(Some(&new)));
        assert!(!a.set_tls_fingerprint(Some(&new)));
        assert_eq!(fps(&a), vec![new.as_bytes().to_vec(); 2], "_chatd and _irc");
        for s in a.services().unwrap() {
            assert_eq!(s.txt.get("password"), Some(Some(&b"yes"[..])), "{s:?}");
        }
        assert!(a.set_password(false));
        assert_eq!(
            fps(&a),
            vec![new.as_bytes().to_vec(); 2],
            "the fingerprint stays"
        );
    }

    #[test]
    fn a_tls_only_kind_is_announced_on_its_tls_port() {
        let s = services(&[l("0.0.0.0:6697", Kind::IrcTls)], OPEN).unwrap();
        assert_eq!((s[0].kind, s[0].port), (ServiceType::Irc, 6697));
        assert_eq!(s[0].txt.get("tls"), Some(Some(&b"6697"[..])));
    }

    #[test]
    fn loopback_is_not_announced() {
        let ls = [
            l("127.0.0.1:5000", Kind::Native),
            l("[::1]:5000", Kind::Native),
        ];
        assert!(services(&ls, OPEN).unwrap().is_empty());
        let ls = [
            l("127.0.0.1:5000", Kind::Native),
            l("10.0.0.1:6000", Kind::Native),
        ];
        assert_eq!(services(&ls, OPEN).unwrap()[0].port, 6000);
    }

    #[test]
    fn which_addresses_a_listener_accepts() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        let any4 = l("0.0.0.0:5000", Kind::Native);
        assert!(any4.accepts(ip("10.0.0.1")) && !any4.accepts(ip("fe80::1")));
        let mut any6 = l("[::]:5000", Kind::Native);
        assert!(any6.accepts(ip("fe80::1")) && !any6.accepts(ip("10.0.0.1")));
        any6.dual_stack = true;
        assert!(any6.accepts(ip("10.0.0.1")));
        let one = l("10.0.0.1:5000", Kind::Native);
        assert!(one.accepts(ip("10.0.0.1")) && !one.accepts(ip("10.0.0.2")));
        assert!(!l("127.0.0.1:5000", Kind::Native).accepts(ip("127.0.0.1")));
    }
}

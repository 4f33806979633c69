//! The browser chatc runs: ask who offers a service type, and assemble the answers into
//! [`Server`]s (an instance name, a host, a port, addresses and the TXT keys).
//!
//! It keeps a bounded number of instances and hosts, so a noisy or hostile network cannot
//! make it grow without end; anything malformed in a packet ends the reading of that packet.

use std::net::IpAddr;

use domain::base::iana::{Class, Opcode, Rcode, Rtype};
use domain::base::message_builder::{MessageBuilder, StaticCompressor};
use domain::base::name::ToLabelIter;
use domain::base::{Message, ParsedName, ParsedRecord, Question, ToName};
use domain::dep::octseq::Array;
use domain::rdata::{Aaaa, Ptr, Srv, Txt, A};

use crate::names::{self, DnsName, NameTooLong};
use crate::records::{IN, TOP_BIT};
use crate::service::ServiceType;
use crate::{txt, SEND_MAX};

/// The most service instances remembered.
pub const MAX_INSTANCES: usize = 64;
/// The most host names remembered.
pub const MAX_HOSTS: usize = 64;
/// The most addresses remembered per host.
pub const MAX_HOST_ADDRS: usize = 16;
/// The most questions in one follow-up query.
const MAX_QUESTIONS: usize = 16;

/// An address of a server and the interface it was learnt on (the scope a link-local IPv6
/// address needs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FoundAddr {
    /// The address.
    pub ip: IpAddr,
    /// The kernel's index of the interface the answer came in on.
    pub iface: u32,
}

impl FoundAddr {
    /// Return how good an address this is to connect to: IPv4 first, then IPv6 other than
    /// link-local, then link-local IPv6 (which needs its interface); lower is better.
    fn rank(&self) -> u8 {
        match self.ip {
            IpAddr::V4(a) if !a.is_link_local() => 0,
            IpAddr::V4(_) => 1,
            IpAddr::V6(a) if (a.segments()[0] & 0xffc0) != 0xfe80 => 2,
            IpAddr::V6(_) => 3,
        }
    }

    /// Return whether the address needs an interface to be reached (IPv6 link-local).
    pub fn needs_scope(&self) -> bool {
        self.rank() == 3
    }
}

/// A server found on the network, with everything needed to connect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Server {
    /// The instance name people see, e.g. `Studio`.
    pub instance: String,
    /// The host it runs on, e.g. `chatd-studio.local`.
    pub host: String,
    /// Its TCP port.
    pub port: u16,
    /// Its addresses, best first (see [`Server::best`]).
    pub addrs: Vec<FoundAddr>,
    /// Its TXT keys and values, in order, as text (invalid UTF-8 replaced).
    pub txt: Vec<(String, Option<String>)>,
}

impl Server {
    /// Return the value of TXT key `key` (first occurrence, key compared without case).
    pub fn txt_value(&self, key: &str) -> Option<&str> {
        self.txt
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .and_then(|(_, v)| v.as_deref())
    }

    /// Return the address to connect to: IPv4 before IPv6, link-local IPv6 last.
    pub fn best(&self) -> Option<FoundAddr> {
        self.addrs.first().copied()
    }
}

/// A service instance as learnt so far.
#[derive(Debug, Clone)]
struct Instance {
    name: DnsName,
    srv: Option<(u16, DnsName)>,
    txt: Option<Vec<u8>>,
}

/// A host and its addresses as learnt so far.
#[derive(Debug, Clone)]
struct Host {
    name: DnsName,
    addrs: Vec<FoundAddr>,
}

/// Collects the answers about one service type.
#[derive(Debug, Clone)]
pub struct Browser {
    type_name: DnsName,
    instances: Vec<Instance>,
    hosts: Vec<Host>,
}

impl Browser {
    /// Make a browser for `kind` (e.g. `_chatd._tcp.local`).
    pub fn new(kind: ServiceType) -> Result<Browser, NameTooLong> {
        let type_name = names::from_labels(&[kind.label().as_bytes(), b"_tcp", b"local"])?;
        Ok(Browser {
            type_name,
            instances: Vec::new(),
            hosts: Vec::new(),
        })
    }

    /// Compose the query for the service type (a PTR question) into `out`; return its length.
    pub fn query(&self, out: &mut [u8]) -> Option<usize> {
        let mut q = MessageBuilder::from_target(StaticCompressor::new(Array::<SEND_MAX>::new()))
            .ok()?
            .question();
        q.push(Question::new(
            &self.type_name,
            Rtype::PTR,
            Class::from_int(IN),
        ))
        .ok()?;
        copy_out(q.finish().as_slice(), out)
    }

    /// Compose a query for what is still missing (SRV and TXT of instances, addresses of
    /// their hosts) into `out`; `None` when nothing is missing.
    pub fn follow_up(&self, out: &mut [u8]) -> Option<usize> {
        let mut wanted: Vec<(&DnsName, Rtype)> = Vec::new();
        for i in &self.instances {
            match &i.srv {
                None => wanted.push((&i.name, Rtype::SRV)),
                Some((_, target)) if self.host(target).is_none_or(|h| h.addrs.is_empty()) => {
                    wanted.push((target, Rtype::A));
                    wanted.push((target, Rtype::AAAA));
                }
                Some(_) => {}
            }
            if i.txt.is_none() {
                wanted.push((&i.name, Rtype::TXT));
            }
        }
        if wanted.is_empty() {
            return None;
        }
        let mut q = MessageBuilder::from_target(StaticCompressor::new(Array::<SEND_MAX>::new()))
            .ok()?
            .question();
        for (name, rtype) in wanted.into_iter().take(MAX_QUESTIONS) {
            if q.push(Question::new(name, rtype, Class::from_int(IN)))
                .is_err()
            {
                break;
            }
        }
        copy_out(q.finish().as_slice(), out)
    }

    /// Read one packet that arrived on interface `iface`; anything but an mDNS response is
    /// ignored, and so is the rest of a packet after a malformed record.
    pub fn handle(&mut self, packet: &[u8], iface: u32) {
        let Ok(msg) = Message::from_octets(packet) else {
            return;
        };
        let h = msg.header();
        if !h.qr() || h.opcode() != Opcode::QUERY || h.rcode() != Rcode::NOERROR {
            return;
        }
        for section in [msg.answer(), msg.additional()] {
            let Ok(section) = section else {
                return;
            };
            for rr in section {
                let Ok(rr) = rr else {
                    return;
                };
                if rr.class().to_int() & !TOP_BIT == IN {
                    self.record(&rr, iface);
                }
            }
        }
    }

    /// Learn from one record.
    fn record(&mut self, rr: &ParsedRecord<'_, &[u8]>, iface: u32) {
        let gone = rr.ttl().as_secs() == 0;
        let owner = rr.owner();
        match rr.rtype() {
            Rtype::PTR if owner.name_eq(&self.type_name) => {
                let Ok(Some(p)) = rr.to_record::<Ptr<ParsedName<&[u8]>>>() else {
                    return;
                };
                let target = p.data().ptrdname();
                if !self.is_instance(target) {
                    return;
                }
                if gone {
                    self.instances.retain(|i| !target.name_eq(&i.name));
                } else {
                    self.instance(target);
                }
            }
            Rtype::SRV if self.is_instance(&owner) => {
                let Ok(Some(srv)) = rr.to_record::<Srv<ParsedName<&[u8]>>>() else {
                    return;
                };
                let data = srv.data();
                let value = if gone {
                    None
                } else {
                    let Ok(target) = data.target().try_to_name::<Array<255>>() else {
                        return;
                    };
                    Some((data.port(), target))
                };
                if let Some(i) = self.instance(&owner) {
                    i.srv = value;
                }
            }
            Rtype::TXT if self.is_instance(&owner) => {
                let Ok(Some(t)) = rr.to_record::<Txt<&[u8]>>() else {
                    return;
                };
                let mut raw = Array::<{ txt::TXT_MAX }>::new();
                let value = if gone {
                    None
                } else {
                    use domain::base::rdata::ComposeRecordData as _;
                    // A TXT record bigger than chatd ever sends is kept as far as it fits
                    // whole strings; here that means not at all.
                    t.data()
                        .compose_rdata(&mut raw)
                        .ok()
                        .map(|()| raw.as_ref().to_vec())
                };
                if let Some(i) = self.instance(&owner) {
                    i.txt = value;
                }
            }
            Rtype::A | Rtype::AAAA => {
                let ip = match rr.rtype() {
                    Rtype::A => match rr.to_record::<A>() {
                        Ok(Some(a)) => IpAddr::V4(a.data().addr()),
                        _ => return,
                    },
                    _ => match rr.to_record::<Aaaa>() {
                        Ok(Some(a)) => IpAddr::V6(a.data().addr()),
                        _ => return,
                    },
                };
                let found = FoundAddr { ip, iface };
                if gone {
                    if let Some(h) = self.hosts.iter_mut().find(|h| owner.name_eq(&h.name)) {
                        h.addrs.retain(|a| a.ip != ip);
                    }
                    return;
                }
                let Some(h) = self.host_entry(&owner) else {
                    return;
                };
                if !h.addrs.iter().any(|a| a.ip == ip) && h.addrs.len() < MAX_HOST_ADDRS {
                    h.addrs.push(found);
                }
            }
            _ => {}
        }
    }

    /// Return whether `name` is an instance of our service type: one label, then the type.
    fn is_instance(&self, name: &impl ToName) -> bool {
        name.iter_labels().count() == self.type_name.label_count() + 1
            && name.ends_with(&self.type_name)
    }

    /// Return the entry of instance `name`, made if new and there is room.
    fn instance(&mut self, name: &impl ToName) -> Option<&mut Instance> {
        let at = match self.instances.iter().position(|i| name.name_eq(&i.name)) {
            Some(at) => at,
            None if self.instances.len() < MAX_INSTANCES => {
                let name = name.try_to_name::<Array<255>>().ok()?;
                self.instances.push(Instance {
                    name,
                    srv: None,
                    txt: None,
                });
                self.instances.len() - 1
            }
            None => return None,
        };
        self.instances.get_mut(at)
    }

    /// Return the entry of host `name`, made if new and there is room.
    fn host_entry(&mut self, name: &impl ToName) -> Option<&mut Host> {
        let at = match self.hosts.iter().position(|h| name.name_eq(&h.name)) {
            Some(at) => at,
            None if self.hosts.len() < MAX_HOSTS => {
                let name = name.try_to_name::<Array<255>>().ok()?;
                self.hosts.push(Host {
                    name,
                    addrs: Vec::new(),
                });
                self.hosts.len() - 1
            }
            None => return None,
        };
        self.hosts.get_mut(at)
    }

    /// Return the known host `name`.
    fn host(&self, name: &DnsName) -> Option<&Host> {
        self.hosts.iter().find(|h| name.name_eq(&h.name))
    }

    /// Return the servers known well enough to connect to (an SRV record and at least one
    /// address), sorted by instance name.
    pub fn servers(&self) -> Vec<Server> {
        let mut out: Vec<Server> = self
            .instances
            .iter()
            .filter_map(|i| {
                let (port, target) = i.srv.as_ref()?;
                let host = self.host(target)?;
                let mut addrs = host.addrs.clone();
                if addrs.is_empty() {
                    return None;
                }
                addrs.sort_by_key(FoundAddr::rank);
                let txt = i
                    .txt
                    .as_deref()
                    .map(|raw| {
                        txt::pairs(raw)
                            .map(|(k, v)| {
                                (
                                    String::from_utf8_lossy(k).into_owned(),
                                    v.map(|v| String::from_utf8_lossy(v).into_owned()),
                                )
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                Some(Server {
                    instance: first_label(&i.name),
                    host: host_text(target),
                    port: *port,
                    addrs,
                    txt,
                })
            })
            .collect();
        out.sort_by(|a, b| {
            a.instance
                .to_lowercase()
                .cmp(&b.instance.to_lowercase())
                .then_with(|| a.host.cmp(&b.host))
        });
        out
    }
}

/// Return the first label of `name` as text (invalid UTF-8 replaced).
fn first_label(name: &DnsName) -> String {
    name.iter_labels()
        .next()
        .map(|l| String::from_utf8_lossy(l.as_slice()).into_owned())
        .unwrap_or_default()
}

/// Return a host name as text: its labels joined by dots, lower case, no final dot.
fn host_text(name: &DnsName) -> String {
    let labels: Vec<String> = name
        .iter_labels()
        .filter(|l| !l.is_root())
        .map(|l| String::from_utf8_lossy(l.as_slice()).to_lowercase())
        .collect();
    labels.join(".")
}

/// Copy a composed message to `out`; `None` if it does not fit.
fn copy_out(msg: &[u8], out: &mut [u8]) -> Option<usize> {
    out.get_mut(..msg.len())?.copy_from_slice(msg);
    Some(msg.len())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod test {
    use domain::base::Ttl;

    use super::*;

    fn n(s: &str) -> DnsName {
        let labels: Vec<&[u8]> = s.split('.').map(str::as_bytes).collect();
        names::from_labels(&labels).unwrap()
    }

    /// A response holding `instance`'s PTR, SRV to `host`, and `host`'s `ips`, all with `ttl`.
    fn response(
        instance: &str,
        ttl: u32,
        host: &str,
        ips: &[IpAddr],
        txt: Option<&[u8]>,
    ) -> Vec<u8> {
        let mut m =
            MessageBuilder::from_target(StaticCompressor::new(Array::<SEND_MAX>::new())).unwrap();
        m.header_mut().set_qr(true);
        let mut a = m.answer();
        let inst = n(&format!("{instance}._chatd._tcp.local"));
        a.push((
            n("_chatd._tcp.local"),
            Class::IN,
            Ttl::from_secs(ttl),
            Ptr::new(&inst),
        ))
        .unwrap();
        let mut add = a.additional();
        add.push((
            &inst,
            Class::from_int(0x8001),
            Ttl::from_secs(ttl),
            Srv::new(0, 0, 5000, n(host)),
        ))
        .unwrap();
        if let Some(raw) = txt {
            add.push((
                &inst,
                Class::IN,
                Ttl::from_secs(ttl),
                Txt::from_octets(raw).unwrap(),
            ))
            .unwrap();
        }
        for ip in ips {
            match ip {
                IpAddr::V4(a) => add.push((n(host), Class::IN, Ttl::from_secs(ttl), A::new(*a))),
                IpAddr::V6(a) => add.push((n(host), Class::IN, Ttl::from_secs(ttl), Aaaa::new(*a))),
            }
            .unwrap();
        }
        add.finish().as_slice().to_vec()
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn assembles_servers_and_ranks_addresses() {
        let mut b = Browser::new(ServiceType::Chatd).unwrap();
        let ips = [ip("fe80::1"), ip("fd00::1"), ip("10.0.0.1")];
        b.handle(
            &response(
                "Studio",
                4500,
                "chatd-studio.local",
                &ips,
                Some(b"\x0bpassword=no"),
            ),
            3,
        );
        b.handle(
            &response("attic", 4500, "chatd-attic.local", &[ip("fe80::2")], None),
            3,
        );
        let found = b.servers();
        assert_eq!(found.len(), 2);
        assert_eq!(found[0].instance, "attic", "sorted without case");
        assert!(found[0].best().unwrap().needs_scope());
        assert_eq!(found[0].best().unwrap().iface, 3);
        assert_eq!(found[0].txt, vec![]);
        assert_eq!(found[1].instance, "Studio");
        let order: Vec<IpAddr> = found[1].addrs.iter().map(|a| a.ip).collect();
        assert_eq!(order, ips.iter().rev().copied().collect::<Vec<_>>());
        assert_eq!(found[1].txt_value("PASSWORD"), Some("no"));
        // attic's TXT is missing: the follow-up asks for it, and only for it.
        let mut buf = [0u8; SEND_MAX];
        let len = b.follow_up(&mut buf).unwrap();
        let q = Message::from_octets(&buf[..len]).unwrap();
        let qs: Vec<(String, Rtype)> = q
            .question()
            .map(|q| q.unwrap())
            .map(|q| (q.qname().to_string(), q.qtype()))
            .collect();
        assert_eq!(
            qs,
            vec![("attic._chatd._tcp.local".to_string(), Rtype::TXT)]
        );
    }

    #[test]
    fn a_goodbye_removes_a_server() {
        let mut b = Browser::new(ServiceType::Chatd).unwrap();
        b.handle(
            &response("Studio", 4500, "h.local", &[ip("10.0.0.1")], None),
            1,
        );
        assert_eq!(b.servers().len(), 1);
        b.handle(
            &response("Studio", 0, "h.local", &[ip("10.0.0.1")], None),
            1,
        );
        assert_eq!(b.servers().len(), 0);
    }

    #[test]
    fn other_services_queries_and_junk_are_ignored() {
        let mut b = Browser::new(ServiceType::Irc).unwrap();
        b.handle(
            &response("Studio", 4500, "h.local", &[ip("10.0.0.1")], None),
            1,
        );
        assert_eq!(
            b.servers().len(),
            0,
            "a _chatd._tcp answer is not _irc._tcp"
        );
        let mut chatd = Browser::new(ServiceType::Chatd).unwrap();
        let mut q = [0u8; SEND_MAX];
        let len = chatd.query(&mut q).unwrap();
        chatd.handle(&q[..len], 1);
        let good = response("Studio", 4500, "h.local", &[ip("10.0.0.1")], None);
        for cut in 0..good.len() {
            chatd.handle(&good[..cut], 1);
        }
        chatd.handle(&good, 1);
        assert_eq!(chatd.servers().len(), 1);
    }

    #[test]
    fn memory_is_bounded() {
        let mut b = Browser::new(ServiceType::Chatd).unwrap();
        for k in 0..(MAX_INSTANCES + 10) {
            let ips: Vec<IpAddr> = (0..40u8)
                .map(|i| IpAddr::from([10, 0, (k % 250) as u8, i]))
                .collect();
            b.handle(
                &response(&format!("s{k}"), 4500, &format!("h{k}.local"), &ips, None),
                1,
            );
        }
        let found = b.servers();
        assert!(found.len() <= MAX_INSTANCES);
        assert!(found.iter().all(|s| s.addrs.len() <= MAX_HOST_ADDRS));
        assert!(b.hosts.len() <= MAX_HOSTS);
    }
}

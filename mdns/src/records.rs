//! The records chatd answers for, named by [`Rec`] and gathered in [`Set`]s, and how each
//! goes into a message.
//!
//! For each service `i` (`Studio._chatd._tcp.local` on port 5000, say):
//! - `Ptr(i)`: `_chatd._tcp.local PTR Studio._chatd._tcp.local` (shared),
//! - `Srv(i)`: `Studio._chatd._tcp.local SRV 0 0 5000 chatd-studio.local` (unique),
//! - `Txt(i)`: `Studio._chatd._tcp.local TXT …` (unique),
//! - `Enum(i)`: `_services._dns-sd._udp.local PTR _chatd._tcp.local` (shared, RFC 6763 §9);
//!
//! and for the host, unique: `A` and `Aaaa`, one record per address of the interface the
//! message goes out on.

use domain::base::iana::{Class, Rtype};
use domain::base::message_builder::{PushError, RecordSectionBuilder};
use domain::base::wire::Composer;
use domain::base::Ttl;
use domain::rdata::{Aaaa, Ptr, Srv, A};

use crate::interface::Interface;
use crate::names::{self, DnsName, HostLabel, InstanceLabel, NameTooLong};
use crate::service::Service;

/// The most services announced at once.
pub const MAX_SERVICES: usize = 4;

/// Records per [`Set`]: four per service, then A and AAAA.
pub const RECORDS: usize = 4 * MAX_SERVICES + 2;

/// TTL of records that name a host (SRV, A, AAAA), in seconds (RFC 6762 section 10).
pub const HOST_TTL: u32 = 120;
/// TTL of the other records (PTR, TXT), in seconds.
pub const OTHER_TTL: u32 = 4500;
/// The most a TTL may be in a reply to a legacy (not from port 5353) query.
pub const LEGACY_TTL: u32 = 10;

/// The class IN.
pub const IN: u16 = 1;
/// The class ANY (in questions).
pub const ANY: u16 = 255;
/// The top bit of the class: cache-flush in a record, unicast-response in a question.
pub const TOP_BIT: u16 = 0x8000;

/// One of our records (for A and AAAA: all addresses of the interface at hand).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rec {
    /// The service type's PTR to the instance.
    Ptr(u8),
    /// The instance's SRV.
    Srv(u8),
    /// The instance's TXT.
    Txt(u8),
    /// The service enumeration PTR to the service type.
    Enum(u8),
    /// The host's IPv4 addresses.
    A,
    /// The host's IPv6 addresses.
    Aaaa,
}

impl Rec {
    /// Return the record's position in a [`Set`].
    pub fn index(self) -> usize {
        match self {
            Rec::Ptr(i) => 4 * usize::from(i),
            Rec::Srv(i) => 4 * usize::from(i) + 1,
            Rec::Txt(i) => 4 * usize::from(i) + 2,
            Rec::Enum(i) => 4 * usize::from(i) + 3,
            Rec::A => 4 * MAX_SERVICES,
            Rec::Aaaa => 4 * MAX_SERVICES + 1,
        }
    }

    /// Return the record at position `i` of a [`Set`].
    fn from_index(i: usize) -> Option<Rec> {
        let service = u8::try_from(i / 4).ok()?;
        Some(match i {
            _ if i == 4 * MAX_SERVICES => Rec::A,
            _ if i == 4 * MAX_SERVICES + 1 => Rec::Aaaa,
            _ if i < 4 * MAX_SERVICES => match i % 4 {
                0 => Rec::Ptr(service),
                1 => Rec::Srv(service),
                2 => Rec::Txt(service),
                _ => Rec::Enum(service),
            },
            _ => return None,
        })
    }

    /// Return whether only we may hold this name and type (so a different answer from
    /// someone else is a conflict, and the cache-flush bit is set).
    pub fn unique(self) -> bool {
        !matches!(self, Rec::Ptr(_) | Rec::Enum(_))
    }

    /// Return the record's normal TTL, in seconds.
    pub fn ttl(self) -> u32 {
        match self {
            Rec::Srv(_) | Rec::A | Rec::Aaaa => HOST_TTL,
            Rec::Ptr(_) | Rec::Txt(_) | Rec::Enum(_) => OTHER_TTL,
        }
    }
}

/// A set of [`Rec`]s.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Set(u32);

impl Set {
    /// No record.
    pub const EMPTY: Set = Set(0);

    /// Return the set with `r` added.
    #[must_use]
    pub fn with(self, r: Rec) -> Set {
        Set(self.0 | 1 << r.index())
    }

    /// Return the set without `r`.
    #[must_use]
    pub fn without(self, r: Rec) -> Set {
        Set(self.0 & !(1 << r.index()))
    }

    /// Return whether `r` is in the set.
    #[cfg(test)]
    pub fn contains(self, r: Rec) -> bool {
        self.0 & (1 << r.index()) != 0
    }

    /// Return the records in either set.
    #[must_use]
    pub fn union(self, other: Set) -> Set {
        Set(self.0 | other.0)
    }

    /// Return the records of `self` not in `other`.
    #[must_use]
    pub fn minus(self, other: Set) -> Set {
        Set(self.0 & !other.0)
    }

    /// Return whether the set is empty.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// Return whether the set holds a shared record (PTR), which is answered after a short
    /// random delay (RFC 6762 section 6).
    pub fn has_shared(self) -> bool {
        self.iter().any(|r| !r.unique())
    }

    /// Iterate over the records, in a fixed order.
    pub fn iter(self) -> impl Iterator<Item = Rec> {
        (0..RECORDS)
            .filter(move |i| self.0 & (1 << i) != 0)
            .filter_map(Rec::from_index)
    }
}

/// How TTLs are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TtlMode {
    /// The normal TTLs, with the cache-flush bit on unique records.
    Normal,
    /// At most [`LEGACY_TTL`], no cache-flush bit (a reply to a legacy query).
    Legacy,
    /// Zero: the records are going away.
    Goodbye,
    /// The normal TTLs without the cache-flush bit: proposed records in a probe.
    Probe,
}

/// A service's names, built once per configuration or rename.
#[derive(Debug, Clone)]
pub struct ServiceNames {
    /// What is announced.
    pub service: Service,
    /// `_chatd._tcp.local`.
    pub type_name: DnsName,
    /// `Studio._chatd._tcp.local`.
    pub instance: DnsName,
}

/// All our names.
#[derive(Debug, Clone)]
pub struct Records {
    /// `chatd-studio.local`.
    pub host: DnsName,
    /// `_services._dns-sd._udp.local`.
    pub enumeration: DnsName,
    /// One entry per service.
    pub services: heapless::Vec<ServiceNames, MAX_SERVICES>,
}

impl Records {
    /// Build the names for `services` (at most [`MAX_SERVICES`]; more are left out).
    pub fn new(
        instance: &InstanceLabel,
        host: &HostLabel,
        services: &[Service],
    ) -> Result<Records, NameTooLong> {
        let mut out = heapless::Vec::new();
        for s in services.iter().take(MAX_SERVICES) {
            let kind = s.kind.label().as_bytes();
            let names = ServiceNames {
                service: s.clone(),
                type_name: names::from_labels(&[kind, b"_tcp", b"local"])?,
                instance: names::from_labels(&[
                    instance.as_str().as_bytes(),
                    kind,
                    b"_tcp",
                    b"local",
                ])?,
            };
            // Cannot fail: `take` keeps the count within the capacity.
            let _ = out.push(names);
        }
        Ok(Records {
            host: names::from_labels(&[host.as_str().as_bytes(), b"local"])?,
            enumeration: names::from_labels(&[b"_services", b"_dns-sd", b"_udp", b"local"])?,
            services: out,
        })
    }

    /// Return every record we have on `iface`.
    pub fn all(&self, iface: &Interface) -> Set {
        let mut set = Set::EMPTY;
        for i in 0..self.services.len() {
            let i = i as u8;
            set = set
                .with(Rec::Ptr(i))
                .with(Rec::Srv(i))
                .with(Rec::Txt(i))
                .with(Rec::Enum(i));
        }
        self.with_addresses(set, iface)
    }

    /// Return `set` with A and AAAA added where `iface` has such addresses.
    pub fn with_addresses(&self, set: Set, iface: &Interface) -> Set {
        let mut set = set;
        if iface.v4().next().is_some() {
            set = set.with(Rec::A);
        }
        if iface.v6().next().is_some() {
            set = set.with(Rec::Aaaa);
        }
        set
    }

    /// Return the records worth adding to an answer holding `answers` (RFC 6763 section 12).
    pub fn additional_for(&self, answers: Set, iface: &Interface) -> Set {
        let mut extra = Set::EMPTY;
        for r in answers.iter() {
            match r {
                Rec::Ptr(i) => {
                    extra = self.with_addresses(extra.with(Rec::Srv(i)).with(Rec::Txt(i)), iface);
                }
                Rec::Srv(_) => extra = self.with_addresses(extra, iface),
                _ => {}
            }
        }
        extra.minus(answers)
    }

    /// Push record `r` (every address, for A and AAAA) to a section.
    pub fn push<T: Composer, B: RecordSectionBuilder<T>>(
        &self,
        section: &mut B,
        r: Rec,
        mode: TtlMode,
        iface: &Interface,
    ) -> Result<(), PushError> {
        let ttl = Ttl::from_secs(match mode {
            TtlMode::Normal | TtlMode::Probe => r.ttl(),
            TtlMode::Legacy => r.ttl().min(LEGACY_TTL),
            TtlMode::Goodbye => 0,
        });
        let class = Class::from_int(if mode == TtlMode::Normal && r.unique() {
            IN | TOP_BIT
        } else {
            IN
        });
        let service = |i: u8| self.services.get(usize::from(i));
        match r {
            Rec::Ptr(i) => {
                if let Some(s) = service(i) {
                    section.push((&s.type_name, class, ttl, Ptr::new(&s.instance)))?;
                }
            }
            Rec::Srv(i) => {
                if let Some(s) = service(i) {
                    let srv = Srv::new(0, 0, s.service.port, &self.host);
                    section.push((&s.instance, class, ttl, srv))?;
                }
            }
            Rec::Txt(i) => {
                if let Some((s, txt)) = service(i).and_then(|s| Some((s, s.service.txt.txt()?))) {
                    section.push((&s.instance, class, ttl, txt))?;
                }
            }
            Rec::Enum(i) => {
                if let Some(s) = service(i) {
                    section.push((&self.enumeration, class, ttl, Ptr::new(&s.type_name)))?;
                }
            }
            Rec::A => {
                for a in iface.v4() {
                    section.push((&self.host, class, ttl, A::new(a)))?;
                }
            }
            Rec::Aaaa => {
                for a in iface.v6() {
                    section.push((&self.host, class, ttl, Aaaa::new(a)))?;
                }
            }
        }
        Ok(())
    }

    /// Return the names a question may ask about and what it asks for with `qtype`.
    pub fn answers_to<N: domain::base::ToName + ?Sized>(
        &self,
        qname: &N,
        qtype: Rtype,
        iface: &Interface,
    ) -> Set {
        let any = qtype == Rtype::ANY;
        let mut set = Set::EMPTY;
        for (i, s) in self.services.iter().enumerate() {
            let i = i as u8;
            if (any || qtype == Rtype::PTR) && qname.name_eq(&self.enumeration) {
                set = set.with(Rec::Enum(i));
            }
            if (any || qtype == Rtype::PTR) && qname.name_eq(&s.type_name) {
                set = set.with(Rec::Ptr(i));
            }
            if qname.name_eq(&s.instance) {
                if any || qtype == Rtype::SRV {
                    set = set.with(Rec::Srv(i));
                }
                if any || qtype == Rtype::TXT {
                    set = set.with(Rec::Txt(i));
                }
            }
        }
        if qname.name_eq(&self.host) {
            if (any || qtype == Rtype::A) && iface.v4().next().is_some() {
                set = set.with(Rec::A);
            }
            if (any || qtype == Rtype::AAAA) && iface.v6().next().is_some() {
                set = set.with(Rec::Aaaa);
            }
        }
        set
    }
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn sets_hold_records() {
        let s = Set::EMPTY
            .with(Rec::Ptr(1))
            .with(Rec::Aaaa)
            .with(Rec::Txt(3));
        assert_eq!(
            s.iter().collect::<Vec<_>>(),
            vec![Rec::Ptr(1), Rec::Txt(3), Rec::Aaaa]
        );
        assert!(s.has_shared());
        assert!(!s.without(Rec::Ptr(1)).has_shared());
        assert!(s.minus(Set::EMPTY.with(Rec::Aaaa)).contains(Rec::Txt(3)));
        assert!(!s.minus(Set::EMPTY.with(Rec::Aaaa)).contains(Rec::Aaaa));
        for i in 0..RECORDS {
            let r = Rec::from_index(i).expect("every position is a record");
            assert_eq!(r.index(), i);
        }
        assert_eq!(Rec::from_index(RECORDS), None);
    }
}

//! Finding chatd servers on the local network, without an address: a DNS-SD browse over
//! multicast DNS for [`BROWSE_TIME`], read by [`chat_mdns::Browser`], then a choice among
//! what answered ([`pick`], [`by_name`], [`list`]).
//!
//! chatc binds UDP port 5353 (shared with any Avahi on the machine, as chatd does) and joins
//! the mDNS group on every interface, so the answers come by multicast, which firewalls that
//! allow mDNS let in. If the port cannot be shared, it asks from a port of its own and gets
//! unicast answers instead (RFC 6762 section 6.7). Every wait is bounded.

use std::io::{self, BufRead, Write};
use std::net::{
    IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6, ToSocketAddrs, UdpSocket,
};
use std::os::fd::AsFd;
use std::time::{Duration, Instant};

use chat_mdns::browse::FoundAddr;
use chat_mdns::{Browser, Interface, Server, ServiceType, GROUP_V4, GROUP_V6, PORT, SEND_MAX};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use socket2::{Domain, InterfaceIndexOrAddress, Protocol, SockRef, Socket, Type};

use crate::connection::Target;
use crate::error::Error;
use crate::sanitize::clean;

/// How long chatc listens for answers.
pub const BROWSE_TIME: Duration = Duration::from_millis(1500);
/// When the query is asked again (RFC 6762 section 5.2: at least a second after the first).
const REQUERY_AT: Duration = Duration::from_millis(1000);
/// When a follow-up asks for what the first answers left out (SRV, TXT, addresses).
const FOLLOW_UP_AT: [Duration; 2] = [Duration::from_millis(400), Duration::from_millis(1200)];
/// The most packets read in all (a flood cannot keep chatc reading past its deadline anyway).
const MAX_PACKETS: usize = 4096;

/// An interface to ask on: its index, an IPv4 address (to send IPv4 from), and whether it
/// has IPv6; `link` knows its subnets, to tell which interface an IPv4 answer came from.
#[derive(Debug, Clone)]
struct Link {
    name: String,
    v4: Option<Ipv4Addr>,
    v6: bool,
    link: Interface,
}

/// The interfaces that are up, can multicast and are not the loopback.
fn links() -> Vec<Link> {
    let mut out: Vec<Link> = Vec::new();
    let Ok(all) = nix::ifaddrs::getifaddrs() else {
        return out;
    };
    use nix::net::if_::InterfaceFlags as F;
    for ifa in all {
        if !ifa.flags.contains(F::IFF_UP | F::IFF_MULTICAST) || ifa.flags.contains(F::IFF_LOOPBACK)
        {
            continue;
        }
        let Some(addr) = ifa.address.as_ref() else {
            continue;
        };
        let (ip, prefix) = if let Some(a) = addr.as_sockaddr_in() {
            let len = ifa
                .netmask
                .as_ref()
                .and_then(|m| m.as_sockaddr_in())
                .map_or(32, |m| m.ip().to_bits().count_ones());
            (IpAddr::V4(a.ip()), len as u8)
        } else if let Some(a) = addr.as_sockaddr_in6() {
            let len = ifa
                .netmask
                .as_ref()
                .and_then(|m| m.as_sockaddr_in6())
                .map_or(128, |m| m.ip().to_bits().count_ones());
            (IpAddr::V6(a.ip()), len as u8)
        } else {
            continue;
        };
        let at = match out.iter().position(|l| l.name == ifa.interface_name) {
            Some(at) => at,
            None => {
                let Ok(index) = nix::net::if_::if_nametoindex(ifa.interface_name.as_str()) else {
                    continue;
                };
                out.push(Link {
                    name: ifa.interface_name.clone(),
                    v4: None,
                    v6: false,
                    link: Interface::new(index),
                });
                out.len() - 1
            }
        };
        let l = &mut out[at];
        match ip {
            IpAddr::V4(a) => {
                l.v4.get_or_insert(a);
            }
            IpAddr::V6(_) => l.v6 = true,
        }
        l.link.add(ip, prefix);
    }
    out
}

/// A socket to ask from and read answers on.
struct Asker {
    socket: UdpSocket,
    family: chat_mdns::Family,
}

/// Make a UDP socket for `family`: on port 5353, shared, in the group on every link if
/// possible; else on a port of its own (answers then come by unicast).
fn asker(family: chat_mdns::Family, links: &[Link]) -> Option<Asker> {
    let (domain, any) = match family {
        chat_mdns::Family::V4 => (Domain::IPV4, IpAddr::V4(Ipv4Addr::UNSPECIFIED)),
        chat_mdns::Family::V6 => (Domain::IPV6, IpAddr::V6(Ipv6Addr::UNSPECIFIED)),
    };
    let make = |port: u16| -> io::Result<Socket> {
        let s = Socket::new(domain, Type::DGRAM, Some(Protocol::UDP))?;
        if family == chat_mdns::Family::V6 {
            s.set_only_v6(true)?;
        }
        if port == PORT {
            s.set_reuse_address(true)?;
            s.set_reuse_port(true)?;
        }
        s.bind(&SocketAddr::new(any, port).into())?;
        s.set_nonblocking(true)?;
        match family {
            chat_mdns::Family::V4 => {
                s.set_multicast_loop_v4(true)?;
                s.set_multicast_ttl_v4(255)?;
            }
            chat_mdns::Family::V6 => {
                s.set_multicast_loop_v6(true)?;
                s.set_multicast_hops_v6(255)?;
            }
        }
        Ok(s)
    };
    let s = match make(PORT) {
        Ok(s) => {
            for l in links {
                let _ = match family {
                    chat_mdns::Family::V4 if l.v4.is_some() => s.join_multicast_v4_n(
                        &GROUP_V4,
                        &InterfaceIndexOrAddress::Index(l.link.index()),
                    ),
                    chat_mdns::Family::V6 if l.v6 => s.join_multicast_v6(&GROUP_V6, l.link.index()),
                    _ => Ok(()),
                };
            }
            s
        }
        Err(_) => make(0).ok()?,
    };
    Some(Asker {
        socket: s.into(),
        family,
    })
}

impl Asker {
    /// Send `query` to the group out of every link of our family.
    fn ask(&self, query: &[u8], links: &[Link]) {
        let s = SockRef::from(&self.socket);
        for l in links {
            let to = match self.family {
                chat_mdns::Family::V4 => {
                    let Some(own) = l.v4 else {
                        continue;
                    };
                    if s.set_multicast_if_v4(&own).is_err() {
                        continue;
                    }
                    SocketAddr::V4(SocketAddrV4::new(GROUP_V4, PORT))
                }
                chat_mdns::Family::V6 => {
                    if !l.v6 || s.set_multicast_if_v6(l.link.index()).is_err() {
                        continue;
                    }
                    SocketAddr::V6(SocketAddrV6::new(GROUP_V6, PORT, 0, l.link.index()))
                }
            };
            let _ = self.socket.send_to(query, to);
        }
    }
}

/// Return the interface an answer from `from` came in on: the scope of a link-local IPv6
/// sender, else the link whose subnet holds it.
fn arrived_on(from: &SocketAddr, links: &[Link]) -> u32 {
    if let SocketAddr::V6(v6) = from {
        if v6.scope_id() != 0 {
            return v6.scope_id();
        }
    }
    links
        .iter()
        .find(|l| l.link.on_link(from.ip()))
        .map_or(0, |l| l.link.index())
}

/// Browse for chatd servers for `wait`; return them sorted by name. Fails only if no socket
/// at all can be had.
pub fn browse(wait: Duration) -> Result<Vec<Server>, Error> {
    let links = links();
    let askers: Vec<Asker> = [chat_mdns::Family::V4, chat_mdns::Family::V6]
        .into_iter()
        .filter_map(|f| asker(f, &links))
        .collect();
    if askers.is_empty() {
        return Err(Error::Discover(io::Error::other(
            "cannot open a UDP socket for multicast DNS",
        )));
    }
    let mut browser = Browser::new(ServiceType::Chatd)
        .map_err(|e| Error::Discover(io::Error::other(e.to_string())))?;
    let mut out = [0u8; SEND_MAX];
    let ask_all = |bytes: &[u8]| {
        for a in &askers {
            a.ask(bytes, &links);
        }
    };
    if let Some(len) = browser.query(&mut out) {
        ask_all(&out[..len]);
    }
    let start = Instant::now();
    let deadline = start + wait;
    let mut requeried = false;
    let mut follow_ups = 0;
    let mut buf = vec![0u8; chat_mdns::MAX_PACKET];
    let mut packets = 0;
    loop {
        let now = Instant::now();
        if now >= deadline || packets >= MAX_PACKETS {
            break;
        }
        let since = now - start;
        if !requeried && since >= REQUERY_AT {
            requeried = true;
            if let Some(len) = browser.query(&mut out) {
                ask_all(&out[..len]);
            }
        }
        if follow_ups < FOLLOW_UP_AT.len() && since >= FOLLOW_UP_AT[follow_ups] {
            follow_ups += 1;
            if let Some(len) = browser.follow_up(&mut out) {
                ask_all(&out[..len]);
            }
        }
        let mut next = deadline;
        if !requeried {
            next = next.min(start + REQUERY_AT);
        }
        if let Some(at) = FOLLOW_UP_AT.get(follow_ups) {
            next = next.min(start + *at);
        }
        let ms = next
            .saturating_duration_since(now)
            .as_millis()
            .clamp(1, 1000) as u16;
        let mut fds: Vec<PollFd<'_>> = askers
            .iter()
            .map(|a| PollFd::new(a.socket.as_fd(), PollFlags::POLLIN))
            .collect();
        match poll(&mut fds, PollTimeout::from(ms)) {
            Ok(_) | Err(nix::errno::Errno::EINTR) => {}
            Err(e) => return Err(Error::Discover(e.into())),
        }
        for a in &askers {
            while packets < MAX_PACKETS {
                match a.socket.recv_from(&mut buf) {
                    Ok((n, from)) => {
                        packets += 1;
                        browser.handle(&buf[..n.min(buf.len())], arrived_on(&from, &links));
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(_) => break,
                }
            }
        }
    }
    Ok(browser.servers())
}

/// Return the host text to connect to `a`: the address, with `%interface` for a link-local
/// IPv6 one.
fn host_of(a: &FoundAddr) -> String {
    match a.ip {
        IpAddr::V6(v6) if a.needs_scope() => {
            let name = nix::net::if_::if_indextoname(a.iface)
                .ok()
                .and_then(|n| n.into_string().ok())
                .unwrap_or_else(|| a.iface.to_string());
            format!("{v6}%{name}")
        }
        ip => ip.to_string(),
    }
}

/// Return where to connect to `s`, if it has an address.
pub fn target_of(s: &Server) -> Option<Target> {
    let mut t = s.best().map(|a| Target::new(&host_of(&a), s.port))?;
    t.tls_port = s.txt_value("tls").and_then(|p| p.parse().ok());
    Some(t)
}

/// Return the server's name as it may be printed (no control characters, no tabs).
fn shown(text: &str) -> String {
    clean(text)
}

/// Return a one-line description of a server for people: `Studio at 10.0.0.1:5000
/// (chatd-studio.local, password)`.
fn describe(s: &Server) -> String {
    let at = target_of(s).map_or_else(|| "?".to_string(), |t| t.to_string());
    let password = if s.txt_value("password") == Some("yes") {
        ", password"
    } else {
        ""
    };
    format!(
        "{} at {at} ({}{password})",
        shown(&s.instance),
        shown(&s.host)
    )
}

/// Write the servers found in the format of `chatc --discover`: one line each, tab-separated
/// fields NAME, ADDRESS, PORT, HOST and TXT (its `key=value` entries separated by spaces).
pub fn write_list(out: &mut impl Write, servers: &[Server]) -> io::Result<()> {
    for s in servers {
        let Some(best) = s.best() else {
            continue;
        };
        let txt: Vec<String> = s
            .txt
            .iter()
            .map(|(k, v)| match v {
                Some(v) => format!("{}={}", clean(k), clean(v)),
                None => clean(k),
            })
            .map(|e| e.replace(' ', "_"))
            .collect();
        writeln!(
            out,
            "{}\t{}\t{}\t{}\t{}",
            shown(&s.instance),
            host_of(&best),
            s.port,
            shown(&s.host),
            txt.join(" ")
        )?;
    }
    out.flush()
}

/// `chatc --discover`: list what answers and exit; an error if nothing does.
pub fn list() -> Result<(), Error> {
    let servers = browse(BROWSE_TIME)?;
    if servers.is_empty() {
        return Err(Error::NoServerFound);
    }
    write_list(&mut io::stdout().lock(), &servers)?;
    Ok(())
}

/// Return the server named `name` (its instance name or its host, without case), if one of
/// `servers` is.
fn named<'a>(servers: &'a [Server], name: &str) -> Option<&'a Server> {
    let host = |s: &Server| {
        s.host.eq_ignore_ascii_case(name)
            || s.host
                .strip_suffix(".local")
                .is_some_and(|h| h.eq_ignore_ascii_case(name))
    };
    servers
        .iter()
        .find(|s| s.instance.to_lowercase() == name.to_lowercase())
        .or_else(|| servers.iter().find(|s| host(s)))
}

/// Return where `-H NAME` points when the resolver does not know `NAME`: the chatd on the
/// LAN announced under that name, if any (else `None`, and the connection reports the name
/// as unknown, as before).
pub fn by_name(name: &str) -> Option<Target> {
    let servers = browse(BROWSE_TIME).ok()?;
    let s = named(&servers, name)?;
    let t = target_of(s)?;
    eprintln!("chatc: found {}", describe(s));
    Some(t)
}

/// Return `given`, or, when the resolver does not know its host, the chatd announced on the
/// LAN under that name (`-H Studio`); if there is none, `given` (whose connection then
/// reports the unknown host).
pub fn resolve(given: Target) -> Target {
    if given.host.parse::<IpAddr>().is_ok()
        || (given.host.as_str(), given.port).to_socket_addrs().is_ok()
    {
        return given;
    }
    by_name(&given.host).unwrap_or(given)
}

/// Find the server to connect to when no host was given: the only one that answers, or the
/// one the person picks when several do (`ask`: standard input is a terminal).
pub fn pick(ask: bool) -> Result<Target, Error> {
    let servers = browse(BROWSE_TIME)?;
    let servers: Vec<Server> = servers.into_iter().filter(|s| s.best().is_some()).collect();
    match servers.len() {
        0 => Err(Error::NoServerFound),
        1 => {
            eprintln!("chatc: found {}", describe(&servers[0]));
            target_of(&servers[0]).ok_or(Error::NoServerFound)
        }
        _ if !ask => Err(Error::SeveralServers(
            servers.iter().map(|s| shown(&s.instance)).collect(),
        )),
        n => {
            eprintln!("chatc: {n} chatd servers on the local network:");
            for (i, s) in servers.iter().enumerate() {
                eprintln!("  {}) {}", i + 1, describe(s));
            }
            let i = choose(n, &mut io::stdin().lock(), &mut io::stderr())?;
            target_of(&servers[i]).ok_or(Error::NoServerFound)
        }
    }
}

/// Ask for a number from 1 to `n` (three tries); return it counted from 0.
fn choose(n: usize, input: &mut impl BufRead, prompt: &mut impl Write) -> Result<usize, Error> {
    for _ in 0..3 {
        write!(prompt, "Which one? [1-{n}]: ")?;
        prompt.flush()?;
        let mut line = String::new();
        if input.read_line(&mut line)? == 0 {
            return Err(Error::Cancelled);
        }
        match line.trim().parse::<usize>() {
            Ok(k) if (1..=n).contains(&k) => return Ok(k - 1),
            _ => writeln!(prompt, "chatc: type a number from 1 to {n}")?,
        }
    }
    Err(Error::Cancelled)
}

#[cfg(test)]
mod test {
    use super::*;

    fn server(instance: &str, ip: &str, iface: u32) -> Server {
        Server {
            instance: instance.to_string(),
            host: format!("chatd-{}.local", instance.to_lowercase()),
            port: 5000,
            addrs: vec![FoundAddr {
                ip: ip.parse().expect("an address"),
                iface,
            }],
            txt: vec![
                ("txtvers".into(), Some("1".into())),
                ("password".into(), Some("yes".into())),
                ("flag".into(), None),
            ],
        }
    }

    #[test]
    fn the_discover_format_is_one_tab_separated_line_each() {
        let mut hostile = server("Evil\tname\x1b[2J", "10.0.0.2", 1);
        hostile.txt.push(("note".into(), Some("two words".into())));
        let list = [server("Studio", "10.0.0.1", 1), hostile];
        let mut out = Vec::new();
        write_list(&mut out, &list).expect("writes");
        let text = String::from_utf8(out).expect("UTF-8");
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            "Studio\t10.0.0.1\t5000\tchatd-studio.local\ttxtvers=1 password=yes flag"
        );
        let fields: Vec<&str> = lines[1].split('\t').collect();
        assert_eq!(
            fields.len(),
            5,
            "a tab in a name cannot add a field: {fields:?}"
        );
        assert_eq!(fields[0], "Evil name");
        assert!(fields[4].ends_with("note=two_words"), "{}", fields[4]);
    }

    #[test]
    fn link_local_addresses_carry_their_interface() {
        let s = server("Studio", "fe80::1", 1);
        let t = target_of(&s).expect("an address");
        let lo = nix::net::if_::if_indextoname(1)
            .map(|n| n.into_string().expect("a name"))
            .expect("interface 1 exists");
        assert_eq!(t.host, format!("fe80::1%{lo}"));
        assert_eq!(
            target_of(&server("Studio", "fd00::1", 1))
                .expect("an address")
                .host,
            "fd00::1"
        );
    }

    #[test]
    fn names_match_the_instance_or_the_host_without_case() {
        let list = [
            server("Studio", "10.0.0.1", 1),
            server("Sala de estar", "10.0.0.3", 1),
        ];
        assert_eq!(named(&list, "studio").map(|s| s.port), Some(5000));
        assert_eq!(
            named(&list, "SALA DE ESTAR").map(|s| s.instance.as_str()),
            Some("Sala de estar")
        );
        assert!(named(&list, "chatd-studio.local").is_some());
        assert!(named(&list, "chatd-studio").is_some());
        assert!(named(&list, "kitchen").is_none());
        assert_eq!(
            describe(&list[0]),
            "Studio at 10.0.0.1:5000 (chatd-studio.local, password)"
        );
    }

    #[test]
    fn choosing_takes_a_number_in_range() {
        let mut prompt = Vec::new();
        let pick = |input: &str, prompt: &mut Vec<u8>| choose(3, &mut input.as_bytes(), prompt);
        assert_eq!(pick("2\n", &mut prompt).ok(), Some(1));
        assert_eq!(pick("0\n9\n3\n", &mut prompt).ok(), Some(2));
        assert!(matches!(
            pick("x\ny\nz\n", &mut prompt),
            Err(Error::Cancelled)
        ));
        assert!(matches!(pick("", &mut prompt), Err(Error::Cancelled)));
        let shown = String::from_utf8(prompt).expect("UTF-8");
        assert!(shown.starts_with("Which one? [1-3]: "));
    }
}

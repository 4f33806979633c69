//! The load generator's event loop: connect N clients, let them join, send, receive, account.
//!
//! One thread, one epoll set, level-triggered, non-blocking sockets. Reading and accounting
//! are done as the bytes arrive, with the receive time taken right after each `read`.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fmt;
use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::os::fd::AsFd;
use std::time::{Duration, Instant};

use nix::sys::epoll::{Epoll, EpollCreateFlags, EpollEvent, EpollFlags};

use crate::accounting::{Accounting, Outcome};
use crate::cli::Args;
use crate::proc_stats::{self, ProcSample};
use crate::protocol::{Event, Payload};
use crate::tls::Tls;

/// Bytes of receive buffer per client; a longer line than this is dropped and counted.
const INBUF: usize = 64 * 1024;
/// Reads per readiness event per client, so that one busy socket does not starve the others.
const READS_PER_EVENT: usize = 4;
/// Shortest connect time-out per client (a full accept queue costs SYN retransmits of 1, 2, 4 s).
const MIN_CONNECT_TIMEOUT: Duration = Duration::from_millis(100);
/// How many sample lines of each unusual kind (left, refused, closing, garbled) to keep.
const SAMPLES: usize = 3;

/// Why the run could not be carried out at all.
#[derive(Debug)]
pub enum RunError {
    /// Connecting client `index` failed.
    Connect(usize, std::io::Error),
    /// Setting up epoll or a socket failed.
    Setup(String),
}

impl fmt::Display for RunError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RunError::Connect(i, e) => write!(f, "client {i} could not connect: {e}"),
            RunError::Setup(s) => write!(f, "setup failed: {s}"),
        }
    }
}

impl std::error::Error for RunError {}

/// How the measurement ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum End {
    /// Every message reached every other client.
    Complete,
    /// Some deliveries never arrived: nothing happened for --linger-ms.
    Quiet,
    /// Not every client got into the room before the time-out.
    JoinTimeout,
    /// The time-out struck during the run.
    Timeout,
}

impl End {
    /// Return the word used in reports.
    pub fn word(self) -> &'static str {
        match self {
            End::Complete => "complete",
            End::Quiet => "quiet",
            End::JoinTimeout => "join-timeout",
            End::Timeout => "timeout",
        }
    }
}

/// Everything measured in one run.
#[derive(Debug)]
pub struct RunResult {
    /// How the run ended.
    pub end: End,
    /// Clients that connected.
    pub connected: usize,
    /// Clients that were in the room when sending started (or at the time-out).
    pub in_room: usize,
    /// Seconds from the first connect until every client was in the room.
    pub join_s: f64,
    /// Seconds from the first send to the last delivery.
    pub run_s: f64,
    /// Messages sent.
    pub sent: u64,
    /// The accountant, with counts and latencies.
    pub accounting: Accounting,
    /// The server's counters when sending started and when it ended.
    pub server: Option<(ProcSample, ProcSample)>,
    /// Why the server's counters are missing, if they are.
    pub server_error: Option<String>,
    /// This process's counters when sending started and when it ended.
    pub own: Option<(ProcSample, ProcSample)>,
    /// Connections the server closed.
    pub disconnects: u64,
    /// Lines the server refused (`ERR`, IRC 4xx/5xx).
    pub refused: u64,
    /// Departures announced (`LEAVE`, `QUIT`, `PART`).
    pub peers_left: u64,
    /// Lines too long for the receive buffer, or benchmark texts that did not parse.
    pub garbled: u64,
    /// A few of the unusual lines, for the report.
    pub samples: Vec<String>,
    /// Paced mode: the largest delay of a send behind its schedule, ns.
    pub max_pacing_lag_ns: u64,
}

struct Client {
    stream: TcpStream,
    /// The TLS layer, with `--tls`.
    tls: Option<Box<Tls>>,
    name: String,
    inbuf: Vec<u8>,
    in_len: usize,
    out: Vec<u8>,
    out_pos: usize,
    writable_armed: bool,
    open: bool,
    registered: bool,
    in_room: bool,
    members: i64,
}

/// The run's state: clients, clock, accountant, tallies.
struct Bench<'a> {
    args: &'a Args,
    epoll: Epoll,
    clients: Vec<Client>,
    base: Instant,
    acc: Accounting,
    ready_queue: Vec<usize>,
    queued: Vec<bool>,
    running: bool,
    last_progress: u64,
    last_delivery: u64,
    disconnects: u64,
    refused: u64,
    peers_left: u64,
    garbled: u64,
    samples: Vec<String>,
    text: Vec<u8>,
    /// Plaintext one TLS read produced, before it is cut into lines.
    tls_plain: Vec<u8>,
}

fn setup<E: fmt::Display>(what: &str) -> impl FnOnce(E) -> RunError + '_ {
    move |e| RunError::Setup(format!("{what}: {e}"))
}

impl<'a> Bench<'a> {
    fn now(&self) -> u64 {
        u64::try_from(self.base.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }

    fn sample(&mut self, what: &str, line: &[u8]) {
        let prefix = format!("{what}: ");
        if self
            .samples
            .iter()
            .filter(|s| s.starts_with(&prefix))
            .count()
            < SAMPLES
        {
            self.samples
                .push(format!("{what}: {}", String::from_utf8_lossy(line)));
        }
    }

    fn interest(&mut self, i: usize, writable: bool) {
        let c = &mut self.clients[i];
        if c.writable_armed == writable || !c.open {
            return;
        }
        let mut flags = EpollFlags::EPOLLIN | EpollFlags::EPOLLRDHUP;
        if writable {
            flags |= EpollFlags::EPOLLOUT;
        }
        let mut ev = EpollEvent::new(flags, i as u64);
        if self.epoll.modify(c.stream.as_fd(), &mut ev).is_ok() {
            c.writable_armed = writable;
        }
    }

    fn close(&mut self, i: usize) {
        let c = &mut self.clients[i];
        if c.open {
            c.open = false;
            let _ = self.epoll.delete(c.stream.as_fd());
            self.disconnects += 1;
        }
    }

    /// Write what client `i` has pending; arm EPOLLOUT if the socket is full.
    fn flush(&mut self, i: usize) {
        if self.clients[i].tls.is_some() {
            self.flush_tls(i);
            return;
        }
        let c = &mut self.clients[i];
        while c.open && c.out_pos < c.out.len() {
            match c.stream.write(&c.out[c.out_pos..]) {
                Ok(0) => break,
                Ok(n) => c.out_pos += n,
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(_) => {
                    self.close(i);
                    return;
                }
            }
        }
        let c = &mut self.clients[i];
        let pending = c.out_pos < c.out.len();
        if !pending {
            c.out.clear();
            c.out_pos = 0;
        }
        self.interest(i, pending);
    }

    /// [`Bench::flush`] through TLS: hand rustls the pending plaintext, write its records.
    fn flush_tls(&mut self, i: usize) {
        let mut blocked = false;
        for _ in 0..64 {
            let c = &mut self.clients[i];
            let Some(tls) = c.tls.as_mut() else { return };
            if !c.open {
                return;
            }
            match tls.send(&mut c.stream, &c.out[c.out_pos..]) {
                Ok((taken, pending)) => {
                    c.out_pos += taken;
                    blocked = pending;
                    if pending || taken == 0 || c.out_pos == c.out.len() {
                        break;
                    }
                }
                Err(_) => {
                    self.close(i);
                    return;
                }
            }
        }
        let c = &mut self.clients[i];
        if c.out_pos == c.out.len() {
            c.out.clear();
            c.out_pos = 0;
        }
        let pending = blocked || c.out_pos < c.out.len();
        self.interest(i, pending);
    }

    /// Read once through TLS and act on every complete line of plaintext.
    fn receive_tls(&mut self, i: usize) {
        for _ in 0..READS_PER_EVENT {
            let mut plain = std::mem::take(&mut self.tls_plain);
            plain.clear();
            let c = &mut self.clients[i];
            let Some(tls) = c.tls.as_mut() else { return };
            if !c.open {
                return;
            }
            let got = tls.receive(&mut c.stream, &mut plain);
            let now = self.now();
            match got {
                Ok(open) => {
                    self.take_bytes(i, &plain, now);
                    self.tls_plain = plain;
                    // The handshake, or a key update, may have something to send.
                    self.flush(i);
                    if !open {
                        self.close(i);
                        return;
                    }
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => {
                    self.tls_plain = plain;
                    return;
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => self.tls_plain = plain,
                Err(_) => {
                    self.close(i);
                    return;
                }
            }
        }
    }

    /// Append received plaintext to client `i`'s buffer, acting on each complete line.
    fn take_bytes(&mut self, i: usize, mut bytes: &[u8], now: u64) {
        while !bytes.is_empty() {
            let c = &mut self.clients[i];
            if c.in_len == c.inbuf.len() {
                // A line longer than the whole buffer: drop it.
                c.in_len = 0;
                self.garbled += 1;
            }
            let c = &mut self.clients[i];
            let k = bytes.len().min(c.inbuf.len() - c.in_len);
            c.inbuf[c.in_len..c.in_len + k].copy_from_slice(&bytes[..k]);
            c.in_len += k;
            bytes = &bytes[k..];
            self.lines(i, now);
        }
    }

    /// Act on every complete line in client `i`'s buffer and keep the partial one.
    fn lines(&mut self, i: usize, now: u64) {
        let c = &mut self.clients[i];
        let mut buf = std::mem::take(&mut c.inbuf);
        let len = c.in_len;
        let mut start = 0;
        while let Some(pos) = buf[start..len].iter().position(|&b| b == b'\n') {
            let mut line = &buf[start..start + pos];
            if let Some(l) = line.strip_suffix(b"\r") {
                line = l;
            }
            self.on_line(i, line, now);
            start += pos + 1;
        }
        buf.copy_within(start..len, 0);
        let c = &mut self.clients[i];
        c.in_len = len - start;
        c.inbuf = buf;
    }

    /// Queue and write `count` messages from client `i`, stamped now.
    fn send(&mut self, i: usize, count: u32) {
        let now = self.now();
        for _ in 0..count {
            let seq = self.acc.note_sent(i);
            self.text.clear();
            let payload = Payload {
                sender: i as u32,
                seq,
                sent_ns: now,
            };
            payload.write(self.args.text_len, &mut self.text);
            let c = &mut self.clients[i];
            self.args
                .proto
                .message(&self.args.channel, &self.text, &mut c.out);
        }
        if count > 0 {
            self.last_progress = now;
            self.flush(i);
        }
    }

    /// Read what client `i` has received and act on every complete line.
    fn receive(&mut self, i: usize) {
        if self.clients[i].tls.is_some() {
            self.receive_tls(i);
            return;
        }
        for _ in 0..READS_PER_EVENT {
            let c = &mut self.clients[i];
            if !c.open {
                return;
            }
            if c.in_len == c.inbuf.len() {
                // A line longer than the whole buffer: drop it.
                c.in_len = 0;
                self.garbled += 1;
            }
            let c = &mut self.clients[i];
            let n = match c.stream.read(&mut c.inbuf[c.in_len..]) {
                Ok(0) => {
                    self.close(i);
                    return;
                }
                Ok(n) => n,
                Err(e) if e.kind() == ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(_) => {
                    self.close(i);
                    return;
                }
            };
            let now = self.now();
            self.clients[i].in_len += n;
            self.lines(i, now);
            let c = &mut self.clients[i];
            if !c.out.is_empty() {
                self.flush(i);
            }
            if n < INBUF / 2 {
                // Short read: the socket is very likely empty now.
                return;
            }
        }
    }

    fn on_line(&mut self, i: usize, line: &[u8], now: u64) {
        let args = self.args;
        let c = &mut self.clients[i];
        let event = args.proto.on_line(
            line,
            &c.name,
            args.password.as_deref(),
            &args.channel,
            &mut c.out,
        );
        match event {
            Event::Message(text) => match Payload::parse(text) {
                Some(p) => {
                    let latency = now.saturating_sub(p.sent_ns);
                    let (outcome, moved) = self.acc.record(p.sender as usize, i, p.seq, latency);
                    if outcome != Outcome::Unexpected {
                        self.last_progress = now;
                        self.last_delivery = now;
                    }
                    let s = p.sender as usize;
                    if moved && self.running && !self.queued[s] {
                        self.queued[s] = true;
                        self.ready_queue.push(s);
                    }
                }
                None => {
                    self.garbled += 1;
                    self.sample("garbled", line);
                }
            },
            Event::Registered => c.registered = true,
            Event::Members(n) => {
                c.members += i64::from(n);
                if args.proto == crate::protocol::Protocol::Chatd {
                    c.in_room = true;
                }
            }
            Event::InRoom => c.in_room = true,
            Event::PeerJoined => c.members += 1,
            Event::PeerLeft(l) => {
                c.members -= 1;
                self.peers_left += 1;
                self.sample("left", l);
            }
            Event::Refused(l) => {
                self.refused += 1;
                self.sample("refused", l);
            }
            Event::Closing(l) => self.sample("closing", l),
            Event::Other => {}
        }
    }

    fn all_in(&self) -> usize {
        let n = self.clients.len() as i64;
        self.clients
            .iter()
            .filter(|c| c.open && c.registered && c.in_room && c.members == n)
            .count()
    }

    /// Wait for socket events until `until` (ns on the run's clock) and handle them.
    fn poll(&mut self, events: &mut [EpollEvent], until: u64) -> Result<(), RunError> {
        let wait_ms = until.saturating_sub(self.now()).div_ceil(1_000_000);
        let timeout = u16::try_from(wait_ms).unwrap_or(u16::MAX);
        let n = match self.epoll.wait(events, timeout) {
            Ok(n) => n,
            Err(nix::errno::Errno::EINTR) => 0,
            Err(e) => return Err(RunError::Setup(format!("epoll_wait: {e}"))),
        };
        for ev in &events[..n] {
            let i = ev.data() as usize;
            let flags = ev.events();
            if flags.intersects(EpollFlags::EPOLLOUT) {
                self.flush(i);
            }
            if flags.intersects(
                EpollFlags::EPOLLIN
                    | EpollFlags::EPOLLRDHUP
                    | EpollFlags::EPOLLHUP
                    | EpollFlags::EPOLLERR,
            ) {
                self.receive(i);
            }
        }
        Ok(())
    }
}

/// Carry out one run as `args` say and return what was measured.
pub fn run(args: &Args) -> Result<RunResult, RunError> {
    let n = args.clients;
    let window = if args.rate.is_some() {
        None
    } else {
        Some(args.window)
    };
    let epoll = Epoll::new(EpollCreateFlags::EPOLL_CLOEXEC).map_err(setup("epoll_create"))?;
    let base = Instant::now();
    let deadline =
        u64::try_from(Duration::from_secs_f64(args.timeout).as_nanos()).unwrap_or(u64::MAX);
    let tls_config = if args.tls {
        Some(crate::tls::config().map_err(setup("TLS configuration"))?)
    } else {
        None
    };
    let mut clients = Vec::with_capacity(n);
    for i in 0..n {
        // Each connect may use whatever is left of --timeout.
        let left = Duration::from_nanos(
            deadline.saturating_sub(u64::try_from(base.elapsed().as_nanos()).unwrap_or(u64::MAX)),
        );
        let stream = TcpStream::connect_timeout(&args.addr, left.max(MIN_CONNECT_TIMEOUT))
            .map_err(|e| RunError::Connect(i, e))?;
        stream.set_nodelay(true).map_err(setup("TCP_NODELAY"))?;
        stream.set_nonblocking(true).map_err(setup("O_NONBLOCK"))?;
        let ev = EpollEvent::new(EpollFlags::EPOLLIN | EpollFlags::EPOLLRDHUP, i as u64);
        epoll.add(stream.as_fd(), ev).map_err(setup("epoll_ctl"))?;
        let name = format!("{}{i}", args.name_prefix);
        let mut out = Vec::with_capacity(4096);
        args.proto.hello(&name, args.password.as_deref(), &mut out);
        let tls = match &tls_config {
            Some(config) => Some(Box::new(Tls::new(config).map_err(setup("TLS client"))?)),
            None => None,
        };
        clients.push(Client {
            stream,
            tls,
            name,
            inbuf: vec![0; INBUF],
            in_len: 0,
            out,
            out_pos: 0,
            writable_armed: false,
            open: true,
            registered: false,
            in_room: false,
            members: 0,
        });
    }
    let mut bench = Bench {
        args,
        epoll,
        clients,
        base,
        acc: Accounting::new(n, args.messages, window),
        ready_queue: Vec::with_capacity(n),
        queued: vec![false; n],
        running: false,
        last_progress: 0,
        last_delivery: 0,
        disconnects: 0,
        refused: 0,
        peers_left: 0,
        garbled: 0,
        samples: Vec::new(),
        text: Vec::with_capacity(1024),
        tls_plain: Vec::with_capacity(64 * 1024),
    };
    for i in 0..n {
        bench.flush(i);
    }
    let mut events = vec![EpollEvent::empty(); 1024];

    // Join: until every client is registered, in the room, and knows all N members.
    let mut in_room = 0;
    while bench.now() < deadline {
        in_room = bench.all_in();
        if in_room == n {
            break;
        }
        bench.poll(&mut events, deadline.min(bench.now() + 100_000_000))?;
    }
    let join_s = bench.now() as f64 / 1e9;
    let connected = bench.clients.len();
    if in_room < n {
        return Ok(finish(
            bench,
            End::JoinTimeout,
            connected,
            in_room,
            join_s,
            0.0,
            None,
            None,
            0,
        ));
    }

    // Run.
    let server_before = args.server_pid.map(|p| proc_stats::sample(Some(p)));
    let own_before = proc_stats::sample(None).ok();
    let start = bench.now();
    bench.running = true;
    bench.last_progress = start;
    let linger = args.linger_ms.saturating_mul(1_000_000);
    let mut schedule = BinaryHeap::new();
    let period = args.rate.map(|r| (1e9 / r) as u64);
    match period {
        Some(p) => {
            for i in 0..n {
                schedule.push(Reverse((start + p * i as u64 / n as u64, i)));
            }
        }
        None => {
            bench.ready_queue.extend(0..n);
            bench.queued.iter_mut().for_each(|q| *q = true);
        }
    }
    let mut max_lag = 0u64;
    let total = n as u64 * u64::from(args.messages);
    let end = loop {
        let now = bench.now();
        if bench.acc.complete() {
            break End::Complete;
        }
        if now >= deadline {
            break End::Timeout;
        }
        if now.saturating_sub(bench.last_progress) >= linger {
            break End::Quiet;
        }
        // Paced sends that are due.
        while let Some(&Reverse((due, i))) = schedule.peek() {
            if due > now {
                break;
            }
            schedule.pop();
            if bench.clients[i].open && bench.acc.may_send(i) > 0 {
                max_lag = max_lag.max(now - due);
                bench.send(i, 1);
                if let Some(p) = period {
                    if bench.acc.may_send(i) > 0 {
                        schedule.push(Reverse((due + p, i)));
                    }
                }
            }
        }
        // Fast sends the window allows.
        while let Some(i) = bench.ready_queue.pop() {
            bench.queued[i] = false;
            if bench.clients[i].open {
                let k = bench.acc.may_send(i);
                bench.send(i, k);
            }
        }
        let mut until = deadline.min(bench.last_progress + linger);
        if let Some(&Reverse((due, _))) = schedule.peek() {
            until = until.min(due);
        }
        bench.poll(&mut events, until)?;
    };
    let server_after = args.server_pid.map(|p| proc_stats::sample(Some(p)));
    let own_after = proc_stats::sample(None).ok();
    let (server, server_error) = match (server_before, server_after) {
        (Some(Ok(a)), Some(Ok(b))) => (Some((a, b)), None),
        (Some(Err(e)), _) | (_, Some(Err(e))) => (None, Some(e.to_string())),
        _ => (None, None),
    };
    let own = own_before.zip(own_after);
    let last = if bench.last_delivery > start {
        bench.last_delivery
    } else {
        bench.now()
    };
    let run_s = (last - start) as f64 / 1e9;
    let sent: u64 = (0..n).map(|i| u64::from(bench.acc.sent(i))).sum();
    debug_assert!(sent <= total);
    let mut result = finish(
        bench, end, connected, n, join_s, run_s, server, own, max_lag,
    );
    result.server_error = server_error;
    result.sent = sent;
    Ok(result)
}

#[allow(clippy::too_many_arguments)]
fn finish(
    bench: Bench<'_>,
    end: End,
    connected: usize,
    in_room: usize,
    join_s: f64,
    run_s: f64,
    server: Option<(ProcSample, ProcSample)>,
    own: Option<(ProcSample, ProcSample)>,
    max_pacing_lag_ns: u64,
) -> RunResult {
    RunResult {
        end,
        connected,
        in_room,
        join_s,
        run_s,
        sent: 0,
        accounting: bench.acc,
        server,
        server_error: None,
        own,
        disconnects: bench.disconnects,
        refused: bench.refused,
        peers_left: bench.peers_left,
        garbled: bench.garbled,
        samples: bench.samples,
        max_pacing_lag_ns,
    }
}

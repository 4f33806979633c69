//! Delivery accounting: per (sender, receiver) sequence tracking, the send window, latency.
//!
//! Every message carries its sender's index and a sequence number `0..M`. A *delivery* is one
//! message arriving at one client other than its sender. For each (sender, receiver) pair the
//! accountant keeps a bitmap of the sequence numbers seen and the highest one so far, which is
//! enough to tell, exactly:
//!
//! - a **duplicate**: a sequence number this receiver already had from this sender;
//! - a **reordered** delivery: a new sequence number lower than one already seen on the pair;
//! - a **loss**: a sequence number that never arrived (counted at the end, `expected - distinct`).
//!
//! The send window bounds the messages a sender has out that some receiver has not yet *passed*
//! (seen, or skipped over by a later sequence number, so that a lost message does not hold the
//! window shut forever).

/// Counts of what arrived, for the report.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// Deliveries expected: messages sent × (clients − 1).
    pub expected: u64,
    /// Distinct (sender, receiver, sequence) deliveries that arrived.
    pub distinct: u64,
    /// Expected deliveries that never arrived.
    pub lost: u64,
    /// Deliveries that arrived again after a first copy.
    pub duplicated: u64,
    /// New deliveries that arrived after a higher sequence number on the same pair.
    pub reordered: u64,
    /// Benchmark lines that cannot be right: unknown sender, own message echoed, sequence never sent.
    pub unexpected: u64,
}

/// What one arriving delivery was.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// A new delivery, in order on its pair.
    InOrder,
    /// A new delivery, but a higher sequence number had already arrived on its pair.
    Reordered,
    /// A copy of a delivery that had already arrived.
    Duplicate,
    /// A line that names an unknown sender, the receiver itself, or a sequence never sent.
    Unexpected,
}

/// Tracking state of one (sender, receiver) pair.
#[derive(Clone, Copy, Debug, Default)]
struct Pair {
    /// One past the highest sequence number seen (0: none yet).
    next: u32,
}

/// The per-sender window: how many messages a sender may have that some receiver has not passed.
#[derive(Debug)]
struct Window {
    /// Window size W (≥ 1).
    size: u32,
    /// Per sender: sequence numbers below this were passed by every receiver.
    acked: Vec<u32>,
    /// Per sender, a ring of W counters: receivers that passed sequence `j` (slot `j % W`).
    passed: Vec<u32>,
}

/// The accountant for one run of `clients` clients each sending `messages` messages.
#[derive(Debug)]
pub struct Accounting {
    clients: usize,
    messages: u32,
    words: usize,
    pairs: Vec<Pair>,
    bits: Vec<u64>,
    sent: Vec<u32>,
    counts: Counts,
    window: Option<Window>,
    latency: Histogram,
}

impl Accounting {
    /// Make an accountant; `window` is the per-sender bound on unpassed messages, if any.
    pub fn new(clients: usize, messages: u32, window: Option<u32>) -> Self {
        let words = (messages as usize).div_ceil(64);
        let window = window.map(|w| {
            let size = w.max(1);
            Window {
                size,
                acked: vec![0; clients],
                passed: vec![0; clients * size as usize],
            }
        });
        Accounting {
            clients,
            messages,
            words,
            pairs: vec![Pair::default(); clients * clients],
            bits: vec![0; clients * clients * words],
            sent: vec![0; clients],
            counts: Counts::default(),
            window,
            latency: Histogram::new(),
        }
    }

    /// Return the number of messages `sender` may send now (window and total permitting).
    pub fn may_send(&self, sender: usize) -> u32 {
        let Some(&sent) = self.sent.get(sender) else {
            return 0;
        };
        let left = self.messages - sent;
        match &self.window {
            None => left,
            Some(w) => {
                let open = (w.acked[sender] + w.size).saturating_sub(sent);
                open.min(left)
            }
        }
    }

    /// Return how many messages `sender` has sent so far.
    pub fn sent(&self, sender: usize) -> u32 {
        self.sent.get(sender).copied().unwrap_or(0)
    }

    /// Note that `sender` sent its next message; return its sequence number.
    pub fn note_sent(&mut self, sender: usize) -> u32 {
        let seq = self.sent[sender];
        self.sent[sender] = seq + 1;
        if self.clients == 1 {
            // Nobody to receive: the window never closes.
            if let Some(w) = &mut self.window {
                w.acked[sender] = seq + 1;
            }
        }
        seq
    }

    /// Record a delivery of `(sender, seq)` at `receiver` with its latency in nanoseconds.
    ///
    /// Returns what the delivery was, and whether the sender's window moved forward.
    pub fn record(
        &mut self,
        sender: usize,
        receiver: usize,
        seq: u32,
        latency_ns: u64,
    ) -> (Outcome, bool) {
        if sender >= self.clients
            || receiver >= self.clients
            || sender == receiver
            || seq >= self.sent[sender]
        {
            self.counts.unexpected += 1;
            return (Outcome::Unexpected, false);
        }
        let pair_index = sender * self.clients + receiver;
        let word = pair_index * self.words + (seq / 64) as usize;
        let mask = 1u64 << (seq % 64);
        if self.bits[word] & mask != 0 {
            self.counts.duplicated += 1;
            return (Outcome::Duplicate, false);
        }
        self.bits[word] |= mask;
        self.counts.distinct += 1;
        self.latency.record(latency_ns);
        let pair = &mut self.pairs[pair_index];
        if seq < pair.next {
            self.counts.reordered += 1;
            return (Outcome::Reordered, false);
        }
        let from = pair.next;
        pair.next = seq + 1;
        let moved = self.pass(sender, from, seq + 1);
        (Outcome::InOrder, moved)
    }

    /// Mark sequence numbers `from..to` of `sender` as passed by one more receiver.
    fn pass(&mut self, sender: usize, from: u32, to: u32) -> bool {
        let receivers = (self.clients - 1) as u32;
        let Some(w) = &mut self.window else {
            return false;
        };
        let size = w.size as usize;
        let ring = &mut w.passed[sender * size..(sender + 1) * size];
        for j in from.max(w.acked[sender])..to {
            ring[j as usize % size] += 1;
        }
        let mut moved = false;
        while w.acked[sender] < self.sent[sender] {
            let slot = &mut ring[w.acked[sender] as usize % size];
            if *slot < receivers {
                break;
            }
            *slot = 0;
            w.acked[sender] += 1;
            moved = true;
        }
        moved
    }

    /// Return the counts so far, with losses computed from what was sent.
    pub fn counts(&self) -> Counts {
        let receivers = self.clients.saturating_sub(1) as u64;
        let expected: u64 = self.sent.iter().map(|&s| u64::from(s) * receivers).sum();
        Counts {
            expected,
            lost: expected.saturating_sub(self.counts.distinct),
            ..self.counts
        }
    }

    /// Return whether every message of every sender has reached every other client.
    pub fn complete(&self) -> bool {
        let receivers = self.clients.saturating_sub(1) as u64;
        self.counts.distinct == self.clients as u64 * u64::from(self.messages) * receivers
    }

    /// Return the latency histogram of distinct deliveries.
    pub fn latency(&self) -> &Histogram {
        &self.latency
    }
}

/// Sub-buckets per power of two: 32 gives a relative error under 3.2 %.
const SUB_BITS: u32 = 5;
const SUB: u64 = 1 << SUB_BITS;
const BUCKETS: usize = ((64 - SUB_BITS as usize) + 1) * SUB as usize;

/// A log-linear histogram of nanosecond values (HDR-style, ~3 % resolution, exact maximum).
#[derive(Clone, Debug)]
pub struct Histogram {
    buckets: Vec<u64>,
    count: u64,
    max: u64,
}

impl Default for Histogram {
    fn default() -> Self {
        Self::new()
    }
}

impl Histogram {
    /// Make an empty histogram.
    pub fn new() -> Self {
        Histogram {
            buckets: vec![0; BUCKETS],
            count: 0,
            max: 0,
        }
    }

    fn index(value: u64) -> usize {
        if value < SUB {
            return value as usize;
        }
        let exp = 63 - value.leading_zeros();
        let top = value >> (exp - SUB_BITS);
        ((exp - SUB_BITS + 1) as u64 * SUB + (top - SUB)) as usize
    }

    /// Return the smallest and largest value that fall in bucket `index`.
    fn bounds(index: usize) -> (u64, u64) {
        let index = index as u64;
        if index < SUB {
            return (index, index);
        }
        let exp = index / SUB - 1 + u64::from(SUB_BITS);
        let top = index % SUB + SUB;
        let shift = exp - u64::from(SUB_BITS);
        let low = top << shift;
        (low, low + ((1u64 << shift) - 1))
    }

    /// Add one value.
    pub fn record(&mut self, value: u64) {
        self.buckets[Self::index(value)] += 1;
        self.count += 1;
        self.max = self.max.max(value);
    }

    /// Return how many values were recorded.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// Return the largest value recorded (exact), or 0.
    pub fn max(&self) -> u64 {
        self.max
    }

    /// Return the value at quantile `q` (0..=1): the middle of its bucket, capped at the maximum.
    pub fn quantile(&self, q: f64) -> u64 {
        if self.count == 0 {
            return 0;
        }
        let rank = ((q.clamp(0.0, 1.0) * self.count as f64).ceil() as u64).max(1);
        let mut seen = 0;
        for (index, &n) in self.buckets.iter().enumerate() {
            seen += n;
            if seen >= rank {
                let (low, high) = Self::bounds(index);
                return (low + (high - low) / 2).min(self.max);
            }
        }
        self.max
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn send_all(acc: &mut Accounting, sender: usize, n: u32) {
        for _ in 0..n {
            acc.note_sent(sender);
        }
    }

    #[test]
    fn in_order_deliveries_are_complete_with_nothing_wrong() {
        let mut acc = Accounting::new(3, 4, None);
        for s in 0..3 {
            send_all(&mut acc, s, 4);
        }
        for s in 0..3 {
            for r in (0..3).filter(|&r| r != s) {
                for q in 0..4 {
                    assert_eq!(acc.record(s, r, q, 1000).0, Outcome::InOrder);
                }
            }
        }
        let c = acc.counts();
        assert_eq!(c.expected, 3 * 2 * 4);
        assert_eq!(c.distinct, 24);
        assert_eq!(
            (c.lost, c.duplicated, c.reordered, c.unexpected),
            (0, 0, 0, 0)
        );
        assert!(acc.complete());
    }

    #[test]
    fn loss_duplicate_and_reorder_are_told_apart() {
        let mut acc = Accounting::new(2, 10, None);
        send_all(&mut acc, 0, 10);
        // 0 1 3 2 2 5 6 7 8 9 : 4 lost, 2 reordered (arrived after 3), then duplicated.
        for q in [0, 1, 3] {
            assert_eq!(acc.record(0, 1, q, 5).0, Outcome::InOrder);
        }
        assert_eq!(acc.record(0, 1, 2, 5).0, Outcome::Reordered);
        assert_eq!(acc.record(0, 1, 2, 5).0, Outcome::Duplicate);
        for q in 5..10 {
            assert_eq!(acc.record(0, 1, q, 5).0, Outcome::InOrder);
        }
        assert_eq!(acc.record(0, 1, 9, 5).0, Outcome::Duplicate);
        let c = acc.counts();
        assert_eq!(c.expected, 10);
        assert_eq!(c.distinct, 9);
        assert_eq!(c.lost, 1);
        assert_eq!(c.duplicated, 2);
        assert_eq!(c.reordered, 1);
        assert!(!acc.complete());
    }

    #[test]
    fn lines_that_cannot_be_right_are_unexpected() {
        let mut acc = Accounting::new(2, 5, None);
        send_all(&mut acc, 0, 2);
        assert_eq!(acc.record(0, 0, 0, 1).0, Outcome::Unexpected, "echo");
        assert_eq!(acc.record(7, 1, 0, 1).0, Outcome::Unexpected, "sender");
        assert_eq!(acc.record(0, 1, 2, 1).0, Outcome::Unexpected, "not sent");
        assert_eq!(
            acc.record(1, 0, 0, 1).0,
            Outcome::Unexpected,
            "1 sent nothing"
        );
        assert_eq!(acc.counts().unexpected, 4);
        assert_eq!(acc.counts().distinct, 0);
    }

    #[test]
    fn window_opens_only_when_every_receiver_passed() {
        let mut acc = Accounting::new(3, 100, Some(2));
        assert_eq!(acc.may_send(0), 2);
        send_all(&mut acc, 0, 2);
        assert_eq!(acc.may_send(0), 0);
        assert_eq!(acc.record(0, 1, 0, 1), (Outcome::InOrder, false));
        assert_eq!(acc.may_send(0), 0, "receiver 2 has not seen 0");
        assert_eq!(acc.record(0, 2, 0, 1), (Outcome::InOrder, true));
        assert_eq!(acc.may_send(0), 1);
        // A loss does not hold the window: receiver 1 skips seq 1 and sees 2.
        send_all(&mut acc, 0, 1);
        assert!(!acc.record(0, 1, 2, 1).1);
        assert!(acc.record(0, 2, 1, 1).1);
        assert!(acc.record(0, 2, 2, 1).1);
        assert_eq!(acc.may_send(0), 2);
        // The late seq 1 at receiver 1 is reordered and does not move the window twice.
        assert_eq!(acc.record(0, 1, 1, 1), (Outcome::Reordered, false));
        assert_eq!(acc.may_send(0), 2);
        assert_eq!(acc.counts().lost, 0);
    }

    #[test]
    fn window_is_capped_by_messages_left() {
        let mut acc = Accounting::new(2, 3, Some(8));
        assert_eq!(acc.may_send(1), 3);
        send_all(&mut acc, 1, 3);
        assert_eq!(acc.may_send(1), 0);
        let no_window = Accounting::new(2, 3, None);
        assert_eq!(no_window.may_send(0), 3);
    }

    #[test]
    fn histogram_quantiles_are_within_resolution() {
        let mut h = Histogram::new();
        for v in 1..=10_000u64 {
            h.record(v * 1000);
        }
        assert_eq!(h.count(), 10_000);
        assert_eq!(h.max(), 10_000_000);
        let p50 = h.quantile(0.5) as f64;
        let p99 = h.quantile(0.99) as f64;
        assert!((p50 / 5_000_000.0 - 1.0).abs() < 0.035, "p50 {p50}");
        assert!((p99 / 9_900_000.0 - 1.0).abs() < 0.035, "p99 {p99}");
        assert_eq!(h.quantile(1.0), 10_000_000);
    }

    #[test]
    fn histogram_buckets_cover_every_value_once() {
        for v in (0..5000u64).chain([u64::MAX / 3, u64::MAX]) {
            let i = Histogram::index(v);
            let (lo, hi) = Histogram::bounds(i);
            assert!(lo <= v && v <= hi, "{v} not in bucket {i} = {lo}..={hi}");
        }
        assert_eq!(Histogram::index(u64::MAX), BUCKETS - 1);
        assert_eq!(Histogram::new().quantile(0.5), 0);
    }
}

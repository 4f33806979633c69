//! Turning a [`RunResult`] into figures, and printing them for people or for scripts.

use std::fmt::Write;

use crate::cli::{Args, Format};
use crate::run::RunResult;

/// Generator CPU share of wall time above which the generator, not the server, may be the limit.
const SATURATED: f64 = 0.9;

/// The figures of one run, derived once and printed in either format.
#[derive(Debug)]
pub struct Figures {
    pairs: Vec<(&'static str, String)>,
    notes: Vec<String>,
}

fn ms(ns: u64) -> String {
    format!("{:.3}", ns as f64 / 1e6)
}

impl Figures {
    /// Derive the figures from a run's result.
    pub fn new(args: &Args, r: &RunResult) -> Self {
        let mut p: Vec<(&'static str, String)> = Vec::new();
        let mut notes = Vec::new();
        let c = r.accounting.counts();
        let lat = r.accounting.latency();
        let mode = match args.rate {
            Some(rate) => format!("paced {rate}/s"),
            None => format!("fast window {}", args.window),
        };
        p.push(("label", args.label.clone()));
        p.push(("proto", format!("{:?}", args.proto).to_lowercase()));
        p.push(("tls", if args.tls { "yes" } else { "no" }.to_string()));
        p.push(("clients", args.clients.to_string()));
        p.push(("messages", args.messages.to_string()));
        p.push(("mode", mode));
        p.push(("text_len", args.text_len.to_string()));
        p.push(("end", r.end.word().to_string()));
        p.push(("connected", r.connected.to_string()));
        p.push(("in_room", r.in_room.to_string()));
        p.push(("join_s", format!("{:.3}", r.join_s)));
        p.push(("run_s", format!("{:.3}", r.run_s)));
        p.push(("sent", r.sent.to_string()));
        p.push(("expected", c.expected.to_string()));
        p.push(("delivered", c.distinct.to_string()));
        p.push(("lost", c.lost.to_string()));
        p.push(("duplicated", c.duplicated.to_string()));
        p.push(("reordered", c.reordered.to_string()));
        p.push(("unexpected", c.unexpected.to_string()));
        let rate = if r.run_s > 0.0 {
            c.distinct as f64 / r.run_s
        } else {
            0.0
        };
        p.push(("deliveries_per_s", format!("{rate:.0}")));
        p.push(("latency_samples", lat.count().to_string()));
        p.push(("latency_p50_ms", ms(lat.quantile(0.5))));
        p.push(("latency_p99_ms", ms(lat.quantile(0.99))));
        p.push(("latency_max_ms", ms(lat.max())));
        if let Some((a, b)) = &r.server {
            let cpu = b.cpu_since(a);
            let per = if c.distinct > 0 {
                cpu * 1e9 / c.distinct as f64
            } else {
                0.0
            };
            p.push(("server_cpu_s", format!("{cpu:.3}")));
            p.push(("server_user_s", format!("{:.3}", b.user_s - a.user_s)));
            p.push(("server_sys_s", format!("{:.3}", b.system_s - a.system_s)));
            p.push(("server_ns_per_delivery", format!("{per:.0}")));
            let share = if r.run_s > 0.0 { cpu / r.run_s } else { 0.0 };
            p.push(("server_cpu_share", format!("{share:.2}")));
            p.push(("server_peak_rss_kib", b.peak_rss_kib.to_string()));
            p.push(("server_rss_kib", b.rss_kib.to_string()));
            p.push(("server_rss_anon_kib", b.rss_anon_kib.to_string()));
            p.push(("server_threads", b.threads.to_string()));
        }
        if let Some(e) = &r.server_error {
            notes.push(format!("server figures unavailable: {e}"));
        }
        if let Some((a, b)) = &r.own {
            let cpu = b.cpu_since(a);
            let share = if r.run_s > 0.0 { cpu / r.run_s } else { 0.0 };
            p.push(("generator_cpu_s", format!("{cpu:.3}")));
            p.push(("generator_cpu_share", format!("{share:.2}")));
            if share >= SATURATED && r.run_s > 0.2 {
                notes.push(format!(
                    "generator saturated ({:.0}% of a core): throughput may be bounded by chat-bench, not the server",
                    share * 100.0
                ));
            }
        }
        if args.rate.is_some() {
            p.push(("pacing_max_lag_ms", ms(r.max_pacing_lag_ns)));
        }
        p.push(("disconnects", r.disconnects.to_string()));
        p.push(("refused", r.refused.to_string()));
        p.push(("peers_left", r.peers_left.to_string()));
        p.push(("garbled", r.garbled.to_string()));
        notes.extend(r.samples.iter().cloned());
        Figures { pairs: p, notes }
    }

    /// Return the value of figure `key`, if present.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Render the figures in `format`.
    pub fn render(&self, format: Format) -> String {
        let mut s = String::new();
        match format {
            Format::Kv => {
                for (k, v) in &self.pairs {
                    let _ = writeln!(s, "{k}={}", v.replace(char::is_whitespace, "_"));
                }
                for n in &self.notes {
                    let _ = writeln!(s, "note={}", n.replace(['\n', '\r'], " "));
                }
            }
            Format::Text => {
                let g = |k: &str| self.get(k).unwrap_or("-").to_string();
                let _ = writeln!(
                    s,
                    "chat-bench {} {}: {} clients x {} messages, {}, text {} B",
                    g("proto"),
                    g("label"),
                    g("clients"),
                    g("messages"),
                    g("mode"),
                    g("text_len")
                );
                let _ = writeln!(
                    s,
                    "  joined      {}/{} in {} s",
                    g("in_room"),
                    g("clients"),
                    g("join_s")
                );
                let _ = writeln!(
                    s,
                    "  ended       {} after {} s, {} messages sent",
                    g("end"),
                    g("run_s"),
                    g("sent")
                );
                let _ = writeln!(
                    s,
                    "  deliveries  {} of {} (lost {}, duplicated {}, reordered {}, unexpected {})",
                    g("delivered"),
                    g("expected"),
                    g("lost"),
                    g("duplicated"),
                    g("reordered"),
                    g("unexpected")
                );
                let _ = writeln!(s, "  throughput  {} deliveries/s", g("deliveries_per_s"));
                let _ = writeln!(
                    s,
                    "  latency     p50 {} ms, p99 {} ms, max {} ms",
                    g("latency_p50_ms"),
                    g("latency_p99_ms"),
                    g("latency_max_ms")
                );
                if self.get("server_cpu_s").is_some() {
                    let _ = writeln!(
                        s,
                        "  server      cpu {} s ({} of a core; user {} s, sys {} s), {} ns/delivery, peak RSS {} KiB, RSS {} KiB (private {} KiB), {} thread(s)",
                        g("server_cpu_s"),
                        g("server_cpu_share"),
                        g("server_user_s"),
                        g("server_sys_s"),
                        g("server_ns_per_delivery"),
                        g("server_peak_rss_kib"),
                        g("server_rss_kib"),
                        g("server_rss_anon_kib"),
                        g("server_threads")
                    );
                }
                if self.get("generator_cpu_s").is_some() {
                    let _ = writeln!(
                        s,
                        "  generator   cpu {} s ({} of a core)",
                        g("generator_cpu_s"),
                        g("generator_cpu_share")
                    );
                }
                if self.get("pacing_max_lag_ms").is_some() {
                    let _ = writeln!(
                        s,
                        "  pacing      max lag behind schedule {} ms",
                        g("pacing_max_lag_ms")
                    );
                }
                let _ = writeln!(
                    s,
                    "  events      {} disconnects, {} refused lines, {} departures, {} garbled",
                    g("disconnects"),
                    g("refused"),
                    g("peers_left"),
                    g("garbled")
                );
                for n in &self.notes {
                    let _ = writeln!(s, "  note        {n}");
                }
            }
        }
        s
    }
}

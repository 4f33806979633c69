//! Command-line options of `chat-bench`.

use std::net::SocketAddr;

use clap::Parser;

use crate::protocol::Protocol;

/// How to print the results.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// A block of text for people.
    Text,
    /// One `key=value` per line, for scripts.
    Kv,
}

/// Load generator for chatd and IRC servers: N clients join one room, each sends M public
/// messages; reports deliveries/s, end-to-end latency, loss/duplication/reordering, and the
/// server's CPU per delivery and peak RSS (given its PID). Loopback only; every run is bounded
/// by --timeout.
#[derive(Debug, Parser)]
#[command(name = "chat-bench", version)]
pub struct Args {
    /// Dialect the server speaks.
    #[arg(long, value_enum, default_value = "chatd")]
    pub proto: Protocol,

    /// Server address; must be a loopback address.
    #[arg(long, default_value = "127.0.0.1:5000")]
    pub addr: SocketAddr,

    /// Number of clients (N).
    #[arg(short = 'n', long, default_value_t = 16)]
    pub clients: usize,

    /// Messages each client sends (M).
    #[arg(short = 'm', long, default_value_t = 100)]
    pub messages: u32,

    /// Paced mode: messages per second per client. Without it: fast mode (bounded by --window).
    #[arg(long)]
    pub rate: Option<f64>,

    /// Fast mode: at most this many messages per sender not yet seen by every other client.
    #[arg(long, default_value_t = 16)]
    pub window: u32,

    /// Bytes of message text (padded with `x`; at least the header `cb S Q T`).
    #[arg(long, default_value_t = 48)]
    pub text_len: usize,

    /// PID of the server, to read its CPU time and memory from /proc.
    #[arg(long)]
    pub server_pid: Option<u32>,

    /// Give up after this many seconds in all (connect, join, run).
    #[arg(long, default_value_t = 60.0)]
    pub timeout: f64,

    /// Stop this many milliseconds after the last delivery if some never arrive.
    #[arg(long, default_value_t = 2000)]
    pub linger_ms: u64,

    /// Client names are this prefix followed by the client's index.
    #[arg(long, default_value = "b")]
    pub name_prefix: String,

    /// IRC channel to join.
    #[arg(long, default_value = "#bench")]
    pub channel: String,

    /// Server password (chatd `ASK PASSWORD`, IRC `PASS`).
    #[arg(long)]
    pub password: Option<String>,

    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,

    /// Speak TLS to the server (any certificate is accepted: loopback only).
    #[arg(long)]
    pub tls: bool,

    /// Free label copied into the report (e.g. the server's name).
    #[arg(long, default_value = "")]
    pub label: String,
}

impl Args {
    /// Check the options that clap cannot; return a message for the user if one is wrong.
    pub fn check(&self) -> Result<(), String> {
        if !self.addr.ip().is_loopback() {
            return Err(format!(
                "{} is not a loopback address; chat-bench only loads this machine",
                self.addr
            ));
        }
        if !(1..=4096).contains(&self.clients) {
            return Err("--clients must be 1..=4096".into());
        }
        if self.messages == 0 {
            return Err("--messages must be at least 1".into());
        }
        if let Some(r) = self.rate {
            if !(r.is_finite() && r > 0.0 && r <= 1_000_000.0) {
                return Err("--rate must be a positive number of messages per second".into());
            }
        }
        if self.window == 0 {
            return Err("--window must be at least 1".into());
        }
        if !(self.timeout.is_finite() && self.timeout > 0.0 && self.timeout <= 86_400.0) {
            return Err("--timeout must be 0..86400 seconds".into());
        }
        if self.text_len > 900 {
            return Err("--text-len must be at most 900 bytes".into());
        }
        if self.name_prefix.is_empty() || self.name_prefix.contains(char::is_whitespace) {
            return Err("--name-prefix must be a non-empty word".into());
        }
        Ok(())
    }
}

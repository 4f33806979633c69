//! The chat logic of chatd as a sans-IO state machine.
//!
//! This crate contains no networking code, reads no clock and allocates nothing: it is
//! `#![no_std]` without `alloc`, and every buffer has a fixed capacity (see [`config`]). The
//! caller — the `chatd` daemon, a test, or a fuzzer — tells a [`Server`] what happened
//! ([`Server::accept`], [`Server::input`], [`Server::closed`], [`Server::tick`]), passing the
//! time each time as a [`Now`]: a monotonic [`Instant`] that drives every timer, and the wall
//! clock's [`Timestamp`] that only stamps lines. Then it drains what the server wants done:
//! bytes to write ([`Server::outgoing_vectored`] / [`Server::consume`], or [`Server::flush`]
//! over an [`nb`]-style [`Transport`]), and connections to close ([`Server::poll_close`]).
//! [`Server::poll_at`] says when to call [`Server::tick`] next, so a loop built on it never
//! busy-waits. The run loop is written down as a contract in [`server`].
//!
//! The layers, from the bytes up: [`frame`] cuts input into lines, [`commands`] reads a line as
//! a command, [`names`] checks names, [`history`] keeps the last public messages, [`flood`]
//! limits the rate of a client, [`slot`] holds one connection's state, [`broadcast`] stores each
//! public line once for every reader, and [`server`] ties them together. [`wire`] writes (and,
//! for clients, parses) the lines the server sends, as documented in `docs/PROTOCOL.md`;
//! [`irc`] does the same for IRC messages. Each connection speaks a [`Dialect`], chatd's own or
//! IRC, chosen by the listener it came in on; both share one room. [`fingerprint`] is the text
//! form of a TLS certificate's fingerprint, which the daemon prints and the client checks.
//!
//! The feature `test-util` adds the module `testing`, which drives a server on a simulated
//! clock for tests and fuzzers; it needs `std` and is never part of a release build.
#![no_std]
#![deny(unsafe_code)]
#![warn(missing_docs)]
#![warn(clippy::cast_possible_truncation)]

#[cfg(any(test, feature = "test-util"))]
extern crate std;

pub mod auth;
pub mod broadcast;
mod burst;
pub mod commands;
pub mod config;
pub mod dialect;
pub mod fingerprint;
pub mod flood;
pub mod frame;
pub mod history;
pub mod irc;
pub mod names;
mod outbox;
pub mod server;
pub mod slot;
#[cfg(any(test, feature = "test-util"))]
pub mod testing;
pub mod time;
pub mod transport;
pub mod wire;

pub use config::{Config, IrcConfig};
pub use dialect::Dialect;
pub use history::{Entry, EntryKind};
pub use names::Name;
pub use server::{CloseReason, ConnId, Fed, Refused, Server};
pub use time::{Duration, Instant, Now, Timestamp};
pub use transport::Transport;
pub use wire::ServerLine;

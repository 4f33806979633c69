//! The chat logic of chatd as a sans-IO state machine.
//!
//! This crate contains no networking code, reads no clock and allocates nothing: it is
//! `#![no_std]
#![deny(unsafe_code)]
#![warn(missing_docs)]
#![warn(clippy::cast_possible_truncation)]

#[cfg(any(test, feature = "test-util"))]
extern crate std;

pub mod auth;
pub mod broadcast;
pub mod commands;
pub mod config;
pub mod flood;
pub mod frame;
pub mod history;
pub mod names;
mod outbox;
pub mod server;
pub mod slot;
#[cfg(any(test, feature = "test-util"))]
pub mod testing;
pub mod time;
pub mod transport;
pub mod wire;

pub use config::Config;
pub use history::{Entry, EntryKind};
pub use names::Name;
pub use server::{CloseReason, ConnId, Fed, Full, Server};
pub use time::{Duration, Instant, Now, Timestamp};
pub use transport::Transport;
pub use wire::ServerLine;

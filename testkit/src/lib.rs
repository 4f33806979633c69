//! Drive the real `chatd` and `chatc` binaries from end-to-end tests.
//!
//! The integration tests of the daemon, the client and the benchmark all need the same things:
//! start `chatd` on a loopback port the kernel picks and learn that port from its `listening`
//! log line ([`Chatd`], [`Launch`]), and keep the test's own `CHATD_*` and systemd variables
//! from it ([`clean_env`]); start it by hand where its log goes elsewhere ([`chatd_command`],
//! [`SyslogSocket`], [`Reaper`]) or it must fail ([`run_to_exit`]); talk the protocol to it
//! with a deadline on every read ([`Client`], and [`IrcClient`] for its IRC side, each over
//! TLS too), also from sockets std cannot make ([`raw_connect`] with a source address or a
//! small receive buffer, [`reset`]); run `chatc` with piped stdio ([`Chatc`]) and read what a
//! child writes ([`Lines`]); run a terminal program (chatc, irssi) in a terminal of its own
//! and read its screen ([`Tmux`]); send a signal to a process the test started ([`signal`]);
//! and keep scratch files in a directory that goes away ([`TempDir`]). This crate is that one
//! harness; it is a dev-dependency only and never published.
//!
//! # Waiting
//!
//! Nothing here sleeps and hopes. Every wait is for a condition (a line, an exit, the end of a
//! stream) and is bounded by [`WAIT`]; running out of time panics with what was seen instead,
//! so a failing test says why. [`WAIT`] is far above what a pass needs on a loaded two-core
//! machine: it only bounds how long a broken test takes to fail.
//!
//! # Finding the binaries
//!
//! [`chatd_bin`] and [`chatc_bin`] return, in this order:
//!
//! 1. `$CHATD_BIN` / `$CHATC_BIN`, when set: an explicit binary, e.g. an installed one, a
//!    cross-compiled one, or one from another build.
//! 2. `$CARGO_BIN_EXE_chatd` / `$CARGO_BIN_EXE_chatc` at run time. Cargo 1.94 and newer set it
//!    when it runs a package's own tests (the daemon's tests get chatd, the client's chatc):
//!    exactly the binary cargo just built for this run, nothing to do.
//! 3. Otherwise, once per test process, `cargo build --workspace --bin NAME` in the profile
//!    the test executable was built in, reading the binary's path from cargo's JSON messages.
//!
//! Why ask cargo instead of looking beside the test executable and building only when the file
//! is missing: a binary that exists can be stale (`cargo test -p chatc` builds chatc, not
//! chatd, so after editing the daemon the old chatd would be tested), and the layout is not
//! ours to guess (`build-dir` moves the test executables away from the binaries). Cargo knows
//! whether chatd is up to date and where it put it; when it is, the build is a no-op of about
//! a tenth of a second. `--workspace` matters: it resolves features for the whole workspace,
//! as `cargo test --workspace` does, so the build reuses the artifacts the test run made
//! instead of compiling a second chatd with a narrower feature set. Cargo's lock on the target
//! directory serialises builds from test processes that run at once, and a `OnceLock` does so
//! between the tests of one process. A plain `cargo build` uses the default target directory:
//! with `--target-dir` on the outer command line, set `CARGO_TARGET_DIR` instead (or the
//! binary variables above), or the nested build starts from scratch.

mod bins;
mod chatc;
mod chatd;
mod client;
mod incoming;
mod irc_client;
mod lines;
mod process;
mod socket;
mod syslog;
mod temp_dir;
mod tls;
mod tmux;

use std::time::Duration;

pub use bins::{chatc_bin, chatd_bin};
pub use chatc::Chatc;
pub use chatd::{chatd_command, clean_env, listening_addr, Chatd, Launch};
pub use client::{msg_from, Client};
pub use irc_client::{command_of, nick_of, params_of, IrcClient};
pub use lines::Lines;
pub use nix::sys::signal::Signal;
pub use process::{run_to_exit, running, signal, wait_for, Reaper};
pub use socket::{raw_connect, reset};
pub use syslog::SyslogSocket;
pub use temp_dir::TempDir;
pub use tls::{any_cert_config, fingerprint};
pub use tmux::Tmux;

/// How long any single wait may take before the test fails.
pub const WAIT: Duration = Duration::from_secs(15);

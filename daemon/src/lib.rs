//! chatd, the LAN chat daemon: the I/O around the sans-IO core `chat_core`.
//!
//! [`event_loop::Daemon`] is the daemon proper (one thread, epoll, non-blocking sockets);
//! [`cli`] reads the command line into [`settings::Settings`]; [`listen`] makes the listening
//! sockets (including systemd's); [`daemonize`], [`pidfile`], [`signals`], [`notify`],
//! [`fd_limit`] and [`logging`] are the Unix plumbing; [`files`] opens every file so that none
//! can hang or trick the daemon; [`state`] keeps the history across restarts and [`password`]
//! reads the password file; [`mdns`] announces chatd on the LAN; [`tls`] holds the certificate
//! and the encrypted connections. [`main`] ties them together for the binary.

pub mod cli;
pub mod clock;
pub mod daemonize;
pub mod error;
pub mod event_loop;
pub mod fd_limit;
pub mod files;
pub mod handle;
pub mod listen;
pub mod logging;
pub mod mdns;
pub mod notify;
pub mod password;
pub mod pidfile;
pub mod settings;
pub mod signals;
pub mod socket;
pub mod state;
pub mod tls;

use std::process::ExitCode;

use clap::Parser as _;

pub use event_loop::{Daemon, Handle};
pub use settings::Settings;

use crate::cli::{Cli, LogTarget};
use crate::daemonize::Readiness;
use crate::pidfile::Pidfile;

/// Exit status for a bad command line.
const EXIT_USAGE: u8 = 2;
/// Exit status for a failure at run time.
const EXIT_FAILURE: u8 = 1;

/// Run the daemon as the `chatd` binary does; return its exit status.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => return usage_error(&e),
    };
    if let Err(msg) = cli.check() {
        eprintln!(
            "{}chatd: {msg} (see chatd --help)",
            logging::stderr_error_prefix()
        );
        return ExitCode::from(EXIT_USAGE);
    }
    if cli.fingerprint {
        return print_fingerprint(&cli);
    }
    let settings = match cli.settings() {
        Ok(s) => s,
        Err(e) => return usage_error(&e),
    };
    // Locked before anything else, so a second chatd with the same pidfile stops at once;
    // the lock outlives the forks of `--daemon`, and the pid is written once detached.
    let mut pidfile = match cli.pidfile.as_deref().map(Pidfile::lock).transpose() {
        Ok(p) => p,
        Err(e) => return fail(&e.to_string()),
    };
    let mut daemon = match Daemon::bind(&settings) {
        Ok(d) => d,
        Err(e) => return fail(&e.to_string()),
    };
    let mut readiness = if cli.daemon {
        match daemonize::daemonize() {
            Ok(r) => r,
            Err(e) => return fail(&e.to_string()),
        }
    } else {
        Readiness::none()
    };

    let level = cli.log_level.filter();
    let rate = cli.log_rate.0;
    match cli.log_target() {
        LogTarget::Stderr => logging::init_stderr(level, rate),
        LogTarget::Syslog => {
            if let Err(e) = logging::init_syslog(level, rate, &cli.syslog_socket) {
                let msg = format!(
                    "cannot log to syslog at {}: {e}; logging to stderr",
                    cli.syslog_socket.display()
                );
                readiness.warn(&msg);
                logging::init_stderr(level, rate);
                log::warn!(target: "chatd", "{msg}");
            }
        }
    }
    let started = (|| -> Result<(), String> {
        signals::install(&daemon.handle())
            .map_err(|e| format!("cannot install signal handlers: {e}"))?;
        pidfile
            .as_mut()
            .map_or(Ok(()), Pidfile::write_pid)
            .map_err(|e| e.to_string())
    })();
    if let Err(msg) = started {
        log::error!(target: "chatd", "{msg}");
        readiness.fail(&msg);
        return fail(&msg);
    }

    daemon.announce();
    notify::notify_or_log("READY=1");
    readiness.ready();
    match daemon.run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            log::error!(target: "chatd", "{e}");
            ExitCode::from(EXIT_FAILURE)
        }
    }
}

/// Print the fingerprint of the certificate chatd presents (without making one), for the
/// admin to hand out: `chatd --fingerprint`.
fn print_fingerprint(cli: &Cli) -> ExitCode {
    match tls::existing(&cli.cert_source()) {
        Ok(identity) => {
            println!("{}", identity.fingerprint);
            ExitCode::SUCCESS
        }
        Err(e) => fail(&e.to_string()),
    }
}

/// Print a run-time failure as one line (an error to the journal) and return status 1.
fn fail(msg: &str) -> ExitCode {
    eprintln!("{}chatd: {msg}", logging::stderr_error_prefix());
    ExitCode::from(EXIT_FAILURE)
}

/// Print a command-line error as one line (help and version as clap writes them).
fn usage_error(e: &clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    if matches!(
        e.kind(),
        ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    ) {
        let _ = e.print();
        return if e.use_stderr() {
            ExitCode::from(EXIT_USAGE)
        } else {
            ExitCode::SUCCESS
        };
    }
    let text = e.render().to_string();
    let line = text
        .lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("invalid command line");
    let line = line.strip_prefix("error: ").unwrap_or(line);
    eprintln!(
        "{}chatd: {line} (see chatd --help)",
        logging::stderr_error_prefix()
    );
    ExitCode::from(EXIT_USAGE)
}

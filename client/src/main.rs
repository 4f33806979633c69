//! chatc: the terminal client of chatd, the LAN chat.
//!
//! Three modes, chosen by how it is run: interactive on a terminal ([`interactive`]), script
//! mode when standard input is a pipe or file ([`script`]), and `--listen` ([`listen`]). All
//! server lines are parsed by `chat_core::ServerLine` and cleaned by [`sanitize`] before they
//! are shown. Settings come from the command line over the configuration file ([`config`]).
//!
//! Exit status: 0 when the session ended as asked (`/quit`, Ctrl-D, Ctrl-C, end of a script
//! answered by `BYE quit`, `SHUTDOWN` in listen mode, SIGINT/SIGTERM/SIGHUP in interactive
//! and listen mode); 1 on any error, with one line on standard error saying what went wrong;
//! 2 for a bad command line or configuration file; 130 when a prompt (name, password) was
//! cancelled with Ctrl-C or Ctrl-D.

mod alert;
mod attempt;
mod cli;
mod clock;
mod complete;
mod config;
mod connection;
mod discover;
mod editor;
mod error;
mod interactive;
mod keys;
mod known_hosts;
mod lines;
mod link;
mod listen;
mod pacing;
mod recall;
mod render;
mod roster;
mod sanitize;
mod screen;
mod script;
mod seen;
mod signals;
mod terminal;
mod tls;

use std::process::ExitCode;

use clap::Parser;

use crate::alert::Alerts;
use crate::cli::Args;
use crate::error::Error;
use crate::render::Style;

/// Read the settings, pick the mode and run it.
fn run(args: &Args) -> Result<(), Error> {
    if args.discover {
        return discover::list();
    }
    let settings = args.settings(config::load(args.config.as_deref())?);
    let login = settings.login()?;
    let target = match settings.target() {
        Some(given) => discover::resolve(given),
        None => discover::pick(terminal::stdin_is_tty())?,
    }
    .with_security(settings.security.clone());
    if settings.listen {
        let signals = signals::Signals::install()?;
        return listen::run(&target, login, &signals);
    }
    if terminal::stdin_is_tty() {
        let signals = signals::Signals::install()?;
        let options = interactive::Options {
            style: Style {
                color: settings.color(terminal::stdout_is_tty()),
            },
            alerts: Alerts::new(settings.bell, settings.notify),
        };
        return interactive::run(&target, login, &signals, options);
    }
    script::run(&target, login)
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Error::Cancelled) => ExitCode::from(130),
        Err(e @ Error::Config(_)) => {
            eprintln!("chatc: {e}");
            ExitCode::from(2)
        }
        Err(e) => {
            eprintln!("chatc: {e}");
            ExitCode::FAILURE
        }
    }
}

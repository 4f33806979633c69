//! chatc: the terminal client of chatd, the LAN chat.
//!
//! Three modes, chosen by how it is run: interactive on a terminal ([`interactive`]), script
//! mode when standard input is a pipe or file ([`script`]), and `--listen` ([`listen`]). All
//! server lines are parsed by `chat_core::ServerLine` and cleaned by [`sanitize`] before they
//! are shown.
//!
//! Exit status: 0 when the session ended as asked (`/quit`, Ctrl-D, Ctrl-C, end of a script
//! answered by `BYE quit`, `SHUTDOWN` in listen mode, SIGINT/SIGTERM/SIGHUP in interactive
//! and listen mode); 1 on any error, with one line on
//! standard error saying what went wrong; 2 for a bad command line; 130 when a prompt (name,
//! password) was cancelled with Ctrl-C or Ctrl-D.

mod attempt;
mod cli;
mod clock;
mod connection;
mod editor;
mod error;
mod interactive;
mod listen;
mod render;
mod sanitize;
mod script;
mod seen;
mod signals;
mod terminal;

use std::process::ExitCode;

use clap::Parser;

use crate::cli::Args;
use crate::error::Error;
use crate::render::Style;

/// Pick the mode and run it.
fn run(args: &Args) -> Result<(), Error> {
    let target = args.target();
    let login = args.login()?;
    if args.listen {
        let signals = signals::Signals::install()?;
        return listen::run(&target, login, &signals);
    }
    if terminal::stdin_is_tty() {
        let signals = signals::Signals::install()?;
        let style = Style {
            color: args.color(terminal::stdout_is_tty()),
        };
        return interactive::run(&target, login, &signals, style);
    }
    script::run(&target, login)
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Error::Cancelled) => ExitCode::from(130),
        Err(e) => {
            eprintln!("chatc: {e}");
            ExitCode::FAILURE
        }
    }
}

//! `chat-bench`: the same fan-out workload against chatd and against an IRC server.
//!
//! N clients connect over loopback and join one room; once all are in, each sends M public
//! messages, paced (`--rate`) or as fast as a per-sender window of unseen messages allows.
//! Every message carries its sender, sequence number and send time, so the receivers can count
//! deliveries, loss, duplication, reordering and end-to-end latency. Given the server's PID it
//! also reports the server's CPU time per delivery and its peak RSS, and always its own CPU time.

mod accounting;
mod cli;
mod fd_limit;
mod proc_stats;
mod protocol;
mod report;
mod run;
mod tls;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args = cli::Args::parse();
    if let Err(msg) = args.check() {
        eprintln!("chat-bench: {msg}");
        return ExitCode::from(64);
    }
    if let Err(msg) = fd_limit::raise_for(args.clients) {
        eprintln!("chat-bench: {msg}");
        return ExitCode::FAILURE;
    }
    match run::run(&args) {
        Ok(result) => {
            let figures = report::Figures::new(&args, &result);
            print!("{}", figures.render(args.format));
            match result.end {
                run::End::Complete | run::End::Quiet => ExitCode::SUCCESS,
                run::End::JoinTimeout | run::End::Timeout => ExitCode::from(2),
            }
        }
        Err(e) => {
            eprintln!("chat-bench: {e}");
            ExitCode::FAILURE
        }
    }
}

//! The `bague` command: run, chat, pull, list, inspect, tokenize, bench and plan.
//!
//! `main` only parses the command line and reports errors; each subcommand lives in its own
//! module under `cmd/`. Errors are printed on one line (`bague: error: ...`) with exit code 1.

mod backend;
mod cmd;
mod constraint;
mod fetch;
mod load;
mod models;
mod options;
mod output;
mod progress;
mod registry;

use clap::Parser;
use std::process::ExitCode;

/// bague: inference runtime for 4-bit quantized GGUF models on small devices.
#[derive(Parser)]
#[command(name = "bague", version)]
struct Cli {
    #[command(subcommand)]
    command: cmd::Command,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command.run() {
        Ok(()) => ExitCode::SUCCESS,
        // `bague inspect big.gguf | head` closes stdout early: not an error.
        Err(e)
            if e.downcast_ref::<std::io::Error>()
                .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe) =>
        {
            ExitCode::SUCCESS
        }
        // Ctrl-C: what was generated and the statistics are already printed.
        Err(e) if e.downcast_ref::<output::Interrupted>().is_some() => ExitCode::from(130),
        Err(e) => {
            eprintln!("bague: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

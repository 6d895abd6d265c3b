//! The `frameloop` command line: `new` (a project scaffold), `echo` (a
//! server to try things against), `bench` (the load generator).
//!
//! clap reads the arguments: every command gets `--help`, a mistyped option
//! gets a suggestion, and a bad value an error that names its flag.

mod args;
mod bench;
mod echo;
mod logging;
mod new;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// frameloop: message-based TCP servers and clients on one event loop.
#[derive(Debug, Parser)]
#[command(name = "frameloop", version, propagate_version = true, arg_required_else_help = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Create a project: a server and a client to fill in.
    New(new::NewArgs),
    /// Run an echo server to try clients against.
    Echo(echo::EchoArgs),
    /// Load-test an echo server (default: the engine's, in-process).
    // Boxed: its options are several times the others'.
    Bench(Box<bench::BenchArgs>),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::New(args) => new::run(&args),
        Command::Echo(args) => echo::run(&args),
        Command::Bench(args) => bench::run(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

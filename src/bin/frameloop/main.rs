//! The `frameloop` command line: `new` (a project scaffold), `echo` (a
//! server to try things against), `bench` (the load generator).

#[allow(dead_code)] // options used by the commands still to come
mod args;
mod echo;

use std::process::ExitCode;

const USAGE: &str = "\
frameloop: message-based TCP servers and clients on one event loop

USAGE:
    frameloop echo [ADDR] [--lines]   run an echo server (default 127.0.0.1:7000)
    frameloop help                    show this text
";

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let command = args.next();
    let rest: Vec<String> = args.collect();
    let result = match command.as_deref() {
        Some("echo") => echo::run(&rest),
        None | Some("help" | "-h" | "--help") => {
            print!("{USAGE}");
            Ok(())
        }
        Some(other) => Err(format!("unknown command '{other}'\n\n{USAGE}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

//! The `frameloop` command line: `new` (a project scaffold), `echo` (a
//! server to try things against), `bench` (the load generator).

#[allow(dead_code)] // options used by the commands still to come
mod args;
mod bench;
mod echo;
mod new;

use std::process::ExitCode;

const USAGE: &str = "\
frameloop: message-based TCP servers and clients on one event loop

USAGE:
    frameloop new DIR                 create a project: a server and a client to fill in
    frameloop echo [ADDR] [--lines] [--busy-poll-us N]
                                      run an echo server (default 127.0.0.1:7000); busy-poll
                                      for up to N microseconds before sleeping (default 0: off)
    frameloop bench [OPTIONS]         load-test an echo server (default: the engine's, in-process)
        --addr ADDR        drive this server instead (any echo of 4-byte-length frames)
        --server-pid PID   read that server's CPU time (and memory, in idle mode) from /proc
        --mode MODE        throughput (default), pingpong, or idle (memory per idle connection)
        --conns N          connections (default 100; pingpong 1; idle 10000)
        --depth N          frames in flight per connection, throughput mode (default 16)
        --size BYTES       payload bytes per frame, at least 12 (default 64)
        --secs S           measured seconds (default 5), after --warmup S (default 1)
        --threads N        client threads (default 1; pingpong: one per connection)
        --busy-poll-us N   the in-process server busy-polls for up to N microseconds (default 0: off)
    frameloop help                    show this text
";

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let command = args.next();
    let rest: Vec<String> = args.collect();
    let result = match command.as_deref() {
        Some("new") => new::run(&rest),
        Some("echo") => echo::run(&rest),
        Some("bench") => bench::run(&rest),
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

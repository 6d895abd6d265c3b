//! tcp-client-serv's three servers and its one-shot client.
//!
//! ```text
//! cargo run --example request_reply -- server-once 127.0.0.1:1234
//! cargo run --example request_reply -- server-iterative 127.0.0.1:1234
//! cargo run --example request_reply -- server-concurrent 127.0.0.1:1234
//! cargo run --example request_reply -- client 127.0.0.1:1234 "Hello Server!"
//! ```
//!
//! `server-once` answers one request and exits (tcp-client-serv's
//! `Server`); `server-iterative` serves one client at a time
//! (`IterativeServer`); `server-concurrent` serves all clients at once
//! (`MultithreadedServer`, on one network thread instead of a thread per
//! request). The client connects, sends one request, prints the reply and
//! closes (`Client.open()`).

use std::time::Duration;

use frameloop::{Error, ReplyMode, Server, ServerBuilder};

/// The server's protocol: tcp-client-serv's `process_request`.
pub fn process_request(request: &[u8]) -> Vec<u8> {
    format!("Hello Client! You said: {}", String::from_utf8_lossy(request)).into_bytes()
}

/// The mode a command-line word names.
pub fn mode(word: &str) -> Option<ReplyMode> {
    match word {
        "server-once" => Some(ReplyMode::Once),
        "server-iterative" => Some(ReplyMode::OneAtATime),
        "server-concurrent" => Some(ReplyMode::Concurrent),
        _ => None,
    }
}

/// Starts a request / reply server on `addr`.
///
/// # Errors
///
/// The address is in use or invalid, or the network thread cannot start.
pub fn start(mode: ReplyMode, addr: &str) -> Result<Server, Error> {
    start_with(Server::bind(addr)?, mode)
}

/// Starts a request / reply server on a bound server.
fn start_with(builder: ServerBuilder, mode: ReplyMode) -> Result<Server, Error> {
    builder.reply(mode, process_request)
}

/// The client: one request, one reply (tcp-client-serv's
/// `prepare_request` / `process_reply`).
///
/// # Errors
///
/// The server cannot be reached, or does not answer within 10 seconds.
pub fn ask(addr: &str, text: &str) -> Result<String, Error> {
    let reply = frameloop::request_timeout(addr, text, Duration::from_secs(10))?;
    Ok(String::from_utf8_lossy(&reply).into_owned())
}

const USAGE: &str = "usage: request_reply server-once|server-iterative|server-concurrent ADDR
       request_reply client ADDR TEXT";

#[allow(dead_code)] // the tests use the parts, not `main`
fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let word = args.first().map_or("", String::as_str);
    let addr = args.get(1).map_or("127.0.0.1:1234", String::as_str);
    let result = if word == "client" {
        let text = args.get(2).map_or("Hello Server!", String::as_str);
        ask(addr, text).map(|reply| println!("Response: {reply}"))
    } else if let Some(mode) = mode(word) {
        let builder = Server::bind(addr);
        // Ctrl-C and SIGTERM stop it gracefully: the replies already due
        // are sent, then `wait` returns.
        #[cfg(feature = "signals")]
        let builder = builder.map(ServerBuilder::stop_on_signals);
        builder.and_then(|b| start_with(b, mode)).and_then(|server| {
            println!("{word} listening on {}", server.local_addr());
            server.wait() // Once returns after its reply; the others run until Ctrl-C or SIGTERM
        })
    } else {
        eprintln!("{USAGE}");
        std::process::exit(2);
    };
    if let Err(e) = result {
        eprintln!("request_reply: {e}");
        std::process::exit(1);
    }
}

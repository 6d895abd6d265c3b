//! simplesockets' echo server: poll the received data, send each message
//! back, then disconnect its sender.
//!
//! ```text
//! cargo run --example echo_polling -- 127.0.0.1:9999
//! ```
//!
//! simplesockets checked a flag in a `while True` loop (a busy loop that
//! burns a core); here `events()` sleeps until something happens.
//! Try it with the one-call client:
//! `cargo run --example request_reply -- client 127.0.0.1:9999 hello`.

use frameloop::{Error, Event, PollingServer, Server};

/// Serves until the server stops: echoes each message to its sender and
/// disconnects it, and prints connects and disconnects.
///
/// # Errors
///
/// Only if the server stopped before a reply could be queued.
pub fn serve(server: &PollingServer) -> Result<(), Error> {
    for event in server.events() {
        match event {
            Event::Connected { addr, .. } => println!("{addr} connected"),
            Event::Received { client, addr, data } => {
                println!("{addr} sent {} bytes", data.len());
                match server.send(client, &data).and_then(|()| server.disconnect(client)) {
                    // Gone before its answer: nothing to do for it.
                    Ok(()) | Err(Error::UnknownConnection(_)) => {}
                    Err(e) => return Err(e),
                }
            }
            Event::Packet { .. } => {} // only with .packets()
            Event::Disconnected { addr, reason, .. } => println!("{addr} disconnected: {reason}"),
            Event::Error(e) => eprintln!("error: {e}"), // simplesockets' return_exceptions
        }
    }
    Ok(())
}

#[allow(dead_code)] // the tests call `serve`, not `main`
fn main() {
    let addr = std::env::args().nth(1).unwrap_or_else(|| "127.0.0.1:9999".to_owned());
    let builder = Server::bind(addr.as_str());
    // Ctrl-C and SIGTERM stop it gracefully: the replies queued go out,
    // then `events()` ends and so does the program, with status 0.
    #[cfg(feature = "signals")]
    let builder = builder.map(frameloop::ServerBuilder::stop_on_signals);
    let server = match builder.and_then(|b| b.start_polling()) {
        Ok(server) => server,
        Err(e) => {
            eprintln!("echo_polling: {e}");
            std::process::exit(1);
        }
    };
    println!("echo server on {}; Ctrl-C or SIGTERM stops it", server.local_addr());
    if let Err(e) = serve(&server) {
        eprintln!("echo_polling: {e}");
        std::process::exit(1);
    }
}

//! A frames echo through the beginner's API, written as a beginner writes
//! it: the server that `benches/facade.sh` measures against the engine's
//! echo (`examples/echo.rs`) and tokio's `Framed` echo
//! (`examples/tokio_echo.rs`). Not tuned in any way on purpose.
//!
//! ```text
//! cargo run --release --example facade_echo -- 127.0.0.1:0 --polling
//! cargo run --release --example facade_echo -- 127.0.0.1:0 --callbacks
//! ```
//!
//! - `--polling` (the default): a [`PollingServer`] whose events the main
//!   thread takes with `for event in server.events()`, sending each message
//!   back with `server.send` (the README's simplesockets loop, without the
//!   disconnect);
//! - `--callbacks`: a [`ServerHandler`] whose `on_receive` sends the message
//!   back from the network thread.
//!
//! The first line on stdout names the bound address, so port 0 works:
//! `frameloop bench --addr ADDR --server-pid PID` drives it. With the
//! `signals` feature, Ctrl-C or SIGTERM stops it gracefully (exit status 0).

use frameloop::{ConnId, Error, Event, Message, PollingServer, Server, ServerBuilder, ServerCtx, ServerHandler};

/// The callback server: every message goes back to its sender.
struct Echo;

impl ServerHandler for Echo {
    fn on_receive(&mut self, server: &mut ServerCtx<'_>, client: ConnId, msg: Message<'_>) -> Result<(), Error> {
        match server.send(client, msg) {
            // Gone before its answer: nothing to do for it.
            Ok(()) | Err(Error::UnknownConnection(_) | Error::ConnectionClosed(_)) => Ok(()),
            Err(e) => Err(e),
        }
    }
}

/// The polling loop, on the caller's thread, until the server stops.
fn serve(server: &PollingServer) -> Result<(), Error> {
    for event in server.events() {
        if let Event::Received { client, data, .. } = event {
            match server.send(client, &data) {
                // A client that left between its message and the answer.
                Ok(()) | Err(Error::UnknownConnection(_)) => {}
                Err(e) => return Err(e),
            }
        }
    }
    Ok(())
}

fn builder(addr: &str) -> Result<ServerBuilder, Error> {
    let builder = Server::bind(addr)?;
    #[cfg(feature = "signals")]
    let builder = builder.stop_on_signals();
    Ok(builder)
}

fn run(addr: &str, polling: bool) -> Result<(), Error> {
    if polling {
        let server = builder(addr)?.start_polling()?;
        println!("facade echo (polling) listening on {}", server.local_addr());
        serve(&server)?;
        server.wait()
    } else {
        let server = builder(addr)?.start(Echo)?;
        println!("facade echo (callbacks) listening on {}", server.local_addr());
        server.wait()
    }
}

fn main() {
    let mut addr = "127.0.0.1:7000".to_owned();
    let mut polling = true;
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "--polling" => polling = true,
            "--callbacks" => polling = false,
            other if !other.starts_with('-') => other.clone_into(&mut addr),
            other => {
                eprintln!("facade_echo: unknown option {other}: ADDR [--polling | --callbacks]");
                std::process::exit(2);
            }
        }
    }
    if let Err(e) = run(&addr, polling) {
        eprintln!("facade_echo: {e}");
        std::process::exit(1);
    }
}

//! pyspeak's chat box: every line a client types reaches every other client.
//!
//! ```text
//! cargo run --example chat_box -- server 127.0.0.1:1996
//! cargo run --example chat_box -- client 127.0.0.1:1996   # in two or more terminals
//! ```
//!
//! Type lines and press Enter; `/stop` quits (the client, or the server).
//! Messages are pyspeak's packets (integer, real, boolean, text); the chat
//! uses the text.

use std::io::{BufRead, Write};
use std::net::SocketAddr;

use frameloop::{
    Client, ClientCtx, ClientHandler, ClientId, CloseReason, Error, Message, Server, ServerCtx, ServerHandler,
};

/// The server side, pyspeak's `server_main.py` of the chat box.
#[derive(Debug)]
pub struct ChatBox;

impl ServerHandler for ChatBox {
    fn on_connect(&mut self, _server: &mut ServerCtx<'_>, client: ClientId, addr: SocketAddr) -> Result<(), Error> {
        println!("{client} connected from {addr}");
        Ok(())
    }

    fn on_receive(&mut self, server: &mut ServerCtx<'_>, client: ClientId, msg: Message<'_>) -> Result<(), Error> {
        // pyspeak looped over getClients() and skipped the sender; one call
        // does it here. With packets, `msg` is the packet's text (data[3]).
        server.broadcast_except(client, msg);
        Ok(())
    }

    fn on_disconnect(
        &mut self,
        _server: &mut ServerCtx<'_>,
        client: ClientId,
        _addr: SocketAddr,
        reason: &CloseReason,
    ) -> Result<(), Error> {
        println!("{client} disconnected: {reason}");
        Ok(())
    }
}

/// The client side, pyspeak's `client_main.py`: prints what others say.
#[derive(Debug)]
pub struct Printer<W> {
    out: W,
}

impl<W: Write> ClientHandler for Printer<W> {
    fn on_connect(&mut self, _client: &mut ClientCtx<'_>, addr: SocketAddr) -> Result<(), Error> {
        writeln!(self.out, "connected to {addr}; type lines, /stop quits")?;
        Ok(())
    }

    fn on_receive(&mut self, _client: &mut ClientCtx<'_>, msg: Message<'_>) -> Result<(), Error> {
        writeln!(self.out, "> {}", msg.text())?;
        self.out.flush()?;
        Ok(())
    }

    fn on_disconnect(&mut self, _client: &mut ClientCtx<'_>, reason: &CloseReason) -> Result<(), Error> {
        writeln!(self.out, "connection closed: {reason}")?;
        Ok(())
    }
}

/// Starts the chat box server.
///
/// # Errors
///
/// pyspeak's `ServerExistsError` / `ServerIpError` / `ServerRunError` as
/// [`Error::AddrInUse`] / [`Error::InvalidAddress`] / [`Error::ThreadSpawn`].
pub fn start_server(addr: &str) -> Result<Server, Error> {
    Server::bind(addr)?.packets().start(ChatBox)
}

/// Connects a chat box client that prints to `out`.
///
/// # Errors
///
/// pyspeak's `ClientConnectError` as [`Error::ConnectionRefused`] and
/// friends, `ClientRunError` as [`Error::ThreadSpawn`].
pub fn connect_client<W: Write + Send + 'static>(addr: &str, out: W) -> Result<Client, Error> {
    Client::builder().packets().callbacks(Printer { out }).connect(addr)
}

/// Reads lines from `input` until `/stop` (or its end), handing each other
/// line to `each`; stops early when `each` fails.
fn typed_lines(input: impl BufRead, mut each: impl FnMut(&str) -> Result<(), Error>) -> Result<(), Error> {
    for line in input.lines() {
        let line = line?;
        if line.trim() == "/stop" {
            break;
        }
        each(&line)?;
    }
    Ok(())
}

#[allow(dead_code)] // the tests use the parts, not `main`
fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let addr = args.get(1).map_or("127.0.0.1:1996", String::as_str);
    let stdin = std::io::stdin();
    let result = match args.first().map(String::as_str) {
        Some("server") => start_server(addr).and_then(|server| {
            println!("chat box server on {}; /stop stops it", server.local_addr());
            // "Write your code below": this thread is free while the
            // server serves on its own.
            typed_lines(stdin.lock(), |line| {
                server.broadcast(format!("[server] {line}"))?;
                Ok(())
            })?;
            server.stop()
        }),
        Some("client") => connect_client(addr, std::io::stdout()).and_then(|client| {
            typed_lines(stdin.lock(), |line| client.send(line))?;
            client.stop()
        }),
        _ => {
            eprintln!("usage: chat_box server ADDR | chat_box client ADDR");
            std::process::exit(2);
        }
    };
    if let Err(e) = result {
        eprintln!("chat box: {e}");
        std::process::exit(1);
    }
}

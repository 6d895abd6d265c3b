//! pyspeak's chat box: every line a client types reaches every other client.
//!
//! ```text
//! cargo run --example chat_box -- server 127.0.0.1:1996
//! cargo run --example chat_box -- client 127.0.0.1:1996   # in two or more terminals
//! ```
//!
//! Type lines and press Enter; `/stop` quits (the client, or the server).
//! The server also stops gracefully on Ctrl-C or SIGTERM.
//! Messages are pyspeak's packets (integer, real, boolean, text); the chat
//! uses the text.

use std::io::{BufRead, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use frameloop::{
    Client, ClientCtx, ClientHandler, CloseReason, ConnId, Error, Message, Server, ServerBuilder, ServerCtx,
    ServerHandler,
};

/// The server side, pyspeak's `server_main.py` of the chat box.
#[derive(Debug)]
pub struct ChatBox;

impl ServerHandler for ChatBox {
    fn on_connect(&mut self, _server: &mut ServerCtx<'_>, client: ConnId, addr: frameloop::Addr) -> Result<(), Error> {
        println!("{client} connected from {addr}");
        Ok(())
    }

    fn on_receive(&mut self, server: &mut ServerCtx<'_>, client: ConnId, msg: Message<'_>) -> Result<(), Error> {
        // pyspeak looped over getClients() and skipped the sender; one call
        // does it here. With packets, `msg` is the packet's text (data[3]).
        server.broadcast_except(client, msg);
        Ok(())
    }

    fn on_disconnect(
        &mut self,
        _server: &mut ServerCtx<'_>,
        client: ConnId,
        _addr: frameloop::Addr,
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
    fn on_connect(&mut self, _client: &mut ClientCtx<'_>, addr: frameloop::Addr) -> Result<(), Error> {
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
/// [`Error::AddrInUse`] / [`Error::InvalidAddress`] / [`Error::ThreadSpawn`];
/// also [`Error::AddrNotAvailable`] (not an address of this machine) and
/// [`Error::PrivilegedPort`] (a port below 1024 without root).
pub fn start_server(addr: &str) -> Result<Server, Error> {
    start_server_with(Server::bind(addr)?)
}

/// Starts the chat box server on a bound server.
fn start_server_with(builder: ServerBuilder) -> Result<Server, Error> {
    builder.packets().start(ChatBox)
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

/// Serves until `/stop` is typed or a signal stops the server, sending
/// every other typed line to all clients.
///
/// The typing is read on a thread of its own, so that a signal ends the
/// program even while a line is awaited (that thread is left behind).
#[allow(dead_code)] // the tests use the parts, not `main`
fn serve_typing(server: Server) -> Result<(), Error> {
    let server = Arc::new(server);
    let typed_stop = Arc::new(AtomicBool::new(false));
    let typing = {
        let (server, typed_stop) = (Arc::clone(&server), Arc::clone(&typed_stop));
        std::thread::spawn(move || {
            let typed = typed_lines(std::io::stdin().lock(), |line| {
                server.broadcast(format!("[server] {line}"))?;
                Ok(())
            });
            typed_stop.store(true, Ordering::SeqCst);
            let stopped = server.stop();
            typed.and(stopped)
        })
    };
    let served = server.wait();
    // Stopped from the terminal: that thread holds the rest of the story, an
    // error of its own or the server's (only one of the two waits is told
    // how the server ended).
    if typed_stop.load(Ordering::SeqCst) {
        let typed =
            typing.join().unwrap_or_else(|_| Err(Error::Io(std::io::Error::other("the typing thread panicked"))));
        return served.and(typed);
    }
    served
}

#[allow(dead_code)] // the tests use the parts, not `main`
fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let addr = args.get(1).map_or("127.0.0.1:1996", String::as_str);
    let stdin = std::io::stdin();
    let result = match args.first().map(String::as_str) {
        Some("server") => {
            let builder = Server::bind(addr);
            #[cfg(feature = "signals")]
            let builder = builder.map(ServerBuilder::stop_on_signals);
            builder.and_then(start_server_with).and_then(|server| {
                println!("chat box server on {}; /stop or Ctrl-C stops it", server.local_addr());
                // "Write your code below": the server serves on its own
                // thread, leaving this program free to read the terminal.
                serve_typing(server)
            })
        }
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

//! A terminal client for the chat room: lines you type go to the server,
//! lines the server sends are printed.
//!
//! ```text
//! cargo run --example chat_room -- 127.0.0.1:7000
//! cargo run --example chat_client -- 127.0.0.1:7000
//! ```
//!
//! End with `---quit---` (or Ctrl-D, which says `---quit---` for you).

use std::io::{BufRead, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Sender};
use std::sync::Arc;
use std::time::Duration;

use frameloop::{Client, ClientCtx, ClientHandler, CloseReason, Error, Message};

/// What the chat room understands as "I leave".
pub const QUIT: &str = "---quit---";

/// Prints what the server says; tells `run` when the server closes.
struct Printer<W> {
    out: W,
    closed: Sender<()>,
    /// We said goodbye: the close that follows is expected.
    leaving: Arc<AtomicBool>,
}

impl<W: Write> ClientHandler for Printer<W> {
    fn on_receive(&mut self, _client: &mut ClientCtx<'_>, msg: Message<'_>) -> Result<(), Error> {
        writeln!(self.out, "{}", msg.text())?;
        self.out.flush()?;
        Ok(())
    }

    fn on_disconnect(&mut self, _client: &mut ClientCtx<'_>, reason: &CloseReason) -> Result<(), Error> {
        if !self.leaving.load(Ordering::SeqCst) {
            writeln!(self.out, "(disconnected: {reason}; press Enter to exit)")?;
        }
        let _ = self.closed.send(());
        Ok(())
    }
}

/// Joins the room at `addr`: sends each line of `input`, prints what the
/// room says to `output`, and leaves (with `---quit---`) when `input` ends.
///
/// # Errors
///
/// The connection could not be made, or reading `input` failed.
pub fn run<R: BufRead, W: Write + Send + 'static>(addr: &str, input: R, output: W) -> Result<(), Error> {
    let (closed_tx, closed) = mpsc::channel();
    let leaving = Arc::new(AtomicBool::new(false));
    let printer = Printer { out: output, closed: closed_tx, leaving: Arc::clone(&leaving) };
    let client = Client::builder().lines().callbacks(printer).connect(addr)?;
    let mut quit_sent = false;
    for line in input.lines() {
        let line = line?;
        if line.trim() == QUIT {
            leaving.store(true, Ordering::SeqCst);
            quit_sent = true;
        }
        if client.send(&line).is_err() || quit_sent {
            break; // said goodbye, or the server is gone
        }
    }
    if !quit_sent {
        leaving.store(true, Ordering::SeqCst);
        if client.send(QUIT).is_err() {
            return client.stop();
        }
    }
    // The room answers the goodbye and closes; give it a moment to.
    let _ = closed.recv_timeout(Duration::from_secs(2));
    client.stop()
}

#[allow(dead_code)] // the tests call `run`, not `main`
fn main() {
    let addr = std::env::args().nth(1).unwrap_or_else(|| "127.0.0.1:7000".to_owned());
    let stdin = std::io::stdin();
    if let Err(e) = run(&addr, stdin.lock(), std::io::stdout()) {
        eprintln!("chat client: {e}");
        std::process::exit(1);
    }
}

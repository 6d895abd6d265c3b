//! The floor: a byte echo on mio alone, the least a server of this design
//! can do per message. One thread, one `Poll`, edge-triggered sockets; bytes
//! are read into one shared 64 KiB buffer and written straight back. No
//! framing, no queues, no limits, nothing pooled: what it costs is almost
//! all the kernel's (`read`, `write`, `epoll_wait`), so the difference
//! between another server and this one is what that server could still win;
//! the rest belongs to the kernel. (For frames over 64 KiB it reads and
//! writes in 64 KiB pieces, where a framed server can write a frame at
//! once, so there it is not a strict bound.) Not an example of how to use
//! frameloop.
//!
//! ```text
//! cargo run --release --example mio_echo -- 127.0.0.1:7007
//! ```
//!
//! It returns frames unchanged, so `frameloop bench --addr ADDR
//! --server-pid PID` drives it like the other echo servers; the first line
//! on stdout names the bound address, so port 0 works. `benches/echo.rs`
//! runs [`serve`] in-process. Stop with Ctrl-C.
//!
//! Flow control is the one thing it cannot leave out: when the peer does not
//! read its echoes, a write comes back short; the unwritten tail waits in
//! the connection's own buffer, and the connection is not read again until
//! WRITABLE has drained it. Without that, a peer that only sends would make
//! the server buffer without bound.

use std::io::{self, ErrorKind, Read, Write};

use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token};
use slab::Slab;

/// The listener's token; connections are keyed by their slab index, which
/// never gets this far.
const LISTENER: Token = Token(usize::MAX);

struct Conn {
    stream: TcpStream,
    /// What the last write left unwritten; while it is not empty the
    /// connection is not read.
    pending: Vec<u8>,
}

impl Conn {
    /// Handles a readiness event; `false` once the connection is done.
    fn ready(&mut self, writable: bool, buf: &mut [u8]) -> io::Result<bool> {
        if !self.pending.is_empty() {
            // The send buffer was full; only WRITABLE says it has room.
            if !writable {
                return Ok(true);
            }
            let n = write_some(&mut self.stream, &self.pending)?;
            self.pending.drain(..n);
            if !self.pending.is_empty() {
                return Ok(true);
            }
            // Drained: what arrived meanwhile was left unread, and
            // edge-triggered readiness will not report it again.
        }
        loop {
            let n = match self.stream.read(buf) {
                Ok(0) => return Ok(false),
                Ok(n) => n,
                Err(e) if e.kind() == ErrorKind::WouldBlock => return Ok(true),
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            let written = write_some(&mut self.stream, &buf[..n])?;
            if written < n {
                self.pending.extend_from_slice(&buf[written..n]);
                return Ok(true);
            }
        }
    }
}

/// Writes what the socket takes now. A short count means its send buffer is
/// full, and the kernel reports WRITABLE once it has room again.
fn write_some(stream: &mut TcpStream, bytes: &[u8]) -> io::Result<usize> {
    loop {
        match stream.write(bytes) {
            Ok(n) => return Ok(n),
            Err(e) if e.kind() == ErrorKind::WouldBlock => return Ok(0),
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

/// Echoes every connection `listener` accepts, on the calling thread,
/// until an error of the poll itself.
pub fn serve(mut listener: TcpListener) -> io::Result<()> {
    let mut poll = Poll::new()?;
    poll.registry().register(&mut listener, LISTENER, Interest::READABLE)?;
    let mut events = Events::with_capacity(1024);
    let mut conns: Slab<Conn> = Slab::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        if let Err(e) = poll.poll(&mut events, None) {
            if e.kind() == ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        for event in &events {
            if event.token() == LISTENER {
                accept(&listener, &poll, &mut conns);
                continue;
            }
            let key = event.token().0;
            let Some(conn) = conns.get_mut(key) else { continue };
            let writable = event.is_writable() || event.is_error();
            if !matches!(conn.ready(writable, &mut buf), Ok(true)) {
                // Closing the socket also takes it out of the poll.
                conns.remove(key);
            }
        }
    }
}

/// Accepts every connection waiting; each is registered once for both
/// directions, as frameloop's are.
fn accept(listener: &TcpListener, poll: &Poll, conns: &mut Slab<Conn>) {
    loop {
        let mut stream = match listener.accept() {
            Ok((stream, _)) => stream,
            Err(e) if e.kind() == ErrorKind::WouldBlock => return,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => {
                // Out of descriptors, say: the next connection tries again.
                eprintln!("accept: {e}");
                return;
            }
        };
        // Latency, not bandwidth: as the other echo servers do.
        let _ = stream.set_nodelay(true);
        let entry = conns.vacant_entry();
        let token = Token(entry.key());
        if poll.registry().register(&mut stream, token, Interest::READABLE | Interest::WRITABLE).is_ok() {
            entry.insert(Conn { stream, pending: Vec::new() });
        }
    }
}

#[allow(dead_code)] // when benches/echo.rs includes this file for `serve`
fn main() -> io::Result<()> {
    let addr = std::env::args().nth(1).unwrap_or_else(|| "127.0.0.1:0".to_owned());
    let addr = addr.parse().map_err(|e| io::Error::new(ErrorKind::InvalidInput, e))?;
    let listener = TcpListener::bind(addr)?;
    println!("mio byte echo (the floor) listening on {}", listener.local_addr()?);
    serve(listener)
}

//! [`request`]: one call that connects, sends one frame, reads the one
//! frame of the reply and closes (tcp-client-serv's `Client.open()`).
//!
//! A one-shot exchange needs no event loop: this is plain blocking I/O on
//! the caller's thread, with the frame codec cutting out the reply.

use crate::addr::ToAddrs;
use std::io::{self, Read, Write};
use std::time::{Duration, Instant};

use crate::codec::Codec;
use crate::error::Error;
use crate::handler::CloseReason;
use crate::reactor::{connect_blocking, deadline_after, reason_for, Blocking};

/// Sends `message` as one frame to the server at `addr` and returns the one
/// frame it answers; the connection is closed afterwards. It waits as long
/// as the server takes: [`request_timeout`] bounds the wait.
///
/// ```
/// use frameloop::{ReplyMode, Server};
///
/// let server = Server::bind("127.0.0.1:0")?.reply(ReplyMode::Concurrent, |req: &[u8]| req.to_ascii_uppercase())?;
/// assert_eq!(frameloop::request(server.local_addr(), "hello")?, b"HELLO");
/// # Ok::<(), frameloop::Error>(())
/// ```
///
/// # Errors
///
/// [`Error::InvalidAddress`], [`Error::ConnectionRefused`],
/// [`Error::Unreachable`], [`Error::NoLocalPort`] when connecting; [`Error::Disconnected`] if the
/// server closes without a whole reply; [`Error::FrameTooLarge`] if the
/// reply announces more than 8 MiB.
pub fn request<A: ToAddrs>(addr: A, message: impl AsRef<[u8]>) -> Result<Vec<u8>, Error> {
    exchange(addr, message.as_ref(), None)
}

/// [`request`], giving up after `timeout` (connecting, sending and
/// receiving together).
///
/// ```
/// use std::time::Duration;
/// use frameloop::{Error, Server};
///
/// let server = Server::bind("127.0.0.1:0")?.start_polling()?; // takes requests, never answers
/// match frameloop::request_timeout(server.local_addr(), "anyone?", Duration::from_millis(50)) {
///     Err(Error::TimedOut) => println!("no answer in time"),
///     other => panic!("expected a time-out, got {other:?}"),
/// }
/// # Ok::<(), frameloop::Error>(())
/// ```
///
/// # Errors
///
/// As [`request`]; [`Error::ConnectTimedOut`] if connecting takes too long,
/// [`Error::TimedOut`] if the reply does.
pub fn request_timeout<A: ToAddrs>(addr: A, message: impl AsRef<[u8]>, timeout: Duration) -> Result<Vec<u8>, Error> {
    exchange(addr, message.as_ref(), Some(deadline_after(timeout)))
}

/// Connects, writes the request as one frame (one write: one packet on
/// the wire for small requests), and reads until the codec has cut out the
/// reply. The buffer grows as bytes arrive, never by the announced length
/// alone, and the codec refuses a reply over the default maximum.
fn exchange<A: ToAddrs>(addr: A, message: &[u8], deadline: Option<Instant>) -> Result<Vec<u8>, Error> {
    let codec = Codec::frames();
    let mut wire = Vec::new();
    codec.encode_parts(&[message], &mut wire)?;
    let timeout = deadline.map(|d| d.saturating_duration_since(Instant::now()));
    let mut stream = connect_blocking(&addr.to_addrs()?, timeout)?;
    stream.set_nodelay();
    set_timeout(&stream, deadline)?;
    stream.write_all(&wire).map_err(io_error)?;
    wire.clear();
    let mut chunk = [0u8; 16 * 1024];
    loop {
        if let Some((reply, _)) = codec.decode(&wire)? {
            return Ok(reply.to_vec());
        }
        set_timeout(&stream, deadline)?;
        match stream.read(&mut chunk) {
            Ok(0) if wire.is_empty() => return Err(Error::Disconnected(CloseReason::PeerClosed)),
            Ok(0) => return Err(Error::Disconnected(CloseReason::PeerClosedMidFrame { buffered: wire.len() })),
            Ok(n) => wire.extend_from_slice(chunk.get(..n).unwrap_or_default()),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(io_error(e)),
        }
    }
}

/// Sets both timeouts to what is left before `deadline`.
fn set_timeout(stream: &Blocking, deadline: Option<Instant>) -> Result<(), Error> {
    let left = deadline.map(|at| at.saturating_duration_since(Instant::now()));
    if left == Some(Duration::ZERO) {
        return Err(Error::TimedOut);
    }
    Ok(stream.set_timeouts(left)?)
}

/// A blocking read or write that failed: out of time, or the connection
/// broke as the reactor would say it did.
fn io_error(e: io::Error) -> Error {
    match e.kind() {
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => Error::TimedOut,
        _ => Error::Disconnected(reason_for(&e)),
    }
}

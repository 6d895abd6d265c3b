//! [`request`]: one call that connects, sends one frame, reads the one
//! frame of the reply and closes (tcp-client-serv's `Client.open()`).
//!
//! A one-shot exchange needs no event loop: this is plain blocking I/O on
//! the caller's thread, with the frame codec.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

use super::deadline_after;
use crate::codec::frame;
use crate::error::Error;
use crate::handler::CloseReason;

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
pub fn request<A: ToSocketAddrs + std::fmt::Debug>(addr: A, message: impl AsRef<[u8]>) -> Result<Vec<u8>, Error> {
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
pub fn request_timeout<A: ToSocketAddrs + std::fmt::Debug>(
    addr: A,
    message: impl AsRef<[u8]>,
    timeout: Duration,
) -> Result<Vec<u8>, Error> {
    exchange(addr, message.as_ref(), Some(deadline_after(timeout)))
}

fn exchange<A: ToSocketAddrs + std::fmt::Debug>(
    addr: A,
    message: &[u8],
    deadline: Option<Instant>,
) -> Result<Vec<u8>, Error> {
    let header = frame::header(message.len()).map_err(Error::from)?;
    let mut stream = connect(addr, deadline)?;
    let _ = stream.set_nodelay(true);
    set_timeout(&stream, deadline)?;
    // Header and body in one write: one packet on the wire for small requests.
    let mut out = Vec::with_capacity(frame::HEADER_LEN + message.len());
    out.extend_from_slice(&header);
    out.extend_from_slice(message);
    stream.write_all(&out).map_err(io_error)?;

    let mut head = [0u8; frame::HEADER_LEN];
    read_exact(&mut stream, &mut head, deadline, 0)?;
    let len = u32::from_be_bytes(head) as usize;
    if len > frame::DEFAULT_MAX_LEN {
        return Err(Error::FrameTooLarge { len: len as u64, max: frame::DEFAULT_MAX_LEN });
    }
    // Grown as bytes arrive, never sized by the announced length alone.
    let mut body = Vec::new();
    let mut buf = [0u8; 16 * 1024];
    while body.len() < len {
        let want = (len - body.len()).min(buf.len());
        let chunk = buf.get_mut(..want).unwrap_or_default();
        read_exact(&mut stream, chunk, deadline, frame::HEADER_LEN + body.len())?;
        body.extend_from_slice(chunk);
    }
    Ok(body)
}

/// Connects to the first address of `addr` that answers.
pub(crate) fn connect<A: ToSocketAddrs + std::fmt::Debug>(
    addr: A,
    deadline: Option<Instant>,
) -> Result<TcpStream, Error> {
    let addrs = resolve_all(addr)?;
    connect_any(&addrs, deadline.map(|d| d.saturating_duration_since(Instant::now())))
}

/// Every address `addr` names: the crate's one resolving rule, in
/// [`crate::error`], re-exported for the client builder.
pub(crate) use crate::error::resolve_all;

/// Tries each address in turn (as `localhost` may name `::1` and
/// `127.0.0.1`); the error is the last one's.
pub(crate) fn connect_any(addrs: &[SocketAddr], timeout: Option<Duration>) -> Result<TcpStream, Error> {
    let start = Instant::now();
    let mut last = None;
    for addr in addrs {
        let attempt = match timeout {
            Some(t) => TcpStream::connect_timeout(addr, t.max(Duration::from_millis(1))),
            None => TcpStream::connect(addr),
        };
        match attempt {
            Ok(stream) => return Ok(stream),
            Err(e) => last = Some(Error::from_connect(addr, e, start.elapsed())),
        }
    }
    Err(last
        .unwrap_or_else(|| Error::InvalidAddress { addr: String::new(), reason: "no address to connect to".into() }))
}

fn set_timeout(stream: &TcpStream, deadline: Option<Instant>) -> Result<(), Error> {
    let left = match deadline {
        None => None,
        Some(at) => {
            let left = at.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(Error::TimedOut);
            }
            Some(left)
        }
    };
    stream.set_read_timeout(left)?;
    stream.set_write_timeout(left)?;
    Ok(())
}

/// Fills `buf`, within the deadline; `before` counts the bytes of the reply
/// already read (to tell a reply cut short from no reply).
fn read_exact(stream: &mut TcpStream, buf: &mut [u8], deadline: Option<Instant>, before: usize) -> Result<(), Error> {
    let mut filled = 0;
    while filled < buf.len() {
        set_timeout(stream, deadline)?;
        let rest = buf.get_mut(filled..).unwrap_or_default();
        match stream.read(rest) {
            Ok(0) => {
                let got = before + filled;
                let reason =
                    if got == 0 { CloseReason::PeerClosed } else { CloseReason::PeerClosedMidFrame { buffered: got } };
                return Err(Error::Disconnected(reason));
            }
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(io_error(e)),
        }
    }
    Ok(())
}

/// Maps the I/O errors of an exchange to the variants a caller matches on.
fn io_error(e: io::Error) -> Error {
    match e.kind() {
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => Error::TimedOut,
        io::ErrorKind::ConnectionReset | io::ErrorKind::ConnectionAborted | io::ErrorKind::BrokenPipe => {
            Error::Disconnected(CloseReason::Reset)
        }
        _ => Error::Io(e),
    }
}

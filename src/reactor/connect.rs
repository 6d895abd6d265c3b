//! A blocking connect, for the program's own thread: the facade's clients
//! connect this way so that a refusal or a timeout comes back from the call
//! that asked, then hand the stream to a reactor.

use std::io::{self, Read, Write};
use std::net::TcpStream;
#[cfg(unix)]
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

use super::stream::Stream;
use crate::addr::Addr;
use crate::error::Error;

/// A connected blocking socket, TCP or Unix.
#[derive(Debug)]
pub(crate) enum Blocking {
    Tcp(TcpStream),
    #[cfg(unix)]
    Unix(UnixStream),
}

/// Calls `$f` on whichever socket `$s` holds.
macro_rules! each {
    ($s:expr, $sock:ident => $f:expr) => {
        match $s {
            Blocking::Tcp($sock) => $f,
            #[cfg(unix)]
            Blocking::Unix($sock) => $f,
        }
    };
}

impl Blocking {
    /// Both timeouts at once (`None`: wait for ever).
    pub(crate) fn set_timeouts(&self, left: Option<Duration>) -> io::Result<()> {
        each!(self, s => { s.set_read_timeout(left)?; s.set_write_timeout(left) })
    }

    /// Disables Nagle's algorithm (TCP only); a failure only costs latency.
    pub(crate) fn set_nodelay(&self) {
        if let Blocking::Tcp(s) = self {
            let _ = s.set_nodelay(true);
        }
    }

    /// The same socket, non-blocking, for a reactor.
    pub(crate) fn into_stream(self) -> io::Result<Stream> {
        each!(&self, s => s.set_nonblocking(true))?;
        Ok(match self {
            Blocking::Tcp(s) => Stream::Tcp(mio::net::TcpStream::from_std(s)),
            #[cfg(unix)]
            Blocking::Unix(s) => Stream::Unix(mio::net::UnixStream::from_std(s)),
        })
    }
}

impl Read for Blocking {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        each!(self, s => s.read(buf))
    }
}

impl Write for Blocking {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        each!(self, s => s.write(buf))
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Tries each address in turn (`localhost` may name `::1` and
/// `127.0.0.1`), each for at most `timeout`; the error is the last one's,
/// mapped as every connect error of the crate is.
pub(crate) fn connect_blocking(addrs: &[Addr], timeout: Option<Duration>) -> Result<Blocking, Error> {
    let start = Instant::now();
    let mut last = None;
    for addr in addrs {
        match connect_one(addr, timeout) {
            Ok(stream) => return Ok(stream),
            Err(e) => last = Some(Error::from_connect(addr, e, start.elapsed())),
        }
    }
    Err(last
        .unwrap_or_else(|| Error::InvalidAddress { addr: String::new(), reason: "no address to connect to".into() }))
}

/// A local connect waits only when the server's backlog is full (Linux),
/// and then for as long as the socket's send timeout says: bounded by
/// `timeout` as a TCP connect is.
#[cfg(unix)]
fn connect_unix(path: &std::path::Path, timeout: Option<Duration>) -> io::Result<UnixStream> {
    use socket2::{Domain, SockAddr, Socket, Type};
    let socket = Socket::new(Domain::UNIX, Type::STREAM, None)?;
    socket.set_write_timeout(timeout.map(|t| t.max(Duration::from_millis(1))))?;
    match socket.connect(&SockAddr::unix(path)?) {
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Err(io::ErrorKind::TimedOut.into()),
        other => other?,
    }
    socket.set_write_timeout(None)?;
    Ok(socket.into())
}

fn connect_one(addr: &Addr, timeout: Option<Duration>) -> io::Result<Blocking> {
    match addr {
        Addr::Tcp(a) => match timeout {
            Some(t) => TcpStream::connect_timeout(a, t.max(Duration::from_millis(1))),
            None => TcpStream::connect(a),
        }
        .map(Blocking::Tcp),
        #[cfg(unix)]
        Addr::Unix(p) => connect_unix(p, timeout).map(Blocking::Unix),
        #[cfg(not(unix))]
        Addr::Unix(_) => Err(io::Error::new(io::ErrorKind::Unsupported, "Unix sockets need a Unix system")),
    }
}

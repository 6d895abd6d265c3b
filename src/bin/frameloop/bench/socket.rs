//! The sockets the bench's clients connect with, TCP or Unix, either one
//! bare or under TLS (`tls.rs`): what they do differently, in one trait
//! ([`Socket`]), and the one place an address (and `--tls`) picks the kind
//! ([`with_socket`]). Everything else (the mio client, the blocking
//! ping-pong one, churn, idle) is written once, generic over it.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
#[cfg(unix)]
use std::os::unix::net::UnixStream;
#[cfg(unix)]
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use frameloop::Addr;

use super::options::TlsOptions;
use super::tls::{Target, Tls};

/// How long a blocking connect may take.
const CONNECT_PATIENCE: Duration = Duration::from_secs(5);

/// A connected stream socket as std has it (blocking), and as mio drives it.
pub trait Socket: Read + Write + Send + Sized + 'static {
    /// Where it connects to.
    type Addr: Clone + Send + 'static;
    /// The same kind of socket, non-blocking, for a `mio::Poll`.
    type Mio: Read + Write + mio::event::Source + Send + 'static;

    /// Connects, blocking, and sets the socket up for latency.
    fn connect(addr: &Self::Addr) -> io::Result<Self>;

    /// How long a blocking read may wait.
    fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()>;

    /// The socket, non-blocking, for mio.
    fn into_mio(self) -> io::Result<Self::Mio>;

    /// Starts a non-blocking connect; [`Socket::connected`] tells when it
    /// has finished.
    fn start_connect(addr: &Self::Addr) -> io::Result<Self::Mio>;

    /// Whether the connect [`Socket::start_connect`] started has finished
    /// (then the socket is set up for latency); Err: it failed.
    fn connected(stream: &Self::Mio) -> io::Result<bool>;
}

impl Socket for TcpStream {
    type Addr = SocketAddr;
    type Mio = mio::net::TcpStream;

    fn connect(addr: &SocketAddr) -> io::Result<Self> {
        let s = TcpStream::connect_timeout(addr, CONNECT_PATIENCE)?;
        // Latency, not bandwidth: frames leave as soon as they are written.
        s.set_nodelay(true)?;
        Ok(s)
    }

    fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        TcpStream::set_read_timeout(self, timeout)
    }

    fn into_mio(self) -> io::Result<Self::Mio> {
        self.set_nonblocking(true)?;
        Ok(mio::net::TcpStream::from_std(self))
    }

    fn start_connect(addr: &SocketAddr) -> io::Result<Self::Mio> {
        mio::net::TcpStream::connect(*addr)
    }

    fn connected(stream: &Self::Mio) -> io::Result<bool> {
        if let Some(e) = stream.take_error()? {
            return Err(e);
        }
        match stream.peer_addr() {
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::NotConnected => return Ok(false),
            Err(e) => return Err(e),
        }
        // As in `connect`; a socket that refuses it still works.
        let _ = stream.set_nodelay(true);
        Ok(true)
    }
}

/// No Nagle to turn off, and a connect that finishes (or fails) at once.
#[cfg(unix)]
impl Socket for UnixStream {
    type Addr = Arc<Path>;
    type Mio = mio::net::UnixStream;

    fn connect(path: &Arc<Path>) -> io::Result<Self> {
        UnixStream::connect(path)
    }

    fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        UnixStream::set_read_timeout(self, timeout)
    }

    fn into_mio(self) -> io::Result<Self::Mio> {
        self.set_nonblocking(true)?;
        Ok(mio::net::UnixStream::from_std(self))
    }

    /// A full backlog is an error here (EAGAIN), where TCP would wait.
    fn start_connect(path: &Arc<Path>) -> io::Result<Self::Mio> {
        mio::net::UnixStream::connect(path)
    }

    fn connected(stream: &Self::Mio) -> io::Result<bool> {
        stream.take_error()?.map_or(Ok(true), Err)
    }
}

/// Work done on sockets of whichever kind an address names.
pub trait WithSocket {
    type Output;

    /// The work, on sockets of kind `S` connecting to `addr`.
    fn run<S: Socket>(self, addr: &S::Addr) -> Result<Self::Output, String>;
}

/// Runs `work` with the socket kind `addr` names, under TLS if `tls` says:
/// the one place that asks.
pub fn with_socket<W: WithSocket>(addr: &Addr, tls: Option<&TlsOptions>, work: W) -> Result<W::Output, String> {
    match addr {
        Addr::Tcp(a) => match target(tls, *a) {
            None => work.run::<TcpStream>(a),
            Some(to) => work.run::<Tls<TcpStream>>(&to),
        },
        #[cfg(unix)]
        Addr::Unix(path) => match target(tls, Arc::clone(path)) {
            None => work.run::<UnixStream>(path),
            Some(to) => work.run::<Tls<UnixStream>>(&to),
        },
        #[cfg(not(unix))]
        Addr::Unix(_) => Err(format!("{addr}: Unix sockets need a Unix system")),
    }
}

/// Where a TLS connection to `addr` goes, if `tls` asks for one.
fn target<A>(tls: Option<&TlsOptions>, addr: A) -> Option<Target<A>> {
    tls.map(|t| Target { addr, config: Arc::clone(&t.client), name: t.name.clone() })
}

/// Connects `n` sockets one after another, so the load starts with all of
/// them established; `shown` is the address as errors name it.
pub fn connect_all<S: Socket>(addr: &S::Addr, shown: &Addr, n: usize) -> Result<Vec<S>, String> {
    (0..n).map(|i| S::connect(addr).map_err(|e| format!("connection {i} to {shown}: {e}"))).collect()
}

//! The transports a connection or listener runs over: TCP, or a Unix domain
//! socket. One enum each, so that the data path stays one code path: a
//! match per call costs nothing next to the syscall it leads to.

use std::io::{self, IoSlice, Read, Write};
use std::net::Shutdown;
#[cfg(unix)]
use std::path::{Path, PathBuf};

use mio::event::Source;
use mio::net::{TcpListener, TcpStream};
#[cfg(unix)]
use mio::net::{UnixListener, UnixStream};
use mio::{Interest, Registry, Token};

use crate::addr::{Addr, PeerCredentials};

/// A connected socket.
#[derive(Debug)]
pub(crate) enum Stream {
    Tcp(TcpStream),
    #[cfg(unix)]
    Unix(UnixStream),
}

/// Calls `$f` on whichever socket `$s` holds.
macro_rules! each {
    ($s:expr, $sock:ident => $f:expr) => {
        match $s {
            Stream::Tcp($sock) => $f,
            #[cfg(unix)]
            Stream::Unix($sock) => $f,
        }
    };
}

impl Stream {
    /// Starts a non-blocking connect to `addr`.
    pub(crate) fn connect(addr: &Addr) -> io::Result<Stream> {
        match addr {
            Addr::Tcp(a) => TcpStream::connect(*a).map(Stream::Tcp),
            #[cfg(unix)]
            Addr::Unix(p) => UnixStream::connect(p).map(Stream::Unix),
            #[cfg(not(unix))]
            Addr::Unix(_) => Err(io::Error::new(io::ErrorKind::Unsupported, "Unix sockets need a Unix system")),
        }
    }

    /// A Unix domain socket's.
    pub(crate) fn is_unix(&self) -> bool {
        !matches!(self, Stream::Tcp(_))
    }

    /// The peer's address: a TCP one, or the path the peer's Unix socket is
    /// bound to (empty when unnamed, as a client's usually is).
    pub(crate) fn peer_addr(&self) -> io::Result<Addr> {
        match self {
            Stream::Tcp(s) => s.peer_addr().map(Addr::Tcp),
            #[cfg(unix)]
            Stream::Unix(s) => Ok(unix_addr(&s.peer_addr()?)),
        }
    }

    /// Disables Nagle's algorithm (TCP; a Unix socket has none).
    pub(crate) fn set_nodelay(&self) -> io::Result<()> {
        match self {
            Stream::Tcp(s) => s.set_nodelay(true),
            #[cfg(unix)]
            Stream::Unix(_) => Ok(()),
        }
    }

    pub(crate) fn take_error(&self) -> io::Result<Option<io::Error>> {
        each!(self, s => s.take_error())
    }

    pub(crate) fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        each!(self, s => s.shutdown(how))
    }

    /// Whether the peer has sent bytes not yet read (without reading them).
    pub(crate) fn has_unread(&self) -> bool {
        let mut byte = [0u8; 1];
        match self {
            Stream::Tcp(s) => matches!(s.peek(&mut byte), Ok(n) if n > 0),
            // std's peek on a Unix stream is not stable yet.
            #[cfg(unix)]
            Stream::Unix(s) => {
                use rustix::net::{recv, RecvFlags};
                matches!(recv(s, &mut byte, RecvFlags::PEEK | RecvFlags::DONTWAIT), Ok((_, n)) if n > 0)
            }
        }
    }

    /// The peer's credentials, if it is a Unix socket on a system that
    /// keeps them.
    pub(crate) fn peer_credentials(&self) -> io::Result<PeerCredentials> {
        match self {
            #[cfg(any(target_os = "linux", target_os = "android"))]
            Stream::Unix(s) => {
                let cred = rustix::net::sockopt::socket_peercred(s)?;
                Ok(PeerCredentials {
                    uid: cred.uid.as_raw(),
                    gid: cred.gid.as_raw(),
                    pid: Some(cred.pid.as_raw_nonzero().get()),
                })
            }
            _ => Err(io::Error::new(io::ErrorKind::Unsupported, "peer credentials are kept only for Unix sockets")),
        }
    }
}

impl Read for Stream {
    #[inline]
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        each!(self, s => s.read(buf))
    }
}

impl Write for Stream {
    #[inline]
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        each!(self, s => s.write(buf))
    }

    #[inline]
    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        each!(self, s => s.write_vectored(bufs))
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Source for Stream {
    fn register(&mut self, registry: &Registry, token: Token, interests: Interest) -> io::Result<()> {
        each!(self, s => s.register(registry, token, interests))
    }

    fn reregister(&mut self, registry: &Registry, token: Token, interests: Interest) -> io::Result<()> {
        each!(self, s => s.reregister(registry, token, interests))
    }

    fn deregister(&mut self, registry: &Registry) -> io::Result<()> {
        each!(self, s => s.deregister(registry))
    }
}

#[cfg(unix)]
fn unix_addr(a: &std::os::unix::net::SocketAddr) -> Addr {
    Addr::Unix(a.as_pathname().unwrap_or(Path::new("")).into())
}

/// A listening socket.
#[derive(Debug)]
pub(crate) enum ListenSocket {
    Tcp(TcpListener),
    /// With the path it is bound to, which is removed when it is dropped.
    #[cfg(unix)]
    Unix(UnixListener, UnixPath),
}

impl ListenSocket {
    /// Accepts one connection.
    pub(crate) fn accept(&self) -> io::Result<(Stream, Addr)> {
        match self {
            ListenSocket::Tcp(l) => l.accept().map(|(s, a)| (Stream::Tcp(s), Addr::Tcp(a))),
            #[cfg(unix)]
            ListenSocket::Unix(l, _) => l.accept().map(|(s, a)| (Stream::Unix(s), unix_addr(&a))),
        }
    }

    pub(crate) fn local_addr(&self) -> io::Result<Addr> {
        match self {
            ListenSocket::Tcp(l) => l.local_addr().map(Addr::Tcp),
            #[cfg(unix)]
            ListenSocket::Unix(_, path) => Ok(Addr::Unix(path.0.as_path().into())),
        }
    }
}

impl Source for ListenSocket {
    fn register(&mut self, registry: &Registry, token: Token, interests: Interest) -> io::Result<()> {
        match self {
            ListenSocket::Tcp(l) => l.register(registry, token, interests),
            #[cfg(unix)]
            ListenSocket::Unix(l, _) => l.register(registry, token, interests),
        }
    }

    fn reregister(&mut self, registry: &Registry, token: Token, interests: Interest) -> io::Result<()> {
        match self {
            ListenSocket::Tcp(l) => l.reregister(registry, token, interests),
            #[cfg(unix)]
            ListenSocket::Unix(l, _) => l.reregister(registry, token, interests),
        }
    }

    fn deregister(&mut self, registry: &Registry) -> io::Result<()> {
        match self {
            ListenSocket::Tcp(l) => l.deregister(registry),
            #[cfg(unix)]
            ListenSocket::Unix(l, _) => l.deregister(registry),
        }
    }
}

/// The path a Unix listener is bound to: removed once the listener goes, so
/// the next start finds no file in its way.
#[cfg(unix)]
#[derive(Debug)]
pub(crate) struct UnixPath(pub(crate) PathBuf);

#[cfg(unix)]
impl Drop for UnixPath {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

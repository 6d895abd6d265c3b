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
#[cfg(feature = "tls")]
use crate::reactor::tls::{TlsInfo, TlsStream};

/// A connected socket.
#[derive(Debug)]
pub(crate) enum Stream {
    Tcp(TcpStream),
    #[cfg(unix)]
    Unix(UnixStream),
    /// A TLS session over one of the others.
    #[cfg(feature = "tls")]
    Tls(Box<TlsStream>),
}

/// Calls `$f` on whichever socket `$s` holds (under a TLS session, the
/// socket itself).
macro_rules! each {
    ($s:expr, $sock:ident => $f:expr) => {
        match $s {
            Stream::Tcp($sock) => $f,
            #[cfg(unix)]
            Stream::Unix($sock) => $f,
            #[cfg(feature = "tls")]
            Stream::Tls(t) => {
                let $sock = &t.sock;
                $f
            }
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

    /// Says goodbye before a graceful close that does not linger: a TLS
    /// session's `close_notify` (a linger's shutdown sends it otherwise).
    /// Plain sockets need nothing: closing them sends the FIN.
    pub(crate) fn end_gracefully(&mut self) {
        #[cfg(feature = "tls")]
        if let Stream::Tls(t) = self {
            let _ = t.shutdown(Shutdown::Write);
        }
    }

    /// A Unix domain socket's.
    pub(crate) fn is_unix(&self) -> bool {
        match self {
            Stream::Tcp(_) => false,
            #[cfg(unix)]
            Stream::Unix(_) => true,
            #[cfg(feature = "tls")]
            Stream::Tls(t) => t.sock.is_unix(),
        }
    }

    /// The peer's address: a TCP one, or the path the peer's Unix socket is
    /// bound to (empty when unnamed, as a client's usually is).
    pub(crate) fn peer_addr(&self) -> io::Result<Addr> {
        match self {
            Stream::Tcp(s) => s.peer_addr().map(Addr::Tcp),
            #[cfg(unix)]
            Stream::Unix(s) => Ok(unix_addr(&s.peer_addr()?)),
            #[cfg(feature = "tls")]
            Stream::Tls(t) => t.sock.peer_addr(),
        }
    }

    /// Disables Nagle's algorithm (TCP; a Unix socket has none).
    pub(crate) fn set_nodelay(&self) -> io::Result<()> {
        match self {
            Stream::Tcp(s) => s.set_nodelay(true),
            #[cfg(unix)]
            Stream::Unix(_) => Ok(()),
            #[cfg(feature = "tls")]
            Stream::Tls(t) => t.sock.set_nodelay(),
        }
    }

    pub(crate) fn take_error(&self) -> io::Result<Option<io::Error>> {
        each!(self, s => s.take_error())
    }

    /// Shuts the socket down; a TLS session sends `close_notify` first.
    pub(crate) fn shutdown(&mut self, how: Shutdown) -> io::Result<()> {
        match self {
            Stream::Tcp(s) => s.shutdown(how),
            #[cfg(unix)]
            Stream::Unix(s) => s.shutdown(how),
            #[cfg(feature = "tls")]
            Stream::Tls(t) => t.shutdown(how),
        }
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
            #[cfg(feature = "tls")]
            Stream::Tls(t) => t.sock.has_unread(),
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
            #[cfg(feature = "tls")]
            Stream::Tls(t) => t.sock.peer_credentials(),
            _ => Err(io::Error::new(io::ErrorKind::Unsupported, "peer credentials are kept only for Unix sockets")),
        }
    }

    /// Writes what a TLS session holds for the socket (handshake records,
    /// records its last write left); whether all went. Plain sockets hold
    /// nothing.
    #[inline]
    pub(crate) fn flush_pending(&mut self) -> io::Result<bool> {
        match self {
            #[cfg(feature = "tls")]
            Stream::Tls(t) => t.flush(),
            _ => Ok(true),
        }
    }

    /// Bytes a TLS session holds for the socket: they count against the
    /// write watermarks as the connection's own queue does.
    #[inline]
    pub(crate) fn buffered(&self) -> usize {
        match self {
            #[cfg(feature = "tls")]
            Stream::Tls(t) => t.buffered(),
            _ => 0,
        }
    }

    /// A read turn begins: an edge came, or the turn before stopped short
    /// of the socket's end. A TLS session forgets that its last read found
    /// the socket empty (a plain socket remembers nothing between turns),
    /// and is told whether a short read will mean so this turn
    /// (`short_reads_drain`): not once the peer's end of stream was
    /// announced, which only a read of 0 shows.
    #[inline]
    pub(crate) fn begin_read_turn(&mut self, short_reads_drain: bool) {
        #[cfg(feature = "tls")]
        if let Stream::Tls(t) = self {
            t.begin_read_turn(short_reads_drain);
        }
        #[cfg(not(feature = "tls"))]
        let _ = short_reads_drain;
    }

    /// True once, when a TLS handshake has completed: the handler's
    /// `on_open` is due. Plain sockets are open from the start.
    #[inline]
    pub(crate) fn take_opened(&mut self) -> bool {
        match self {
            #[cfg(feature = "tls")]
            Stream::Tls(t) => t.take_opened(),
            _ => false,
        }
    }

    /// The handler has not been told of this connection yet: a TLS
    /// handshake is going on.
    #[inline]
    pub(crate) fn awaiting_open(&self) -> bool {
        match self {
            #[cfg(feature = "tls")]
            Stream::Tls(t) => t.awaiting_open(),
            _ => false,
        }
    }

    /// Whether a read that filled less than it was offered means the socket
    /// is empty (so the next bytes raise a new edge). Not under TLS: a
    /// session hands out one record's plaintext at a time, and the socket
    /// may hold more. (The session applies the rule to its own socket
    /// reads instead, and ends a read turn without the last one.)
    #[inline]
    pub(crate) fn short_read_drains(&self) -> bool {
        match self {
            #[cfg(feature = "tls")]
            Stream::Tls(_) => false,
            _ => true,
        }
    }

    /// When a TLS handshake still going on began, for its deadline.
    pub(crate) fn handshake_started(&self) -> Option<std::time::Instant> {
        match self {
            #[cfg(feature = "tls")]
            Stream::Tls(t) => t.handshake_started(),
            _ => None,
        }
    }

    /// A TLS connection's session, once its handshake was reported, so
    /// the read loop can cut messages from its plaintext while the handler
    /// runs ([`LentSession`]); `None` for a plain socket or a handshake.
    #[inline]
    pub(crate) fn lend_session(&mut self) -> Option<LentSession> {
        match self {
            #[cfg(feature = "tls")]
            Stream::Tls(t) => t.lend(),
            _ => None,
        }
    }

    /// Drives a TLS handshake on (see [`TlsStream::advance_handshake`]).
    #[inline]
    pub(crate) fn advance_handshake(&mut self) -> io::Result<usize> {
        match self {
            #[cfg(feature = "tls")]
            Stream::Tls(t) => t.advance_handshake(),
            _ => Ok(0),
        }
    }

    /// The plaintext `lent` holds, reading the socket if it holds none (see
    /// [`TlsStream::fill`]).
    #[inline]
    pub(crate) fn fill_lent<'a>(&mut self, lent: &'a mut LentSession) -> io::Result<&'a [u8]> {
        match self {
            #[cfg(feature = "tls")]
            Stream::Tls(t) => t.fill(lent),
            _ => lent.unlent(),
        }
    }

    /// Takes back a session [`lend_session`](Self::lend_session) lent.
    #[inline]
    #[cfg_attr(not(feature = "tls"), allow(unused_variables))]
    pub(crate) fn give_back(&mut self, lent: LentSession) {
        match self {
            #[cfg(feature = "tls")]
            Stream::Tls(t) => t.give_back(lent),
            // Only a TLS stream lends one.
            _ => {}
        }
    }

    /// What the TLS handshake agreed, on a TLS connection.
    #[cfg(feature = "tls")]
    pub(crate) fn tls_info(&self) -> Option<TlsInfo> {
        match self {
            Stream::Tls(t) => t.info(),
            _ => None,
        }
    }
}

#[cfg(feature = "tls")]
pub(crate) use crate::reactor::tls::LentSession;

/// Without the `tls` feature no session is ever lent.
#[cfg(not(feature = "tls"))]
#[derive(Debug)]
pub(crate) enum LentSession {}

#[cfg(not(feature = "tls"))]
impl LentSession {
    pub(crate) fn consume(&mut self, _: usize) {
        match *self {}
    }

    pub(crate) fn unlent(&mut self) -> io::Result<&[u8]> {
        match *self {}
    }
}

/// Calls `$f` on whichever socket `$s` holds, mutably; a TLS session
/// takes `$tls` instead.
macro_rules! each_mut {
    ($s:expr, $sock:ident => $f:expr, $t:ident => $tls:expr) => {
        match $s {
            Stream::Tcp($sock) => $f,
            #[cfg(unix)]
            Stream::Unix($sock) => $f,
            #[cfg(feature = "tls")]
            Stream::Tls($t) => $tls,
        }
    };
}

/// Plaintext in, for a TLS session: the session reads and decrypts.
impl Read for Stream {
    #[inline]
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        each_mut!(self, s => s.read(buf), t => t.read(buf))
    }
}

/// Plaintext out, for a TLS session: the session encrypts and writes.
impl Write for Stream {
    #[inline]
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        each_mut!(self, s => s.write(buf), t => t.write_vectored(&[IoSlice::new(buf)]))
    }

    #[inline]
    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        each_mut!(self, s => s.write_vectored(bufs), t => t.write_vectored(bufs))
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Source for Stream {
    fn register(&mut self, registry: &Registry, token: Token, interests: Interest) -> io::Result<()> {
        each_mut!(self, s => s.register(registry, token, interests), t => t.sock.register(registry, token, interests))
    }

    fn reregister(&mut self, registry: &Registry, token: Token, interests: Interest) -> io::Result<()> {
        each_mut!(self, s => s.reregister(registry, token, interests), t => t.sock.reregister(registry, token, interests))
    }

    fn deregister(&mut self, registry: &Registry) -> io::Result<()> {
        each_mut!(self, s => s.deregister(registry), t => t.sock.deregister(registry))
    }
}

#[cfg(unix)]
fn unix_addr(a: &std::os::unix::net::SocketAddr) -> Addr {
    Addr::Unix(a.as_pathname().unwrap_or(Path::new("")).into())
}

/// The TLS a listener's connections speak, if any (without the `tls`
/// feature, never any).
#[cfg(feature = "tls")]
pub(crate) type ServerTls = Option<std::sync::Arc<rustls::ServerConfig>>;
#[cfg(not(feature = "tls"))]
pub(crate) type ServerTls = Option<std::sync::Arc<std::convert::Infallible>>;

/// The TLS an outgoing connection speaks, if any: the configuration and
/// the server's name (what its certificate must name, and the SNI sent).
#[cfg(feature = "tls")]
pub(crate) type ClientTls<'a> = Option<(&'a std::sync::Arc<rustls::ClientConfig>, &'a str)>;
#[cfg(not(feature = "tls"))]
pub(crate) type ClientTls<'a> = Option<(std::convert::Infallible, &'a str)>;

/// [`ClientTls`] to keep (the facade's client reconnects with it).
#[cfg(feature = "tls")]
pub(crate) type ClientTlsConfig = Option<(std::sync::Arc<rustls::ClientConfig>, String)>;
#[cfg(not(feature = "tls"))]
pub(crate) type ClientTlsConfig = Option<(std::convert::Infallible, String)>;

/// The [`ClientTls`] a kept [`ClientTlsConfig`] lends.
pub(crate) fn client_tls(kept: &ClientTlsConfig) -> ClientTls<'_> {
    #[cfg(feature = "tls")]
    return kept.as_ref().map(|(config, name)| (config, name.as_str()));
    #[cfg(not(feature = "tls"))]
    return kept.as_ref().map(|(never, _)| match *never {});
}

impl Stream {
    /// This socket, connected or connecting, under the TLS it is to speak.
    pub(crate) fn secured_to(self, tls: ClientTls<'_>, now: std::time::Instant) -> io::Result<Stream> {
        match tls {
            None => Ok(self),
            #[cfg(feature = "tls")]
            Some((config, name)) => Ok(Stream::Tls(Box::new(TlsStream::client(self, config, name, now)?))),
            #[cfg(not(feature = "tls"))]
            Some((never, _)) => {
                let _ = now;
                match never {}
            }
        }
    }

    /// This socket, just accepted, under the TLS its listener speaks.
    pub(crate) fn secured(self, tls: &ServerTls, now: std::time::Instant) -> io::Result<Stream> {
        match tls {
            None => Ok(self),
            #[cfg(feature = "tls")]
            Some(config) => Ok(Stream::Tls(Box::new(TlsStream::server(self, config, now)?))),
            #[cfg(not(feature = "tls"))]
            Some(never) => {
                let _ = now;
                match **never {}
            }
        }
    }
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
/// the next start finds no file in its way, but only if the file there is
/// still the one it bound (another server may have replaced it since).
#[cfg(unix)]
#[derive(Debug)]
pub(crate) struct UnixPath(pub(crate) PathBuf, (u64, u64));

#[cfg(unix)]
impl UnixPath {
    /// The file just bound at `path`.
    pub(crate) fn bound(path: PathBuf) -> io::Result<UnixPath> {
        let id = file_id(&path)?;
        Ok(UnixPath(path, id))
    }
}

/// A file's device and inode: which file a path names now.
#[cfg(unix)]
fn file_id(path: &Path) -> io::Result<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    std::fs::symlink_metadata(path).map(|m| (m.dev(), m.ino()))
}

#[cfg(unix)]
impl Drop for UnixPath {
    fn drop(&mut self) {
        if file_id(&self.0).is_ok_and(|id| id == self.1) {
            let _ = std::fs::remove_file(&self.0);
        }
    }
}

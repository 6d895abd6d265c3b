//! A connection's socket with its TLS session: what the reactor's
//! [`Stream::Tls`](crate::reactor::stream::Stream) holds (boxed: an idle
//! plain connection must not pay for a session's size).

use std::io::{self, IoSlice};
use std::net::Shutdown;
use std::sync::Arc;
use std::time::Instant;

use rustls::pki_types::ServerName;
use rustls::{ClientConfig, ServerConfig};

use super::session::TlsSession;
use super::TlsInfo;
use crate::reactor::stream::Stream;

#[derive(Debug)]
pub(crate) struct TlsStream {
    /// The plain socket under the session (never a TLS one itself).
    pub(crate) sock: Stream,
    /// `None` while [`lend`](Self::lend) has lent it to the read loop.
    session: Option<Box<TlsSession>>,
    /// What the session held for the socket when it was lent: nothing is
    /// written while it is away, so the watermarks still see it exactly.
    lent_unsent: usize,
    /// A graceful shutdown asked for while the session was lent: it sends
    /// `close_notify` first, so it waits for the session to come back.
    shutdown_due: Option<Shutdown>,
    /// What the handshake agreed, kept once it completed: the handler may
    /// ask while the session is lent.
    info: Option<TlsInfo>,
    /// When the handshake began, for its deadline.
    started: Instant,
}

/// A connection's TLS session, lent to the read loop: the messages handed
/// to the handler are cut from the plaintext it holds, while the
/// connection, which owns the session otherwise, is the handler's to
/// change. [`TlsStream::give_back`] returns it.
#[derive(Debug)]
pub(crate) struct LentSession(Box<TlsSession>);

impl LentSession {
    /// Marks `n` bytes of what [`TlsStream::fill`] lent as used.
    pub(crate) fn consume(&mut self, n: usize) {
        self.0.consume(n);
    }

    /// For a stream that lent no session: it never holds one of these.
    pub(crate) fn unlent(&mut self) -> io::Result<&[u8]> {
        Err(io::Error::new(io::ErrorKind::InvalidInput, "a TLS session read through a stream that did not lend it"))
    }
}

fn invalid(e: impl std::error::Error + Send + Sync + 'static) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, e)
}

impl TlsStream {
    /// The server side of a connection just accepted on `sock`.
    pub(crate) fn server(sock: Stream, config: &Arc<ServerConfig>, now: Instant) -> io::Result<Self> {
        let session = TlsSession::server(Arc::clone(config)).map_err(invalid)?;
        Ok(Self::over(sock, session, now))
    }

    /// The client side of a connection to `name` on `sock`, connected or
    /// connecting; its ClientHello leaves with the first flush.
    pub(crate) fn client(sock: Stream, config: &Arc<ClientConfig>, name: &str, now: Instant) -> io::Result<Self> {
        let name = ServerName::try_from(name.to_owned()).map_err(invalid)?;
        let session = TlsSession::client(Arc::clone(config), name).map_err(invalid)?;
        Ok(Self::over(sock, session, now))
    }

    fn over(sock: Stream, session: TlsSession, now: Instant) -> Self {
        let session = Some(Box::new(session));
        TlsStream { sock, session, lent_unsent: 0, shutdown_due: None, info: None, started: now }
    }

    /// The session, to cut messages from its plaintext (see
    /// [`LentSession`]), once the handshake has completed and been
    /// reported; `None` before (the handshake's reads go through
    /// [`advance_handshake`](Self::advance_handshake)).
    pub(crate) fn lend(&mut self) -> Option<LentSession> {
        if !self.session.as_ref()?.opened() {
            return None;
        }
        let session = self.session.take()?;
        self.lent_unsent = session.buffered();
        Some(LentSession(session))
    }

    /// Drives the handshake on: reads and answers until it has completed
    /// and plaintext waits (how much, in its first record: it stays in the
    /// session, to be [`lend`](Self::lend)t out), the input ends (0), or the
    /// socket would block.
    pub(crate) fn advance_handshake(&mut self) -> io::Result<usize> {
        self.with_session(|session, sock| session.fill_buf(sock).map(<[u8]>::len))
    }

    /// `io` on the session and its socket; while the session is lent, the
    /// socket is not read or written behind the read loop's back
    /// (`WouldBlock`: the loop gives it back before anything else runs).
    #[inline]
    fn with_session<R>(&mut self, io: impl FnOnce(&mut TlsSession, &mut Stream) -> io::Result<R>) -> io::Result<R> {
        match &mut self.session {
            Some(session) => io(session, &mut self.sock),
            None => Err(io::ErrorKind::WouldBlock.into()),
        }
    }

    /// A read turn begins: see [`TlsSession::begin_read_turn`].
    pub(crate) fn begin_read_turn(&mut self, short_reads_drain: bool) {
        if let Some(session) = &mut self.session {
            session.begin_read_turn(short_reads_drain);
        }
    }

    /// Whether the session is lent to the read loop now.
    #[cfg(test)]
    pub(crate) fn is_lent(&self) -> bool {
        self.session.is_none()
    }

    /// The plaintext the lent session holds, reading and decrypting from
    /// the socket if it holds none: one record's at most. An empty slice
    /// is the end of the input; errors as [`read`](Self::read).
    pub(crate) fn fill<'a>(&mut self, lent: &'a mut LentSession) -> io::Result<&'a [u8]> {
        lent.0.fill_buf(&mut self.sock)
    }

    /// Takes the lent session back, and makes the shutdown asked for
    /// meanwhile.
    pub(crate) fn give_back(&mut self, lent: LentSession) {
        self.session = Some(lent.0);
        if let Some(how) = self.shutdown_due.take() {
            let _ = self.shutdown(how);
        }
    }

    /// Plaintext into `buf`. The reactor reads through a session only
    /// while it is not lent (the read loop holds a lent one).
    #[inline]
    pub(crate) fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.with_session(|session, sock| session.read(sock, buf))
    }

    /// The reactor writes only once a lent session is back (after the
    /// read loop), so a lent one takes nothing.
    #[inline]
    pub(crate) fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        self.with_session(|session, sock| session.write_vectored(sock, bufs))
    }

    /// Writes the records the session holds; whether all went.
    pub(crate) fn flush(&mut self) -> io::Result<bool> {
        match &mut self.session {
            Some(session) => session.flush(&mut self.sock),
            None => Ok(false),
        }
    }

    /// Ciphertext the session holds, not yet on the socket.
    #[inline]
    pub(crate) fn buffered(&self) -> usize {
        self.session.as_ref().map_or(self.lent_unsent, |s| s.buffered())
    }

    /// True once, when the handshake has completed: `on_open` is due.
    #[inline]
    pub(crate) fn take_opened(&mut self) -> bool {
        let Some(session) = &mut self.session else { return false };
        let opened = session.take_opened();
        if opened {
            self.info = Some(Self::info_of(session));
        }
        opened
    }

    /// The handler has not been told of it yet: its handshake is going on,
    /// or it completed and [`take_opened`](Self::take_opened) is still to
    /// say so. (Only an opened session is ever lent.)
    #[inline]
    pub(crate) fn awaiting_open(&self) -> bool {
        self.session.as_ref().is_some_and(|s| !s.opened())
    }

    /// When the handshake began, while it has not completed.
    pub(crate) fn handshake_started(&self) -> Option<Instant> {
        self.awaiting_open().then_some(self.started)
    }

    /// A graceful end of the sending side: `close_notify`, then the
    /// socket's own shutdown.
    ///
    /// A handler's close from a callback that was handed a message cut
    /// from the lent session waits for it ([`give_back`](Self::give_back)).
    pub(crate) fn shutdown(&mut self, how: Shutdown) -> io::Result<()> {
        let Some(session) = &mut self.session else {
            self.shutdown_due = Some(how);
            return Ok(());
        };
        if matches!(how, Shutdown::Write | Shutdown::Both) {
            session.close_notify();
            // Best effort: a socket too full for one small record is one
            // whose peer does not read, and it is closing anyway.
            let _ = session.flush(&mut self.sock);
        }
        self.sock.shutdown(how)
    }

    /// What the handshake agreed: as kept once it completed, or as far as
    /// it got. (A session is lent only once kept, so `None` is never seen.)
    pub(crate) fn info(&self) -> Option<TlsInfo> {
        self.info.clone().or_else(|| self.session.as_deref().map(Self::info_of))
    }

    fn info_of(session: &TlsSession) -> TlsInfo {
        TlsInfo {
            server_name: session.server_name().map(str::to_owned),
            alpn_protocol: session.alpn_protocol().map(<[u8]>::to_vec),
            version: session.protocol_version().and_then(|v| v.as_str()).unwrap_or("unknown"),
            peer_certificate: session.has_peer_certificate(),
        }
    }
}

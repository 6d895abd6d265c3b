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
    session: TlsSession,
    /// When the handshake began, for its deadline.
    started: Instant,
}

fn invalid(e: impl std::error::Error + Send + Sync + 'static) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, e)
}

impl TlsStream {
    /// The server side of a connection just accepted on `sock`.
    pub(crate) fn server(sock: Stream, config: &Arc<ServerConfig>, now: Instant) -> io::Result<Self> {
        let session = TlsSession::server(Arc::clone(config)).map_err(invalid)?;
        Ok(TlsStream { sock, session, started: now })
    }

    /// The client side of a connection to `name` on `sock`, connected or
    /// connecting; its ClientHello leaves with the first flush.
    pub(crate) fn client(sock: Stream, config: &Arc<ClientConfig>, name: &str, now: Instant) -> io::Result<Self> {
        let name = ServerName::try_from(name.to_owned()).map_err(invalid)?;
        let session = TlsSession::client(Arc::clone(config), name).map_err(invalid)?;
        Ok(TlsStream { sock, session, started: now })
    }

    #[inline]
    pub(crate) fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.session.read(&mut self.sock, buf)
    }

    #[inline]
    pub(crate) fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        self.session.write_vectored(&mut self.sock, bufs)
    }

    /// Writes the records the session holds; whether all went.
    pub(crate) fn flush(&mut self) -> io::Result<bool> {
        self.session.flush(&mut self.sock)
    }

    /// Ciphertext the session holds, not yet on the socket.
    #[inline]
    pub(crate) fn buffered(&self) -> usize {
        self.session.buffered()
    }

    /// True once, when the handshake has completed: `on_open` is due.
    #[inline]
    pub(crate) fn take_opened(&mut self) -> bool {
        self.session.take_opened()
    }

    /// The handler has not been told of it yet: its handshake is going on,
    /// or it completed and [`take_opened`](Self::take_opened) is still to
    /// say so.
    #[inline]
    pub(crate) fn awaiting_open(&self) -> bool {
        !self.session.opened()
    }

    /// When the handshake began, while it has not completed.
    pub(crate) fn handshake_started(&self) -> Option<Instant> {
        self.awaiting_open().then_some(self.started)
    }

    /// A graceful end of the sending side: `close_notify`, then the
    /// socket's own shutdown.
    pub(crate) fn shutdown(&mut self, how: Shutdown) -> io::Result<()> {
        if matches!(how, Shutdown::Write | Shutdown::Both) {
            self.session.close_notify();
            // Best effort: a socket too full for one small record is one
            // whose peer does not read, and it is closing anyway.
            let _ = self.session.flush(&mut self.sock);
        }
        self.sock.shutdown(how)
    }

    pub(crate) fn info(&self) -> TlsInfo {
        TlsInfo {
            server_name: self.session.server_name().map(str::to_owned),
            alpn_protocol: self.session.alpn_protocol().map(<[u8]>::to_vec),
            version: self.session.protocol_version().and_then(|v| v.as_str()).unwrap_or("unknown"),
            peer_certificate: self.session.has_peer_certificate(),
        }
    }
}

//! `frameloop bench --tls`: rustls's `ClientConnection` over any [`Socket`]
//! (TCP or Unix), itself a [`Socket`], so every mode speaks TLS unchanged.
//!
//! The clients rely on two rules of a plain non-blocking socket, which the
//! wrapper keeps, or an edge-triggered poller would wait for an edge that
//! never comes:
//!
//! - **A short read means the socket is drained** (the mio client stops
//!   reading then). A TLS read is one record of plaintext at a time, so
//!   [`Tls::read`] keeps decrypting into the buffer until it is full or the
//!   socket would block (or ends).
//! - **Bytes are left unwritten only after the socket said it would
//!   block**, so that a WRITABLE edge follows. [`Tls::write`] takes the
//!   plaintext only once the ciphertext queued before went out, else it
//!   returns `WouldBlock`, having just got it from the socket. Ciphertext
//!   left over from a write that was taken (or from a handshake reply) goes
//!   out on the next write or [`Write::flush`], which the clients call on
//!   every WRITABLE edge even with nothing of their own to send.
//!
//! rustls's plaintext buffer is unlimited here: a closed loop bounds what
//! the bench has in flight already, and a partial accept would break the
//! second rule. Session resumption is off: with `--churn`, every connection
//! is a full handshake, the cost that mode means to measure.

use std::io::{self, Read, Write};
use std::sync::Arc;
use std::time::Duration;

use mio::event::Source;
use mio::{Interest, Registry, Token};
use rustls::client::Resumption;
use rustls::pki_types::ServerName;
use rustls::{ClientConfig, ClientConnection};

use super::socket::Socket;

/// How long a blocking handshake may take.
const HANDSHAKE_PATIENCE: Duration = Duration::from_secs(5);

/// Where a TLS connection goes: the socket's address, the configuration and
/// the name the server's certificate must carry.
#[derive(Debug, Clone)]
pub struct Target<A> {
    pub addr: A,
    pub config: Arc<ClientConfig>,
    pub name: ServerName<'static>,
}

/// `config` with session resumption off, so that every connection makes a
/// full handshake.
pub fn no_resumption(config: &ClientConfig) -> Arc<ClientConfig> {
    let mut config = config.clone();
    config.resumption = Resumption::disabled();
    Arc::new(config)
}

/// A TLS client session over `sock`, blocking or not as `sock` is.
#[derive(Debug)]
pub struct Tls<T> {
    conn: ClientConnection,
    sock: T,
    /// Non-blocking: a read goes on until the socket would block (see the
    /// module's first rule). Blocking, it returns what one record gave.
    drain: bool,
}

/// A non-blocking [`Tls`] for mio, which sends `close_notify` as it is
/// dropped, so the server sees a graceful close and not a truncation.
#[derive(Debug)]
pub struct TlsMio<M: Read + Write>(Tls<M>);

fn session<A>(to: &Target<A>) -> io::Result<ClientConnection> {
    let mut conn = ClientConnection::new(Arc::clone(&to.config), to.name.clone()).map_err(io::Error::other)?;
    // See the module's comment: the whole write is always taken.
    conn.set_buffer_limit(None);
    Ok(conn)
}

impl<T: Read + Write> Tls<T> {
    /// Writes the queued ciphertext until none is left or the socket would
    /// block (`WouldBlock`).
    fn push(&mut self) -> io::Result<()> {
        while self.conn.wants_write() {
            match self.conn.write_tls(&mut self.sock) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// [`Tls::push`], where a full socket is no error: its edge will come.
    fn push_some(&mut self) -> io::Result<()> {
        match self.push() {
            Err(e) if e.kind() != io::ErrorKind::WouldBlock => Err(e),
            _ => Ok(()),
        }
    }
}

impl<T: Read + Write> Read for Tls<T> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut n = 0;
        // What was read so far, or the error when nothing was.
        let done = |n: usize, e: io::Error| if n > 0 { Ok(n) } else { Err(e) };
        loop {
            if n == buf.len() {
                return Ok(n);
            }
            match self.conn.reader().read(&mut buf[n..]) {
                // The server's close_notify: the end of the stream.
                Ok(0) => return Ok(n),
                Ok(k) => {
                    n += k;
                    continue;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                // UnexpectedEof: the socket ended without close_notify.
                Err(e) => return done(n, e),
            }
            if n > 0 && !self.drain {
                return Ok(n);
            }
            match self.conn.read_tls(&mut self.sock) {
                Ok(_) => {
                    // At the socket's end too (read_tls gave 0): the reader
                    // then says how it ended, never WouldBlock.
                    if let Err(e) = self.conn.process_new_packets() {
                        // rustls queued an alert telling the server why.
                        let _ = self.push_some();
                        return done(n, io::Error::new(io::ErrorKind::InvalidData, e));
                    }
                    // Handshake replies, and plaintext written during the
                    // handshake that it released.
                    self.push_some()?;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return done(n, e),
            }
        }
    }
}

impl<T: Read + Write> Write for Tls<T> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        // WouldBlock here comes from the socket: its edge will come.
        self.push()?;
        let n = self.conn.writer().write(buf)?;
        self.push_some()?;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.push()
    }
}

impl<S: Socket> Socket for Tls<S> {
    type Addr = Target<S::Addr>;
    type Mio = TlsMio<S::Mio>;

    /// Connects and completes the handshake, blocking.
    fn connect(to: &Target<S::Addr>) -> io::Result<Self> {
        let sock = S::connect(&to.addr)?;
        sock.set_read_timeout(Some(HANDSHAKE_PATIENCE))?;
        let mut tls = Tls { conn: session(to)?, sock, drain: false };
        while tls.conn.is_handshaking() {
            tls.conn.complete_io(&mut tls.sock)?;
        }
        tls.sock.set_read_timeout(None)?;
        Ok(tls)
    }

    fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.sock.set_read_timeout(timeout)
    }

    fn into_mio(self) -> io::Result<Self::Mio> {
        Ok(TlsMio(Tls { conn: self.conn, sock: self.sock.into_mio()?, drain: true }))
    }

    /// Starts the TCP (or Unix) connect; the handshake runs as the stream
    /// is read and written. What is written before it ends waits in rustls.
    fn start_connect(to: &Target<S::Addr>) -> io::Result<Self::Mio> {
        Ok(TlsMio(Tls { conn: session(to)?, sock: S::start_connect(&to.addr)?, drain: true }))
    }

    fn connected(stream: &Self::Mio) -> io::Result<bool> {
        S::connected(&stream.0.sock)
    }
}

impl<M: Read + Write> Read for TlsMio<M> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.read(buf)
    }
}

impl<M: Read + Write> Write for TlsMio<M> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

impl<M: Read + Write> Drop for TlsMio<M> {
    fn drop(&mut self) {
        // Best effort, without waiting: a full socket loses it.
        self.0.conn.send_close_notify();
        let _ = self.0.push();
    }
}

impl<M: Read + Write + Source> Source for TlsMio<M> {
    fn register(&mut self, registry: &Registry, token: Token, interests: Interest) -> io::Result<()> {
        self.0.sock.register(registry, token, interests)
    }

    fn reregister(&mut self, registry: &Registry, token: Token, interests: Interest) -> io::Result<()> {
        self.0.sock.reregister(registry, token, interests)
    }

    fn deregister(&mut self, registry: &Registry) -> io::Result<()> {
        self.0.sock.deregister(registry)
    }
}

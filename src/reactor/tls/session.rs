//! [`TlsSession`]: one rustls connection driven over a non-blocking socket.

use std::io::{self, IoSlice, Read, Write};
use std::sync::Arc;

use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, ClientConnection, Connection, ServerConfig, ServerConnection};

use super::error::TlsFailure;

/// rustls's own default for its output buffer, made explicit: with one
/// full write in flight it is four TLS records.
pub(crate) const DEFAULT_BUFFER_LIMIT: usize = 64 * 1024;

#[cfg(test)]
/// How a session's input ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EndOfStream {
    /// The peer sent `close_notify`: everything it sent arrived.
    CloseNotify,
    /// The TCP stream ended without `close_notify` (possibly in the middle
    /// of a record): what arrived may be cut short by whoever closed it.
    /// Many TLS peers close this way, so it is not an error by itself; a
    /// message protocol sees a cut message as a partial frame at the end.
    Truncated,
}

#[cfg(test)]
/// What [`TlsSession::with_plaintext`] stopped on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Drained {
    /// The socket said `WouldBlock`: wait for the next readable event.
    WouldBlock,
    /// The input ended (the plaintext before it was all handed out).
    End(EndOfStream),
    /// The callback took less than it was given: it wants no more for now.
    /// The socket was not drained, so an edge-triggered reactor will not be
    /// woken for it: it must call again by itself when it resumes.
    Stopped,
}

/// Where the handshake is, for the one moment the reactor must see.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Handshake {
    Going,
    /// Completed, and [`TlsSession::take_opened`] has not said so yet.
    Done,
    Reported,
}

/// Whether plaintext waits inside rustls, or the input is over.
enum Pulled {
    Plaintext,
    End,
}

/// A TLS session over a non-blocking socket (any `Read + Write`: a mio
/// `TcpStream`, a `UnixStream`), for an edge-triggered loop.
///
/// The one rule behind every method: a `WouldBlock` error is only ever the
/// socket's own. Whatever rustls holds (plaintext, records to send) is
/// handed out or written before `WouldBlock` is returned, so that the next
/// readiness event is a promise, not a guess.
///
/// The reactor's side of it:
///
/// - **Readable**: call [`fill_buf`](Self::fill_buf) (and
///   [`consume`](Self::consume)) or [`read`](Self::read) until `WouldBlock`, `Ok(0)`
///   (end: see [`end_of_stream`](Self::end_of_stream)) or another error
///   (fatal: close the socket; an `InvalidData` is a TLS failure whose alert
///   was already sent, as far as the socket took it). Reading also sends
///   what the handshake answers, and after each call
///   [`take_opened`](Self::take_opened) says whether the handshake just
///   completed: then call the handler's `on_open`, *before* handing it the
///   bytes that call returned (a TLS 1.3 client may send data in the same
///   flight as its `Finished`), and write what was queued for the peer.
/// - **Writable**: [`write_vectored`](Self::write_vectored) with the queued
///   plaintext, or [`flush`](Self::flush) when only
///   [`buffered`](Self::buffered) bytes remain; a client also flushes on its
///   first writable event, to send its ClientHello.
/// - **Closing**: [`close_notify`](Self::close_notify), then flush until it
///   returns true, then shut the socket down.
pub(crate) struct TlsSession {
    conn: Connection,
    /// The ciphertext rustls holds and has not written to the socket
    /// (rustls's `sendable_tls`), exactly: refreshed from the `IoState`
    /// rustls reports after every change, less what each write took.
    unsent: usize,
    handshake: Handshake,
    closing: bool,
    /// Whether, this read turn, a socket read that fills less than it was
    /// offered means the socket is empty: the reactor says so as each turn
    /// begins (over its TCP and Unix sockets, unless the peer's end of
    /// stream was announced, which a short read does not show); never
    /// otherwise.
    short_reads_drain: bool,
    /// The socket's last read of this read turn came up short: it is
    /// empty, and its next bytes raise a new edge, so once rustls's
    /// plaintext is used up the turn ends without asking the socket again
    /// (a read that would only say `WouldBlock`). Cleared as a turn begins.
    drained: bool,
}

/// The socket as rustls reads it, remembering whether its last read filled
/// less than it was offered.
struct ShortReads<'a, S> {
    sock: &'a mut S,
    short: bool,
}

impl<S: Read> Read for ShortReads<'_, S> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.sock.read(buf)?;
        // 0 is the end of the input, which rustls remembers itself.
        self.short = n > 0 && n < buf.len();
        Ok(n)
    }
}

impl std::fmt::Debug for TlsSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsSession")
            .field("handshaking", &self.conn.is_handshaking())
            .field("unsent", &self.unsent)
            .field("closing", &self.closing)
            .finish()
    }
}

impl TlsSession {
    /// The server side of a new connection; its first read takes the
    /// ClientHello.
    pub(crate) fn server(config: Arc<ServerConfig>) -> Result<Self, rustls::Error> {
        Ok(Self::new(Connection::Server(ServerConnection::new(config)?)))
    }

    /// The client side of a new connection to `name` (what the server's
    /// certificate must name, and the SNI sent). The ClientHello is queued
    /// already: [`flush`](Self::flush) sends it.
    pub(crate) fn client(config: Arc<ClientConfig>, name: ServerName<'static>) -> Result<Self, rustls::Error> {
        Ok(Self::new(Connection::Client(ClientConnection::new(config, name)?)))
    }

    fn new(conn: Connection) -> Self {
        let mut session = TlsSession {
            conn,
            unsent: 0,
            handshake: Handshake::Going,
            closing: false,
            short_reads_drain: false,
            drained: false,
        };
        session.conn.set_buffer_limit(Some(DEFAULT_BUFFER_LIMIT));
        session.count_unsent();
        session
    }

    /// A read turn begins (an edge came, or the turn before stopped short
    /// of the end): the socket may hold bytes again. `short_reads_drain`:
    /// whether a short read will mean it is empty this turn (a
    /// non-blocking TCP or Unix stream under an edge-triggered poller,
    /// whose peer has not announced its end of stream), so that the turn
    /// can end without the read that would say so.
    pub(crate) fn begin_read_turn(&mut self, short_reads_drain: bool) {
        self.drained = false;
        self.short_reads_drain = short_reads_drain;
    }

    /// Reads plaintext into `space` (which must not be empty).
    ///
    /// Takes ciphertext from the socket as needed, decrypts it, and writes
    /// to the socket what rustls has to send (handshake messages, alerts,
    /// key updates). `Ok(0)` is the end of the input, whose kind
    /// [`end_of_stream`](Self::end_of_stream) tells; `WouldBlock` means the
    /// socket has nothing more now and rustls holds no plaintext; an
    /// `InvalidData` error is a TLS failure ([`TlsFailure`] inside).
    ///
    /// Returns as soon as rustls holds plaintext, without reading the
    /// socket further: call it again until `WouldBlock`. While it has none,
    /// it reads on (records without plaintext: the handshake, tickets, key
    /// updates), so a single call ends only with plaintext, the end of the
    /// input, an error or the socket's `WouldBlock`.
    ///
    /// Copies: the kernel's into rustls's buffer, rustls's decrypted record
    /// into its own plaintext `Vec`, that into `space`. The reactor's read
    /// loop uses [`fill_buf`](Self::fill_buf), one copy less; this serves
    /// a lingering close, which only drains.
    pub(crate) fn read<S: Read + Write>(&mut self, sock: &mut S, space: &mut [u8]) -> io::Result<usize> {
        debug_assert!(!space.is_empty(), "an empty buffer would read as the end of the input");
        match self.pull(sock)? {
            Pulled::Plaintext => self.conn.reader().read(space),
            Pulled::End => Ok(0),
        }
    }

    /// Lends the plaintext rustls holds, without copying it: the next
    /// decrypted record's bytes not yet [`consume`](Self::consume)d (one
    /// record: at most 16 KiB; a message longer, or cut by a record
    /// boundary, continues in the next slice). An empty slice is the end of
    /// the input; errors as [`read`](Self::read).
    pub(crate) fn fill_buf<S: Read + Write>(&mut self, sock: &mut S) -> io::Result<&[u8]> {
        match self.pull(sock)? {
            Pulled::Plaintext => self.conn.reader().into_first_chunk(),
            Pulled::End => Ok(&[]),
        }
    }

    /// Marks `n` bytes of what [`fill_buf`](Self::fill_buf) lent as used.
    ///
    /// # Panics
    ///
    /// If `n` is more than the slice held (rustls asserts it).
    pub(crate) fn consume(&mut self, n: usize) {
        io::BufRead::consume(&mut self.conn.reader(), n);
    }

    // Only the session's own tests use it.
    #[cfg(test)]
    /// Hands each plaintext slice to `f`, straight from rustls's buffer, until
    /// the socket would block, the input ends, or `f` takes less than all
    /// of a slice (it returns how much it took; the rest is lent again next
    /// time). A message cut by a record boundary is `f`'s to keep: it takes
    /// the whole slice, copying the partial message, and finishes it from
    /// the next.
    pub(crate) fn with_plaintext<S: Read + Write>(
        &mut self,
        sock: &mut S,
        mut f: impl FnMut(&[u8]) -> usize,
    ) -> io::Result<Drained> {
        loop {
            let chunk = match self.fill_buf(sock) {
                Ok(chunk) => chunk,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(Drained::WouldBlock),
                Err(e) => return Err(e),
            };
            if chunk.is_empty() {
                return Ok(Drained::End(self.end_of_stream().unwrap_or(EndOfStream::Truncated)));
            }
            let len = chunk.len();
            let took = f(chunk).min(len);
            self.consume(took);
            if took < len {
                return Ok(Drained::Stopped);
            }
        }
    }

    /// Reads and decrypts until rustls holds plaintext, the input ends, or
    /// the socket would block.
    fn pull<S: Read + Write>(&mut self, sock: &mut S) -> io::Result<Pulled> {
        loop {
            // What rustls already holds comes first: no syscall for it, and
            // `read_tls` refuses to read while its plaintext buffer is full.
            match io::BufRead::fill_buf(&mut self.conn.reader()) {
                Ok([]) => return Ok(Pulled::End),
                Ok(_) => return Ok(Pulled::Plaintext),
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(Pulled::End),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => return Err(e),
            }
            if self.drained {
                return Err(io::ErrorKind::WouldBlock.into());
            }
            // rustls remembers an EOF (`Ok(0)`): the next turn above ends.
            let mut counted = ShortReads { sock: &mut *sock, short: false };
            match self.conn.read_tls(&mut counted) {
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
            self.drained = self.short_reads_drain && counted.short;
            self.process(sock)?;
        }
    }

    /// Decrypts and acts on the records read, then sends rustls's answer.
    fn process<S: Write>(&mut self, sock: &mut S) -> io::Result<()> {
        let during_handshake = self.conn.is_handshaking();
        match self.conn.process_new_packets() {
            Ok(state) => self.unsent = state.tls_bytes_to_write(),
            Err(error) => {
                // rustls queued the alert that says why: it goes out if the
                // socket takes it, and the refusal is the error either way.
                let _ = self.flush(sock);
                return Err(io::Error::new(io::ErrorKind::InvalidData, TlsFailure { during_handshake, error }));
            }
        }
        if self.handshake == Handshake::Going && !self.conn.is_handshaking() {
            self.handshake = Handshake::Done;
            // The handshake's last words (a server's session tickets, a
            // client's Finished) wait for the first replies: the reactor
            // puts a just-opened connection with bytes queued on its flush
            // list, and both leave in one write, not two.
            return Ok(());
        }
        // A full socket is no error here: the rest goes on the writable event.
        self.flush(sock).map(drop)
    }

    /// Encrypts plaintext from `bufs` and writes records to the socket until
    /// all of `bufs` is taken or the socket would block; returns how many
    /// plaintext bytes were taken (the caller keeps the rest).
    ///
    /// Takes no more than fits the buffer limit, so rustls's buffer stays
    /// bounded whatever the caller offers. `WouldBlock` only when nothing
    /// was taken because the socket is full.
    ///
    /// While the handshake is going on, takes nothing and returns `Ok(0)`:
    /// the handler has not been opened, so nothing should be queued yet,
    /// and [`buffered`](Self::buffered) stays exact (rustls would hold such
    /// plaintext unencrypted, out of sight). Write again after
    /// [`take_opened`](Self::take_opened) said true.
    pub(crate) fn write_vectored<S: Write>(&mut self, sock: &mut S, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        if self.closing {
            return Err(io::Error::new(io::ErrorKind::BrokenPipe, "TLS close_notify was sent: no more data"));
        }
        if self.conn.is_handshaking() {
            self.flush(sock)?;
            return Ok(0);
        }
        let total: usize = bufs.iter().map(|b| b.len()).sum();
        let mut taken = 0;
        loop {
            let took = if taken == 0 {
                self.conn.writer().write_vectored(bufs)?
            } else {
                self.conn.writer().write_vectored(&rest(bufs, taken))?
            };
            taken += took;
            if took > 0 {
                self.count_unsent();
            }
            if !self.flush(sock)? {
                return if taken == 0 { Err(io::ErrorKind::WouldBlock.into()) } else { Ok(taken) };
            }
            // rustls's buffer is empty now, so the next turn takes at least
            // one record: this loop ends within total / 16 KiB turns.
            if taken >= total || took == 0 {
                return Ok(taken);
            }
        }
    }

    /// Writes what rustls holds for the socket; true when all went, false
    /// when the socket would block first (wait for writable).
    pub(crate) fn flush<S: Write>(&mut self, sock: &mut S) -> io::Result<bool> {
        while self.conn.wants_write() {
            match self.conn.write_tls(sock) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => self.unsent = self.unsent.saturating_sub(n),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        self.unsent = 0;
        Ok(true)
    }

    /// Bytes inside rustls not yet on the socket, for the write watermarks.
    /// They are ciphertext (each record's header and tag included, some 22
    /// bytes per 16 KiB record), as no plaintext is ever left unencrypted
    /// (see [`write_vectored`](Self::write_vectored)). Exact while the
    /// session is sound; after a fatal error, what is left of the alert.
    pub(crate) fn buffered(&self) -> usize {
        self.unsent
    }

    /// Refreshes [`buffered`](Self::buffered) from rustls after it queued
    /// records. `process_new_packets` with no new input only reports: every
    /// record read was processed already, right after its `read_tls`.
    fn count_unsent(&mut self) {
        if let Ok(state) = self.conn.process_new_packets() {
            self.unsent = state.tls_bytes_to_write();
        }
    }

    // Only the session's own tests use it.
    #[cfg(test)]
    /// Whether the handshake is still going on.
    pub(crate) fn is_handshaking(&self) -> bool {
        self.conn.is_handshaking()
    }

    /// True once, the first time it is asked after the handshake completed:
    /// the moment to call the handler's `on_open`.
    ///
    /// On a TLS 1.3 client that moment comes before the server has checked
    /// the client's certificate (the client's `Finished` carries it): a
    /// server refusing it says so with an alert the client reads after
    /// `on_open`, as an `InvalidData` error of a session, not a handshake.
    pub(crate) fn take_opened(&mut self) -> bool {
        let done = self.handshake == Handshake::Done;
        if done {
            self.handshake = Handshake::Reported;
        }
        done
    }

    /// Whether [`take_opened`](Self::take_opened) has said true.
    pub(crate) fn opened(&self) -> bool {
        self.handshake == Handshake::Reported
    }

    /// Queues `close_notify`, for a graceful close: [`flush`](Self::flush)
    /// sends it; nothing can be written after it.
    pub(crate) fn close_notify(&mut self) {
        if !self.closing {
            self.closing = true;
            self.conn.send_close_notify();
            self.count_unsent();
        }
    }

    // Only the session's own tests use it.
    #[cfg(test)]
    /// How the input ended, once it has: `None` while it goes on.
    pub(crate) fn end_of_stream(&mut self) -> Option<EndOfStream> {
        match io::BufRead::fill_buf(&mut self.conn.reader()) {
            Ok([]) => Some(EndOfStream::CloseNotify),
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => Some(EndOfStream::Truncated),
            _ => None,
        }
    }

    /// The name the client asked for (SNI), on the server side once the
    /// ClientHello was read; `None` on the client side or without SNI.
    pub(crate) fn server_name(&self) -> Option<&str> {
        match &self.conn {
            Connection::Server(server) => server.server_name(),
            Connection::Client(_) => None,
        }
    }

    /// The protocol agreed by ALPN, once the handshake got that far.
    pub(crate) fn alpn_protocol(&self) -> Option<&[u8]> {
        self.conn.alpn_protocol()
    }

    /// The peer's certificate chain, its own first: always there for a
    /// client once open; on a server, only with mutual TLS.
    pub(crate) fn peer_certificates(&self) -> Option<&[CertificateDer<'static>]> {
        self.conn.peer_certificates()
    }

    /// Whether the peer presented a certificate (one rustls verified, as it
    /// refuses the handshake otherwise).
    pub(crate) fn has_peer_certificate(&self) -> bool {
        self.peer_certificates().is_some_and(|chain| !chain.is_empty())
    }

    /// The TLS version agreed, once the handshake got that far.
    pub(crate) fn protocol_version(&self) -> Option<rustls::ProtocolVersion> {
        self.conn.protocol_version()
    }
}

/// `bufs` without its first `skip` bytes.
fn rest<'a>(bufs: &'a [IoSlice<'a>], mut skip: usize) -> Vec<IoSlice<'a>> {
    let mut out = Vec::with_capacity(bufs.len());
    for buf in bufs {
        let slice: &'a [u8] = buf;
        if skip >= slice.len() {
            skip -= slice.len();
        } else {
            out.push(IoSlice::new(&slice[skip..]));
            skip = 0;
        }
    }
    out
}

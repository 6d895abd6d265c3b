//! [`Ctx`]: what a handler callback may do.

use std::time::{Duration, Instant};

use super::core::Core;
use super::stats::Stats;
use crate::addr::{first_addr, Addr, ToAddrs};
use crate::codec::packet::PacketRef;
use crate::error::Error;
use crate::handler::{CloseReason, ConnId, TimerId};

/// The handle a [`Handler`](crate::Handler) callback acts through.
///
/// Every method returns at once: sends are queued in the connection's write
/// buffer and written after the callback (one write per connection per loop
/// turn, however many messages were queued), closes take effect after the
/// callback too. Methods that name a connection return
/// [`Error::UnknownConnection`] or [`Error::ConnectionClosed`] when it is
/// gone; they never panic.
///
/// ```
/// use std::io::{Read, Write};
/// use std::net::Shutdown;
/// use frameloop::{CloseReason, ConnId, Ctx, Error, Handler, Reactor};
///
/// /// Answers one line, then hangs up.
/// struct Once;
/// impl Handler for Once {
///     fn on_frame(&mut self, ctx: &mut Ctx<'_>, conn: ConnId, line: &[u8]) {
///         ctx.send(conn, line).unwrap(); // queued: written after this callback
///         ctx.close(conn).unwrap(); // once the reply is out
///         // The connection is closing now: using it is an error, never a panic.
///         assert!(matches!(ctx.send(conn, b"more"), Err(Error::ConnectionClosed(_))));
///     }
///     fn on_close(&mut self, ctx: &mut Ctx<'_>, _: ConnId, _: CloseReason) {
///         ctx.stop();
///     }
/// }
///
/// let mut reactor = Reactor::builder().lines().build()?;
/// let addr = reactor.listen("127.0.0.1:0")?;
/// let mut peer = std::net::TcpStream::connect(addr)?;
/// peer.write_all(b"hello\n")?;
/// peer.shutdown(Shutdown::Write)?;
/// reactor.run(&mut Once)?;
/// let mut reply = Vec::new();
/// peer.read_to_end(&mut reply)?;
/// assert_eq!(reply, b"hello\n");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct Ctx<'a> {
    pub(crate) core: &'a mut Core,
}

impl<'a> Ctx<'a> {
    pub(crate) fn new(core: &'a mut Core) -> Self {
        Ctx { core }
    }

    /// Queues one message for `conn`.
    ///
    /// ```
    /// use std::io::{Read, Write};
    /// use std::net::Shutdown;
    /// use frameloop::{CloseReason, ConnId, Ctx, Handler, Reactor};
    ///
    /// struct H;
    /// impl Handler for H {
    ///     fn on_frame(&mut self, ctx: &mut Ctx<'_>, conn: ConnId, line: &[u8]) {
    ///         ctx.send(conn, line).unwrap(); // framed for you: the `\n` is added
    ///         assert!(ctx.send(conn, b"two\nlines").is_err()); // would arrive as two
    ///     }
    ///     fn on_close(&mut self, ctx: &mut Ctx<'_>, _: ConnId, _: CloseReason) {
    ///         ctx.stop();
    ///     }
    /// }
    ///
    /// let mut reactor = Reactor::builder().lines().build()?;
    /// let addr = reactor.listen("127.0.0.1:0")?;
    /// let mut peer = std::net::TcpStream::connect(addr)?;
    /// peer.write_all(b"ping\n")?;
    /// peer.shutdown(Shutdown::Write)?;
    /// reactor.run(&mut H)?;
    /// let mut reply = Vec::new();
    /// peer.read_to_end(&mut reply)?;
    /// assert_eq!(reply, b"ping\n");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::UnknownConnection`] / [`Error::ConnectionClosed`] when the
    /// connection is gone or closing; [`Error::SlowConsumer`] when its
    /// output had reached the hard cap (the connection is then closed);
    /// [`Error::FrameTooLarge`] / [`Error::Codec`] when the message cannot be
    /// framed: longer than the reactor's
    /// [`max_frame_len`](crate::ReactorBuilder::max_frame_len) (which a peer with
    /// the same settings would close the connection for), or a line
    /// containing `\n` or ending in `\r` (see
    /// [`Codec::check_outgoing`](crate::codec::Codec::check_outgoing)).
    ///
    /// In a [`ReactorGroup`](crate::ReactorGroup), a connection of another
    /// reactor is sent `msg` through that reactor's mailbox: the call
    /// returns `Ok` once the message is queued there (after the codec's
    /// check), and a connection gone by the time that reactor gets to it is
    /// counted in its [`Stats::mail_undelivered`].
    #[inline]
    pub fn send(&mut self, conn: ConnId, msg: &[u8]) -> Result<(), Error> {
        self.core.send_parts(conn, &[msg])
    }

    /// Queues one message made of several parts, as if they were
    /// concatenated, without concatenating them first.
    ///
    /// ```
    /// use std::io::{Read, Write};
    /// use std::net::Shutdown;
    /// use frameloop::{CloseReason, ConnId, Ctx, Handler, Reactor};
    ///
    /// struct H;
    /// impl Handler for H {
    ///     fn on_frame(&mut self, ctx: &mut Ctx<'_>, conn: ConnId, line: &[u8]) {
    ///         let _ = ctx.send_parts(conn, &[b"you said: ", line]); // one line
    ///     }
    ///     fn on_close(&mut self, ctx: &mut Ctx<'_>, _: ConnId, _: CloseReason) {
    ///         ctx.stop();
    ///     }
    /// }
    ///
    /// let mut reactor = Reactor::builder().lines().build()?;
    /// let addr = reactor.listen("127.0.0.1:0")?;
    /// let mut peer = std::net::TcpStream::connect(addr)?;
    /// peer.write_all(b"hi\n")?;
    /// peer.shutdown(Shutdown::Write)?;
    /// reactor.run(&mut H)?;
    /// let mut reply = Vec::new();
    /// peer.read_to_end(&mut reply)?;
    /// assert_eq!(reply, b"you said: hi\n");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// As [`send`](Self::send).
    #[inline]
    pub fn send_parts(&mut self, conn: ConnId, parts: &[&[u8]]) -> Result<(), Error> {
        self.core.send_parts(conn, parts)
    }

    /// Queues a [packet](crate::codec::packet) (with the frames format).
    ///
    /// ```
    /// use std::io::{Read, Write};
    /// use std::net::Shutdown;
    /// use frameloop::codec::packet;
    /// use frameloop::{CloseReason, ConnId, Ctx, Handler, PacketRef, Reactor};
    ///
    /// struct Answer;
    /// impl Handler for Answer {
    ///     fn on_frame(&mut self, ctx: &mut Ctx<'_>, conn: ConnId, _: &[u8]) {
    ///         let reply = PacketRef { integer: 42, real: 0.5, boolean: true, text: "answer" };
    ///         let _ = ctx.send_packet(conn, reply); // one frame, its payload the packet
    ///     }
    ///     fn on_close(&mut self, ctx: &mut Ctx<'_>, _: ConnId, _: CloseReason) {
    ///         ctx.stop();
    ///     }
    /// }
    ///
    /// let mut reactor = Reactor::new()?; // frames, the format packets travel in
    /// let addr = reactor.listen("127.0.0.1:0")?;
    /// let mut peer = std::net::TcpStream::connect(addr)?;
    /// peer.write_all(b"\0\0\0\x01?")?;
    /// peer.shutdown(Shutdown::Write)?;
    /// reactor.run(&mut Answer)?;
    /// let mut wire = Vec::new();
    /// peer.read_to_end(&mut wire)?;
    /// let (got, used) = packet::decode(&wire, 1024)?.unwrap();
    /// assert_eq!((got.integer, got.real, got.boolean, got.text), (42, 0.5, true, "answer"));
    /// assert_eq!(used, wire.len());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// As [`send`](Self::send).
    pub fn send_packet(&mut self, conn: ConnId, packet: PacketRef<'_>) -> Result<(), Error> {
        let fixed = packet.fixed_bytes();
        self.core.send_parts(conn, &[&fixed, packet.text.as_bytes()])
    }

    /// Queues `msg` for every open connection (those held open after their
    /// peer half-closed included); returns how many. In a
    /// [`ReactorGroup`](crate::ReactorGroup) it reaches the connections of
    /// every reactor (the others through their mailboxes), and the count is
    /// this reactor's.
    ///
    /// ```
    /// use std::io::{Read, Write};
    /// use std::net::{Shutdown, TcpStream};
    /// use frameloop::{ConnId, Ctx, Handler, Reactor};
    ///
    /// /// Passes a line on to everyone, the sender too, and stops.
    /// struct Loudspeaker(usize);
    /// impl Handler for Loudspeaker {
    ///     fn on_frame(&mut self, ctx: &mut Ctx<'_>, _: ConnId, line: &[u8]) {
    ///         self.0 = ctx.broadcast(line);
    ///         ctx.stop(); // graceful: the copies are written first
    ///     }
    /// }
    ///
    /// let mut reactor = Reactor::builder().lines().build()?;
    /// let addr = reactor.listen("127.0.0.1:0")?;
    /// let mut bob = TcpStream::connect(&addr)?;
    /// let mut alice = TcpStream::connect(&addr)?;
    /// alice.write_all(b"hi all\n")?;
    /// alice.shutdown(Shutdown::Write)?;
    /// let bob_hears = std::thread::spawn(move || {
    ///     let mut got = Vec::new();
    ///     bob.read_to_end(&mut got).map(|_| got) // until the stop closes the connection
    /// });
    /// let mut speaker = Loudspeaker(0);
    /// reactor.run(&mut speaker)?;
    /// assert_eq!(speaker.0, 2);
    /// assert_eq!(bob_hears.join().unwrap()?, b"hi all\n");
    /// let mut echo = Vec::new();
    /// alice.read_to_end(&mut echo)?;
    /// assert_eq!(echo, b"hi all\n");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn broadcast(&mut self, msg: &[u8]) -> usize {
        self.core.broadcast(&[msg], None)
    }

    /// Queues `msg` for every open connection (held half-closed ones
    /// included) except `except` (typically
    /// the sender); returns how many. In a group, as
    /// [`broadcast`](Self::broadcast): every reactor's, this one's counted.
    ///
    /// ```
    /// use std::io::{Read, Write};
    /// use std::net::{Shutdown, TcpStream};
    /// use frameloop::{ConnId, Ctx, Handler, Reactor};
    ///
    /// /// Passes a line on to everyone but its sender, and stops.
    /// struct ChatBox(usize);
    /// impl Handler for ChatBox {
    ///     fn on_frame(&mut self, ctx: &mut Ctx<'_>, conn: ConnId, line: &[u8]) {
    ///         self.0 = ctx.broadcast_except(conn, line);
    ///         ctx.stop();
    ///     }
    /// }
    ///
    /// let mut reactor = Reactor::builder().lines().build()?;
    /// let addr = reactor.listen("127.0.0.1:0")?;
    /// let mut bob = TcpStream::connect(&addr)?;
    /// let mut alice = TcpStream::connect(&addr)?;
    /// alice.write_all(b"hi all\n")?;
    /// alice.shutdown(Shutdown::Write)?;
    /// let bob_hears = std::thread::spawn(move || {
    ///     let mut got = Vec::new();
    ///     bob.read_to_end(&mut got).map(|_| got) // until the stop closes the connection
    /// });
    /// let mut chat = ChatBox(0);
    /// reactor.run(&mut chat)?;
    /// assert_eq!(chat.0, 1);
    /// assert_eq!(bob_hears.join().unwrap()?, b"hi all\n");
    /// let mut echo = Vec::new();
    /// alice.read_to_end(&mut echo)?;
    /// assert!(echo.is_empty()); // not back to the sender
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn broadcast_except(&mut self, except: ConnId, msg: &[u8]) -> usize {
        self.core.broadcast(&[msg], Some(except))
    }

    /// Closes `conn` once its queued output has been written. Nothing more
    /// is read from it; the handler hears `on_close` once the output is out.
    /// The socket then shuts its sending side and lingers (at most 2 s),
    /// discarding input, until the peer closes too: closing with unread input
    /// would make the kernel reset the connection and lose the last bytes.
    ///
    /// ```
    /// use std::io::{Read, Write};
    /// use std::net::Shutdown;
    /// use frameloop::{CloseReason, ConnId, Ctx, Handler, Reactor};
    ///
    /// struct H;
    /// impl Handler for H {
    ///     fn on_frame(&mut self, ctx: &mut Ctx<'_>, conn: ConnId, _: &[u8]) {
    ///         let _ = ctx.send(conn, b"bye");
    ///         ctx.close(conn).unwrap(); // "bye" is written first
    ///         assert!(!ctx.is_open(conn));
    ///         assert!(ctx.send(conn, b"too late").is_err());
    ///     }
    ///     fn on_close(&mut self, ctx: &mut Ctx<'_>, _: ConnId, reason: CloseReason) {
    ///         assert_eq!(reason, CloseReason::ClosedLocally);
    ///         ctx.stop();
    ///     }
    /// }
    ///
    /// let mut reactor = Reactor::builder().lines().build()?;
    /// let addr = reactor.listen("127.0.0.1:0")?;
    /// let mut peer = std::net::TcpStream::connect(addr)?;
    /// peer.write_all(b"quit\n")?;
    /// peer.shutdown(Shutdown::Write)?;
    /// reactor.run(&mut H)?;
    /// let mut reply = Vec::new();
    /// peer.read_to_end(&mut reply)?;
    /// assert_eq!(reply, b"bye\n");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::UnknownConnection`] / [`Error::ConnectionClosed`]. In a
    /// group, a connection of another reactor is closed through its mailbox,
    /// as [`send`](Self::send) sends.
    pub fn close(&mut self, conn: ConnId) -> Result<(), Error> {
        self.core.close(conn, CloseReason::ClosedLocally)
    }

    /// Closes `conn` now, dropping its queued output.
    ///
    /// ```
    /// use std::io::{Read, Write};
    /// use std::net::Shutdown;
    /// use frameloop::{CloseReason, ConnId, Ctx, Handler, Reactor};
    ///
    /// struct H;
    /// impl Handler for H {
    ///     fn on_frame(&mut self, ctx: &mut Ctx<'_>, conn: ConnId, _: &[u8]) {
    ///         let _ = ctx.send(conn, b"never sent");
    ///         ctx.abort(conn).unwrap(); // drops the queued output
    ///     }
    ///     fn on_close(&mut self, ctx: &mut Ctx<'_>, _: ConnId, reason: CloseReason) {
    ///         assert_eq!(reason, CloseReason::Aborted);
    ///         ctx.stop();
    ///     }
    /// }
    ///
    /// let mut reactor = Reactor::builder().lines().build()?;
    /// let addr = reactor.listen("127.0.0.1:0")?;
    /// let mut peer = std::net::TcpStream::connect(addr)?;
    /// peer.write_all(b"x\n")?;
    /// peer.shutdown(Shutdown::Write)?;
    /// reactor.run(&mut H)?;
    /// let mut reply = Vec::new();
    /// let _ = peer.read_to_end(&mut reply); // an abort resets: nothing arrives
    /// assert!(reply.is_empty());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::UnknownConnection`] / [`Error::ConnectionClosed`].
    pub fn abort(&mut self, conn: ConnId) -> Result<(), Error> {
        self.core.abort(conn, CloseReason::Aborted)
    }

    /// Closes `conn` because a message it sent is not acceptable; the
    /// handler sees [`CloseReason::Malformed`] with `why`.
    ///
    /// ```
    /// use std::io::{Read, Write};
    /// use std::net::Shutdown;
    /// use frameloop::{CloseReason, ConnId, Ctx, Handler, Reactor};
    ///
    /// struct H;
    /// impl Handler for H {
    ///     fn on_frame(&mut self, ctx: &mut Ctx<'_>, conn: ConnId, line: &[u8]) {
    ///         if std::str::from_utf8(line).is_err() {
    ///             let _ = ctx.reject(conn, "not UTF-8");
    ///         }
    ///     }
    ///     fn on_close(&mut self, ctx: &mut Ctx<'_>, _: ConnId, reason: CloseReason) {
    ///         assert_eq!(reason, CloseReason::Malformed("not UTF-8"));
    ///         assert!(reason.is_peer_fault());
    ///         ctx.stop();
    ///     }
    /// }
    ///
    /// let mut reactor = Reactor::builder().lines().build()?;
    /// let addr = reactor.listen("127.0.0.1:0")?;
    /// let mut peer = std::net::TcpStream::connect(addr)?;
    /// peer.write_all(b"\xff\xfe\n")?;
    /// peer.shutdown(Shutdown::Write)?;
    /// reactor.run(&mut H)?;
    /// let mut reply = Vec::new();
    /// let _ = peer.read_to_end(&mut reply); // an abort resets: nothing arrives
    /// assert!(reply.is_empty());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::UnknownConnection`] / [`Error::ConnectionClosed`].
    pub fn reject(&mut self, conn: ConnId, why: &'static str) -> Result<(), Error> {
        self.core.abort(conn, CloseReason::Malformed(why))
    }

    /// The connections that are open (those held open after their peer
    /// half-closed included), in no particular order: this reactor's, in a
    /// group.
    ///
    /// ```
    /// use std::io::{Read, Write};
    /// use std::net::Shutdown;
    /// use frameloop::{CloseReason, ConnId, Ctx, Handler, Reactor};
    ///
    /// /// Closes every connection when any of them says so.
    /// struct Everyone;
    /// impl Handler for Everyone {
    ///     fn on_frame(&mut self, ctx: &mut Ctx<'_>, conn: ConnId, _: &[u8]) {
    ///         let all: Vec<ConnId> = ctx.connections().collect(); // collect first: closing needs `ctx`
    ///         assert_eq!(all, [conn]);
    ///         for c in all {
    ///             let _ = ctx.close(c);
    ///         }
    ///     }
    ///     fn on_close(&mut self, ctx: &mut Ctx<'_>, _: ConnId, _: CloseReason) {
    ///         ctx.stop();
    ///     }
    /// }
    ///
    /// let mut reactor = Reactor::builder().lines().build()?;
    /// let addr = reactor.listen("127.0.0.1:0")?;
    /// let mut peer = std::net::TcpStream::connect(addr)?;
    /// peer.write_all(b"closing time\n")?;
    /// peer.shutdown(Shutdown::Write)?;
    /// reactor.run(&mut Everyone)?;
    /// let mut reply = Vec::new();
    /// peer.read_to_end(&mut reply)?;
    /// assert!(reply.is_empty());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn connections(&self) -> impl Iterator<Item = ConnId> + '_ {
        self.core.conns.iter().filter(|(_, c)| c.is_live()).map(|(k, _)| self.core.id_of(k))
    }

    /// How many connections are open (held half-closed ones included): this
    /// reactor's, in a group.
    ///
    /// ```
    /// use std::io::Read;
    /// use std::net::Shutdown;
    /// use frameloop::{CloseReason, ConnId, Ctx, Handler, Reactor};
    ///
    /// /// Tells each newcomer how many are online, this one included.
    /// struct Census;
    /// impl Handler for Census {
    ///     fn on_open(&mut self, ctx: &mut Ctx<'_>, conn: ConnId) {
    ///         let online = ctx.connection_count();
    ///         let _ = ctx.send(conn, format!("{online} online").as_bytes());
    ///         let _ = ctx.close(conn);
    ///     }
    ///     fn on_frame(&mut self, _: &mut Ctx<'_>, _: ConnId, _: &[u8]) {}
    ///     fn on_close(&mut self, ctx: &mut Ctx<'_>, _: ConnId, _: CloseReason) {
    ///         ctx.stop();
    ///     }
    /// }
    ///
    /// let mut reactor = Reactor::builder().lines().build()?;
    /// let addr = reactor.listen("127.0.0.1:0")?;
    /// let mut peer = std::net::TcpStream::connect(addr)?;
    /// peer.shutdown(Shutdown::Write)?;
    /// reactor.run(&mut Census)?;
    /// let mut reply = Vec::new();
    /// peer.read_to_end(&mut reply)?;
    /// assert_eq!(reply, b"1 online\n");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn connection_count(&self) -> usize {
        self.core.conns.iter().filter(|(_, c)| c.is_live()).count()
    }

    /// Whether `conn` is open (neither closing nor closed).
    ///
    /// ```
    /// use std::io::Write;
    /// use std::net::Shutdown;
    /// use frameloop::{CloseReason, ConnId, Ctx, Handler, Reactor};
    ///
    /// struct Seen(Vec<bool>);
    /// impl Handler for Seen {
    ///     fn on_frame(&mut self, ctx: &mut Ctx<'_>, conn: ConnId, _: &[u8]) {
    ///         self.0.push(ctx.is_open(conn));
    ///     }
    ///     fn on_close(&mut self, ctx: &mut Ctx<'_>, conn: ConnId, _: CloseReason) {
    ///         self.0.push(ctx.is_open(conn)); // the id still answers, but it is not open
    ///         ctx.stop();
    ///     }
    /// }
    ///
    /// let mut reactor = Reactor::builder().lines().build()?;
    /// let addr = reactor.listen("127.0.0.1:0")?;
    /// let mut peer = std::net::TcpStream::connect(addr)?;
    /// peer.write_all(b"hi\n")?;
    /// peer.shutdown(Shutdown::Write)?;
    /// let mut seen = Seen(Vec::new());
    /// reactor.run(&mut seen)?;
    /// assert_eq!(seen.0, [true, false]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn is_open(&self, conn: ConnId) -> bool {
        self.core.is_open(conn)
    }

    /// The address of the peer of `conn`.
    ///
    /// ```
    /// use std::io::{Read, Write};
    /// use std::net::Shutdown;
    /// use frameloop::{CloseReason, ConnId, Ctx, Handler, Reactor};
    ///
    /// struct H;
    /// impl Handler for H {
    ///     fn on_frame(&mut self, ctx: &mut Ctx<'_>, conn: ConnId, _: &[u8]) {
    ///         let addr = ctx.peer_addr(conn).unwrap().tcp().unwrap();
    ///         assert!(addr.ip().is_loopback());
    ///         let _ = ctx.send(conn, addr.ip().to_string().as_bytes());
    ///     }
    ///     fn on_close(&mut self, ctx: &mut Ctx<'_>, _: ConnId, _: CloseReason) {
    ///         ctx.stop();
    ///     }
    /// }
    ///
    /// let mut reactor = Reactor::builder().lines().build()?;
    /// let addr = reactor.listen("127.0.0.1:0")?;
    /// let mut peer = std::net::TcpStream::connect(addr)?;
    /// peer.write_all(b"who am i\n")?;
    /// peer.shutdown(Shutdown::Write)?;
    /// reactor.run(&mut H)?;
    /// let mut reply = Vec::new();
    /// peer.read_to_end(&mut reply)?;
    /// assert_eq!(reply, b"127.0.0.1\n");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::UnknownConnection`], or [`Error::Io`] if the system cannot
    /// tell.
    #[inline]
    pub fn peer_addr(&self, conn: ConnId) -> Result<Addr, Error> {
        // The address recorded at accept, inline; asking the system (built
        // only when missing: built and dropped each time it cost the polling
        // echo 15 instructions a message) out of line. As one call, the
        // facade's polling echo paid 45 instructions a message for it.
        match self.core.get(conn).map(|c| &c.peer) {
            Some(Some(addr)) => Ok(addr.clone()),
            _ => self.ask_peer_addr(conn),
        }
    }

    #[cold]
    fn ask_peer_addr(&self, conn: ConnId) -> Result<Addr, Error> {
        let Some(c) = self.core.get(conn) else { return Err(Error::UnknownConnection(conn)) };
        Ok(c.stream.peer_addr()?)
    }

    /// Who the peer of `conn` is, for a Unix socket: its user, group and
    /// process, as the kernel saw them when it connected (see
    /// [`PeerCredentials`](crate::PeerCredentials), whose example uses this).
    ///
    /// # Errors
    ///
    /// [`Error::UnknownConnection`], or [`Error::Io`] of kind `Unsupported`
    /// for a TCP connection, or on a system that does not keep them.
    pub fn peer_credentials(&self, conn: ConnId) -> Result<crate::PeerCredentials, Error> {
        Ok(self.core.live(conn)?.stream.peer_credentials()?)
    }

    /// What the TLS handshake of `conn` agreed (the name the client asked
    /// for, the ALPN protocol, the version, whether the peer showed a
    /// certificate); `None` for a connection without TLS.
    ///
    /// ```no_run
    /// use frameloop::{ConnId, Ctx, Handler};
    ///
    /// struct ByName;
    /// impl Handler for ByName {
    ///     fn on_open(&mut self, ctx: &mut Ctx<'_>, conn: ConnId) {
    ///         let name = ctx.tls(conn).and_then(|tls| tls.server_name);
    ///         let _ = ctx.send(conn, format!("you asked for {name:?}").as_bytes());
    ///     }
    ///     fn on_frame(&mut self, _: &mut Ctx<'_>, _: ConnId, _: &[u8]) {}
    /// }
    /// # let _ = ByName;
    /// ```
    #[cfg(feature = "tls")]
    pub fn tls(&self, conn: ConnId) -> Option<crate::tls::TlsInfo> {
        self.core.get(conn)?.stream.tls_info()
    }

    /// Bytes queued for `conn` and not yet written.
    ///
    /// ```
    /// use std::io::{Read, Write};
    /// use std::net::Shutdown;
    /// use frameloop::{CloseReason, ConnId, Ctx, Handler, Reactor};
    ///
    /// struct Queued(usize);
    /// impl Handler for Queued {
    ///     fn on_frame(&mut self, ctx: &mut Ctx<'_>, conn: ConnId, line: &[u8]) {
    ///         let _ = ctx.send(conn, line);
    ///         self.0 = ctx.queued(conn).unwrap(); // the line and its `\n`: written after the callback
    ///     }
    ///     fn on_close(&mut self, ctx: &mut Ctx<'_>, _: ConnId, _: CloseReason) {
    ///         ctx.stop();
    ///     }
    /// }
    ///
    /// let mut reactor = Reactor::builder().lines().build()?;
    /// let addr = reactor.listen("127.0.0.1:0")?;
    /// let mut peer = std::net::TcpStream::connect(addr)?;
    /// peer.write_all(b"ping\n")?;
    /// peer.shutdown(Shutdown::Write)?;
    /// let mut queued = Queued(0);
    /// reactor.run(&mut queued)?;
    /// assert_eq!(queued.0, 5);
    /// let mut reply = Vec::new();
    /// peer.read_to_end(&mut reply)?;
    /// assert_eq!(reply, b"ping\n");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::UnknownConnection`] / [`Error::ConnectionClosed`].
    pub fn queued(&self, conn: ConnId) -> Result<usize, Error> {
        Ok(self.core.live(conn)?.queued())
    }

    /// Stops reading `conn` until [`resume_reading`](Self::resume_reading):
    /// flow control for a handler that cannot take more from it yet (its
    /// messages go to a queue that is full, say). Nothing more is read from
    /// the socket, so the kernel's receive buffer fills and TCP makes the
    /// peer wait; messages that had already been read (the rest of the
    /// current read, when called from `on_frame`) are held and handed over,
    /// in order, before anything newer once reading resumes. Sending to
    /// `conn` goes on as usual.
    ///
    /// While paused, neither the idle timeout nor the message deadline runs
    /// against `conn`: the wait is this side's. Pausing twice is the same
    /// as once. A graceful stop does not wait for paused connections.
    ///
    /// ```
    /// use std::io::Write;
    /// use std::time::Duration;
    /// use frameloop::{ConnId, Ctx, Handler, Reactor, TimerId};
    ///
    /// /// Takes at most one message per connection every 10 ms, however
    /// /// fast they come: the rest wait, in order, and then wait in TCP.
    /// struct Paced {
    ///     waiting: Vec<(TimerId, ConnId)>,
    ///     seen: Vec<u8>,
    /// }
    /// impl Handler for Paced {
    ///     fn on_frame(&mut self, ctx: &mut Ctx<'_>, conn: ConnId, frame: &[u8]) {
    ///         self.seen.extend_from_slice(frame);
    ///         if self.seen.len() == 3 {
    ///             return ctx.stop();
    ///         }
    ///         let _ = ctx.pause_reading(conn); // the rest of this read waits too
    ///         self.waiting.push((ctx.set_timer(Duration::from_millis(10)), conn));
    ///     }
    ///     fn on_timer(&mut self, ctx: &mut Ctx<'_>, timer: TimerId) {
    ///         if let Some(i) = self.waiting.iter().position(|&(t, _)| t == timer) {
    ///             let _ = ctx.resume_reading(self.waiting.swap_remove(i).1);
    ///         }
    ///     }
    /// }
    ///
    /// let mut reactor = Reactor::new()?;
    /// let addr = reactor.listen("127.0.0.1:0")?;
    /// let mut peer = std::net::TcpStream::connect(addr)?;
    /// peer.write_all(b"\0\0\0\x01a\0\0\0\x01b\0\0\0\x01c")?; // three frames, one write
    /// let mut paced = Paced { waiting: Vec::new(), seen: Vec::new() };
    /// reactor.run(&mut paced)?; // returns after the third message
    /// assert_eq!(paced.seen, b"abc");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::UnknownConnection`] / [`Error::ConnectionClosed`].
    pub fn pause_reading(&mut self, conn: ConnId) -> Result<(), Error> {
        self.core.pause_reading(conn)
    }

    /// Reads `conn` again after [`pause_reading`](Self::pause_reading):
    /// the messages held back are handed over first, on the next loop turn.
    /// Its idle timeout and message deadline start afresh. Resuming a
    /// connection that is not paused does nothing.
    ///
    /// ```
    /// use std::io::Write;
    /// use std::time::Duration;
    /// use frameloop::{ConnId, Ctx, Handler, Reactor, TimerId};
    ///
    /// /// Holds back what follows the first message for 5 ms.
    /// struct Hold(Option<ConnId>, Vec<Vec<u8>>);
    /// impl Handler for Hold {
    ///     fn on_frame(&mut self, ctx: &mut Ctx<'_>, conn: ConnId, line: &[u8]) {
    ///         self.1.push(line.to_vec());
    ///         if self.1.len() == 2 {
    ///             return ctx.stop();
    ///         }
    ///         let _ = ctx.pause_reading(conn); // "b" waits
    ///         let _ = ctx.set_timer(Duration::from_millis(5));
    ///         self.0 = Some(conn);
    ///     }
    ///     fn on_timer(&mut self, ctx: &mut Ctx<'_>, _: TimerId) {
    ///         if let Some(conn) = self.0.take() {
    ///             ctx.resume_reading(conn).unwrap(); // "b" comes on the next turn
    ///         }
    ///     }
    /// }
    ///
    /// let mut reactor = Reactor::builder().lines().build()?;
    /// let addr = reactor.listen("127.0.0.1:0")?;
    /// std::net::TcpStream::connect(addr)?.write_all(b"a\nb\n")?;
    /// let mut hold = Hold(None, Vec::new());
    /// reactor.run(&mut hold)?;
    /// assert_eq!(hold.1, [b"a".to_vec(), b"b".to_vec()]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::UnknownConnection`] / [`Error::ConnectionClosed`].
    pub fn resume_reading(&mut self, conn: ConnId) -> Result<(), Error> {
        self.core.resume_reading(conn)
    }

    /// Whether the handler paused reading `conn` (`false` once it is gone).
    ///
    /// ```
    /// use std::io::Write;
    /// use frameloop::{ConnId, Ctx, Handler, Reactor};
    ///
    /// struct Paused(Vec<bool>);
    /// impl Handler for Paused {
    ///     fn on_frame(&mut self, ctx: &mut Ctx<'_>, conn: ConnId, _: &[u8]) {
    ///         self.0.push(ctx.is_reading_paused(conn));
    ///         let _ = ctx.pause_reading(conn);
    ///         self.0.push(ctx.is_reading_paused(conn));
    ///         ctx.stop();
    ///     }
    /// }
    ///
    /// let mut reactor = Reactor::builder().lines().build()?;
    /// let addr = reactor.listen("127.0.0.1:0")?;
    /// std::net::TcpStream::connect(addr)?.write_all(b"wait\n")?;
    /// let mut paused = Paused(Vec::new());
    /// reactor.run(&mut paused)?;
    /// assert_eq!(paused.0, [false, true]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn is_reading_paused(&self, conn: ConnId) -> bool {
        self.core.get(conn).is_some_and(|c| c.read_paused)
    }

    /// Calls [`Handler::on_timer`](crate::Handler::on_timer) once, after
    /// `after`.
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// use frameloop::{ConnId, Ctx, Handler, Reactor, TimerId};
    ///
    /// /// Stops 5 ms after the loop starts.
    /// struct Alarm(Option<TimerId>);
    /// impl Handler for Alarm {
    ///     fn on_frame(&mut self, _: &mut Ctx<'_>, _: ConnId, _: &[u8]) {}
    ///     fn on_wake(&mut self, ctx: &mut Ctx<'_>) {
    ///         self.0 = Some(ctx.set_timer(Duration::from_millis(5)));
    ///     }
    ///     fn on_timer(&mut self, ctx: &mut Ctx<'_>, timer: TimerId) {
    ///         assert_eq!(Some(timer), self.0); // the id `set_timer` returned
    ///         ctx.stop();
    ///     }
    /// }
    ///
    /// let mut reactor = Reactor::new()?;
    /// let started = Instant::now();
    /// reactor.notifier().notify()?;
    /// reactor.run(&mut Alarm(None))?;
    /// assert!(started.elapsed() >= Duration::from_millis(5)); // never early
    /// # Ok::<(), frameloop::Error>(())
    /// ```
    pub fn set_timer(&mut self, after: Duration) -> TimerId {
        let at = self.core.now + after.min(super::builder::FOREVER);
        self.core.timers.insert_user(at)
    }

    /// Cancels a timer; `false` if it already fired or was cancelled.
    ///
    /// ```
    /// use std::io::Write;
    /// use std::time::Duration;
    /// use frameloop::{ConnId, Ctx, Handler, Reactor, TimerId};
    ///
    /// /// Gives a connection 5 s to say something; the deadline goes once it has.
    /// #[derive(Default)]
    /// struct Deadline {
    ///     timer: Option<(TimerId, ConnId)>,
    ///     cancelled: Vec<bool>,
    /// }
    /// impl Handler for Deadline {
    ///     fn on_open(&mut self, ctx: &mut Ctx<'_>, conn: ConnId) {
    ///         self.timer = Some((ctx.set_timer(Duration::from_secs(5)), conn));
    ///     }
    ///     fn on_frame(&mut self, ctx: &mut Ctx<'_>, _: ConnId, _: &[u8]) {
    ///         if let Some((timer, _)) = self.timer {
    ///             self.cancelled.push(ctx.cancel_timer(timer));
    ///             self.cancelled.push(ctx.cancel_timer(timer)); // cancelled already
    ///         }
    ///         ctx.stop();
    ///     }
    ///     fn on_timer(&mut self, ctx: &mut Ctx<'_>, _: TimerId) {
    ///         if let Some((_, conn)) = self.timer {
    ///             let _ = ctx.close(conn); // silent for too long
    ///         }
    ///     }
    /// }
    ///
    /// let mut reactor = Reactor::builder().lines().build()?;
    /// let addr = reactor.listen("127.0.0.1:0")?;
    /// std::net::TcpStream::connect(addr)?.write_all(b"here\n")?;
    /// let mut deadline = Deadline::default();
    /// reactor.run(&mut deadline)?;
    /// assert_eq!(deadline.cancelled, [true, false]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn cancel_timer(&mut self, timer: TimerId) -> bool {
        self.core.timers.cancel_user(timer)
    }

    /// Stops accepting new connections (they wait in the system's backlog)
    /// until [`resume_accept`](Self::resume_accept).
    ///
    /// ```
    /// use std::io::{Read, Write};
    /// use std::net::{Shutdown, TcpStream};
    /// use frameloop::{CloseReason, ConnId, Ctx, Handler, Reactor};
    ///
    /// /// Serves one connection at a time: the next waits in the backlog.
    /// #[derive(Default)]
    /// struct OneAtATime {
    ///     most_open: usize,
    ///     served: usize,
    /// }
    /// impl Handler for OneAtATime {
    ///     fn on_open(&mut self, ctx: &mut Ctx<'_>, _: ConnId) {
    ///         ctx.pause_accept();
    ///     }
    ///     fn on_frame(&mut self, ctx: &mut Ctx<'_>, conn: ConnId, line: &[u8]) {
    ///         self.most_open = self.most_open.max(ctx.connection_count());
    ///         let _ = ctx.send(conn, line);
    ///         let _ = ctx.close(conn);
    ///     }
    ///     fn on_close(&mut self, ctx: &mut Ctx<'_>, _: ConnId, _: CloseReason) {
    ///         self.served += 1;
    ///         if self.served == 2 {
    ///             ctx.stop();
    ///         } else {
    ///             ctx.resume_accept(); // the next one, please
    ///         }
    ///     }
    /// }
    ///
    /// let mut reactor = Reactor::builder().lines().build()?;
    /// let addr = reactor.listen("127.0.0.1:0")?;
    /// let mut peers = Vec::new();
    /// for name in ["a", "b"] {
    ///     let mut peer = TcpStream::connect(&addr)?;
    ///     peer.write_all(format!("{name}\n").as_bytes())?;
    ///     peer.shutdown(Shutdown::Write)?;
    ///     peers.push(peer);
    /// }
    /// let mut server = OneAtATime::default();
    /// reactor.run(&mut server)?;
    /// assert_eq!((server.most_open, server.served), (1, 2));
    /// for (mut peer, want) in peers.into_iter().zip([b"a\n", b"b\n"]) {
    ///     let mut reply = Vec::new();
    ///     peer.read_to_end(&mut reply)?;
    ///     assert_eq!(reply, want);
    /// }
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn pause_accept(&mut self) {
        self.core.accept_paused = true;
    }

    /// Accepts new connections again.
    ///
    /// ```
    /// use std::net::TcpStream;
    /// use std::time::{Duration, Instant};
    /// use frameloop::{ConnId, Ctx, Handler, Reactor, TimerId};
    ///
    /// /// Accepts at most one connection every 5 ms: the others wait in the backlog.
    /// struct Paced(Vec<Instant>);
    /// impl Handler for Paced {
    ///     fn on_open(&mut self, ctx: &mut Ctx<'_>, _: ConnId) {
    ///         self.0.push(ctx.now());
    ///         ctx.pause_accept();
    ///         if self.0.len() == 2 {
    ///             ctx.stop();
    ///         } else {
    ///             let _ = ctx.set_timer(Duration::from_millis(5));
    ///         }
    ///     }
    ///     fn on_frame(&mut self, _: &mut Ctx<'_>, _: ConnId, _: &[u8]) {}
    ///     fn on_timer(&mut self, ctx: &mut Ctx<'_>, _: TimerId) {
    ///         ctx.resume_accept();
    ///     }
    /// }
    ///
    /// let mut reactor = Reactor::new()?;
    /// let addr = reactor.listen("127.0.0.1:0")?;
    /// for _ in 0..2 {
    ///     drop(TcpStream::connect(&addr)?); // both wait in the backlog, then leave
    /// }
    /// let mut paced = Paced(Vec::new());
    /// reactor.run(&mut paced)?;
    /// assert!(paced.0[1] - paced.0[0] >= Duration::from_millis(5));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn resume_accept(&mut self) {
        if self.core.accept_paused {
            self.core.accept_paused = false;
            // Edge-triggered: connections that arrived while paused raised
            // no new event, so look for them now.
            let keys: Vec<usize> = self.core.listeners.iter().map(|(k, _)| k).collect();
            self.core.accept_more.extend(keys);
        }
    }

    /// Opens an outgoing connection; the handler hears
    /// [`on_open`](crate::Handler::on_open) when it is established, or
    /// [`on_close`](crate::Handler::on_close) with
    /// [`CloseReason::ConnectFailed`]. Messages sent before it is established
    /// wait in its write buffer.
    ///
    /// ```
    /// use std::io::Read;
    /// use std::net::{SocketAddr, TcpListener};
    /// use frameloop::{CloseReason, ConnId, Ctx, Handler, Reactor};
    ///
    /// /// Once the loop runs, connects, says hello and leaves.
    /// struct Caller(SocketAddr);
    /// impl Handler for Caller {
    ///     fn on_wake(&mut self, ctx: &mut Ctx<'_>) {
    ///         let conn = ctx.connect(self.0).unwrap();
    ///         let _ = ctx.send(conn, b"hi"); // waits until the connection is established
    ///     }
    ///     fn on_open(&mut self, ctx: &mut Ctx<'_>, conn: ConnId) {
    ///         let _ = ctx.close(conn); // after "hi"
    ///     }
    ///     fn on_frame(&mut self, _: &mut Ctx<'_>, _: ConnId, _: &[u8]) {}
    ///     fn on_close(&mut self, ctx: &mut Ctx<'_>, _: ConnId, reason: CloseReason) {
    ///         assert_eq!(reason, CloseReason::ClosedLocally);
    ///         ctx.stop();
    ///     }
    /// }
    ///
    /// let server = TcpListener::bind("127.0.0.1:0")?;
    /// let addr = server.local_addr()?;
    /// let peer = std::thread::spawn(move || -> std::io::Result<Vec<u8>> {
    ///     let mut got = Vec::new();
    ///     server.accept()?.0.read_to_end(&mut got)?;
    ///     Ok(got)
    /// });
    /// let mut reactor = Reactor::new()?;
    /// reactor.notifier().notify()?;
    /// reactor.run(&mut Caller(addr))?;
    /// assert_eq!(peer.join().unwrap()?, b"\0\0\0\x02hi");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::InvalidAddress`], [`Error::NoLocalPort`] (no local port
    /// left to connect from) and others when the connect cannot even start.
    pub fn connect<A: ToAddrs>(&mut self, addr: A) -> Result<ConnId, Error> {
        self.core.connect(&first_addr(&addr)?, None)
    }

    /// Takes over a connected standard-library stream (for example one
    /// connected with a timeout on another thread). The handler does not hear
    /// `on_open` for it: the caller knows.
    ///
    /// ```
    /// use std::io::Read;
    /// use std::net::{Shutdown, TcpListener, TcpStream};
    /// use std::sync::mpsc;
    /// use frameloop::{CloseReason, ConnId, Ctx, Handler, Reactor};
    ///
    /// /// Takes over the streams it is handed, greets each and closes it.
    /// struct Adopter(mpsc::Receiver<TcpStream>);
    /// impl Handler for Adopter {
    ///     fn on_open(&mut self, _: &mut Ctx<'_>, _: ConnId) {
    ///         unreachable!("an adopted stream has no on_open");
    ///     }
    ///     fn on_frame(&mut self, _: &mut Ctx<'_>, _: ConnId, _: &[u8]) {}
    ///     fn on_wake(&mut self, ctx: &mut Ctx<'_>) {
    ///         for stream in self.0.try_iter() {
    ///             let conn = ctx.adopt(stream).unwrap();
    ///             let _ = ctx.send(conn, b"adopted");
    ///             let _ = ctx.close(conn);
    ///         }
    ///     }
    ///     fn on_close(&mut self, ctx: &mut Ctx<'_>, _: ConnId, _: CloseReason) {
    ///         ctx.stop();
    ///     }
    /// }
    ///
    /// let listener = TcpListener::bind("127.0.0.1:0")?;
    /// let mut reactor = Reactor::new()?;
    /// let (tx, rx) = mpsc::channel();
    /// tx.send(TcpStream::connect(listener.local_addr()?)?).unwrap(); // from another thread, say
    /// reactor.notifier().notify()?;
    /// let (mut peer, _) = listener.accept()?;
    /// peer.shutdown(Shutdown::Write)?;
    /// reactor.run(&mut Adopter(rx))?;
    /// let mut got = Vec::new();
    /// peer.read_to_end(&mut got)?;
    /// assert_eq!(got, b"\0\0\0\x07adopted");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Io`] if it cannot be registered, [`Error::Stopped`] while
    /// stopping.
    pub fn adopt(&mut self, stream: std::net::TcpStream) -> Result<ConnId, Error> {
        self.core.adopt(super::Blocking::Tcp(stream), None)
    }

    /// Starts an outgoing connection that speaks `tls`, if any (the
    /// facade's client reconnecting).
    pub(crate) fn connect_with(&mut self, addr: &Addr, tls: super::ClientTls<'_>) -> Result<ConnId, Error> {
        self.core.connect(addr, tls)
    }

    /// Whether the handler has heard `on_open` of `conn`: not for a TLS
    /// connection whose handshake never completed (its `on_close` is the
    /// only callback it gets).
    pub(crate) fn was_opened(&self, conn: ConnId) -> bool {
        self.core.get(conn).is_some_and(|c| !c.stream.awaiting_open())
    }

    /// Takes over a connected socket of either kind (the facade's client,
    /// which connects on the program's thread).
    pub(crate) fn adopt_blocking(
        &mut self,
        stream: super::Blocking,
        tls: super::ClientTls<'_>,
    ) -> Result<ConnId, Error> {
        self.core.adopt(stream, tls)
    }

    /// Listens on one more address; returns the address bound (useful with
    /// port 0).
    ///
    /// ```
    /// use frameloop::{ConnId, Ctx, Handler, Reactor};
    ///
    /// /// Opens a port once running, and connects to it to try it.
    /// struct Opener(usize);
    /// impl Handler for Opener {
    ///     fn on_wake(&mut self, ctx: &mut Ctx<'_>) {
    ///         let addr = ctx.listen("127.0.0.1:0").unwrap(); // port 0: the system picks one
    ///         assert_ne!(addr.tcp().unwrap().port(), 0);
    ///         let _ = ctx.connect(addr);
    ///     }
    ///     fn on_open(&mut self, ctx: &mut Ctx<'_>, _: ConnId) {
    ///         self.0 += 1; // both ends: the one connected and the one accepted
    ///         if self.0 == 2 {
    ///             ctx.stop();
    ///         }
    ///     }
    ///     fn on_frame(&mut self, _: &mut Ctx<'_>, _: ConnId, _: &[u8]) {}
    /// }
    ///
    /// let mut reactor = Reactor::new()?;
    /// reactor.notifier().notify()?;
    /// let mut opener = Opener(0);
    /// reactor.run(&mut opener)?;
    /// assert_eq!(opener.0, 2);
    /// # Ok::<(), frameloop::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::AddrInUse`] (another socket listens there),
    /// [`Error::AddrNotAvailable`] (not an address of this machine),
    /// [`Error::PrivilegedPort`] (a port below 1024 without root),
    /// [`Error::InvalidAddress`] (malformed, or the host cannot be
    /// resolved), [`Error::Io`].
    pub fn listen<A: ToAddrs>(&mut self, addr: A) -> Result<Addr, Error> {
        self.core.listen(&first_addr(&addr)?, None)
    }

    /// The addresses this reactor listens on.
    ///
    /// ```
    /// use frameloop::{Addr, ConnId, Ctx, Handler, Reactor};
    ///
    /// struct Where(Vec<Addr>);
    /// impl Handler for Where {
    ///     fn on_frame(&mut self, _: &mut Ctx<'_>, _: ConnId, _: &[u8]) {}
    ///     fn on_wake(&mut self, ctx: &mut Ctx<'_>) {
    ///         self.0 = ctx.local_addrs();
    ///         ctx.stop();
    ///     }
    /// }
    ///
    /// let mut reactor = Reactor::new()?;
    /// let addr = reactor.listen("127.0.0.1:0")?;
    /// reactor.notifier().notify()?;
    /// let mut here = Where(Vec::new());
    /// reactor.run(&mut here)?;
    /// assert_eq!(here.0, [addr]);
    /// # Ok::<(), frameloop::Error>(())
    /// ```
    pub fn local_addrs(&self) -> Vec<Addr> {
        self.core.listeners.iter().map(|(_, l)| l.addr.clone()).collect()
    }

    /// Stops gracefully: listeners close, every connection's queued output
    /// is written (for at most the shutdown timeout), every connection
    /// closes with [`CloseReason::Shutdown`], and
    /// [`Reactor::run`](crate::Reactor::run) returns.
    ///
    /// ```
    /// use std::io::{Read, Write};
    /// use std::net::Shutdown;
    /// use frameloop::{ConnId, Ctx, Handler, Reactor};
    ///
    /// struct H;
    /// impl Handler for H {
    ///     fn on_frame(&mut self, ctx: &mut Ctx<'_>, conn: ConnId, _: &[u8]) {
    ///         let _ = ctx.send(conn, b"stopping");
    ///         ctx.stop(); // the reply is still written: the stop is graceful
    ///         assert!(ctx.is_stopping());
    ///     }
    /// }
    ///
    /// let mut reactor = Reactor::builder().lines().build()?;
    /// let addr = reactor.listen("127.0.0.1:0")?;
    /// let mut peer = std::net::TcpStream::connect(addr)?;
    /// peer.write_all(b"stop\n")?;
    /// peer.shutdown(Shutdown::Write)?;
    /// reactor.run(&mut H)?;
    /// let mut reply = Vec::new();
    /// peer.read_to_end(&mut reply)?;
    /// assert_eq!(reply, b"stopping\n");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn stop(&mut self) {
        self.core.stop_requested = true;
    }

    /// Whether a stop has been asked for.
    ///
    /// ```
    /// use frameloop::{ConnId, Ctx, Handler, Reactor};
    ///
    /// struct Stopper(Vec<bool>);
    /// impl Handler for Stopper {
    ///     fn on_frame(&mut self, _: &mut Ctx<'_>, _: ConnId, _: &[u8]) {}
    ///     fn on_wake(&mut self, ctx: &mut Ctx<'_>) {
    ///         self.0.push(ctx.is_stopping());
    ///         ctx.stop();
    ///         self.0.push(ctx.is_stopping()); // asked for; run returns after this turn
    ///     }
    /// }
    ///
    /// let mut reactor = Reactor::new()?;
    /// reactor.notifier().notify()?;
    /// let mut stopper = Stopper(Vec::new());
    /// reactor.run(&mut stopper)?;
    /// assert_eq!(stopper.0, [false, true]);
    /// # Ok::<(), frameloop::Error>(())
    /// ```
    pub fn is_stopping(&self) -> bool {
        self.core.stop_requested || self.core.stopping
    }

    /// The reactor's counters.
    ///
    /// ```
    /// use std::io::Write;
    /// use frameloop::{ConnId, Ctx, Handler, Reactor, Stats};
    ///
    /// struct Counts(Option<Stats>);
    /// impl Handler for Counts {
    ///     fn on_frame(&mut self, ctx: &mut Ctx<'_>, _: ConnId, _: &[u8]) {
    ///         self.0 = Some(ctx.stats()); // a copy: this message is counted already
    ///         ctx.stop();
    ///     }
    /// }
    ///
    /// let mut reactor = Reactor::new()?;
    /// let addr = reactor.listen("127.0.0.1:0")?;
    /// std::net::TcpStream::connect(addr)?.write_all(b"\0\0\0\x02hi")?;
    /// let mut counts = Counts(None);
    /// reactor.run(&mut counts)?;
    /// let stats = counts.0.unwrap();
    /// assert_eq!((stats.accepted, stats.frames_in, stats.bytes_in), (1, 1, 6));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn stats(&self) -> Stats {
        self.core.stats
    }

    /// The time the current loop turn started (cheaper than
    /// `Instant::now()`, and what the reactor's own deadlines use).
    ///
    /// ```
    /// use std::io::Write;
    /// use std::time::Instant;
    /// use frameloop::{ConnId, Ctx, Handler, Reactor};
    ///
    /// /// Notes when the message was heard.
    /// struct Heard(Option<Instant>);
    /// impl Handler for Heard {
    ///     fn on_frame(&mut self, ctx: &mut Ctx<'_>, _: ConnId, _: &[u8]) {
    ///         self.0 = Some(ctx.now()); // no system call
    ///         ctx.stop();
    ///     }
    /// }
    ///
    /// let mut reactor = Reactor::new()?;
    /// let addr = reactor.listen("127.0.0.1:0")?;
    /// let before = Instant::now();
    /// std::net::TcpStream::connect(addr)?.write_all(b"\0\0\0\x02hi")?;
    /// let mut heard = Heard(None);
    /// reactor.run(&mut heard)?;
    /// let at = heard.0.unwrap();
    /// assert!(before <= at && at <= Instant::now());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn now(&self) -> Instant {
        self.core.now
    }
}

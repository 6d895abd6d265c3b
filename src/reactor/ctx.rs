//! [`Ctx`]: what a handler callback may do.

use std::net::{SocketAddr, ToSocketAddrs};
use std::time::{Duration, Instant};

use super::core::Core;
use super::stats::Stats;
use crate::codec::packet::PacketRef;
use crate::error::{resolve, Error};
use crate::handler::{CloseReason, ConnId, TimerId};

/// The handle a [`Handler`](crate::Handler) callback acts through.
///
/// Every method returns at once: sends are queued in the connection's write
/// buffer and written after the callback (one write per connection per loop
/// turn, however many messages were queued), closes take effect after the
/// callback too. Methods that name a connection return
/// [`Error::UnknownConnection`] or [`Error::ConnectionClosed`] when it is
/// gone; they never panic.
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
    /// [`max_frame_len`](crate::Builder::max_frame_len) (which a peer with
    /// the same settings would close the connection for), or a line
    /// containing `\n` or ending in `\r` (see
    /// [`Framing::check_outgoing`](crate::codec::Framing::check_outgoing)).
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
    /// # Errors
    ///
    /// As [`send`](Self::send).
    pub fn send_packet(&mut self, conn: ConnId, packet: PacketRef<'_>) -> Result<(), Error> {
        let fixed = packet.fixed_bytes();
        self.core.send_parts(conn, &[&fixed, packet.text.as_bytes()])
    }

    /// Queues `msg` for every open connection; returns how many.
    pub fn broadcast(&mut self, msg: &[u8]) -> usize {
        self.core.broadcast(&[msg], None)
    }

    /// Queues `msg` for every open connection except `except` (typically
    /// the sender); returns how many.
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
    /// [`Error::UnknownConnection`] / [`Error::ConnectionClosed`].
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

    /// The connections that are open, in no particular order.
    pub fn connections(&self) -> impl Iterator<Item = ConnId> + '_ {
        self.core.conns.iter().filter(|(_, c)| c.is_open()).map(|(k, c)| Core::id_of(k, c))
    }

    /// How many connections are open.
    pub fn connection_count(&self) -> usize {
        self.core.conns.iter().filter(|(_, c)| c.is_open()).count()
    }

    /// Whether `conn` is open (neither closing nor closed).
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
    ///         let addr = ctx.peer_addr(conn).unwrap();
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
    pub fn peer_addr(&self, conn: ConnId) -> Result<SocketAddr, Error> {
        let c = self.core.get(conn).ok_or(Error::UnknownConnection(conn))?;
        match c.peer {
            Some(addr) => Ok(addr),
            None => Ok(c.stream.peer_addr()?),
        }
    }

    /// Bytes queued for `conn` and not yet written.
    ///
    /// # Errors
    ///
    /// [`Error::UnknownConnection`] / [`Error::ConnectionClosed`].
    pub fn queued(&self, conn: ConnId) -> Result<usize, Error> {
        Ok(self.core.live(conn)?.out.len())
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
    /// # Errors
    ///
    /// [`Error::UnknownConnection`] / [`Error::ConnectionClosed`].
    pub fn resume_reading(&mut self, conn: ConnId) -> Result<(), Error> {
        self.core.resume_reading(conn)
    }

    /// Whether the handler paused reading `conn` (`false` once it is gone).
    pub fn is_reading_paused(&self, conn: ConnId) -> bool {
        self.core.get(conn).is_some_and(|c| c.read_paused)
    }

    /// Calls [`Handler::on_timer`](crate::Handler::on_timer) once, after
    /// `after`.
    pub fn set_timer(&mut self, after: Duration) -> TimerId {
        let at = self.core.now + after.min(super::builder::FOREVER);
        self.core.timers.insert_user(at)
    }

    /// Cancels a timer; `false` if it already fired or was cancelled.
    pub fn cancel_timer(&mut self, timer: TimerId) -> bool {
        self.core.timers.cancel_user(timer)
    }

    /// Stops accepting new connections (they wait in the system's backlog)
    /// until [`resume_accept`](Self::resume_accept).
    pub fn pause_accept(&mut self) {
        self.core.accept_paused = true;
    }

    /// Accepts new connections again.
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
    /// # Errors
    ///
    /// [`Error::InvalidAddress`], [`Error::NoLocalPort`] (no local port
    /// left to connect from) and others when the connect cannot even start.
    pub fn connect<A: ToSocketAddrs + std::fmt::Debug>(&mut self, addr: A) -> Result<ConnId, Error> {
        let addr = resolve(addr)?;
        self.core.connect(addr)
    }

    /// Takes over a connected standard-library stream (for example one
    /// connected with a timeout on another thread). The handler does not hear
    /// `on_open` for it: the caller knows.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] if it cannot be registered, [`Error::Stopped`] while
    /// stopping.
    pub fn adopt(&mut self, stream: std::net::TcpStream) -> Result<ConnId, Error> {
        self.core.adopt(stream)
    }

    /// Listens on one more address; returns the address bound (useful with
    /// port 0).
    ///
    /// # Errors
    ///
    /// [`Error::AddrInUse`] (another socket listens there),
    /// [`Error::AddrNotAvailable`] (not an address of this machine),
    /// [`Error::PrivilegedPort`] (a port below 1024 without root),
    /// [`Error::InvalidAddress`] (malformed, or the host cannot be
    /// resolved), [`Error::Io`].
    pub fn listen<A: ToSocketAddrs + std::fmt::Debug>(&mut self, addr: A) -> Result<SocketAddr, Error> {
        let addr = resolve(addr)?;
        self.core.listen(addr)
    }

    /// The addresses this reactor listens on.
    pub fn local_addrs(&self) -> Vec<SocketAddr> {
        self.core.listeners.iter().map(|(_, l)| l.addr).collect()
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
    pub fn is_stopping(&self) -> bool {
        self.core.stop_requested || self.core.stopping
    }

    /// The reactor's counters.
    pub fn stats(&self) -> Stats {
        self.core.stats
    }

    /// The time the current loop turn started (cheaper than
    /// `Instant::now()`, and what the reactor's own deadlines use).
    pub fn now(&self) -> Instant {
        self.core.now
    }
}

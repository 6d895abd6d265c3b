//! What user code sees: the [`Handler`] callbacks, and the small values they
//! receive ([`ConnId`], [`TimerId`], [`CloseReason`]).
//!
//! The handler's callbacks run on the reactor's thread, one at a time. They
//! act on the network only through [`Ctx`], which queues work (bytes to
//! send, connections to close) that the reactor carries out after the
//! callback returns: a callback never blocks on a socket.

use std::fmt;
use std::io;

use crate::codec::DecodeError;
use crate::reactor::Ctx;

/// Identifies one connection of a reactor.
///
/// It is a small `Copy` value: an index and a generation. The generation
/// means an id outlives its connection safely: once the connection is gone,
/// the id refers to nothing (calls with it return
/// [`Error::UnknownConnection`](crate::Error::UnknownConnection)), even after
/// the slot is reused by a new connection.
///
/// ```
/// use std::time::Duration;
/// use std::io::Write;
/// use frameloop::{CloseReason, ConnId, Ctx, Handler, Reactor, TimerId};
///
/// /// Remembers the connection, closes it, then tries it again later.
/// #[derive(Default)]
/// struct Stale {
///     opened: Option<ConnId>,
///     closed: Option<(TimerId, ConnId)>,
/// }
/// impl Handler for Stale {
///     fn on_open(&mut self, _ctx: &mut Ctx<'_>, conn: ConnId) {
///         self.opened = Some(conn);
///     }
///     fn on_frame(&mut self, ctx: &mut Ctx<'_>, conn: ConnId, _frame: &[u8]) {
///         assert_eq!(Some(conn), self.opened); // ids compare: the same connection
///         assert_eq!(conn.to_string(), format!("connection #{}", conn.index()));
///         let _ = ctx.close(conn);
///     }
///     fn on_close(&mut self, ctx: &mut Ctx<'_>, conn: ConnId, _reason: CloseReason) {
///         assert!(ctx.peer_addr(conn).is_ok()); // still valid during on_close
///         self.closed = Some((ctx.set_timer(Duration::from_millis(1)), conn));
///     }
///     fn on_timer(&mut self, ctx: &mut Ctx<'_>, _timer: TimerId) {
///         let (_, gone) = self.closed.unwrap();
///         assert!(!ctx.is_open(gone));
///         assert!(ctx.send(gone, b"late").is_err()); // an error, never a panic
///         ctx.stop();
///     }
/// }
///
/// let mut reactor = Reactor::new()?;
/// let addr = reactor.listen("127.0.0.1:0")?;
/// std::net::TcpStream::connect(addr)?.write_all(b"\0\0\0\x02hi")?;
/// reactor.run(&mut Stale::default())?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnId {
    pub(crate) index: u32,
    pub(crate) generation: u32,
    /// The reactor the connection belongs to: its group's number (one no
    /// other group, or reactor on its own, of this process has) and, in
    /// the low bits, its place in the group; so an id of another reactor
    /// never names a connection here.
    pub(crate) home: u32,
}

/// The bits of [`ConnId::home`] that say which reactor of its group; the
/// rest number the group.
pub(crate) const REACTOR_BITS: u32 = 10;
pub(crate) const REACTOR_MASK: u32 = (1 << REACTOR_BITS) - 1;

impl ConnId {
    /// A number unique among the connections open at one time; reused once
    /// the connection is gone (the whole `ConnId` is not).
    ///
    /// ```
    /// use frameloop::{ConnId, Ctx, Handler, Reactor};
    ///
    /// struct Index(Option<usize>);
    /// impl Handler for Index {
    ///     fn on_open(&mut self, ctx: &mut Ctx<'_>, conn: ConnId) {
    ///         self.0 = Some(conn.index()); // a small number, fit for a Vec index
    ///         ctx.stop();
    ///     }
    ///     fn on_frame(&mut self, _: &mut Ctx<'_>, _: ConnId, _: &[u8]) {}
    /// }
    ///
    /// let mut reactor = Reactor::new()?;
    /// let addr = reactor.listen("127.0.0.1:0")?;
    /// let _peer = std::net::TcpStream::connect(addr)?;
    /// let mut h = Index(None);
    /// reactor.run(&mut h)?;
    /// assert!(h.0.is_some());
    /// # Ok::<(), frameloop::Error>(())
    /// ```
    pub fn index(self) -> usize {
        self.index as usize
    }

    /// Which reactor of a [`ReactorGroup`](crate::ReactorGroup) (or of a
    /// server with several threads) the connection lives on; 0 for a
    /// reactor on its own.
    ///
    /// ```
    /// use frameloop::{ConnId, Ctx, Handler, Reactor};
    ///
    /// struct Where(Vec<usize>);
    /// impl Handler for Where {
    ///     fn on_open(&mut self, ctx: &mut Ctx<'_>, conn: ConnId) {
    ///         self.0.push(conn.reactor());
    ///         ctx.stop();
    ///     }
    ///     fn on_frame(&mut self, _: &mut Ctx<'_>, _: ConnId, _: &[u8]) {}
    /// }
    ///
    /// let mut group = Reactor::builder().build_group(2)?;
    /// let addr = group.listen("127.0.0.1:0")?;
    /// let _peer = std::net::TcpStream::connect(addr)?;
    /// let seen = group.run(|_| Where(Vec::new()))?;
    /// let reactors: Vec<usize> = seen.into_iter().flat_map(|w| w.0).collect();
    /// assert_eq!(reactors.len(), 1); // one connection, on reactor 0 or 1
    /// assert!(reactors[0] < 2);
    /// # Ok::<(), frameloop::Error>(())
    /// ```
    pub fn reactor(self) -> usize {
        (self.home & REACTOR_MASK) as usize
    }
}

impl fmt::Debug for ConnId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ConnId({}.{}", self.index, self.generation)?;
        if self.reactor() > 0 {
            write!(f, " on reactor {}", self.reactor())?;
        }
        f.write_str(")")
    }
}

impl fmt::Display for ConnId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "connection #{}", self.index)?;
        if self.reactor() > 0 {
            write!(f, " on reactor {}", self.reactor())?;
        }
        Ok(())
    }
}

/// Identifies a timer set with [`Ctx::set_timer`].
///
/// ```
/// use std::time::Duration;
/// use frameloop::{ConnId, Ctx, Handler, Reactor, TimerId};
///
/// #[derive(Default)]
/// struct Timers {
///     cancelled: Option<TimerId>,
///     fired: Vec<TimerId>,
/// }
/// impl Handler for Timers {
///     fn on_frame(&mut self, _: &mut Ctx<'_>, _: ConnId, _: &[u8]) {}
///     fn on_wake(&mut self, ctx: &mut Ctx<'_>) {
///         let late = ctx.set_timer(Duration::from_millis(5));
///         let soon = ctx.set_timer(Duration::from_millis(1));
///         assert_ne!(late, soon); // every timer has its own id
///         assert!(ctx.cancel_timer(late));
///         self.cancelled = Some(late);
///     }
///     fn on_timer(&mut self, ctx: &mut Ctx<'_>, timer: TimerId) {
///         self.fired.push(timer);
///         ctx.stop();
///     }
/// }
///
/// let mut reactor = Reactor::new()?;
/// reactor.notifier().notify()?; // on_wake runs as soon as the loop does
/// let mut timers = Timers::default();
/// reactor.run(&mut timers)?;
/// assert_eq!(timers.fired.len(), 1);
/// assert_ne!(Some(timers.fired[0]), timers.cancelled);
/// # Ok::<(), frameloop::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TimerId(pub(crate) u64);

/// Why a connection closed: given to [`Handler::on_close`].
///
/// ```
/// use std::io::Write;
/// use frameloop::{CloseReason, ConnId, Ctx, Handler, Reactor};
///
/// struct Closes(Vec<CloseReason>);
/// impl Handler for Closes {
///     fn on_frame(&mut self, _: &mut Ctx<'_>, _: ConnId, _: &[u8]) {}
///     fn on_close(&mut self, ctx: &mut Ctx<'_>, conn: ConnId, reason: CloseReason) {
///         match &reason {
///             CloseReason::PeerClosed | CloseReason::ClosedLocally | CloseReason::Shutdown => {}
///             r if r.is_peer_fault() => eprintln!("{conn} misbehaved: {r}"),
///             r => eprintln!("{conn} broke: {r}"),
///         }
///         self.0.push(reason);
///         ctx.stop();
///     }
/// }
///
/// let mut reactor = Reactor::builder().max_frame_len(16).build()?;
/// let addr = reactor.listen("127.0.0.1:0")?;
/// let mut peer = std::net::TcpStream::connect(addr)?;
/// peer.write_all(b"\0\0\x01\0")?; // announces 256 bytes: more than 16
/// drop(peer);
/// let mut closes = Closes(Vec::new());
/// reactor.run(&mut closes)?;
/// assert_eq!(closes.0, [CloseReason::FrameTooLarge { len: 256, max: 16 }]);
/// # Ok::<(), frameloop::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CloseReason {
    /// The peer closed its side after whole messages; every reply queued
    /// before was sent first.
    PeerClosed,
    /// The peer closed in the middle of a message; the partial message was
    /// dropped.
    PeerClosedMidFrame {
        /// Bytes of the unfinished message that had arrived.
        buffered: usize,
    },
    /// The connection was reset (the peer aborted, or the network broke).
    Reset,
    /// A frame header announced more than the maximum frame length.
    FrameTooLarge {
        /// The announced payload length.
        len: u64,
        /// The maximum.
        max: usize,
    },
    /// A line grew past the maximum line length.
    LineTooLong {
        /// The maximum.
        max: usize,
    },
    /// The bytes were not a valid message (from the codec, or from the
    /// handler through [`Ctx::reject`]).
    Malformed(&'static str),
    /// The peer did not read, and its queued output passed the hard cap.
    SlowConsumer,
    /// Nothing was received or sent for the idle timeout.
    IdleTimeout,
    /// A message was started but not finished within the message deadline
    /// (slow senders such as slowloris).
    FrameTimeout,
    /// This side closed it ([`Ctx::close`], after flushing).
    ClosedLocally,
    /// This side aborted it ([`Ctx::abort`]), dropping queued output.
    Aborted,
    /// The reactor stopped ([`Ctx::stop`]).
    Shutdown,
    /// The peer shut down its sending side, the handler held the connection
    /// open to answer ([`HalfClose::Hold`]), and did not close it within the
    /// [half-close timeout](crate::ReactorBuilder::half_close_timeout). Replies
    /// queued by then were still written.
    HalfCloseTimeout,
    /// A TLS connection did not complete its handshake within the
    /// [handshake timeout](crate::ReactorBuilder::handshake_timeout).
    HandshakeTimeout,
    /// TLS refused the connection, or a record of it: what the TLS layer
    /// said (a failed handshake, a certificate not trusted, a record that
    /// does not decrypt or is too large). The alert that says so was sent.
    Tls(String),
    /// An outgoing connection could not be established.
    ConnectFailed(io::ErrorKind),
    /// Another I/O error.
    Io(io::ErrorKind),
}

impl CloseReason {
    /// Whether this side's reading found the peer at fault (bad input, slow
    /// reading): useful to log abuse apart from ordinary goodbyes.
    ///
    /// ```
    /// use frameloop::CloseReason;
    ///
    /// assert!(CloseReason::LineTooLong { max: 80 }.is_peer_fault());
    /// assert!(CloseReason::SlowConsumer.is_peer_fault());
    /// assert!(!CloseReason::PeerClosed.is_peer_fault()); // an ordinary goodbye
    /// assert!(!CloseReason::IdleTimeout.is_peer_fault());
    /// assert!(!CloseReason::Shutdown.is_peer_fault());
    /// ```
    pub fn is_peer_fault(&self) -> bool {
        matches!(
            self,
            CloseReason::FrameTooLarge { .. }
                | CloseReason::LineTooLong { .. }
                | CloseReason::Malformed(_)
                | CloseReason::SlowConsumer
                | CloseReason::FrameTimeout
                | CloseReason::PeerClosedMidFrame { .. }
                | CloseReason::HandshakeTimeout
                | CloseReason::Tls(_)
        )
    }
}

impl From<DecodeError> for CloseReason {
    fn from(e: DecodeError) -> Self {
        match e {
            DecodeError::FrameTooLarge { len, max } => CloseReason::FrameTooLarge { len, max },
            DecodeError::LineTooLong { max } => CloseReason::LineTooLong { max },
            DecodeError::Malformed(why) => CloseReason::Malformed(why),
        }
    }
}

impl fmt::Display for CloseReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CloseReason::PeerClosed => f.write_str("closed by the peer"),
            CloseReason::PeerClosedMidFrame { buffered } => {
                write!(f, "closed by the peer in the middle of a message ({buffered} bytes dropped)")
            }
            CloseReason::Reset => f.write_str("connection reset"),
            CloseReason::FrameTooLarge { len, max } => {
                write!(f, "frame of {len} bytes is larger than the maximum of {max}")
            }
            CloseReason::LineTooLong { max } => write!(f, "line longer than the maximum of {max} bytes"),
            CloseReason::Malformed(why) => write!(f, "malformed message: {why}"),
            CloseReason::SlowConsumer => f.write_str("peer reads too slowly: output passed the hard cap"),
            CloseReason::IdleTimeout => f.write_str("idle timeout"),
            CloseReason::FrameTimeout => f.write_str("message not finished within the deadline"),
            CloseReason::HalfCloseTimeout => f.write_str("not answered within the half-close timeout"),
            CloseReason::HandshakeTimeout => f.write_str("TLS handshake not finished within the deadline"),
            CloseReason::Tls(why) => f.write_str(why),
            CloseReason::ClosedLocally => f.write_str("closed locally"),
            CloseReason::Aborted => f.write_str("aborted locally"),
            CloseReason::Shutdown => f.write_str("server shut down"),
            CloseReason::ConnectFailed(kind) => write!(f, "could not connect: {kind}"),
            CloseReason::Io(kind) => write!(f, "I/O error: {kind}"),
        }
    }
}

/// What the reactor does with a connection whose peer shut down its sending
/// side (end of stream after whole messages, as `echo hi | nc -N` sends):
/// the answer of [`Handler::on_half_close`].
///
/// ```
/// use std::io::{Read, Write};
/// use std::net::Shutdown;
/// use std::time::Duration;
/// use frameloop::{CloseReason, ConnId, Ctx, HalfClose, Handler, Reactor, TimerId};
///
/// /// Answers a little later, after the peer has said all it had to say.
/// struct Later(Option<ConnId>);
/// impl Handler for Later {
///     fn on_frame(&mut self, _: &mut Ctx<'_>, conn: ConnId, _: &[u8]) {
///         self.0 = Some(conn);
///     }
///     fn on_half_close(&mut self, ctx: &mut Ctx<'_>, _conn: ConnId) -> HalfClose {
///         let _ = ctx.set_timer(Duration::from_millis(5));
///         HalfClose::Hold // keep it open for the reply
///     }
///     fn on_timer(&mut self, ctx: &mut Ctx<'_>, _: TimerId) {
///         if let Some(conn) = self.0 {
///             let _ = ctx.send(conn, b"done");
///             let _ = ctx.close(conn);
///         }
///     }
///     fn on_close(&mut self, ctx: &mut Ctx<'_>, _: ConnId, reason: CloseReason) {
///         assert_eq!(reason, CloseReason::PeerClosed);
///         ctx.stop();
///     }
/// }
///
/// let mut reactor = Reactor::new()?;
/// let addr = reactor.listen("127.0.0.1:0")?;
/// let mut peer = std::net::TcpStream::connect(addr)?;
/// peer.write_all(b"\0\0\0\x04work")?;
/// peer.shutdown(Shutdown::Write)?; // end of stream: nothing more will come
/// reactor.run(&mut Later(None))?;
/// let mut reply = Vec::new();
/// peer.read_to_end(&mut reply)?;
/// assert_eq!(reply, b"\0\0\0\x04done");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HalfClose {
    /// Close once the output already queued is written, with
    /// [`CloseReason::PeerClosed`]: right for a handler that answers each
    /// message inside [`on_frame`](Handler::on_frame). The default.
    Close,
    /// Keep the connection open for writing: nothing more is read, sends
    /// work as before, and it closes (with [`CloseReason::PeerClosed`],
    /// after its output is written) once the handler calls
    /// [`Ctx::close`](crate::Ctx::close). For a handler whose replies come
    /// later (from a timer, another thread, a queue a program takes from).
    /// Bounded by the [half-close timeout](crate::ReactorBuilder::half_close_timeout):
    /// past it the connection closes by itself with
    /// [`CloseReason::HalfCloseTimeout`].
    Hold,
}

/// The callbacks through which a [`Reactor`](crate::Reactor) hands events to
/// user code.
///
/// Only [`on_frame`](Handler::on_frame) must be written; the others do
/// nothing by default. All run on the reactor's thread, one at a time, and
/// should return quickly: while a callback runs, no other connection is
/// served.
///
/// ```
/// use frameloop::{ConnId, Ctx, Handler};
///
/// /// Sends every frame back to its sender.
/// struct Echo;
///
/// impl Handler for Echo {
///     fn on_frame(&mut self, ctx: &mut Ctx<'_>, conn: ConnId, frame: &[u8]) {
///         // An error here means the connection is already gone: nothing to do.
///         let _ = ctx.send(conn, frame);
///     }
/// }
/// # let _ = Echo;
/// ```
pub trait Handler {
    /// A connection was accepted, or an outgoing one was established.
    ///
    /// ```
    /// use std::io::Read;
    /// use std::net::Shutdown;
    /// use frameloop::{CloseReason, ConnId, Ctx, Handler, Reactor};
    ///
    /// /// Greets each new connection, then says goodbye.
    /// struct Greeter;
    /// impl Handler for Greeter {
    ///     fn on_open(&mut self, ctx: &mut Ctx<'_>, conn: ConnId) {
    ///         let _ = ctx.send(conn, b"welcome");
    ///         let _ = ctx.close(conn); // after "welcome" is written
    ///     }
    ///     fn on_frame(&mut self, _: &mut Ctx<'_>, _: ConnId, _: &[u8]) {}
    ///     fn on_close(&mut self, ctx: &mut Ctx<'_>, _: ConnId, _: CloseReason) {
    ///         ctx.stop();
    ///     }
    /// }
    ///
    /// let mut reactor = Reactor::new()?;
    /// let addr = reactor.listen("127.0.0.1:0")?;
    /// let mut peer = std::net::TcpStream::connect(addr)?;
    /// peer.shutdown(Shutdown::Write)?;
    /// reactor.run(&mut Greeter)?;
    /// let mut got = Vec::new();
    /// peer.read_to_end(&mut got)?;
    /// assert_eq!(got, b"\0\0\0\x07welcome");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    fn on_open(&mut self, ctx: &mut Ctx<'_>, conn: ConnId) {
        let _ = (ctx, conn);
    }

    /// One whole message arrived. `frame` is the payload (without header or
    /// line ending), borrowed from the reactor's read buffer: copy what you
    /// want to keep.
    ///
    /// ```
    /// use std::io::Write;
    /// use frameloop::{ConnId, Ctx, Handler, Reactor};
    ///
    /// /// Keeps a copy of each message: `frame` is only borrowed.
    /// struct Collect(Vec<Vec<u8>>);
    /// impl Handler for Collect {
    ///     fn on_frame(&mut self, ctx: &mut Ctx<'_>, _conn: ConnId, frame: &[u8]) {
    ///         self.0.push(frame.to_vec());
    ///         if self.0.len() == 2 {
    ///             ctx.stop();
    ///         }
    ///     }
    /// }
    ///
    /// let mut reactor = Reactor::builder().lines().build()?;
    /// let addr = reactor.listen("127.0.0.1:0")?;
    /// std::net::TcpStream::connect(addr)?.write_all(b"one\r\ntwo\n")?;
    /// let mut collect = Collect(Vec::new());
    /// reactor.run(&mut collect)?;
    /// assert_eq!(collect.0, [b"one".to_vec(), b"two".to_vec()]); // line endings dropped
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    fn on_frame(&mut self, ctx: &mut Ctx<'_>, conn: ConnId, frame: &[u8]);

    /// The connection closed, for `reason`. The id is still valid during
    /// this call ([`Ctx::peer_addr`] works), and is invalid after it.
    ///
    /// ```
    /// use std::collections::HashSet;
    /// use frameloop::{CloseReason, ConnId, Ctx, Handler, Reactor};
    ///
    /// /// A room's member list: in on open, out on close.
    /// struct Members(HashSet<ConnId>, Vec<CloseReason>);
    /// impl Handler for Members {
    ///     fn on_open(&mut self, _: &mut Ctx<'_>, conn: ConnId) {
    ///         self.0.insert(conn);
    ///     }
    ///     fn on_frame(&mut self, _: &mut Ctx<'_>, _: ConnId, _: &[u8]) {}
    ///     fn on_close(&mut self, ctx: &mut Ctx<'_>, conn: ConnId, reason: CloseReason) {
    ///         self.0.remove(&conn);
    ///         self.1.push(reason);
    ///         if self.0.is_empty() {
    ///             ctx.stop();
    ///         }
    ///     }
    /// }
    ///
    /// let mut reactor = Reactor::new()?;
    /// let addr = reactor.listen("127.0.0.1:0")?;
    /// drop(std::net::TcpStream::connect(addr)?); // connects and leaves at once
    /// let mut members = Members(HashSet::new(), Vec::new());
    /// reactor.run(&mut members)?;
    /// assert_eq!(members.1, [CloseReason::PeerClosed]);
    /// # Ok::<(), frameloop::Error>(())
    /// ```
    fn on_close(&mut self, ctx: &mut Ctx<'_>, conn: ConnId, reason: CloseReason) {
        let _ = (ctx, conn, reason);
    }

    /// The peer of `conn` shut down its sending side: every message it sent
    /// was handed to [`on_frame`](Handler::on_frame) already (a partial last
    /// message is dropped), and nothing more will come. Return whether to
    /// close once the queued replies are written ([`HalfClose::Close`], the
    /// default) or to keep the connection open for the replies still to
    /// come ([`HalfClose::Hold`], until [`Ctx::close`]). Not called when
    /// the connection was already closing.
    ///
    /// ```
    /// use std::io::{Read, Write};
    /// use std::net::Shutdown;
    /// use frameloop::{CloseReason, ConnId, Ctx, HalfClose, Handler, Reactor};
    ///
    /// /// Counts the lines, and answers with the count once the peer is done.
    /// struct Count(usize);
    /// impl Handler for Count {
    ///     fn on_frame(&mut self, _: &mut Ctx<'_>, _: ConnId, _: &[u8]) {
    ///         self.0 += 1;
    ///     }
    ///     fn on_half_close(&mut self, ctx: &mut Ctx<'_>, conn: ConnId) -> HalfClose {
    ///         let _ = ctx.send(conn, self.0.to_string().as_bytes());
    ///         HalfClose::Close // written before the connection closes
    ///     }
    ///     fn on_close(&mut self, ctx: &mut Ctx<'_>, _: ConnId, _: CloseReason) {
    ///         ctx.stop();
    ///     }
    /// }
    ///
    /// let mut reactor = Reactor::builder().lines().build()?;
    /// let addr = reactor.listen("127.0.0.1:0")?;
    /// let mut peer = std::net::TcpStream::connect(addr)?;
    /// peer.write_all(b"a\nb\nc\n")?;
    /// peer.shutdown(Shutdown::Write)?; // what `nc -N` does at the end of its input
    /// reactor.run(&mut Count(0))?;
    /// let mut reply = String::new();
    /// peer.read_to_string(&mut reply)?;
    /// assert_eq!(reply, "3\n");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    fn on_half_close(&mut self, ctx: &mut Ctx<'_>, conn: ConnId) -> HalfClose {
        let _ = (ctx, conn);
        HalfClose::Close
    }

    /// A timer set with [`Ctx::set_timer`] expired.
    ///
    /// ```
    /// use std::time::Duration;
    /// use frameloop::{ConnId, Ctx, Handler, Reactor, TimerId};
    ///
    /// /// Ticks three times, 1 ms apart, then stops.
    /// struct Ticks(u32);
    /// impl Handler for Ticks {
    ///     fn on_frame(&mut self, _: &mut Ctx<'_>, _: ConnId, _: &[u8]) {}
    ///     fn on_wake(&mut self, ctx: &mut Ctx<'_>) {
    ///         let _ = ctx.set_timer(Duration::from_millis(1));
    ///     }
    ///     fn on_timer(&mut self, ctx: &mut Ctx<'_>, _timer: TimerId) {
    ///         self.0 += 1;
    ///         if self.0 == 3 {
    ///             ctx.stop();
    ///         } else {
    ///             let _ = ctx.set_timer(Duration::from_millis(1)); // timers fire once
    ///         }
    ///     }
    /// }
    ///
    /// let mut reactor = Reactor::new()?;
    /// reactor.notifier().notify()?;
    /// let mut ticks = Ticks(0);
    /// reactor.run(&mut ticks)?;
    /// assert_eq!(ticks.0, 3);
    /// # Ok::<(), frameloop::Error>(())
    /// ```
    fn on_timer(&mut self, ctx: &mut Ctx<'_>, timer: TimerId) {
        let _ = (ctx, timer);
    }

    /// The connection's queued output fell below the low watermark after
    /// having passed the high watermark: a good moment to send more.
    ///
    /// ```
    /// use std::io::{Read, Write};
    /// use frameloop::{CloseReason, ConnId, Ctx, Handler, Reactor};
    ///
    /// /// Answers with a burst over the high watermark, then, once it has drained,
    /// /// with the last word.
    /// struct Burst(bool);
    /// impl Handler for Burst {
    ///     fn on_frame(&mut self, ctx: &mut Ctx<'_>, conn: ConnId, _: &[u8]) {
    ///         for _ in 0..8 {
    ///             let _ = ctx.send(conn, &[b'x'; 1024]); // 8 KiB queued: over the 4 KiB mark
    ///         }
    ///     }
    ///     fn on_drain(&mut self, ctx: &mut Ctx<'_>, conn: ConnId) {
    ///         self.0 = true; // at most 1 KiB left to write: time for more
    ///         let _ = ctx.send(conn, b"done");
    ///         let _ = ctx.close(conn);
    ///     }
    ///     fn on_close(&mut self, ctx: &mut Ctx<'_>, _: ConnId, _: CloseReason) {
    ///         ctx.stop();
    ///     }
    /// }
    ///
    /// let mut reactor = Reactor::builder().lines().watermarks(1024, 4096).build()?;
    /// let addr = reactor.listen("127.0.0.1:0")?;
    /// let mut peer = std::net::TcpStream::connect(addr)?;
    /// peer.write_all(b"go\n")?;
    /// let reader = std::thread::spawn(move || {
    ///     std::thread::sleep(std::time::Duration::from_millis(20)); // a client that reads late
    ///     let mut got = Vec::new();
    ///     peer.read_to_end(&mut got).map(|_| got)
    /// });
    /// let mut burst = Burst(false);
    /// reactor.run(&mut burst)?;
    /// let got = reader.join().unwrap()?;
    /// assert!(burst.0);
    /// assert_eq!(got.len(), 8 * 1025 + 5);
    /// assert!(got.ends_with(b"xxx\ndone\n"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    fn on_drain(&mut self, ctx: &mut Ctx<'_>, conn: ConnId) {
        let _ = (ctx, conn);
    }

    /// Another thread called [`Notifier::notify`](crate::Notifier::notify).
    /// Wake-ups coalesce: one call may stand for several notifications. It
    /// also follows the mail a [`Remote`](crate::Remote) or another reactor
    /// of a group sent (carried out just before it): a call does not always
    /// mean a `notify`.
    ///
    /// ```
    /// use std::sync::mpsc;
    /// use frameloop::{ConnId, Ctx, Handler, Reactor};
    ///
    /// /// Takes jobs from other threads: a channel for the data, a notify to wake the loop.
    /// struct Jobs(mpsc::Receiver<u32>, u32);
    /// impl Handler for Jobs {
    ///     fn on_frame(&mut self, _: &mut Ctx<'_>, _: ConnId, _: &[u8]) {}
    ///     fn on_wake(&mut self, ctx: &mut Ctx<'_>) {
    ///         // One wake-up may stand for several notifies: take all there is.
    ///         for job in self.0.try_iter() {
    ///             self.1 += job;
    ///         }
    ///         if self.1 == 6 {
    ///             ctx.stop();
    ///         }
    ///     }
    /// }
    ///
    /// let mut reactor = Reactor::new()?;
    /// let (tx, rx) = mpsc::channel();
    /// let notifier = reactor.notifier();
    /// let sender = std::thread::spawn(move || {
    ///     for job in 1..=3 {
    ///         tx.send(job).unwrap();
    ///         notifier.notify().unwrap();
    ///     }
    /// });
    /// let mut jobs = Jobs(rx, 0);
    /// reactor.run(&mut jobs)?;
    /// sender.join().unwrap();
    /// assert_eq!(jobs.1, 6);
    /// # Ok::<(), frameloop::Error>(())
    /// ```
    fn on_wake(&mut self, ctx: &mut Ctx<'_>) {
        let _ = ctx;
    }

    /// Once per loop turn, after every callback of the turn: for a handler
    /// that hands what it gathered to another thread at once (one lock and
    /// one wake-up per turn instead of one per message). Its sends and
    /// closes are carried out before the loop waits again; the callbacks
    /// they cause belong to the next turn.
    ///
    /// ```
    /// use std::io::Write;
    /// use frameloop::{ConnId, Ctx, Handler, Reactor};
    ///
    /// /// Hands the messages on in one batch per loop turn.
    /// #[derive(Default)]
    /// struct Batcher {
    ///     pending: Vec<Vec<u8>>,
    ///     batches: Vec<Vec<Vec<u8>>>,
    /// }
    /// impl Handler for Batcher {
    ///     fn on_frame(&mut self, ctx: &mut Ctx<'_>, _: ConnId, line: &[u8]) {
    ///         self.pending.push(line.to_vec());
    ///         if line == b"last" {
    ///             ctx.stop(); // this turn still ends with on_turn_end
    ///         }
    ///     }
    ///     fn on_turn_end(&mut self, _: &mut Ctx<'_>) {
    ///         if !self.pending.is_empty() {
    ///             // One hand-over per turn (say, one lock and one wake-up), not one per message.
    ///             self.batches.push(std::mem::take(&mut self.pending));
    ///         }
    ///     }
    /// }
    ///
    /// let mut reactor = Reactor::builder().lines().build()?;
    /// let addr = reactor.listen("127.0.0.1:0")?;
    /// std::net::TcpStream::connect(addr)?.write_all(b"a\nb\nlast\n")?;
    /// let mut batcher = Batcher::default();
    /// reactor.run(&mut batcher)?;
    /// assert!(batcher.pending.is_empty()); // nothing left behind
    /// assert_eq!(batcher.batches.concat(), [b"a".to_vec(), b"b".to_vec(), b"last".to_vec()]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    fn on_turn_end(&mut self, ctx: &mut Ctx<'_>) {
        let _ = ctx;
    }
}

impl<H: Handler + ?Sized> Handler for &mut H {
    fn on_open(&mut self, ctx: &mut Ctx<'_>, conn: ConnId) {
        (**self).on_open(ctx, conn);
    }
    fn on_frame(&mut self, ctx: &mut Ctx<'_>, conn: ConnId, frame: &[u8]) {
        (**self).on_frame(ctx, conn, frame);
    }
    fn on_close(&mut self, ctx: &mut Ctx<'_>, conn: ConnId, reason: CloseReason) {
        (**self).on_close(ctx, conn, reason);
    }
    fn on_half_close(&mut self, ctx: &mut Ctx<'_>, conn: ConnId) -> HalfClose {
        (**self).on_half_close(ctx, conn)
    }
    fn on_timer(&mut self, ctx: &mut Ctx<'_>, timer: TimerId) {
        (**self).on_timer(ctx, timer);
    }
    fn on_drain(&mut self, ctx: &mut Ctx<'_>, conn: ConnId) {
        (**self).on_drain(ctx, conn);
    }
    fn on_wake(&mut self, ctx: &mut Ctx<'_>) {
        (**self).on_wake(ctx);
    }
    fn on_turn_end(&mut self, ctx: &mut Ctx<'_>) {
        (**self).on_turn_end(ctx);
    }
}

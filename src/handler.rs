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
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnId {
    pub(crate) index: u32,
    pub(crate) generation: u32,
}

impl ConnId {
    /// A number unique among the connections open at one time; reused once
    /// the connection is gone (the whole `ConnId` is not).
    pub fn index(self) -> usize {
        self.index as usize
    }
}

impl fmt::Debug for ConnId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ConnId({}.{})", self.index, self.generation)
    }
}

impl fmt::Display for ConnId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "connection #{}", self.index)
    }
}

/// Identifies a timer set with [`Ctx::set_timer`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TimerId(pub(crate) u64);

/// Why a connection closed: given to [`Handler::on_close`].
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
    /// [half-close timeout](crate::Builder::half_close_timeout). Replies
    /// queued by then were still written.
    HalfCloseTimeout,
    /// An outgoing connection could not be established.
    ConnectFailed(io::ErrorKind),
    /// Another I/O error.
    Io(io::ErrorKind),
}

impl CloseReason {
    /// Whether this side's reading found the peer at fault (bad input, slow
    /// reading): useful to log abuse apart from ordinary goodbyes.
    pub fn is_peer_fault(&self) -> bool {
        matches!(
            self,
            CloseReason::FrameTooLarge { .. }
                | CloseReason::LineTooLong { .. }
                | CloseReason::Malformed(_)
                | CloseReason::SlowConsumer
                | CloseReason::FrameTimeout
                | CloseReason::PeerClosedMidFrame { .. }
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
    /// Bounded by the [half-close timeout](crate::Builder::half_close_timeout):
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
    fn on_open(&mut self, ctx: &mut Ctx<'_>, conn: ConnId) {
        let _ = (ctx, conn);
    }

    /// One whole message arrived. `frame` is the payload (without header or
    /// line ending), borrowed from the reactor's read buffer: copy what you
    /// want to keep.
    fn on_frame(&mut self, ctx: &mut Ctx<'_>, conn: ConnId, frame: &[u8]);

    /// The connection closed, for `reason`. The id is still valid during
    /// this call ([`Ctx::peer_addr`] works), and is invalid after it.
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
    fn on_half_close(&mut self, ctx: &mut Ctx<'_>, conn: ConnId) -> HalfClose {
        let _ = (ctx, conn);
        HalfClose::Close
    }

    /// A timer set with [`Ctx::set_timer`] expired.
    fn on_timer(&mut self, ctx: &mut Ctx<'_>, timer: TimerId) {
        let _ = (ctx, timer);
    }

    /// The connection's queued output fell below the low watermark after
    /// having passed the high watermark: a good moment to send more.
    fn on_drain(&mut self, ctx: &mut Ctx<'_>, conn: ConnId) {
        let _ = (ctx, conn);
    }

    /// Another thread called [`Notifier::notify`](crate::Notifier::notify).
    /// Wake-ups coalesce: one call may stand for several notifications.
    fn on_wake(&mut self, ctx: &mut Ctx<'_>) {
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
}

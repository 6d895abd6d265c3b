//! Operator logs: the one switch between the `log` feature and nothing.
//!
//! frameloop reports a few discrete events, never one per message: a
//! connection closing and why, a limit being hit, a listener failing. Each
//! event is a function here, so the texts and levels are in one place (the
//! crate docs list them). Every function ends in [`emit!`]: with the `log`
//! feature it is `log::log!` with target `frameloop`, which compares the
//! level with the logger's maximum (one atomic load) before formatting
//! anything, so a program without a logger pays nothing more; without the
//! feature it expands to an `if false` around the arguments (type-checked,
//! never evaluated), and the functions compile to nothing.
//!
//! Why `log` and not `tracing`: these are discrete events that need no spans
//! or structured fields, `log` is one small crate with no dependencies, and
//! any `tracing` subscriber can collect `log` records anyway.

use std::fmt;
use std::io;
use std::time::Duration;

use crate::addr::Addr;

use crate::error::{is_out_of_descriptors, Error};
use crate::handler::{CloseReason, ConnId};

/// The target of every record, to filter on (`RUST_LOG=frameloop=debug`).
#[cfg(feature = "log")]
pub(crate) const TARGET: &str = "frameloop";

/// How much an event matters to an operator; see the crate docs' table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Level {
    Error,
    Warn,
    Info,
    Debug,
}

#[cfg(feature = "log")]
impl Level {
    pub(crate) fn to_log(self) -> ::log::Level {
        match self {
            Level::Error => ::log::Level::Error,
            Level::Warn => ::log::Level::Warn,
            Level::Info => ::log::Level::Info,
            Level::Debug => ::log::Level::Debug,
        }
    }
}

/// Emits one record at `$level` (a [`Level`]): the only place that knows
/// whether the `log` feature is on.
#[cfg(feature = "log")]
macro_rules! emit {
    ($level:expr, $($arg:tt)+) => {
        ::log::log!(target: $crate::log::TARGET, $crate::log::Level::to_log($level), $($arg)+)
    };
}

/// Without the `log` feature: nothing, but the arguments still type-check
/// (and count as used), so both builds see the same code.
#[cfg(not(feature = "log"))]
macro_rules! emit {
    ($level:expr, $($arg:tt)+) => {
        if false {
            let _: $crate::log::Level = $level;
            let _ = ::core::format_args!($($arg)+);
        }
    };
}

/// A peer's address, or a word for its absence.
struct Peer<'a>(Option<&'a Addr>);

impl fmt::Display for Peer<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(addr) => write!(f, "peer {addr}"),
            None => f.write_str("peer unknown"),
        }
    }
}

/// The level of a close: a limit hit or bad input is a warning, a broken
/// connection is information, a goodbye is a detail. Exhaustive on purpose:
/// a new reason must choose.
fn close_level(reason: &CloseReason) -> Level {
    match reason {
        CloseReason::FrameTooLarge { .. }
        | CloseReason::LineTooLong { .. }
        | CloseReason::Malformed(_)
        | CloseReason::SlowConsumer
        | CloseReason::IdleTimeout
        | CloseReason::FrameTimeout
        | CloseReason::HalfCloseTimeout
        | CloseReason::HandshakeTimeout
        | CloseReason::Tls(_) => Level::Warn,
        CloseReason::Reset
        | CloseReason::Io(_)
        | CloseReason::PeerClosedMidFrame { .. }
        | CloseReason::ConnectFailed(_) => Level::Info,
        CloseReason::PeerClosed | CloseReason::ClosedLocally | CloseReason::Aborted | CloseReason::Shutdown => {
            Level::Debug
        }
    }
}

/// The builder setting behind a limit that closed a connection.
fn limit_of(reason: &CloseReason) -> &'static str {
    match reason {
        CloseReason::FrameTooLarge { .. } | CloseReason::LineTooLong { .. } => " (limit: max_frame_len)",
        CloseReason::SlowConsumer => " (limit: hard_cap)",
        CloseReason::IdleTimeout => " (limit: idle_timeout)",
        CloseReason::FrameTimeout => " (limit: frame_timeout)",
        CloseReason::HalfCloseTimeout => " (limit: half_close_timeout)",
        CloseReason::HandshakeTimeout => " (limit: handshake_timeout)",
        _ => "",
    }
}

/// A connection is gone for the handler (its `on_close` is due).
#[inline]
pub(crate) fn closed(conn: ConnId, peer: Option<&Addr>, reason: &CloseReason) {
    emit!(close_level(reason), "{conn} ({}) closed: {reason}{}", Peer(peer), limit_of(reason));
}

/// An accepted connection was closed at once: `max_connections` are open.
/// Only the `first` refusal since the count was last below the limit is a
/// warning: a connection flood at the limit would otherwise flood the log
/// too (the rest are debug, and `Stats` counts them all).
#[inline]
pub(crate) fn refused_over_limit(peer: &Addr, max: usize, refused: u64, first: bool) {
    emit!(
        if first { Level::Warn } else { Level::Debug },
        "refused the connection from {peer}: max_connections ({max}) are open ({refused} refused since start){}",
        if first { "; further refusals are logged at debug until fewer are open" } else { "" }
    );
}

/// An accepted connection could not be taken on (the poller refused it).
#[inline]
pub(crate) fn not_taken(peer: &Addr, err: &Error) {
    emit!(Level::Warn, "dropped the connection from {peer}: {err}");
}

/// `accept` on `listener` failed; accepting pauses for `backoff`. Only the
/// first failure of a run of them is a warning (a full descriptor table
/// makes every retry fail, at most five times a second by default).
#[inline]
pub(crate) fn accept_failed(listener: &Addr, err: &io::Error, backoff: Duration, first: bool) {
    emit!(
        if first { Level::Warn } else { Level::Debug },
        "accept on {listener} failed: {err}{}; accepting again in {backoff:?} (accept back-off)",
        descriptors_hint(err)
    );
}

/// What to do about running out of file descriptors, if that is the error.
fn descriptors_hint(err: &io::Error) -> &'static str {
    if is_out_of_descriptors(err) {
        ": out of file descriptors; raise the limit (ulimit -n) or lower max_connections"
    } else {
        ""
    }
}

/// A listener was bound (or adopted) and is served.
#[inline]
pub(crate) fn listening(addr: &Addr) {
    emit!(Level::Info, "listening on {addr}");
}

/// `signal` (its name, `SIGTERM`) asked for a graceful stop.
#[cfg(feature = "signals")]
#[inline]
pub(crate) fn signal_stops(signal: &str) {
    emit!(
        Level::Info,
        "{signal} received: stopping gracefully (no new connections; open ones get their output and close); a second signal stops at once"
    );
}

/// `signal` came during a graceful stop, which ends now.
#[cfg(feature = "signals")]
#[inline]
pub(crate) fn signal_stops_now(signal: &str) {
    emit!(Level::Warn, "{signal} received during the graceful stop: stopping now");
}

/// The poller failed: `run` returns this error, the reactor stops.
#[inline]
pub(crate) fn poll_failed(err: &io::Error) {
    emit!(Level::Error, "the poller failed: {err}; the reactor stops");
}

/// A graceful stop ends without waiting any longer: `conns` connections
/// close now, their queued output dropped.
#[inline]
pub(crate) fn stopping_now(conns: usize) {
    if conns == 0 {
        return; // only lingering sockets were left: nothing an operator lost
    }
    emit!(Level::Warn, "stopping now: {conns} connections still open are closed, their unsent output dropped");
}

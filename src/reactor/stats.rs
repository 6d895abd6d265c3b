//! Counters of what the reactor did.

/// What a reactor has done since it was built: a plain copy, cheap to take
/// with [`Reactor::stats`](crate::Reactor::stats) or
/// [`Ctx::stats`](crate::Ctx::stats).
///
/// The counters are plain integers bumped on the reactor's own thread (no
/// atomics on the hot path); syscall counts (`reads`, `writes`, `polls`)
/// divided by `frames_in` give the syscalls each message cost.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// Connections accepted from listeners.
    pub accepted: u64,
    /// Outgoing connections established.
    pub connected: u64,
    /// Sockets accepted and closed at once because `max_connections` was
    /// reached.
    pub rejected_over_limit: u64,
    /// Connections closed, for any reason (the sum of the `closed_*` fields).
    pub closed: u64,
    /// ... because the peer closed (cleanly or mid-message).
    pub closed_by_peer: u64,
    /// ... because the connection was reset or failed with an I/O error.
    pub closed_by_error: u64,
    /// ... because the peer sent a too-large or malformed message.
    pub closed_bad_input: u64,
    /// ... because the peer read too slowly (hard cap).
    pub closed_slow_consumer: u64,
    /// ... because of the idle timeout or the message deadline.
    pub closed_timeout: u64,
    /// ... by this side: close, abort or stop.
    pub closed_locally: u64,
    /// ... because an outgoing connection could not be established.
    pub connect_failed: u64,
    /// Messages delivered to `on_frame`.
    pub frames_in: u64,
    /// Messages queued with `send` (and friends).
    pub frames_out: u64,
    /// Bytes read from sockets.
    pub bytes_in: u64,
    /// Bytes written to sockets.
    pub bytes_out: u64,
    /// `read` system calls (including the ones that found nothing).
    pub reads: u64,
    /// `write` system calls.
    pub writes: u64,
    /// Returns from the poller (loop turns).
    pub polls: u64,
    /// `accept` system calls.
    pub accepts: u64,
    /// Times accepting paused on a resource error (EMFILE, ENFILE, ENOBUFS,
    /// ENOMEM) to retry later.
    pub accept_backoffs: u64,
    /// Times reading paused because a connection's output passed the high
    /// watermark.
    pub backpressure_pauses: u64,
}

impl Stats {
    /// System calls of the data path (reads, writes and polls) per message
    /// received, or 0 when none was.
    pub fn syscalls_per_frame(&self) -> f64 {
        if self.frames_in == 0 {
            return 0.0;
        }
        (self.reads + self.writes + self.polls) as f64 / self.frames_in as f64
    }
}

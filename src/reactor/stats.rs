//! Counters of what the reactor did.

/// What a reactor has done since it was built: a plain copy, cheap to take
/// with [`Reactor::stats`](crate::Reactor::stats) or
/// [`Ctx::stats`](crate::Ctx::stats).
///
/// The counters are plain integers bumped on the reactor's own thread (no
/// atomics on the hot path); syscall counts (`reads`, `writes`, `polls`)
/// divided by `frames_in` give the syscalls each message cost.
///
/// ```
/// use std::io::Write;
/// use std::net::Shutdown;
/// use frameloop::{CloseReason, ConnId, Ctx, Handler, Reactor};
///
/// struct Echo;
/// impl Handler for Echo {
///     fn on_frame(&mut self, ctx: &mut Ctx<'_>, conn: ConnId, frame: &[u8]) {
///         let _ = ctx.send(conn, frame);
///     }
///     fn on_close(&mut self, ctx: &mut Ctx<'_>, _: ConnId, _: CloseReason) {
///         ctx.stop();
///     }
/// }
///
/// let mut reactor = Reactor::new()?;
/// let addr = reactor.listen("127.0.0.1:0")?;
/// let mut peer = std::net::TcpStream::connect(addr)?;
/// peer.write_all(b"\0\0\0\x01a\0\0\0\x01b")?;
/// peer.shutdown(Shutdown::Write)?;
/// reactor.run(&mut Echo)?;
///
/// let stats = reactor.stats();
/// assert_eq!((stats.accepted, stats.frames_in, stats.frames_out), (1, 2, 2));
/// assert_eq!((stats.closed, stats.closed_by_peer), (1, 1));
/// assert_eq!((stats.bytes_in, stats.bytes_out), (10, 10));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
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
    /// Messages and closes that reached this reactor from another reactor
    /// of its group or from a [`Remote`](crate::Remote) for a connection
    /// that was gone by then.
    pub mail_undelivered: u64,
}

/// Adds every counter: the stats of a group are the sum of its reactors'.
///
/// ```
/// use frameloop::Stats;
///
/// let mut one = Stats::default();
/// one.accepted = 2;
/// let total: Stats = [one, one].into_iter().sum();
/// assert_eq!(total.accepted, 4);
/// ```
impl std::iter::Sum for Stats {
    fn sum<I: Iterator<Item = Stats>>(iter: I) -> Stats {
        iter.fold(Stats::default(), |mut t, s| {
            // Every field named: a new counter is a compile error here
            // until it is added.
            let Stats {
                accepted,
                connected,
                rejected_over_limit,
                closed,
                closed_by_peer,
                closed_by_error,
                closed_bad_input,
                closed_slow_consumer,
                closed_timeout,
                closed_locally,
                connect_failed,
                frames_in,
                frames_out,
                bytes_in,
                bytes_out,
                reads,
                writes,
                polls,
                accepts,
                accept_backoffs,
                backpressure_pauses,
                mail_undelivered,
            } = s;
            let fields = [
                (&mut t.accepted, accepted),
                (&mut t.connected, connected),
                (&mut t.rejected_over_limit, rejected_over_limit),
                (&mut t.closed, closed),
                (&mut t.closed_by_peer, closed_by_peer),
                (&mut t.closed_by_error, closed_by_error),
                (&mut t.closed_bad_input, closed_bad_input),
                (&mut t.closed_slow_consumer, closed_slow_consumer),
                (&mut t.closed_timeout, closed_timeout),
                (&mut t.closed_locally, closed_locally),
                (&mut t.connect_failed, connect_failed),
                (&mut t.frames_in, frames_in),
                (&mut t.frames_out, frames_out),
                (&mut t.bytes_in, bytes_in),
                (&mut t.bytes_out, bytes_out),
                (&mut t.reads, reads),
                (&mut t.writes, writes),
                (&mut t.polls, polls),
                (&mut t.accepts, accepts),
                (&mut t.accept_backoffs, accept_backoffs),
                (&mut t.backpressure_pauses, backpressure_pauses),
                (&mut t.mail_undelivered, mail_undelivered),
            ];
            for (total, one) in fields {
                *total += one;
            }
            t
        })
    }
}

impl Stats {
    /// System calls of the data path (reads, writes and polls) per message
    /// received, or 0 when none was.
    ///
    /// ```
    /// use std::io::Write;
    /// use frameloop::{ConnId, Ctx, Handler, Reactor, Stats};
    ///
    /// assert_eq!(Stats::default().syscalls_per_frame(), 0.0); // no message yet
    ///
    /// struct StopAtThird(u32);
    /// impl Handler for StopAtThird {
    ///     fn on_frame(&mut self, ctx: &mut Ctx<'_>, _: ConnId, _: &[u8]) {
    ///         self.0 += 1;
    ///         if self.0 == 3 {
    ///             ctx.stop();
    ///         }
    ///     }
    /// }
    /// let mut reactor = Reactor::new()?;
    /// let addr = reactor.listen("127.0.0.1:0")?;
    /// std::net::TcpStream::connect(addr)?.write_all(b"\0\0\0\x01a\0\0\0\x01b\0\0\0\x01c")?;
    /// reactor.run(&mut StopAtThird(0))?;
    /// assert!(reactor.stats().syscalls_per_frame() > 0.0);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn syscalls_per_frame(&self) -> f64 {
        if self.frames_in == 0 {
            return 0.0;
        }
        (self.reads + self.writes + self.polls) as f64 / self.frames_in as f64
    }
}

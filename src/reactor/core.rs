//! The reactor's state, and the operations on it that handler callbacks
//! request through [`Ctx`](super::Ctx).
//!
//! Nothing here calls the handler: operations only change state and queue
//! work (a connection to flush, a connection whose `on_close` is due), which
//! the run loop carries out after the callback returns. That is what lets a
//! callback close any connection, even the one it is being called for,
//! without re-entrancy.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use mio::{Interest, Registry, Token};
use slab::Slab;

use super::backoff::Backoff;
use super::bind::{bind, BindOptions};
use super::builder::Config;
use super::conn::{self, Conn, State};
use super::connect::Blocking;
use super::remote::{Mail, Router};
use super::stats::Stats;
use super::stream::{ClientTls, ListenSocket, ServerTls, Stream};
use super::timer::{TimerKind, Timers};
use crate::addr::Addr;
use crate::buffer::Pools;
use crate::error::Error;
use crate::handler::{CloseReason, ConnId, REACTOR_MASK};

/// A listening socket.
#[derive(Debug)]
pub(crate) struct Listener {
    pub(crate) socket: ListenSocket,
    pub(crate) addr: Addr,
    /// The TLS its connections speak, if any.
    pub(crate) tls: ServerTls,
}

#[derive(Debug)]
pub(crate) struct Core {
    pub(crate) registry: Registry,
    pub(crate) conns: Slab<Conn>,
    pub(crate) listeners: Slab<Listener>,
    /// Gracefully closed sockets waiting for their peer to close too.
    pub(crate) lingering: Slab<super::linger::Lingering>,
    pub(crate) config: Config,
    pub(crate) timers: Timers,
    pub(crate) pools: Pools,
    /// When the pools are trimmed next (see [`BufPool`](crate::buffer::BufPool)).
    pub(crate) trim_at: Instant,
    /// The received message the handler is being handed, while it may be
    /// sent back without a copy.
    pub(crate) lendable: Option<Lendable>,
    /// The connection [`Lendable`] messages of the read being delivered were
    /// sent to, waiting for their read buffer once they all have been.
    pub(crate) lent_to: Option<usize>,
    /// Connections with output to write at the end of this turn.
    pub(crate) dirty: Vec<usize>,
    /// Connections to read next turn without waiting for an edge: their
    /// read budget ran out, or they were unpaused.
    pub(crate) ready: Vec<usize>,
    /// The other of the two lists `ready` swaps between, empty.
    pub(crate) ready_spare: Vec<usize>,
    /// Connections in `State::Closed` whose `on_close` is due.
    pub(crate) to_reap: Vec<usize>,
    /// Listeners whose accept batch ran out with connections maybe waiting.
    pub(crate) accept_more: Vec<usize>,
    /// Reused by broadcasts to list the recipients without allocating.
    pub(crate) keys_scratch: Vec<usize>,
    /// The handler paused accepting.
    pub(crate) accept_paused: bool,
    /// Accepting paused after a resource error; a retry timer is armed.
    pub(crate) accept_retry_armed: bool,
    /// The wait after resource errors before accepting again.
    pub(crate) accept_backoff: Backoff,
    /// A refusal at `max_connections` was logged as a warning and the count
    /// has not been below the limit since (the rest are debug records).
    pub(crate) limit_warned: bool,
    pub(crate) stop_requested: bool,
    pub(crate) stopping: bool,
    /// Counts graceful stops, to match a stop deadline to its stop.
    pub(crate) stops: u64,
    pub(crate) stats: Stats,
    pub(crate) next_generation: u32,
    /// The reactors of this one's group (this one alone, if it has none),
    /// and which of them this is: the rest of every id given out here.
    pub(crate) router: Arc<Router>,
    pub(crate) home: u32,
    /// Where the acceptor of a group starts looking for the least loaded
    /// reactor: moved on at each accept, so that equals take turns.
    pub(crate) next_pick: usize,
    /// The time this loop turn started; what "now" means for deadlines.
    pub(crate) now: Instant,
}

/// The connection `id` names in `conns`, the connections of the reactor
/// numbered `home`: a borrow of the slab alone, so the rest of the core
/// stays usable beside it.
#[inline]
pub(crate) fn slot(conns: &mut Slab<Conn>, home: u32, id: ConnId) -> Option<&mut Conn> {
    conns.get_mut(id.index()).filter(|c| c.generation == id.generation && id.home == home)
}

/// The most bytes each of the reactor's two pools keeps: enough for a few
/// messages in flight at the default 8 MiB maximum.
const POOLED_BYTES: usize = 64 * 1024 * 1024;

/// How often the pools give back what traffic has stopped using.
pub(crate) const TRIM_EVERY: Duration = Duration::from_secs(1);

/// A received message that may go out again as it came, from the buffer it
/// arrived in, if the handler sends exactly it (the same bytes in memory)
/// during the callback that hands it over. Its wire bytes are the same
/// whichever way it goes: frames and raw bytes encode a payload one way.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Lendable {
    /// Where the payload is in memory; compared, never dereferenced.
    pub(crate) addr: usize,
    pub(crate) len: usize,
    /// Where its wire bytes, header included, are in its read buffer.
    pub(crate) start: usize,
    pub(crate) end: usize,
}

impl Lendable {
    /// Whether `part` is the message itself, not a copy or a slice of it.
    fn is(&self, part: &[u8]) -> bool {
        part.as_ptr() as usize == self.addr && part.len() == self.len
    }
}

/// First back-off after an accept error.
const ACCEPT_BACKOFF_START: Duration = Duration::from_millis(5);

impl Core {
    pub(crate) fn new(registry: Registry, config: Config, router: Arc<Router>) -> Self {
        let accept_backoff = Backoff::new(ACCEPT_BACKOFF_START, config.accept_backoff_max);
        Core {
            registry,
            conns: Slab::new(),
            listeners: Slab::new(),
            lingering: Slab::new(),
            pools: Pools::new(POOLED_BYTES),
            trim_at: Instant::now() + TRIM_EVERY,
            lendable: None,
            lent_to: None,
            config,
            timers: Timers::default(),
            dirty: Vec::new(),
            ready: Vec::new(),
            ready_spare: Vec::new(),
            to_reap: Vec::new(),
            accept_more: Vec::new(),
            keys_scratch: Vec::new(),
            accept_paused: false,
            accept_retry_armed: false,
            accept_backoff,
            limit_warned: false,
            stop_requested: false,
            stopping: false,
            stops: 0,
            stats: Stats::default(),
            next_generation: 0,
            home: router.home_of(0),
            next_pick: 0,
            router,
            now: Instant::now(),
        }
    }

    // ---- looking connections up -------------------------------------------------

    /// The connection `id` names, whatever its state.
    #[inline]
    pub(crate) fn get(&self, id: ConnId) -> Option<&Conn> {
        self.conns.get(id.index()).filter(|c| c.generation == id.generation && id.home == self.home)
    }

    #[inline]
    pub(crate) fn get_mut(&mut self, id: ConnId) -> Option<&mut Conn> {
        slot(&mut self.conns, self.home, id)
    }

    /// The connection `id` names, unless it is unknown or already closed.
    pub(crate) fn live(&self, id: ConnId) -> Result<&Conn, Error> {
        match self.get(id) {
            None => Err(Error::UnknownConnection(id)),
            Some(c) if matches!(c.state, State::Closed(_)) => Err(Error::ConnectionClosed(id)),
            Some(c) => Ok(c),
        }
    }

    /// Whether `id` is open for reading (not closing, not closed).
    #[inline]
    pub(crate) fn is_open(&self, id: ConnId) -> bool {
        self.get(id).is_some_and(Conn::is_open)
    }

    /// How many connections this reactor serves or has been handed, as
    /// its group sees it.
    pub(crate) fn load(&self) -> &std::sync::atomic::AtomicUsize {
        &self.router.loads[self.reactor()]
    }

    /// Which reactor of its group this is.
    pub(crate) fn reactor(&self) -> usize {
        (self.home & REACTOR_MASK) as usize
    }

    /// The id of the connection in slot `key`.
    #[inline]
    pub(crate) fn id_of(&self, key: usize) -> ConnId {
        self.conns[key].id(key, self.home)
    }

    // ---- adding connections -----------------------------------------------------

    /// Registers a new connection and gives it an id.
    pub(crate) fn insert(&mut self, mut stream: Stream, peer: Option<Addr>, state: State) -> Result<ConnId, Error> {
        if self.stopping {
            return Err(Error::Stopped);
        }
        if self.conns.len() >= self.config.max_connections {
            return Err(Error::Io(std::io::Error::other("max_connections reached")));
        }
        if self.config.nodelay {
            // A failure only costs latency; the connection still works.
            let _ = stream.set_nodelay();
        }
        self.next_generation = conn::next_generation(self.next_generation);
        let entry = self.conns.vacant_entry();
        let id = ConnId { index: entry.key() as u32, generation: self.next_generation, home: self.home };
        // Both interests at once, never re-registered: with edge-triggered
        // readiness that costs no syscall per message.
        self.registry.register(&mut stream, conn::conn_token(id), Interest::READABLE | Interest::WRITABLE)?;
        entry.insert(Conn::new(stream, id.generation, peer, state, self.now));
        self.load().fetch_add(1, Ordering::Relaxed);
        self.arm_conn_timer(id.index());
        Ok(id)
    }

    /// Starts a non-blocking connect; the handler hears `on_open`, or
    /// `on_close` with [`CloseReason::ConnectFailed`].
    pub(crate) fn connect(&mut self, addr: &Addr, tls: ClientTls<'_>) -> Result<ConnId, Error> {
        let stream = Stream::connect(addr).map_err(|e| Error::from_connect(addr, e, Duration::ZERO))?;
        let stream = stream.secured_to(tls, self.now)?;
        self.insert(stream, Some(addr.clone()), State::Connecting)
    }

    /// Takes over a connected `std` stream.
    pub(crate) fn adopt(&mut self, stream: Blocking, tls: ClientTls<'_>) -> Result<ConnId, Error> {
        let stream = stream.into_stream()?.secured_to(tls, self.now)?;
        let peer = stream.peer_addr().ok();
        let id = self.insert(stream, peer, State::Open)?;
        // A TLS client's ClientHello waits in its session: flushed this turn,
        // not left to the first writable event.
        if let Some(conn) = self.conns.get_mut(id.index()).filter(|c| c.queued() > 0) {
            conn.flush_soon(id.index(), &mut self.dirty);
        }
        Ok(id)
    }

    /// Binds a listener; connections it accepts are served like any other.
    pub(crate) fn listen(&mut self, addr: &Addr, tls: ServerTls) -> Result<Addr, Error> {
        if self.stopping {
            return Err(Error::Stopped);
        }
        let socket = bind(addr, self.bind_options(false))?;
        self.adopt_listener(socket, tls)
    }

    /// How this reactor binds its listeners (`shared`: one of a group's
    /// with a listener each).
    pub(crate) fn bind_options(&self, shared: bool) -> BindOptions {
        BindOptions { backlog: self.config.listen_backlog, shared, unix_mode: self.config.unix_mode }
    }

    /// Serves a listener bound elsewhere (the facade binds before it builds
    /// the reactor, so that a busy port is reported at once).
    pub(crate) fn adopt_listener(&mut self, mut socket: ListenSocket, tls: ServerTls) -> Result<Addr, Error> {
        if self.stopping {
            return Err(Error::Stopped);
        }
        let local = socket.local_addr()?;
        let entry = self.listeners.vacant_entry();
        self.registry.register(&mut socket, Token(conn::LISTENER_BIT | entry.key()), Interest::READABLE)?;
        crate::log::listening(&local);
        entry.insert(Listener { socket, addr: local.clone(), tls });
        Ok(local)
    }

    // ---- sending ----------------------------------------------------------------

    /// Queues one message made of `parts` for `id`.
    pub(crate) fn send_parts(&mut self, id: ConnId, parts: &[&[u8]]) -> Result<(), Error> {
        let codec = self.config.codec;
        let hard_cap = self.config.hard_cap;
        let Some(conn) = slot(&mut self.conns, self.home, id) else {
            codec.check_outgoing(parts)?;
            return self.post(id, parts, Mail::Send(id));
        };
        if !conn.accepts_output() {
            return Err(Error::ConnectionClosed(id));
        }
        if conn.queued() >= hard_cap {
            self.mark_closed(id.index(), CloseReason::SlowConsumer);
            return Err(Error::SlowConsumer(id));
        }
        // Raw bytes put nothing around a message: an empty one has no byte
        // to queue, and must not borrow a buffer no write would give back.
        if codec.overhead() == 0 && parts.iter().all(|p| p.is_empty()) {
            return Ok(());
        }
        // The messages of one read sent back as they came, one after the
        // other, to one connection, go out of their read buffer as one
        // stretch. Each is lent once: a second send of it copies.
        let lent = match (self.lendable, parts) {
            (Some(msg), [part]) if msg.is(part) => match self.lent_to {
                None => {
                    conn.out.reserve_lent(msg.start, msg.end, &mut self.pools);
                    self.lent_to = Some(id.index());
                    true
                }
                Some(key) => key == id.index() && conn.out.extend_lent(msg.start, msg.end),
            },
            _ => false,
        };
        if lent {
            self.lendable = None;
        } else {
            let room = parts.iter().fold(codec.overhead(), |sum, p| sum.saturating_add(p.len()));
            conn.out.append(room, &mut self.pools, |out| codec.encode_parts(parts, out))?;
        }
        self.stats.frames_out += 1;
        conn.flush_soon(id.index(), &mut self.dirty);
        Ok(())
    }

    /// Queues `parts` for every live connection (open, or held open after
    /// its peer's half-close) but `except`, on every reactor of the group;
    /// returns how many of this reactor's it was queued for.
    pub(crate) fn broadcast(&mut self, parts: &[&[u8]], except: Option<ConnId>) -> usize {
        if self.router.len() > 1 {
            if self.config.codec.check_outgoing(parts).is_err() {
                return 0;
            }
            self.post_broadcast(parts, except);
        }
        self.broadcast_here(parts, except)
    }

    /// [`broadcast`](Self::broadcast), for this reactor's connections only.
    pub(crate) fn broadcast_here(&mut self, parts: &[&[u8]], except: Option<ConnId>) -> usize {
        let mut keys = std::mem::take(&mut self.keys_scratch);
        keys.clear();
        keys.extend(self.conns.iter().filter(|(_, c)| c.is_live()).map(|(k, _)| k));
        let mut sent = 0;
        for &key in &keys {
            let id = self.id_of(key);
            if Some(id) != except && self.send_parts(id, parts).is_ok() {
                sent += 1;
            }
        }
        self.keys_scratch = keys;
        sent
    }

    // ---- closing ----------------------------------------------------------------

    /// Closes `id` after its queued output is written.
    pub(crate) fn close(&mut self, id: ConnId, reason: CloseReason) -> Result<(), Error> {
        let Some(conn) = self.get_mut(id) else { return self.post(id, &[], Mail::Close(id)) };
        match conn.state {
            State::Closed(_) => Err(Error::ConnectionClosed(id)),
            State::Closing(_) => Ok(()),
            State::Connecting => {
                self.mark_closed(id.index(), reason);
                Ok(())
            }
            State::Open => {
                self.begin_closing(id.index(), reason);
                Ok(())
            }
            // The handler is done answering a peer that half-closed: the
            // peer ended the connection, so its reason stands.
            State::HalfClosed { ref reason, .. } => {
                let reason = reason.clone();
                self.begin_closing(id.index(), reason);
                Ok(())
            }
        }
    }

    /// Closes `id` now, dropping its queued output.
    pub(crate) fn abort(&mut self, id: ConnId, reason: CloseReason) -> Result<(), Error> {
        let Some(conn) = self.get(id) else { return Err(Error::UnknownConnection(id)) };
        if matches!(conn.state, State::Closed(_)) {
            return Err(Error::ConnectionClosed(id));
        }
        self.mark_closed(id.index(), reason);
        Ok(())
    }

    /// Stops reading from `key`; once its output is written it closes for
    /// `reason`. A peer that never reads is cut off after the shutdown
    /// timeout.
    pub(crate) fn begin_closing(&mut self, key: usize, reason: CloseReason) {
        let Some(conn) = self.conns.get_mut(key) else { return };
        if conn.queued() == 0 {
            // Nothing left to write here, but the kernel may still hold
            // output written earlier. If the peer has sent bytes not yet
            // read, closing now would make the kernel reset the connection
            // and drop that output: close as once a queue has drained,
            // lingering. Otherwise close at once, so that a stop does not
            // wait on peers that have nothing at stake. (After the peer's
            // end of stream nothing can be unread: no need to look.)
            if !input_ended(&reason) && conn.stream.has_unread() {
                self.close_flushed(key, reason);
            } else {
                conn.stream.end_gracefully();
                self.mark_closed(key, reason);
            }
            return;
        }
        conn.state = State::Closing(reason);
        conn.flush_soon(key, &mut self.dirty);
        self.arm_conn_timer(key);
    }

    /// A graceful close whose output is all with the kernel now. Unless the
    /// peer's end of stream was read (nothing unread can remain), the peer
    /// may still be sending: linger (see `linger.rs`), so that closing with
    /// its input unread cannot reset away what the kernel has yet to send.
    pub(crate) fn close_flushed(&mut self, key: usize, reason: CloseReason) {
        let Some(conn) = self.conns.get_mut(key) else { return };
        let linger = !input_ended(&reason);
        if !linger {
            conn.stream.end_gracefully();
        }
        conn.set_linger(linger);
        self.mark_closed(key, reason);
    }

    /// The connection is gone for the handler: its buffers are released and
    /// its `on_close` is queued.
    pub(crate) fn mark_closed(&mut self, key: usize, reason: CloseReason) {
        let Some(conn) = self.conns.get_mut(key) else { return };
        if matches!(conn.state, State::Closed(_)) {
            return;
        }
        let s = &mut self.stats;
        s.closed += 1;
        match reason {
            CloseReason::PeerClosed | CloseReason::PeerClosedMidFrame { .. } => s.closed_by_peer += 1,
            CloseReason::Reset | CloseReason::Io(_) => s.closed_by_error += 1,
            CloseReason::FrameTooLarge { .. }
            | CloseReason::LineTooLong { .. }
            | CloseReason::Malformed(_)
            | CloseReason::Tls(_) => s.closed_bad_input += 1,
            CloseReason::SlowConsumer => s.closed_slow_consumer += 1,
            CloseReason::IdleTimeout
            | CloseReason::FrameTimeout
            | CloseReason::HalfCloseTimeout
            | CloseReason::HandshakeTimeout => s.closed_timeout += 1,
            CloseReason::ClosedLocally | CloseReason::Aborted | CloseReason::Shutdown => s.closed_locally += 1,
            CloseReason::ConnectFailed(_) => s.connect_failed += 1,
        }
        crate::log::closed(conn.id(key, self.home), conn.peer.as_ref(), &reason);
        conn.state = State::Closed(reason);
        conn.out.clear(&mut self.pools);
        self.pools.discard(&mut conn.input);
        self.to_reap.push(key);
    }

    // ---- pausing reads -------------------------------------------------------------

    /// The handler pauses reading `id`: messages already read stay held
    /// until [`resume_reading`](Self::resume_reading).
    pub(crate) fn pause_reading(&mut self, id: ConnId) -> Result<(), Error> {
        let conn = self.open_conn(id)?;
        conn.read_paused = true;
        Ok(())
    }

    /// The handler resumes reading `id`. Neither its idle timeout nor its
    /// message deadline ran while it was paused (the wait was this side's
    /// choice, not the peer's): both start afresh.
    pub(crate) fn resume_reading(&mut self, id: ConnId) -> Result<(), Error> {
        let now = self.now;
        let conn = self.open_conn(id)?;
        if !conn.read_paused {
            return Ok(());
        }
        conn.read_paused = false;
        conn.last_active = now;
        if conn.frame_started.is_some() {
            conn.frame_started = Some(now);
        }
        self.reading_may_resume(id.index());
        self.arm_conn_timer(id.index());
        Ok(())
    }

    /// A hold on reading `key` ended. Unless another still holds it, read it
    /// next turn without waiting for an event: bytes that arrived while it
    /// was held raised their (edge-triggered) event already, and messages
    /// held back wait in its assembler.
    pub(crate) fn reading_may_resume(&mut self, key: usize) {
        let Some(conn) = self.conns.get_mut(key) else { return };
        if conn.read_paused || conn.backpressured || conn.in_ready() {
            return;
        }
        conn.set_in_ready(true);
        self.ready.push(key);
    }

    /// `id`, if it is open or still connecting (neither closing nor closed).
    fn open_conn(&mut self, id: ConnId) -> Result<&mut Conn, Error> {
        let Some(conn) = self.get_mut(id) else { return Err(Error::UnknownConnection(id)) };
        if conn.accepts_output() {
            Ok(conn)
        } else {
            Err(Error::ConnectionClosed(id))
        }
    }

    // ---- accepting and stopping -------------------------------------------------

    /// Whether a refusal at `max_connections` is the first since the count
    /// was last below the limit, the one to warn of.
    pub(crate) fn first_refusal_at_limit(&mut self) -> bool {
        !std::mem::replace(&mut self.limit_warned, true)
    }

    /// Pauses accepting for the next back-off interval, after a resource
    /// error (EMFILE and friends): no busy loop, and a retry timer resumes
    /// accepting by itself.
    pub(crate) fn back_off_accepting(&mut self) {
        let next = self.accept_backoff.next();
        self.stats.accept_backoffs += 1;
        if !self.accept_retry_armed {
            self.accept_retry_armed = true;
            self.timers.insert(self.now + next, TimerKind::AcceptRetry);
        }
    }

    /// Whether listeners should be accepted from now.
    pub(crate) fn accepting(&self) -> bool {
        !self.accept_paused && !self.accept_retry_armed && !self.stopping
    }

    /// The graceful stop: listeners close, open connections flush and
    /// close, a deadline bounds the wait.
    pub(crate) fn begin_stop(&mut self) {
        self.stopping = true;
        for listener in self.listeners.drain() {
            drop(listener);
        }
        self.accept_more.clear();
        let keys: Vec<usize> = self.conns.iter().map(|(k, _)| k).collect();
        for key in keys {
            match self.conns[key].state {
                State::Open | State::HalfClosed { .. } => self.begin_closing(key, CloseReason::Shutdown),
                State::Connecting => self.mark_closed(key, CloseReason::Shutdown),
                State::Closing(_) | State::Closed(_) => {}
            }
        }
        self.stops += 1;
        self.timers.insert(self.now + self.config.shutdown_timeout, TimerKind::StopDeadline(self.stops));
    }

    /// The end of a graceful stop that cannot wait any longer (its deadline
    /// passed, or a second signal came): every connection closes now,
    /// whatever output it still holds.
    pub(crate) fn stop_now(&mut self) {
        let keys: Vec<usize> = self.conns.iter().map(|(k, _)| k).collect();
        crate::log::stopping_now(keys.len());
        for key in keys {
            self.mark_closed(key, CloseReason::Shutdown);
        }
        self.lingering.clear();
    }

    // ---- deadlines --------------------------------------------------------------

    /// The earliest deadline of `conn`, and the reason it closes at it.
    pub(crate) fn conn_deadline(&self, conn: &Conn) -> Option<(Instant, Option<CloseReason>)> {
        let mut best: Option<(Instant, Option<CloseReason>)> = None;
        let mut consider = |at: Instant, why: Option<CloseReason>| {
            if best.as_ref().is_none_or(|(b, _)| at < *b) {
                best = Some((at, why));
            }
        };
        match conn.state {
            // Paused by the handler: the wait is this side's, not the peer's.
            State::Open | State::Connecting if conn.read_paused => {}
            State::Open | State::Connecting => {
                if let Some(t) = self.config.idle_timeout {
                    consider(conn.last_active + t, Some(CloseReason::IdleTimeout));
                }
                if let (Some(t), Some(start)) = (self.config.frame_timeout, conn.frame_started) {
                    consider(start + t, Some(CloseReason::FrameTimeout));
                }
                if let Some(start) = conn.stream.handshake_started() {
                    consider(start + self.config.handshake_timeout, Some(CloseReason::HandshakeTimeout));
                }
            }
            // A closing connection whose peer does not read is cut off after
            // the shutdown timeout; `None` keeps the closing reason.
            State::Closing(_) => consider(conn.last_active + self.config.shutdown_timeout, None),
            State::HalfClosed { until, .. } => consider(until, Some(CloseReason::HalfCloseTimeout)),
            State::Closed(_) => {}
        }
        best
    }

    /// Makes sure a timer entry exists no later than `key`'s deadline.
    pub(crate) fn arm_conn_timer(&mut self, key: usize) {
        let Some(conn) = self.conns.get(key) else { return };
        let Some((at, _)) = self.conn_deadline(conn) else { return };
        if conn.timer_at.is_some_and(|armed| armed <= at) {
            return;
        }
        let generation = conn.generation;
        self.timers.insert(at, TimerKind::Conn { key, generation });
        if let Some(conn) = self.conns.get_mut(key) {
            conn.timer_at = Some(at);
        }
    }

    /// A connection's timer entry for `at` fired: close it if a deadline
    /// really passed, or re-arm for the deadline activity moved it to.
    pub(crate) fn conn_timer_fired(&mut self, key: usize, generation: u32, at: Instant) {
        let Some(conn) = self.conns.get_mut(key).filter(|c| c.generation == generation) else { return };
        if conn.timer_at != Some(at) {
            return; // superseded by an earlier entry
        }
        conn.timer_at = None;
        let Some((deadline, why)) = self.conn_deadline(&self.conns[key]) else { return };
        if deadline > self.now {
            self.arm_conn_timer(key);
            return;
        }
        if matches!(self.conns[key].state, State::HalfClosed { .. }) {
            // The replies queued by now still go out; the peer reads.
            self.begin_closing(key, CloseReason::HalfCloseTimeout);
            return;
        }
        let reason = match (why, &self.conns[key].state) {
            (Some(reason), _) => reason,
            (None, State::Closing(reason)) => reason.clone(),
            (None, _) => CloseReason::Aborted,
        };
        self.mark_closed(key, reason);
    }
}

/// Whether a connection closing for `reason` has read its peer's end of
/// stream: nothing it sent can be left unread.
fn input_ended(reason: &CloseReason) -> bool {
    matches!(reason, CloseReason::PeerClosed | CloseReason::PeerClosedMidFrame { .. })
}

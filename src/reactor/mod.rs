//! The engine: one thread, one `mio::Poll`, every socket. See [`Reactor`].

mod backoff;
mod bind;
mod builder;
mod chunk;
mod conn;
mod connect;
mod core;
mod ctx;
mod group;
mod io;
mod linger;
mod mailbox;
mod remote;
#[cfg(feature = "signals")]
mod signals;
mod stats;
mod stream;
mod thread;
mod timer;
#[cfg(feature = "tls")]
pub(crate) mod tls;

use std::sync::Arc;
use std::time::{Duration, Instant};

use mio::{Events, Poll, Waker};

pub use builder::ReactorBuilder;
pub use ctx::Ctx;
pub use group::{Distribution, ReactorGroup};
pub use remote::Remote;
pub use stats::Stats;

pub(crate) use self::chunk::{Chunk, HandOut, Weigh};
pub(crate) use self::mailbox::Mailbox;

pub(crate) use self::backoff::Backoff;
#[cfg(unix)]
pub(crate) use self::bind::set_unix_mode;
pub(crate) use self::bind::{bind, BindOptions, DEFAULT_BACKLOG};
pub(crate) use self::builder::FOREVER;
pub(crate) use self::connect::{connect_blocking, Blocking};
pub(crate) use self::io::reason_for;
pub(crate) use self::stream::{client_tls, ClientTls, ClientTlsConfig, ListenSocket, ServerTls};
pub(crate) use self::thread::{end_run, lock, spawn, Life};
pub(crate) use self::timer::deadline_after;

use self::builder::Config;
use self::conn::{token_conn, State, LISTENER_BIT, WAKER};
use self::core::{slot, Core};
use self::timer::TimerKind;
use crate::addr::{first_addr, Addr, ToAddrs};
use crate::error::Error;
use crate::handler::{ConnId, Handler};

/// Readiness events taken from the poller per turn.
const EVENTS_CAPACITY: usize = 1024;

/// The engine: one thread, one `mio::Poll`, every socket.
///
/// A [`Reactor`] owns its listeners and connections, reads from them into
/// one shared buffer, hands each complete message to a
/// [`Handler`](crate::Handler) as a borrowed `&[u8]`, and writes what the
/// handler queued, one write per connection per loop turn.
///
/// ```no_run
/// use frameloop::{ConnId, Ctx, Handler, Reactor};
///
/// struct Echo;
/// impl Handler for Echo {
///     fn on_frame(&mut self, ctx: &mut Ctx<'_>, conn: ConnId, frame: &[u8]) {
///         let _ = ctx.send(conn, frame);
///     }
/// }
///
/// let mut reactor = Reactor::builder().max_frame_len(1 << 20).build()?;
/// let addr = reactor.listen("127.0.0.1:7000")?;
/// println!("echo server on {addr}");
/// reactor.run(&mut Echo)?; // until a callback calls ctx.stop()
/// # Ok::<(), frameloop::Error>(())
/// ```
///
/// # One loop turn
///
/// 1. Wait for readiness (or a timer, or a wake-up from another thread).
/// 2. For each ready connection, read until the socket is drained or the
///    read budget is spent; cut messages in place and call `on_frame`.
///    Listeners accept up to a batch.
/// 3. Read the connections whose budget ran out last turn.
/// 4. Fire due timers (the handler's, idle and message deadlines, accept
///    retries).
/// 5. Write each connection that has queued output, once; what the kernel
///    does not take waits for the socket to become writable.
/// 6. Call `on_close` for the connections that closed, and forget them.
#[derive(Debug)]
pub struct Reactor {
    poll: Poll,
    events: Events,
    waker: Arc<Waker>,
    /// SIGINT/SIGTERM handlers, if the builder asked for them.
    #[cfg(feature = "signals")]
    signals: Option<signals::SignalStop>,
    core: Core,
}

/// Wakes a [`Reactor`] from another thread: the reactor calls
/// [`Handler::on_wake`]. Cheap to clone; `Send` and `Sync`.
///
/// ```
/// use frameloop::{ConnId, Ctx, Handler, Reactor};
///
/// struct StopOnWake;
/// impl Handler for StopOnWake {
///     fn on_frame(&mut self, _: &mut Ctx<'_>, _: ConnId, _: &[u8]) {}
///     fn on_wake(&mut self, ctx: &mut Ctx<'_>) {
///         ctx.stop();
///     }
/// }
///
/// let mut reactor = Reactor::new()?;
/// let notifier = reactor.notifier();
/// // From another thread; a wake-up before `run` is kept for it.
/// std::thread::spawn(move || notifier.notify()).join().unwrap()?;
/// reactor.run(&mut StopOnWake)?; // returns: on_wake ran and stopped the loop
/// # Ok::<(), frameloop::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Notifier {
    waker: Arc<Waker>,
}

impl Notifier {
    /// Makes the reactor call [`Handler::on_wake`] soon. Several calls before
    /// the reactor gets to it may result in one `on_wake`.
    ///
    /// ```
    /// use frameloop::{ConnId, Ctx, Handler, Reactor};
    ///
    /// struct Wakes(u32);
    /// impl Handler for Wakes {
    ///     fn on_frame(&mut self, _: &mut Ctx<'_>, _: ConnId, _: &[u8]) {}
    ///     fn on_wake(&mut self, ctx: &mut Ctx<'_>) {
    ///         self.0 += 1;
    ///         ctx.stop();
    ///     }
    /// }
    ///
    /// let mut reactor = Reactor::new()?;
    /// let notifier = reactor.notifier();
    /// notifier.notify()?;
    /// notifier.clone().notify()?; // coalesces with the first
    /// let mut wakes = Wakes(0);
    /// reactor.run(&mut wakes)?;
    /// assert_eq!(wakes.0, 1);
    /// # Ok::<(), frameloop::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Io`] if the system refuses the wake-up.
    pub fn notify(&self) -> Result<(), Error> {
        self.waker.wake().map_err(Error::Io)
    }
}

impl Reactor {
    /// A builder with every setting at its default.
    ///
    /// ```
    /// use frameloop::Reactor;
    ///
    /// let reactor = Reactor::builder().lines().max_connections(100).build()?;
    /// assert!(reactor.local_addrs().is_empty()); // nothing listens until `listen`
    /// # Ok::<(), frameloop::Error>(())
    /// ```
    pub fn builder() -> ReactorBuilder {
        ReactorBuilder::default()
    }

    /// A reactor with every setting at its default.
    ///
    /// ```
    /// use frameloop::{Reactor, Stats};
    ///
    /// let reactor = Reactor::new()?; // frames, default limits
    /// assert_eq!(reactor.stats(), Stats::default());
    /// # Ok::<(), frameloop::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Io`] if the system refuses to create the poller.
    pub fn new() -> Result<Self, Error> {
        Self::with_config(Config::default())
    }

    pub(crate) fn with_config(config: Config) -> Result<Self, Error> {
        let poll = Poll::new()?;
        let waker = Arc::new(Waker::new(poll.registry(), WAKER)?);
        // Installed now rather than in `run`, so that a signal between the
        // two is not lost (nor ends the process): the next run sees it.
        #[cfg(feature = "signals")]
        let signals = if config.stop_on_signals { Some(signals::SignalStop::register(poll.registry())?) } else { None };
        let registry = poll.registry().try_clone()?;
        let router = Arc::new(remote::Router::new(
            remote::new_group(),
            config.codec,
            vec![Notifier { waker: Arc::clone(&waker) }],
        ));
        Ok(Reactor {
            poll,
            events: Events::with_capacity(EVENTS_CAPACITY),
            waker,
            #[cfg(feature = "signals")]
            signals,
            core: Core::new(registry, config, router),
        })
    }

    /// Listens on `addr` (any number of listeners may be added); returns
    /// the address bound, which tells the port when `addr` asked for port 0.
    ///
    /// ```
    /// use frameloop::{Error, Reactor};
    ///
    /// let mut reactor = Reactor::new()?;
    /// let addr = reactor.listen("127.0.0.1:0")?;
    /// assert_ne!(addr.tcp().unwrap().port(), 0); // the port the system chose
    /// assert!(matches!(reactor.listen(addr), Err(Error::AddrInUse { .. })));
    /// assert!(matches!(reactor.listen("127.0.0.1"), Err(Error::InvalidAddress { .. }))); // no port
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

    /// Listens on `addr` for TLS: each connection accepted there does its
    /// handshake first, and the handler hears `on_open` once it completes
    /// (a connection whose handshake fails or runs past
    /// [`handshake_timeout`](ReactorBuilder::handshake_timeout) is closed,
    /// with `on_close` and the reason, and no `on_open`). Messages are cut
    /// from the plaintext; [`Ctx::tls`] tells what the handshake agreed.
    ///
    /// ```
    /// use frameloop::tls::TlsServerFiles;
    /// use frameloop::Reactor;
    ///
    /// let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/tls");
    /// let config = TlsServerFiles::new(format!("{dir}/server.pem"), format!("{dir}/server.key")).load()?;
    /// let mut reactor = Reactor::new()?;
    /// let addr = reactor.listen_tls("127.0.0.1:0", config)?;
    /// assert!(addr.tcp().is_some());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// As [`listen`](Self::listen).
    #[cfg(feature = "tls")]
    pub fn listen_tls<A: ToAddrs>(&mut self, addr: A, config: Arc<rustls::ServerConfig>) -> Result<Addr, Error> {
        self.core.listen(&first_addr(&addr)?, Some(config))
    }

    /// Starts an outgoing connection, established once [`run`](Self::run)
    /// runs (see [`Ctx::connect`]).
    ///
    /// ```
    /// use std::io::Read;
    /// use frameloop::{CloseReason, ConnId, Ctx, Handler, Reactor};
    ///
    /// /// Says hello to the server it connected to, and leaves.
    /// struct Hello(ConnId);
    /// impl Handler for Hello {
    ///     fn on_open(&mut self, ctx: &mut Ctx<'_>, conn: ConnId) {
    ///         assert_eq!(conn, self.0); // the id `connect` returned
    ///         let _ = ctx.send(conn, b"hi");
    ///         let _ = ctx.close(conn);
    ///     }
    ///     fn on_frame(&mut self, _: &mut Ctx<'_>, _: ConnId, _: &[u8]) {}
    ///     fn on_close(&mut self, ctx: &mut Ctx<'_>, _: ConnId, _: CloseReason) {
    ///         ctx.stop();
    ///     }
    /// }
    ///
    /// let server = std::net::TcpListener::bind("127.0.0.1:0")?;
    /// let addr = server.local_addr()?;
    /// let peer = std::thread::spawn(move || -> std::io::Result<Vec<u8>> {
    ///     let mut got = Vec::new();
    ///     server.accept()?.0.read_to_end(&mut got)?;
    ///     Ok(got)
    /// });
    /// let mut reactor = Reactor::new()?;
    /// let conn = reactor.connect(addr)?;
    /// reactor.run(&mut Hello(conn))?;
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

    /// Starts an outgoing TLS connection to `addr`, whose certificate must
    /// name `server_name` (also sent as SNI): once the handshake completes
    /// the handler hears `on_open`; a failed handshake is `on_close` with
    /// [`CloseReason::Tls`](crate::CloseReason::Tls), and no `on_open`.
    ///
    /// ```
    /// use frameloop::tls::TlsClientFiles;
    /// use frameloop::Reactor;
    ///
    /// let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/tls");
    /// let config = TlsClientFiles::new(format!("{dir}/ca.pem")).load()?;
    /// let mut reactor = Reactor::new()?;
    /// let server = std::net::TcpListener::bind("127.0.0.1:0")?;
    /// let _conn = reactor.connect_tls(server.local_addr()?, &config, "localhost")?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// As [`connect`](Self::connect); [`Error::Io`] of kind `InvalidInput`
    /// for a server name that is neither a DNS name nor an IP address.
    #[cfg(feature = "tls")]
    pub fn connect_tls<A: ToAddrs>(
        &mut self,
        addr: A,
        config: &Arc<rustls::ClientConfig>,
        server_name: &str,
    ) -> Result<ConnId, Error> {
        self.core.connect(&first_addr(&addr)?, Some((config, server_name)))
    }

    /// Takes over a connected standard-library stream (see [`Ctx::adopt`]).
    ///
    /// ```
    /// use std::io::Write;
    /// use std::net::{Shutdown, TcpListener, TcpStream};
    /// use frameloop::{ConnId, Ctx, Handler, Reactor};
    ///
    /// struct Got(ConnId, Vec<u8>);
    /// impl Handler for Got {
    ///     fn on_frame(&mut self, ctx: &mut Ctx<'_>, conn: ConnId, frame: &[u8]) {
    ///         assert_eq!(conn, self.0);
    ///         self.1.extend_from_slice(frame);
    ///         ctx.stop();
    ///     }
    /// }
    ///
    /// let listener = TcpListener::bind("127.0.0.1:0")?;
    /// let stream = TcpStream::connect(listener.local_addr()?)?; // connected elsewhere
    /// let (mut peer, _) = listener.accept()?;
    /// let mut reactor = Reactor::new()?;
    /// let conn = reactor.adopt(stream)?;
    /// peer.write_all(b"\0\0\0\x03abc")?;
    /// peer.shutdown(Shutdown::Write)?;
    /// let mut got = Got(conn, Vec::new());
    /// reactor.run(&mut got)?;
    /// assert_eq!(got.1, b"abc");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Io`] if it cannot be registered.
    pub fn adopt(&mut self, stream: std::net::TcpStream) -> Result<ConnId, Error> {
        self.core.adopt(connect::Blocking::Tcp(stream), None)
    }

    /// Takes over a connected standard-library Unix stream, as
    /// [`adopt`](Self::adopt) does a TCP one.
    ///
    /// ```
    /// use std::io::Write;
    /// use frameloop::{ConnId, Ctx, Handler, Reactor};
    ///
    /// struct Got(Vec<u8>);
    /// impl Handler for Got {
    ///     fn on_frame(&mut self, ctx: &mut Ctx<'_>, _: ConnId, frame: &[u8]) {
    ///         self.0.extend_from_slice(frame);
    ///         ctx.stop();
    ///     }
    /// }
    ///
    /// let (ours, mut theirs) = std::os::unix::net::UnixStream::pair()?;
    /// let mut reactor = Reactor::new()?;
    /// reactor.adopt_unix(ours)?;
    /// theirs.write_all(b"\0\0\0\x02hi")?;
    /// let mut got = Got(Vec::new());
    /// reactor.run(&mut got)?;
    /// assert_eq!(got.0, b"hi");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Io`] if it cannot be registered.
    #[cfg(unix)]
    pub fn adopt_unix(&mut self, stream: std::os::unix::net::UnixStream) -> Result<ConnId, Error> {
        self.core.adopt(connect::Blocking::Unix(stream), None)
    }

    /// Serves a listener that is already bound (the facade binds before it
    /// builds the reactor, so that a busy port is reported at once).
    pub(crate) fn adopt_listener(&mut self, socket: stream::ListenSocket, tls: ServerTls) -> Result<Addr, Error> {
        self.core.adopt_listener(socket, tls)
    }

    /// How this reactor cuts and wraps messages: the facade checks what it
    /// is asked to send against it before queueing a command.
    pub(crate) fn codec(&self) -> crate::codec::Codec {
        self.core.config.codec
    }

    /// A handle other threads use to wake this reactor.
    ///
    /// ```
    /// let reactor = frameloop::Reactor::new()?;
    /// let notifier = reactor.notifier();
    /// std::thread::spawn(move || notifier.notify()).join().unwrap()?; // Send + Sync
    /// # Ok::<(), frameloop::Error>(())
    /// ```
    pub fn notifier(&self) -> Notifier {
        Notifier { waker: Arc::clone(&self.waker) }
    }

    /// A handle any thread uses to send to, or close, this reactor's
    /// connections (see [`Remote`]).
    ///
    /// ```
    /// let reactor = frameloop::Reactor::new()?;
    /// let remote = reactor.remote();
    /// std::thread::spawn(move || remote.stop()).join().unwrap(); // Send + Sync
    /// # Ok::<(), frameloop::Error>(())
    /// ```
    pub fn remote(&self) -> Remote {
        Remote::new(Arc::clone(&self.core.router))
    }

    /// The addresses this reactor listens on.
    ///
    /// ```
    /// let mut reactor = frameloop::Reactor::new()?;
    /// let a = reactor.listen("127.0.0.1:0")?;
    /// let b = reactor.listen("127.0.0.1:0")?;
    /// assert_eq!(reactor.local_addrs().len(), 2);
    /// assert!(reactor.local_addrs().contains(&a) && reactor.local_addrs().contains(&b));
    /// # Ok::<(), frameloop::Error>(())
    /// ```
    pub fn local_addrs(&self) -> Vec<Addr> {
        self.core.listeners.iter().map(|(_, l)| l.addr.clone()).collect()
    }

    /// The reactor's counters.
    ///
    /// ```
    /// use std::io::Write;
    /// use frameloop::{ConnId, Ctx, Handler, Reactor};
    ///
    /// struct StopAtFirst;
    /// impl Handler for StopAtFirst {
    ///     fn on_frame(&mut self, ctx: &mut Ctx<'_>, _: ConnId, _: &[u8]) {
    ///         ctx.stop();
    ///     }
    /// }
    ///
    /// let mut reactor = Reactor::new()?;
    /// let addr = reactor.listen("127.0.0.1:0")?;
    /// std::net::TcpStream::connect(addr)?.write_all(b"\0\0\0\x02hi")?;
    /// reactor.run(&mut StopAtFirst)?;
    /// let stats = reactor.stats(); // a copy, taken after the run
    /// assert_eq!((stats.accepted, stats.frames_in, stats.bytes_in), (1, 1, 6));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn stats(&self) -> Stats {
        self.core.stats
    }

    /// Runs the loop on this thread, calling `handler`, until a callback
    /// calls [`Ctx::stop`] (or, with `ReactorBuilder::stop_on_signals` and the
    /// `signals` feature, the process gets SIGINT or SIGTERM) and the
    /// graceful stop completes.
    ///
    /// ```
    /// use frameloop::{ConnId, Ctx, Handler, Reactor};
    ///
    /// struct Once(u32);
    /// impl Handler for Once {
    ///     fn on_frame(&mut self, _: &mut Ctx<'_>, _: ConnId, _: &[u8]) {}
    ///     fn on_wake(&mut self, ctx: &mut Ctx<'_>) {
    ///         self.0 += 1;
    ///         ctx.stop();
    ///     }
    /// }
    ///
    /// let mut reactor = Reactor::new()?;
    /// let mut once = Once(0);
    /// for _ in 0..2 {
    ///     reactor.notifier().notify()?;
    ///     reactor.run(&mut once)?; // returns after ctx.stop(); the reactor can run again
    /// }
    /// assert_eq!(once.0, 2);
    /// # Ok::<(), frameloop::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Io`] only if the poller itself fails; errors of single
    /// connections close those connections and are reported to
    /// [`Handler::on_close`].
    pub fn run<H: Handler>(&mut self, handler: &mut H) -> Result<(), Error> {
        self.start_run();
        while !self.turn(handler, None)? {}
        Ok(())
    }

    /// Readies the reactor for a run made of [`turn`](Self::turn)s, as
    /// [`run`](Self::run) does before its first.
    pub(crate) fn start_run(&mut self) {
        let core = &mut self.core;
        core.stop_requested = false;
        core.stopping = false;
        // A handler that panicked in an earlier run may have left these.
        core.lendable = None;
        core.lent_to = None;
        // Listeners added before `run` may already hold connections.
        core.accept_more.extend(core.listeners.iter().map(|(k, _)| k));
    }

    /// The reactor between two [`turn`](Self::turn)s of a run, for a
    /// facade whose program thread holds it to send (`facade/baton.rs`):
    /// what it queues is written at the start of the next turn.
    pub(crate) fn between_turns(&mut self) -> Ctx<'_> {
        Ctx::new(&mut self.core)
    }

    /// One turn of the loop: waits for readiness (for at most `cap`, if
    /// given), handles what is ready, the timers and the stop. True once
    /// the run is over: a stop was asked for and has completed. A facade
    /// whose program thread drives the reactor between its own work runs
    /// it turn by turn (`facade/baton.rs`); `run` is these turns in a loop.
    pub(crate) fn turn<H: Handler>(&mut self, handler: &mut H, cap: Option<Duration>) -> Result<bool, Error> {
        #[cfg(feature = "signals")]
        let Reactor { poll, events, core, signals, .. } = self;
        #[cfg(not(feature = "signals"))]
        let Reactor { poll, events, core, .. } = self;
        // What was sent between turns (`between_turns`) leaves before the
        // loop sleeps, with the time it leaves at.
        if unsettled(core) {
            core.now = Instant::now();
            settle(core, handler);
        }
        let timeout = if !core.ready.is_empty() || !core.accept_more.is_empty() {
            Some(Duration::ZERO)
        } else {
            core.timers.next_deadline().map(|at| at.saturating_duration_since(Instant::now()))
        };
        let timeout = match (timeout, cap) {
            (Some(t), Some(cap)) => Some(t.min(cap)),
            (t, cap) => t.or(cap),
        };
        if let Err(e) = wait(poll, events, timeout, core.config.busy_poll) {
            if e.kind() != std::io::ErrorKind::Interrupted {
                crate::log::poll_failed(&e);
                return Err(Error::Io(e));
            }
        }
        core.now = Instant::now();
        if core.now >= core.trim_at {
            core.pools.trim();
            core.trim_at = core.now + core::TRIM_EVERY;
        }
        core.stats.polls += 1;

        // Taken before the events, and unflagged, so that a connection
        // whose budget runs out again during this turn's events is
        // queued again for the next turn rather than forgotten.
        // Swapped with last turn's list, emptied but with its
        // capacity: a connection kept reading by backpressure or its
        // budget would otherwise cost an allocation each turn.
        let mut ready = std::mem::replace(&mut core.ready, std::mem::take(&mut core.ready_spare));
        // And not yet read this turn: the mark is looked at only for
        // the connections of this list, so it is cleared only for them.
        for &key in &ready {
            if let Some(conn) = core.conns.get_mut(key) {
                conn.set_in_ready(false);
                conn.set_read_this_turn(false);
            }
        }
        let accept_more = std::mem::take(&mut core.accept_more);
        for event in events.iter() {
            // Before `dispatch`: the signal token would pass there for a
            // lingering socket's.
            #[cfg(feature = "signals")]
            if event.token() == conn::SIGNALS {
                if let Some(signals) = signals.as_mut() {
                    signals.on_ready(core);
                }
                continue;
            }
            dispatch(core, handler, event);
        }
        for &key in &ready {
            let Some(conn) = core.conns.get_mut(key) else { continue };
            if !conn.read_this_turn() {
                let id = core.id_of(key);
                io::read_conn(core, handler, id);
            }
        }
        ready.clear();
        core.ready_spare = ready;
        for lkey in accept_more {
            io::accept(core, handler, lkey);
        }
        fire_timers(core, handler);
        settle(core, handler);

        if core.stop_requested && !core.stopping {
            if core.router.len() > 1 && !core.router.stop_asked() {
                // One reactor's stop is its whole group's.
                core.router.stop_all();
            }
            core.begin_stop();
            settle(core, handler);
        }
        // Last, so that the turn's closes (and the stop's) are in it;
        // what it does itself is carried out before the loop sleeps.
        handler.on_turn_end(&mut Ctx::new(core));
        settle(core, handler);
        if core.stopping && core.conns.is_empty() && core.lingering.is_empty() {
            core.stopping = false;
            core.stop_requested = false;
            if core.router.len() == 1 {
                // A group's reactors all see its stop before it ends
                // (`ReactorGroup::run`); one alone has seen it now.
                core.router.stop_done();
            }
            return Ok(true);
        }
        Ok(false)
    }
}

/// A reactor dropped takes no more mail: a [`Remote`] call for it is
/// refused with [`Error::Stopped`] from then on, not queued for nobody.
impl Drop for Reactor {
    fn drop(&mut self) {
        if let Some(mailbox) = self.core.router.mailboxes.get(self.core.reactor()) {
            mailbox.close();
        }
    }
}

/// Waits for readiness for up to `timeout` (`None`: until something
/// happens). With busy polling on (`spin`), it first polls without sleeping,
/// again and again, for up to `spin` but never past `timeout`, and sleeps
/// only if that found nothing: a message that arrives within `spin` then
/// finds the thread awake instead of having to wake it.
fn wait(
    poll: &mut Poll,
    events: &mut Events,
    timeout: Option<Duration>,
    spin: Option<Duration>,
) -> std::io::Result<()> {
    // A turn that already has work to do does not wait at all.
    let Some(spin) = spin.filter(|s| !s.is_zero() && timeout != Some(Duration::ZERO)) else {
        return poll.poll(events, timeout);
    };
    let start = Instant::now();
    let spin = timeout.map_or(spin, |t| spin.min(t));
    loop {
        poll.poll(events, Some(Duration::ZERO))?;
        if !events.is_empty() {
            return Ok(());
        }
        let spent = start.elapsed();
        if spent >= spin {
            return poll.poll(events, timeout.map(|t| t.saturating_sub(spent)));
        }
        // Gives the core away if another thread waits for it (on a busy
        // machine, maybe the very peer whose message this loop waits for):
        // spinning through the time slice instead made the 99th percentile
        // of round trips dozens of times worse there.
        std::thread::yield_now();
    }
}

/// Routes one readiness event.
fn dispatch<H: Handler>(core: &mut Core, handler: &mut H, event: &mio::event::Event) {
    let token = event.token();
    if token == WAKER {
        remote::deliver(core, handler);
        handler.on_wake(&mut Ctx::new(core));
        return;
    }
    if let Some(key) = linger::lingering_key(token) {
        linger::drain(core, key);
        return;
    }
    if token.0 & LISTENER_BIT != 0 {
        io::accept(core, handler, token.0 & !LISTENER_BIT);
        return;
    }
    let Some((index, generation)) = token_conn(token) else { return };
    // A stale event for a connection that is gone, even if its slot was
    // reused, fails the generation check here.
    let id = ConnId { index: index as u32, generation, home: core.home };
    let Some(conn) = core.get_mut(id) else { return };
    if event.is_read_closed() {
        conn.set_read_closed();
    }
    if conn.state == State::Connecting && !io::finish_connect(core, handler, id) {
        return;
    }
    let Some(conn) = slot(&mut core.conns, core.home, id) else { return };
    if (event.is_writable() || event.is_write_closed()) && conn.queued() > 0 {
        conn.flush_soon(id.index(), &mut core.dirty);
    }
    if event.is_readable() || event.is_read_closed() || event.is_error() {
        io::read_conn(core, handler, id);
    }
}

/// Fires every due timer.
fn fire_timers<H: Handler>(core: &mut Core, handler: &mut H) {
    while let Some((at, kind)) = core.timers.pop_due(core.now) {
        match kind {
            TimerKind::User(id) => handler.on_timer(&mut Ctx::new(core), id),
            TimerKind::Conn { key, generation } => core.conn_timer_fired(key, generation, at),
            TimerKind::AcceptRetry => {
                core.accept_retry_armed = false;
                let keys: Vec<usize> = core.listeners.iter().map(|(k, _)| k).collect();
                for lkey in keys {
                    io::accept(core, handler, lkey);
                }
            }
            TimerKind::StopDeadline(stop) => {
                if core.stopping && stop == core.stops {
                    core.stop_now();
                }
            }
            TimerKind::Linger(key) => linger::expire(core, key),
        }
    }
}

/// Whether output waits to be written or a closed connection to be reaped:
/// work for [`settle`].
fn unsettled(core: &Core) -> bool {
    !core.dirty.is_empty() || !core.to_reap.is_empty()
}

/// Writes queued output and reaps closed connections until neither leaves
/// work for the other (an `on_close` may send, a write may finish a close).
fn settle<H: Handler>(core: &mut Core, handler: &mut H) {
    loop {
        if !unsettled(core) {
            return;
        }
        let mut dirty = std::mem::take(&mut core.dirty);
        for &key in &dirty {
            // Not if it was flushed since it was listed (right after its
            // read): a second write would find the socket full.
            if core.conns.get(key).is_some_and(|c| c.dirty) {
                io::flush_conn(core, handler, key);
            }
        }
        dirty.clear();
        if core.dirty.is_empty() {
            // Keep the list's allocation for the next turn.
            core.dirty = dirty;
        }
        let mut i = 0;
        while let Some(&key) = core.to_reap.get(i) {
            i += 1;
            let Some(conn) = core.conns.get(key) else { continue };
            let State::Closed(reason) = conn.state.clone() else { continue };
            let id = core.id_of(key);
            handler.on_close(&mut Ctx::new(core), id, reason);
            // Closing the descriptor removes it from the poller; no
            // deregister call is needed.
            let conn = core.conns.remove(key);
            core.load().fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
            if core.conns.len() < core.config.max_connections {
                // Below the limit again: the next refusal is news, a warning.
                core.limit_warned = false;
            }
            if conn.linger() {
                linger::start(core, conn.stream);
            }
        }
        core.to_reap.clear();
    }
}

//! Several reactors, one per thread, serving the same addresses: see
//! [`ReactorGroup`].

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use super::bind::bind;
use super::core::Core;
use super::remote::{new_group, Mail, Remote, Router};
use super::stream::Stream;
use super::thread::panic_message;
use super::{Notifier, Reactor, ReactorBuilder, Stats};
use crate::addr::{first_addr, Addr, ToAddrs};
use crate::error::Error;
use crate::handler::{ConnId, Handler, REACTOR_MASK};

/// How long the reactors of a group poll before they sleep, unless told
/// otherwise (see [`ReactorBuilder::busy_poll`]): with 2 reactors each half
/// busy, sleeping and being woken cost more than this spin (measured).
const GROUP_SPIN: Duration = Duration::from_micros(5);

/// How a [`ReactorGroup`] shares the connections of an address among its
/// reactors.
///
/// ```
/// use frameloop::{Distribution, Reactor};
///
/// let group = Reactor::builder().distribution(Distribution::Acceptor).build_group(2)?;
/// assert_eq!(group.len(), 2);
/// # Ok::<(), frameloop::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Distribution {
    /// Every reactor has a listener of its own on the address
    /// (`SO_REUSEPORT`), and the kernel picks one for each new connection
    /// by a hash of its addresses and ports. Accepting costs nothing
    /// between threads, but a few connections can fall unevenly (the hash
    /// does not know which reactor is busy), and only Linux (and FreeBSD
    /// with its `SO_REUSEPORT_LB`, which this does not set) spreads them at
    /// all: on macOS and the other BSDs one listener gets every connection.
    /// Another program of the same user can also listen on the port then.
    ReusePort,
    /// The first reactor alone listens, and hands each connection it
    /// accepts to the reactor with the fewest connections (itself
    /// included): the spread is even whatever the number of connections
    /// and on every system, at the cost of one hand-over (a lock and a
    /// wake-up) per accepted connection and of every accept running on the
    /// first reactor's thread.
    Acceptor,
}

impl Default for Distribution {
    /// [`Acceptor`](Self::Acceptor): an even spread on every system, which
    /// a few long-lived connections need most (the README's "Several
    /// cores" says what was measured).
    fn default() -> Self {
        Distribution::Acceptor
    }
}

/// Several [`Reactor`]s, each on a thread of its own, serving the same
/// addresses: a reactor per core. Each reactor owns the connections it
/// serves, as one reactor does, and its handler's callbacks run on its
/// thread alone, so a handler needs no lock for its own state.
///
/// - [`Ctx::send`](crate::Ctx::send), [`close`](crate::Ctx::close) and
///   [`broadcast`](crate::Ctx::broadcast) reach the connections of every
///   reactor of the group: a connection of another reactor is sent its
///   message through that reactor's mailbox (one lock, and one wake-up for
///   all the calls that find it empty). Queries ([`is_open`](crate::Ctx::is_open),
///   [`peer_addr`](crate::Ctx::peer_addr), [`queued`](crate::Ctx::queued),
///   `pause_reading`) answer for this reactor's connections only.
/// - A [`ConnId`](crate::ConnId) names its reactor
///   ([`ConnId::reactor`](crate::ConnId::reactor)): an id of another group, or
///   a stale one, is an error, never another connection.
/// - [`Ctx::stop`](crate::Ctx::stop) on any reactor (or
///   [`Remote::stop`]) stops them all, each gracefully; [`run`](Self::run)
///   returns once every one has stopped.
/// - Limits ([`max_connections`](ReactorBuilder::max_connections) and the
///   rest) are per reactor; so is the back-off after accept errors.
///
/// ```
/// use std::io::{Read, Write};
/// use std::sync::atomic::{AtomicUsize, Ordering};
/// use frameloop::{CloseReason, ConnId, Ctx, Handler, Reactor};
///
/// /// Echoes one message and closes; the second close anywhere stops all.
/// struct Echo<'a> {
///     closed: &'a AtomicUsize, // shared by the reactors: no 'static needed
///     echoed: u64,
/// }
/// impl Handler for Echo<'_> {
///     fn on_frame(&mut self, ctx: &mut Ctx<'_>, conn: ConnId, frame: &[u8]) {
///         self.echoed += 1;
///         let _ = ctx.send(conn, frame);
///         let _ = ctx.close(conn);
///     }
///     fn on_close(&mut self, ctx: &mut Ctx<'_>, _: ConnId, _: CloseReason) {
///         if self.closed.fetch_add(1, Ordering::SeqCst) + 1 == 2 {
///             ctx.stop(); // stops every reactor of the group
///         }
///     }
/// }
///
/// let mut group = Reactor::builder().build_group(2)?;
/// let addr = group.listen("127.0.0.1:0")?.tcp().unwrap();
/// let peers: Vec<_> = (0..2)
///     .map(|_| {
///         std::thread::spawn(move || -> std::io::Result<Vec<u8>> {
///             let mut peer = std::net::TcpStream::connect(addr)?;
///             peer.write_all(b"\0\0\0\x02hi")?;
///             let mut echo = Vec::new();
///             peer.read_to_end(&mut echo)?;
///             Ok(echo)
///         })
///     })
///     .collect();
/// let closed = AtomicUsize::new(0);
/// let echoes = group.run(|_reactor| Echo { closed: &closed, echoed: 0 })?;
/// for peer in peers {
///     assert_eq!(peer.join().unwrap()?, b"\0\0\0\x02hi");
/// }
/// assert_eq!(echoes.iter().map(|e| e.echoed).sum::<u64>(), 2);
/// assert_eq!(group.total_stats().frames_in, 2);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct ReactorGroup {
    reactors: Vec<Reactor>,
    router: Arc<Router>,
}

impl ReactorBuilder {
    /// Builds `reactors` reactors with these settings, as a
    /// [`ReactorGroup`].
    ///
    /// ```
    /// let group = frameloop::Reactor::builder().lines().build_group(4)?;
    /// assert_eq!(group.len(), 4);
    /// # Ok::<(), frameloop::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Config`] for no reactor at all, more than 1,024, or
    /// settings [`build`](Self::build) refuses; [`Error::Io`] if the system
    /// refuses a poller.
    pub fn build_group(self, reactors: usize) -> Result<ReactorGroup, Error> {
        let most = REACTOR_MASK as usize + 1;
        if reactors == 0 || reactors > most {
            return Err(Error::Config(format!("a group needs between 1 and {most} reactors")));
        }
        let mut builder = self;
        if reactors > 1 && builder.config.busy_poll.is_none() {
            builder.config.busy_poll = Some(GROUP_SPIN);
        }
        let mut built = (0..reactors).map(|_| builder.clone().build()).collect::<Result<Vec<Reactor>, Error>>()?;
        let codec = builder.config.codec;
        let router = Arc::new(Router::new(new_group(), codec, built.iter().map(Reactor::notifier).collect()));
        for (i, reactor) in built.iter_mut().enumerate() {
            reactor.core.router = Arc::clone(&router);
            reactor.core.home = router.home_of(i);
        }
        Ok(ReactorGroup { reactors: built, router })
    }

    /// How a group's reactors share the connections of an address (see
    /// [`Distribution`]; the default is [`Distribution::Acceptor`]).
    ///
    /// ```
    /// use frameloop::{Distribution, Reactor};
    ///
    /// let group = Reactor::builder().distribution(Distribution::ReusePort).build_group(2)?;
    /// # drop(group);
    /// # Ok::<(), frameloop::Error>(())
    /// ```
    pub fn distribution(mut self, distribution: Distribution) -> Self {
        self.config.distribution = distribution;
        self
    }
}

impl ReactorGroup {
    /// How many reactors the group has.
    ///
    /// ```
    /// assert_eq!(frameloop::Reactor::builder().build_group(3)?.len(), 3);
    /// # Ok::<(), frameloop::Error>(())
    /// ```
    #[allow(clippy::len_without_is_empty)] // a group has at least one reactor
    pub fn len(&self) -> usize {
        self.reactors.len()
    }

    /// Listens on `addr` on behalf of the whole group, as configured by
    /// [`distribution`](ReactorBuilder::distribution); returns the address
    /// bound.
    ///
    /// ```
    /// let mut group = frameloop::Reactor::builder().build_group(2)?;
    /// let addr = group.listen("127.0.0.1:0")?;
    /// assert_ne!(addr.tcp().unwrap().port(), 0);
    /// # Ok::<(), frameloop::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// As [`Reactor::listen`].
    pub fn listen<A: ToAddrs>(&mut self, addr: A) -> Result<Addr, Error> {
        self.listen_with(&first_addr(&addr)?, None)
    }

    /// Listens on `addr` for TLS on behalf of the whole group (see
    /// [`Reactor::listen_tls`]).
    ///
    /// # Errors
    ///
    /// As [`Reactor::listen`].
    #[cfg(feature = "tls")]
    pub fn listen_tls<A: ToAddrs>(
        &mut self,
        addr: A,
        config: std::sync::Arc<rustls::ServerConfig>,
    ) -> Result<Addr, Error> {
        self.listen_with(&first_addr(&addr)?, Some(config))
    }

    fn listen_with(&mut self, addr: &Addr, tls: super::ServerTls) -> Result<Addr, Error> {
        let shared = self.reactors.len() > 1 && self.distribution() == Distribution::ReusePort;
        // A Unix socket's path can be bound once: its reactor accepts for
        // the others, as with the acceptor distribution.
        if !shared || matches!(addr, Addr::Unix(_)) {
            return self.reactors[0].core.listen(addr, tls);
        }
        let options = self.reactors[0].core.bind_options(true);
        // Bound on the port the first one got: port 0 means one port for all.
        let first = bind(addr, options)?;
        let bound = first.local_addr()?;
        let mut sockets = vec![first];
        for _ in 1..self.reactors.len() {
            sockets.push(bind(&bound, options)?);
        }
        for (reactor, socket) in self.reactors.iter_mut().zip(sockets) {
            reactor.core.adopt_listener(socket, tls.clone())?;
        }
        Ok(bound)
    }

    /// The group's reactors, each to run on a thread of its own (the
    /// facade's servers spawn them one by one); they still reach each
    /// other's connections through their shared router.
    pub(crate) fn into_reactors(self) -> Vec<Reactor> {
        self.reactors
    }

    fn distribution(&self) -> Distribution {
        self.reactors[0].core.config.distribution
    }

    /// The addresses the group listens on.
    ///
    /// ```
    /// let mut group = frameloop::Reactor::builder().build_group(2)?;
    /// let addr = group.listen("127.0.0.1:0")?;
    /// assert_eq!(group.local_addrs(), vec![addr]);
    /// # Ok::<(), frameloop::Error>(())
    /// ```
    pub fn local_addrs(&self) -> Vec<Addr> {
        self.reactors[0].local_addrs()
    }

    /// Starts an outgoing connection on reactor `index` of the group (below
    /// [`len`](Self::len)), established once the group runs (see
    /// [`Reactor::connect`]). A reactor of a group runs only with all the
    /// others, in [`run`](Self::run): the group lends none out.
    ///
    /// ```
    /// let mut group = frameloop::Reactor::builder().build_group(2)?;
    /// let server = std::net::TcpListener::bind("127.0.0.1:0")?;
    /// let conn = group.connect(1, server.local_addr()?)?;
    /// assert_eq!(conn.reactor(), 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Config`] for an `index` past the last reactor; as
    /// [`Reactor::connect`].
    pub fn connect<A: ToAddrs>(&mut self, index: usize, addr: A) -> Result<ConnId, Error> {
        self.member(index)?.connect(addr)
    }

    /// A handle that wakes reactor `index` of the group (see
    /// [`Notifier`]).
    ///
    /// ```
    /// let group = frameloop::Reactor::builder().build_group(2)?;
    /// group.notifier(1)?.notify()?; // its handler's on_wake runs once the group runs
    /// assert!(group.notifier(2).is_err());
    /// # Ok::<(), frameloop::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Config`] for an `index` past the last reactor.
    pub fn notifier(&self, index: usize) -> Result<Notifier, Error> {
        self.reactors.get(index).map(Reactor::notifier).ok_or_else(|| no_such_reactor(index, self.len()))
    }

    fn member(&mut self, index: usize) -> Result<&mut Reactor, Error> {
        let len = self.len();
        self.reactors.get_mut(index).ok_or_else(|| no_such_reactor(index, len))
    }

    /// A handle any thread uses to send to, or close, the group's
    /// connections, or to stop the group (see [`Remote`]).
    ///
    /// ```
    /// let group = frameloop::Reactor::builder().build_group(2)?;
    /// let remote = group.remote();
    /// std::thread::spawn(move || remote.stop()).join().unwrap();
    /// # Ok::<(), frameloop::Error>(())
    /// ```
    pub fn remote(&self) -> Remote {
        Remote::new(Arc::clone(&self.router))
    }

    /// Each reactor's counters, in the order of the reactors.
    ///
    /// ```
    /// let group = frameloop::Reactor::builder().build_group(2)?;
    /// assert_eq!(group.stats().len(), 2);
    /// # Ok::<(), frameloop::Error>(())
    /// ```
    pub fn stats(&self) -> Vec<Stats> {
        self.reactors.iter().map(Reactor::stats).collect()
    }

    /// The counters of all the reactors added up.
    ///
    /// ```
    /// let group = frameloop::Reactor::builder().build_group(2)?;
    /// assert_eq!(group.total_stats(), frameloop::Stats::default());
    /// # Ok::<(), frameloop::Error>(())
    /// ```
    pub fn total_stats(&self) -> Stats {
        self.stats().into_iter().sum()
    }

    /// Runs every reactor on a thread of its own, each with the handler
    /// `make` returns for its index, until a stop ([`Ctx::stop`](crate::Ctx::stop)
    /// on any reactor, [`Remote::stop`], or with
    /// `stop_on_signals` SIGINT or SIGTERM) has stopped every reactor
    /// gracefully; returns the handlers, in the order of the reactors.
    /// `make` runs on the reactor's thread, and the handlers need not be
    /// `'static`.
    ///
    /// ```
    /// use frameloop::{ConnId, Ctx, Handler, Reactor};
    ///
    /// struct Idle(usize);
    /// impl Handler for Idle {
    ///     fn on_frame(&mut self, _: &mut Ctx<'_>, _: ConnId, _: &[u8]) {}
    /// }
    ///
    /// let mut group = Reactor::builder().build_group(3)?;
    /// group.remote().stop(); // asked before the run: it stops at once
    /// let handlers = group.run(Idle)?;
    /// assert_eq!(handlers.iter().map(|h| h.0).collect::<Vec<_>>(), [0, 1, 2]);
    /// # Ok::<(), frameloop::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// The first error that ended a reactor ([`Error::Panicked`] for a
    /// handler that panicked; the other reactors are then stopped
    /// gracefully, while the connections of the one whose handler panicked
    /// stay as they were, open, until the group runs again or is dropped),
    /// or [`Error::ThreadSpawn`].
    pub fn run<H, F>(&mut self, make: F) -> Result<Vec<H>, Error>
    where
        H: Handler + Send,
        F: Fn(usize) -> H + Sync,
    {
        let router = &self.router;
        let make = &make;
        let outcomes: Vec<Result<H, Error>> = std::thread::scope(|scope| {
            let mut threads = Vec::with_capacity(self.reactors.len());
            for (i, reactor) in self.reactors.iter_mut().enumerate() {
                let spawned =
                    std::thread::Builder::new().name(format!("frameloop-r{i}")).spawn_scoped(scope, move || {
                        let run = catch_unwind(AssertUnwindSafe(|| {
                            let mut handler = make(i);
                            reactor.run(&mut handler).map(|()| handler)
                        }));
                        let outcome = run.unwrap_or_else(|panic| Err(Error::Panicked(panic_message(&*panic))));
                        if outcome.is_err() {
                            // The others must not run on without it.
                            router.stop_all();
                        }
                        outcome
                    });
                match spawned {
                    Ok(thread) => threads.push(thread),
                    Err(e) => {
                        router.stop_all();
                        threads.into_iter().for_each(|t| drop(t.join()));
                        return vec![Err(Error::ThreadSpawn(e))];
                    }
                }
            }
            // The thread bodies catch panics, so joining cannot fail.
            threads.into_iter().map(|t| t.join().unwrap_or_else(|_| Err(Error::Panicked(String::new())))).collect()
        });
        router.stop_done();
        // Mail that came after a reactor's last turn: a socket handed on
        // then is closed (its peer sees the end of the stream), not left
        // open until the next run.
        for reactor in &mut self.reactors {
            super::remote::discard(&mut reactor.core);
        }
        outcomes.into_iter().collect()
    }
}

fn no_such_reactor(index: usize, len: usize) -> Error {
    Error::Config(format!("reactor {index} asked of a group of {len}"))
}

/// In a group whose first reactor accepts for all, hands `stream` to the
/// least loaded reactor, unless that is this one: returns it then, to be
/// served here.
pub(crate) fn hand_on(core: &mut Core, stream: Stream) -> Option<Stream> {
    // A Unix socket has one listener whatever the distribution (its path
    // binds once), so its connections are always handed on.
    let accepts_for_all = core.config.distribution == Distribution::Acceptor || stream.is_unix();
    if core.router.len() == 1 || !accepts_for_all {
        return Some(stream);
    }
    let target = core.router.least_loaded(core.next_pick);
    core.next_pick = core.next_pick.wrapping_add(1);
    if target == core.reactor() {
        return Some(stream);
    }
    // Counted now, so that the next accept of this batch sees it.
    core.router.loads[target].fetch_add(1, Ordering::Relaxed);
    if core.router.mailboxes[target].send(Mail::Adopt(stream)).is_err() {
        // Refused only once that reactor is dropped (a server's threads end
        // one by one): the socket went with the mail, closed, and its
        // peer sees the end of the stream; it was never that reactor's.
        core.router.loads[target].fetch_sub(1, Ordering::Relaxed);
    }
    None
}

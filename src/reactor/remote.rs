//! Reaching a connection from outside the reactor that owns it: from
//! another reactor's callback, or from any thread through a [`Remote`].
//!
//! Every reactor has a [`Mailbox`] of [`Mail`]; a reactor of a group knows
//! the mailboxes of all the others through their shared [`Router`]. A
//! [`ConnId`] names its reactor, so the router knows where a message for it
//! goes; the reactor that owns the connection carries the mail out when its
//! waker wakes it, after the same checks as its own callbacks' calls: a
//! stale id there finds nothing and is counted in
//! [`Stats::mail_undelivered`](crate::Stats::mail_undelivered).

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};
use std::sync::Arc;

use super::chunk::Weigh;
use super::core::Core;
use super::ctx::Ctx;
use super::mailbox::Mailbox;
use super::Notifier;
use crate::codec::Codec;
use crate::error::Error;
use crate::handler::{CloseReason, ConnId, Handler, REACTOR_BITS, REACTOR_MASK};

/// What one reactor asks of another.
#[derive(Debug)]
pub(crate) enum Mail {
    /// Send the mail's bytes to `.0`.
    Send(ConnId),
    /// Send the mail's bytes to every connection of this reactor but `.0`.
    Broadcast(Option<ConnId>),
    /// Close `.0` once its output is flushed.
    Close(ConnId),
    /// Serve this socket, accepted by another reactor of the group (see
    /// [`Distribution::Acceptor`](crate::Distribution::Acceptor)).
    Adopt(super::stream::Stream),
}

/// Mail is not bounded by weight: like the calls of a callback, it waits
/// for nothing but the owner's next wake-up.
impl Weigh for Mail {
    fn weight(&self) -> usize {
        0
    }
}

/// Gives every group (and every reactor on its own) of the process a
/// number of its own, so that the id of one reactor's connection never
/// names another's. The numbers wrap after four million groups: an id
/// kept that long could then name a connection again.
static NEXT_GROUP: AtomicU32 = AtomicU32::new(1);

/// The number of a new group, in the high bits of its reactors' homes.
pub(crate) fn new_group() -> u32 {
    NEXT_GROUP.fetch_add(1, Ordering::Relaxed) << REACTOR_BITS
}

/// The reactors of one group (a reactor on its own is a group of one): how
/// to reach each, how loaded each is, and whether the group is stopping.
#[derive(Debug)]
pub(crate) struct Router {
    /// The group's number, in the high bits of its connections' ids (the
    /// low bits say which reactor: see [`ConnId::reactor`]).
    group: u32,
    pub(crate) mailboxes: Vec<Arc<Mailbox<Mail>>>,
    /// Connections each reactor serves or has been handed: what the
    /// acceptor balances on, and what the group reports.
    pub(crate) loads: Vec<AtomicUsize>,
    /// A stop was asked for; each reactor stops when it next wakes.
    stop: AtomicBool,
    /// The reactors' codec: what it would refuse to send is refused when
    /// posted, at once.
    codec: Codec,
}

impl Router {
    pub(crate) fn new(group: u32, codec: Codec, notifiers: Vec<Notifier>) -> Self {
        let loads = notifiers.iter().map(|_| AtomicUsize::new(0)).collect();
        let mailboxes = notifiers.into_iter().map(|n| Arc::new(Mailbox::new(n))).collect();
        Router { group, mailboxes, loads, stop: AtomicBool::new(false), codec }
    }

    pub(crate) fn len(&self) -> usize {
        self.mailboxes.len()
    }

    /// The home (see [`ConnId`]) of the group's `reactor`-th reactor.
    pub(crate) fn home_of(&self, reactor: usize) -> u32 {
        // At most `REACTOR_MASK + 1` reactors: `build_group` checks.
        self.group | reactor as u32
    }

    /// The mailbox of the reactor that owns `id`, if it is one of this
    /// group's.
    pub(crate) fn mailbox_of(&self, id: ConnId) -> Option<&Mailbox<Mail>> {
        (id.home & !REACTOR_MASK == self.group).then(|| self.mailboxes.get(id.reactor())).flatten().map(|m| &**m)
    }

    /// The least loaded reactor; among equals, the first from `from` on,
    /// so that a caller moving `from` on takes turns among them (short
    /// connections leave every load at zero, and would all go to one
    /// reactor otherwise).
    pub(crate) fn least_loaded(&self, from: usize) -> usize {
        let n = self.loads.len();
        let load = |i: usize| self.loads[i].load(Ordering::Relaxed);
        (0..n).map(|k| (from + k) % n).min_by_key(|&i| load(i)).unwrap_or(0)
    }

    /// Asks every reactor of the group to stop gracefully.
    pub(crate) fn stop_all(&self) {
        self.stop.store(true, Ordering::SeqCst);
        for mailbox in &self.mailboxes {
            let _ = mailbox.notifier.notify();
        }
    }

    pub(crate) fn stop_asked(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    /// The group's stop is over: the next run runs.
    pub(crate) fn stop_done(&self) {
        self.stop.store(false, Ordering::SeqCst);
    }
}

/// Sends to and closes the connections of a [`Reactor`](crate::Reactor) or
/// of a [`ReactorGroup`](crate::ReactorGroup) from any thread. Cheap to
/// clone; `Send` and `Sync`.
///
/// Each call is queued for the reactor that owns the connection, which
/// carries it out when its waker wakes it: the first call into an empty
/// queue wakes the reactor, the calls that follow before it gets to them
/// ride on that one wake-up. A call returns once queued; whether the
/// connection was still there is known only on its reactor (a connection
/// gone by then is counted in
/// [`Stats::mail_undelivered`](crate::Stats::mail_undelivered)). Mail is
/// not bounded: a thread that sends faster than a reactor writes, to a
/// reactor that is blocked or not running, makes the mailbox grow; pace it
/// (say with a reply from the reactor) where that can happen.
///
/// ```
/// use std::io::{Read, Write};
/// use frameloop::{ConnId, Ctx, Handler, Reactor};
///
/// /// Gives each connection's id to another thread, which answers.
/// struct Hand(std::sync::mpsc::Sender<ConnId>);
/// impl Handler for Hand {
///     fn on_frame(&mut self, _: &mut Ctx<'_>, conn: ConnId, _: &[u8]) {
///         let _ = self.0.send(conn);
///     }
/// }
///
/// let mut reactor = Reactor::new()?;
/// let addr = reactor.listen("127.0.0.1:0")?;
/// let remote = reactor.remote();
/// let (tx, rx) = std::sync::mpsc::channel();
/// let worker = std::thread::spawn(move || -> Result<(), frameloop::Error> {
///     let conn = rx.recv().unwrap();
///     remote.send(conn, b"answered elsewhere")?;
///     remote.close(conn)?;
///     remote.stop(); // once the close is done
///     Ok(())
/// });
/// let mut peer = std::net::TcpStream::connect(addr)?;
/// peer.write_all(b"\0\0\0\x01?")?;
/// reactor.run(&mut Hand(tx))?;
/// worker.join().unwrap()?;
/// let mut got = Vec::new();
/// peer.read_to_end(&mut got)?;
/// assert_eq!(got, b"\0\0\0\x12answered elsewhere");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct Remote {
    router: Arc<Router>,
}

impl Remote {
    pub(crate) fn new(router: Arc<Router>) -> Self {
        Remote { router }
    }

    /// Queues `msg` for `conn`, as [`Ctx::send`] does on its reactor.
    ///
    /// # Errors
    ///
    /// [`Error::UnknownConnection`] if `conn` is not a connection of this
    /// reactor or group; [`Error::FrameTooLarge`] / [`Error::Codec`] as
    /// [`Ctx::send`] when the message could never be sent;
    /// [`Error::Stopped`] once its reactor has been dropped.
    pub fn send(&self, conn: ConnId, msg: &[u8]) -> Result<(), Error> {
        self.router.codec.check_outgoing(&[msg])?;
        self.post(conn, &[msg], Mail::Send(conn))
    }

    /// Closes `conn` once its queued output is written, as [`Ctx::close`]
    /// does; its handler sees [`CloseReason::ClosedLocally`].
    ///
    /// # Errors
    ///
    /// [`Error::UnknownConnection`] if `conn` is not a connection of this
    /// reactor or group; [`Error::Stopped`] once its reactor has been
    /// dropped.
    pub fn close(&self, conn: ConnId) -> Result<(), Error> {
        self.post(conn, &[], Mail::Close(conn))
    }

    /// Queues `msg` for every connection of every reactor.
    ///
    /// # Errors
    ///
    /// [`Error::FrameTooLarge`] / [`Error::Codec`] as [`Ctx::send`];
    /// [`Error::Stopped`] once a reactor has been dropped.
    pub fn broadcast(&self, msg: &[u8]) -> Result<(), Error> {
        self.router.codec.check_outgoing(&[msg])?;
        for mailbox in &self.router.mailboxes {
            mailbox.send_body(msg, Mail::Broadcast(None))?;
        }
        Ok(())
    }

    /// Asks the reactor (every reactor of a group) to stop gracefully, as
    /// [`Ctx::stop`] does. Asked before the run, the run stops at once.
    pub fn stop(&self) {
        self.router.stop_all();
    }

    fn post(&self, conn: ConnId, parts: &[&[u8]], mail: Mail) -> Result<(), Error> {
        let Some(mailbox) = self.router.mailbox_of(conn) else { return Err(Error::UnknownConnection(conn)) };
        mailbox.send_parts(parts, mail)
    }
}

impl Core {
    /// Queues `mail` for `id`'s reactor, if `id` names a connection of
    /// another reactor of this group; `parts` is the message it carries.
    pub(crate) fn post(&self, id: ConnId, parts: &[&[u8]], mail: Mail) -> Result<(), Error> {
        match self.router.mailbox_of(id) {
            Some(mailbox) if id.home != self.home => mailbox.send_parts(parts, mail),
            _ => Err(Error::UnknownConnection(id)),
        }
    }

    /// Sends `parts` as one message to every other reactor of the group,
    /// for all their connections but `except`.
    pub(crate) fn post_broadcast(&self, parts: &[&[u8]], except: Option<ConnId>) {
        for (i, mailbox) in self.router.mailboxes.iter().enumerate() {
            if i != self.reactor() {
                let _ = mailbox.send_parts(parts, Mail::Broadcast(except));
            }
        }
    }
}

/// The reactor was woken: carries out its mail, then notes a stop the
/// group asked for.
pub(crate) fn deliver<H: Handler>(core: &mut Core, handler: &mut H) {
    let router = Arc::clone(&core.router);
    let Some(mailbox) = router.mailboxes.get(core.reactor()) else { return };
    mailbox.take(|mail| {
        while let Some((mail, body)) = mail.pop_borrowed() {
            let delivered = match mail {
                Mail::Send(id) => core.send_parts(id, &[body]).is_ok(),
                Mail::Close(id) => core.close(id, CloseReason::ClosedLocally).is_ok(),
                Mail::Broadcast(except) => {
                    core.broadcast_here(&[body], except);
                    true
                }
                Mail::Adopt(stream) => {
                    super::io::admit_handed(core, handler, stream);
                    // Counted by the acceptor when it handed the socket on,
                    // and again by `insert` if it was taken: let go of the
                    // first only now, so the load never dips meanwhile.
                    router.loads[core.reactor()].fetch_sub(1, Ordering::Relaxed);
                    true
                }
            };
            if !delivered {
                core.stats.mail_undelivered += 1;
            }
        }
    });
    if router.stop_asked() {
        core.stop_requested = true;
    }
}

/// The reactor has stopped: drops the mail left, each message and close
/// counted as undelivered, each socket handed on closed.
pub(crate) fn discard(core: &mut Core) {
    let router = Arc::clone(&core.router);
    let Some(mailbox) = router.mailboxes.get(core.reactor()) else { return };
    mailbox.take(|mail| {
        while let Some((mail, _)) = mail.pop_borrowed() {
            match mail {
                Mail::Adopt(_) => {
                    router.loads[core.reactor()].fetch_sub(1, Ordering::Relaxed);
                }
                _ => core.stats.mail_undelivered += 1,
            }
        }
    });
}

// Here rather than in `ctx.rs`: a `Remote` is made only from the router.
impl Ctx<'_> {
    /// A [`Remote`] for this reactor's group (or for the reactor alone).
    ///
    /// ```
    /// use frameloop::{ConnId, Ctx, Handler, Reactor, Remote};
    ///
    /// struct Keep(Option<Remote>);
    /// impl Handler for Keep {
    ///     fn on_frame(&mut self, _: &mut Ctx<'_>, _: ConnId, _: &[u8]) {}
    ///     fn on_wake(&mut self, ctx: &mut Ctx<'_>) {
    ///         self.0 = Some(ctx.remote()); // for a worker thread, say
    ///         ctx.stop();
    ///     }
    /// }
    ///
    /// let mut reactor = Reactor::new()?;
    /// reactor.notifier().notify()?;
    /// let mut keep = Keep(None);
    /// reactor.run(&mut keep)?;
    /// assert!(keep.0.is_some());
    /// # Ok::<(), frameloop::Error>(())
    /// ```
    pub fn remote(&self) -> Remote {
        Remote::new(Arc::clone(&self.core.router))
    }
}

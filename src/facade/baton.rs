//! A polling server's reactor, turned by whichever thread is there to turn
//! it: the program's own thread while it waits for events, its network
//! thread while the program is away.
//!
//! With a thread of its own for the reactor, every message a polling
//! program answers crosses two threads twice: the network thread queues it
//! and wakes the program, the program's reply wakes the network thread.
//! On a machine where those threads share cores with others, the wake-ups
//! and context switches cost more than the messages (thousands a second
//! under load; they were what kept the polling echo above tokio's). So a
//! program thread that would sleep in [`events`](super::PollingServer::events)
//! or [`wait_event`](super::PollingServer::wait_event) takes the baton
//! instead, if no other thread holds it, and runs one turn of the reactor
//! itself: its replies leave in that turn, and the messages that turn reads
//! are queued for it with no one to wake.
//!
//! The network thread is still there, for whenever no program thread
//! waits: a program busy with other work, a `try_event` game loop, replies
//! sent from other threads, a `stop` or `clients` call. It naps while the
//! program turns the reactor and looks, after each nap, whether a program
//! thread has begun a turn meanwhile; once a whole nap passed without one,
//! it takes the baton and drives, as a network thread of its own would,
//! until a program thread asks for it again (finds it held and sleeps on
//! the queue), then hands it over and wakes the sleepers. A nap is
//! [`NAP`] at first and doubles, up to [`LONGEST_NAP`], each time the
//! program turned through a whole one. So a reply sent while no program
//! thread waits leaves within two naps: 2 ms after the program began
//! turning, 8 ms at most once it has turned for a while. A program
//! thread that finds the baton held waits for events as it would without
//! one: whoever turns the reactor queues them and wakes it. A program
//! thread in one long turn (an idle server) has the network thread sleep
//! with no timer, and kicks it once that turn is over: idle, neither thread
//! wakes.
//!
//! Whoever runs the turn that ends the run (a stop, a failing poller, a
//! panic in a turn) ends it there (`reactor::end_run`); the network thread
//! then ends too. `stop` and `clients` wait for the network side, so they
//! [`kick`](Baton::kick) the network thread into driving at once.
//!
//! Only a server with one reactor has a baton: with several, each
//! reactor's thread serves its own share, and a program thread could turn
//! only one of them.

use std::fmt;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError, TryLockError, Weak};
use std::time::{Duration, Instant};

use super::commands::{self, Commands};
use super::queue::Queue;
use super::runtime::{Engine, Shared};
use crate::error::Error;
use crate::handler::ConnId;
use crate::reactor::{end_run, lock, HandOut, Life, Reactor};

/// How long the network thread leaves the reactor to the program: a whole
/// nap without a program thread beginning a turn, and it drives. Its cost
/// while the program drives is one wake-up of the network thread per nap;
/// its bound is on the delay of a reply sent while no program thread waits.
pub(crate) const NAP: Duration = Duration::from_millis(1);

/// What a nap grows to, doubling each time the program turned the reactor
/// through a whole nap, so that a busy program pays a quarter of the
/// network thread's wake-ups (each about 15 µs of system time here: 13 ns
/// a message of a polling echo at 1 ms, 2 to 4 ns at this). Back to
/// [`NAP`] once the network thread has driven or been kicked.
const LONGEST_NAP: Duration = Duration::from_millis(4);

/// In [`Baton::flags`]: the network thread sleeps until kicked, not for a
/// nap. A program thread that held the baton meanwhile (one long turn,
/// waiting for the network) must kick it once it lets go.
const SLEEPING: u64 = 1;

/// One ask in [`Baton::flags`].
const ASK: u64 = 2;

/// The asks counted in a value of [`Baton::flags`].
fn asks_in(flags: u64) -> u64 {
    flags / ASK
}

/// A reactor's run with its engine, for the thread that holds the baton.
trait Run: Send {
    /// One turn, waiting at most `cap`; true once the run has ended (and
    /// been ended: see [`Baton::start`]).
    fn turn(&mut self, cap: Option<Duration>) -> bool;

    /// Queues `body` for `conn` between turns (see [`Baton::send`]);
    /// false once the run has ended.
    fn send(&mut self, conn: ConnId, body: &[u8]) -> bool;
}

type Turn = Box<dyn Run>;

/// The [`Run`] of a reactor with the engine `E`; `None` once ended.
struct Running<E> {
    run: Option<(Reactor, E)>,
    life: Arc<Life>,
    /// A send between turns failed: the engine's error, and the close of
    /// a client past the hard cap, are handed to the program at a turn's
    /// end, so the next turn must not wait for the network first.
    hurry: bool,
}

impl<E: Engine + Send> Run for Running<E> {
    fn turn(&mut self, cap: Option<Duration>) -> bool {
        let Some((reactor, engine)) = self.run.as_mut() else { return true };
        let cap = if std::mem::take(&mut self.hurry) { Some(Duration::ZERO) } else { cap };
        let ran = match catch_unwind(AssertUnwindSafe(|| reactor.turn(engine, cap))) {
            Ok(Ok(false)) => return false,
            Ok(Ok(true)) => Ok(Ok(())),
            Ok(Err(e)) => Ok(Err(e)),
            Err(panic) => Err(panic),
        };
        if let Some((reactor, engine)) = self.run.take() {
            end_run(reactor, engine, E::finish, ran, &self.life);
        }
        true
    }

    fn send(&mut self, conn: ConnId, body: &[u8]) -> bool {
        let Some((reactor, engine)) = self.run.as_mut() else { return false };
        if commands::send(&mut reactor.between_turns(), engine, conn, body) {
            self.hurry = true;
        }
        true
    }
}

/// The reactor of a polling server's one network thread, for whichever
/// thread holds it.
pub(crate) struct Baton {
    /// The turn, for the thread that holds the lock; `None` once the run
    /// has ended.
    reactor: Mutex<Option<Turn>>,
    /// Turns a program thread has begun: how the napping network thread
    /// sees that the program drives.
    program_turns: AtomicU64,
    /// Above [`SLEEPING`], the times a program thread found the baton held
    /// and slept on the queue (counted in [`ASK`]s): how the driving
    /// network thread learns it is wanted back. One word with the flag, so
    /// that the thread handing the baton back learns both from the one
    /// read-modify-write that also orders it after its unlock (see
    /// [`hand_back`](Self::hand_back)).
    flags: AtomicU64,
    nap: Mutex<Nap>,
    nap_cv: Condvar,
    /// Wakes the program's threads asleep on the queue.
    wake_program: Box<dyn Fn() + Send + Sync>,
}

#[derive(Debug, Default)]
struct Nap {
    kicked: bool,
    ended: bool,
}

/// What ended a nap.
enum Wake {
    Elapsed,
    Kicked,
    Ended,
}

/// The baton, held by one thread.
pub(crate) struct Held<'a> {
    turn: MutexGuard<'a, Option<Turn>>,
    /// The asks counted in [`Baton::flags`] before the baton was taken:
    /// an ask made while it was being taken counts as made while it was
    /// held.
    asks: u64,
}

/// What a program thread that would sleep finds.
pub(crate) enum Hold<'a> {
    /// The baton, free: one turn for this thread.
    Turn(Held<'a>),
    /// Another thread turns the reactor, or the run is over: sleep on the
    /// queue, as without a baton.
    Sleep,
}

impl fmt::Debug for Baton {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Baton")
            .field("program_turns", &self.program_turns)
            .field("flags", &self.flags)
            .field("nap", &self.nap)
            .finish_non_exhaustive()
    }
}

impl Baton {
    /// Starts the run of `reactor` with `engine`: its network thread,
    /// named `name`, drives it until a program thread waiting on `queue`
    /// asks for it. The turn that ends the run ends it (`end_run`, then
    /// [`Engine::finish`]), on whichever thread; `net`'s life then tells of
    /// it. The baton goes to `queue`, for the program's waits, and to
    /// `net`, for its kicks.
    ///
    /// # Errors
    ///
    /// [`Error::ThreadSpawn`] if the system cannot start a thread.
    pub(crate) fn start<E, T, S>(
        name: &str,
        mut reactor: Reactor,
        engine: E,
        net: &Shared,
        queue: &Arc<Queue<T, S>>,
    ) -> Result<(), Error>
    where
        E: Engine + Send + 'static,
        T: HandOut + Send + 'static,
        S: Send + 'static,
    {
        reactor.start_run();
        let turn: Turn = Box::new(Running { run: Some((reactor, engine)), life: Arc::clone(&net.life), hurry: false });
        // Weak: the queue holds the baton.
        let sleepers = Arc::downgrade(queue);
        let baton = Arc::new(Baton {
            reactor: Mutex::new(Some(turn)),
            program_turns: AtomicU64::new(0),
            flags: AtomicU64::new(0),
            nap: Mutex::default(),
            nap_cv: Condvar::new(),
            wake_program: Box::new(move || {
                if let Some(queue) = Weak::upgrade(&sleepers) {
                    queue.wake_sleepers();
                }
            }),
        });
        queue.drive_with(Arc::clone(&baton));
        let network = Arc::clone(&baton);
        if let Err(e) = net.life.start(name, move || network.network()) {
            // The queue holds the baton, the engine the queue: the reactor
            // and its sockets go now, not with a cycle never freed.
            *lock(&baton.reactor) = None;
            return Err(e);
        }
        let _ = net.baton.set(baton);
        Ok(())
    }

    /// For a program thread that would sleep, called under the queue's
    /// lock: the baton if it is free. A thread told to sleep has asked for
    /// it before it lets go of that lock, so that the network thread, which
    /// hands it over and then wakes the sleepers under the same lock, wakes
    /// this one too.
    pub(crate) fn hold(&self) -> Hold<'_> {
        let held = self.try_take().or_else(|| {
            // Paired with `hand_back`'s: either the thread that held the
            // baton sees this ask and wakes the sleepers, or this thread
            // sees the baton free now.
            self.flags.fetch_add(ASK, Ordering::SeqCst);
            self.try_take()
        });
        match held {
            Some(held) if held.turn.is_some() => Hold::Turn(held),
            _ => Hold::Sleep,
        }
    }

    /// Sends `body` to `conn` now, into the reactor between its turns, if
    /// the baton is free and `commands` holds nothing this thread queued
    /// (which must go first); it leaves at the start of the next turn. The
    /// program's reply to a message costs a copy into the connection's
    /// output, not a command queued, taken and carried out. False if the
    /// caller must queue the command instead.
    pub(crate) fn send(&self, commands: &Commands, conn: ConnId, body: &[u8]) -> bool {
        // Looked at before the baton is taken, so that a sender that must
        // queue anyway leaves the baton to the threads that turn it: a
        // command this thread queued was taken (the flag cleared) by a
        // thread holding the baton, which has carried it out by the time
        // this one gets the baton. A network thread waiting for the baton
        // gets it first too.
        if !commands.is_idle() || self.flags.load(Ordering::Relaxed) & SLEEPING != 0 {
            return false;
        }
        let Some(mut held) = self.try_take() else { return false };
        let sent = held.turn.as_mut().is_some_and(|run| run.send(conn, body));
        self.hand_back(held);
        sent
    }

    /// A program thread's turn with the baton `held` (from
    /// [`hold`](Self::hold)), waiting for the network no later than
    /// `deadline`.
    pub(crate) fn turn(&self, held: Held<'_>, deadline: Option<Instant>) {
        self.program_turns.fetch_add(1, Ordering::Relaxed);
        let Held { mut turn, asks } = held;
        let cap = deadline.map(|at| at.saturating_duration_since(Instant::now()));
        if !self.step(&mut turn, cap) {
            self.hand_back(Held { turn, asks });
        }
    }

    /// A program thread lets go of the baton it `held`: the threads that
    /// asked for it meanwhile are woken, and so is the network thread if
    /// it fell asleep waiting for it.
    fn hand_back(&self, held: Held<'_>) {
        let Held { turn, asks } = held;
        drop(turn);
        // After the unlock, on the word the network thread's `take_over`
        // and an asking thread's `hold` change before they look at the
        // lock: of two read-modify-writes of one word, the later one reads
        // what the earlier one wrote, so either that thread sees the baton
        // free, or this one sees it asleep or asking.
        let flags = self.flags.fetch_and(!SLEEPING, Ordering::SeqCst);
        // Another program thread asked meanwhile, and sleeps: it may turn
        // the reactor now.
        if asks_in(flags) != asks {
            (self.wake_program)();
        }
        if flags & SLEEPING != 0 {
            self.kick();
        }
    }

    /// Has the network thread drive now, if no program thread does: for a
    /// program thread about to wait for the network side (a question, the
    /// end of the run).
    pub(crate) fn kick(&self) {
        lock(&self.nap).kicked = true;
        self.nap_cv.notify_one();
    }

    /// The run has ended: the network thread ends too.
    fn end(&self) {
        lock(&self.nap).ended = true;
        self.nap_cv.notify_one();
    }

    /// The network thread: drives while no program thread does, naps
    /// while one does (see the module's docs).
    fn network(&self) {
        loop {
            if let Some(held) = self.take_over() {
                if self.drive(held) {
                    return;
                }
            } else if self.ended() {
                return;
            }
            let mut nap = NAP;
            loop {
                let turns = self.program_turns.load(Ordering::Relaxed);
                match self.sleep(Some(nap)) {
                    Wake::Ended => return,
                    Wake::Kicked => break,
                    Wake::Elapsed if self.program_turns.load(Ordering::Relaxed) == turns => break,
                    Wake::Elapsed => nap = (nap * 2).min(LONGEST_NAP),
                }
            }
        }
    }

    /// The baton, for the network thread: no program thread has begun a
    /// turn for a whole nap. If one holds it, that thread is in one long
    /// turn (waiting for the network): sleeps until that turn is over,
    /// with no wake-ups meanwhile, and returns `None`.
    fn take_over(&self) -> Option<Held<'_>> {
        if let Some(held) = self.try_take() {
            return Some(held);
        }
        // Paired with `hand_back`'s: either this thread sees the baton
        // free, or the thread that holds it sees this one asleep.
        self.flags.fetch_or(SLEEPING, Ordering::SeqCst);
        let held = self.try_take();
        if held.is_none() {
            self.sleep(None);
        }
        self.flags.fetch_and(!SLEEPING, Ordering::SeqCst);
        held
    }

    /// The baton, if no one holds it.
    fn try_take(&self) -> Option<Held<'_>> {
        let asks = self.asks();
        let turn = match self.reactor.try_lock() {
            Ok(turn) => turn,
            Err(TryLockError::Poisoned(turn)) => turn.into_inner(),
            Err(TryLockError::WouldBlock) => return None,
        };
        Some(Held { turn, asks })
    }

    /// The asks counted so far (see [`Baton::flags`]).
    fn asks(&self) -> u64 {
        asks_in(self.flags.load(Ordering::SeqCst))
    }

    /// Whether the run is over.
    fn ended(&self) -> bool {
        lock(&self.nap).ended
    }

    /// Turns the reactor until a program thread asks for it, then hands it
    /// over and wakes the program's sleepers. True once the run is over.
    fn drive(&self, held: Held<'_>) -> bool {
        let Held { mut turn, asks } = held;
        loop {
            if self.step(&mut turn, None) {
                return true;
            }
            if self.asks() != asks {
                break;
            }
        }
        // A kick made while this thread drove was answered by its turns,
        // or is by the program thread it hands over to: one left over would
        // end the next nap at once and take the baton back.
        lock(&self.nap).kicked = false;
        drop(turn);
        (self.wake_program)();
        false
    }

    /// One turn of the reactor, by the thread holding the baton `turn`,
    /// waiting at most `cap`. True once the run is over: the baton is left
    /// empty, and the network thread told to end, whichever thread this is.
    fn step(&self, turn: &mut MutexGuard<'_, Option<Turn>>, cap: Option<Duration>) -> bool {
        let ended = turn.as_mut().is_none_or(|run| run.turn(cap));
        if ended {
            **turn = None;
            self.end();
        }
        ended
    }

    /// Sleeps for `nap` (`None`: until kicked), or until kicked or the run
    /// is over.
    fn sleep(&self, nap: Option<Duration>) -> Wake {
        let deadline = nap.map(|nap| Instant::now() + nap);
        let mut state = lock(&self.nap);
        loop {
            if state.ended {
                return Wake::Ended;
            }
            if std::mem::take(&mut state.kicked) {
                return Wake::Kicked;
            }
            state = match deadline {
                None => self.nap_cv.wait(state).unwrap_or_else(PoisonError::into_inner),
                Some(at) => {
                    let left = at.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        return Wake::Elapsed;
                    }
                    self.nap_cv.wait_timeout(state, left).unwrap_or_else(PoisonError::into_inner).0
                }
            };
        }
    }
}

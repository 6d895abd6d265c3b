//! The network thread shared by [`Server`](super::Server) and
//! [`Client`](super::Client): starting it, sending it commands, and ending
//! it so that nothing is lost and nothing hangs.
//!
//! Commands travel through a std channel; the reactor is woken with its
//! [`Notifier`]. The sender sits behind a mutex that is emptied when the
//! facade stops, so a command is either queued before the stop (and carried
//! out, or reported as an error) or refused with [`Error::Stopped`]: never
//! dropped silently.

use std::any::Any;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, Sender, TryRecvError};
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::{JoinHandle, ThreadId};

use crate::error::Error;
use crate::handler::Handler;
use crate::reactor::{Notifier, Reactor};

/// Locks `m`, even if a thread panicked while holding it: the facade's
/// shared state stays consistent between statements, and a panicking
/// callback must not make every later call panic too.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The sending side of the command channel.
#[derive(Debug)]
pub(crate) struct Commands<C> {
    slot: Mutex<Option<Sender<C>>>,
    /// A wake-up is on its way: further commands need not send another.
    pending: AtomicBool,
    notifier: Notifier,
}

impl<C> Commands<C> {
    pub(crate) fn new(notifier: Notifier) -> (Self, Receiver<C>) {
        let (tx, rx) = mpsc::channel();
        (Commands { slot: Mutex::new(Some(tx)), pending: AtomicBool::new(false), notifier }, rx)
    }

    /// Queues `cmd` for the network thread and wakes it.
    ///
    /// # Errors
    ///
    /// [`Error::Stopped`] once the facade is stopping or stopped.
    pub(crate) fn send(&self, cmd: C) -> Result<(), Error> {
        {
            let slot = lock(&self.slot);
            let tx = slot.as_ref().ok_or(Error::Stopped)?;
            tx.send(cmd).map_err(|_| Error::Stopped)?;
        }
        self.wake();
        Ok(())
    }

    fn wake(&self) {
        if !self.pending.swap(true, Ordering::AcqRel) {
            // A failed wake-up leaves the command queued; the next one, or
            // the stop, delivers it.
            let _ = self.notifier.notify();
        }
    }

    /// Refuses every later command and wakes the network thread, which
    /// stops once it has carried out the commands queued before. Returns
    /// whether the channel was still open.
    pub(crate) fn close(&self) -> bool {
        let was_open = lock(&self.slot).take().is_some();
        if was_open {
            self.pending.store(true, Ordering::Release);
            let _ = self.notifier.notify();
        }
        was_open
    }

    /// Whether commands are still taken.
    pub(crate) fn is_open(&self) -> bool {
        lock(&self.slot).is_some()
    }

    /// Called by the network thread before it drains the channel.
    pub(crate) fn woken(&self) {
        self.pending.store(false, Ordering::Release);
    }
}

/// What the network thread found in the channel.
pub(crate) enum Drained<C> {
    /// A command to carry out.
    Command(C),
    /// Nothing more for now.
    Empty,
    /// The channel is closed: stop.
    Closed,
}

/// Takes the next command without waiting.
pub(crate) fn next_command<C>(rx: &Receiver<C>) -> Drained<C> {
    match rx.try_recv() {
        Ok(c) => Drained::Command(c),
        Err(TryRecvError::Empty) => Drained::Empty,
        Err(TryRecvError::Disconnected) => Drained::Closed,
    }
}

/// The network thread's life: whether it finished, how, and its handle.
#[derive(Debug, Default)]
pub(crate) struct Life {
    state: Mutex<LifeState>,
    cv: Condvar,
}

#[derive(Debug, Default)]
struct LifeState {
    finished: bool,
    /// Why it ended, if not by a requested stop; given to the first caller
    /// of `wait`.
    outcome: Option<Error>,
    handle: Option<JoinHandle<()>>,
    thread: Option<ThreadId>,
}

impl Life {
    fn finish(&self, outcome: Option<Error>) {
        let mut s = lock(&self.state);
        s.finished = true;
        s.outcome = outcome;
        self.cv.notify_all();
    }

    /// Whether the network thread has ended.
    pub(crate) fn is_finished(&self) -> bool {
        lock(&self.state).finished
    }

    /// Waits until the network thread has ended and joins it. From the
    /// network thread itself it returns at once: a thread cannot wait for
    /// its own end.
    ///
    /// # Errors
    ///
    /// The error that ended the thread (a panicking callback, a failing
    /// poller), to the first caller only.
    pub(crate) fn wait(&self) -> Result<(), Error> {
        let mut s = lock(&self.state);
        if s.thread == Some(std::thread::current().id()) {
            return Ok(());
        }
        while !s.finished {
            s = self.cv.wait(s).unwrap_or_else(PoisonError::into_inner);
        }
        let handle = s.handle.take();
        let outcome = s.outcome.take();
        drop(s);
        if let Some(handle) = handle {
            // The thread body catches panics, so joining cannot fail.
            let _ = handle.join();
        }
        outcome.map_or(Ok(()), Err)
    }
}

/// The network side of a facade: a reactor handler that also cleans up
/// once the reactor has returned.
pub(crate) trait Engine: Handler {
    /// The reactor returned (`outcome` is `None` after a requested stop):
    /// refuse further commands, report the ones left over, release waiters.
    fn finish(&mut self, outcome: Option<&Error>);
}

/// Runs `engine` on `reactor` on a new thread named `name`.
///
/// # Errors
///
/// [`Error::ThreadSpawn`] if the system cannot start a thread; `reactor`
/// and `engine` are dropped then (closing the sockets they hold).
pub(crate) fn spawn<E: Engine + Send + 'static>(
    name: &str,
    mut reactor: Reactor,
    mut engine: E,
    life: std::sync::Arc<Life>,
) -> Result<(), Error> {
    let life_in_thread = std::sync::Arc::clone(&life);
    // Held across the spawn so the thread cannot finish before its handle is
    // stored.
    let mut state = lock(&life.state);
    let handle = std::thread::Builder::new()
        .name(name.to_owned())
        .spawn(move || {
            let outcome = match catch_unwind(AssertUnwindSafe(|| reactor.run(&mut engine))) {
                Ok(Ok(())) => None,
                Ok(Err(e)) => Some(e),
                Err(panic) => Some(Error::Panicked(panic_message(&*panic))),
            };
            // Sockets close before anyone waiting is told the thread ended.
            drop(reactor);
            let finished = catch_unwind(AssertUnwindSafe(|| engine.finish(outcome.as_ref())));
            drop(engine);
            let outcome = match (outcome, finished) {
                (Some(e), _) => Some(e),
                (None, Err(panic)) => Some(Error::Panicked(panic_message(&*panic))),
                (None, Ok(())) => None,
            };
            life_in_thread.finish(outcome);
        })
        .map_err(Error::ThreadSpawn)?;
    state.thread = Some(handle.thread().id());
    state.handle = Some(handle);
    Ok(())
}

/// The text of a panic payload.
fn panic_message(panic: &(dyn Any + Send)) -> String {
    if let Some(s) = panic.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = panic.downcast_ref::<String>() {
        s.clone()
    } else {
        "a panic without a message".to_owned()
    }
}

/// A copy of `e` for a second reader (the error list and the event queue
/// both get one): [`Error::duplicate`], kept beside the enum so that a new
/// variant cannot be missed.
pub(crate) fn duplicate(e: &Error) -> Error {
    e.duplicate()
}

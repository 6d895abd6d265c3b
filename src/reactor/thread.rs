//! A reactor on a thread of its own: started with its handler, waited for
//! from any thread, and ended so that the error that ended it (a panicking
//! callback, a failing poller) reaches whoever waits. Each of the facade's
//! network threads runs this way; a server over several reactors runs one
//! per reactor. A polling server's reactor, turned by the program's thread
//! too (`facade/baton.rs`), starts its thread with [`Life::start`] and ends
//! its run with [`end_run`] on whichever thread ran the last turn.

use std::any::Any;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::{JoinHandle, ThreadId};

use super::Reactor;
use crate::error::Error;
use crate::handler::Handler;

/// Locks `m`, even if a thread panicked while holding it: the state shared
/// between threads stays consistent between statements, and a panicking
/// callback must not make every later call panic too.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A reactor thread's life: whether it finished, how, and its handle.
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
    /// Runs `body` on a new thread named `name`, the thread this life
    /// tells of; `body` must end the life ([`end_run`]), on this thread or
    /// another.
    ///
    /// # Errors
    ///
    /// [`Error::ThreadSpawn`] if the system cannot start a thread.
    pub(crate) fn start(&self, name: &str, body: impl FnOnce() + Send + 'static) -> Result<(), Error> {
        // Held across the spawn so the thread cannot finish before its
        // handle is stored.
        let mut state = lock(&self.state);
        let handle = std::thread::Builder::new().name(name.to_owned()).spawn(body).map_err(Error::ThreadSpawn)?;
        state.thread = Some(handle.thread().id());
        state.handle = Some(handle);
        Ok(())
    }

    fn finish(&self, outcome: Option<Error>) {
        let mut s = lock(&self.state);
        s.finished = true;
        s.outcome = outcome;
        self.cv.notify_all();
    }

    /// Whether this is the reactor's thread itself, which must never wait
    /// for an answer from itself.
    pub(crate) fn is_current(&self) -> bool {
        lock(&self.state).thread == Some(std::thread::current().id())
    }

    /// Whether the thread has ended.
    pub(crate) fn is_finished(&self) -> bool {
        lock(&self.state).finished
    }

    /// Waits until the thread has ended and joins it. From the thread
    /// itself it returns at once: a thread cannot wait for its own end.
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

/// Runs `handler` on `reactor` on a new thread named `name`, then `finish`
/// with the error that ended the run, if any (see [`end_run`]); `life`
/// then tells of the end.
///
/// # Errors
///
/// [`Error::ThreadSpawn`] if the system cannot start a thread; `reactor`
/// and `handler` are dropped then (closing the sockets they hold).
pub(crate) fn spawn<H: Handler + Send + 'static>(
    name: &str,
    mut reactor: Reactor,
    mut handler: H,
    finish: fn(&mut H, Option<&Error>),
    life: Arc<Life>,
) -> Result<(), Error> {
    let life_in_thread = Arc::clone(&life);
    life.start(name, move || {
        let ran = catch_unwind(AssertUnwindSafe(|| reactor.run(&mut handler)));
        end_run(reactor, handler, finish, ran, &life_in_thread);
    })
}

/// Ends a reactor's run, on whichever thread ran its last turn: the
/// reactor, and the sockets it holds, are dropped first, then `finish` is
/// called with the error that ended the run (`ran`: a panicking callback,
/// a failing poller), then `life` tells of the end.
pub(crate) fn end_run<H>(
    reactor: Reactor,
    mut handler: H,
    finish: fn(&mut H, Option<&Error>),
    ran: std::thread::Result<Result<(), Error>>,
    life: &Life,
) {
    let outcome = match ran {
        Ok(Ok(())) => None,
        Ok(Err(e)) => Some(e),
        Err(panic) => Some(Error::Panicked(panic_message(&*panic))),
    };
    // Sockets close before anyone waiting is told the run ended.
    drop(reactor);
    let finished = catch_unwind(AssertUnwindSafe(|| finish(&mut handler, outcome.as_ref())));
    drop(handler);
    let outcome = match (outcome, finished) {
        (Some(e), _) => Some(e),
        (None, Err(panic)) => Some(Error::Panicked(panic_message(&*panic))),
        (None, Ok(())) => None,
    };
    life.finish(outcome);
}

/// The text of a panic payload.
pub(crate) fn panic_message(panic: &(dyn Any + Send)) -> String {
    if let Some(s) = panic.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = panic.downcast_ref::<String>() {
        s.clone()
    } else {
        "a panic without a message".to_owned()
    }
}

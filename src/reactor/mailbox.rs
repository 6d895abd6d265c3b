//! A queue of commands for one reactor, filled from any thread: what
//! another reactor of a group, a [`Remote`](crate::Remote) and the facade's
//! program threads use to ask a reactor for something.
//!
//! The queue is a [`Chunk`] under a mutex, not a channel: the reactor takes
//! everything queued at once by swapping in an empty chunk (one lock per
//! wake-up, not per command), and is woken only when the queue turns
//! non-empty, so one wake-up serves a whole burst. The bytes of the
//! messages sent go into the chunk's one buffer beside the commands, so
//! posting a message costs a copy into that buffer, not a heap allocation
//! freed on another thread.
//!
//! Once closed ([`Mailbox::close`]), every later command is refused with
//! [`Error::Stopped`]; the ones queued before are still taken, so a command
//! is either carried out, reported, or refused: never dropped silently.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use super::chunk::{Chunk, Weigh};
use super::thread::lock;
use super::Notifier;
use crate::error::Error;

#[derive(Debug)]
struct Pending<C> {
    taken: Chunk<C>,
    open: bool,
    /// A wake-up is on its way: further commands need not send another.
    woken: bool,
}

/// The commands of type `C` waiting for one reactor.
#[derive(Debug)]
pub(crate) struct Mailbox<C> {
    pending: Mutex<Pending<C>>,
    /// What the reactor is carrying out, swapped with `pending`'s so that
    /// both keep their buffers. Only the thread running the reactor locks it.
    running: Mutex<Chunk<C>>,
    /// Commands posted and not yet taken, or closed: `woken || !open`,
    /// readable without the lock (see [`is_idle`](Self::is_idle)).
    busy: AtomicBool,
    /// Wakes the reactor (also without a command).
    pub(crate) notifier: Notifier,
}

impl<C: Weigh> Mailbox<C> {
    pub(crate) fn new(notifier: Notifier) -> Self {
        let pending = Pending { taken: Chunk::default(), open: true, woken: false };
        let (running, busy) = (Mutex::new(Chunk::default()), AtomicBool::new(false));
        Mailbox { pending: Mutex::new(pending), running, busy, notifier }
    }

    /// Queues `command` and wakes the reactor.
    ///
    /// # Errors
    ///
    /// [`Error::Stopped`] once closed.
    pub(crate) fn send(&self, command: C) -> Result<(), Error> {
        self.send_parts(&[], command)
    }

    /// Queues `command` with `body` copied beside it.
    ///
    /// # Errors
    ///
    /// [`Error::Stopped`] once closed.
    pub(crate) fn send_body(&self, body: &[u8], command: C) -> Result<(), Error> {
        // Every message a program sends comes this way: one slice, pushed
        // as one, without the loop over parts.
        self.post(|taken| taken.push(command, body))
    }

    /// Queues `command` with `parts`, one after the other, beside it.
    ///
    /// # Errors
    ///
    /// [`Error::Stopped`] once closed.
    pub(crate) fn send_parts(&self, parts: &[&[u8]], command: C) -> Result<(), Error> {
        self.post(|taken| taken.push_parts(command, parts))
    }

    /// Queues what `push` adds, unless closed, and wakes the reactor if
    /// the queue was empty.
    #[inline]
    fn post(&self, push: impl FnOnce(&mut Chunk<C>)) -> Result<(), Error> {
        let mut pending = lock(&self.pending);
        if !pending.open {
            return Err(Error::Stopped);
        }
        push(&mut pending.taken);
        let wake = !std::mem::replace(&mut pending.woken, true);
        if wake {
            self.busy.store(true, Ordering::Relaxed);
        }
        drop(pending);
        if wake {
            // A failed wake-up leaves the command queued; the next wake-up
            // (a stop wakes too) delivers it.
            let _ = self.notifier.notify();
        }
        Ok(())
    }

    /// Refuses every later command and wakes the reactor.
    pub(crate) fn close(&self) {
        let mut pending = lock(&self.pending);
        self.busy.store(true, Ordering::Relaxed);
        if std::mem::replace(&mut pending.open, false) {
            drop(pending);
            let _ = self.notifier.notify();
        }
    }

    /// Open, with nothing posted since the last [`take`](Self::take): for
    /// a thread that then takes the reactor between its turns (every take
    /// before was carried out by a thread that held it), what it does
    /// there comes after every command this thread posted, as if it had
    /// been posted too. Without the lock:
    /// a command another thread posts at the same moment may come after.
    pub(crate) fn is_idle(&self) -> bool {
        !self.busy.load(Ordering::Relaxed)
    }

    /// Whether commands are still taken.
    pub(crate) fn is_open(&self) -> bool {
        lock(&self.pending).open
    }

    /// Hands everything queued so far to `carry_out`, in order, on the
    /// reactor's thread; returns whether commands are still taken. What
    /// `carry_out` leaves (it panicked) stays for [`leftovers`](Self::leftovers).
    pub(crate) fn take(&self, carry_out: impl FnOnce(&mut Chunk<C>)) -> bool {
        let mut running = lock(&self.running);
        let open = {
            let mut pending = lock(&self.pending);
            pending.woken = false;
            self.busy.store(!pending.open, Ordering::Relaxed);
            if running.is_empty() {
                std::mem::swap(&mut pending.taken, &mut running);
            } else {
                // Left by a `carry_out` that panicked: it goes first, and
                // what came since after it, in order.
                while let Some((command, body)) = pending.taken.pop_borrowed() {
                    running.push(command, body);
                }
            }
            pending.open
        };
        carry_out(&mut running);
        // One large message must not pin its size twice over for the life
        // of the program.
        if !running.worth_keeping() {
            *running = Chunk::default();
        }
        open
    }

    /// Closes the mailbox and gives every command accepted and never
    /// carried out, in order.
    pub(crate) fn leftovers(&self) -> impl Iterator<Item = C> {
        self.close();
        let mut running = std::mem::take(&mut *lock(&self.running));
        let mut pending = std::mem::take(&mut lock(&self.pending).taken);
        std::iter::from_fn(move || running.pop_borrowed().or_else(|| pending.pop_borrowed()).map(|(c, _)| c))
    }
}

#[cfg(test)]
mod tests {
    use std::panic::{catch_unwind, AssertUnwindSafe};

    use super::*;

    // `u32` weighs as the queue's tests have it.
    #[test]
    fn what_a_panicking_carry_out_left_goes_first_next_time_then_what_came_since() {
        let reactor = crate::Reactor::new().unwrap();
        let mailbox: Mailbox<u32> = Mailbox::new(reactor.notifier());
        for n in 1..=3 {
            mailbox.send_body(&[n as u8], n).unwrap();
        }
        let panicked = catch_unwind(AssertUnwindSafe(|| {
            mailbox.take(|mail| {
                let _ = mail.pop_borrowed();
                panic!("carrying out the first");
            })
        }));
        assert!(panicked.is_err());
        mailbox.send_body(&[4], 4).unwrap();
        let mut got = Vec::new();
        assert!(mailbox.take(|mail| {
            while let Some((n, body)) = mail.pop_borrowed() {
                got.push((n, body.to_vec()));
            }
        }));
        assert_eq!(got, [(2, vec![2]), (3, vec![3]), (4, vec![4])]);
        mailbox.close();
        assert!(matches!(mailbox.send(5), Err(Error::Stopped)));
        assert_eq!(mailbox.leftovers().count(), 0);
    }
}

//! What the program's threads ask of a network thread: [`Command`]s,
//! queued in [`Commands`] and carried out in order on that thread.
//!
//! The queue is a vector under a mutex, not a channel: the network thread
//! takes everything queued at once by swapping in an empty vector (one lock
//! per wake-up, not per command), and is woken only when the queue turns
//! non-empty, so one wake-up serves a whole burst of sends. The commands are
//! a [`Chunk`], as the events are on their way back: the bytes of the
//! messages sent go into one buffer beside them, swapped with them, so
//! sending a message costs a copy into that buffer, not a heap allocation
//! freed on another thread.
//!
//! Once closed ([`Commands::close`]), every later command is refused with
//! [`Error::Stopped`]; the ones queued before are still taken, so a command
//! is either carried out, reported as an error, or refused: never dropped
//! silently.

use std::net::{SocketAddr, TcpStream};
use std::sync::mpsc::SyncSender;
use std::sync::Mutex;

use super::chunk::Chunk;
use super::queue::Weigh;
use super::runtime::Engine;
use crate::error::Error;
use crate::handler::ConnId;
use crate::reactor::{lock, Ctx, Notifier};

/// A request carried out on the network thread.
#[derive(Debug)]
pub(crate) enum Command {
    /// Send the command's bytes to `.0`.
    Send(ConnId),
    /// Send the command's bytes to every connection but `.0`.
    Broadcast(Option<ConnId>),
    /// Close `.0` once its output is flushed.
    Close(ConnId),
    PauseAccepting,
    ResumeAccepting,
    /// The program came back for more after taking this many events: close
    /// the half-closed connections it has now answered (see `queue.rs`).
    Handled(u64),
    /// A server's connections and their peers, for `Server::clients`.
    Clients(SyncSender<Vec<(ConnId, SocketAddr)>>),
    /// A client: serve this freshly connected stream, replacing any
    /// connection, as the program's connect or disconnect number `.1`.
    Adopt(TcpStream, u64),
    /// A client: close the connection after flushing, no automatic
    /// reconnection, as the program's connect or disconnect number `.0`.
    Disconnect(u64),
}

/// Commands are not bounded by weight: a program's sends wait for nothing
/// but the network thread's next wake-up.
impl Weigh for Command {
    fn weight(&self) -> usize {
        0
    }
}

#[derive(Debug)]
struct Pending {
    taken: Chunk<Command>,
    open: bool,
    /// A wake-up is on its way: further commands need not send another.
    woken: bool,
}

/// The queue of commands for one network thread.
#[derive(Debug)]
pub(crate) struct Commands {
    pending: Mutex<Pending>,
    /// What the network thread is carrying out, swapped with `pending`'s so
    /// that both keep their buffers. Only the network thread locks it.
    running: Mutex<Chunk<Command>>,
    /// Wakes the network thread (also without a command, to resume the
    /// connections paused for a program that has caught up).
    pub(crate) notifier: Notifier,
}

impl Commands {
    pub(crate) fn new(notifier: Notifier) -> Self {
        let pending = Pending { taken: Chunk::default(), open: true, woken: false };
        Commands { pending: Mutex::new(pending), running: Mutex::default(), notifier }
    }

    /// Queues `command` and wakes the network thread.
    ///
    /// # Errors
    ///
    /// [`Error::Stopped`] once closed.
    pub(crate) fn send(&self, command: Command) -> Result<(), Error> {
        self.send_body(&[], command)
    }

    /// Queues `command` with `body` copied beside it.
    ///
    /// # Errors
    ///
    /// [`Error::Stopped`] once closed.
    pub(crate) fn send_body(&self, body: &[u8], command: Command) -> Result<(), Error> {
        let mut pending = lock(&self.pending);
        if !pending.open {
            return Err(Error::Stopped);
        }
        pending.taken.push(command, body);
        let wake = !std::mem::replace(&mut pending.woken, true);
        drop(pending);
        if wake {
            // A failed wake-up leaves the command queued; the stop, which
            // wakes again, delivers it.
            let _ = self.notifier.notify();
        }
        Ok(())
    }

    /// Refuses every later command and wakes the network thread, which
    /// stops once it has carried out the commands queued before.
    pub(crate) fn close(&self) {
        if std::mem::replace(&mut lock(&self.pending).open, false) {
            let _ = self.notifier.notify();
        }
    }

    /// Whether commands are still taken.
    pub(crate) fn is_open(&self) -> bool {
        lock(&self.pending).open
    }

    /// Carries out everything queued so far, in order: the commands every
    /// facade has in common here, the others by `engine`, which also gets
    /// every result. Called by the network thread when woken; returns
    /// whether commands are still taken (if not, the reactor must stop).
    pub(crate) fn run<E: Engine>(&self, ctx: &mut Ctx<'_>, engine: &mut E) -> bool {
        let mut running = lock(&self.running);
        let open = {
            let mut pending = lock(&self.pending);
            pending.woken = false;
            std::mem::swap(&mut pending.taken, &mut running);
            pending.open
        };
        // Taken one by one from the front: if a callback panics, what was
        // not carried out is still there for `finish` to report.
        while let Some((command, body)) = running.pop_borrowed() {
            match command {
                Command::Send(conn) => engine.report(ctx.send(conn, body)),
                Command::Broadcast(except) => {
                    ctx.core.broadcast(&[body], except);
                }
                Command::Close(conn) => engine.report(ctx.close(conn)),
                Command::PauseAccepting => ctx.pause_accept(),
                Command::ResumeAccepting => ctx.resume_accept(),
                command => engine.command(ctx, command),
            }
        }
        // One large message must not pin its size twice over for the life
        // of the program.
        if !running.worth_keeping() {
            *running = Chunk::default();
        }
        open
    }

    /// The network thread has ended: refuses every later command, and
    /// reports each one left (accepted, never carried out) as
    /// [`Error::Stopped`] to `engine`, then `outcome`, the reason the
    /// thread ended if it was not asked to. A question left (`Clients`) is
    /// answered by its channel closing.
    pub(crate) fn finish<E: Engine>(&self, engine: &mut E, outcome: Option<&Error>) {
        self.close();
        let mut running = std::mem::take(&mut *lock(&self.running));
        let mut pending = std::mem::take(&mut lock(&self.pending).taken);
        let left = std::iter::from_fn(|| running.pop_borrowed().or_else(|| pending.pop_borrowed()).map(|(c, _)| c));
        for command in left {
            if !matches!(command, Command::Handled(_) | Command::Clients(_)) {
                engine.report(Err(Error::Stopped));
            }
        }
        if let Some(e) = outcome {
            engine.report(Err(e.duplicate()));
        }
    }
}

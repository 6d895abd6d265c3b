//! What the program's threads ask of a network thread: [`Command`]s,
//! queued in [`Commands`] (a reactor's [`Mailbox`]: one lock per wake-up,
//! one wake-up per burst, the bytes of the messages sent in one buffer
//! beside the commands) and carried out in order on that thread.
//!
//! Once closed, every later command is refused with [`Error::Stopped`]; the
//! ones queued before are still taken, so a command is either carried out,
//! reported as an error, or refused: never dropped silently.

use crate::addr::Addr;
use crate::reactor::Blocking;
use std::sync::mpsc::SyncSender;

use super::runtime::Engine;
use crate::error::Error;
use crate::handler::ConnId;
use crate::reactor::{Ctx, Mailbox, Weigh};

/// A request carried out on the network thread.
#[derive(Debug)]
pub(crate) enum Command {
    /// Send the command's bytes to `.0`.
    Send(ConnId),
    /// Send the command's bytes to every connection of this reactor but
    /// `.0` (the program sends one to each reactor).
    Broadcast(Option<ConnId>),
    /// Close `.0` once its output is flushed.
    Close(ConnId),
    PauseAccepting,
    ResumeAccepting,
    /// The program came back for more after taking this many events: close
    /// the half-closed connections it has now answered (see `queue.rs`).
    Handled(u64),
    /// A server's connections and their peers, for `Server::clients`.
    Clients(SyncSender<Vec<(ConnId, Addr)>>),
    /// A client: serve this freshly connected stream, replacing any
    /// connection, as the program's connect or disconnect number `.1`.
    Adopt(Blocking, u64),
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

/// The queue of commands for one network thread (see
/// [`Mailbox`](crate::reactor::Mailbox)).
pub(crate) type Commands = Mailbox<Command>;

impl Commands {
    /// Carries out everything queued so far, in order: the commands every
    /// facade has in common here, the others by `engine`, which also gets
    /// every result. Called by the network thread when woken; returns
    /// whether commands are still taken (if not, the reactor must stop).
    pub(crate) fn run<E: Engine>(&self, ctx: &mut Ctx<'_>, engine: &mut E) -> bool {
        // Taken one by one from the front: if a callback panics, what was
        // not carried out is still there for `finish` to report.
        self.take(|running| {
            while let Some((command, body)) = running.pop_borrowed() {
                match command {
                    // Checked here, so that the message that went (nearly
                    // every one) costs no call into the engine.
                    Command::Send(conn) => {
                        send(ctx, engine, conn, body);
                    }
                    // This reactor's clients only: the program queued it
                    // for every reactor, so that each reactor's share is in
                    // order with that reactor's other commands (a held
                    // client's marker must not overtake it).
                    Command::Broadcast(except) => {
                        ctx.core.broadcast_here(&[body], except);
                    }
                    Command::Close(conn) => engine.report(ctx.close(conn)),
                    Command::PauseAccepting => ctx.pause_accept(),
                    Command::ResumeAccepting => ctx.resume_accept(),
                    command => engine.command(ctx, command),
                }
            }
        })
    }

    /// The network thread has ended: refuses every later command, and
    /// reports each one left (accepted, never carried out) as
    /// [`Error::Stopped`] to `engine`, then `outcome`, the reason the
    /// thread ended if it was not asked to. A question left (`Clients`) is
    /// answered by its channel closing.
    pub(crate) fn finish<E: Engine>(&self, engine: &mut E, outcome: Option<&Error>) {
        for command in self.leftovers() {
            if !matches!(command, Command::Handled(_) | Command::Clients(_)) {
                engine.report(Err(Error::Stopped));
            }
        }
        if let Some(e) = outcome {
            engine.report(Err(e.duplicate()));
        }
    }
}

/// Queues `body` for `conn` on the network side, the engine told if that
/// fails: a [`Command::Send`] carried out, or a send made between turns by
/// the thread that holds a polling server's reactor (see `baton.rs`).
/// Returns whether it failed.
#[inline]
pub(crate) fn send<E: Engine>(ctx: &mut Ctx<'_>, engine: &mut E, conn: ConnId, body: &[u8]) -> bool {
    match ctx.send(conn, body) {
        Ok(()) => false,
        Err(e) => {
            engine.report(Err(e));
            true
        }
    }
}

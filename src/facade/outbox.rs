//! How a facade without callbacks hands what arrives to the program: as
//! [`Event`]s in a [`Queue`], a loop turn's worth at a time, under the
//! queue's flow control, with every peer that half-closed held open until
//! the program has answered it. The server and the client use this one
//! piece; only which events they make differs. A server with several
//! threads has an outbox per reactor, all pushing to one queue.

use crate::addr::Addr;
use std::sync::Arc;

use super::commands::{Command, Commands};
use super::events::Event;
use super::queue::{Batch, Queue};
use super::queued::Queued;
use crate::codec::Message;
use crate::handler::{ConnId, HalfClose};
use crate::reactor::Ctx;

/// Up to this size a message travels in its batch's buffer.
const SMALL: usize = 4096;

/// The network thread's side of an event queue.
#[derive(Debug)]
pub(crate) struct Outbox<S> {
    pub(crate) queue: Arc<Queue<Queued, S>>,
    /// This reactor's commands, and its index among the queue's.
    commands: Arc<Commands>,
    reactor: usize,
    /// This loop turn's events, handed over at its end.
    batch: Batch<Queued>,
    /// Connections whose peer half-closed, held open until the program has
    /// handled this many events.
    held: Vec<(ConnId, u64)>,
}

impl<S> Outbox<S> {
    /// The outbox of reactor `reactor` on `queue`, whose program reaches
    /// this network thread through `commands` (the queue was
    /// [`attach`](Queue::attach)ed to them).
    pub(crate) fn new(queue: Arc<Queue<Queued, S>>, commands: Arc<Commands>, reactor: usize) -> Self {
        Outbox { queue, commands, reactor, batch: Batch::default(), held: Vec::new() }
    }

    /// An event no connection sent (a connect, a disconnect, an error).
    pub(crate) fn push(&mut self, event: Event) {
        // Nobody to pause for it, so never a reason to hand over early.
        let _ = self.queue.stage(&mut self.batch, None, event.into(), &[]);
    }

    /// The event of a message `conn` at `addr` sent. Past the queue's limit, `conn` is not read
    /// again until the program has caught up: TCP makes its peer wait, and
    /// nothing is dropped.
    #[inline]
    pub(crate) fn push_from(&mut self, ctx: &mut Ctx<'_>, conn: ConnId, addr: Addr, msg: Message<'_>) {
        // A small message's bytes go with the batch, and become the event's
        // own on the program's thread (see `queued.rs`); a large one's are
        // worth their allocation here.
        let (event, bytes) = match msg.packet() {
            Some(packet) => (Event::Packet { client: conn, addr, packet: packet.to_owned() }.into(), &[][..]),
            None if msg.len() > SMALL => (Event::Received { client: conn, addr, data: msg.to_vec() }.into(), &[][..]),
            None => (Queued::Message { client: conn, addr }, msg.bytes()),
        };
        if self.queue.stage(&mut self.batch, Some(conn), event, bytes) {
            self.flush(Some(ctx));
        }
    }

    /// Hands this turn's events to the program (at the end of each loop
    /// turn; without `ctx` once the reactor has stopped, when no connection
    /// needs pausing).
    pub(crate) fn flush(&mut self, ctx: Option<&mut Ctx<'_>>) {
        self.hand_over(ctx, None);
    }

    /// Hands this turn's events over, and makes `state` what the program's
    /// threads see, under the same lock: they never see the state without
    /// the events that led to it.
    pub(crate) fn publish(&mut self, ctx: Option<&mut Ctx<'_>>, state: S) {
        self.hand_over(ctx, Some(state));
    }

    fn hand_over(&mut self, ctx: Option<&mut Ctx<'_>>, state: Option<S>) {
        let over = self.queue.push_batch(&mut self.batch, state);
        if let (Some(ctx), Some(conn)) = (ctx, over) {
            let _ = ctx.pause_reading(conn);
        }
    }

    /// `conn`'s peer half-closed: hold it open until the program has
    /// handled every event queued so far, its last messages among them.
    pub(crate) fn hold(&mut self, ctx: &mut Ctx<'_>, conn: ConnId) -> HalfClose {
        self.flush(Some(ctx));
        let (mark, marker) = self.queue.hold();
        self.held.push((conn, mark));
        if let Some(handled) = marker {
            // Queued as a command, so that it lands behind the replies (to
            // this reactor's commands, where the replies to `conn` are).
            // Refused only once stopping, and the stop closes everything.
            let _ = self.commands.send(Command::Handled(handled));
        }
        HalfClose::Hold
    }

    /// The program has handled `handled` events, and its replies to them
    /// were carried out before this: close, after flushing, the held
    /// connections whose last message was among them.
    pub(crate) fn handled(&mut self, ctx: &mut Ctx<'_>, handled: u64) {
        let before = self.held.len();
        self.held.retain(|&(conn, mark)| {
            if mark > handled {
                return true;
            }
            // Already gone (the program closed it): nothing to do.
            let _ = ctx.close(conn);
            false
        });
        self.queue.release(before - self.held.len());
    }

    /// `conn` closed: it no longer waits for the program.
    pub(crate) fn closed(&mut self, conn: ConnId) {
        if let Some(i) = self.held.iter().position(|&(held, _)| held == conn) {
            self.held.swap_remove(i);
            self.queue.release(1);
        }
    }

    /// Called when the network thread is woken: reads again this reactor's
    /// connections paused for the program, if it has caught up.
    pub(crate) fn resume(&self, ctx: &mut Ctx<'_>) {
        for conn in self.queue.take_resumable(self.reactor) {
            let _ = ctx.resume_reading(conn);
        }
    }
}

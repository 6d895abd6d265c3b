//! The server's network side: the reactor handler that keeps the client
//! list, decodes packets, calls the [`ServerHandler`], and carries out the
//! commands other threads send through the [`Server`](super::Server) handle.

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::sync::mpsc::Receiver;
use std::sync::Arc;

use super::events::Event;
use super::queue::Batch;
use super::runtime::{lock, next_command, Drained, Engine};
use super::server::ServerShared;
use super::{ServerCtx, ServerHandler};
use crate::error::Error;
use crate::handler::{CloseReason, ConnId, HalfClose, Handler};
use crate::reactor::Ctx;

/// A request from another thread, carried out on the network thread.
#[derive(Debug)]
pub(crate) enum Command {
    /// Send an encoded body to one client.
    Send(ConnId, Vec<u8>),
    /// Send an encoded body to every client but `except`.
    Broadcast {
        body: Vec<u8>,
        except: Option<ConnId>,
    },
    /// Close a client after flushing.
    Disconnect(ConnId),
    PauseAccepting,
    ResumeAccepting,
    /// A polling server's caller came back after taking this many events:
    /// close the half-closed clients it has now answered (see `queue.rs`).
    Handled(u64),
}

/// Shown when the system cannot tell a peer's address (it is gone already).
const NO_ADDR: SocketAddr = SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 0));

pub(crate) struct ServerEngine<H> {
    handler: H,
    shared: Arc<ServerShared>,
    rx: Receiver<Command>,
    /// A polling server's clients that half-closed, held open until the
    /// caller has handled this many events.
    half_closed: Vec<(ConnId, u64)>,
    /// A polling server's events of this loop turn, queued at its end: the
    /// engine makes them itself, its handler is not called.
    batch: Option<Batch<Event>>,
}

/// Lets a polling server's caller tell the network thread, when it comes
/// back for more events, how many it has handled. The queue keeps only a
/// weak reference: it belongs to `shared` itself.
pub(crate) fn send_markers(shared: &Arc<ServerShared>) {
    let Some(events) = &shared.events else { return };
    let weak = Arc::downgrade(shared);
    events.set_marker(move |handled| {
        if let Some(shared) = weak.upgrade() {
            // Refused only once stopping: the stop closes every client.
            let _ = shared.commands.send(Command::Handled(handled));
        }
    });
}

impl<H> ServerEngine<H> {
    pub(crate) fn new(handler: H, shared: Arc<ServerShared>, rx: Receiver<Command>) -> Self {
        let batch = shared.events.as_ref().map(|_| Batch::default());
        ServerEngine { handler, shared, rx, half_closed: Vec::new(), batch }
    }

    /// Keeps an error for `Server::errors`; a polling server's caller also
    /// gets it as an event, in order with the others.
    fn report(&mut self, result: Result<(), Error>) {
        let Err(e) = result else { return };
        match &mut self.batch {
            Some(batch) => {
                batch.push(Event::Error(super::runtime::duplicate(&e)));
                lock(&self.shared.errors).push(e);
            }
            None => self.shared.record(e),
        }
    }

    /// Hands the turn's events to a polling server's caller. Flow control:
    /// a client whose message took the queue over its limit waits (see
    /// `ServerBuilder::max_queued_bytes`); without `ctx` (stopped) none
    /// needs to.
    fn flush(&mut self, ctx: Option<&mut Ctx<'_>>) {
        let (Some(batch), Some(events)) = (&mut self.batch, &self.shared.events) else { return };
        let over = events.push_batch(batch);
        if let Some(ctx) = ctx {
            for client in over {
                let _ = ctx.pause_reading(client);
            }
        }
    }

    fn execute(&mut self, ctx: &mut Ctx<'_>, command: Command) {
        let result = match command {
            Command::Send(client, body) => ctx.send(client, &body),
            Command::Broadcast { body, except: Some(except) } => {
                ctx.broadcast_except(except, &body);
                Ok(())
            }
            Command::Broadcast { body, except: None } => {
                ctx.broadcast(&body);
                Ok(())
            }
            Command::Disconnect(client) => ctx.close(client),
            Command::PauseAccepting => {
                ctx.pause_accept();
                Ok(())
            }
            Command::ResumeAccepting => {
                ctx.resume_accept();
                Ok(())
            }
            Command::Handled(handled) => {
                self.handled(ctx, handled);
                Ok(())
            }
        };
        self.report(result);
    }
}

impl<H> ServerEngine<H> {
    /// The caller has handled `handled` events, and its replies to them
    /// were carried out: close (after flushing) the half-closed clients
    /// whose last message was among them.
    fn handled(&mut self, ctx: &mut Ctx<'_>, handled: u64) {
        let before = self.half_closed.len();
        self.half_closed.retain(|&(client, mark)| {
            if mark > handled {
                return true;
            }
            // Already gone (the caller disconnected it): nothing to do.
            let _ = ctx.close(client);
            false
        });
        if let Some(events) = &self.shared.events {
            events.release(before - self.half_closed.len());
        }
    }
}

impl<H: ServerHandler> Handler for ServerEngine<H> {
    fn on_open(&mut self, ctx: &mut Ctx<'_>, conn: ConnId) {
        let addr = ctx.peer_addr(conn).unwrap_or(NO_ADDR);
        lock(&self.shared.clients).insert(conn, addr);
        if let Some(batch) = &mut self.batch {
            batch.push(Event::Connected { client: conn, addr });
            return;
        }
        let result = self.handler.on_connect(&mut ServerCtx::new(ctx, &self.shared), conn, addr);
        self.report(result);
    }

    fn on_frame(&mut self, ctx: &mut Ctx<'_>, conn: ConnId, frame: &[u8]) {
        let msg = match self.shared.format.message(frame) {
            Ok(msg) => msg,
            Err(why) => {
                // The handler and the poller see it as the disconnect
                // reason; the other clients are not affected.
                let _ = ctx.reject(conn, why);
                return;
            }
        };
        if let (Some(batch), Some(events)) = (&mut self.batch, &self.shared.events) {
            let addr = ctx.peer_addr(conn).unwrap_or(NO_ADDR);
            let event = match msg.packet() {
                Some(packet) => Event::Packet { client: conn, addr, packet: packet.to_owned() },
                None => Event::Received { client: conn, addr, data: msg.to_vec() },
            };
            if events.stage(batch, Some(conn), event) {
                self.flush(Some(ctx));
            }
            return;
        }
        let result = self.handler.on_receive(&mut ServerCtx::new(ctx, &self.shared), conn, msg);
        self.report(result);
    }

    /// A polling server holds a half-closed client open until its caller
    /// has taken its messages and come back; callbacks have answered them
    /// already.
    fn on_half_close(&mut self, ctx: &mut Ctx<'_>, conn: ConnId) -> HalfClose {
        if self.batch.is_none() {
            return HalfClose::Close;
        }
        // Its last messages must be counted in the queue before the hold.
        self.flush(Some(ctx));
        let Some(events) = &self.shared.events else { return HalfClose::Close };
        let (mark, marker) = events.hold();
        self.half_closed.push((conn, mark));
        if let Some(handled) = marker {
            // Through the channel, so that it lands behind the replies.
            // Refused only once stopping: the stop closes every client.
            let _ = self.shared.commands.send(Command::Handled(handled));
        }
        HalfClose::Hold
    }

    fn on_close(&mut self, ctx: &mut Ctx<'_>, conn: ConnId, reason: CloseReason) {
        if let Some(i) = self.half_closed.iter().position(|&(client, _)| client == conn) {
            self.half_closed.swap_remove(i);
            if let Some(events) = &self.shared.events {
                events.release(1);
            }
        }
        let addr = lock(&self.shared.clients).remove(&conn).unwrap_or(NO_ADDR);
        if let Some(batch) = &mut self.batch {
            batch.push(Event::Disconnected { client: conn, addr, reason });
            return;
        }
        let result = self.handler.on_disconnect(&mut ServerCtx::new(ctx, &self.shared), conn, addr, &reason);
        self.report(result);
    }

    fn on_wake(&mut self, ctx: &mut Ctx<'_>) {
        self.shared.commands.woken();
        // A polling server's caller drained its queue: read the clients
        // paused for it again.
        if let Some(events) = &self.shared.events {
            for client in events.take_resumable() {
                let _ = ctx.resume_reading(client);
            }
        }
        loop {
            match next_command(&self.rx) {
                Drained::Command(command) => self.execute(ctx, command),
                Drained::Empty => return,
                Drained::Closed => {
                    ctx.stop();
                    return;
                }
            }
        }
    }

    fn on_turn_end(&mut self, ctx: &mut Ctx<'_>) {
        self.flush(Some(ctx));
    }
}

impl<H: ServerHandler> Engine for ServerEngine<H> {
    fn finish(&mut self, outcome: Option<&Error>) {
        self.shared.commands.close();
        // Commands queued after a callback stopped the server: accepted,
        // never carried out, so say so.
        while let Drained::Command(_) = next_command(&self.rx) {
            self.report(Err(Error::Stopped));
        }
        if let Some(e) = outcome {
            self.report(Err(super::runtime::duplicate(e)));
        }
        lock(&self.shared.clients).clear();
        self.flush(None);
        if let Some(events) = &self.shared.events {
            events.close();
        }
    }
}

//! The server's network side: turns the reactor's callbacks into the
//! [`ServerHandler`]'s calls, or into events for a polling program, and
//! carries out the commands the [`Server`](super::Server) handle queued.
//! A server with several threads runs one engine per reactor.

use crate::addr::Addr;
use std::sync::Arc;

use super::commands::Command;
use super::events::{decode, Event, NO_ADDR};
use super::outbox::Outbox;
use super::queue::Queue;
use super::queued::Queued;
use super::runtime::{Engine, Shared};
use super::server::ServerShared;
use super::{Format, ServerCtx, ServerHandler};
use crate::error::Error;
use crate::handler::{CloseReason, ConnId, HalfClose, Handler};
use crate::reactor::{lock, Ctx};

pub(crate) struct ServerEngine<H> {
    handler: H,
    shared: Arc<ServerShared>,
    /// Which of the server's reactors this engine runs on.
    reactor: usize,
    /// The server's format, kept here: every message needs it, and the
    /// path through `shared` to it is a bounds-checked index each time.
    format: Format,
    /// A polling server's events; its handler is then never called.
    outbox: Option<Outbox<()>>,
}

#[inline]
fn peer(ctx: &Ctx<'_>, conn: ConnId) -> Addr {
    ctx.peer_addr(conn).unwrap_or(NO_ADDR)
}

impl<H: ServerHandler> ServerEngine<H> {
    /// The engine of reactor `reactor`, pushing to `events` if polled.
    pub(crate) fn new(
        handler: H,
        shared: Arc<ServerShared>,
        reactor: usize,
        events: Option<Arc<Queue<Queued>>>,
    ) -> Self {
        let commands = &shared.nets[reactor].commands;
        let outbox = events.map(|queue| Outbox::new(queue, Arc::clone(commands), reactor));
        let format = shared.nets[reactor].format;
        ServerEngine { handler, shared, reactor, format, outbox }
    }

    /// This reactor's network side.
    fn net(&self) -> &Shared {
        &self.shared.nets[self.reactor]
    }
}

impl<H: ServerHandler> Handler for ServerEngine<H> {
    fn on_open(&mut self, ctx: &mut Ctx<'_>, conn: ConnId) {
        let addr = peer(ctx, conn);
        if let Some(outbox) = &mut self.outbox {
            outbox.push(Event::Connected { client: conn, addr });
            return;
        }
        let result = self.handler.on_connect(&mut ServerCtx::new(ctx, &self.shared), conn, addr);
        self.report(result);
    }

    fn on_frame(&mut self, ctx: &mut Ctx<'_>, conn: ConnId, frame: &[u8]) {
        let Some(msg) = decode(ctx, self.format, conn, frame) else { return };
        if let Some(outbox) = &mut self.outbox {
            outbox.push_from(ctx, conn, peer(ctx, conn), msg);
            return;
        }
        let result = self.handler.on_receive(&mut ServerCtx::new(ctx, &self.shared), conn, msg);
        self.report(result);
    }

    /// A polling server holds a half-closed client open until its program
    /// has taken its messages and come back; callbacks have answered them
    /// already.
    fn on_half_close(&mut self, ctx: &mut Ctx<'_>, conn: ConnId) -> HalfClose {
        match &mut self.outbox {
            Some(outbox) => outbox.hold(ctx, conn),
            None => HalfClose::Close,
        }
    }

    fn on_close(&mut self, ctx: &mut Ctx<'_>, conn: ConnId, reason: CloseReason) {
        // A TLS client whose handshake failed: the program never saw it.
        if !ctx.was_opened(conn) {
            return;
        }
        let addr = peer(ctx, conn);
        if let Some(outbox) = &mut self.outbox {
            outbox.closed(conn);
            outbox.push(Event::Disconnected { client: conn, addr, reason });
            return;
        }
        let result = self.handler.on_disconnect(&mut ServerCtx::new(ctx, &self.shared), conn, addr, &reason);
        self.report(result);
    }

    fn on_wake(&mut self, ctx: &mut Ctx<'_>) {
        // The program caught up: read the clients paused for it again.
        if let Some(outbox) = &self.outbox {
            outbox.resume(ctx);
        }
        if !Arc::clone(&self.net().commands).run(ctx, self) {
            ctx.stop();
        }
    }

    fn on_turn_end(&mut self, ctx: &mut Ctx<'_>) {
        if let Some(outbox) = &mut self.outbox {
            outbox.flush(Some(ctx));
        }
    }
}

impl<H: ServerHandler> Engine for ServerEngine<H> {
    fn command(&mut self, ctx: &mut Ctx<'_>, command: Command) {
        match command {
            Command::Handled(handled) => {
                if let Some(outbox) = &mut self.outbox {
                    outbox.handled(ctx, handled);
                }
            }
            Command::Clients(answer) => {
                let _ = answer.send(ctx.connections().map(|conn| (conn, peer(ctx, conn))).collect());
            }
            // A client's commands never reach a server.
            _ => {}
        }
    }

    /// Keeps an error for `Server::errors`; a polling program also gets it
    /// as an event, in order with the others.
    fn report(&mut self, result: Result<(), Error>) {
        let Err(e) = result else { return };
        if let Some(outbox) = &mut self.outbox {
            outbox.push(Event::Error(e.duplicate()));
        }
        lock(&self.net().errors).push(e);
    }

    fn finish(&mut self, outcome: Option<&Error>) {
        Arc::clone(&self.net().commands).finish(self, outcome);
        if outcome.is_some() {
            // The other threads must not serve on without this one: they
            // stop once their commands are carried out.
            self.shared.close_all();
        }
        if let Some(outbox) = &mut self.outbox {
            outbox.flush(None);
            // The last thread to end closes it.
            outbox.queue.close();
        }
    }
}

//! The client's network side: one connection at a time, adopted from the
//! program's blocking connect or re-established with back-off; its
//! messages queued for `recv` or handed to the callbacks. The [`Link`] is
//! changed here only, and published as a [`Status`] after each change.

use crate::addr::Addr;
use std::sync::Arc;

use super::client::ClientShared;
use super::commands::Command;
use super::events::{decode, Event, NO_ADDR};
use super::link::{Link, Retry, Status};
use super::outbox::Outbox;
use super::runtime::Engine;
use super::{ClientCtx, ClientHandler};
use crate::error::Error;
use crate::handler::{CloseReason, ConnId, HalfClose, Handler, TimerId};
use crate::reactor::{self, lock, Ctx};

pub(crate) struct ClientEngine {
    handler: Option<Box<dyn ClientHandler + Send>>,
    shared: Arc<ClientShared>,
    /// Where the status is published and, without callbacks, the events
    /// queued for `recv`.
    outbox: Outbox<Status>,
    link: Link,
    retry: Option<Retry>,
    /// Why the last connection ended, and the last of the program's
    /// connects and disconnects carried out: published with the link.
    reason: Option<CloseReason>,
    epoch: u64,
    /// The program's connect waiting for its TLS handshake: its number is
    /// published once the handshake completed or failed, so that
    /// `Client::connect` returns with the client up, or down for a reason.
    handshaking: Option<u64>,
    /// The server's address, once known.
    server: Addr,
}

impl ClientEngine {
    pub(crate) fn new(handler: Option<Box<dyn ClientHandler + Send>>, shared: Arc<ClientShared>) -> Self {
        shared.queue.attach(vec![Arc::clone(&shared.net.commands)]);
        let outbox = Outbox::new(Arc::clone(&shared.queue), Arc::clone(&shared.net.commands), 0);
        let retry = shared.reconnect.map(Retry::new);
        ClientEngine {
            handler,
            shared,
            outbox,
            link: Link::Down,
            retry,
            reason: None,
            epoch: 0,
            handshaking: None,
            server: NO_ADDR,
        }
    }

    fn status(&self) -> Status {
        Status {
            conn: match self.link {
                Link::Up { conn } => Some(conn),
                _ => None,
            },
            reconnecting: matches!(self.link, Link::Backoff { .. } | Link::Connecting { .. }),
            reason: self.reason.clone(),
            epoch: self.epoch,
            server: Some(self.server.clone()).filter(|addr| *addr != NO_ADDR),
            callbacks: self.handler.is_some(),
        }
    }

    /// Shows the program the link as it is now, with the events that led
    /// there.
    fn publish(&mut self, ctx: &mut Ctx<'_>) {
        self.outbox.publish(Some(ctx), self.status());
    }

    /// Ends whatever the link is doing, for a connection the program made
    /// or a disconnect it asked for: a connection up closes once what was
    /// sent on it is written, and its end is told now, as closed locally.
    fn drop_link(&mut self, ctx: &mut Ctx<'_>) {
        match std::mem::replace(&mut self.link, Link::Down) {
            Link::Up { conn } | Link::Closing { conn } => {
                let _ = ctx.close(conn);
                self.ended(ctx, conn, CloseReason::ClosedLocally);
            }
            Link::Backoff { timer } => {
                ctx.cancel_timer(timer);
            }
            Link::Connecting { conn, timer } => {
                ctx.cancel_timer(timer);
                let _ = ctx.abort(conn);
            }
            Link::Down => {}
        }
    }

    /// The program's connect waiting for a TLS handshake is carried out.
    fn handshake_ended(&mut self) {
        if let Some(epoch) = self.handshaking.take() {
            self.epoch = self.epoch.max(epoch);
        }
    }

    /// `conn` is the connection now.
    fn up(&mut self, ctx: &mut Ctx<'_>, conn: ConnId) {
        self.handshake_ended();
        self.link = Link::Up { conn };
        self.reason = None;
        if let Ok(addr) = ctx.peer_addr(conn) {
            self.server = addr;
        }
        if let Some(retry) = &mut self.retry {
            retry.reset();
        }
        // Published first, so that `on_connect` sees itself connected.
        self.publish(ctx);
        let addr = self.server.clone();
        match &mut self.handler {
            Some(handler) => {
                let result = handler.on_connect(&mut ClientCtx::new(ctx, Some(conn), &self.shared), addr);
                self.report(result);
            }
            None => self.outbox.push(Event::Connected { client: conn, addr }),
        }
    }

    /// Tells the program `conn` ended (its event, or `on_disconnect`).
    fn ended(&mut self, ctx: &mut Ctx<'_>, conn: ConnId, reason: CloseReason) {
        self.reason = Some(reason.clone());
        match &mut self.handler {
            Some(handler) => {
                let result = handler.on_disconnect(&mut ClientCtx::new(ctx, None, &self.shared), &reason);
                self.report(result);
            }
            None => self.outbox.push(Event::Disconnected { client: conn, addr: self.server.clone(), reason }),
        }
    }

    /// Waits before the next attempt, or gives up.
    fn back_off(&mut self, ctx: &mut Ctx<'_>) {
        let Some(retry) = &mut self.retry else {
            // No reconnecting: a failed TLS handshake of the first connect.
            self.link = Link::Down;
            return;
        };
        match retry.next_delay() {
            Some(delay) => self.link = Link::Backoff { timer: ctx.set_timer(delay) },
            None => {
                self.link = Link::Down;
                let reason = self.reason.clone().unwrap_or(CloseReason::ClosedLocally);
                self.report(Err(Error::Disconnected(reason)));
            }
        }
    }

    /// One automatic reconnect attempt.
    fn attempt(&mut self, ctx: &mut Ctx<'_>) {
        let Some(retry) = &mut self.retry else { return };
        let addrs = &self.shared.addrs;
        let Some(addr) = addrs.get(retry.attempts as usize % addrs.len().max(1)).cloned() else { return };
        retry.attempts += 1;
        match ctx.connect_with(&addr, reactor::client_tls(&self.shared.tls)) {
            Ok(conn) => {
                self.link = Link::Connecting { conn, timer: ctx.set_timer(self.shared.connect_timeout) };
            }
            Err(_) => self.back_off(ctx),
        }
        self.publish(ctx);
    }
}

impl Handler for ClientEngine {
    fn on_open(&mut self, ctx: &mut Ctx<'_>, conn: ConnId) {
        if let Link::Connecting { conn: attempt, timer } = self.link {
            if attempt == conn {
                ctx.cancel_timer(timer);
                self.up(ctx, conn);
            }
        }
    }

    fn on_frame(&mut self, ctx: &mut Ctx<'_>, conn: ConnId, frame: &[u8]) {
        if self.link.conn() != Some(conn) {
            return;
        }
        let Some(msg) = decode(ctx, self.shared.net.format, conn, frame) else { return };
        match &mut self.handler {
            Some(handler) => {
                let result = handler.on_receive(&mut ClientCtx::new(ctx, Some(conn), &self.shared), msg);
                self.report(result);
            }
            None => self.outbox.push_from(ctx, conn, self.server.clone(), msg),
        }
    }

    /// Without callbacks, a connection the server half-closed stays open
    /// until the program has taken its messages and come back: the answers
    /// it sends meanwhile still go out.
    fn on_half_close(&mut self, ctx: &mut Ctx<'_>, conn: ConnId) -> HalfClose {
        if self.handler.is_some() || self.link.conn() != Some(conn) {
            return HalfClose::Close;
        }
        self.outbox.hold(ctx, conn)
    }

    fn on_close(&mut self, ctx: &mut Ctx<'_>, conn: ConnId, reason: CloseReason) {
        self.outbox.closed(conn);
        match self.link {
            Link::Connecting { conn: attempt, timer } if attempt == conn => {
                ctx.cancel_timer(timer);
                self.handshake_ended();
                // An attempt that timed out was aborted here: say why.
                self.reason = Some(match reason {
                    CloseReason::Aborted => CloseReason::ConnectFailed(std::io::ErrorKind::TimedOut),
                    other => other,
                });
                self.back_off(ctx);
            }
            Link::Up { conn: up } | Link::Closing { conn: up } if up == conn => {
                // A client's reactor stops only because this program stopped
                // its client (`Client::stop`, `ClientCtx::stop`, a drop); a
                // server that shuts down arrives as its end of stream. So the
                // engine's `Shutdown` ("server shut down") is, here, a close
                // this side made, as is any end of a connection the program
                // was closing (a reset while it flushed, a peer that had
                // half-closed): never a reason to reconnect.
                let reason = match reason {
                    _ if matches!(self.link, Link::Closing { .. }) => CloseReason::ClosedLocally,
                    CloseReason::Shutdown => CloseReason::ClosedLocally,
                    other => other,
                };
                // Closes this side asked for are no reason to reconnect.
                let local = matches!(reason, CloseReason::ClosedLocally | CloseReason::Aborted);
                let again = self.retry.is_some() && !local && !ctx.is_stopping();
                self.link = Link::Down;
                self.ended(ctx, conn, reason);
                if again {
                    self.back_off(ctx);
                }
            }
            // A connection replaced or given up: its end is not news.
            _ => return,
        }
        self.publish(ctx);
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_>, timer: TimerId) {
        match self.link {
            Link::Backoff { timer: t } if t == timer => self.attempt(ctx),
            // The attempt took too long: its close schedules the next.
            Link::Connecting { conn, timer: t } if t == timer => {
                let _ = ctx.abort(conn);
            }
            _ => {}
        }
    }

    fn on_wake(&mut self, ctx: &mut Ctx<'_>) {
        // The program drained the queue: read the server again.
        self.outbox.resume(ctx);
        if !Arc::clone(&self.shared.net.commands).run(ctx, self) {
            // Stopping: no more attempts; a connection up is flushed first.
            if self.link.conn().is_none() {
                self.drop_link(ctx);
            }
            ctx.stop();
        }
    }

    fn on_turn_end(&mut self, ctx: &mut Ctx<'_>) {
        self.outbox.flush(Some(ctx));
    }
}

impl Engine for ClientEngine {
    fn command(&mut self, ctx: &mut Ctx<'_>, command: Command) {
        match command {
            Command::Adopt(stream, epoch) => {
                self.drop_link(ctx);
                match ctx.adopt_blocking(stream, reactor::client_tls(&self.shared.tls)) {
                    // Under TLS, up once the handshake completes (`on_open`).
                    Ok(conn) if self.shared.tls.is_some() => {
                        self.link = Link::Connecting { conn, timer: ctx.set_timer(self.shared.connect_timeout) };
                        self.handshaking = Some(self.handshaking.unwrap_or(0).max(epoch));
                        return self.publish(ctx);
                    }
                    // Two threads may queue their changes in the other order
                    // than they numbered them: the published number only grows.
                    Ok(conn) => {
                        self.epoch = self.epoch.max(epoch);
                        return self.up(ctx, conn);
                    }
                    Err(e) => {
                        self.epoch = self.epoch.max(epoch);
                        self.reason = Some(CloseReason::ConnectFailed(std::io::ErrorKind::Other));
                        self.report(Err(e));
                    }
                }
            }
            Command::Disconnect(epoch) => {
                self.epoch = self.epoch.max(epoch);
                if let Link::Up { conn } = self.link {
                    // Its end is told once it has flushed and closed.
                    let _ = ctx.close(conn);
                    self.link = Link::Closing { conn };
                } else {
                    self.drop_link(ctx);
                }
                self.reason = Some(CloseReason::ClosedLocally);
            }
            Command::Handled(handled) => return self.outbox.handled(ctx, handled),
            // A server's commands never reach a client.
            _ => return,
        }
        self.publish(ctx);
    }

    fn report(&mut self, result: Result<(), Error>) {
        let Err(e) = result else { return };
        if self.handler.is_none() {
            self.outbox.push(Event::Error(e.duplicate()));
        }
        lock(&self.shared.net.errors).push(e);
    }

    fn finish(&mut self, outcome: Option<&Error>) {
        Arc::clone(&self.shared.net.commands).finish(self, outcome);
        self.link = Link::Down;
        let status = self.status();
        self.outbox.publish(None, status);
        self.shared.queue.close();
    }
}

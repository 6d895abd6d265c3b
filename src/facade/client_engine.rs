//! The client's network side: one connection at a time, adopted from the
//! caller's blocking connect or re-established with back-off, its messages
//! queued for `recv` or handed to the callbacks.

use std::net::TcpStream;
use std::sync::mpsc::Receiver;
use std::sync::Arc;
use std::time::Duration;

use super::client::ClientShared;
use super::events::ClientEvent;
use super::runtime::{duplicate, next_command, Drained, Engine};
use super::Reconnect;
use super::{ClientCtx, ClientHandler};
use crate::error::Error;
use crate::handler::{CloseReason, ConnId, HalfClose, Handler, TimerId};
use crate::reactor::Ctx;

/// A request from the [`Client`](super::Client) handle.
#[derive(Debug)]
pub(crate) enum ClientCommand {
    /// Serve this freshly connected stream (replacing any connection);
    /// `epoch` numbers the connections the caller made.
    Adopt { stream: TcpStream, epoch: u64 },
    /// Send an encoded body.
    Send(Vec<u8>),
    /// Close the connection after flushing; no automatic reconnect.
    Disconnect,
    /// The caller came back after taking this many events: close the
    /// connection if the server half-closed it and every message it sent
    /// was handled (see `queue.rs`).
    Handled(u64),
}

/// How long an automatic reconnect attempt may take when no connect
/// timeout was set.
const DEFAULT_ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);

/// Automatic reconnection in progress.
#[derive(Debug)]
struct Retry {
    policy: Reconnect,
    delay: Duration,
    attempts: u32,
    /// The back-off timer before the next attempt.
    timer: Option<TimerId>,
    /// The attempt under way, and its timeout.
    connecting: Option<(ConnId, TimerId)>,
}

pub(crate) struct ClientEngine {
    pub(crate) handler: Option<Box<dyn ClientHandler + Send>>,
    pub(crate) shared: Arc<ClientShared>,
    pub(crate) rx: Receiver<ClientCommand>,
    /// The connection in use, and the epoch it belongs to.
    current: Option<(ConnId, u64)>,
    /// Connections replaced or given up: their close is not news.
    ignore: Vec<ConnId>,
    retry: Option<Retry>,
    /// The connection, if the server half-closed it, held open until the
    /// caller has handled this many events.
    half_closed: Option<(ConnId, u64)>,
}

/// Lets the caller tell the network thread, when it comes back for more
/// events, how many it has handled. The queue keeps only a weak reference:
/// it belongs to `shared` itself.
pub(crate) fn send_markers(shared: &Arc<ClientShared>) {
    let weak = Arc::downgrade(shared);
    shared.queue.set_marker(move |handled| {
        if let Some(shared) = weak.upgrade() {
            // Refused only once stopping: the stop closes the connection.
            let _ = shared.commands.send(ClientCommand::Handled(handled));
        }
    });
}

/// Closes this side asked for: they are not reasons to reconnect.
fn is_local(reason: &CloseReason) -> bool {
    matches!(reason, CloseReason::ClosedLocally | CloseReason::Aborted | CloseReason::Shutdown)
}

impl ClientEngine {
    pub(crate) fn new(
        handler: Option<Box<dyn ClientHandler + Send>>,
        shared: Arc<ClientShared>,
        rx: Receiver<ClientCommand>,
    ) -> Self {
        let retry = shared.reconnect.map(|policy| Retry {
            policy,
            delay: policy.first_delay,
            attempts: 0,
            timer: None,
            connecting: None,
        });
        ClientEngine { handler, shared, rx, current: None, ignore: Vec::new(), retry, half_closed: None }
    }

    fn report(&self, result: Result<(), Error>) {
        if let Err(e) = result {
            self.shared.record(e);
        }
    }

    fn execute(&mut self, ctx: &mut Ctx<'_>, command: ClientCommand) {
        match command {
            ClientCommand::Adopt { stream, epoch } => {
                self.cancel_retry(ctx);
                if let Some((old, old_epoch)) = self.current.take() {
                    let _ = ctx.abort(old);
                    self.ignore.push(old);
                    self.lost(ctx, old_epoch, CloseReason::ClosedLocally);
                }
                match ctx.adopt(stream) {
                    Ok(id) => self.connected(ctx, id, epoch),
                    Err(e) => {
                        self.shared.link_lost(epoch, CloseReason::ConnectFailed(std::io::ErrorKind::Other), false);
                        self.shared.record(e);
                    }
                }
            }
            ClientCommand::Send(body) => {
                let result = match self.current {
                    Some((id, _)) => ctx.send(id, &body),
                    None => Err(Error::Disconnected(self.shared.last_reason())),
                };
                self.report(result);
            }
            ClientCommand::Disconnect => {
                self.cancel_retry(ctx);
                if let Some((id, _)) = self.current {
                    let _ = ctx.close(id);
                }
            }
            ClientCommand::Handled(handled) => {
                if let Some((id, _)) = self.half_closed.filter(|&(_, mark)| mark <= handled) {
                    self.half_closed = None;
                    self.shared.queue.release(1);
                    // Closes with the server's own reason, `PeerClosed`.
                    let _ = ctx.close(id);
                }
            }
        }
    }

    /// `id` is the connection now: tell the waiters and the callbacks.
    fn connected(&mut self, ctx: &mut Ctx<'_>, id: ConnId, epoch: u64) {
        self.current = Some((id, epoch));
        if let Some(retry) = &mut self.retry {
            retry.delay = retry.policy.first_delay;
            retry.attempts = 0;
        }
        let addr = ctx.peer_addr(id).ok();
        self.shared.link_up(epoch, addr);
        let Some(addr) = addr else { return };
        match &mut self.handler {
            Some(handler) => {
                let result = handler.on_connect(&mut ClientCtx::new(ctx, Some(id), &self.shared), addr);
                self.report(result);
            }
            None => self.shared.queue.push(ClientEvent::Connected { addr }),
        }
    }

    /// The connection of `epoch` closed for `reason`.
    fn lost(&mut self, ctx: &mut Ctx<'_>, epoch: u64, reason: CloseReason) {
        let again = self.retry.is_some() && !is_local(&reason) && !ctx.is_stopping();
        // Also queues the Disconnected event for a client without callbacks.
        self.shared.link_lost(epoch, reason.clone(), again);
        if let Some(handler) = &mut self.handler {
            let result = handler.on_disconnect(&mut ClientCtx::new(ctx, None, &self.shared), &reason);
            self.report(result);
        }
        if again {
            self.schedule_retry(ctx);
        }
    }

    fn schedule_retry(&mut self, ctx: &mut Ctx<'_>) {
        if ctx.is_stopping() {
            return;
        }
        let Some(retry) = &mut self.retry else { return };
        let delay = retry.delay;
        retry.delay = (delay * 2).min(retry.policy.max_delay);
        retry.timer = Some(ctx.set_timer(delay));
    }

    /// One automatic reconnect attempt, or giving up.
    fn attempt(&mut self, ctx: &mut Ctx<'_>) {
        let Some(retry) = &mut self.retry else { return };
        if retry.policy.max_attempts.is_some_and(|max| retry.attempts >= max) {
            // Recorded before the waiters wake, so they find it.
            self.shared.record(Error::Disconnected(self.shared.last_reason()));
            self.shared.give_up();
            return;
        }
        let addrs = &self.shared.addrs;
        let Some(addr) = addrs.get(retry.attempts as usize % addrs.len().max(1)).copied() else { return };
        retry.attempts += 1;
        match ctx.connect(addr) {
            Ok(id) => {
                let timeout = self.shared.connect_timeout.unwrap_or(DEFAULT_ATTEMPT_TIMEOUT);
                retry.connecting = Some((id, ctx.set_timer(timeout)));
            }
            Err(_) => self.schedule_retry(ctx),
        }
    }

    fn cancel_retry(&mut self, ctx: &mut Ctx<'_>) {
        let Some(retry) = &mut self.retry else { return };
        if let Some(timer) = retry.timer.take() {
            ctx.cancel_timer(timer);
        }
        if let Some((id, timer)) = retry.connecting.take() {
            ctx.cancel_timer(timer);
            let _ = ctx.abort(id);
            self.ignore.push(id);
        }
    }
}

impl Handler for ClientEngine {
    fn on_open(&mut self, ctx: &mut Ctx<'_>, conn: ConnId) {
        let Some(retry) = &mut self.retry else { return };
        if retry.connecting.map(|(id, _)| id) != Some(conn) {
            return;
        }
        if let Some((_, timer)) = retry.connecting.take() {
            ctx.cancel_timer(timer);
        }
        let epoch = self.shared.epoch();
        self.connected(ctx, conn, epoch);
    }

    fn on_frame(&mut self, ctx: &mut Ctx<'_>, conn: ConnId, frame: &[u8]) {
        if self.current.map(|(id, _)| id) != Some(conn) {
            return;
        }
        let msg = match self.shared.format.message(frame) {
            Ok(msg) => msg,
            Err(why) => {
                let _ = ctx.reject(conn, why);
                return;
            }
        };
        match &mut self.handler {
            Some(handler) => {
                let result = handler.on_receive(&mut ClientCtx::new(ctx, Some(conn), &self.shared), msg);
                self.report(result);
            }
            None => {
                let event = match msg.packet() {
                    Some(packet) => ClientEvent::Packet(packet.to_owned()),
                    None => ClientEvent::Received(msg.to_vec()),
                };
                // Flow control: over the queue's limit, the server waits
                // (see `ClientBuilder::max_queued_bytes`).
                if self.shared.queue.push_from(conn, event) {
                    let _ = ctx.pause_reading(conn);
                }
            }
        }
    }

    /// Without callbacks, a connection the server half-closed stays open
    /// until the caller has taken its messages and come back: the answers
    /// it sends meanwhile still go out.
    fn on_half_close(&mut self, _ctx: &mut Ctx<'_>, conn: ConnId) -> HalfClose {
        if self.shared.callbacks || self.current.map(|(id, _)| id) != Some(conn) {
            return HalfClose::Close;
        }
        let (mark, marker) = self.shared.queue.hold();
        self.half_closed = Some((conn, mark));
        if let Some(handled) = marker {
            // Through the channel, so that it lands behind the answers.
            let _ = self.shared.commands.send(ClientCommand::Handled(handled));
        }
        HalfClose::Hold
    }

    fn on_close(&mut self, ctx: &mut Ctx<'_>, conn: ConnId, reason: CloseReason) {
        if self.half_closed.is_some_and(|(id, _)| id == conn) {
            self.half_closed = None;
            self.shared.queue.release(1);
        }
        if let Some(i) = self.ignore.iter().position(|&id| id == conn) {
            self.ignore.swap_remove(i);
            return;
        }
        if let Some(retry) = &mut self.retry {
            if retry.connecting.map(|(id, _)| id) == Some(conn) {
                if let Some((_, timer)) = retry.connecting.take() {
                    ctx.cancel_timer(timer);
                }
                // An attempt that timed out was aborted here: say why.
                let reason = match reason {
                    CloseReason::Aborted => CloseReason::ConnectFailed(std::io::ErrorKind::TimedOut),
                    other => other,
                };
                self.shared.note_reason(reason);
                self.schedule_retry(ctx);
                return;
            }
        }
        if let Some((id, epoch)) = self.current {
            if id == conn {
                self.current = None;
                // A client's reactor stops only because this program
                // stopped its client (`Client::stop`, `ClientCtx::stop`, a
                // drop); a server that shuts down arrives as its EOF. So the
                // engine's `Shutdown` ("server shut down") is, here, a close
                // this side made.
                let reason = match reason {
                    CloseReason::Shutdown => CloseReason::ClosedLocally,
                    other => other,
                };
                self.lost(ctx, epoch, reason);
            }
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_>, timer: TimerId) {
        let Some(retry) = &mut self.retry else { return };
        if retry.timer == Some(timer) {
            retry.timer = None;
            self.attempt(ctx);
        } else if let Some((id, t)) = retry.connecting {
            if t == timer {
                // The attempt took too long: its close schedules the next.
                let _ = ctx.abort(id);
            }
        }
    }

    fn on_wake(&mut self, ctx: &mut Ctx<'_>) {
        self.shared.commands.woken();
        // The caller drained the queue: read the server again. (After a
        // reconnect the paused connection may be gone: nothing to do.)
        for conn in self.shared.queue.take_resumable() {
            let _ = ctx.resume_reading(conn);
        }
        loop {
            match next_command(&self.rx) {
                Drained::Command(command) => self.execute(ctx, command),
                Drained::Empty => return,
                Drained::Closed => {
                    self.cancel_retry(ctx);
                    ctx.stop();
                    return;
                }
            }
        }
    }
}

impl Engine for ClientEngine {
    fn finish(&mut self, outcome: Option<&Error>) {
        self.shared.commands.close();
        while let Drained::Command(_) = next_command(&self.rx) {
            self.shared.record(Error::Stopped);
        }
        if let Some(e) = outcome {
            self.shared.record(duplicate(e));
        }
        self.shared.queue.update(|inner| {
            inner.closed = true;
            inner.state.connected = false;
            inner.state.reconnecting = false;
        });
    }
}

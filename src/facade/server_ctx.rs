//! [`ServerHandler`]: the callbacks a server runs, and [`ServerCtx`], what
//! they act through.

use std::net::SocketAddr;

use super::format::{not_packets, packet_body};
use super::runtime::lock;
use super::server::ServerShared;
use super::{ClientId, Format, Message};
use crate::error::Error;
use crate::handler::CloseReason;
use crate::reactor::Ctx;

/// The callbacks of a server (pyspeak's `accepted` / `received` /
/// `connectionClosed`, simplesockets' `on_connect` / `on_receive` /
/// `on_disconnect`).
///
/// They run on the server's network thread, one at a time, so they need no
/// locks; they should return quickly, because while one runs no other
/// client is served. Only [`on_receive`](Self::on_receive) must be written.
///
/// An error a callback returns (with `?`) is kept in
/// [`Server::errors`](super::Server::errors); the server goes on serving.
///
/// pyspeak's chat box server, which sends every message to every other
/// client:
///
/// ```no_run
/// use frameloop::{ClientId, Error, Message, Server, ServerCtx, ServerHandler};
///
/// struct ChatBox;
///
/// impl ServerHandler for ChatBox {
///     fn on_receive(&mut self, server: &mut ServerCtx<'_>, client: ClientId, msg: Message<'_>) -> Result<(), Error> {
///         server.broadcast_except(client, msg);
///         Ok(())
///     }
/// }
///
/// let server = Server::bind("127.0.0.1:1996")?.packets().start(ChatBox)?;
/// server.wait()?; // serve until stopped
/// # Ok::<(), frameloop::Error>(())
/// ```
pub trait ServerHandler {
    /// A client connected from `addr`.
    ///
    /// # Errors
    ///
    /// Whatever the callback wants kept in the server's error list.
    fn on_connect(&mut self, server: &mut ServerCtx<'_>, client: ClientId, addr: SocketAddr) -> Result<(), Error> {
        let _ = (server, client, addr);
        Ok(())
    }

    /// A whole message arrived from `client`. `msg` borrows the network
    /// buffer: copy what you keep.
    ///
    /// # Errors
    ///
    /// Whatever the callback wants kept in the server's error list.
    fn on_receive(&mut self, server: &mut ServerCtx<'_>, client: ClientId, msg: Message<'_>) -> Result<(), Error>;

    /// `client` (connected from `addr`) is gone, for `reason`. It is no
    /// longer in [`ServerCtx::clients`], and sends to it fail.
    ///
    /// # Errors
    ///
    /// Whatever the callback wants kept in the server's error list.
    fn on_disconnect(
        &mut self,
        server: &mut ServerCtx<'_>,
        client: ClientId,
        addr: SocketAddr,
        reason: &CloseReason,
    ) -> Result<(), Error> {
        let _ = (server, client, addr, reason);
        Ok(())
    }
}

impl<H: ServerHandler + ?Sized> ServerHandler for Box<H> {
    fn on_connect(&mut self, server: &mut ServerCtx<'_>, client: ClientId, addr: SocketAddr) -> Result<(), Error> {
        (**self).on_connect(server, client, addr)
    }
    fn on_receive(&mut self, server: &mut ServerCtx<'_>, client: ClientId, msg: Message<'_>) -> Result<(), Error> {
        (**self).on_receive(server, client, msg)
    }
    fn on_disconnect(
        &mut self,
        server: &mut ServerCtx<'_>,
        client: ClientId,
        addr: SocketAddr,
        reason: &CloseReason,
    ) -> Result<(), Error> {
        (**self).on_disconnect(server, client, addr, reason)
    }
}

/// What a [`ServerHandler`] callback acts through: send to one client, to
/// all, to all but one, list and disconnect clients.
///
/// Every method returns at once: messages are queued and written after the
/// callback, all of one client's messages in one write.
#[derive(Debug)]
pub struct ServerCtx<'a> {
    ctx: Ctx<'a>,
    shared: &'a ServerShared,
}

impl<'a> ServerCtx<'a> {
    pub(crate) fn new(ctx: &'a mut Ctx<'_>, shared: &'a ServerShared) -> Self {
        ServerCtx { ctx: Ctx::new(&mut *ctx.core), shared }
    }

    /// Sends `data` to `client` as one message (with packets: as the text
    /// of a packet, like pyspeak's `send(client, string=...)`).
    ///
    /// # Errors
    ///
    /// [`Error::UnknownConnection`] / [`Error::ConnectionClosed`] if the
    /// client is gone; [`Error::Codec`] if `data` does not fit the format (a
    /// line with a newline inside, packet text that is not UTF-8).
    pub fn send(&mut self, client: ClientId, data: impl AsRef<[u8]>) -> Result<(), Error> {
        let body = self.shared.format.body(data.as_ref())?;
        self.ctx.send(client, &body)
    }

    /// Sends one packet: pyspeak's `send(client, integer, real, boolean,
    /// string)`.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] unless the server uses the packets format; as
    /// [`send`](Self::send) otherwise.
    pub fn send_packet(
        &mut self,
        client: ClientId,
        integer: i64,
        real: f64,
        boolean: bool,
        text: &str,
    ) -> Result<(), Error> {
        if self.shared.format != Format::Packets {
            return Err(not_packets());
        }
        let packet = crate::codec::packet::PacketRef { integer, real, boolean, text };
        self.ctx.send_packet(client, packet)
    }

    /// Sends `data` to every connected client; returns how many. Data that
    /// does not fit the format reaches nobody (0).
    pub fn broadcast(&mut self, data: impl AsRef<[u8]>) -> usize {
        match self.shared.format.body(data.as_ref()) {
            Ok(body) => self.ctx.broadcast(&body),
            Err(_) => 0,
        }
    }

    /// Sends `data` to every connected client except `except` (usually the
    /// sender); returns how many.
    pub fn broadcast_except(&mut self, except: ClientId, data: impl AsRef<[u8]>) -> usize {
        match self.shared.format.body(data.as_ref()) {
            Ok(body) => self.ctx.broadcast_except(except, &body),
            Err(_) => 0,
        }
    }

    /// Sends one packet to every client except `except` (use
    /// [`broadcast_packet`](Self::broadcast_packet) for all); returns how
    /// many. With another format it reaches nobody.
    pub fn broadcast_packet_except(
        &mut self,
        except: ClientId,
        integer: i64,
        real: f64,
        boolean: bool,
        text: &str,
    ) -> usize {
        if self.shared.format != Format::Packets {
            return 0;
        }
        self.ctx.broadcast_except(except, &packet_body(integer, real, boolean, text))
    }

    /// Sends one packet to every client; returns how many.
    pub fn broadcast_packet(&mut self, integer: i64, real: f64, boolean: bool, text: &str) -> usize {
        if self.shared.format != Format::Packets {
            return 0;
        }
        self.ctx.broadcast(&packet_body(integer, real, boolean, text))
    }

    /// The connected clients and their addresses, oldest id first
    /// (pyspeak's `getClients`).
    ///
    /// ```
    /// use frameloop::{ClientId, Error, Message, ServerCtx, ServerHandler};
    ///
    /// /// pyspeak's chat box, written as pyspeak wrote it.
    /// struct ChatBox;
    /// impl ServerHandler for ChatBox {
    ///     fn on_receive(&mut self, server: &mut ServerCtx<'_>, client: ClientId, msg: Message<'_>) -> Result<(), Error> {
    ///         for (other, _addr) in server.clients() {
    ///             if other != client {
    ///                 server.send(other, msg)?;
    ///             }
    ///         }
    ///         Ok(())
    ///     }
    /// }
    /// # let _ = ChatBox;
    /// ```
    pub fn clients(&self) -> Vec<(ClientId, SocketAddr)> {
        lock(&self.shared.clients).iter().map(|(c, a)| (*c, *a)).collect()
    }

    /// How many clients are connected.
    pub fn client_count(&self) -> usize {
        lock(&self.shared.clients).len()
    }

    /// The address of `client`, if it is connected.
    pub fn addr(&self, client: ClientId) -> Option<SocketAddr> {
        lock(&self.shared.clients).get(&client).copied()
    }

    /// Closes `client`'s connection once what was sent to it is written;
    /// its [`on_disconnect`](ServerHandler::on_disconnect) follows.
    ///
    /// # Errors
    ///
    /// [`Error::UnknownConnection`] / [`Error::ConnectionClosed`] if it is
    /// already gone.
    pub fn disconnect(&mut self, client: ClientId) -> Result<(), Error> {
        self.ctx.close(client)
    }

    /// New clients wait (in the system's backlog) until
    /// [`resume_accepting`](Self::resume_accepting).
    pub fn pause_accepting(&mut self) {
        self.ctx.pause_accept();
    }

    /// Accepts new clients again.
    pub fn resume_accepting(&mut self) {
        self.ctx.resume_accept();
    }

    /// Stops the server gracefully once this callback returns: what was
    /// sent is written, every client is disconnected, the network thread
    /// ends.
    pub fn stop(&mut self) {
        self.ctx.stop();
    }

    /// The address the server listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.shared.local_addr
    }

    /// The message format.
    pub fn format(&self) -> Format {
        self.shared.format
    }

    /// The engine's own context, for what the facade does not offer
    /// (timers, queued-byte counts, statistics).
    pub fn engine(&mut self) -> &mut Ctx<'a> {
        &mut self.ctx
    }
}

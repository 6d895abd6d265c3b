//! [`ClientHandler`]: the optional callbacks of a client, and
//! [`ClientCtx`], what they act through.

use std::net::SocketAddr;

use super::client::ClientShared;
use super::Message;
use crate::error::Error;
use crate::handler::{CloseReason, ConnId};
use crate::reactor::Ctx;

/// Callbacks for a [`Client`](super::Client) (pyspeak's `connected` /
/// `received` / `connectionClosed`), run on the client's network thread.
/// Only [`on_receive`](Self::on_receive) must be written. A client with
/// callbacks hands its messages to them instead of to `recv`.
///
/// An error a callback returns (with `?`) is kept in
/// [`Client::errors`](super::Client::errors).
///
/// ```no_run
/// use frameloop::{Client, ClientCtx, ClientHandler, Error, Message};
///
/// struct Printer;
/// impl ClientHandler for Printer {
///     fn on_receive(&mut self, _client: &mut ClientCtx<'_>, msg: Message<'_>) -> Result<(), Error> {
///         println!("{}", msg.text());
///         Ok(())
///     }
/// }
///
/// let client = Client::builder().callbacks(Printer).connect("127.0.0.1:1996")?;
/// client.send("hello")?; // your code goes on here; replies print as they come
/// # Ok::<(), frameloop::Error>(())
/// ```
pub trait ClientHandler {
    /// Connected (or reconnected) to the server at `addr`.
    ///
    /// # Errors
    ///
    /// Whatever the callback wants kept in the client's error list.
    fn on_connect(&mut self, client: &mut ClientCtx<'_>, addr: SocketAddr) -> Result<(), Error> {
        let _ = (client, addr);
        Ok(())
    }

    /// A whole message arrived. `msg` borrows the network buffer: copy what
    /// you keep.
    ///
    /// # Errors
    ///
    /// Whatever the callback wants kept in the client's error list.
    fn on_receive(&mut self, client: &mut ClientCtx<'_>, msg: Message<'_>) -> Result<(), Error>;

    /// The connection closed, for `reason`.
    ///
    /// # Errors
    ///
    /// Whatever the callback wants kept in the client's error list.
    fn on_disconnect(&mut self, client: &mut ClientCtx<'_>, reason: &CloseReason) -> Result<(), Error> {
        let _ = (client, reason);
        Ok(())
    }
}

impl<H: ClientHandler + ?Sized> ClientHandler for Box<H> {
    fn on_connect(&mut self, client: &mut ClientCtx<'_>, addr: SocketAddr) -> Result<(), Error> {
        (**self).on_connect(client, addr)
    }
    fn on_receive(&mut self, client: &mut ClientCtx<'_>, msg: Message<'_>) -> Result<(), Error> {
        (**self).on_receive(client, msg)
    }
    fn on_disconnect(&mut self, client: &mut ClientCtx<'_>, reason: &CloseReason) -> Result<(), Error> {
        (**self).on_disconnect(client, reason)
    }
}

/// What a [`ClientHandler`] callback acts through.
#[derive(Debug)]
pub struct ClientCtx<'a> {
    ctx: Ctx<'a>,
    conn: Option<ConnId>,
    shared: &'a ClientShared,
}

impl<'a> ClientCtx<'a> {
    pub(crate) fn new(ctx: &'a mut Ctx<'_>, conn: Option<ConnId>, shared: &'a ClientShared) -> Self {
        ClientCtx { ctx: Ctx::new(&mut *ctx.core), conn, shared }
    }

    fn conn(&self) -> Result<ConnId, Error> {
        self.conn.ok_or_else(|| Error::Disconnected(self.shared.last_reason()))
    }

    /// Sends `data` to the server as one message (with packets: as a
    /// packet's text).
    ///
    /// # Errors
    ///
    /// [`Error::Disconnected`] when not connected; [`Error::Codec`] if
    /// `data` does not fit the format.
    pub fn send(&mut self, data: impl AsRef<[u8]>) -> Result<(), Error> {
        let conn = self.conn()?;
        let body = self.shared.format.body(data.as_ref())?;
        self.ctx.send(conn, &body)
    }

    /// Sends one packet (pyspeak's `send(integer, real, boolean, string)`).
    ///
    /// # Errors
    ///
    /// [`Error::Config`] unless the client uses packets; as
    /// [`send`](Self::send).
    pub fn send_packet(&mut self, integer: i64, real: f64, boolean: bool, text: &str) -> Result<(), Error> {
        let conn = self.conn()?;
        let body = self.shared.format.packet(integer, real, boolean, text)?;
        self.ctx.send(conn, &body)
    }

    /// Closes the connection once what was sent is written (no automatic
    /// reconnection follows).
    ///
    /// # Errors
    ///
    /// [`Error::Disconnected`] when not connected.
    pub fn disconnect(&mut self) -> Result<(), Error> {
        let conn = self.conn()?;
        self.ctx.close(conn)
    }

    /// Stops the client once this callback returns.
    pub fn stop(&mut self) {
        self.ctx.stop();
    }

    /// Whether the connection is open.
    pub fn is_connected(&self) -> bool {
        self.conn.is_some_and(|c| self.ctx.is_open(c))
    }

    /// The server's address.
    pub fn server_addr(&self) -> Option<SocketAddr> {
        self.shared.server_addr()
    }

    /// The engine's own context, for what the facade does not offer.
    pub fn engine(&mut self) -> &mut Ctx<'a> {
        &mut self.ctx
    }
}

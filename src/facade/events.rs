//! The events a polling [`Server`](super::PollingServer) and a
//! [`Client`](super::Client) hand out (one type for both), and the blocking
//! iterator over them.

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};

use crate::addr::Addr;

use super::queue::{Held, Inbox};
use super::queued::Queued;
use super::{ConnId, Format, Message};
use crate::codec::packet::Packet;
use crate::error::Error;
use crate::handler::CloseReason;
use crate::reactor::Ctx;

/// The address in an event when the system cannot tell a peer's (it is
/// gone already), and in a client's events, whose program never sees it.
pub(crate) const NO_ADDR: Addr = Addr::Tcp(SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 0)));

/// What happened on a polling server (simplesockets' received-data list,
/// with connects, disconnects and errors in the same order they happened),
/// or on a [`Client`](super::Client)'s connection: there `client` is the id
/// of its connection to the server and `addr` the server's address.
///
/// ```
/// use frameloop::{Client, Event, Server};
///
/// let server = Server::bind("127.0.0.1:0")?.start_polling()?;
/// let client = Client::connect(server.local_addr())?;
/// client.send("hello")?;
/// for event in server.events() {
///     match event {
///         Event::Connected { client, addr } => println!("{client} joined from {addr}"),
///         Event::Received { client, data, .. } => {
///             server.send(client, &data)?; // echo
///             break;
///         }
///         Event::Disconnected { client, reason, .. } => println!("{client} left: {reason}"),
///         other => println!("{other:?}"),
///     }
/// }
/// assert_eq!(client.recv()?, b"hello");
/// # Ok::<(), frameloop::Error>(())
/// ```
#[derive(Debug)]
pub enum Event {
    /// A client connected.
    Connected {
        /// The client's id.
        client: ConnId,
        /// Its address.
        addr: Addr,
    },
    /// A whole message arrived (frames and lines formats).
    Received {
        /// Who sent it.
        client: ConnId,
        /// From where.
        addr: Addr,
        /// The message.
        data: Vec<u8>,
    },
    /// A packet arrived (packets format).
    Packet {
        /// Who sent it.
        client: ConnId,
        /// From where.
        addr: Addr,
        /// The packet.
        packet: Packet,
    },
    /// A client's connection closed; after this the id is no longer valid.
    Disconnected {
        /// The client's id.
        client: ConnId,
        /// Its address.
        addr: Addr,
        /// Why it closed (the client left, sent something malformed, the
        /// server stopped...).
        reason: CloseReason,
    },
    /// Something the server or client was asked to do failed (it is also
    /// kept for [`Server::errors`](super::Server::errors) or
    /// [`Client::errors`](super::Client::errors)).
    Error(Error),
}

/// The message `frame` carries in `format`; if it is not one (a packet
/// that does not parse), `conn` is rejected with that reason, which its
/// handler or poller sees as the disconnect reason, and nobody else is
/// affected.
#[inline]
pub(crate) fn decode<'a>(ctx: &mut Ctx<'_>, format: Format, conn: ConnId, frame: &'a [u8]) -> Option<Message<'a>> {
    match format.message(frame) {
        Ok(msg) => Some(msg),
        Err(why) => {
            let _ = ctx.reject(conn, why);
            None
        }
    }
}

/// A blocking iterator over the events of a polling server or a client: it
/// waits for each one, and ends once every event was taken and no more can
/// come (the server has stopped; the client has stopped, or is disconnected
/// and not reconnecting). Made by
/// [`PollingServer::events`](super::PollingServer::events) and
/// [`Client::events`](super::Client::events).
///
/// The only iterator of its server or client takes what arrived together
/// (a network loop turn's events) at once and hands it out with no lock;
/// several iterators, or other calls waiting for events meanwhile, share
/// the events one at a time instead. What an iterator took counts as
/// handled (for a peer that half-closed: see
/// [`half_close_timeout`](super::ServerBuilder::half_close_timeout)) once
/// it comes back for more or is dropped; dropped early, it gives back the
/// events it did not hand out, and the next call that takes events gets
/// them first. Taking events by another call inside the loop gets those
/// that came after the ones the loop holds.
///
/// ```
/// use frameloop::facade::Events;
/// use frameloop::{Client, Server};
///
/// let server = Server::bind("127.0.0.1:0")?.start_polling()?;
/// let client = Client::connect(server.local_addr())?;
/// client.send("hi")?;
/// server.stop()?; // here at once, so that the loop below ends
/// let events: Events<'_> = server.events();
/// for event in events { // takes what is left, then ends
///     println!("{event:?}");
/// }
/// # Ok::<(), frameloop::Error>(())
/// ```
#[derive(Debug)]
pub struct Events<'a> {
    inbox: &'a dyn Inbox,
    /// What it took and has not handed out yet.
    held: Held<Queued>,
}

impl<'a> Events<'a> {
    pub(crate) fn new(inbox: &'a dyn Inbox) -> Self {
        inbox.iterator_started();
        Events { inbox, held: Held::default() }
    }
}

impl Iterator for Events<'_> {
    type Item = Event;

    #[inline]
    fn next(&mut self) -> Option<Event> {
        // From its own side, without a call through `inbox` or a lock.
        match self.held.pop() {
            Some(event) => Some(event),
            None => self.inbox.next_held(&mut self.held),
        }
    }
}

impl Drop for Events<'_> {
    fn drop(&mut self) {
        self.inbox.iterator_ended(&mut self.held);
    }
}

//! The events a polling [`Server`](super::PollingServer) or a
//! [`Client`](super::Client) hands out, and the blocking iterators over
//! them.

use std::net::SocketAddr;

use super::queue::{next_item, Queue};
use super::ConnId;
use crate::codec::packet::Packet;
use crate::error::Error;
use crate::handler::CloseReason;

/// What happened on a polling server (simplesockets' received-data list,
/// with connects, disconnects and errors in the same order they happened).
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
        addr: SocketAddr,
    },
    /// A whole message arrived (frames and lines formats).
    Received {
        /// Who sent it.
        client: ConnId,
        /// From where.
        addr: SocketAddr,
        /// The message.
        data: Vec<u8>,
    },
    /// A packet arrived (packets format).
    Packet {
        /// Who sent it.
        client: ConnId,
        /// From where.
        addr: SocketAddr,
        /// The packet.
        packet: Packet,
    },
    /// A client's connection closed; after this the id is no longer valid.
    Disconnected {
        /// The client's id.
        client: ConnId,
        /// Its address.
        addr: SocketAddr,
        /// Why it closed (the client left, sent something malformed, the
        /// server stopped...).
        reason: CloseReason,
    },
    /// Something the server was asked to do failed (it is also kept for
    /// [`Server::errors`](super::Server::errors)).
    Error(Error),
}

/// What happened on a [`Client`](super::Client)'s connection.
///
/// ```
/// use frameloop::{Client, ClientEvent};
/// # use frameloop::{ReplyMode, Server};
/// # let server = Server::bind("127.0.0.1:0")?.reply(ReplyMode::Once, |req: &[u8]| req.to_vec())?;
///
/// let client = Client::connect(server.local_addr())?;
/// client.send("echo")?;
/// for event in client.events() {
///     match event {
///         ClientEvent::Connected { addr } => println!("connected to {addr}"),
///         ClientEvent::Received(data) => assert_eq!(data, b"echo"),
///         ClientEvent::Packet(packet) => println!("packet: {packet:?}"),
///         ClientEvent::Disconnected { reason } => println!("disconnected: {reason}"),
///         ClientEvent::Error(e) => eprintln!("error: {e}"),
///     }
/// }
/// # Ok::<(), frameloop::Error>(())
/// ```
#[derive(Debug)]
pub enum ClientEvent {
    /// Connected (or reconnected) to the server.
    Connected {
        /// The server's address.
        addr: SocketAddr,
    },
    /// A whole message arrived (frames and lines formats).
    Received(Vec<u8>),
    /// A packet arrived (packets format).
    Packet(Packet),
    /// The connection closed.
    Disconnected {
        /// Why.
        reason: CloseReason,
    },
    /// Something the client was asked to do failed (also kept for
    /// [`Client::errors`](super::Client::errors)).
    Error(Error),
}

/// A blocking iterator over a polling server's events: it waits for each
/// one, and ends once the server has stopped and every event was taken.
/// Made by [`PollingServer::events`](super::PollingServer::events).
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
    pub(crate) queue: &'a Queue<Event>,
}

impl Iterator for Events<'_> {
    type Item = Event;

    fn next(&mut self) -> Option<Event> {
        self.queue.wait_for(None, next_item).flatten()
    }
}

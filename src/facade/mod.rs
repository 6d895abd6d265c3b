//! The beginner's API: [`Server`], [`Client`] and [`request`], each a
//! reactor on its own network thread (one thread for all clients, never a
//! thread per client).
//!
//! It gives what pyspeak, simplesockets and tcp-client-serv give, without
//! their defects: whole messages (never merged or split by TCP), waiting
//! that sleeps instead of polling in a loop, and errors that are returned or
//! kept instead of lost in a thread.
//!
//! - **Callbacks** (pyspeak): [`Server::bind`] then
//!   [`start`](ServerBuilder::start) with a [`ServerHandler`]; its callbacks
//!   run on the network thread and act through a [`ServerCtx`].
//! - **Polling** (simplesockets): [`start_polling`](ServerBuilder::start_polling)
//!   gives a [`PollingServer`] whose [`Event`]s wait until you take them.
//! - **Request / reply** (tcp-client-serv): [`reply`](ServerBuilder::reply)
//!   with a closure, and the one-call client [`request`].
//! - **Client**: [`Client::connect`], then `send` / `recv`, or callbacks
//!   ([`ClientHandler`]), with [`reconnect`](Client::reconnect) and
//!   automatic reconnection ([`Reconnect`]).
//!
//! Messages travel as length-prefixed frames, as text lines (`nc` can talk
//! to a lines server), or as pyspeak's packets; see [`Format`].
//!
//! ```
//! use frameloop::{Client, ConnId, Error, Message, Server, ServerCtx, ServerHandler};
//!
//! /// Sends every message to every other client.
//! struct ChatBox;
//! impl ServerHandler for ChatBox {
//!     fn on_receive(&mut self, server: &mut ServerCtx<'_>, client: ConnId, msg: Message<'_>) -> Result<(), Error> {
//!         server.broadcast_except(client, msg);
//!         Ok(())
//!     }
//! }
//!
//! let server = Server::bind("127.0.0.1:0")?.start(ChatBox)?;
//! let alice = Client::connect(server.local_addr())?;
//! let bob = Client::connect(server.local_addr())?;
//! while server.client_count() < 2 {
//!     std::thread::sleep(std::time::Duration::from_millis(1));
//! }
//! alice.send("hi bob")?;
//! assert_eq!(bob.recv()?, b"hi bob");
//! # Ok::<(), frameloop::Error>(())
//! ```

mod baton;
mod client;
mod client_ctx;
mod client_engine;
mod commands;
mod events;
mod link;
mod outbox;
mod polling;
mod queue;
mod queued;
mod reply;
mod request;
mod runtime;
mod server;
mod server_ctx;
mod server_engine;
mod settings;

pub use crate::codec::{Format, Message};
pub use client::{Client, ClientBuilder, Reconnect};
pub use client_ctx::{ClientCtx, ClientHandler};
pub use events::{Event, Events};
pub use polling::PollingServer;
pub use reply::ReplyMode;
pub use request::{request, request_timeout};
pub use server::{Server, ServerBuilder};
pub use server_ctx::{ServerCtx, ServerHandler};

pub(crate) use crate::handler::ConnId;

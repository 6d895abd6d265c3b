//! frameloop: message-based TCP servers and clients on one event loop.
//!
//! One thread, one [`mio`] poller, every socket. Connections live in a slab;
//! each message is cut out of the bytes just read and handed to your
//! callback as a borrowed `&[u8]` (no copy); what you send gathers in the
//! connection's write buffer and leaves in one write per loop turn. Limits
//! (message size, connections, queued output, idle and message deadlines,
//! read budget) keep one bad peer from costing anything but its own
//! connection.
//!
//! # Start here: [`Server`] and [`Client`]
//!
//! A [`Server`] runs the event loop on its own thread and calls your
//! [`ServerHandler`]; a [`Client`] connects, sends and waits for whole
//! messages. Neither needs the engine below.
//!
//! ```
//! use frameloop::{Client, ConnId, Error, Message, Server, ServerCtx, ServerHandler};
//!
//! /// Answers every line in capitals.
//! struct Shout;
//! impl ServerHandler for Shout {
//!     fn on_receive(&mut self, server: &mut ServerCtx<'_>, client: ConnId, msg: Message<'_>) -> Result<(), Error> {
//!         server.send(client, msg.text().to_uppercase())
//!     }
//! }
//!
//! // Port 0: the system picks a free port; `nc 127.0.0.1 PORT` could talk to it too.
//! let server = Server::bind("127.0.0.1:0")?.lines().start(Shout)?;
//! let client = Client::builder().lines().connect(server.local_addr())?;
//! client.send("hello")?;
//! assert_eq!(client.recv()?, b"HELLO");
//! client.stop()?;
//! server.stop()?;
//! # Ok::<(), frameloop::Error>(())
//! ```
//!
//! The same server in other shapes:
//!
//! - **Polling** instead of callbacks: [`start_polling`](ServerBuilder::start_polling)
//!   gives a [`PollingServer`] whose [`Event`]s wait until you take them.
//! - **Request / reply**: [`reply`](ServerBuilder::reply) turns each request
//!   into its answer with a closure, and [`request`] is the one-call client.
//! - **Raw bytes** for plain socket programs (`sendall`, `recv(2048)`):
//!   [`.raw()`](ServerBuilder::raw) on the server or the client builder.
//! - **Packets** (pyspeak's integer, real, boolean and text):
//!   [`.packets()`](ServerBuilder::packets), [`Client::send_packet`] and
//!   [`Message::packet`].
//!
//! The [`facade`] module has the whole tour.
//!
//! # The engine: [`Reactor`] and [`Handler`]
//!
//! To embed the loop in a program of your own (your thread, your timers,
//! several listeners, outgoing connections), use the engine the facade is
//! built on: a [`Reactor`] calls a [`Handler`] on the thread that runs it,
//! and the handler acts through a [`Ctx`]. A [`ReactorBuilder`] sets every limit,
//! a [`Notifier`] wakes the loop from another thread, [`Stats`] counts
//! what it did, and [`CloseReason`] says why each connection ended.
//!
//! ```
//! use std::io::{Read, Write};
//! use frameloop::{ConnId, Ctx, Handler, Reactor};
//!
//! struct Echo;
//! impl Handler for Echo {
//!     fn on_frame(&mut self, ctx: &mut Ctx<'_>, conn: ConnId, frame: &[u8]) {
//!         let _ = ctx.send(conn, frame);
//!         ctx.stop(); // one message is enough for this example
//!     }
//! }
//!
//! let mut reactor = Reactor::builder().build()?;
//! let addr = reactor.listen("127.0.0.1:0")?; // port 0: the system picks one
//! let server = std::thread::spawn(move || reactor.run(&mut Echo));
//!
//! // Any client that speaks the frame format works: 4-byte big-endian length, payload.
//! let mut client = std::net::TcpStream::connect(addr)?;
//! client.write_all(b"\0\0\0\x05hello")?;
//! let mut reply = [0u8; 9];
//! client.read_exact(&mut reply)?;
//! assert_eq!(&reply, b"\0\0\0\x05hello");
//! server.join().unwrap()?;
//! # Ok::<(), frameloop::Error>(())
//! ```
//!
//! # The wire formats: [`codec`]
//!
//! [`codec`] holds the formats as pure functions over byte slices
//! (length-prefixed frames, lines, pyspeak-style packets, raw bytes): no
//! I/O, fuzzed. Both layers use it, and so can a peer written without
//! frameloop.
//!
//! ```
//! use frameloop::codec::frame;
//!
//! let mut wire = Vec::new();
//! frame::encode(b"hello", &mut wire)?;
//! assert_eq!(frame::decode(&wire, frame::DEFAULT_MAX_LEN)?, Some((&b"hello"[..], 9)));
//! # Ok::<(), frameloop::codec::DecodeError>(())
//! ```
//!
//! # Features
//!
//! - `cli` (default): the `frameloop` command; turns on `log` and `signals`.
//!   Depend with `default-features = false` for the library alone.
//! - `signals`: a graceful stop on SIGINT and SIGTERM
//!   (`ReactorBuilder::stop_on_signals`, `ServerBuilder::stop_on_signals`).
//! - `log`: operator logs, below. Without it every logging call compiles to
//!   nothing and frameloop itself does not depend on `log`.
//!
//! ## Operator logs
//!
//! With the `log` feature, frameloop reports events through the
//! [`log`](https://docs.rs/log) facade, with target `frameloop`: install
//! any logger (with `env_logger`, `RUST_LOG=frameloop=debug`). It logs
//! events, never one record per message:
//!
//! | Level | Event |
//! |---|---|
//! | `error` | The poller failed; [`Reactor::run`] returns the error. |
//! | `warn` | A limit or bad input closed a connection: [`CloseReason::FrameTooLarge`], `LineTooLong`, `Malformed`, `SlowConsumer`, `IdleTimeout`, `FrameTimeout` (the record names the setting). A connection was refused because `max_connections` are open: the first refusal since fewer were open (the further ones are `debug`). The first failed accept of a run, with the back-off (for EMFILE/ENFILE, how to raise the limit). A graceful stop was cut short with connections still open; a second signal ended a graceful stop at once (feature `signals`). |
//! | `info` | A connection broke: `Reset`, `Io`, `PeerClosedMidFrame`, `ConnectFailed`. A listener is served. A signal started a graceful stop (feature `signals`). |
//! | `debug` | An ordinary close: `PeerClosed`, `ClosedLocally`, `Aborted`, `Shutdown`. The further failed accepts of a run, and the further refusals at `max_connections`. |
//!
//! A close reads `connection #3 (peer 127.0.0.1:50412) closed: idle timeout
//! (limit: idle_timeout)`. A failed bind is not logged: `listen` and
//! [`Server::bind`] return its error to the caller. With no logger, or the
//! level filtered out, a call costs one atomic load and formats nothing.
//! `log` rather than `tracing`: these are discrete events that need no
//! spans, `log` is one small crate with no dependencies, and `tracing`
//! subscribers collect `log` records too.
#![deny(missing_docs, missing_debug_implementations, rust_2018_idioms)]
// No unsafe code, and no local `allow` can bring it back.
#![forbid(unsafe_code)]
#![doc(test(attr(deny(warnings))))]

pub mod codec;
pub mod facade;

mod addr;
mod buffer;
mod error;
mod handler;
mod log;
mod reactor;

pub use addr::{Addr, PeerCredentials, ToAddrs, UNIX_PREFIX};
pub use codec::packet::{Packet, PacketRef};
pub use error::{resolve, Error};
pub use facade::{
    request, request_timeout, Client, ClientBuilder, ClientCtx, ClientHandler, Event, Events, Format, Message,
    PollingServer, Reconnect, ReplyMode, Server, ServerBuilder, ServerCtx, ServerHandler,
};
pub use handler::{CloseReason, ConnId, HalfClose, Handler, TimerId};
pub use reactor::{Ctx, Distribution, Notifier, Reactor, ReactorBuilder, ReactorGroup, Remote, Stats};

/// TLS (feature `tls`): configurations from PEM files, and what a
/// connection's handshake agreed. rustls does the TLS, with ring for the
/// crypto; its configuration types are re-exported for settings the files
/// do not cover. See the README's "Security" section for the defaults.
#[cfg(feature = "tls")]
pub mod tls {
    pub use crate::reactor::tls::{TlsClientFiles, TlsConfigError, TlsInfo, TlsServerFiles};
    pub use rustls::{ClientConfig, ServerConfig};
}

/// The old name of [`ConnId`] in the facade.
#[deprecated(since = "0.2.0", note = "renamed to `ConnId`, the one name for a connection in the engine and the facade")]
#[doc(hidden)]
pub type ClientId = ConnId;

/// The old name of [`ReactorBuilder`].
#[deprecated(since = "0.2.0", note = "renamed to `ReactorBuilder`")]
#[doc(hidden)]
pub type Builder = ReactorBuilder;

//! [`ClientHandler`]: the optional callbacks of a client, and
//! [`ClientCtx`], what they act through.

use crate::addr::Addr;

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
    /// ```
    /// use std::sync::mpsc;
    /// use std::time::Duration;
    /// use frameloop::{Addr, Client, ClientCtx, ClientHandler, Error, Message};
    /// # use frameloop::{ReplyMode, Server};
    ///
    /// /// Introduces itself as soon as it is connected, and passes replies on.
    /// struct Hello(mpsc::Sender<String>);
    /// impl ClientHandler for Hello {
    ///     fn on_connect(&mut self, client: &mut ClientCtx<'_>, _server: Addr) -> Result<(), Error> {
    ///         client.send("hello")
    ///     }
    ///     fn on_receive(&mut self, _client: &mut ClientCtx<'_>, msg: Message<'_>) -> Result<(), Error> {
    ///         let _ = self.0.send(msg.text().into_owned());
    ///         Ok(())
    ///     }
    /// }
    ///
    /// # let server = Server::bind("127.0.0.1:0")?.reply(ReplyMode::Concurrent, |req: &[u8]| req.to_ascii_uppercase())?;
    /// let (tx, rx) = mpsc::channel();
    /// let client = Client::builder().callbacks(Hello(tx)).connect(server.local_addr())?;
    /// assert_eq!(rx.recv_timeout(Duration::from_secs(5)).expect("a reply"), "HELLO");
    /// client.stop()?;
    /// # server.stop()?;
    /// # Ok::<(), frameloop::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// Whatever the callback wants kept in the client's error list.
    fn on_connect(&mut self, client: &mut ClientCtx<'_>, addr: Addr) -> Result<(), Error> {
        let _ = (client, addr);
        Ok(())
    }

    /// A whole message arrived. `msg` borrows the network buffer: copy what
    /// you keep.
    ///
    /// ```
    /// use std::sync::mpsc;
    /// use std::time::Duration;
    /// use frameloop::{Client, ClientCtx, ClientHandler, Error, Message};
    /// # use frameloop::{ReplyMode, Server};
    ///
    /// /// Passes each message on to the main thread.
    /// struct Forward(mpsc::Sender<Vec<u8>>);
    /// impl ClientHandler for Forward {
    ///     fn on_receive(&mut self, _client: &mut ClientCtx<'_>, msg: Message<'_>) -> Result<(), Error> {
    ///         let _ = self.0.send(msg.to_vec()); // a copy: `msg` is only borrowed
    ///         Ok(())
    ///     }
    /// }
    ///
    /// # let server = Server::bind("127.0.0.1:0")?.reply(ReplyMode::Concurrent, |req: &[u8]| req.to_vec())?;
    /// let (tx, rx) = mpsc::channel();
    /// let client = Client::builder().callbacks(Forward(tx)).connect(server.local_addr())?;
    /// client.send("echo?")?;
    /// assert_eq!(rx.recv_timeout(Duration::from_secs(5)).expect("a reply"), b"echo?");
    /// client.stop()?;
    /// # server.stop()?;
    /// # Ok::<(), frameloop::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// Whatever the callback wants kept in the client's error list.
    fn on_receive(&mut self, client: &mut ClientCtx<'_>, msg: Message<'_>) -> Result<(), Error>;

    /// The connection closed, for `reason`.
    ///
    /// ```
    /// use std::sync::mpsc;
    /// use std::time::Duration;
    /// use frameloop::{Client, ClientCtx, ClientHandler, CloseReason, Error, Message, Server};
    ///
    /// /// Tells the main thread why the connection ended.
    /// struct Watch(mpsc::Sender<CloseReason>);
    /// impl ClientHandler for Watch {
    ///     fn on_receive(&mut self, _client: &mut ClientCtx<'_>, _msg: Message<'_>) -> Result<(), Error> {
    ///         Ok(())
    ///     }
    ///     fn on_disconnect(&mut self, _client: &mut ClientCtx<'_>, reason: &CloseReason) -> Result<(), Error> {
    ///         let _ = self.0.send(reason.clone());
    ///         Ok(())
    ///     }
    /// }
    ///
    /// let server = Server::bind("127.0.0.1:0")?.start_polling()?;
    /// let (tx, rx) = mpsc::channel();
    /// let client = Client::builder().callbacks(Watch(tx)).connect(server.local_addr())?;
    /// server.stop()?; // the server goes away
    /// assert_eq!(rx.recv_timeout(Duration::from_secs(5)).expect("a goodbye"), CloseReason::PeerClosed);
    /// client.stop()?;
    /// # Ok::<(), frameloop::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// Whatever the callback wants kept in the client's error list.
    fn on_disconnect(&mut self, client: &mut ClientCtx<'_>, reason: &CloseReason) -> Result<(), Error> {
        let _ = (client, reason);
        Ok(())
    }
}

/// What a [`ClientHandler`] callback acts through.
///
/// ```
/// use frameloop::{Client, ClientCtx, ClientHandler, Error, Message};
/// # use std::time::{Duration, Instant};
/// # use frameloop::{ReplyMode, Server};
///
/// /// Counts to 3 with an echo server, then hangs up.
/// struct Counter;
/// impl ClientHandler for Counter {
///     fn on_receive(&mut self, client: &mut ClientCtx<'_>, msg: Message<'_>) -> Result<(), Error> {
///         let n: u32 = msg.text().parse().unwrap_or(0);
///         if n < 3 { client.send((n + 1).to_string()) } else { client.disconnect() }
///     }
/// }
///
/// # let server = Server::bind("127.0.0.1:0")?.reply(ReplyMode::Concurrent, |req: &[u8]| req.to_vec())?;
/// let client = Client::builder().callbacks(Counter).connect(server.local_addr())?;
/// client.send("0")?;
/// # let start = Instant::now();
/// # while client.is_connected() && start.elapsed() < Duration::from_secs(5) {
/// #     std::thread::sleep(Duration::from_millis(1));
/// # }
/// assert!(!client.is_connected()); // the callback hung up at 3
/// # Ok::<(), frameloop::Error>(())
/// ```
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
        self.conn.ok_or_else(|| Error::Disconnected(self.shared.queue.state(|s| s.down_reason())))
    }

    /// Sends `data` to the server as one message (with packets: as a
    /// packet's text).
    ///
    /// ```
    /// use frameloop::{Addr, Client, ClientCtx, ClientHandler, Error, Message};
    /// # use frameloop::{Event, Server};
    ///
    /// struct Hello;
    /// impl ClientHandler for Hello {
    ///     fn on_connect(&mut self, client: &mut ClientCtx<'_>, _server: Addr) -> Result<(), Error> {
    ///         client.send("hello from a callback")
    ///     }
    ///     fn on_receive(&mut self, _client: &mut ClientCtx<'_>, _msg: Message<'_>) -> Result<(), Error> {
    ///         Ok(())
    ///     }
    /// }
    ///
    /// # let server = Server::bind("127.0.0.1:0")?.start_polling()?;
    /// let client = Client::builder().callbacks(Hello).connect(server.local_addr())?;
    /// # let got = std::iter::from_fn(|| server.wait_event(std::time::Duration::from_secs(5)))
    /// #     .find_map(|e| match e { Event::Received { data, .. } => Some(data), _ => None });
    /// # assert_eq!(got.as_deref(), Some(&b"hello from a callback"[..]));
    /// # drop(client);
    /// # Ok::<(), frameloop::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Disconnected`] when not connected; [`Error::Codec`] /
    /// [`Error::FrameTooLarge`] if `data` does not fit the format or is
    /// longer than `max_frame_len`.
    pub fn send(&mut self, data: impl AsRef<[u8]>) -> Result<(), Error> {
        let conn = self.conn()?;
        let body = self.shared.net.format.body(self.shared.net.codec, data.as_ref())?;
        self.ctx.send(conn, &body)
    }

    /// Sends one packet (pyspeak's `send(integer, real, boolean, string)`).
    ///
    /// ```
    /// use frameloop::{Addr, Client, ClientCtx, ClientHandler, Error, Message};
    /// # use frameloop::{Event, Server};
    ///
    /// struct Ready;
    /// impl ClientHandler for Ready {
    ///     fn on_connect(&mut self, client: &mut ClientCtx<'_>, _server: Addr) -> Result<(), Error> {
    ///         client.send_packet(1, 0.0, true, "ready")
    ///     }
    ///     fn on_receive(&mut self, _client: &mut ClientCtx<'_>, _msg: Message<'_>) -> Result<(), Error> {
    ///         Ok(())
    ///     }
    /// }
    ///
    /// # let server = Server::bind("127.0.0.1:0")?.packets().start_polling()?;
    /// let client = Client::builder().packets().callbacks(Ready).connect(server.local_addr())?;
    /// # let got = std::iter::from_fn(|| server.wait_event(std::time::Duration::from_secs(5)))
    /// #     .find_map(|e| match e { Event::Packet { packet, .. } => Some(packet), _ => None });
    /// # assert_eq!(got.map(|p| (p.integer, p.text)), Some((1, "ready".to_owned())));
    /// # drop(client);
    /// # Ok::<(), frameloop::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Config`] unless the client uses packets; as
    /// [`send`](Self::send).
    pub fn send_packet(&mut self, integer: i64, real: f64, boolean: bool, text: &str) -> Result<(), Error> {
        let conn = self.conn()?;
        self.shared.net.format.require_packets()?;
        self.ctx.send_packet(conn, crate::codec::packet::PacketRef { integer, real, boolean, text })
    }

    /// Closes the connection once what was sent is written (no automatic
    /// reconnection follows).
    ///
    /// ```
    /// use frameloop::{Client, ClientCtx, ClientHandler, Error, Message};
    /// # use std::time::{Duration, Instant};
    /// # use frameloop::{ReplyMode, Server};
    ///
    /// struct Polite;
    /// impl ClientHandler for Polite {
    ///     fn on_receive(&mut self, client: &mut ClientCtx<'_>, msg: Message<'_>) -> Result<(), Error> {
    ///         if msg.bytes() == b"bye" {
    ///             client.disconnect()?; // leaves when the server says goodbye
    ///         }
    ///         Ok(())
    ///     }
    /// }
    ///
    /// # let server = Server::bind("127.0.0.1:0")?.reply(ReplyMode::Concurrent, |_: &[u8]| "bye")?;
    /// let client = Client::builder().callbacks(Polite).connect(server.local_addr())?;
    /// client.send("hi")?;
    /// # let start = Instant::now();
    /// # while client.is_connected() && start.elapsed() < Duration::from_secs(5) {
    /// #     std::thread::sleep(Duration::from_millis(1));
    /// # }
    /// # assert!(!client.is_connected());
    /// # Ok::<(), frameloop::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Disconnected`] when not connected.
    pub fn disconnect(&mut self) -> Result<(), Error> {
        let conn = self.conn()?;
        self.ctx.close(conn)
    }

    /// Stops the client once this callback returns.
    ///
    /// ```
    /// use frameloop::{Client, ClientCtx, ClientHandler, Error, Message};
    /// # use std::time::{Duration, Instant};
    /// # use frameloop::{ReplyMode, Server};
    ///
    /// struct Quitter;
    /// impl ClientHandler for Quitter {
    ///     fn on_receive(&mut self, client: &mut ClientCtx<'_>, msg: Message<'_>) -> Result<(), Error> {
    ///         if msg.bytes() == b"bye" {
    ///             client.stop(); // the whole client, once this callback returns
    ///         }
    ///         Ok(())
    ///     }
    /// }
    ///
    /// # let server = Server::bind("127.0.0.1:0")?.reply(ReplyMode::Concurrent, |_: &[u8]| "bye")?;
    /// let client = Client::builder().callbacks(Quitter).connect(server.local_addr())?;
    /// client.send("hi")?;
    /// # let start = Instant::now();
    /// # while !matches!(client.send("hi"), Err(Error::Stopped)) {
    /// #     assert!(start.elapsed() < Duration::from_secs(5), "the callback did not stop the client");
    /// #     std::thread::sleep(Duration::from_millis(1));
    /// # }
    /// # client.stop()?; // returns at once: the callback stopped it already
    /// # Ok::<(), frameloop::Error>(())
    /// ```
    pub fn stop(&mut self) {
        self.ctx.stop();
    }

    /// Whether the connection is open.
    ///
    /// ```
    /// use frameloop::{Client, ClientCtx, ClientHandler, CloseReason, Error, Message};
    /// # use frameloop::Server;
    ///
    /// struct Watcher;
    /// impl ClientHandler for Watcher {
    ///     fn on_receive(&mut self, _client: &mut ClientCtx<'_>, _msg: Message<'_>) -> Result<(), Error> {
    ///         Ok(())
    ///     }
    ///     fn on_disconnect(&mut self, client: &mut ClientCtx<'_>, _reason: &CloseReason) -> Result<(), Error> {
    ///         assert!(!client.is_connected()); // gone: sends would fail
    ///         Ok(())
    ///     }
    /// }
    ///
    /// # let server = Server::bind("127.0.0.1:0")?.start_polling()?;
    /// let client = Client::builder().callbacks(Watcher).connect(server.local_addr())?;
    /// # assert!(client.is_connected());
    /// # server.stop()?;
    /// # client.stop()?; // a panicking callback would make this an error
    /// # Ok::<(), frameloop::Error>(())
    /// ```
    pub fn is_connected(&self) -> bool {
        self.conn.is_some_and(|c| self.ctx.is_open(c))
    }

    /// The server's address.
    ///
    /// ```
    /// use frameloop::{Client, ClientCtx, ClientHandler, Error, Message};
    /// # use frameloop::Server;
    ///
    /// struct Where;
    /// impl ClientHandler for Where {
    ///     fn on_connect(&mut self, client: &mut ClientCtx<'_>, addr: frameloop::Addr) -> Result<(), Error> {
    ///         assert_eq!(client.server_addr(), Some(addr));
    ///         Ok(())
    ///     }
    ///     fn on_receive(&mut self, _client: &mut ClientCtx<'_>, _msg: Message<'_>) -> Result<(), Error> {
    ///         Ok(())
    ///     }
    /// }
    ///
    /// # let server = Server::bind("127.0.0.1:0")?.start_polling()?;
    /// let client = Client::builder().callbacks(Where).connect(server.local_addr())?;
    /// # client.stop()?; // a panicking callback would make this an error
    /// # Ok::<(), frameloop::Error>(())
    /// ```
    pub fn server_addr(&self) -> Option<Addr> {
        self.shared.queue.state(|s| s.server.clone())
    }

    /// The engine's own context, for what the facade does not offer.
    ///
    /// ```
    /// use frameloop::{ClientCtx, ClientHandler, Error, Message};
    ///
    /// struct Counting;
    /// impl ClientHandler for Counting {
    ///     fn on_receive(&mut self, client: &mut ClientCtx<'_>, _msg: Message<'_>) -> Result<(), Error> {
    ///         let stats = client.engine().stats();
    ///         println!("{} messages in, {} out", stats.frames_in, stats.frames_out);
    ///         Ok(())
    ///     }
    /// }
    /// # let _ = Counting;
    /// ```
    pub fn engine(&mut self) -> &mut Ctx<'a> {
        &mut self.ctx
    }
}

//! [`Client`]: connect to a server (errors come back at once), then send
//! and receive whole messages from any thread.

use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::client_engine::ClientCommand;
use super::deadline_after;
use super::events::ClientEvent;
use super::queue::{Inner, Queue};
use super::request::connect_any;
use super::runtime::{duplicate, lock, Commands, Life};
use super::{ClientBuilder, Format, Reconnect};
use crate::codec::packet::Packet;
use crate::codec::Codec;
use crate::error::Error;
use crate::handler::CloseReason;

/// The connection's status, kept under the event queue's lock so that a
/// waiting `recv` sees every change.
#[derive(Debug, Default)]
pub(crate) struct Link {
    pub(crate) connected: bool,
    /// Disconnected, and automatic reconnection is trying.
    pub(crate) reconnecting: bool,
    pub(crate) last_reason: Option<CloseReason>,
    /// Numbers the connections the caller made, so that the close of a
    /// replaced connection does not mark the new one down.
    pub(crate) epoch: u64,
    pub(crate) server: Option<SocketAddr>,
}

/// What the handle and the network thread share.
#[derive(Debug)]
pub(crate) struct ClientShared {
    pub(crate) commands: Commands<ClientCommand>,
    pub(crate) queue: Queue<ClientEvent, Link>,
    pub(crate) errors: Mutex<Vec<Error>>,
    pub(crate) life: Arc<Life>,
    pub(crate) format: Format,
    /// The reactor's codec, which every message is checked against
    /// before it is queued.
    pub(crate) codec: Codec,
    pub(crate) addrs: Vec<SocketAddr>,
    pub(crate) connect_timeout: Option<Duration>,
    pub(crate) reconnect: Option<Reconnect>,
    /// Messages go to callbacks, not to the queue.
    pub(crate) callbacks: bool,
}

impl ClientShared {
    pub(crate) fn record(&self, e: Error) {
        if !self.callbacks {
            self.queue.push(ClientEvent::Error(duplicate(&e)));
        }
        lock(&self.errors).push(e);
    }

    pub(crate) fn last_reason(&self) -> CloseReason {
        self.queue.state(|link| link.last_reason.clone()).unwrap_or(CloseReason::ClosedLocally)
    }

    pub(crate) fn server_addr(&self) -> Option<SocketAddr> {
        self.queue.state(|link| link.server)
    }

    pub(crate) fn epoch(&self) -> u64 {
        self.queue.state(|link| link.epoch)
    }

    pub(crate) fn link_up(&self, epoch: u64, server: Option<SocketAddr>) {
        self.queue.update(|inner| {
            if inner.state.epoch == epoch {
                inner.state.connected = true;
                inner.state.reconnecting = false;
                inner.state.last_reason = None;
                inner.state.server = server.or(inner.state.server);
            }
        });
    }

    /// The connection of `epoch` closed. The event (for a client without
    /// callbacks) is queued under the same lock as the status changes, so a
    /// waiter never sees "disconnected" without the event that says so.
    pub(crate) fn link_lost(&self, epoch: u64, reason: CloseReason, reconnecting: bool) {
        let callbacks = self.callbacks;
        self.queue.update(|inner| {
            if inner.state.epoch == epoch {
                inner.state.connected = false;
                inner.state.reconnecting = reconnecting;
                inner.state.last_reason = Some(reason.clone());
            }
            if !callbacks {
                inner.push_back(ClientEvent::Disconnected { reason });
            }
        });
    }

    pub(crate) fn note_reason(&self, reason: CloseReason) {
        self.queue.update(|inner| inner.state.last_reason = Some(reason));
    }

    pub(crate) fn give_up(&self) {
        self.queue.update(|inner| inner.state.reconnecting = false);
    }
}

/// A connection to a server, served by its own network thread. Every
/// method takes `&self` and works from any thread; dropping the client
/// stops it.
///
/// ```
/// use frameloop::{Client, ReplyMode, Server};
///
/// let server = Server::bind("127.0.0.1:0")?.reply(ReplyMode::Concurrent, |req: &[u8]| req.len().to_string())?;
/// let client = Client::connect(server.local_addr())?;
/// client.send("four")?;
/// assert_eq!(client.recv()?, b"4");
/// # Ok::<(), frameloop::Error>(())
/// ```
#[derive(Debug)]
pub struct Client {
    pub(crate) shared: Arc<ClientShared>,
}

/// A received message, before the caller picks bytes or packet.
enum Incoming {
    Bytes(Vec<u8>),
    Packet(Packet),
}

impl Client {
    /// Connects to `addr` with frames and default settings; gives up with
    /// [`Error::ConnectTimedOut`] if nothing answers within 10 s.
    ///
    /// ```
    /// use frameloop::{Client, Error};
    ///
    /// # let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    /// // Nothing listens on that port any more.
    /// match Client::connect(("127.0.0.1", port)) {
    ///     Err(Error::ConnectionRefused { .. }) => println!("is the server running?"),
    ///     other => panic!("expected a refusal, got {other:?}"),
    /// }
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// As [`ClientBuilder::connect`].
    pub fn connect<A: ToSocketAddrs + std::fmt::Debug>(addr: A) -> Result<Client, Error> {
        Client::builder().connect(addr)
    }

    /// Connects to `addr`, giving up after `timeout`.
    ///
    /// ```
    /// use std::time::Duration;
    /// use frameloop::{Client, Server};
    ///
    /// let server = Server::bind("127.0.0.1:0")?.start_polling()?;
    /// let client = Client::connect_timeout(server.local_addr(), Duration::from_secs(3))?;
    /// assert!(client.is_connected());
    /// # Ok::<(), frameloop::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// As [`ClientBuilder::connect`].
    pub fn connect_timeout<A: ToSocketAddrs + std::fmt::Debug>(addr: A, timeout: Duration) -> Result<Client, Error> {
        Client::builder().connect_timeout(timeout).connect(addr)
    }

    /// Settings: format, timeouts, automatic reconnection, callbacks.
    ///
    /// ```
    /// use frameloop::{Client, Format, Server};
    ///
    /// let server = Server::bind("127.0.0.1:0")?.lines().start_polling()?;
    /// let client = Client::builder().lines().connect(server.local_addr())?;
    /// assert_eq!(client.format(), Format::Lines);
    /// # Ok::<(), frameloop::Error>(())
    /// ```
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// Sends `data` to the server as one message (with packets: as a
    /// packet's text).
    ///
    /// ```
    /// use std::time::Duration;
    /// use frameloop::{Client, ReplyMode, Server};
    ///
    /// let server = Server::bind("127.0.0.1:0")?.reply(ReplyMode::Concurrent, |req: &[u8]| req.to_ascii_uppercase())?;
    /// let client = Client::connect(server.local_addr())?;
    /// client.send("hello")?; // &str, String, &[u8], Vec<u8>...
    /// client.send(vec![b'b', b'y', b'e'])?;
    /// assert_eq!(client.recv_timeout(Duration::from_secs(5))?, b"HELLO");
    /// assert_eq!(client.recv_timeout(Duration::from_secs(5))?, b"BYE");
    /// # Ok::<(), frameloop::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Disconnected`] when not connected, [`Error::Codec`] if
    /// `data` does not fit the format (a line with a newline inside or
    /// ending in `\r`), [`Error::FrameTooLarge`] if it is longer than
    /// `max_frame_len` (both refused at once), [`Error::Stopped`] after
    /// [`stop`](Self::stop).
    pub fn send(&self, data: impl AsRef<[u8]>) -> Result<(), Error> {
        let body = self.shared.format.body(self.shared.codec, data.as_ref())?.into_owned();
        self.send_body(body)
    }

    /// Sends one packet (pyspeak's `send(integer, real, boolean, string)`).
    ///
    /// ```
    /// # use std::time::Duration;
    /// use frameloop::{Client, Event, Server};
    ///
    /// let server = Server::bind("127.0.0.1:0")?.packets().start_polling()?;
    /// let client = Client::builder().packets().connect(server.local_addr())?;
    /// client.send_packet(7, 2.5, true, "jump")?;
    /// let packet = loop {
    ///     match server.wait_event(Duration::from_secs(5)) {
    ///         Some(Event::Packet { packet, .. }) => break packet,
    ///         Some(_) => {} // Connected comes first
    ///         None => panic!("no packet"),
    ///     }
    /// };
    /// assert_eq!((packet.integer, packet.boolean, packet.text.as_str()), (7, true, "jump"));
    /// # Ok::<(), frameloop::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Config`] unless the client uses packets; as
    /// [`send`](Self::send).
    pub fn send_packet(&self, integer: i64, real: f64, boolean: bool, text: &str) -> Result<(), Error> {
        let body = self.shared.format.packet(self.shared.codec, integer, real, boolean, text)?;
        self.send_body(body)
    }

    fn send_body(&self, body: Vec<u8>) -> Result<(), Error> {
        if !self.shared.commands.is_open() {
            return Err(Error::Stopped);
        }
        let down = self.shared.queue.state(|link| (!link.connected).then(|| link.last_reason.clone()));
        if let Some(reason) = down {
            return Err(Error::Disconnected(reason.unwrap_or(CloseReason::ClosedLocally)));
        }
        self.shared.commands.send(ClientCommand::Send(body))
    }

    /// Waits for the next message (with packets: its text).
    ///
    /// ```
    /// use frameloop::{Client, Error, ReplyMode, Server};
    ///
    /// let server = Server::bind("127.0.0.1:0")?.reply(ReplyMode::Once, |req: &[u8]| req.to_ascii_uppercase())?;
    /// let client = Client::connect(server.local_addr())?;
    /// client.send("hi")?;
    /// assert_eq!(client.recv()?, b"HI");
    /// // That server answers once, then hangs up: recv says so instead of waiting.
    /// assert!(matches!(client.recv(), Err(Error::Disconnected(_))));
    /// # Ok::<(), frameloop::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Disconnected`] once the connection has closed (and is not
    /// being re-established), [`Error::Stopped`] after
    /// [`stop`](Self::stop), [`Error::Config`] for a client with callbacks.
    pub fn recv(&self) -> Result<Vec<u8>, Error> {
        self.take(None).map(bytes_of)
    }

    /// [`recv`](Self::recv), waiting at most `timeout`.
    ///
    /// ```
    /// use std::time::Duration;
    /// use frameloop::{Client, Error, Server};
    ///
    /// let server = Server::bind("127.0.0.1:0")?.start_polling()?; // never answers
    /// let client = Client::connect(server.local_addr())?;
    /// assert!(matches!(client.recv_timeout(Duration::from_millis(10)), Err(Error::TimedOut)));
    /// assert_eq!(client.try_recv()?, None);
    /// # Ok::<(), frameloop::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::TimedOut`] if nothing came; as [`recv`](Self::recv).
    pub fn recv_timeout(&self, timeout: Duration) -> Result<Vec<u8>, Error> {
        self.take(Some(deadline_after(timeout))).map(bytes_of)
    }

    /// The next message if one is waiting; never blocks.
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// # use frameloop::{Client, ReplyMode, Server};
    /// # let server = Server::bind("127.0.0.1:0")?.reply(ReplyMode::Concurrent, |req: &[u8]| req.to_ascii_uppercase())?;
    ///
    /// let client = Client::connect(server.local_addr())?;
    /// client.send("hi")?;
    /// let deadline = Instant::now() + Duration::from_secs(5);
    /// let reply = loop {
    ///     if let Some(reply) = client.try_recv()? {
    ///         break reply;
    ///     }
    ///     assert!(Instant::now() < deadline, "no reply");
    ///     std::thread::sleep(Duration::from_millis(1)); // a game would draw a frame here
    /// };
    /// assert_eq!(reply, b"HI");
    /// # Ok::<(), frameloop::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// As [`recv`](Self::recv).
    pub fn try_recv(&self) -> Result<Option<Vec<u8>>, Error> {
        match self.take(Some(Instant::now())) {
            Ok(m) => Ok(Some(bytes_of(m))),
            Err(Error::TimedOut) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Waits for the next packet (packets format).
    ///
    /// ```
    /// use frameloop::{Client, ReplyMode, Server};
    ///
    /// // A reply server answers a packet's text with a packet of its own.
    /// let server = Server::bind("127.0.0.1:0")?.packets().reply(ReplyMode::Once, |text: &[u8]| text.to_ascii_uppercase())?;
    /// let client = Client::builder().packets().connect(server.local_addr())?;
    /// client.send_packet(3, 1.5, true, "hi")?;
    /// let packet = client.recv_packet()?;
    /// assert_eq!(packet.text, "HI");
    /// # Ok::<(), frameloop::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Config`] unless the client uses packets; as
    /// [`recv`](Self::recv).
    pub fn recv_packet(&self) -> Result<Packet, Error> {
        self.take_packet(None)
    }

    /// [`recv_packet`](Self::recv_packet), waiting at most `timeout`.
    ///
    /// ```
    /// use std::time::Duration;
    /// use frameloop::{Client, Error, Event, Server};
    ///
    /// let server = Server::bind("127.0.0.1:0")?.packets().start_polling()?;
    /// let client = Client::builder().packets().connect(server.local_addr())?;
    /// assert!(matches!(client.recv_packet_timeout(Duration::from_millis(10)), Err(Error::TimedOut)));
    /// if let Some(Event::Connected { client: id, .. }) = server.wait_event(Duration::from_secs(5)) {
    ///     server.send_packet(id, 42, 0.5, true, "score")?;
    /// }
    /// let packet = client.recv_packet_timeout(Duration::from_secs(5))?;
    /// assert_eq!((packet.integer, packet.text.as_str()), (42, "score"));
    /// # Ok::<(), frameloop::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::TimedOut`] if nothing came; as
    /// [`recv_packet`](Self::recv_packet).
    pub fn recv_packet_timeout(&self, timeout: Duration) -> Result<Packet, Error> {
        self.take_packet(Some(deadline_after(timeout)))
    }

    fn take_packet(&self, deadline: Option<Instant>) -> Result<Packet, Error> {
        self.shared.format.require_packets()?;
        match self.take(deadline)? {
            Incoming::Packet(p) => Ok(p),
            Incoming::Bytes(_) => Err(super::format::not_packets()),
        }
    }

    /// The next message, skipping connection events.
    fn take(&self, deadline: Option<Instant>) -> Result<Incoming, Error> {
        if self.shared.callbacks {
            return Err(Error::Config(
                "this client hands its messages to its callbacks; recv is for clients without".into(),
            ));
        }
        self.shared.queue.wait_for(deadline, next_message).unwrap_or(Err(Error::TimedOut))
    }

    /// A blocking iterator over everything that happens: connects,
    /// messages, disconnects, errors. It ends once the client has stopped,
    /// or the connection has closed and is not being re-established.
    ///
    /// `recv` and `events` take from the same queue: `recv` skips (and so
    /// drops) the connection events, `events` hands out the messages.
    ///
    /// ```
    /// use frameloop::{Client, ClientEvent, ReplyMode, Server};
    ///
    /// let server = Server::bind("127.0.0.1:0")?.reply(ReplyMode::Once, |_: &[u8]| "bye")?;
    /// let client = Client::connect(server.local_addr())?;
    /// client.send("hi")?;
    /// for event in client.events() { // ends when the server hangs up
    ///     match event {
    ///         ClientEvent::Received(data) => assert_eq!(data, b"bye"),
    ///         ClientEvent::Disconnected { reason } => println!("server gone: {reason}"),
    ///         other => println!("{other:?}"),
    ///     }
    /// }
    /// # Ok::<(), frameloop::Error>(())
    /// ```
    pub fn events(&self) -> ClientEvents<'_> {
        ClientEvents { client: self }
    }

    /// Waits at most `timeout` for the next event.
    ///
    /// ```
    /// use std::time::Duration;
    /// use frameloop::{Client, ClientEvent, Server};
    ///
    /// let server = Server::bind("127.0.0.1:0")?.start_polling()?;
    /// let client = Client::connect(server.local_addr())?;
    /// match client.wait_event(Duration::from_secs(5)) {
    ///     Some(ClientEvent::Connected { addr }) => assert_eq!(addr, server.local_addr()),
    ///     other => panic!("expected Connected, got {other:?}"),
    /// }
    /// assert!(client.wait_event(Duration::from_millis(10)).is_none()); // nothing more
    /// # Ok::<(), frameloop::Error>(())
    /// ```
    pub fn wait_event(&self, timeout: Duration) -> Option<ClientEvent> {
        self.shared.queue.wait_for(Some(deadline_after(timeout)), next_event).flatten()
    }

    /// The next event if one is waiting; never blocks.
    ///
    /// ```
    /// # use frameloop::{Client, Server};
    /// # let server = Server::bind("127.0.0.1:0")?.start_polling()?;
    /// let client = Client::connect(server.local_addr())?;
    /// // Once per frame of a game loop: take what came, never wait.
    /// while let Some(event) = client.try_event() {
    ///     println!("{event:?}");
    /// }
    /// # Ok::<(), frameloop::Error>(())
    /// ```
    pub fn try_event(&self) -> Option<ClientEvent> {
        self.shared.queue.wait_for(Some(Instant::now()), next_event).flatten()
    }

    /// Takes every waiting event; never blocks (simplesockets'
    /// `return_recved_data`).
    ///
    /// ```
    /// use frameloop::{Client, ClientEvent};
    /// # let server = frameloop::Server::bind("127.0.0.1:0")?.start_polling()?;
    ///
    /// let client = Client::connect(server.local_addr())?;
    /// for event in client.drain_events() {
    ///     if let ClientEvent::Received(data) = event {
    ///         println!("got {} bytes", data.len());
    ///     }
    /// }
    /// # Ok::<(), frameloop::Error>(())
    /// ```
    pub fn drain_events(&self) -> Vec<ClientEvent> {
        self.shared.queue.drain()
    }

    /// Connects again to the same server (on this thread, so errors come
    /// back at once), replacing the current connection if there is one.
    ///
    /// ```no_run
    /// use frameloop::{Client, Error};
    ///
    /// let client = Client::connect("127.0.0.1:7000")?;
    /// if let Err(Error::Disconnected(reason)) = client.recv() {
    ///     println!("lost the server ({reason}); trying again");
    ///     client.reconnect()?;
    /// }
    /// # Ok::<(), frameloop::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// As [`Client::connect`]; [`Error::Stopped`] after [`stop`](Self::stop).
    pub fn reconnect(&self) -> Result<(), Error> {
        if !self.shared.commands.is_open() {
            return Err(Error::Stopped);
        }
        let stream = connect_any(&self.shared.addrs, self.shared.connect_timeout)?;
        let server = stream.peer_addr().ok();
        let epoch = self.shared.queue.update(|inner| {
            let link = &mut inner.state;
            link.epoch += 1;
            link.connected = true;
            link.reconnecting = false;
            link.last_reason = None;
            link.server = server.or(link.server);
            link.epoch
        });
        self.shared.commands.send(ClientCommand::Adopt { stream, epoch })
    }

    /// Closes the connection once what was sent is written; the client
    /// stays usable for [`reconnect`](Self::reconnect). No automatic
    /// reconnection follows.
    ///
    /// ```
    /// use frameloop::{Client, Error, Server};
    ///
    /// let server = Server::bind("127.0.0.1:0")?.start_polling()?;
    /// let client = Client::connect(server.local_addr())?;
    /// client.disconnect()?;
    /// assert!(!client.is_connected());
    /// assert!(matches!(client.send("hi"), Err(Error::Disconnected(_))));
    /// client.reconnect()?; // the same server again
    /// assert!(client.is_connected());
    /// # Ok::<(), frameloop::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Stopped`] after [`stop`](Self::stop).
    pub fn disconnect(&self) -> Result<(), Error> {
        if !self.shared.commands.is_open() {
            return Err(Error::Stopped);
        }
        self.shared.queue.update(|inner| {
            let link = &mut inner.state;
            link.epoch += 1;
            link.connected = false;
            link.reconnecting = false;
            link.last_reason = Some(CloseReason::ClosedLocally);
        });
        self.shared.commands.send(ClientCommand::Disconnect)
    }

    /// Whether the client is connected (as far as it knows: a server that
    /// vanished without a word is noticed at the next send or read).
    ///
    /// ```
    /// use std::time::Duration;
    /// use frameloop::{Client, Server};
    ///
    /// let server = Server::bind("127.0.0.1:0")?.start_polling()?;
    /// let client = Client::connect(server.local_addr())?;
    /// assert!(client.is_connected());
    /// server.stop()?;
    /// while client.wait_event(Duration::from_secs(5)).is_some() {} // until the news arrives
    /// assert!(!client.is_connected());
    /// # Ok::<(), frameloop::Error>(())
    /// ```
    pub fn is_connected(&self) -> bool {
        self.shared.queue.state(|link| link.connected)
    }

    /// The server's address.
    ///
    /// ```
    /// use frameloop::{Client, Server};
    ///
    /// let server = Server::bind("127.0.0.1:0")?.start_polling()?;
    /// let client = Client::connect(server.local_addr())?;
    /// assert_eq!(client.server_addr(), Some(server.local_addr()));
    /// # Ok::<(), frameloop::Error>(())
    /// ```
    pub fn server_addr(&self) -> Option<SocketAddr> {
        self.shared.server_addr()
    }

    /// The message format.
    ///
    /// ```
    /// use frameloop::{Client, Format, Server};
    ///
    /// let server = Server::bind("127.0.0.1:0")?.packets().start_polling()?;
    /// let client = Client::builder().packets().connect(server.local_addr())?;
    /// assert_eq!(client.format(), Format::Packets);
    /// # Ok::<(), frameloop::Error>(())
    /// ```
    pub fn format(&self) -> Format {
        self.shared.format
    }

    /// Takes the errors seen so far (simplesockets' `return_exceptions`).
    ///
    /// ```
    /// # let server = frameloop::Server::bind("127.0.0.1:0")?.start_polling()?;
    /// # let client = frameloop::Client::connect(server.local_addr())?;
    /// for error in client.errors() {
    ///     eprintln!("the client met: {error}");
    /// }
    /// # Ok::<(), frameloop::Error>(())
    /// ```
    pub fn errors(&self) -> Vec<Error> {
        std::mem::take(&mut *lock(&self.shared.errors))
    }

    /// Closes the connection (after writing what was sent) and ends the
    /// network thread, waiting for it. Later calls return
    /// [`Error::Stopped`]; stopping twice is harmless.
    ///
    /// ```
    /// use frameloop::{Client, Error, Server};
    ///
    /// let server = Server::bind("127.0.0.1:0")?.start_polling()?;
    /// let client = Client::connect(server.local_addr())?;
    /// client.stop()?;
    /// assert!(matches!(client.send("late"), Err(Error::Stopped)));
    /// client.stop()?; // stopping twice is harmless
    /// # Ok::<(), frameloop::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Panicked`] if a callback panicked.
    pub fn stop(&self) -> Result<(), Error> {
        self.shared.commands.close();
        self.shared.life.wait()
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        let _ = self.stop();
    }
}

fn bytes_of(m: Incoming) -> Vec<u8> {
    match m {
        Incoming::Bytes(b) => b,
        Incoming::Packet(p) => p.text.into_bytes(),
    }
}

/// Whether nothing more can arrive: stopped, or disconnected for good.
fn ended(inner: &Inner<ClientEvent, Link>) -> bool {
    inner.closed || (!inner.state.connected && !inner.state.reconnecting)
}

/// For [`Queue::wait_for`]: the next message, skipping other events; an
/// error once nothing more can arrive.
fn next_message(inner: &mut Inner<ClientEvent, Link>) -> Option<Result<Incoming, Error>> {
    while let Some(event) = inner.pop_front() {
        match event {
            ClientEvent::Received(data) => return Some(Ok(Incoming::Bytes(data))),
            ClientEvent::Packet(packet) => return Some(Ok(Incoming::Packet(packet))),
            ClientEvent::Disconnected { reason } if inner.is_empty() && ended(inner) && !inner.closed => {
                return Some(Err(Error::Disconnected(reason)));
            }
            _ => {}
        }
    }
    if inner.closed {
        return Some(Err(Error::Stopped));
    }
    if ended(inner) {
        let reason = inner.state.last_reason.clone().unwrap_or(CloseReason::ClosedLocally);
        return Some(Err(Error::Disconnected(reason)));
    }
    None
}

/// For [`Queue::wait_for`]: the next event, or `Some(None)` once nothing
/// more can arrive.
fn next_event(inner: &mut Inner<ClientEvent, Link>) -> Option<Option<ClientEvent>> {
    match inner.pop_front() {
        Some(event) => Some(Some(event)),
        None if ended(inner) => Some(None),
        None => None,
    }
}

/// A blocking iterator over a client's events; made by [`Client::events`].
///
/// ```
/// use frameloop::facade::ClientEvents;
/// use frameloop::{Client, ClientEvent, ReplyMode, Server};
///
/// let server = Server::bind("127.0.0.1:0")?.reply(ReplyMode::Once, |_: &[u8]| "done")?;
/// let client = Client::connect(server.local_addr())?;
/// client.send("go")?;
/// let events: ClientEvents<'_> = client.events();
/// let all: Vec<ClientEvent> = events.collect(); // ends when the server hangs up
/// assert!(matches!(all.last(), Some(ClientEvent::Disconnected { .. })));
/// # Ok::<(), frameloop::Error>(())
/// ```
#[derive(Debug)]
pub struct ClientEvents<'a> {
    client: &'a Client,
}

impl Iterator for ClientEvents<'_> {
    type Item = ClientEvent;

    fn next(&mut self) -> Option<ClientEvent> {
        if self.client.shared.callbacks {
            return None; // the callbacks get everything
        }
        self.client.shared.queue.wait_for(None, next_event).flatten()
    }
}

//! [`Client`]: its settings ([`ClientBuilder`]: format, timeouts,
//! automatic reconnection, callbacks), the connect that starts it (errors
//! come back at once), then a handle that sends and receives whole messages
//! from any thread.

use crate::addr::{Addr, ToAddrs};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::client_engine::ClientEngine;
use super::commands::Command;
use super::events::{Event, Events};
use super::link::Status;
use super::queue::{Inbox, Queue};
use super::queued::Queued;
use super::runtime::{Engine, Shared};
use super::settings::{shared_setters, Settings};
use super::{ClientHandler, ConnId, Format};
use crate::codec::packet::Packet;
use crate::error::Error;
use crate::reactor::{self, connect_blocking, deadline_after, ReactorBuilder};

/// What the handle and the network thread share.
#[derive(Debug)]
pub(crate) struct ClientShared {
    pub(crate) net: Shared,
    /// The events for `recv`, and the link's status under the same lock.
    pub(crate) queue: Arc<Queue<Queued, Status>>,
    pub(crate) addrs: Vec<Addr>,
    pub(crate) connect_timeout: Duration,
    pub(crate) reconnect: Option<Reconnect>,
    /// The TLS its connections speak, if any.
    pub(crate) tls: reactor::ClientTlsConfig,
    /// Numbers the program's connects and disconnects, so that it can wait
    /// until the network thread has carried out its own.
    pub(crate) epochs: AtomicU64,
}

impl ClientShared {
    /// Asks the network thread for a connect or a disconnect, and waits
    /// until it is carried out: the link changes on that thread only.
    pub(crate) fn change_link(&self, command: impl FnOnce(u64) -> Command) -> Result<(), Error> {
        let epoch = self.epochs.fetch_add(1, Ordering::Relaxed) + 1;
        self.net.commands.send(command(epoch))?;
        // From a callback it is carried out after the callback returns.
        if self.net.life.is_current() {
            return Ok(());
        }
        let done = self
            .queue
            .wait_for(None, |inner| (inner.state.epoch >= epoch || inner.closed).then_some(inner.state.epoch >= epoch));
        // Not done: stopped before the network thread got to it.
        (done == Some(true)).then_some(()).ok_or(Error::Stopped)
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
    pub fn connect<A: ToAddrs>(addr: A) -> Result<Client, Error> {
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
    pub fn connect_timeout<A: ToAddrs>(addr: A, timeout: Duration) -> Result<Client, Error> {
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
    /// [`stop`](Self::stop). A message on its way when the connection
    /// closes (or is replaced by [`reconnect`](Self::reconnect)) makes an
    /// error in [`errors`](Self::errors) and, without callbacks, an
    /// [`Event::Error`](crate::Event::Error).
    pub fn send(&self, data: impl AsRef<[u8]>) -> Result<(), Error> {
        let conn = self.conn()?;
        self.shared.net.send(data.as_ref(), Command::Send(conn))
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
        let conn = self.conn()?;
        let body = self.shared.net.format.packet(self.shared.net.codec, integer, real, boolean, text)?;
        self.shared.net.commands.send_body(&body, Command::Send(conn))
    }

    /// The connection up, or why there is none.
    fn conn(&self) -> Result<ConnId, Error> {
        match self.shared.queue.state(|status| status.conn.ok_or_else(|| status.down_reason())) {
            Ok(conn) => Ok(conn),
            Err(_) if !self.shared.net.commands.is_open() => Err(Error::Stopped),
            Err(reason) => Err(Error::Disconnected(reason)),
        }
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
        self.shared.net.format.require_packets()?;
        match self.take(deadline)? {
            Event::Packet { packet, .. } => Ok(packet),
            _ => Err(crate::codec::not_packets()),
        }
    }

    /// The next message, skipping connection events.
    fn take(&self, deadline: Option<Instant>) -> Result<Event, Error> {
        if self.shared.queue.state(|status| status.callbacks) {
            return Err(Error::Config(
                "this client hands its messages to its callbacks; recv is for clients without".into(),
            ));
        }
        loop {
            match self.shared.queue.next_event(deadline) {
                Some(message @ (Event::Received { .. } | Event::Packet { .. })) => return Ok(message),
                Some(_) => {} // what tells of the connection: `events` has it
                None => break,
            }
        }
        Err(self.shared.queue.view(|inner| {
            if inner.closed {
                Error::Stopped
            } else if inner.ended() {
                Error::Disconnected(inner.state.down_reason())
            } else {
                Error::TimedOut
            }
        }))
    }

    /// A blocking iterator over everything that happens: connects,
    /// messages, disconnects, errors. It ends once the client has stopped,
    /// or the connection has closed and is not being re-established.
    ///
    /// `recv` and `events` take from the same queue: `recv` skips (and so
    /// drops) the connection events, `events` hands out the messages.
    ///
    /// ```
    /// use frameloop::{Client, Event, ReplyMode, Server};
    ///
    /// let server = Server::bind("127.0.0.1:0")?.reply(ReplyMode::Once, |_: &[u8]| "bye")?;
    /// let client = Client::connect(server.local_addr())?;
    /// client.send("hi")?;
    /// for event in client.events() { // ends when the server hangs up
    ///     match event {
    ///         Event::Received { data, .. } => assert_eq!(data, b"bye"),
    ///         Event::Disconnected { reason, .. } => println!("server gone: {reason}"),
    ///         other => println!("{other:?}"),
    ///     }
    /// }
    /// # Ok::<(), frameloop::Error>(())
    /// ```
    pub fn events(&self) -> Events<'_> {
        Events::new(&*self.shared.queue)
    }

    /// Waits at most `timeout` for the next event.
    ///
    /// ```
    /// use std::time::Duration;
    /// use frameloop::{Client, Event, Server};
    ///
    /// let server = Server::bind("127.0.0.1:0")?.start_polling()?;
    /// let client = Client::connect(server.local_addr())?;
    /// match client.wait_event(Duration::from_secs(5)) {
    ///     Some(Event::Connected { addr, .. }) => assert_eq!(addr, server.local_addr()),
    ///     other => panic!("expected Connected, got {other:?}"),
    /// }
    /// assert!(client.wait_event(Duration::from_millis(10)).is_none()); // nothing more
    /// # Ok::<(), frameloop::Error>(())
    /// ```
    pub fn wait_event(&self, timeout: Duration) -> Option<Event> {
        self.shared.queue.next_event(Some(deadline_after(timeout)))
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
    pub fn try_event(&self) -> Option<Event> {
        self.shared.queue.next_event(Some(Instant::now()))
    }

    /// Takes every waiting event; never blocks (simplesockets'
    /// `return_recved_data`).
    ///
    /// ```
    /// use frameloop::{Client, Event};
    /// # let server = frameloop::Server::bind("127.0.0.1:0")?.start_polling()?;
    ///
    /// let client = Client::connect(server.local_addr())?;
    /// for event in client.drain_events() {
    ///     if let Event::Received { data, .. } = event {
    ///         println!("got {} bytes", data.len());
    ///     }
    /// }
    /// # Ok::<(), frameloop::Error>(())
    /// ```
    pub fn drain_events(&self) -> Vec<Event> {
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
        if !self.shared.net.commands.is_open() {
            return Err(Error::Stopped);
        }
        let stream = connect_blocking(&self.shared.addrs, Some(self.shared.connect_timeout))?;
        self.shared.change_link(|epoch| Command::Adopt(stream, epoch))
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
        self.shared.change_link(Command::Disconnect)
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
        self.shared.queue.state(|status| status.conn.is_some())
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
    pub fn server_addr(&self) -> Option<Addr> {
        self.shared.queue.state(|status| status.server.clone())
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
        self.shared.net.format
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
        self.shared.net.errors()
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
        self.shared.net.stop()
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        let _ = self.stop();
    }
}

/// The bytes of a received message (with packets: its text).
fn bytes_of(event: Event) -> Vec<u8> {
    match event {
        Event::Packet { packet, .. } => packet.text.into_bytes(),
        Event::Received { data, .. } => data,
        _ => Vec::new(),
    }
}

/// Automatic reconnection: after the connection drops (not after
/// [`Client::disconnect`] or [`Client::stop`]), try again after
/// `first_delay`, doubling the wait up to `max_delay`, at most
/// `max_attempts` times in a row (forever if `None`).
///
/// ```
/// use std::time::Duration;
/// use frameloop::Reconnect;
///
/// let patient = Reconnect { max_attempts: Some(20), ..Reconnect::default() };
/// assert_eq!(patient.first_delay, Duration::from_millis(100));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reconnect {
    /// Wait before the first attempt. Default: 100 ms.
    pub first_delay: Duration,
    /// Longest wait between attempts. Default: 5 s.
    pub max_delay: Duration,
    /// Attempts before giving up; `None` (the default) never gives up.
    pub max_attempts: Option<u32>,
}

impl Default for Reconnect {
    fn default() -> Self {
        Reconnect { first_delay: Duration::from_millis(100), max_delay: Duration::from_secs(5), max_attempts: None }
    }
}

/// Settings for a [`Client`]; made by [`Client::builder`].
///
/// ```no_run
/// use std::time::Duration;
/// use frameloop::{Client, Reconnect};
///
/// let client = Client::builder()
///     .lines()
///     .connect_timeout(Duration::from_secs(3))
///     .auto_reconnect(Reconnect::default())
///     .connect("127.0.0.1:7000")?;
/// client.send("hello")?;
/// # Ok::<(), frameloop::Error>(())
/// ```
///
/// A client's network thread polls for 50 µs after each wake-up before it
/// sleeps ([`ReactorBuilder::busy_poll`]), so that the reply to a request
/// just sent finds it awake: on an idle virtual machine, waking a sleeping
/// thread was a third of the round trip. That costs up to 50 µs of CPU per
/// wake-up, and nothing once the client is idle; turn it off, or change it,
/// with [`configure`](Self::configure):
///
/// ```
/// use frameloop::{Client, Server};
///
/// let server = Server::bind("127.0.0.1:0")?.start_polling()?;
/// let client = Client::builder().configure(|engine| engine.busy_poll(None)).connect(server.local_addr())?;
/// client.send("sleeps between messages")?;
/// # Ok::<(), frameloop::Error>(())
/// ```
#[must_use = "nothing connects until connect() is called"]
pub struct ClientBuilder {
    settings: Settings,
    connect_timeout: Duration,
    reconnect: Option<Reconnect>,
    handler: Option<Box<dyn ClientHandler + Send>>,
    tls: reactor::ClientTlsConfig,
}

impl std::fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("settings", &self.settings)
            .field("connect_timeout", &self.connect_timeout)
            .field("reconnect", &self.reconnect)
            .field("callbacks", &self.handler.is_some())
            .field("tls", &self.tls.is_some())
            .finish()
    }
}

/// How long a connect waits for an answer unless told otherwise.
const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a client's network thread polls before it sleeps (see
/// [`ReactorBuilder::busy_poll`]): about a loopback round trip, so that a
/// reply to what the program just sent finds the thread awake rather than
/// waiting for a sleeping thread and CPU to wake, which was a third of
/// the `Client`'s round trip on an idle virtual machine (1.70× a blocking
/// client's p50 without it, 1.16–1.20× with it).
const CLIENT_BUSY_POLL: Option<Duration> = Some(Duration::from_micros(50));

impl Default for ClientBuilder {
    fn default() -> Self {
        ClientBuilder {
            settings: Settings {
                reactor: ReactorBuilder::default().busy_poll(CLIENT_BUSY_POLL),
                ..Settings::default()
            },
            // The system's own timeout is often minutes: far too long for a
            // beginner to learn that nothing answers.
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            reconnect: None,
            handler: None,
            tls: None,
        }
    }
}

impl ClientBuilder {
    shared_setters!("frameloop::Client::builder()", "");

    /// Speaks TLS to the server, which must show a certificate for
    /// `server_name` signed by a CA of `files` (and, if the server asks, a
    /// certificate of `files` of its own). The handshake follows the
    /// connect, and `connect` returns once it is done: a handshake that
    /// fails is its [`Error::Disconnected`] with
    /// [`CloseReason::Tls`](crate::CloseReason::Tls). Under TLS 1.3 a server
    /// that refuses the client's own certificate says so after that: the
    /// connection then ends with that reason (`recv` returns it).
    /// Reconnects speak TLS too. See [`ServerBuilder::tls`](crate::ServerBuilder::tls)
    /// for an example.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] naming the file that is missing or unusable.
    #[cfg(feature = "tls")]
    pub fn tls(mut self, files: crate::tls::TlsClientFiles, server_name: &str) -> Result<Self, Error> {
        self.tls = Some((files.load()?, server_name.to_owned()));
        Ok(self)
    }

    /// Give up connecting after `timeout` ([`Error::ConnectTimedOut`]).
    /// Default: 10 s (the system's own is often minutes).
    ///
    /// ```
    /// let builder = frameloop::Client::builder().connect_timeout(std::time::Duration::from_secs(3));
    /// # drop(builder);
    /// ```
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Reconnect by itself when the connection drops.
    ///
    /// ```
    /// use frameloop::{Client, Reconnect};
    ///
    /// let builder = Client::builder().auto_reconnect(Reconnect { max_attempts: Some(5), ..Reconnect::default() });
    /// # drop(builder);
    /// ```
    pub fn auto_reconnect(mut self, policy: Reconnect) -> Self {
        self.reconnect = Some(policy);
        self
    }

    /// Hand messages to `handler`'s callbacks (on the network thread)
    /// instead of keeping them for [`Client::recv`].
    ///
    /// ```
    /// use frameloop::{Client, ClientCtx, ClientHandler, Error, Message};
    /// # use std::time::Duration;
    /// # use frameloop::{ReplyMode, Server};
    ///
    /// struct Forward(std::sync::mpsc::Sender<String>);
    /// impl ClientHandler for Forward {
    ///     fn on_receive(&mut self, _client: &mut ClientCtx<'_>, msg: Message<'_>) -> Result<(), Error> {
    ///         let _ = self.0.send(msg.text().into_owned()); // to the main thread
    ///         Ok(())
    ///     }
    /// }
    ///
    /// # let server = Server::bind("127.0.0.1:0")?.reply(ReplyMode::Concurrent, |req: &[u8]| req.to_ascii_uppercase())?;
    /// let (tx, rx) = std::sync::mpsc::channel();
    /// let client = Client::builder().callbacks(Forward(tx)).connect(server.local_addr())?;
    /// client.send("hi")?;
    /// assert_eq!(rx.recv_timeout(Duration::from_secs(5)).expect("a reply"), "HI");
    /// # Ok::<(), frameloop::Error>(())
    /// ```
    pub fn callbacks<H: ClientHandler + Send + 'static>(mut self, handler: H) -> Self {
        self.handler = Some(Box::new(handler));
        self
    }

    /// Connects (on this thread, so errors come back at once), then starts
    /// the client's network thread.
    ///
    /// ```
    /// use std::time::Duration;
    /// use frameloop::{Client, ReplyMode, Server};
    ///
    /// let server = Server::bind("127.0.0.1:0")?.lines().reply(ReplyMode::Concurrent, |line: &[u8]| line.to_ascii_uppercase())?;
    /// let client = Client::builder()
    ///     .lines()
    ///     .connect_timeout(Duration::from_secs(3))
    ///     .connect(server.local_addr())?;
    /// client.send("hello")?;
    /// assert_eq!(client.recv_timeout(Duration::from_secs(5))?, b"HELLO");
    /// # Ok::<(), frameloop::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::InvalidAddress`]; [`Error::ConnectionRefused`],
    /// [`Error::Unreachable`], [`Error::ConnectTimedOut`] (pyspeak's
    /// `ClientConnectError`); [`Error::NoLocalPort`] (no local port left to
    /// connect from); [`Error::ThreadSpawn`] (`ClientRunError`).
    pub fn connect<A: ToAddrs>(self, addr: A) -> Result<Client, Error> {
        let addrs = addr.to_addrs()?;
        let stream = connect_blocking(&addrs, Some(self.connect_timeout))?;
        let format = self.settings.format;
        let status = Status { callbacks: self.handler.is_some(), ..Status::default() };
        let queue = Arc::new(Queue::new(status, self.settings.queue_limit()));
        let reactor = self.settings.reactor().build()?;
        let shared = Arc::new(ClientShared {
            net: Shared::new(&reactor, format),
            queue,
            addrs,
            connect_timeout: self.connect_timeout,
            reconnect: self.reconnect,
            tls: self.tls,
            epochs: AtomicU64::new(0),
        });
        let engine = ClientEngine::new(self.handler, Arc::clone(&shared));
        reactor::spawn("frameloop-client", reactor, engine, Engine::finish, Arc::clone(&shared.net.life))?;
        // The first thing the network thread does; `connect` returns once
        // it is done, so the client is connected when it returns.
        shared.change_link(|epoch| Command::Adopt(stream, epoch))?;
        let client = Client { shared };
        // Under TLS it is carried out once the handshake ended: a refused
        // one fails the connect, as a refused TCP connect does.
        if client.shared.tls.is_some() && !client.is_connected() {
            let reason = client.shared.queue.state(|s| s.reason.clone());
            return Err(Error::Disconnected(reason.unwrap_or(crate::CloseReason::ClosedLocally)));
        }
        Ok(client)
    }
}

//! [`ClientBuilder`]: a client's settings (format, timeouts, automatic
//! reconnection, callbacks), and the connect that starts it.

use std::net::ToSocketAddrs;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::client::{Client, ClientShared, Link};
use super::client_engine::{ClientCommand, ClientEngine};
use super::queue::{Queue, DEFAULT_MAX_QUEUED};
use super::request::{connect_any, resolve_all};
use super::runtime::{self, Commands};
use super::{ClientHandler, Format};
use crate::error::Error;
use crate::reactor::ReactorBuilder;

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
#[must_use = "nothing connects until connect() is called"]
pub struct ClientBuilder {
    format: Format,
    max_len: Option<usize>,
    max_queued: usize,
    connect_timeout: Option<Duration>,
    reconnect: Option<Reconnect>,
    handler: Option<Box<dyn ClientHandler + Send>>,
    reactor: ReactorBuilder,
}

impl std::fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("format", &self.format)
            .field("max_len", &self.max_len)
            .field("max_queued", &self.max_queued)
            .field("connect_timeout", &self.connect_timeout)
            .field("reconnect", &self.reconnect)
            .field("callbacks", &self.handler.is_some())
            .finish()
    }
}

/// How long a connect waits for an answer unless told otherwise.
const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

impl Default for ClientBuilder {
    fn default() -> Self {
        ClientBuilder {
            format: Format::Frames,
            max_len: None,
            max_queued: DEFAULT_MAX_QUEUED,
            // The system's own timeout is often minutes: far too long for a
            // beginner to learn that nothing answers.
            connect_timeout: Some(DEFAULT_CONNECT_TIMEOUT),
            reconnect: None,
            handler: None,
            reactor: ReactorBuilder::default(),
        }
    }
}

impl ClientBuilder {
    /// Length-prefixed frames (the default).
    ///
    /// ```
    /// let builder = frameloop::Client::builder().frames(); // the default
    /// # drop(builder);
    /// ```
    pub fn frames(self) -> Self {
        self.format(Format::Frames)
    }

    /// Text lines.
    ///
    /// ```
    /// let builder = frameloop::Client::builder().lines();
    /// # drop(builder);
    /// ```
    pub fn lines(self) -> Self {
        self.format(Format::Lines)
    }

    /// pyspeak's packets.
    ///
    /// ```
    /// let builder = frameloop::Client::builder().packets();
    /// # drop(builder);
    /// ```
    pub fn packets(self) -> Self {
        self.format(Format::Packets)
    }

    /// Raw bytes, no framing: for a server that speaks plain sockets.
    /// Each message received is a chunk of the bytes as they arrived, at
    /// most 64 KiB (set with [`max_frame_len`](Self::max_frame_len)); `send`
    /// sends the bytes as they are.
    ///
    /// ```
    /// let builder = frameloop::Client::builder().raw();
    /// # drop(builder);
    /// ```
    pub fn raw(self) -> Self {
        self.format(Format::Raw)
    }

    /// Any [`Format`]; it must be the server's.
    ///
    /// ```
    /// let builder = frameloop::Client::builder().format(frameloop::Format::Lines);
    /// # drop(builder);
    /// ```
    pub fn format(mut self, format: Format) -> Self {
        self.format = format;
        self
    }

    /// Longest message accepted from the server. Default: 8 MiB (64 KiB
    /// for lines). For [raw bytes](Self::raw), the largest chunk handed over
    /// at once (default 64 KiB): more is split, never refused.
    ///
    /// ```
    /// let builder = frameloop::Client::builder().max_frame_len(64 * 1024);
    /// # drop(builder);
    /// ```
    pub fn max_frame_len(mut self, max: usize) -> Self {
        self.max_len = Some(max);
        self
    }

    /// How many bytes of received messages may wait for
    /// [`recv`](super::Client::recv) and the other ways of taking events
    /// (without callbacks). Past it, the client stops reading from the
    /// server (TCP then makes the server wait; nothing is dropped) until
    /// enough has been taken to bring the queue down to half. Each event
    /// counts its message's bytes plus under 100 for the event itself; the
    /// queue can go over by at most one message. Default: 16 MiB.
    ///
    /// ```
    /// let builder = frameloop::Client::builder().max_queued_bytes(1 << 20);
    /// # drop(builder);
    /// ```
    pub fn max_queued_bytes(mut self, max: usize) -> Self {
        self.max_queued = max;
        self
    }

    /// Give up connecting after `timeout` ([`Error::ConnectTimedOut`]).
    /// Default: 10 s (the system's own is often minutes).
    ///
    /// ```
    /// let builder = frameloop::Client::builder().connect_timeout(std::time::Duration::from_secs(3));
    /// # drop(builder);
    /// ```
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = Some(timeout);
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

    /// Without callbacks: how long a connection the server shut down its
    /// sending side of is kept open for the program's answers. It stays
    /// open until the program has taken every message and come back for
    /// more; past this, it closes with
    /// [`CloseReason::HalfCloseTimeout`](crate::CloseReason::HalfCloseTimeout).
    /// Default: 10 s.
    ///
    /// ```
    /// let builder = frameloop::Client::builder().half_close_timeout(std::time::Duration::from_secs(2));
    /// # drop(builder);
    /// ```
    pub fn half_close_timeout(mut self, timeout: Duration) -> Self {
        self.reactor = self.reactor.half_close_timeout(timeout);
        self
    }

    /// Any other engine setting.
    ///
    /// ```
    /// let builder = frameloop::Client::builder().configure(|engine| engine.hard_cap(1 << 20));
    /// # drop(builder);
    /// ```
    pub fn configure(mut self, f: impl FnOnce(ReactorBuilder) -> ReactorBuilder) -> Self {
        self.reactor = f(self.reactor);
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
    pub fn connect<A: ToSocketAddrs + std::fmt::Debug>(self, addr: A) -> Result<Client, Error> {
        let addrs = resolve_all(addr)?;
        let stream = connect_any(&addrs, self.connect_timeout)?;
        let server = stream.peer_addr().ok();
        let reactor = self.format.configure(self.reactor, self.max_len).build()?;
        let (commands, rx) = Commands::new(reactor.notifier());
        // Queued before the thread starts: the first thing it does.
        commands.send(ClientCommand::Adopt { stream, epoch: 1 })?;
        let link = Link { connected: true, reconnecting: false, last_reason: None, epoch: 1, server };
        let shared = Arc::new(ClientShared {
            commands,
            queue: Queue::new(link, self.max_queued),
            errors: Mutex::default(),
            life: Arc::default(),
            format: self.format,
            codec: reactor.codec(),
            addrs,
            connect_timeout: self.connect_timeout,
            reconnect: self.reconnect,
            callbacks: self.handler.is_some(),
        });
        shared.queue.set_notifier(reactor.notifier());
        super::client_engine::send_markers(&shared);
        let engine = ClientEngine::new(self.handler, Arc::clone(&shared), rx);
        runtime::spawn("frameloop-client", reactor, engine, Arc::clone(&shared.life))?;
        Ok(Client { shared })
    }
}

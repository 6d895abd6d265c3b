//! [`Server`]: bind, choose settings, start with callbacks or for polling;
//! then a handle that works from any thread.

use crate::addr::{Addr, ToAddrs};
use std::sync::Arc;
use std::time::Duration;

use super::baton::Baton;
use super::commands::Command;
use super::queue::Queue;
use super::queued::Queued;
use super::runtime::{Engine, Shared};
use super::server_engine::ServerEngine;
use super::settings::{shared_setters, Settings};
use super::{ConnId, Format, ServerHandler};
use crate::addr::first_addr;
use crate::error::Error;
use crate::reactor::{self, Distribution};

/// What the handle and the network threads share: a network side (its
/// commands, errors and life) per reactor, in the order of the reactors.
#[derive(Debug)]
pub(crate) struct ServerShared {
    pub(crate) nets: Vec<Shared>,
    pub(crate) local_addr: Addr,
}

impl ServerShared {
    /// The network side of the reactor `conn` lives on: the one place a
    /// client's id finds its thread. An id no reactor of this server could
    /// have is refused at once.
    pub(crate) fn net_of(&self, conn: ConnId) -> Result<&Shared, Error> {
        // Built only when missing: built and dropped each time, the error
        // cost the polling echo 15 instructions a message.
        match self.nets.get(conn.reactor()) {
            Some(net) => Ok(net),
            None => Err(Error::UnknownConnection(conn)),
        }
    }

    /// The first reactor's network side, for what every reactor's has
    /// alike: the format and the codec.
    pub(crate) fn net(&self) -> &Shared {
        &self.nets[0]
    }

    /// Queues a `command()` with `body` for every reactor; the first
    /// refusal, once every reactor was asked.
    fn to_all(&self, body: &[u8], command: impl Fn() -> Command) -> Result<(), Error> {
        self.nets.iter().map(|net| net.commands.send_body(body, command())).fold(Ok(()), Result::and)
    }

    /// Queues a `command()` for every reactor but `here`, which has carried
    /// it out itself already. Refused only once stopping.
    pub(crate) fn to_others(&self, here: usize, command: impl Fn() -> Command) {
        for (i, net) in self.nets.iter().enumerate() {
            if i != here {
                let _ = net.commands.send(command());
            }
        }
    }

    /// Refuses every later command on every reactor, each of which ends
    /// once it has carried out the ones queued.
    pub(crate) fn close_all(&self) {
        self.nets.iter().for_each(|net| net.commands.close());
    }

    /// Waits until every network thread has ended; the first error that
    /// ended one. On a network thread itself it returns at once: it cannot
    /// wait for its own end, nor for another's (which may be waiting for it).
    fn wait(&self) -> Result<(), Error> {
        if self.nets.iter().any(|net| net.life.is_current()) {
            return Ok(());
        }
        self.nets.iter().map(Shared::wait).fold(Ok(()), Result::and)
    }
}

/// A bound server that has not started yet: choose settings, then
/// [`start`](Self::start) it with callbacks or
/// [`start_polling`](Self::start_polling). Made by [`Server::bind`].
///
/// ```
/// use frameloop::Server;
///
/// let server = Server::bind("127.0.0.1:0")?
///     .lines()                 // nc / telnet can talk to it
///     .max_connections(100)
///     .max_frame_len(4096)     // longest line accepted
///     .start_polling()?;
/// println!("listening on {}", server.local_addr());
/// # Ok::<(), frameloop::Error>(())
/// ```
#[derive(Debug)]
#[must_use = "the server serves nobody until start() or start_polling() is called"]
pub struct ServerBuilder {
    listener: reactor::ListenSocket,
    local_addr: Addr,
    pub(super) settings: Settings,
    /// The refusal message, encoded at start in the format chosen by then.
    refusal: Option<Vec<u8>>,
    threads: usize,
    /// The TLS its clients speak, if any.
    tls: reactor::ServerTls,
}

impl ServerBuilder {
    shared_setters!("frameloop::Server::bind(\"127.0.0.1:0\")?", "# Ok::<(), frameloop::Error>(())");

    /// Most clients connected at once; past it, newcomers are disconnected
    /// at once (told why first with [`refuse_with`](Self::refuse_with)).
    /// Default: 16384. With [`threads`](Self::threads) above 1 it is each
    /// thread's limit: a newcomer is refused once the thread with the
    /// fewest clients has this many.
    ///
    /// ```
    /// let builder = frameloop::Server::bind("127.0.0.1:0")?.max_connections(1000);
    /// # drop(builder);
    /// # Ok::<(), frameloop::Error>(())
    /// ```
    pub fn max_connections(mut self, max: usize) -> Self {
        self.settings.reactor = self.settings.reactor.max_connections(max);
        self
    }

    /// A message for each client refused because
    /// [`max_connections`](Self::max_connections) are connected: it gets
    /// this one message, in the server's format (a line for lines, a frame
    /// for frames, a packet's text for packets), then the end of the
    /// stream. Without it a refused client sees only the end of the stream.
    /// At most 1 KiB once encoded.
    ///
    /// ```
    /// use std::time::Duration;
    /// use frameloop::{Client, Server};
    ///
    /// let server = Server::bind("127.0.0.1:0")?
    ///     .lines()
    ///     .max_connections(1)
    ///     .refuse_with("Sorry, the room is full")
    ///     .start_polling()?;
    /// let first = Client::builder().lines().connect(server.local_addr())?;
    /// # while server.client_count() < 1 { std::thread::sleep(Duration::from_millis(1)); }
    /// let second = Client::builder().lines().connect(server.local_addr())?;
    /// assert_eq!(second.recv_timeout(Duration::from_secs(5))?, b"Sorry, the room is full");
    /// # drop(first);
    /// # Ok::<(), frameloop::Error>(())
    /// ```
    ///
    /// The message is checked when the server starts: one the format
    /// cannot carry (a line with a newline inside) or longer than 1 KiB
    /// makes `start` fail.
    pub fn refuse_with(mut self, message: impl AsRef<[u8]>) -> Self {
        self.refusal = Some(message.as_ref().to_vec());
        self
    }

    /// Disconnect clients that send nothing for this long. Default: never.
    ///
    /// ```
    /// let builder = frameloop::Server::bind("127.0.0.1:0")?.idle_timeout(std::time::Duration::from_secs(60));
    /// # drop(builder);
    /// # Ok::<(), frameloop::Error>(())
    /// ```
    pub fn idle_timeout(mut self, timeout: Duration) -> Self {
        self.settings.reactor = self.settings.reactor.idle_timeout(Some(timeout));
        self
    }

    /// Stops gracefully on SIGINT (Ctrl-C) and SIGTERM (what systemd,
    /// `docker stop` and Kubernetes send), as [`Server::stop`] does: no new
    /// clients, messages already sent are written (for at most the engine's
    /// [shutdown timeout](crate::ReactorBuilder::shutdown_timeout), 5 s by default), every
    /// client is disconnected. [`Server::wait`] then returns `Ok(())`, and a
    /// polling server's events end (after a
    /// [`Disconnected`](crate::Event::Disconnected) for each client). A
    /// second signal during that stop disconnects the clients at once.
    /// Requires the `signals` feature.
    ///
    /// Signal handlers belong to the whole process: ask this of one server
    /// per process (see [`ReactorBuilder::stop_on_signals`](crate::ReactorBuilder::stop_on_signals) for what happens when
    /// several ask, and after the server is gone).
    ///
    /// ```no_run
    /// use frameloop::{ConnId, Error, Message, Server, ServerCtx, ServerHandler};
    ///
    /// struct Echo;
    /// impl ServerHandler for Echo {
    ///     fn on_receive(&mut self, server: &mut ServerCtx<'_>, client: ConnId, msg: Message<'_>) -> Result<(), Error> {
    ///         server.send(client, msg)
    ///     }
    /// }
    ///
    /// let server = Server::bind("127.0.0.1:7000")?.stop_on_signals().start(Echo)?;
    /// server.wait()?; // returns after Ctrl-C, once the replies are out
    /// # Ok::<(), frameloop::Error>(())
    /// ```
    #[cfg(feature = "signals")]
    pub fn stop_on_signals(mut self) -> Self {
        self.settings.reactor = self.settings.reactor.stop_on_signals();
        self
    }

    /// The permission bits of the server's Unix socket file (`0o660`: its
    /// owner and group may connect), set at once. Default: what the
    /// process's umask leaves. See
    /// [`ReactorBuilder::unix_mode`](crate::ReactorBuilder::unix_mode).
    ///
    /// ```
    /// use std::os::unix::fs::PermissionsExt;
    ///
    /// let path = std::env::temp_dir().join(format!("frameloop-server-mode-{}.sock", std::process::id()));
    /// let server = frameloop::Server::bind(path.as_path())?.unix_mode(0o600)?.start_polling()?;
    /// assert_eq!(std::fs::metadata(&path)?.permissions().mode() & 0o777, 0o600);
    /// drop(server);
    /// assert!(!path.exists()); // the file goes with the server
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Config`] if the server is not on a Unix socket; [`Error::Io`]
    /// if the mode cannot be set.
    #[cfg(unix)]
    pub fn unix_mode(self, mode: u32) -> Result<Self, Error> {
        let Some(path) = self.local_addr.unix_path() else {
            return Err(Error::Config(format!("{} is no Unix socket: it has no file mode", self.local_addr)));
        };
        reactor::set_unix_mode(path, mode)?;
        Ok(self)
    }

    /// The address the server is bound to (with port 0, the port the system
    /// chose).
    ///
    /// ```
    /// use frameloop::Server;
    ///
    /// let builder = Server::bind("127.0.0.1:0")?;
    /// let addr = builder.local_addr(); // known before the server starts
    /// assert_ne!(addr.tcp().unwrap().port(), 0);
    /// let server = builder.start_polling()?;
    /// assert_eq!(server.local_addr(), addr);
    /// # Ok::<(), frameloop::Error>(())
    /// ```
    pub fn local_addr(&self) -> Addr {
        self.local_addr.clone()
    }

    /// How many network threads serve the clients, each with an event loop
    /// of its own: 1 by default, which serves thousands of clients on one
    /// core; more spread the clients over more cores. The first thread
    /// accepts every client and hands it to the thread with the fewest, and
    /// a client stays on its thread ([`ConnId::reactor`](crate::ConnId::reactor)
    /// says which). The handle's `send`, `broadcast`, `disconnect` and
    /// `clients`, and a callback's `send`, `broadcast` and `disconnect`,
    /// reach every client whichever thread serves it.
    ///
    /// Callbacks then run on every thread at once: start with
    /// [`start_with`](Self::start_with), which makes a handler for each
    /// thread (state they share needs a lock, such as an
    /// `Arc<Mutex<...>>`). [`start_polling`](Self::start_polling) works as
    /// with one thread: one stream of events, each client's in order.
    /// Limits such as [`max_connections`](Self::max_connections) are per
    /// thread. 0 threads makes the start fail with [`Error::Config`].
    ///
    /// ```
    /// use std::time::Duration;
    /// use frameloop::{Client, Event, Server};
    ///
    /// let server = Server::bind("127.0.0.1:0")?.threads(2).start_polling()?;
    /// let (alice, bob) = (Client::connect(server.local_addr())?, Client::connect(server.local_addr())?);
    /// alice.send("hi")?;
    /// bob.send("hi")?;
    /// let mut threads = Vec::new();
    /// while threads.len() < 2 {
    ///     match server.wait_event(Duration::from_secs(5)) {
    ///         Some(Event::Received { client, data, .. }) => {
    ///             threads.push(client.reactor()); // which thread serves it
    ///             server.send(client, data)?; // an echo, whichever thread
    ///         }
    ///         Some(_) => {}
    ///         None => panic!("no message in time"),
    ///     }
    /// }
    /// threads.sort();
    /// assert_eq!(threads, [0, 1]); // one each: the fewest clients get the next
    /// assert_eq!(alice.recv_timeout(Duration::from_secs(5))?, b"hi");
    /// assert_eq!(bob.recv_timeout(Duration::from_secs(5))?, b"hi");
    /// # Ok::<(), frameloop::Error>(())
    /// ```
    pub fn threads(mut self, threads: usize) -> Self {
        self.threads = threads;
        self
    }

    /// Serves TLS: each client does a handshake first (with the
    /// certificate and key of `files`, and, with a client CA, a
    /// certificate of its own), and is the handler's once it completes.
    /// A client whose handshake fails is never seen by the program; the
    /// engine logs why. Messages are the format's, inside TLS.
    ///
    /// ```
    /// use frameloop::tls::{TlsClientFiles, TlsServerFiles};
    /// use frameloop::{Client, ReplyMode, Server};
    ///
    /// let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/tls");
    /// let files = TlsServerFiles::new(format!("{dir}/server.pem"), format!("{dir}/server.key"));
    /// let server = Server::bind("127.0.0.1:0")?.tls(files)?.reply(ReplyMode::Concurrent, |r: &[u8]| r.to_vec())?;
    /// let client = Client::builder()
    ///     .tls(TlsClientFiles::new(format!("{dir}/ca.pem")), "localhost")?
    ///     .connect(server.local_addr())?;
    /// client.send("secret")?;
    /// assert_eq!(client.recv_timeout(std::time::Duration::from_secs(5))?, b"secret");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Config`] naming the file that is missing or unusable.
    #[cfg(feature = "tls")]
    pub fn tls(mut self, files: crate::tls::TlsServerFiles) -> Result<Self, Error> {
        self.tls = Some(files.load()?);
        Ok(self)
    }

    /// Starts serving on a new network thread, calling `handler`'s
    /// callbacks there.
    ///
    /// ```
    /// use frameloop::{ConnId, Error, Message, Server, ServerCtx, ServerHandler};
    /// # use frameloop::Client;
    ///
    /// struct Echo;
    /// impl ServerHandler for Echo {
    ///     fn on_receive(&mut self, server: &mut ServerCtx<'_>, client: ConnId, msg: Message<'_>) -> Result<(), Error> {
    ///         server.send(client, msg)
    ///     }
    /// }
    ///
    /// let server = Server::bind("127.0.0.1:0")?.start(Echo)?;
    /// assert!(server.is_running());
    /// # let client = Client::connect(server.local_addr())?;
    /// # client.send("hi")?;
    /// # assert_eq!(client.recv_timeout(std::time::Duration::from_secs(5))?, b"hi");
    /// # Ok::<(), frameloop::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::ThreadSpawn`] if the thread cannot start; [`Error::Config`]
    /// for inconsistent settings, and with [`threads`](Self::threads) above
    /// 1 (each thread needs a handler: use [`start_with`](Self::start_with)).
    pub fn start<H: ServerHandler + Send + 'static>(self, handler: H) -> Result<Server, Error> {
        if self.threads > 1 {
            return Err(Error::Config(format!(
                "a server with {} threads needs a handler for each: use start_with(|thread| handler)",
                self.threads
            )));
        }
        self.launch(std::iter::once(handler), None)
    }

    /// Starts serving on [`threads`](Self::threads) network threads, with
    /// the handler `make` returns for each thread (numbered from 0, as
    /// [`ConnId::reactor`](crate::ConnId::reactor) numbers them); each
    /// thread's callbacks run on that thread, for the clients it serves.
    ///
    /// A callback's [`ServerCtx::send`](super::ServerCtx::send),
    /// [`broadcast`](super::ServerCtx::broadcast) and
    /// [`disconnect`](super::ServerCtx::disconnect) reach the clients of
    /// every thread; [`ServerCtx::clients`](super::ServerCtx::clients) sees
    /// only this thread's. A callback must never wait for another thread:
    /// that one may be waiting for it.
    ///
    /// ```
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    /// use std::sync::Arc;
    /// use std::time::Duration;
    /// use frameloop::{Client, ConnId, Error, Message, Server, ServerCtx, ServerHandler};
    ///
    /// /// Numbers every message, across the threads.
    /// struct Counter(Arc<AtomicUsize>);
    /// impl ServerHandler for Counter {
    ///     fn on_receive(&mut self, server: &mut ServerCtx<'_>, client: ConnId, _msg: Message<'_>) -> Result<(), Error> {
    ///         let n = self.0.fetch_add(1, Ordering::SeqCst) + 1;
    ///         server.send(client, n.to_string())
    ///     }
    /// }
    ///
    /// let count = Arc::new(AtomicUsize::new(0));
    /// let server = Server::bind("127.0.0.1:0")?.lines().threads(2).start_with(|_thread| Counter(Arc::clone(&count)))?;
    /// let client = Client::builder().lines().connect(server.local_addr())?;
    /// client.send("one")?;
    /// assert_eq!(client.recv_timeout(Duration::from_secs(5))?, b"1");
    /// # Ok::<(), frameloop::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// As [`start`](Self::start), but any number of threads is fine.
    pub fn start_with<H, F>(self, make: F) -> Result<Server, Error>
    where
        H: ServerHandler + Send + 'static,
        F: FnMut(usize) -> H,
    {
        let threads = self.threads;
        self.launch((0..threads).map(make), None)
    }

    /// How many network threads [`threads`](Self::threads) asked for.
    pub(crate) fn thread_count(&self) -> usize {
        self.threads
    }

    /// Starts the reactors, one group: the first adopts the listener and
    /// hands each client on to the least loaded; each runs on its own
    /// thread with its own engine, network side and handler, the next of
    /// `handlers` (which has one for each thread).
    pub(crate) fn launch<H: ServerHandler + Send + 'static>(
        self,
        handlers: impl IntoIterator<Item = H>,
        events: Option<Arc<Queue<Queued>>>,
    ) -> Result<Server, Error> {
        if self.threads == 0 {
            return Err(Error::Config("a server needs at least one thread".into()));
        }
        let (format, threads) = (self.settings.format, self.threads);
        // One listener, bound by `bind` so that a busy address is reported
        // there: the first reactor accepts for all.
        let mut builder = self.settings.reactor().distribution(Distribution::Acceptor);
        if let Some(message) = &self.refusal {
            // Encoded by the codec the reactor will use: the same bytes a
            // `send` of it would put on the wire.
            let wire = format.wire(builder.chosen_codec(), message)?;
            builder = builder.refusal_message(wire);
        }
        let mut reactors = builder.build_group(threads)?.into_reactors();
        reactors[0].adopt_listener(self.listener, self.tls)?;
        let nets = reactors.iter().map(|reactor| Shared::new(reactor, format)).collect();
        let shared = Arc::new(ServerShared { nets, local_addr: self.local_addr });
        if let Some(events) = &events {
            events.attach(shared.nets.iter().map(|net| Arc::clone(&net.commands)).collect());
        }
        for (i, (reactor, handler)) in reactors.into_iter().zip(handlers).enumerate() {
            let engine = ServerEngine::new(handler, Arc::clone(&shared), i, events.clone());
            let (net, name) = (&shared.nets[i], format!("frameloop-server-{i}"));
            let started = match &events {
                // One reactor: the program's threads turn it while they
                // wait for events, its own thread while they are away.
                Some(queue) if threads == 1 => Baton::start(&name, reactor, engine, net, queue),
                _ => reactor::spawn(&name, reactor, engine, Engine::finish, Arc::clone(&net.life)),
            };
            if let Err(e) = started {
                // The reactors not started are dropped; those started stop.
                shared.close_all();
                shared.nets[..i].iter().for_each(|net| drop(net.wait()));
                return Err(e);
            }
        }
        Ok(Server { shared })
    }
}

/// A running server. Every method takes `&self` and works from any thread
/// (share it with `&server` in scoped threads, or an `Arc`). Dropping it
/// stops the server.
///
/// ```
/// use frameloop::{Client, ConnId, Error, Message, Server, ServerCtx, ServerHandler};
///
/// struct Echo;
/// impl ServerHandler for Echo {
///     fn on_receive(&mut self, server: &mut ServerCtx<'_>, client: ConnId, msg: Message<'_>) -> Result<(), Error> {
///         server.send(client, msg)
///     }
/// }
///
/// let server = Server::bind("127.0.0.1:0")?.start(Echo)?;
/// let client = Client::connect(server.local_addr())?;
/// client.send("ping")?;
/// assert_eq!(client.recv()?, b"ping");
/// server.stop()?;
/// # Ok::<(), frameloop::Error>(())
/// ```
#[derive(Debug)]
pub struct Server {
    pub(crate) shared: Arc<ServerShared>,
}

impl Server {
    /// Binds a server to `addr` (`"IP:PORT"`; port 0 lets the system
    /// choose). Nothing is served until the returned builder is started.
    ///
    /// ```
    /// use frameloop::{Error, Server};
    ///
    /// let first = Server::bind("127.0.0.1:0")?.start_polling()?;
    /// match Server::bind(first.local_addr()) {
    ///     Err(Error::AddrInUse { .. }) => println!("port taken: pick another"),
    ///     Err(Error::InvalidAddress { .. }) => println!("check the IP and port"),
    ///     other => panic!("expected AddrInUse, got {other:?}"),
    /// }
    /// # Ok::<(), frameloop::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// At once: [`Error::AddrInUse`] (pyspeak's `ServerExistsError`),
    /// [`Error::InvalidAddress`] (`ServerIpError`: malformed, or the host
    /// cannot be resolved), [`Error::AddrNotAvailable`] (not an address of
    /// this machine), [`Error::PrivilegedPort`] (a port below the first
    /// unprivileged one, 1024 by default, without root), [`Error::Io`].
    pub fn bind<A: ToAddrs>(addr: A) -> Result<ServerBuilder, Error> {
        let addr = first_addr(&addr)?;
        // A backlog of 1024 (std's and mio's are 128): clients that wait
        // while accepting is paused, or arrive in a storm, need the room.
        let options = reactor::BindOptions { backlog: reactor::DEFAULT_BACKLOG, shared: false, unix_mode: None };
        let listener = reactor::bind(&addr, options)?;
        let local_addr = listener.local_addr()?;
        Ok(ServerBuilder { listener, local_addr, settings: Settings::default(), refusal: None, threads: 1, tls: None })
    }

    /// Sends `data` to `client` as one message (with packets: as a
    /// packet's text).
    ///
    /// ```
    /// use std::time::Duration;
    /// use frameloop::{Client, Event, Server};
    ///
    /// let server = Server::bind("127.0.0.1:0")?.start_polling()?;
    /// let client = Client::connect(server.local_addr())?;
    /// if let Some(Event::Connected { client: id, .. }) = server.wait_event(Duration::from_secs(5)) {
    ///     server.send(id, "welcome")?;
    /// }
    /// assert_eq!(client.recv_timeout(Duration::from_secs(5))?, b"welcome");
    /// # Ok::<(), frameloop::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Codec`] if `data` does not fit the format (a line with a
    /// newline inside or ending in `\r`), [`Error::FrameTooLarge`] if it is
    /// longer than [`max_frame_len`](ServerBuilder::max_frame_len): refused
    /// here, at once, by the codec's own check;
    /// [`Error::Stopped`] once the server has stopped. The message goes to
    /// the network thread, which keeps the one table of clients: a client
    /// that is not connected when it gets there makes an
    /// [`Error::UnknownConnection`] (or [`Error::ConnectionClosed`], for one
    /// that is closing) in [`errors`](Self::errors) and, on a polling
    /// server, an [`Event::Error`](crate::Event::Error).
    pub fn send(&self, client: ConnId, data: impl AsRef<[u8]>) -> Result<(), Error> {
        self.shared.net_of(client)?.send_to(client, data.as_ref())
    }

    /// Sends one packet to `client` (pyspeak's `send(client, integer, real,
    /// boolean, string)`).
    ///
    /// ```
    /// use std::time::Duration;
    /// use frameloop::{Client, Event, Server};
    ///
    /// let server = Server::bind("127.0.0.1:0")?.packets().start_polling()?;
    /// let client = Client::builder().packets().connect(server.local_addr())?;
    /// if let Some(Event::Connected { client: id, .. }) = server.wait_event(Duration::from_secs(5)) {
    ///     server.send_packet(id, 1, 0.25, true, "your turn")?;
    /// }
    /// let packet = client.recv_packet_timeout(Duration::from_secs(5))?;
    /// assert_eq!((packet.integer, packet.real, packet.text.as_str()), (1, 0.25, "your turn"));
    /// # Ok::<(), frameloop::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Config`] unless the server uses packets; as
    /// [`send`](Self::send).
    pub fn send_packet(&self, client: ConnId, integer: i64, real: f64, boolean: bool, text: &str) -> Result<(), Error> {
        let net = self.shared.net_of(client)?;
        let body = net.format.packet(net.codec, integer, real, boolean, text)?;
        net.commands.send_body(&body, Command::Send(client))
    }

    /// Sends `data` to every connected client.
    ///
    /// ```
    /// use std::time::Duration;
    /// use frameloop::{Client, Server};
    /// # use std::time::Instant;
    ///
    /// let server = Server::bind("127.0.0.1:0")?.start_polling()?;
    /// let (alice, bob) = (Client::connect(server.local_addr())?, Client::connect(server.local_addr())?);
    /// # let start = Instant::now();
    /// # while server.client_count() < 2 {
    /// #     assert!(start.elapsed() < Duration::from_secs(5), "not accepted");
    /// #     std::thread::sleep(Duration::from_millis(1));
    /// # }
    /// server.broadcast("news for everyone")?;
    /// assert_eq!(alice.recv_timeout(Duration::from_secs(5))?, b"news for everyone");
    /// assert_eq!(bob.recv_timeout(Duration::from_secs(5))?, b"news for everyone");
    /// # Ok::<(), frameloop::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Codec`] / [`Error::FrameTooLarge`] if `data` does not fit
    /// the format (as [`send`](Self::send)),
    /// [`Error::Stopped`] once the server has stopped.
    pub fn broadcast(&self, data: impl AsRef<[u8]>) -> Result<(), Error> {
        let body = self.shared.net().body(data.as_ref())?;
        self.shared.to_all(&body, || Command::Broadcast(None))
    }

    /// Sends `data` to every connected client except `except`.
    ///
    /// ```
    /// use std::time::Duration;
    /// use frameloop::{Client, Error, Event, Server};
    /// # use std::time::Instant;
    ///
    /// let server = Server::bind("127.0.0.1:0")?.start_polling()?;
    /// let alice = Client::connect(server.local_addr())?;
    /// let Some(Event::Connected { client: alice_id, .. }) = server.wait_event(Duration::from_secs(5)) else { panic!() };
    /// let bob = Client::connect(server.local_addr())?;
    /// # let start = Instant::now();
    /// # while server.client_count() < 2 {
    /// #     assert!(start.elapsed() < Duration::from_secs(5), "not accepted");
    /// #     std::thread::sleep(Duration::from_millis(1));
    /// # }
    /// server.broadcast_except(alice_id, "alice has news")?;
    /// assert_eq!(bob.recv_timeout(Duration::from_secs(5))?, b"alice has news");
    /// assert!(matches!(alice.recv_timeout(Duration::from_millis(20)), Err(Error::TimedOut)));
    /// # Ok::<(), frameloop::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// As [`broadcast`](Self::broadcast).
    pub fn broadcast_except(&self, except: ConnId, data: impl AsRef<[u8]>) -> Result<(), Error> {
        let body = self.shared.net().body(data.as_ref())?;
        self.shared.to_all(&body, || Command::Broadcast(Some(except)))
    }

    /// Disconnects `client` once what was sent to it is written.
    ///
    /// ```
    /// use std::time::Duration;
    /// use frameloop::{Client, Error, Event, Server};
    ///
    /// let server = Server::bind("127.0.0.1:0")?.start_polling()?;
    /// let client = Client::connect(server.local_addr())?;
    /// if let Some(Event::Connected { client: id, .. }) = server.wait_event(Duration::from_secs(5)) {
    ///     server.disconnect(id)?;
    /// }
    /// assert!(matches!(client.recv_timeout(Duration::from_secs(5)), Err(Error::Disconnected(_))));
    /// # Ok::<(), frameloop::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Stopped`] once the server has stopped. A client not
    /// connected makes an error later, as with [`send`](Self::send).
    pub fn disconnect(&self, client: ConnId) -> Result<(), Error> {
        self.shared.net_of(client)?.commands.send(Command::Close(client))
    }

    /// The connected clients and their addresses (pyspeak's `getClients`),
    /// as the network thread's table has them (this asks it and waits for
    /// the answer; with several [`threads`](ServerBuilder::threads), asks
    /// each and puts the answers together, the first thread's clients
    /// first). Called from a callback, on a network thread itself, it
    /// cannot wait and returns nothing: use
    /// [`ServerCtx::clients`](super::ServerCtx::clients) there.
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use frameloop::{Client, Server};
    /// # let server = Server::bind("127.0.0.1:0")?.start_polling()?;
    /// let client = Client::connect(server.local_addr())?;
    /// # server.wait_event(Duration::from_secs(5)); // until it is accepted
    /// for (id, addr) in server.clients() {
    ///     println!("{id} is connected from {addr}");
    /// }
    /// assert_eq!(server.clients().len(), 1);
    /// # drop(client);
    /// # Ok::<(), frameloop::Error>(())
    /// ```
    pub fn clients(&self) -> Vec<(ConnId, Addr)> {
        // Asked of the network thread, which keeps the one table; never from
        // the network thread itself (a callback has `ServerCtx::clients`).
        if self.shared.nets.iter().any(|net| net.life.is_current()) {
            return Vec::new();
        }
        // Each thread answers, or drops the question as it stops (a refused
        // one is dropped at once): either way, its sender is gone after.
        let answers: Vec<_> = self
            .shared
            .nets
            .iter()
            .map(|net| {
                let (tx, rx) = std::sync::mpsc::sync_channel(1);
                let _ = net.commands.send(Command::Clients(tx));
                net.hurry();
                rx
            })
            .collect();
        answers.into_iter().flat_map(|rx| rx.recv().unwrap_or_default()).collect()
    }

    /// How many clients are connected.
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use frameloop::{Client, Server};
    /// # let server = Server::bind("127.0.0.1:0")?.start_polling()?;
    /// assert_eq!(server.client_count(), 0);
    /// let client = Client::connect(server.local_addr())?;
    /// # server.wait_event(Duration::from_secs(5)); // until it is accepted
    /// assert_eq!(server.client_count(), 1);
    /// # drop(client);
    /// # Ok::<(), frameloop::Error>(())
    /// ```
    pub fn client_count(&self) -> usize {
        self.clients().len()
    }

    /// Leaves new clients waiting in the system's backlog (simplesockets'
    /// `stop`); clients already connected are still served.
    ///
    /// Like every command of the handle, it takes effect on the network
    /// thread, in order with the other commands: a client that connects at
    /// the very moment of the call may still be accepted. From a callback,
    /// [`ServerCtx::pause_accepting`](super::ServerCtx::pause_accepting) takes effect at once.
    ///
    /// ```
    /// use std::time::Duration;
    /// use frameloop::{Client, Event, Server};
    ///
    /// let server = Server::bind("127.0.0.1:0")?.start_polling()?;
    /// # let first = Client::connect(server.local_addr())?;
    /// # let Some(Event::Connected { client: id, .. }) = server.wait_event(Duration::from_secs(5)) else { panic!() };
    /// server.pause_accepting()?;
    /// # // Commands run in order: once this message arrives, the pause is in effect.
    /// # server.send(id, "sync")?;
    /// # assert_eq!(first.recv_timeout(Duration::from_secs(5))?, b"sync");
    /// let waiting = Client::connect(server.local_addr())?; // succeeds: it waits in the backlog
    /// assert!(server.wait_event(Duration::from_millis(20)).is_none()); // not accepted
    /// server.resume_accepting()?;
    /// assert!(matches!(server.wait_event(Duration::from_secs(5)), Some(Event::Connected { .. })));
    /// # drop(waiting);
    /// # Ok::<(), frameloop::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Stopped`] once the server has stopped.
    pub fn pause_accepting(&self) -> Result<(), Error> {
        self.shared.to_all(&[], || Command::PauseAccepting)
    }

    /// Accepts new clients again (simplesockets' `start`).
    ///
    /// ```
    /// use std::time::Duration;
    /// use frameloop::{Client, Event, Server};
    ///
    /// let server = Server::bind("127.0.0.1:0")?.start_polling()?;
    /// server.pause_accepting()?; // e.g. while reloading settings
    /// server.resume_accepting()?;
    /// let client = Client::connect(server.local_addr())?;
    /// assert!(matches!(server.wait_event(Duration::from_secs(5)), Some(Event::Connected { .. })));
    /// # drop(client);
    /// # Ok::<(), frameloop::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Stopped`] once the server has stopped.
    pub fn resume_accepting(&self) -> Result<(), Error> {
        self.shared.to_all(&[], || Command::ResumeAccepting)
    }

    /// Takes the errors seen so far (simplesockets' `return_exceptions`):
    /// errors returned by callbacks, messages that could not be delivered,
    /// a callback's panic.
    ///
    /// ```
    /// # let server = frameloop::Server::bind("127.0.0.1:0")?.start_polling()?;
    /// for error in server.errors() {
    ///     eprintln!("the server met: {error}");
    /// }
    /// # Ok::<(), frameloop::Error>(())
    /// ```
    pub fn errors(&self) -> Vec<Error> {
        self.shared.nets.iter().flat_map(Shared::errors).collect()
    }

    /// The address the server listens on.
    ///
    /// ```
    /// use frameloop::{Client, Server};
    ///
    /// let server = Server::bind("127.0.0.1:0")?.start_polling()?;
    /// let addr = server.local_addr(); // with port 0: the port the system chose
    /// assert_ne!(addr.tcp().unwrap().port(), 0);
    /// let client = Client::connect(addr)?;
    /// # drop(client);
    /// # Ok::<(), frameloop::Error>(())
    /// ```
    pub fn local_addr(&self) -> Addr {
        self.shared.local_addr.clone()
    }

    /// The message format.
    ///
    /// ```
    /// use frameloop::{Format, Server};
    ///
    /// let server = Server::bind("127.0.0.1:0")?.lines().start_polling()?;
    /// assert_eq!(server.format(), Format::Lines);
    /// # Ok::<(), frameloop::Error>(())
    /// ```
    pub fn format(&self) -> Format {
        self.shared.net().format
    }

    /// Whether the network thread still runs (with several
    /// [`threads`](ServerBuilder::threads): any of them).
    ///
    /// ```
    /// let server = frameloop::Server::bind("127.0.0.1:0")?.start_polling()?;
    /// assert!(server.is_running());
    /// server.stop()?;
    /// assert!(!server.is_running());
    /// # Ok::<(), frameloop::Error>(())
    /// ```
    pub fn is_running(&self) -> bool {
        self.shared.nets.iter().any(|net| !net.life.is_finished())
    }

    /// Stops gracefully: no new clients, messages already sent are
    /// written, every client is disconnected, the network thread ends
    /// (this waits for it; with several [`threads`](ServerBuilder::threads),
    /// for all). Calls made after `stop` return
    /// [`Error::Stopped`]. Stopping twice is harmless.
    ///
    /// ```
    /// use frameloop::{Client, Error, Server};
    ///
    /// let server = Server::bind("127.0.0.1:0")?.start_polling()?;
    /// let client = Client::connect(server.local_addr())?;
    /// server.stop()?;
    /// assert!(matches!(server.broadcast("anyone?"), Err(Error::Stopped)));
    /// server.stop()?; // stopping twice is harmless
    /// # drop(client);
    /// # Ok::<(), frameloop::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Panicked`] if a callback panicked (the thread had ended
    /// then), or the poller's own error; with several threads, the first
    /// such error.
    pub fn stop(&self) -> Result<(), Error> {
        self.shared.close_all();
        self.shared.wait()
    }

    /// Waits until the server stops by itself (a callback called
    /// [`ServerCtx::stop`](super::ServerCtx::stop), or a one-request server
    /// answered) or another thread calls [`stop`](Self::stop).
    ///
    /// ```
    /// let server = frameloop::Server::bind("127.0.0.1:0")?.start_polling()?;
    /// std::thread::scope(|s| {
    ///     s.spawn(|| server.stop()); // e.g. an admin command, on another thread
    ///     server.wait() // serves until then
    /// })?;
    /// assert!(!server.is_running());
    /// # Ok::<(), frameloop::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// As [`stop`](Self::stop): with several threads, the first error
    /// that ended one (the others are then stopped too).
    pub fn wait(&self) -> Result<(), Error> {
        self.shared.wait()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.stop();
    }
}

//! [`ServerHandler`]: the callbacks a server runs, and [`ServerCtx`], what
//! they act through.

use crate::addr::Addr;

use super::commands::Command;
use super::server::ServerShared;
use super::{ConnId, Format, Message};
use crate::error::Error;
use crate::handler::CloseReason;
use crate::reactor::Ctx;

/// The callbacks of a server (pyspeak's `accepted` / `received` /
/// `connectionClosed`, simplesockets' `on_connect` / `on_receive` /
/// `on_disconnect`).
///
/// They run on the server's network thread, one at a time, so they need no
/// locks; they should return quickly, because while one runs no other
/// client is served. Only [`on_receive`](Self::on_receive) must be written.
///
/// An error a callback returns (with `?`) is kept in
/// [`Server::errors`](super::Server::errors); the server goes on serving.
///
/// pyspeak's chat box server, which sends every message to every other
/// client:
///
/// ```no_run
/// use frameloop::{ConnId, Error, Message, Server, ServerCtx, ServerHandler};
///
/// struct ChatBox;
///
/// impl ServerHandler for ChatBox {
///     fn on_receive(&mut self, server: &mut ServerCtx<'_>, client: ConnId, msg: Message<'_>) -> Result<(), Error> {
///         server.broadcast_except(client, msg);
///         Ok(())
///     }
/// }
///
/// let server = Server::bind("127.0.0.1:1996")?.packets().start(ChatBox)?;
/// server.wait()?; // serve until stopped
/// # Ok::<(), frameloop::Error>(())
/// ```
pub trait ServerHandler {
    /// A client connected from `addr`.
    ///
    /// ```
    /// use std::time::Duration;
    /// use frameloop::{Addr, Client, ConnId, Error, Message, Server, ServerCtx, ServerHandler};
    ///
    /// /// Greets each client with the address it came from.
    /// struct Greeter;
    /// impl ServerHandler for Greeter {
    ///     fn on_connect(&mut self, server: &mut ServerCtx<'_>, client: ConnId, addr: Addr) -> Result<(), Error> {
    ///         let from = match addr {
    ///             Addr::Tcp(a) => a.ip().to_string(),
    ///             Addr::Unix(_) => "this machine".to_owned(),
    ///         };
    ///         server.send(client, format!("welcome, {from}"))
    ///     }
    ///     fn on_receive(&mut self, _server: &mut ServerCtx<'_>, _client: ConnId, _msg: Message<'_>) -> Result<(), Error> {
    ///         Ok(())
    ///     }
    /// }
    ///
    /// let server = Server::bind("127.0.0.1:0")?.start(Greeter)?;
    /// let client = Client::connect(server.local_addr())?;
    /// assert_eq!(client.recv_timeout(Duration::from_secs(5))?, b"welcome, 127.0.0.1");
    /// client.stop()?;
    /// server.stop()?;
    /// # Ok::<(), frameloop::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// Whatever the callback wants kept in the server's error list.
    fn on_connect(&mut self, server: &mut ServerCtx<'_>, client: ConnId, addr: Addr) -> Result<(), Error> {
        let _ = (server, client, addr);
        Ok(())
    }

    /// A whole message arrived from `client`. `msg` borrows the network
    /// buffer: copy what you keep.
    ///
    /// ```
    /// use std::time::Duration;
    /// use frameloop::{Client, ConnId, Error, Message, Server, ServerCtx, ServerHandler};
    ///
    /// /// Answers each message with its length.
    /// struct Measure;
    /// impl ServerHandler for Measure {
    ///     fn on_receive(&mut self, server: &mut ServerCtx<'_>, client: ConnId, msg: Message<'_>) -> Result<(), Error> {
    ///         server.send(client, msg.len().to_string())
    ///     }
    /// }
    ///
    /// let server = Server::bind("127.0.0.1:0")?.lines().start(Measure)?;
    /// let client = Client::builder().lines().connect(server.local_addr())?;
    /// client.send("hello")?;
    /// assert_eq!(client.recv_timeout(Duration::from_secs(5))?, b"5");
    /// client.stop()?;
    /// server.stop()?;
    /// # Ok::<(), frameloop::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// Whatever the callback wants kept in the server's error list.
    fn on_receive(&mut self, server: &mut ServerCtx<'_>, client: ConnId, msg: Message<'_>) -> Result<(), Error>;

    /// `client` (connected from `addr`) is gone, for `reason`. It is no
    /// longer in [`ServerCtx::clients`], and sends to it fail.
    ///
    /// ```
    /// use std::sync::mpsc;
    /// use std::time::Duration;
    /// use frameloop::{Addr, Client, ConnId, CloseReason, Error, Message, Server, ServerCtx, ServerHandler};
    ///
    /// /// Tells the main thread why each client left, and how many are left.
    /// struct Goodbyes(mpsc::Sender<(CloseReason, usize)>);
    /// impl ServerHandler for Goodbyes {
    ///     fn on_receive(&mut self, _server: &mut ServerCtx<'_>, _client: ConnId, _msg: Message<'_>) -> Result<(), Error> {
    ///         Ok(())
    ///     }
    ///     fn on_disconnect(
    ///         &mut self,
    ///         server: &mut ServerCtx<'_>,
    ///         _client: ConnId,
    ///         _addr: Addr,
    ///         reason: &CloseReason,
    ///     ) -> Result<(), Error> {
    ///         let _ = self.0.send((reason.clone(), server.client_count()));
    ///         Ok(())
    ///     }
    /// }
    ///
    /// let (tx, rx) = mpsc::channel();
    /// let server = Server::bind("127.0.0.1:0")?.start(Goodbyes(tx))?;
    /// let client = Client::connect(server.local_addr())?;
    /// client.stop()?; // hangs up
    /// let goodbye = rx.recv_timeout(Duration::from_secs(5)).expect("a goodbye");
    /// assert_eq!(goodbye, (CloseReason::PeerClosed, 0));
    /// server.stop()?;
    /// # Ok::<(), frameloop::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// Whatever the callback wants kept in the server's error list.
    fn on_disconnect(
        &mut self,
        server: &mut ServerCtx<'_>,
        client: ConnId,
        addr: Addr,
        reason: &CloseReason,
    ) -> Result<(), Error> {
        let _ = (server, client, addr, reason);
        Ok(())
    }
}

/// What a [`ServerHandler`] callback acts through: send to one client, to
/// all, to all but one, list and disconnect clients.
///
/// Every method returns at once: messages are queued and written after the
/// callback, all of one client's messages in one write.
///
/// ```
/// use frameloop::{ConnId, Error, Message, ServerCtx, ServerHandler};
/// # use frameloop::{Client, Server};
///
/// /// Acknowledges each message, and passes it on to everyone else.
/// struct Relay;
/// impl ServerHandler for Relay {
///     fn on_receive(&mut self, server: &mut ServerCtx<'_>, client: ConnId, msg: Message<'_>) -> Result<(), Error> {
///         let others = server.broadcast_except(client, msg);
///         server.send(client, format!("passed on to {others}"))
///     }
/// }
/// # let server = Server::bind("127.0.0.1:0")?.start(Relay)?;
/// # let client = Client::connect(server.local_addr())?;
/// # client.send("hi")?;
/// # assert_eq!(client.recv_timeout(std::time::Duration::from_secs(5))?, b"passed on to 0");
/// # Ok::<(), frameloop::Error>(())
/// ```
#[derive(Debug)]
pub struct ServerCtx<'a> {
    ctx: Ctx<'a>,
    shared: &'a ServerShared,
}

impl<'a> ServerCtx<'a> {
    pub(crate) fn new(ctx: &'a mut Ctx<'_>, shared: &'a ServerShared) -> Self {
        ServerCtx { ctx: Ctx::new(&mut *ctx.core), shared }
    }

    /// Sends `data` to `client` as one message (with packets: as the text
    /// of a packet, like pyspeak's `send(client, string=...)`).
    ///
    /// ```
    /// use frameloop::{Addr, ConnId, Error, Message, ServerCtx, ServerHandler};
    /// # use frameloop::{Client, Server};
    ///
    /// struct Greeter;
    /// impl ServerHandler for Greeter {
    ///     fn on_connect(&mut self, server: &mut ServerCtx<'_>, client: ConnId, _addr: Addr) -> Result<(), Error> {
    ///         server.send(client, "welcome!")
    ///     }
    ///     fn on_receive(&mut self, server: &mut ServerCtx<'_>, client: ConnId, msg: Message<'_>) -> Result<(), Error> {
    ///         server.send(client, msg) // echo
    ///     }
    /// }
    /// # let server = Server::bind("127.0.0.1:0")?.start(Greeter)?;
    /// # let client = Client::connect(server.local_addr())?;
    /// # assert_eq!(client.recv_timeout(std::time::Duration::from_secs(5))?, b"welcome!");
    /// # Ok::<(), frameloop::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::UnknownConnection`] / [`Error::ConnectionClosed`] if the
    /// client is gone; [`Error::Codec`] if `data` does not fit the format (a
    /// line with a newline inside or ending in `\r`, packet text that is not
    /// UTF-8); [`Error::FrameTooLarge`] if it is longer than the server's
    /// `max_frame_len`.
    pub fn send(&mut self, client: ConnId, data: impl AsRef<[u8]>) -> Result<(), Error> {
        let body = self.shared.net().format.body(self.shared.net().codec, data.as_ref())?;
        self.ctx.send(client, &body)
    }

    /// Sends one packet: pyspeak's `send(client, integer, real, boolean,
    /// string)`.
    ///
    /// ```
    /// use frameloop::{ConnId, Error, Message, ServerCtx, ServerHandler};
    /// # use frameloop::{Client, Server};
    ///
    /// /// Tells each newcomer its player number.
    /// struct Lobby;
    /// impl ServerHandler for Lobby {
    ///     fn on_connect(&mut self, server: &mut ServerCtx<'_>, client: ConnId, _: frameloop::Addr) -> Result<(), Error> {
    ///         let players = server.client_count() as i64;
    ///         server.send_packet(client, players, 0.0, true, "welcome")
    ///     }
    ///     fn on_receive(&mut self, _server: &mut ServerCtx<'_>, _client: ConnId, _msg: Message<'_>) -> Result<(), Error> {
    ///         Ok(())
    ///     }
    /// }
    /// # let server = Server::bind("127.0.0.1:0")?.packets().start(Lobby)?;
    /// # let client = Client::builder().packets().connect(server.local_addr())?;
    /// # let packet = client.recv_packet_timeout(std::time::Duration::from_secs(5))?;
    /// # assert_eq!((packet.integer, packet.text.as_str()), (1, "welcome"));
    /// # Ok::<(), frameloop::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Config`] unless the server uses the packets format; as
    /// [`send`](Self::send) otherwise.
    pub fn send_packet(
        &mut self,
        client: ConnId,
        integer: i64,
        real: f64,
        boolean: bool,
        text: &str,
    ) -> Result<(), Error> {
        self.shared.net().format.require_packets()?;
        let packet = crate::codec::packet::PacketRef { integer, real, boolean, text };
        self.ctx.send_packet(client, packet)
    }

    /// Queues `body` for every client but `except`; a body the format
    /// refused reaches nobody.
    fn broadcast_body(&mut self, except: Option<ConnId>, body: Result<impl AsRef<[u8]>, Error>) -> usize {
        body.map_or(0, |body| self.ctx.core.broadcast(&[body.as_ref()], except))
    }

    /// Sends `data` to every connected client; returns how many. Data that
    /// does not fit the format reaches nobody (0). With several
    /// [`threads`](super::ServerBuilder::threads) it reaches every thread's
    /// clients, and the count is this thread's (the others' are known only
    /// on their threads).
    ///
    /// ```
    /// use frameloop::{ConnId, Error, Message, ServerCtx, ServerHandler};
    /// # use frameloop::{Client, Server};
    ///
    /// /// Sends every message to every client, the sender too.
    /// struct Loudspeaker;
    /// impl ServerHandler for Loudspeaker {
    ///     fn on_receive(&mut self, server: &mut ServerCtx<'_>, _client: ConnId, msg: Message<'_>) -> Result<(), Error> {
    ///         let reached = server.broadcast(msg);
    ///         println!("heard by {reached} clients");
    ///         Ok(())
    ///     }
    /// }
    /// # let server = Server::bind("127.0.0.1:0")?.start(Loudspeaker)?;
    /// # let client = Client::connect(server.local_addr())?;
    /// # client.send("hi all")?;
    /// # assert_eq!(client.recv_timeout(std::time::Duration::from_secs(5))?, b"hi all");
    /// # Ok::<(), frameloop::Error>(())
    /// ```
    pub fn broadcast(&mut self, data: impl AsRef<[u8]>) -> usize {
        let body = self.shared.net().format.body(self.shared.net().codec, data.as_ref());
        self.broadcast_body(None, body)
    }

    /// Sends `data` to every connected client except `except` (usually the
    /// sender); returns how many.
    ///
    /// ```
    /// use frameloop::{Client, ConnId, Error, Message, Server, ServerCtx, ServerHandler};
    /// # use std::time::{Duration, Instant};
    ///
    /// struct ChatBox;
    /// impl ServerHandler for ChatBox {
    ///     fn on_receive(&mut self, server: &mut ServerCtx<'_>, client: ConnId, msg: Message<'_>) -> Result<(), Error> {
    ///         server.broadcast_except(client, msg); // everyone but the sender
    ///         Ok(())
    ///     }
    /// }
    /// let server = Server::bind("127.0.0.1:0")?.start(ChatBox)?;
    /// let (alice, bob) = (Client::connect(server.local_addr())?, Client::connect(server.local_addr())?);
    /// # let start = Instant::now();
    /// # while server.client_count() < 2 {
    /// #     assert!(start.elapsed() < Duration::from_secs(5), "not accepted");
    /// #     std::thread::sleep(Duration::from_millis(1));
    /// # }
    /// alice.send("hi bob")?;
    /// assert_eq!(bob.recv_timeout(Duration::from_secs(5))?, b"hi bob");
    /// # Ok::<(), frameloop::Error>(())
    /// ```
    pub fn broadcast_except(&mut self, except: ConnId, data: impl AsRef<[u8]>) -> usize {
        let body = self.shared.net().format.body(self.shared.net().codec, data.as_ref());
        self.broadcast_body(Some(except), body)
    }

    /// Sends one packet to every client except `except` (use
    /// [`broadcast_packet`](Self::broadcast_packet) for all); returns how
    /// many. With another format it reaches nobody.
    ///
    /// ```
    /// use frameloop::{ConnId, Error, Message, ServerCtx, ServerHandler};
    /// # use std::time::{Duration, Instant};
    /// # use frameloop::{Client, Server};
    ///
    /// /// Passes each player's move on to the other players.
    /// struct Moves;
    /// impl ServerHandler for Moves {
    ///     fn on_receive(&mut self, server: &mut ServerCtx<'_>, client: ConnId, msg: Message<'_>) -> Result<(), Error> {
    ///         if let Some(p) = msg.packet() {
    ///             server.broadcast_packet_except(client, p.integer, p.real, p.boolean, p.text);
    ///         }
    ///         Ok(())
    ///     }
    /// }
    /// # let server = Server::bind("127.0.0.1:0")?.packets().start(Moves)?;
    /// # let alice = Client::builder().packets().connect(server.local_addr())?;
    /// # let bob = Client::builder().packets().connect(server.local_addr())?;
    /// # let start = Instant::now();
    /// # while server.client_count() < 2 {
    /// #     assert!(start.elapsed() < Duration::from_secs(5), "not accepted");
    /// #     std::thread::sleep(Duration::from_millis(1));
    /// # }
    /// # alice.send_packet(3, 0.5, true, "e2e4")?;
    /// # assert_eq!(bob.recv_packet_timeout(Duration::from_secs(5))?.text, "e2e4");
    /// # Ok::<(), frameloop::Error>(())
    /// ```
    pub fn broadcast_packet_except(
        &mut self,
        except: ConnId,
        integer: i64,
        real: f64,
        boolean: bool,
        text: &str,
    ) -> usize {
        let body = self.shared.net().format.packet(self.shared.net().codec, integer, real, boolean, text);
        self.broadcast_body(Some(except), body)
    }

    /// Sends one packet to every client; returns how many.
    ///
    /// ```
    /// use frameloop::{ConnId, Error, Message, ServerCtx, ServerHandler};
    /// # use frameloop::{Client, Server};
    ///
    /// /// Tells everyone how many players there are now.
    /// struct Lobby;
    /// impl ServerHandler for Lobby {
    ///     fn on_connect(&mut self, server: &mut ServerCtx<'_>, _: ConnId, _: frameloop::Addr) -> Result<(), Error> {
    ///         server.broadcast_packet(server.client_count() as i64, 0.0, true, "players");
    ///         Ok(())
    ///     }
    ///     fn on_receive(&mut self, _server: &mut ServerCtx<'_>, _client: ConnId, _msg: Message<'_>) -> Result<(), Error> {
    ///         Ok(())
    ///     }
    /// }
    /// # let server = Server::bind("127.0.0.1:0")?.packets().start(Lobby)?;
    /// # let client = Client::builder().packets().connect(server.local_addr())?;
    /// # let packet = client.recv_packet_timeout(std::time::Duration::from_secs(5))?;
    /// # assert_eq!((packet.integer, packet.text.as_str()), (1, "players"));
    /// # Ok::<(), frameloop::Error>(())
    /// ```
    pub fn broadcast_packet(&mut self, integer: i64, real: f64, boolean: bool, text: &str) -> usize {
        let body = self.shared.net().format.packet(self.shared.net().codec, integer, real, boolean, text);
        self.broadcast_body(None, body)
    }

    /// The connected clients and their addresses, oldest id first
    /// (pyspeak's `getClients`).
    ///
    /// With several [`threads`](super::ServerBuilder::threads): only the
    /// clients this thread serves. The others' tables belong to their
    /// threads, and a callback must never wait for another thread (that
    /// one may be waiting for it). A handler that needs every client keeps
    /// its own list, shared by the threads (see the chat room example),
    /// or sends to all with [`broadcast`](Self::broadcast).
    ///
    /// ```
    /// use frameloop::{ConnId, Error, Message, ServerCtx, ServerHandler};
    ///
    /// /// pyspeak's chat box, written as pyspeak wrote it.
    /// struct ChatBox;
    /// impl ServerHandler for ChatBox {
    ///     fn on_receive(&mut self, server: &mut ServerCtx<'_>, client: ConnId, msg: Message<'_>) -> Result<(), Error> {
    ///         for (other, _addr) in server.clients() {
    ///             if other != client {
    ///                 server.send(other, msg)?;
    ///             }
    ///         }
    ///         Ok(())
    ///     }
    /// }
    /// # let _ = ChatBox;
    /// ```
    pub fn clients(&self) -> Vec<(ConnId, Addr)> {
        self.ctx.connections().filter_map(|c| Some((c, self.ctx.peer_addr(c).ok()?))).collect()
    }

    /// How many clients are connected (with several
    /// [`threads`](super::ServerBuilder::threads): to this thread, as
    /// [`clients`](Self::clients)).
    ///
    /// ```
    /// use frameloop::{Addr, ConnId, Error, Message, ServerCtx, ServerHandler};
    /// # use frameloop::{Client, Server};
    ///
    /// struct Census;
    /// impl ServerHandler for Census {
    ///     fn on_connect(&mut self, server: &mut ServerCtx<'_>, client: ConnId, _addr: Addr) -> Result<(), Error> {
    ///         let online = server.client_count(); // this client included
    ///         server.send(client, format!("{online} online"))
    ///     }
    ///     fn on_receive(&mut self, _server: &mut ServerCtx<'_>, _client: ConnId, _msg: Message<'_>) -> Result<(), Error> {
    ///         Ok(())
    ///     }
    /// }
    /// # let server = Server::bind("127.0.0.1:0")?.start(Census)?;
    /// # let client = Client::connect(server.local_addr())?;
    /// # assert_eq!(client.recv_timeout(std::time::Duration::from_secs(5))?, b"1 online");
    /// # Ok::<(), frameloop::Error>(())
    /// ```
    pub fn client_count(&self) -> usize {
        self.ctx.connection_count()
    }

    /// The address of `client`, if it is connected.
    ///
    /// ```
    /// use frameloop::{ConnId, Error, Message, ServerCtx, ServerHandler};
    /// # use frameloop::{Client, Server};
    ///
    /// struct WhoAmI;
    /// impl ServerHandler for WhoAmI {
    ///     fn on_receive(&mut self, server: &mut ServerCtx<'_>, client: ConnId, _msg: Message<'_>) -> Result<(), Error> {
    ///         let addr = server.addr(client).map_or("?".to_owned(), |a| a.to_string());
    ///         server.send(client, format!("you are {addr}"))
    ///     }
    /// }
    /// # let server = Server::bind("127.0.0.1:0")?.start(WhoAmI)?;
    /// # let client = Client::connect(server.local_addr())?;
    /// # client.send("who am I?")?;
    /// # assert!(client.recv_timeout(std::time::Duration::from_secs(5))?.starts_with(b"you are 127.0.0.1:"));
    /// # Ok::<(), frameloop::Error>(())
    /// ```
    pub fn addr(&self, client: ConnId) -> Option<Addr> {
        self.ctx.peer_addr(client).ok()
    }

    /// Closes `client`'s connection once what was sent to it is written;
    /// its [`on_disconnect`](ServerHandler::on_disconnect) follows.
    ///
    /// ```
    /// use frameloop::{ConnId, Error, Message, ServerCtx, ServerHandler};
    /// # use std::time::Duration;
    /// # use frameloop::{Client, Server};
    ///
    /// struct Doorman;
    /// impl ServerHandler for Doorman {
    ///     fn on_receive(&mut self, server: &mut ServerCtx<'_>, client: ConnId, msg: Message<'_>) -> Result<(), Error> {
    ///         if msg.bytes() == b"quit" {
    ///             server.send(client, "bye")?; // written before the connection closes
    ///             return server.disconnect(client);
    ///         }
    ///         server.send(client, msg)
    ///     }
    /// }
    /// # let server = Server::bind("127.0.0.1:0")?.start(Doorman)?;
    /// # let client = Client::connect(server.local_addr())?;
    /// # client.send("quit")?;
    /// # assert_eq!(client.recv_timeout(Duration::from_secs(5))?, b"bye");
    /// # assert!(matches!(client.recv_timeout(Duration::from_secs(5)), Err(Error::Disconnected(_))));
    /// # Ok::<(), frameloop::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::UnknownConnection`] / [`Error::ConnectionClosed`] if it is
    /// already gone.
    pub fn disconnect(&mut self, client: ConnId) -> Result<(), Error> {
        self.ctx.close(client)
    }

    /// New clients wait (in the system's backlog) until
    /// [`resume_accepting`](Self::resume_accepting). With several
    /// [`threads`](super::ServerBuilder::threads), the first thread accepts
    /// for all: from another thread's callback the pause reaches it when
    /// it next wakes, so a client or two may still come in meanwhile.
    ///
    /// ```
    /// use frameloop::{ConnId, Error, Message, ServerCtx, ServerHandler};
    /// # use std::time::{Duration, Instant};
    /// # use frameloop::{Client, Server};
    ///
    /// struct Doors;
    /// impl ServerHandler for Doors {
    ///     fn on_receive(&mut self, server: &mut ServerCtx<'_>, _client: ConnId, msg: Message<'_>) -> Result<(), Error> {
    ///         match msg.bytes() {
    ///             b"close" => server.pause_accepting(), // newcomers wait in the backlog
    ///             b"open" => server.resume_accepting(),
    ///             _ => {}
    ///         }
    ///         Ok(())
    ///     }
    /// }
    /// # let server = Server::bind("127.0.0.1:0")?.start(Doors)?;
    /// # let operator = Client::connect(server.local_addr())?;
    /// # operator.send("close")?;
    /// # operator.send("open")?;
    /// # let newcomer = Client::connect(server.local_addr())?;
    /// # let start = Instant::now();
    /// # while server.client_count() < 2 {
    /// #     assert!(start.elapsed() < Duration::from_secs(5), "not accepted");
    /// #     std::thread::sleep(Duration::from_millis(1));
    /// # }
    /// # drop(newcomer);
    /// # Ok::<(), frameloop::Error>(())
    /// ```
    pub fn pause_accepting(&mut self) {
        self.ctx.pause_accept();
        self.shared.to_others(self.ctx.core.reactor(), || Command::PauseAccepting);
    }

    /// Accepts new clients again.
    ///
    /// ```
    /// use frameloop::{ConnId, Error, Message, ServerCtx, ServerHandler};
    /// # use frameloop::{Client, Server};
    ///
    /// /// Lets newcomers in again when an operator's client says so.
    /// struct Gate;
    /// impl ServerHandler for Gate {
    ///     fn on_receive(&mut self, server: &mut ServerCtx<'_>, client: ConnId, msg: Message<'_>) -> Result<(), Error> {
    ///         if msg.bytes() == b"open" {
    ///             server.resume_accepting();
    ///         }
    ///         server.send(client, "ok")
    ///     }
    /// }
    /// # let server = Server::bind("127.0.0.1:0")?.start(Gate)?;
    /// # let operator = Client::connect(server.local_addr())?;
    /// # operator.send("open")?;
    /// # assert_eq!(operator.recv_timeout(std::time::Duration::from_secs(5))?, b"ok");
    /// # Ok::<(), frameloop::Error>(())
    /// ```
    pub fn resume_accepting(&mut self) {
        self.ctx.resume_accept();
        self.shared.to_others(self.ctx.core.reactor(), || Command::ResumeAccepting);
    }

    /// Stops the server gracefully once this callback returns: what was
    /// sent is written, every client is disconnected, the network thread
    /// ends.
    ///
    /// ```
    /// use frameloop::{ConnId, Error, Message, Server, ServerCtx, ServerHandler};
    /// # use std::time::{Duration, Instant};
    /// # use frameloop::Client;
    ///
    /// struct Stoppable;
    /// impl ServerHandler for Stoppable {
    ///     fn on_receive(&mut self, server: &mut ServerCtx<'_>, _client: ConnId, msg: Message<'_>) -> Result<(), Error> {
    ///         if msg.bytes() == b"shutdown" {
    ///             server.stop();
    ///         }
    ///         Ok(())
    ///     }
    /// }
    /// let server = Server::bind("127.0.0.1:0")?.start(Stoppable)?;
    /// # let client = Client::connect(server.local_addr())?;
    /// # client.send("shutdown")?;
    /// # let start = Instant::now();
    /// # while server.is_running() {
    /// #     assert!(start.elapsed() < Duration::from_secs(5), "still running");
    /// #     std::thread::sleep(Duration::from_millis(1));
    /// # }
    /// server.wait()?; // returns once a client has sent "shutdown"
    /// # Ok::<(), frameloop::Error>(())
    /// ```
    pub fn stop(&mut self) {
        self.ctx.stop();
    }

    /// The address the server listens on.
    ///
    /// ```
    /// use frameloop::{Addr, ConnId, Error, Message, ServerCtx, ServerHandler};
    /// # use frameloop::{Client, Server};
    ///
    /// struct Welcome;
    /// impl ServerHandler for Welcome {
    ///     fn on_connect(&mut self, server: &mut ServerCtx<'_>, client: ConnId, _addr: Addr) -> Result<(), Error> {
    ///         let here = server.local_addr();
    ///         server.send(client, format!("welcome to {here}"))
    ///     }
    ///     fn on_receive(&mut self, _server: &mut ServerCtx<'_>, _client: ConnId, _msg: Message<'_>) -> Result<(), Error> {
    ///         Ok(())
    ///     }
    /// }
    /// # let server = Server::bind("127.0.0.1:0")?.start(Welcome)?;
    /// # let client = Client::connect(server.local_addr())?;
    /// # let expected = format!("welcome to {}", server.local_addr());
    /// # assert_eq!(client.recv_timeout(std::time::Duration::from_secs(5))?, expected.as_bytes());
    /// # Ok::<(), frameloop::Error>(())
    /// ```
    pub fn local_addr(&self) -> Addr {
        self.shared.local_addr.clone()
    }

    /// The message format.
    ///
    /// ```
    /// use frameloop::{ConnId, Error, Format, Message, ServerCtx, ServerHandler};
    /// # use frameloop::{Client, Server};
    ///
    /// /// Says "ok" in whatever format the server was started with.
    /// struct SayOk;
    /// impl ServerHandler for SayOk {
    ///     fn on_receive(&mut self, server: &mut ServerCtx<'_>, client: ConnId, _msg: Message<'_>) -> Result<(), Error> {
    ///         match server.format() {
    ///             Format::Packets => server.send_packet(client, 1, 0.0, true, "ok"),
    ///             _ => server.send(client, "ok"),
    ///         }
    ///     }
    /// }
    /// # let server = Server::bind("127.0.0.1:0")?.packets().start(SayOk)?;
    /// # let client = Client::builder().packets().connect(server.local_addr())?;
    /// # client.send("hi")?;
    /// # assert_eq!(client.recv_packet_timeout(std::time::Duration::from_secs(5))?.integer, 1);
    /// # Ok::<(), frameloop::Error>(())
    /// ```
    pub fn format(&self) -> Format {
        self.shared.net().format
    }

    /// The engine's own context, for what the facade does not offer
    /// (timers, queued-byte counts, statistics).
    ///
    /// ```
    /// use frameloop::{ConnId, Error, Message, ServerCtx, ServerHandler};
    /// # use frameloop::{Client, Server};
    ///
    /// struct Ticket;
    /// impl ServerHandler for Ticket {
    ///     fn on_receive(&mut self, server: &mut ServerCtx<'_>, client: ConnId, _msg: Message<'_>) -> Result<(), Error> {
    ///         let accepted = server.engine().stats().accepted;
    ///         server.send(client, format!("you were client number {accepted}"))
    ///     }
    /// }
    /// # let server = Server::bind("127.0.0.1:0")?.start(Ticket)?;
    /// # let client = Client::connect(server.local_addr())?;
    /// # client.send("hi")?;
    /// # assert_eq!(client.recv_timeout(std::time::Duration::from_secs(5))?, b"you were client number 1");
    /// # Ok::<(), frameloop::Error>(())
    /// ```
    pub fn engine(&mut self) -> &mut Ctx<'a> {
        &mut self.ctx
    }
}

//! [`Message`]: one received message, as the facade's callbacks see it.

use std::borrow::Cow;

use super::packet::PacketRef;

/// One message a callback receives, borrowed from the network buffer: copy
/// what you want to keep (`to_vec`, `text().into_owned()`).
///
/// - With frames or lines, [`bytes`](Self::bytes) is the message.
/// - With packets, [`packet`](Self::packet) holds the four values and
///   [`bytes`](Self::bytes) / [`text`](Self::text) are the packet's text, so
///   that code written for text works in every format.
///
/// ```
/// use frameloop::{ConnId, Error, Message, ServerCtx, ServerHandler};
///
/// struct Shout;
/// impl ServerHandler for Shout {
///     fn on_receive(&mut self, server: &mut ServerCtx<'_>, client: ConnId, msg: Message<'_>) -> Result<(), Error> {
///         server.send(client, msg.text().to_uppercase())
///     }
/// }
/// # let _ = Shout;
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Message<'a> {
    bytes: &'a [u8],
    packet: Option<PacketRef<'a>>,
}

impl<'a> Message<'a> {
    pub(crate) fn from_bytes(bytes: &'a [u8]) -> Self {
        Message { bytes, packet: None }
    }

    pub(crate) fn from_packet(packet: PacketRef<'a>) -> Self {
        Message { bytes: packet.text.as_bytes(), packet: Some(packet) }
    }

    /// The message's bytes (with packets: the text's bytes).
    ///
    /// ```
    /// use frameloop::{ConnId, Error, Message, ServerCtx, ServerHandler};
    /// # use frameloop::{Client, Server};
    ///
    /// struct Commands;
    /// impl ServerHandler for Commands {
    ///     fn on_receive(&mut self, server: &mut ServerCtx<'_>, client: ConnId, msg: Message<'_>) -> Result<(), Error> {
    ///         match msg.bytes() {
    ///             b"ping" => server.send(client, "pong"),
    ///             b"quit" => server.disconnect(client),
    ///             other => server.send(client, format!("unknown command ({} bytes)", other.len())),
    ///         }
    ///     }
    /// }
    /// # let server = Server::bind("127.0.0.1:0")?.start(Commands)?;
    /// # let client = Client::connect(server.local_addr())?;
    /// # client.send("ping")?;
    /// # assert_eq!(client.recv_timeout(std::time::Duration::from_secs(5))?, b"pong");
    /// # Ok::<(), frameloop::Error>(())
    /// ```
    pub fn bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// The message as text; bytes that are not UTF-8 show as `�`.
    ///
    /// ```
    /// use frameloop::{ConnId, Error, Message, ServerCtx, ServerHandler};
    /// # use frameloop::{Client, Server};
    ///
    /// struct Greet;
    /// impl ServerHandler for Greet {
    ///     fn on_receive(&mut self, server: &mut ServerCtx<'_>, client: ConnId, msg: Message<'_>) -> Result<(), Error> {
    ///         let name = msg.text(); // borrowed when the bytes are UTF-8, as they usually are
    ///         server.send(client, format!("hello, {}!", name.trim()))
    ///     }
    /// }
    /// # let server = Server::bind("127.0.0.1:0")?.start(Greet)?;
    /// # let client = Client::connect(server.local_addr())?;
    /// # client.send(" bob ")?;
    /// # assert_eq!(client.recv_timeout(std::time::Duration::from_secs(5))?, b"hello, bob!");
    /// # Ok::<(), frameloop::Error>(())
    /// ```
    pub fn text(&self) -> Cow<'a, str> {
        String::from_utf8_lossy(self.bytes)
    }

    /// The packet, when the server or client uses the packets format.
    ///
    /// ```
    /// use frameloop::{ConnId, Error, Message, ServerCtx, ServerHandler};
    /// # use frameloop::{Client, Server};
    ///
    /// /// Doubles the integer of every packet.
    /// struct Double;
    /// impl ServerHandler for Double {
    ///     fn on_receive(&mut self, server: &mut ServerCtx<'_>, client: ConnId, msg: Message<'_>) -> Result<(), Error> {
    ///         match msg.packet() {
    ///             Some(p) => server.send_packet(client, p.integer * 2, p.real, p.boolean, p.text),
    ///             None => Ok(()), // not the packets format
    ///         }
    ///     }
    /// }
    /// # let server = Server::bind("127.0.0.1:0")?.packets().start(Double)?;
    /// # let client = Client::builder().packets().connect(server.local_addr())?;
    /// # client.send_packet(21, 0.5, true, "x")?;
    /// # assert_eq!(client.recv_packet_timeout(std::time::Duration::from_secs(5))?.integer, 42);
    /// # Ok::<(), frameloop::Error>(())
    /// ```
    pub fn packet(&self) -> Option<PacketRef<'a>> {
        self.packet
    }

    /// A copy of the bytes, to keep after the callback returns.
    ///
    /// ```
    /// use frameloop::{ConnId, Error, Message, ServerCtx, ServerHandler};
    /// # use frameloop::{Client, Server};
    ///
    /// #[derive(Default)]
    /// struct Log {
    ///     kept: Vec<Vec<u8>>,
    /// }
    /// impl ServerHandler for Log {
    ///     fn on_receive(&mut self, server: &mut ServerCtx<'_>, client: ConnId, msg: Message<'_>) -> Result<(), Error> {
    ///         self.kept.push(msg.to_vec()); // `msg` itself cannot outlive the callback
    ///         server.send(client, format!("{} kept", self.kept.len()))
    ///     }
    /// }
    /// # let server = Server::bind("127.0.0.1:0")?.start(Log::default())?;
    /// # let client = Client::connect(server.local_addr())?;
    /// # client.send("a")?;
    /// # assert_eq!(client.recv_timeout(std::time::Duration::from_secs(5))?, b"1 kept");
    /// # Ok::<(), frameloop::Error>(())
    /// ```
    pub fn to_vec(&self) -> Vec<u8> {
        self.bytes.to_vec()
    }

    /// Length in bytes.
    ///
    /// ```
    /// use frameloop::{ConnId, Error, Message, ServerCtx, ServerHandler};
    /// # use frameloop::{Client, Server};
    ///
    /// struct Length;
    /// impl ServerHandler for Length {
    ///     fn on_receive(&mut self, server: &mut ServerCtx<'_>, client: ConnId, msg: Message<'_>) -> Result<(), Error> {
    ///         server.send(client, msg.len().to_string())
    ///     }
    /// }
    /// # let server = Server::bind("127.0.0.1:0")?.start(Length)?;
    /// # let client = Client::connect(server.local_addr())?;
    /// # client.send("four")?;
    /// # assert_eq!(client.recv_timeout(std::time::Duration::from_secs(5))?, b"4");
    /// # Ok::<(), frameloop::Error>(())
    /// ```
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    /// Whether the message is empty (an empty line, an empty frame).
    ///
    /// ```
    /// use frameloop::{ConnId, Error, Message, ServerCtx, ServerHandler};
    /// # use frameloop::{Client, Server};
    ///
    /// /// Echoes lines, skipping blank ones.
    /// struct Echo;
    /// impl ServerHandler for Echo {
    ///     fn on_receive(&mut self, server: &mut ServerCtx<'_>, client: ConnId, msg: Message<'_>) -> Result<(), Error> {
    ///         if msg.is_empty() {
    ///             return Ok(());
    ///         }
    ///         server.send(client, msg)
    ///     }
    /// }
    /// # let server = Server::bind("127.0.0.1:0")?.lines().start(Echo)?;
    /// # let client = Client::builder().lines().connect(server.local_addr())?;
    /// # client.send("")?;
    /// # client.send("hi")?;
    /// # assert_eq!(client.recv_timeout(std::time::Duration::from_secs(5))?, b"hi");
    /// # Ok::<(), frameloop::Error>(())
    /// ```
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }
}

impl AsRef<[u8]> for Message<'_> {
    fn as_ref(&self) -> &[u8] {
        self.bytes
    }
}

//! [`Message`]: one received message, as the facade's callbacks see it.

use std::borrow::Cow;

use crate::codec::packet::PacketRef;

/// One message a callback receives, borrowed from the network buffer: copy
/// what you want to keep (`to_vec`, `text().into_owned()`).
///
/// - With frames or lines, [`bytes`](Self::bytes) is the message.
/// - With packets, [`packet`](Self::packet) holds the four values and
///   [`bytes`](Self::bytes) / [`text`](Self::text) are the packet's text, so
///   that code written for text works in every format.
///
/// ```
/// use frameloop::{ClientId, Error, Message, ServerCtx, ServerHandler};
///
/// struct Shout;
/// impl ServerHandler for Shout {
///     fn on_receive(&mut self, server: &mut ServerCtx<'_>, client: ClientId, msg: Message<'_>) -> Result<(), Error> {
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
    pub fn bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// The message as text; bytes that are not UTF-8 show as `�`.
    pub fn text(&self) -> Cow<'a, str> {
        String::from_utf8_lossy(self.bytes)
    }

    /// The packet, when the server or client uses the packets format.
    pub fn packet(&self) -> Option<PacketRef<'a>> {
        self.packet
    }

    /// A copy of the bytes, to keep after the callback returns.
    pub fn to_vec(&self) -> Vec<u8> {
        self.bytes.to_vec()
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    /// Whether the message is empty (an empty line, an empty frame).
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }
}

impl AsRef<[u8]> for Message<'_> {
    fn as_ref(&self) -> &[u8] {
        self.bytes
    }
}

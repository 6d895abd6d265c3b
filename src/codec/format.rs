//! [`Format`]: how messages travel, named the same on a server, a client
//! and the engine, and the one place that turns what a beginner passes to
//! `send` into the bytes of one message.

use std::borrow::Cow;

use super::packet::PacketRef;
use super::{Codec, DecodeError, Message};
use crate::error::Error;

/// How messages are cut out of the byte stream and carried: the same on a
/// server and on the clients that talk to it.
///
/// ```
/// use frameloop::{Format, Server};
///
/// let server = Server::bind("127.0.0.1:0")?.format(Format::Lines).start_polling()?;
/// # drop(server);
/// # Ok::<(), frameloop::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    /// Length-prefixed frames: any bytes, any length up to the maximum,
    /// never merged or split. The default.
    #[default]
    Frames,
    /// Text lines ending in `\n` (a `\r` before it is dropped): what `nc`,
    /// `telnet` and `socat` speak. A message must not contain `\n` nor end
    /// in `\r` (the peer would take it for a `\r\n` ending and drop it);
    /// one trailing `\n` given to `send` is dropped rather than refused.
    Lines,
    /// pyspeak's packets: an integer, a real number, a boolean and a text,
    /// carried in one frame (see [`codec::packet`](crate::codec::packet)).
    /// Plain bytes given to `send` travel as the text of a packet whose
    /// other values are 0, 0.0 and false, like pyspeak's
    /// `send(client, string=...)`.
    Packets,
    /// Raw bytes, no framing: what a plain socket program speaks
    /// (`sock.sendall(b"...")` and `sock.recv(2048)`, as simplesockets and
    /// tcp-client-serv do). Each message received is a chunk of the bytes
    /// as they arrived, at most 64 KiB (or the `max_frame_len` set); `send`
    /// sends its bytes as they are. TCP keeps no message boundaries, so one
    /// `send` may arrive as several chunks, and several as one.
    ///
    /// ```
    /// use frameloop::{Format, Server};
    ///
    /// let server = Server::bind("127.0.0.1:0")?.format(Format::Raw).start_polling()?;
    /// assert_eq!(server.format(), Format::Raw);
    /// # Ok::<(), frameloop::Error>(())
    /// ```
    Raw,
}

impl Format {
    /// The message a received frame carries in this format, or why it is
    /// not one (a packet that does not parse): the connection that sent it
    /// is then rejected with that reason.
    pub(crate) fn message(self, frame: &[u8]) -> Result<Message<'_>, &'static str> {
        if self != Format::Packets {
            return Ok(Message::from_bytes(frame));
        }
        match PacketRef::parse(frame) {
            Ok(packet) => Ok(Message::from_packet(packet)),
            Err(DecodeError::Malformed(why)) => Err(why),
            Err(_) => Err("not a packet"),
        }
    }

    /// The message body `ctx.send` takes for `data`: unchanged for frames
    /// and raw bytes,
    /// without one trailing `\n` for lines, wrapped in a packet for packets.
    ///
    /// Checked here, on the caller's thread, so that a message that cannot
    /// be sent is refused at once with a clear error rather than later in
    /// `errors()`. The check is `codec`'s own
    /// ([`Codec::check_outgoing`], which the encoder also runs): the
    /// facade keeps no rule of its own that could drift from the codec's.
    #[inline]
    pub(crate) fn body(self, codec: Codec, data: &[u8]) -> Result<Cow<'_, [u8]>, Error> {
        let body = match self {
            Format::Frames | Format::Raw => Cow::Borrowed(data),
            // Dropping one trailing `\n` is a convenience (`send("hi\n")`),
            // not a rule: what is left is checked like any line.
            Format::Lines => Cow::Borrowed(data.strip_suffix(b"\n").unwrap_or(data)),
            Format::Packets => {
                let text = std::str::from_utf8(data).map_err(|_| {
                    Error::Codec(DecodeError::Malformed("the text of a packet must be UTF-8: send a String or &str"))
                })?;
                Cow::Owned(packet_body(0, 0.0, false, text))
            }
        };
        codec.check_outgoing(&[&body])?;
        Ok(body)
    }

    /// The bytes `send(data)` puts on the wire in this format with `codec`:
    /// the body, framed.
    pub(crate) fn wire(self, codec: Codec, data: &[u8]) -> Result<Vec<u8>, Error> {
        let mut wire = Vec::new();
        codec.encode_parts(&[&self.body(codec, data)?], &mut wire)?;
        Ok(wire)
    }

    /// The body of a packet message, after checking that this format
    /// carries packets and that `codec` can send it (see [`body`](Self::body)).
    pub(crate) fn packet(
        self,
        codec: Codec,
        integer: i64,
        real: f64,
        boolean: bool,
        text: &str,
    ) -> Result<Vec<u8>, Error> {
        self.require_packets()?;
        let body = packet_body(integer, real, boolean, text);
        codec.check_outgoing(&[&body])?;
        Ok(body)
    }

    /// The check every packet call makes first: packets need the packets
    /// format.
    pub(crate) fn require_packets(self) -> Result<(), Error> {
        if self == Format::Packets {
            Ok(())
        } else {
            Err(not_packets())
        }
    }
}

/// The error for packet calls on a frames or lines connection.
pub(crate) fn not_packets() -> Error {
    Error::Config("packets need the packets format: call .packets() on the server or client builder".into())
}

/// The payload of one packet frame.
pub(crate) fn packet_body(integer: i64, real: f64, boolean: bool, text: &str) -> Vec<u8> {
    let packet = PacketRef { integer, real, boolean, text };
    let mut out = Vec::with_capacity(packet.payload_len());
    packet.write_payload(&mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_drop_one_trailing_newline_and_refuse_inner_ones() {
        let lines = Codec::lines();
        assert_eq!(&*Format::Lines.body(lines, b"hi\n").unwrap(), b"hi");
        assert_eq!(&*Format::Lines.body(lines, b"hi").unwrap(), b"hi");
        assert!(Format::Lines.body(lines, b"a\nb").is_err());
        assert!(Format::Lines.body(lines, b"a\n\n").is_err());
    }

    #[test]
    fn bodies_are_refused_by_the_codecs_own_check() {
        let lines = Codec::lines().with_max_len(4);
        assert!(Format::Lines.body(lines, b"cr\r").is_err());
        assert!(Format::Lines.body(lines, b"cr\r\n").is_err());
        assert!(Format::Lines.body(lines, b"abcde").is_err());
        assert_eq!(&*Format::Lines.body(lines, b"abcd\n").unwrap(), b"abcd");
        let frames = Codec::frames().with_max_len(4);
        assert!(Format::Frames.body(frames, b"abcde").is_err());
        assert!(Format::Frames.body(frames, b"abcd").is_ok());
        // A packet's fixed fields count against the maximum too.
        assert!(Format::Packets.body(Codec::frames().with_max_len(crate::codec::packet::FIXED_LEN), b"x").is_err());
        assert!(Format::Packets
            .packet(Codec::frames().with_max_len(crate::codec::packet::FIXED_LEN), 1, 2.0, true, "x")
            .is_err());
    }

    #[test]
    fn packets_wrap_text_and_refuse_bytes_that_are_not_utf8() {
        let body = Format::Packets.body(Codec::frames(), b"hey").unwrap();
        let packet = PacketRef::parse(&body).unwrap();
        assert_eq!((packet.integer, packet.real, packet.boolean, packet.text), (0, 0.0, false, "hey"));
        assert!(Format::Packets.body(Codec::frames(), &[0xff]).is_err());
    }

    #[test]
    fn packet_calls_need_the_packets_format() {
        assert!(Format::Frames.packet(Codec::frames(), 1, 2.0, true, "x").is_err());
        assert!(Format::Packets.packet(Codec::frames(), 1, 2.0, true, "x").is_ok());
    }
}

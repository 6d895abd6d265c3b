//! [`Format`]: how the facade's messages travel, and the one place that
//! turns what a beginner passes to `send` into the bytes of one message.

use std::borrow::Cow;

use crate::codec::packet::PacketRef;
use crate::codec::DecodeError;
use crate::error::Error;
use crate::reactor::Builder;

use super::Message;

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
    /// `telnet` and `socat` speak. A message must not contain `\n`; one
    /// trailing `\n` given to `send` is dropped rather than refused.
    Lines,
    /// pyspeak's packets: an integer, a real number, a boolean and a text,
    /// carried in one frame (see [`codec::packet`](crate::codec::packet)).
    /// Plain bytes given to `send` travel as the text of a packet whose
    /// other values are 0, 0.0 and false, like pyspeak's
    /// `send(client, string=...)`.
    Packets,
}

impl Format {
    /// Sets the reactor's framing for this format, then the maximum message
    /// length if one was chosen.
    pub(crate) fn configure(self, builder: Builder, max_len: Option<usize>) -> Builder {
        let builder = match self {
            Format::Frames | Format::Packets => builder.frames(),
            Format::Lines => builder.lines(),
        };
        match max_len {
            Some(max) => builder.max_frame_len(max),
            None => builder,
        }
    }

    /// The message body `ctx.send` takes for `data`: unchanged for frames,
    /// without one trailing `\n` for lines, wrapped in a packet for packets.
    ///
    /// Checked here, on the caller's thread, so that a message that cannot
    /// be sent is refused at once with a clear error.
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

    pub(crate) fn body(self, data: &[u8]) -> Result<Cow<'_, [u8]>, Error> {
        match self {
            Format::Frames => {
                if u32::try_from(data.len()).is_err() {
                    return Err(Error::FrameTooLarge { len: data.len() as u64, max: u32::MAX as usize });
                }
                Ok(Cow::Borrowed(data))
            }
            Format::Lines => {
                let line = data.strip_suffix(b"\n").unwrap_or(data);
                if line.contains(&b'\n') {
                    return Err(Error::Codec(DecodeError::Malformed(
                        "a line to send contains a newline: send each line on its own",
                    )));
                }
                Ok(Cow::Borrowed(line))
            }
            Format::Packets => {
                let text = std::str::from_utf8(data).map_err(|_| {
                    Error::Codec(DecodeError::Malformed("the text of a packet must be UTF-8: send a String or &str"))
                })?;
                Ok(Cow::Owned(packet_body(0, 0.0, false, text)))
            }
        }
    }

    /// The body of a packet message, after checking that this format
    /// carries packets.
    pub(crate) fn packet(self, integer: i64, real: f64, boolean: bool, text: &str) -> Result<Vec<u8>, Error> {
        self.require_packets()?;
        Ok(packet_body(integer, real, boolean, text))
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
        assert_eq!(&*Format::Lines.body(b"hi\n").unwrap(), b"hi");
        assert_eq!(&*Format::Lines.body(b"hi").unwrap(), b"hi");
        assert!(Format::Lines.body(b"a\nb").is_err());
        assert!(Format::Lines.body(b"a\n\n").is_err());
    }

    #[test]
    fn packets_wrap_text_and_refuse_bytes_that_are_not_utf8() {
        let body = Format::Packets.body(b"hey").unwrap();
        let packet = PacketRef::parse(&body).unwrap();
        assert_eq!((packet.integer, packet.real, packet.boolean, packet.text), (0, 0.0, false, "hey"));
        assert!(Format::Packets.body(&[0xff]).is_err());
    }

    #[test]
    fn packet_calls_need_the_packets_format() {
        assert!(Format::Frames.packet(1, 2.0, true, "x").is_err());
        assert!(Format::Packets.packet(1, 2.0, true, "x").is_ok());
    }
}

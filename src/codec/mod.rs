//! Wire formats as pure functions over byte slices: no I/O, no `mio`, no
//! allocation while decoding.
//!
//! Every decoder has the shape
//! `&[u8] -> Result<Option<(item, consumed)>, DecodeError>`:
//!
//! - `Ok(Some((item, consumed)))`: the first `consumed` bytes held one
//!   complete item, which borrows from the input;
//! - `Ok(None)`: the input is a valid prefix, more bytes are needed;
//! - `Err(_)`: the input can never become valid; the stream is unusable.
//!
//! The decoders never panic and never read past the slice, whatever the
//! bytes, and decoding a stream split at any points gives the same items and
//! the same error as decoding it whole. The fuzz targets in `fuzz/` check
//! exactly these promises.
//!
//! Four formats exist:
//!
//! - [`frame`]: a 4-byte big-endian payload length, then the payload. This
//!   is byte for byte the default of tokio-util's `LengthDelimitedCodec`.
//! - [`lines`]: bytes up to `\n` (a trailing `\r` is dropped), so `nc`,
//!   `telnet` and `socat` can talk to a server.
//! - [`packet`]: pyspeak's four-value message (integer, real, boolean,
//!   text), carried as the payload of a frame.
//! - [`raw`]: no framing; the bytes in chunks as they arrive, for plain
//!   socket programs (`sendall` and `recv(2048)`). Its chunks follow the
//!   reads, so only their concatenation is the same however the stream is
//!   split, not the chunks themselves.
//!
//! [`Codec`] picks between frames, lines and raw bytes at run time; it is
//! what the reactor uses to cut a byte stream into messages.
//!
//! ```
//! use frameloop::codec::{frame, lines};
//!
//! let mut wire = Vec::new();
//! frame::encode(b"one", &mut wire)?;
//! frame::encode(b"two", &mut wire)?;
//! // A valid prefix is not an error: more bytes are needed.
//! assert_eq!(frame::decode(&wire[..5], frame::DEFAULT_MAX_LEN)?, None);
//! // A whole item comes out with the number of bytes it used.
//! let (first, used) = frame::decode(&wire, frame::DEFAULT_MAX_LEN)?.unwrap();
//! assert_eq!((first, used), (&b"one"[..], 7));
//! assert_eq!(frame::decode(&wire[used..], frame::DEFAULT_MAX_LEN)?, Some((&b"two"[..], 7)));
//! // Lines drop their `\r\n`, and borrow from the input as every item does.
//! assert_eq!(lines::decode(b"hi\r\nmore", lines::DEFAULT_MAX_LEN)?, Some((&b"hi"[..], 4)));
//! # Ok::<(), frameloop::codec::DecodeError>(())
//! ```

pub mod frame;
pub mod lines;
pub mod packet;
pub mod raw;

mod assembler;
mod choice;
mod format;
mod message;

pub use assembler::{Assembler, Buffers, Heap, LARGE_MESSAGE, PAST_A_LARGE_MESSAGE};
pub use choice::Codec;
pub(crate) use format::not_packets;
pub use format::Format;
pub use message::Message;

/// The old name of [`Codec`].
#[deprecated(since = "0.2.0", note = "renamed to `Codec`")]
#[doc(hidden)]
pub type Framing = Codec;

/// Why a byte stream can never decode: the connection that sent it must be
/// closed.
///
/// The values are small and `Copy` so that an error costs nothing to build,
/// and equal inputs give equal errors (the fuzzers compare them).
///
/// ```
/// use frameloop::codec::{frame, DecodeError};
///
/// let err = frame::decode(b"\0\0\x01\0", 16).unwrap_err();
/// assert_eq!(err, DecodeError::FrameTooLarge { len: 256, max: 16 });
/// assert_eq!(err.to_string(), "frame of 256 bytes is larger than the maximum of 16 bytes");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// A frame header announced a payload longer than the configured maximum.
    /// It is rejected as soon as the header arrives, before any of the body is
    /// buffered.
    #[error("frame of {len} bytes is larger than the maximum of {max} bytes")]
    FrameTooLarge {
        /// The length the header announced.
        len: u64,
        /// The configured maximum payload length.
        max: usize,
    },
    /// A line grew past the configured maximum without a `\n`.
    #[error("line longer than the maximum of {max} bytes")]
    LineTooLong {
        /// The configured maximum line length, without the line ending.
        max: usize,
    },
    /// The bytes are not a valid message of the expected format.
    #[error("malformed message: {0}")]
    Malformed(&'static str),
}

#[cfg(test)]
pub(crate) mod tests {
    use super::{Assembler, Codec, DecodeError, Heap};

    /// Feeds `wire` in pieces cut at `cuts` through the assembler the
    /// reactor runs, taking every whole message out after each piece.
    /// Returns the messages, or the first error.
    pub(crate) fn decode_split(codec: Codec, wire: &[u8], cuts: &[usize]) -> Result<Vec<Vec<u8>>, DecodeError> {
        let mut items = Vec::new();
        let mut input = Assembler::new();
        let mut start = 0;
        for &end in cuts.iter().chain(std::iter::once(&wire.len())) {
            input.feed(codec, &wire[start..end], &mut Heap);
            start = end;
            while let Some(msg) = input.next(codec)? {
                items.push(msg.to_vec());
            }
        }
        Ok(items)
    }
}

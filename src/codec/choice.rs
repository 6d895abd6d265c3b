//! Run-time choice of how a byte stream is cut into messages.

use super::{frame, lines, raw, DecodeError};

/// How the reactor cuts each connection's byte stream into messages, and how
/// it wraps the messages it sends.
///
/// Packets are not a separate framing: they travel as the payloads of
/// [`Codec::Frames`] and are parsed with
/// [`PacketRef::parse`](super::packet::PacketRef::parse).
///
/// ```
/// use frameloop::codec::Codec;
///
/// // Raw bytes: whatever arrived, at most 4 bytes at a time, sent unframed.
/// let raw = Codec::raw().with_max_len(4);
/// assert_eq!(raw.decode(b"hello"), Ok(Some((&b"hell"[..], 4))));
/// let mut out = Vec::new();
/// raw.encode_parts(&[b"as ", b"is"], &mut out)?;
/// assert_eq!(out, b"as is");
/// # Ok::<(), frameloop::codec::DecodeError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Codec {
    /// Length-prefixed frames (see [`frame`]); the payload is at most
    /// `max_len` bytes.
    Frames {
        /// Largest payload accepted.
        max_len: usize,
    },
    /// `\n`-terminated lines (see [`lines`]); a line is at most `max_len`
    /// bytes without its ending.
    Lines {
        /// Largest line accepted.
        max_len: usize,
    },
    /// No framing (see [`raw`]): the bytes as they arrive, in chunks of at
    /// most `max_chunk` bytes; sent as they are.
    Raw {
        /// Largest chunk handed over at once; a read of more is handed over
        /// as several chunks. Nothing is ever too long.
        max_chunk: usize,
    },
}

impl Default for Codec {
    fn default() -> Self {
        Codec::Frames { max_len: frame::DEFAULT_MAX_LEN }
    }
}

impl Codec {
    /// Length-prefixed frames with the default 8 MiB maximum.
    ///
    /// ```
    /// use frameloop::codec::Codec;
    ///
    /// assert_eq!(Codec::frames(), Codec::Frames { max_len: 8 << 20 });
    /// assert_eq!(Codec::frames(), Codec::default());
    /// ```
    pub const fn frames() -> Self {
        Codec::Frames { max_len: frame::DEFAULT_MAX_LEN }
    }

    /// Lines with the default 64 KiB maximum.
    ///
    /// ```
    /// use frameloop::codec::Codec;
    ///
    /// assert_eq!(Codec::lines().max_len(), 64 * 1024);
    /// assert_eq!(Codec::lines().decode(b"hi\r\n"), Ok(Some((&b"hi"[..], 4))));
    /// ```
    pub const fn lines() -> Self {
        Codec::Lines { max_len: lines::DEFAULT_MAX_LEN }
    }

    /// Raw bytes in chunks of at most the default 64 KiB.
    ///
    /// ```
    /// use frameloop::codec::Codec;
    ///
    /// assert_eq!(Codec::raw(), Codec::Raw { max_chunk: 64 * 1024 });
    /// assert_eq!(Codec::raw().decode(b"any bytes"), Ok(Some((&b"any bytes"[..], 9))));
    /// ```
    pub const fn raw() -> Self {
        Codec::Raw { max_chunk: raw::DEFAULT_MAX_CHUNK }
    }

    /// The same framing with another maximum message length (for raw
    /// bytes, another largest chunk).
    ///
    /// ```
    /// use frameloop::codec::Codec;
    ///
    /// let small = Codec::lines().with_max_len(4);
    /// assert_eq!(small, Codec::Lines { max_len: 4 });
    /// assert!(small.decode(b"too long\n").is_err());
    /// ```
    pub const fn with_max_len(self, max_len: usize) -> Self {
        match self {
            Codec::Frames { .. } => Codec::Frames { max_len },
            Codec::Lines { .. } => Codec::Lines { max_len },
            Codec::Raw { .. } => Codec::Raw { max_chunk: max_len },
        }
    }

    /// The largest message accepted (for raw bytes, the largest chunk).
    ///
    /// ```
    /// use frameloop::codec::Codec;
    ///
    /// assert_eq!(Codec::frames().with_max_len(100).max_len(), 100);
    /// assert_eq!(Codec::Raw { max_chunk: 2048 }.max_len(), 2048);
    /// ```
    pub const fn max_len(&self) -> usize {
        match *self {
            Codec::Frames { max_len } | Codec::Lines { max_len } => max_len,
            Codec::Raw { max_chunk } => max_chunk,
        }
    }

    /// Decodes the first message of `buf` (see the [module docs](super)).
    ///
    /// ```
    /// use frameloop::codec::Codec;
    ///
    /// assert_eq!(Codec::frames().decode(b"\0\0\0\x02hi"), Ok(Some((&b"hi"[..], 6))));
    /// assert_eq!(Codec::lines().decode(b"hi\n"), Ok(Some((&b"hi"[..], 3))));
    /// assert_eq!(Codec::lines().decode(b"hi"), Ok(None));
    /// ```
    ///
    /// # Errors
    ///
    /// Those of [`frame::decode`] or [`lines::decode`]; raw bytes have none.
    #[inline]
    pub fn decode<'a>(&self, buf: &'a [u8]) -> Result<Option<(&'a [u8], usize)>, DecodeError> {
        match *self {
            Codec::Frames { max_len } => frame::decode(buf, max_len),
            Codec::Lines { max_len } => lines::decode(buf, max_len),
            Codec::Raw { max_chunk } => raw::decode(buf, max_chunk),
        }
    }

    /// How many bytes of `more` complete the message whose first bytes are
    /// `partial` (all of `more` if it stays incomplete).
    ///
    /// ```
    /// use frameloop::codec::Codec;
    ///
    /// // A frame of 3 bytes, one of them already here: two more finish it.
    /// assert_eq!(Codec::frames().bytes_to_complete(b"\0\0\0\x03a", b"bc\0\0"), 2);
    /// assert_eq!(Codec::lines().bytes_to_complete(b"a", b"bc\nde"), 3);
    /// ```
    #[inline]
    pub fn bytes_to_complete(&self, partial: &[u8], more: &[u8]) -> usize {
        match self {
            Codec::Frames { .. } => frame::bytes_to_complete(partial, more),
            Codec::Lines { .. } => lines::bytes_to_complete(partial, more),
            Codec::Raw { max_chunk } => raw::bytes_to_complete(partial, more, *max_chunk),
        }
    }

    /// How many bytes the message at the front of `buffered` takes on the
    /// wire, header included, once its header has arrived: what an
    /// [`Assembler`](super::Assembler) reserves for a large body. `None`
    /// while unknown, for a format without lengths, or for a length the
    /// codec refuses (decoding says why).
    ///
    /// ```
    /// use frameloop::codec::Codec;
    ///
    /// assert_eq!(Codec::frames().message_len(b"\0\0\x01\0ab"), Some(4 + 256));
    /// assert_eq!(Codec::frames().message_len(b"\0\0"), None);
    /// assert_eq!(Codec::frames().with_max_len(8).message_len(b"\0\0\x01\0"), None);
    /// assert_eq!(Codec::lines().message_len(b"no length here"), None);
    /// ```
    #[inline]
    pub fn message_len(&self, buffered: &[u8]) -> Option<usize> {
        match *self {
            Codec::Frames { max_len } => {
                frame::payload_len(buffered, max_len).ok().flatten().and_then(|len| len.checked_add(frame::HEADER_LEN))
            }
            Codec::Lines { .. } | Codec::Raw { .. } => None,
        }
    }

    /// Bytes this framing adds around a message of `len` bytes.
    ///
    /// ```
    /// use frameloop::codec::Codec;
    ///
    /// assert_eq!(Codec::frames().overhead(), 4); // the header
    /// assert_eq!(Codec::lines().overhead(), 1); // the `\n`
    /// assert_eq!(Codec::raw().overhead(), 0);
    /// ```
    #[inline]
    pub const fn overhead(&self) -> usize {
        match self {
            Codec::Frames { .. } => frame::HEADER_LEN,
            Codec::Lines { .. } => 1,
            Codec::Raw { .. } => 0,
        }
    }

    /// Checks that one message made of `parts` (concatenated) can be sent
    /// in this framing: refused here is whatever [`decode`](Self::decode)
    /// with the same framing would refuse, or could not give back as sent
    /// (a frame above `max_len`; a line above `max_len`, containing `\n` or
    /// ending in `\r`).
    ///
    /// [`encode_parts`](Self::encode_parts) calls it first, and a caller
    /// that must refuse a message before it reaches the encoder (the
    /// facade, on the caller's thread) calls the same function, so the two
    /// can never disagree.
    ///
    /// ```
    /// use frameloop::codec::Codec;
    ///
    /// let lines = Codec::lines().with_max_len(16);
    /// assert!(lines.check_outgoing(&[b"hello"]).is_ok());
    /// assert!(lines.check_outgoing(&[b"ends in cr\r"]).is_err());
    /// assert!(Codec::frames().with_max_len(4).check_outgoing(&[b"hello"]).is_err());
    /// ```
    ///
    /// # Errors
    ///
    /// [`DecodeError::FrameTooLarge`], [`DecodeError::LineTooLong`] or
    /// [`DecodeError::Malformed`], saying which rule the message breaks.
    #[inline]
    pub fn check_outgoing(&self, parts: &[&[u8]]) -> Result<(), DecodeError> {
        match *self {
            Codec::Frames { max_len } => frame::check_len(total_len(parts)?, max_len),
            Codec::Lines { max_len } => lines::check_parts(parts, max_len),
            // Any bytes are raw bytes, of any length: the peer cuts them
            // into chunks of its own size.
            Codec::Raw { .. } => Ok(()),
        }
    }

    /// Appends one message made of `parts` (concatenated) to `out`.
    ///
    /// Gathering parts lets a caller send a header and a body, or a packet's
    /// fixed fields and its text, without first joining them in a buffer of
    /// its own.
    ///
    /// ```
    /// use frameloop::codec::Codec;
    ///
    /// let mut out = Vec::new();
    /// Codec::frames().encode_parts(&[b"he", b"llo"], &mut out)?;
    /// assert_eq!(out, b"\0\0\0\x05hello"); // one frame for both parts
    /// out.clear();
    /// Codec::lines().encode_parts(&[b"alice", b": hi"], &mut out)?;
    /// assert_eq!(out, b"alice: hi\n");
    /// assert!(Codec::lines().encode_parts(&[b"a\nb"], &mut out).is_err());
    /// # Ok::<(), frameloop::codec::DecodeError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// Those of [`check_outgoing`](Self::check_outgoing): a message longer
    /// than the maximum, or a line containing `\n` or ending in `\r`; `out`
    /// is left untouched.
    #[inline]
    pub fn encode_parts(&self, parts: &[&[u8]], out: &mut Vec<u8>) -> Result<(), DecodeError> {
        // The common case, one whole frame (every `send`), without the
        // general loop: a quarter fewer instructions per message (callgrind).
        // Its check is `check_outgoing`'s for frames, on the one length.
        if let (Codec::Frames { max_len }, [msg]) = (*self, parts) {
            frame::check_len(msg.len(), max_len)?;
            let header = frame::header(msg.len())?;
            out.reserve(frame::HEADER_LEN + msg.len());
            out.extend_from_slice(&header);
            out.extend_from_slice(msg);
            return Ok(());
        }
        self.check_outgoing(parts)?;
        let len = total_len(parts)?;
        match self {
            Codec::Frames { .. } => {
                let header = frame::header(len)?;
                out.reserve(frame::HEADER_LEN + len);
                out.extend_from_slice(&header);
                for p in parts {
                    out.extend_from_slice(p);
                }
            }
            Codec::Lines { .. } => {
                out.reserve(len + 1);
                for p in parts {
                    out.extend_from_slice(p);
                }
                out.push(b'\n');
            }
            Codec::Raw { .. } => {
                out.reserve(len);
                for p in parts {
                    raw::encode(p, out);
                }
            }
        }
        Ok(())
    }
}

/// The length of the message made of `parts`; a sum past `usize` is too
/// large for any framing.
fn total_len(parts: &[&[u8]]) -> Result<usize, DecodeError> {
    parts
        .iter()
        .try_fold(0usize, |sum, p| sum.checked_add(p.len()))
        .ok_or(DecodeError::FrameTooLarge { len: u64::MAX, max: frame::MAX_REPRESENTABLE_LEN })
}

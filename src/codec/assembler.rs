//! Cutting a byte stream into messages, whatever reads bring it: the one
//! assembler the reactor runs and the fuzzers test.
//!
//! It is sans-IO: bytes go into the space it lends ([`Assembler::space`],
//! then [`Assembler::filled`]) or are copied in ([`Assembler::feed`]), and
//! whole messages come out ([`Assembler::next`]) as slices of its buffer,
//! with no copy. Only the bytes of a message that straddles two reads are
//! ever moved: to the front of the buffer, or into a larger one while a
//! large message grows. Bytes someone else owns (a TLS session's
//! decrypted plaintext) are cut in place ([`Assembler::next_from`]), the
//! assembler keeping only what a boundary cuts.
//!
//! Once a header says a message is large, a read asks for the rest of it
//! and no more, so the message ends where the read does and its buffer can
//! go with it when it is sent back. That buffer grows with what arrives,
//! or fits the message from its first byte when the one before was as
//! large. Buffers come from a [`Buffers`] source, a pool in the reactor,
//! and stay initialised there, so nothing is zero-filled per message.

use super::{Codec, DecodeError};

/// How far past the end of a large message a read into it may go.
///
/// Reading exactly the rest of the message would fill the space, which
/// does not tell whether the socket has more: another read would be due,
/// and would mostly find nothing. A read asked for a little more comes back
/// short once the socket is drained, and what it reads of the next message
/// is moved at the cost of a small copy.
///
/// ```
/// assert_eq!(frameloop::codec::PAST_A_LARGE_MESSAGE, 4096);
/// ```
pub const PAST_A_LARGE_MESSAGE: usize = 4096;

/// The smallest message an [`Assembler`] reads on its own: once its header
/// has come, a read asks for the rest of it (and
/// [`PAST_A_LARGE_MESSAGE`]), not for more messages, so the message ends
/// near the end of what was read and its buffer can go with it
/// ([`Assembler::lend`]). Smaller messages are read many at a time.
///
/// ```
/// assert_eq!(frameloop::codec::LARGE_MESSAGE, 16 * 1024);
/// ```
pub const LARGE_MESSAGE: usize = 16 * 1024;

/// What share of a large message must have arrived (one part in this
/// many) before its header is believed and a buffer for all of it taken.
/// Until then its buffer at most doubles what arrived, and between reads
/// ([`Assembler::fit`]) a buffer holds at most this many times the bytes it
/// keeps: a peer that sends a header alone gets a small buffer for it.
const TRUST_AFTER: usize = 16;

/// Whether a large message of `len` wire bytes, `live` of which have
/// arrived, has come far enough for its header to be believed (see
/// [`TRUST_AFTER`]): then a buffer for all of it, and a little more, is
/// taken and kept.
fn believes(live: usize, len: usize) -> bool {
    live.saturating_mul(TRUST_AFTER) >= len.saturating_add(PAST_A_LARGE_MESSAGE)
}

/// Where an [`Assembler`] gets its buffers and gives them back.
///
/// The buffers are initialised: a buffer's `len()` is what may be used, so
/// a pool that keeps them never fills them again.
pub trait Buffers {
    /// A buffer whose `len()` is at least `len`.
    fn take(&mut self, len: usize) -> Vec<u8>;
    /// A buffer the assembler no longer needs.
    fn give(&mut self, buf: Vec<u8>);
}

/// Buffers straight from the heap: a zero-filled allocation per
/// [`take`](Buffers::take), freed on [`give`](Buffers::give). Enough for a
/// test or a client that reads a little; a server wants a pool.
///
/// ```
/// use frameloop::codec::{Buffers, Heap};
///
/// assert_eq!(Heap.take(8), vec![0; 8]);
/// ```
#[derive(Debug, Default, Clone, Copy)]
pub struct Heap;

impl Buffers for Heap {
    fn take(&mut self, len: usize) -> Vec<u8> {
        vec![0; len]
    }

    fn give(&mut self, _buf: Vec<u8>) {}
}

/// The partial and held-back messages of one byte stream.
///
/// ```
/// use frameloop::codec::{Assembler, Codec, Heap};
///
/// let codec = Codec::frames();
/// let mut input = Assembler::new();
/// // Two reads, cut inside the second message.
/// input.feed(codec, b"\0\0\0\x03one\0\0\0\x03t", &mut Heap);
/// assert_eq!(input.next(codec)?, Some(&b"one"[..]));
/// assert_eq!(input.next(codec)?, None); // "t" waits for the rest
/// input.feed(codec, b"wo", &mut Heap);
/// assert_eq!(input.next(codec)?, Some(&b"two"[..]));
/// assert!(input.is_empty());
/// # Ok::<(), frameloop::codec::DecodeError>(())
/// ```
///
/// A reader lends its buffer to the socket instead of copying:
///
/// ```
/// use std::io::Read;
/// use frameloop::codec::{Assembler, Codec, Heap};
///
/// let codec = Codec::lines();
/// let mut input = Assembler::new();
/// let mut socket: &[u8] = b"hello\nworld\n"; // anything that reads
/// let space = input.space(codec, 4096, &mut Heap);
/// let n = socket.read(space).unwrap();
/// input.filled(n);
/// assert_eq!(input.next(codec)?, Some(&b"hello"[..]));
/// assert_eq!(input.next(codec)?, Some(&b"world"[..]));
/// # Ok::<(), frameloop::codec::DecodeError>(())
/// ```
#[derive(Debug, Default)]
pub struct Assembler {
    /// Initialised storage of a fixed size (a boxed slice, not a vector:
    /// every connection has an assembler, idle or not, so its size
    /// counts). The bytes not yet handed out are `buf[start..end]`; those
    /// before `start` were, and stay where they are until a call that
    /// makes room. Without a buffer, `start` and `end` both hold the size
    /// the next one is taken at: what the last one held, if that was a
    /// large message (see [`space`](Self::space)).
    buf: Box<[u8]>,
    start: usize,
    end: usize,
}

impl Assembler {
    /// An assembler without a buffer: it takes one at the first
    /// [`space`](Self::space).
    ///
    /// ```
    /// use frameloop::codec::Assembler;
    ///
    /// assert_eq!(Assembler::new().capacity(), 0);
    /// ```
    pub fn new() -> Self {
        Assembler::default()
    }

    /// Bytes received and not yet handed out as messages: a partial
    /// message, or whole ones held back.
    ///
    /// ```
    /// use frameloop::codec::{Assembler, Codec, Heap};
    ///
    /// let mut input = Assembler::new();
    /// input.feed(Codec::frames(), b"\0\0\0\x09par", &mut Heap);
    /// assert_eq!(input.buffered(), 7);
    /// ```
    pub fn buffered(&self) -> usize {
        self.end - self.start
    }

    /// No bytes wait.
    ///
    /// ```
    /// use frameloop::codec::Assembler;
    ///
    /// assert!(Assembler::new().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.start == self.end
    }

    /// The size of the buffer it holds, 0 without one (for memory bounds).
    ///
    /// ```
    /// use frameloop::codec::{Assembler, Codec, Heap};
    ///
    /// let mut input = Assembler::new();
    /// input.space(Codec::frames(), 1024, &mut Heap);
    /// assert_eq!(input.capacity(), 1024);
    /// ```
    pub fn capacity(&self) -> usize {
        self.buf.len()
    }

    /// The next whole message, if one is buffered. It borrows the buffer
    /// until the next call that changes the assembler.
    ///
    /// ```
    /// use frameloop::codec::{Assembler, Codec, DecodeError, Heap};
    ///
    /// let codec = Codec::frames().with_max_len(4);
    /// let mut input = Assembler::new();
    /// input.feed(codec, b"\0\0\0\x09", &mut Heap);
    /// assert_eq!(input.next(codec), Err(DecodeError::FrameTooLarge { len: 9, max: 4 }));
    /// ```
    ///
    /// # Errors
    ///
    /// What the codec says of bytes that can never decode; the stream is
    /// unusable from there, and the same error comes back until
    /// [`clear`](Self::clear).
    #[inline]
    pub fn next(&mut self, codec: Codec) -> Result<Option<&[u8]>, DecodeError> {
        let live = self.buf.get(self.start..self.end).unwrap_or_default();
        match codec.decode(live)? {
            Some((msg, used)) => {
                self.start += used;
                Ok(Some(msg))
            }
            None => Ok(None),
        }
    }

    /// The next whole message, cut from `lent` (bytes another owner lends:
    /// a TLS session's plaintext) without copying it wherever it can be.
    /// `taken` counts the bytes of `lent` used, and moves on with each call.
    ///
    /// A message `lent` holds whole is a slice of `lent`. Only the bytes a
    /// boundary cuts are copied in: the start of a message at the end of
    /// `lent` (`taken` then reaches its end, and the answer is `None`), and
    /// from the next bytes lent just what completes it
    /// ([`complete_from`](Self::complete_from); the message is then a slice
    /// of the assembler's buffer). A message already buffered whole comes
    /// first.
    ///
    /// ```
    /// use frameloop::codec::{Assembler, Codec, Heap};
    ///
    /// let codec = Codec::frames();
    /// let mut input = Assembler::new();
    /// let (first, second) = (b"\0\0\0\x03one\0\0\0".as_slice(), b"\x03twoXYZ".as_slice());
    /// let mut taken = 0;
    /// let one = input.next_from(codec, first, &mut taken, &mut Heap)?.unwrap();
    /// assert!(std::ptr::eq(one, &first[4..7])); // not copied
    /// assert_eq!(input.next_from(codec, first, &mut taken, &mut Heap)?, None);
    /// assert_eq!((taken, input.buffered()), (10, 3)); // the cut header, copied in
    /// taken = 0;
    /// assert_eq!(input.next_from(codec, second, &mut taken, &mut Heap)?, Some(&b"two"[..]));
    /// assert_eq!(taken, 4); // "XYZ" is not this message's: it waits in `second`
    /// # Ok::<(), frameloop::codec::DecodeError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// As [`next`](Self::next), for the bytes buffered and those of `lent`.
    #[inline(always)]
    pub fn next_from<'a>(
        &'a mut self,
        codec: Codec,
        lent: &'a [u8],
        taken: &mut usize,
        buffers: &mut impl Buffers,
    ) -> Result<Option<&'a [u8]>, DecodeError> {
        self.complete_from(codec, lent, taken, buffers)?;
        if !self.is_empty() {
            return self.next(codec);
        }
        let rest = lent.get(*taken..).unwrap_or_default();
        if rest.is_empty() {
            return Ok(None);
        }
        match codec.decode(rest)? {
            Some((msg, used)) => {
                *taken += used;
                Ok(Some(msg))
            }
            None => {
                self.feed(codec, rest, buffers);
                *taken = lent.len();
                Ok(None)
            }
        }
    }

    /// Copies in from `lent`, past its first `taken` bytes, what completes
    /// the message begun in what is buffered (a header first, then exactly
    /// the body), or all of it if that does not; nothing when nothing is
    /// buffered or a whole message is. [`next`](Self::next) then hands the
    /// message out, as a slice of the assembler's buffer.
    ///
    /// ```
    /// use frameloop::codec::{Assembler, Codec, Heap};
    ///
    /// let codec = Codec::lines();
    /// let mut input = Assembler::new();
    /// input.feed(codec, b"hel", &mut Heap);
    /// let mut taken = 0;
    /// input.complete_from(codec, b"lo\nworld\n", &mut taken, &mut Heap)?;
    /// assert_eq!(taken, 3);
    /// assert_eq!(input.next(codec)?, Some(&b"hello"[..]));
    /// # Ok::<(), frameloop::codec::DecodeError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// As [`next`](Self::next), for the message it completes.
    #[inline]
    pub fn complete_from(
        &mut self,
        codec: Codec,
        lent: &[u8],
        taken: &mut usize,
        buffers: &mut impl Buffers,
    ) -> Result<(), DecodeError> {
        if self.is_empty() {
            // The common case, checked where it is called: nothing begun.
            return Ok(());
        }
        self.complete_begun(codec, lent, taken, buffers)
    }

    /// [`complete_from`](Self::complete_from)'s work, once a message has
    /// begun: kept out of line, as a record boundary inside a message is
    /// the exception.
    #[inline(never)]
    fn complete_begun(
        &mut self,
        codec: Codec,
        lent: &[u8],
        taken: &mut usize,
        buffers: &mut impl Buffers,
    ) -> Result<(), DecodeError> {
        while !self.is_empty() {
            let live = self.buf.get(self.start..self.end).unwrap_or_default();
            let rest = lent.get(*taken..).unwrap_or_default();
            if rest.is_empty() || codec.decode(live)?.is_some() {
                break;
            }
            let n = codec.bytes_to_complete(live, rest).clamp(1, rest.len());
            self.feed(codec, rest.get(..n).unwrap_or_default(), buffers);
            *taken += n;
        }
        Ok(())
    }

    /// The space the next read should fill: up to `read_size` bytes, or,
    /// if the partial message's header says it is a [`LARGE_MESSAGE`], up
    /// to the rest of it and a little more ([`PAST_A_LARGE_MESSAGE`]). Then
    /// say how much was read with [`filled`](Self::filled).
    ///
    /// Memory follows the bytes that arrived. To make room it moves the
    /// unread bytes to the front of the buffer, or into a larger buffer from
    /// `buffers` (giving the old one back): one of `read_size` at first,
    /// and for a large message one that at most doubles what has arrived
    /// (so a header alone reserves nothing), unless the previous buffer
    /// needed that much. A stream of large messages thus reads each one
    /// into a buffer that fits it from its first byte, moving nothing.
    ///
    /// ```
    /// use frameloop::codec::{Assembler, Codec, Heap};
    ///
    /// let codec = Codec::frames();
    /// let mut input = Assembler::new();
    /// assert_eq!(input.space(codec, 4096, &mut Heap).len(), 4096);
    /// input.feed(codec, &[0, 1, 0, 0, b'x'], &mut Heap); // a 64 KiB message begins
    /// // The buffer grows with what arrives, not with what the header claims.
    /// assert_eq!(input.space(codec, 4096, &mut Heap).len(), 4096);
    /// assert_eq!(input.capacity(), 5 + 4096);
    /// ```
    pub fn space(&mut self, codec: Codec, read_size: usize, buffers: &mut impl Buffers) -> &mut [u8] {
        let read_size = read_size.max(1);
        let mut last_size = 0;
        if self.is_empty() {
            if self.buf.is_empty() {
                last_size = self.end;
            }
            // Drained: the next read starts at the front, so the buffer
            // never has to be compacted for it.
            self.clear();
        }
        let live = self.buffered();
        let large = self.large_message_len(codec);
        let want = large.map_or(read_size, |len| len.saturating_sub(live).saturating_add(PAST_A_LARGE_MESSAGE));
        if self.buf.len() - self.end < want {
            if self.start > 0 {
                self.buf.copy_within(self.start..self.end, 0);
                (self.start, self.end) = (0, live);
            }
            let grow_to = match large {
                // The whole rest once the header is believed (or the last
                // buffer was as large); else double what arrived.
                Some(len) if believes(live, len) || last_size >= live + want => live + want,
                Some(_) => live.saturating_add(want).min((2 * live).max(live + read_size)),
                // A buffer full of a message that has no length (a long
                // line) doubles; otherwise the read takes the room there is.
                None if self.end == self.buf.len() => (2 * self.buf.len()).max(read_size).max(last_size),
                None => 0,
            };
            if grow_to > self.buf.len() {
                self.grow(grow_to, buffers);
            }
        }
        let end = self.end;
        let to = end.saturating_add(want).min(self.buf.len());
        self.buf.get_mut(end..to).unwrap_or_default()
    }

    /// The wire length of the message at the front, if its header has come
    /// and says it is a [`LARGE_MESSAGE`].
    fn large_message_len(&self, codec: Codec) -> Option<usize> {
        self.buf.get(self.start..self.end).and_then(|b| codec.message_len(b)).filter(|&len| len >= LARGE_MESSAGE)
    }

    /// Moves the unread bytes into a buffer of at least `len` from
    /// `buffers` (larger or smaller), and gives the old one back.
    fn grow(&mut self, len: usize, buffers: &mut impl Buffers) {
        let live = self.buffered();
        let mut larger = buffers.take(len);
        if let (Some(to), Some(from)) = (larger.get_mut(..live), self.buf.get(self.start..self.end)) {
            to.copy_from_slice(from);
        }
        // Free when `take` gave a vector of its exact capacity, as a pool of
        // initialised buffers does.
        let old = std::mem::replace(&mut self.buf, larger.into_boxed_slice());
        if !old.is_empty() {
            buffers.give(old.into_vec());
        }
        (self.start, self.end) = (0, live);
    }

    /// The size to take the next buffer at, having used one up to `used`:
    /// a large message's size, or nothing above what a read takes anyway.
    fn size_for_next(used: usize) -> usize {
        if used > LARGE_MESSAGE {
            used.saturating_add(PAST_A_LARGE_MESSAGE)
        } else {
            0
        }
    }

    /// Counts the first `n` bytes of the last [`space`](Self::space) as
    /// received.
    ///
    /// ```
    /// use frameloop::codec::{Assembler, Codec, Heap};
    ///
    /// let mut input = Assembler::new();
    /// input.space(Codec::lines(), 16, &mut Heap)[..3].copy_from_slice(b"hi\n");
    /// input.filled(3);
    /// assert_eq!(input.next(Codec::lines())?, Some(&b"hi"[..]));
    /// # Ok::<(), frameloop::codec::DecodeError>(())
    /// ```
    #[inline]
    pub fn filled(&mut self, n: usize) {
        if !self.buf.is_empty() {
            self.end = self.end.saturating_add(n).min(self.buf.len());
        }
    }

    /// Copies `bytes` in, as reads of `bytes.len()` would: for bytes that
    /// come from elsewhere (decrypted, or in a test).
    ///
    /// ```
    /// use frameloop::codec::{Assembler, Codec, Heap};
    ///
    /// let mut input = Assembler::new();
    /// input.feed(Codec::raw(), b"abc", &mut Heap);
    /// assert_eq!(input.next(Codec::raw())?, Some(&b"abc"[..]));
    /// # Ok::<(), frameloop::codec::DecodeError>(())
    /// ```
    pub fn feed(&mut self, codec: Codec, mut bytes: &[u8], buffers: &mut impl Buffers) {
        while !bytes.is_empty() {
            let space = self.space(codec, bytes.len(), buffers);
            let n = space.len().min(bytes.len());
            let (now, later) = bytes.split_at(n);
            if let Some(to) = space.get_mut(..n) {
                to.copy_from_slice(now);
            }
            self.filled(n);
            bytes = later;
        }
    }

    /// Drops what is buffered, keeping the buffer.
    ///
    /// ```
    /// use frameloop::codec::{Assembler, Codec, Heap};
    ///
    /// let mut input = Assembler::new();
    /// input.feed(Codec::lines(), b"partial", &mut Heap);
    /// input.clear();
    /// assert!(input.is_empty());
    /// ```
    pub fn clear(&mut self) {
        self.start = 0;
        self.end = 0;
    }

    /// Where in its buffer the next message [`next`](Self::next) gives
    /// will start: note it before, to name the message's wire bytes after
    /// (with [`handed_out`](Self::handed_out) or [`lend`](Self::lend)).
    ///
    /// ```
    /// use frameloop::codec::{Assembler, Codec, Heap};
    ///
    /// let mut input = Assembler::new();
    /// input.feed(Codec::frames(), b"\0\0\0\x02hi", &mut Heap);
    /// let at = input.offset();
    /// input.next(Codec::frames())?;
    /// assert_eq!(input.handed_out(at, 6), Some(&b"\0\0\0\x02hi"[..]));
    /// # Ok::<(), frameloop::codec::DecodeError>(())
    /// ```
    pub fn offset(&self) -> usize {
        if self.buf.is_empty() {
            0
        } else {
            self.start
        }
    }

    /// The `len` wire bytes from `at` of a message already handed out,
    /// until a call that makes room; `None` if they are not that.
    pub fn handed_out(&self, at: usize, len: usize) -> Option<&[u8]> {
        at.checked_add(len).filter(|&to| to <= self.start).and_then(|to| self.buf.get(at..to))
    }

    /// Gives up the buffer that holds the message handed out from `at`
    /// (see [`offset`](Self::offset)), `len` wire bytes, so it can be sent
    /// on as it is, without a copy. The bytes after it, not yet handed
    /// out, move to a buffer from `buffers`.
    ///
    /// `None`, changing nothing, when that is not a message handed out, or
    /// when more bytes follow it than it has: copying it is cheaper then.
    ///
    /// ```
    /// use frameloop::codec::{Assembler, Codec, Heap};
    ///
    /// let codec = Codec::frames();
    /// let mut input = Assembler::new();
    /// input.feed(codec, b"\0\0\0\x05helloXY", &mut Heap);
    /// let at = input.offset();
    /// input.next(codec)?;
    /// let buf = input.lend(at, 9, &mut Heap).unwrap();
    /// assert_eq!(&buf[at..at + 9], b"\0\0\0\x05hello");
    /// assert_eq!(input.buffered(), 2); // "XY" moved, still waiting
    /// # Ok::<(), frameloop::codec::DecodeError>(())
    /// ```
    pub fn lend(&mut self, at: usize, len: usize, buffers: &mut impl Buffers) -> Option<Vec<u8>> {
        self.handed_out(at, len)?;
        let after = self.buffered();
        let next_size = Self::size_for_next(at + len);
        // Not a buffer far larger than what it carries: a copy holds less.
        if after > len || self.buf.len() > 2 * (at + len).max(next_size) {
            return None;
        }
        let mut rest = Vec::new();
        if after > 0 {
            rest = buffers.take(after.max(next_size));
            if let (Some(dst), Some(src)) = (rest.get_mut(..after), self.buf.get(self.start..self.end)) {
                dst.copy_from_slice(src);
            }
        }
        let lent = std::mem::replace(&mut self.buf, rest.into_boxed_slice());
        (self.start, self.end) = if after > 0 { (0, after) } else { (next_size, next_size) };
        Some(lent.into_vec())
    }

    /// Moves what is buffered into a smaller buffer from `buffers`, and
    /// gives the large one back, if it holds far more than that: between
    /// reads, memory follows the bytes that arrived (a buffer at most 16
    /// times them, or 4 KiB), except that a large message a sixteenth of
    /// which is here keeps a buffer for all of it.
    ///
    /// ```
    /// use frameloop::codec::{Assembler, Codec, Heap};
    ///
    /// let codec = Codec::frames();
    /// let mut input = Assembler::new();
    /// input.space(codec, 65536, &mut Heap)[..4].copy_from_slice(&[0, 0x80, 0, 0]); // claims 8 MiB
    /// input.filled(4);
    /// input.fit(codec, &mut Heap);
    /// assert_eq!(input.capacity(), 4); // from a pool: its smallest class, 4 KiB
    /// ```
    pub fn fit(&mut self, codec: Codec, buffers: &mut impl Buffers) {
        let live = self.buffered();
        if live == 0 {
            return;
        }
        let trusted = self
            .large_message_len(codec)
            .filter(|&len| believes(live, len))
            .map_or(0, |len| len.saturating_add(PAST_A_LARGE_MESSAGE));
        let keep = live.saturating_mul(TRUST_AFTER).max(4096).max(trusted);
        if self.buf.len() > keep {
            self.grow(live, buffers);
        }
    }

    /// The buffer, once nothing is buffered, so an idle stream holds no
    /// memory: give it back to the pool it came from.
    ///
    /// ```
    /// use frameloop::codec::{Assembler, Codec, Heap};
    ///
    /// let mut input = Assembler::new();
    /// input.feed(Codec::lines(), b"one\n", &mut Heap);
    /// assert!(input.release().is_none()); // "one" is still buffered
    /// input.next(Codec::lines())?;
    /// assert_eq!(input.release().map(|b| b.len()), Some(4));
    /// assert_eq!(input.capacity(), 0);
    /// # Ok::<(), frameloop::codec::DecodeError>(())
    /// ```
    pub fn release(&mut self) -> Option<Vec<u8>> {
        if !self.is_empty() || self.buf.is_empty() {
            return None;
        }
        let next_size = Self::size_for_next(self.end);
        (self.start, self.end) = (next_size, next_size);
        Some(std::mem::take(&mut self.buf).into_vec())
    }
}

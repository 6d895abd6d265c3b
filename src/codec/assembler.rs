//! Cutting a byte stream into messages, whatever reads bring it: the one
//! assembler the reactor runs, the fuzzers test, and a transport that
//! decrypts (TLS) feeds with plaintext.
//!
//! It is sans-IO: bytes go into the space it lends ([`Assembler::space`],
//! then [`Assembler::filled`]) or are copied in ([`Assembler::feed`]), and
//! whole messages come out ([`Assembler::next`]) as slices of its buffer,
//! with no copy. Only the bytes of a message that straddles two reads are
//! ever moved, and then only to the front of the same buffer.
//!
//! Once a header says how long the message is, the space it lends is the
//! rest of that message, so a large body is read straight into a buffer
//! sized for it, and a message never waits behind a read of the next one.
//! Its buffers come from a [`Buffers`] source, a pool in the reactor, and
//! stay initialised there, so nothing is zero-filled per message.

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
    /// of the last one, so the next is taken as large: a stream of large
    /// messages then reads each into a buffer that fits it from its first
    /// byte, with nothing to move.
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

    /// The space the next read should fill: `read_size` bytes, or, if the
    /// partial message's header says it is a [`LARGE_MESSAGE`], the rest of
    /// it and a little more ([`PAST_A_LARGE_MESSAGE`]). Then say how much
    /// was read with [`filled`](Self::filled).
    ///
    /// To make room it moves the unread bytes to the front of the buffer,
    /// or into a larger buffer from `buffers` (giving the old one back).
    ///
    /// ```
    /// use frameloop::codec::{Assembler, Codec, Heap, PAST_A_LARGE_MESSAGE};
    ///
    /// let codec = Codec::frames();
    /// let mut input = Assembler::new();
    /// input.feed(codec, &[0, 1, 0, 0, b'x'], &mut Heap); // a 64 KiB message begins
    /// // The rest of its body, read in place in one buffer sized for it.
    /// assert_eq!(input.space(codec, 4096, &mut Heap).len(), 65_535 + PAST_A_LARGE_MESSAGE);
    /// ```
    pub fn space(&mut self, codec: Codec, read_size: usize, buffers: &mut impl Buffers) -> &mut [u8] {
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
        let want = match self.buf.get(self.start..self.end).and_then(|b| codec.message_len(b)) {
            Some(len) if len >= LARGE_MESSAGE => len.saturating_sub(live).saturating_add(PAST_A_LARGE_MESSAGE),
            _ => read_size.max(1),
        };
        if self.buf.len() - self.end < want {
            self.make_room(live, want, last_size, buffers);
        }
        let end = self.end;
        self.buf.get_mut(end..end + want).unwrap_or_default()
    }

    /// Makes `want` bytes of room after the `live` unread ones: in place if
    /// the buffer is large enough, else in a larger one, of at least
    /// `last_size` bytes.
    fn make_room(&mut self, live: usize, want: usize, last_size: usize, buffers: &mut impl Buffers) {
        let need = live.saturating_add(want);
        if self.buf.len() >= need {
            self.buf.copy_within(self.start..self.end, 0);
        } else {
            let mut larger = buffers.take(need.max(last_size));
            if let (Some(to), Some(from)) = (larger.get_mut(..live), self.buf.get(self.start..self.end)) {
                to.copy_from_slice(from);
            }
            // Free when `take` gave a vector of its exact capacity, as a
            // pool of initialised buffers does.
            let old = std::mem::replace(&mut self.buf, larger.into_boxed_slice());
            if !old.is_empty() {
                buffers.give(old.into_vec());
            }
        }
        self.start = 0;
        self.end = live;
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
        self.end = self.end.saturating_add(n).min(self.buf.len());
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
        self.start
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
        if after > len {
            return None;
        }
        let mut rest = Vec::new();
        if after > 0 {
            rest = buffers.take(after);
            if let (Some(dst), Some(src)) = (rest.get_mut(..after), self.buf.get(self.start..self.end)) {
                dst.copy_from_slice(src);
            }
        }
        let lent = std::mem::replace(&mut self.buf, rest.into_boxed_slice());
        (self.start, self.end) = if after > 0 { (0, after) } else { (lent.len(), lent.len()) };
        Some(lent.into_vec())
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
        let buf = std::mem::take(&mut self.buf);
        (self.start, self.end) = (buf.len(), buf.len());
        Some(buf.into_vec())
    }
}

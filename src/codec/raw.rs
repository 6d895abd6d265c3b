//! Raw bytes: no framing at all. What arrives is handed over as it arrived,
//! in chunks of at most a set size; what is sent goes out as it is.
//!
//! This is what a plain socket program speaks: `sock.sendall(b"hello")` on
//! one side, `sock.recv(2048)` on the other (simplesockets,
//! tcp-client-serv). TCP keeps no message boundaries, so neither does this
//! format: one `sendall` may arrive as several chunks, and several as one.
//! A chunk is never empty, never longer than the maximum, and never waits
//! for more bytes: the stream as a whole is the message.
//!
//! ```
//! use frameloop::codec::raw;
//!
//! let (chunk, used) = raw::decode(b"hello world", 5).unwrap().unwrap();
//! assert_eq!((chunk, used), (&b"hello"[..], 5));
//! // Nothing to hand over is "need more bytes", never an error.
//! assert_eq!(raw::decode(b"", 5), Ok(None));
//! ```

use super::DecodeError;

/// Default largest chunk: 64 KiB, the size of the reactor's read buffer, so
/// one read is usually one chunk.
///
/// ```
/// use frameloop::codec::raw;
///
/// let big = vec![7u8; raw::DEFAULT_MAX_CHUNK + 1];
/// let (chunk, _) = raw::decode(&big, raw::DEFAULT_MAX_CHUNK).unwrap().unwrap();
/// assert_eq!(chunk.len(), raw::DEFAULT_MAX_CHUNK);
/// ```
pub const DEFAULT_MAX_CHUNK: usize = 64 * 1024;

/// The first chunk of `buf`: its first `max_chunk` bytes (all of them if
/// fewer), borrowed in place, and how many bytes that used.
///
/// A `max_chunk` of 0 is taken as 1: a chunk must use up at least one byte,
/// or a decode loop over it would never end.
///
/// ```
/// use frameloop::codec::raw;
///
/// let (chunk, used) = raw::decode(b"abcdef", 4).unwrap().unwrap();
/// assert_eq!((chunk, used), (&b"abcd"[..], 4));
/// assert_eq!(raw::decode(b"ef", 4), Ok(Some((&b"ef"[..], 2))));
/// assert_eq!(raw::decode(b"", 4), Ok(None));
/// ```
///
/// # Errors
///
/// None: any bytes are valid raw bytes. The `Result` keeps the shape every
/// decoder has (see the [module docs](super)).
#[inline]
pub fn decode(buf: &[u8], max_chunk: usize) -> Result<Option<(&[u8], usize)>, DecodeError> {
    if buf.is_empty() {
        return Ok(None);
    }
    let (chunk, _) = buf.split_at(buf.len().min(max_chunk.max(1)));
    Ok(Some((chunk, chunk.len())))
}

/// How many bytes of `more` fill the chunk whose first bytes are `partial`,
/// up to `max_chunk` (never more than `more` holds).
///
/// The reactor never carries a partial raw chunk over ([`decode`] hands over
/// whatever is there), so this only keeps [`Codec`](super::Codec)'s
/// promise that a carried message takes no more than it needs.
///
/// ```
/// use frameloop::codec::raw;
///
/// assert_eq!(raw::bytes_to_complete(b"ab", b"cdef", 4), 2);
/// assert_eq!(raw::bytes_to_complete(b"ab", b"c", 4), 1);
/// ```
#[inline]
pub fn bytes_to_complete(partial: &[u8], more: &[u8], max_chunk: usize) -> usize {
    max_chunk.max(1).saturating_sub(partial.len()).min(more.len())
}

/// Appends `bytes` to `out` as they are.
///
/// ```
/// use frameloop::codec::raw;
///
/// let mut out = Vec::new();
/// raw::encode(b"hello ", &mut out);
/// raw::encode(b"world", &mut out);
/// assert_eq!(out, b"hello world"); // no framing: the bytes as given
/// ```
pub fn encode(bytes: &[u8], out: &mut Vec<u8>) {
    out.extend_from_slice(bytes);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::Codec;

    fn decode_split(wire: &[u8], cuts: &[usize], max: usize) -> Vec<Vec<u8>> {
        crate::codec::tests::decode_split(Codec::Raw { max_chunk: max }, wire, cuts).unwrap()
    }

    #[test]
    fn a_chunk_is_at_most_max_bytes_borrowed_from_the_input() {
        let buf = b"abcdefg";
        let (chunk, used) = decode(buf, 3).unwrap().unwrap();
        assert_eq!((chunk, used), (&b"abc"[..], 3));
        assert_eq!(chunk.as_ptr(), buf.as_ptr());
        assert_eq!(decode(b"ab", 3), Ok(Some((&b"ab"[..], 2))));
        assert_eq!(decode(b"", 3), Ok(None));
    }

    #[test]
    fn a_maximum_of_zero_still_uses_up_one_byte() {
        assert_eq!(decode(b"xy", 0), Ok(Some((&b"x"[..], 1))));
        assert_eq!(bytes_to_complete(b"", b"xy", 0), 1);
    }

    #[test]
    fn a_read_larger_than_the_maximum_is_several_chunks_in_order() {
        let wire: Vec<u8> = (0..=255).collect();
        let chunks = decode_split(&wire, &[], 100);
        let lens: Vec<usize> = chunks.iter().map(Vec::len).collect();
        assert_eq!(lens, [100, 100, 56]);
        assert_eq!(chunks.concat(), wire);
    }

    #[test]
    fn a_stream_split_at_every_point_arrives_whole_in_chunks_of_at_most_max() {
        let wire = b"plain bytes, \n\r\0 and no codec at all";
        for a in 0..=wire.len() {
            for b in a..=wire.len() {
                let chunks = decode_split(wire, &[a, b], 7);
                assert_eq!(chunks.concat(), wire, "cuts {a} {b}");
                assert!(chunks.iter().all(|c| !c.is_empty() && c.len() <= 7), "cuts {a} {b}: {chunks:?}");
                // Chunks never span a read: each read is cut on its own.
                let ends = [0, a, b, wire.len()];
                let expected: usize = ends.windows(2).map(|w| (w[1] - w[0]).div_ceil(7)).sum();
                assert_eq!(chunks.len(), expected, "cuts {a} {b}");
            }
        }
    }

    #[test]
    fn bytes_to_complete_fills_a_chunk_up_to_the_maximum() {
        assert_eq!(bytes_to_complete(b"ab", b"cdefgh", 4), 2);
        assert_eq!(bytes_to_complete(b"ab", b"c", 4), 1);
        assert_eq!(bytes_to_complete(b"abcd", b"e", 4), 0);
    }

    #[test]
    fn encode_sends_the_bytes_as_they_are() {
        let mut out = b"x".to_vec();
        encode(b"\0\0\0\x05 no header\n", &mut out);
        assert_eq!(out, b"x\0\0\0\x05 no header\n");
    }
}

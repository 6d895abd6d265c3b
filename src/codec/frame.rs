//! Length-prefixed frames: a 4-byte big-endian payload length, then the
//! payload.
//!
//! This is the default wire format of tokio-util's `LengthDelimitedCodec`
//! (`length_field_length = 4`, big-endian, no adjustment, header stripped),
//! so a peer written with tokio interoperates unchanged.
//!
//! The length is checked against the maximum as soon as the 4 header bytes
//! are there, before any of the body is waited for or buffered: a peer that
//! claims 4 GiB costs 4 bytes, not 4 GiB.
//!
//! ```
//! use frameloop::codec::frame;
//!
//! let mut wire = Vec::new();
//! frame::encode(b"hello", &mut wire).unwrap();
//! assert_eq!(wire, b"\0\0\0\x05hello");
//!
//! let (payload, used) = frame::decode(&wire, frame::DEFAULT_MAX_LEN).unwrap().unwrap();
//! assert_eq!((payload, used), (&b"hello"[..], 9));
//! // A prefix is not an error, only "need more bytes".
//! assert_eq!(frame::decode(&wire[..7], frame::DEFAULT_MAX_LEN), Ok(None));
//! ```

use super::DecodeError;

/// Bytes in a frame header.
///
/// ```
/// use frameloop::codec::frame;
///
/// let mut wire = Vec::new();
/// frame::encode(b"abc", &mut wire).unwrap();
/// assert_eq!(wire.len(), frame::HEADER_LEN + 3);
/// ```
pub const HEADER_LEN: usize = 4;

/// Default maximum payload length: 8 MiB, tokio-util's default too.
///
/// ```
/// use frameloop::codec::frame;
///
/// assert_eq!(frame::DEFAULT_MAX_LEN, 8 << 20);
/// assert!(frame::check_len(frame::DEFAULT_MAX_LEN, frame::DEFAULT_MAX_LEN).is_ok());
/// ```
pub const DEFAULT_MAX_LEN: usize = 8 * 1024 * 1024;

/// Largest payload the header can describe at all.
///
/// ```
/// use frameloop::codec::frame;
///
/// assert_eq!(frame::header(frame::MAX_REPRESENTABLE_LEN), Ok([0xff; 4]));
/// ```
pub const MAX_REPRESENTABLE_LEN: usize = u32::MAX as usize;

/// Reads the payload length from the header at the start of `buf`, and
/// checks it against `max_len`.
///
/// ```
/// use frameloop::codec::frame;
///
/// assert_eq!(frame::payload_len(b"\0\0\0\x05hel", 16), Ok(Some(5)));
/// assert_eq!(frame::payload_len(b"\0\0", 16), Ok(None)); // header incomplete
/// assert!(frame::payload_len(b"\0\0\x01\0", 16).is_err()); // 256 > 16
/// ```
///
/// # Errors
///
/// [`DecodeError::FrameTooLarge`] when the header announces more than
/// `max_len` bytes.
#[inline]
pub fn payload_len(buf: &[u8], max_len: usize) -> Result<Option<usize>, DecodeError> {
    let Some(header) = buf.first_chunk::<HEADER_LEN>() else {
        return Ok(None);
    };
    let len = u32::from_be_bytes(*header);
    // u32 always fits in usize on the 32- and 64-bit targets mio supports.
    let len_usize = len as usize;
    check_len(len_usize, max_len)?;
    Ok(Some(len_usize))
}

/// Checks a payload length against `max_len`: the one rule the decoder
/// applies to a header and the encoders apply to what they are asked to
/// send, so that a sender never queues a frame its own framing would refuse.
///
/// ```
/// use frameloop::codec::frame;
///
/// assert!(frame::check_len(16, 16).is_ok());
/// assert!(frame::check_len(17, 16).is_err());
/// ```
///
/// # Errors
///
/// [`DecodeError::FrameTooLarge`] when `len` is above `max_len`, or above
/// what a header can describe ([`MAX_REPRESENTABLE_LEN`]).
#[inline]
pub fn check_len(len: usize, max_len: usize) -> Result<(), DecodeError> {
    let max = max_len.min(MAX_REPRESENTABLE_LEN);
    if len > max {
        return Err(DecodeError::FrameTooLarge { len: len as u64, max });
    }
    Ok(())
}

/// Decodes the first frame of `buf`, returning its payload (borrowed in
/// place) and the number of bytes the whole frame occupied.
///
/// ```
/// use frameloop::codec::frame;
///
/// let wire = b"\0\0\0\x02hi\0\0\0\x03abc";
/// let (first, used) = frame::decode(wire, 16).unwrap().unwrap();
/// assert_eq!((first, used), (&b"hi"[..], 6));
/// let (second, _) = frame::decode(&wire[used..], 16).unwrap().unwrap();
/// assert_eq!(second, b"abc");
/// // A header over the maximum is refused before the body arrives.
/// assert!(frame::decode(b"\0\0\x01\0", 16).is_err());
/// ```
///
/// # Errors
///
/// [`DecodeError::FrameTooLarge`] when the header announces more than
/// `max_len` bytes; the body is not waited for.
#[inline]
pub fn decode(buf: &[u8], max_len: usize) -> Result<Option<(&[u8], usize)>, DecodeError> {
    let Some(len) = payload_len(buf, max_len)? else {
        return Ok(None);
    };
    let Some((_, body)) = buf.split_first_chunk::<HEADER_LEN>() else {
        return Ok(None);
    };
    match body.get(..len) {
        Some(payload) => Ok(Some((payload, HEADER_LEN + len))),
        None => Ok(None),
    }
}

/// The header for a payload of `len` bytes.
///
/// ```
/// use frameloop::codec::frame;
///
/// assert_eq!(frame::header(5), Ok([0, 0, 0, 5]));
/// assert_eq!(frame::header(258), Ok([0, 0, 1, 2]));
/// ```
///
/// # Errors
///
/// [`DecodeError::FrameTooLarge`] when `len` does not fit in 32 bits.
#[inline]
pub fn header(len: usize) -> Result<[u8; HEADER_LEN], DecodeError> {
    match u32::try_from(len) {
        Ok(len) => Ok(len.to_be_bytes()),
        Err(_) => Err(DecodeError::FrameTooLarge { len: len as u64, max: MAX_REPRESENTABLE_LEN }),
    }
}

/// Appends one frame carrying `payload` to `out`.
///
/// ```
/// use frameloop::codec::frame;
///
/// let mut out = Vec::new();
/// frame::encode(b"hi", &mut out).unwrap();
/// frame::encode(b"", &mut out).unwrap();
/// assert_eq!(out, b"\0\0\0\x02hi\0\0\0\0");
/// ```
///
/// # Errors
///
/// [`DecodeError::FrameTooLarge`] when the payload is longer than
/// `u32::MAX` bytes; `out` is left untouched.
pub fn encode(payload: &[u8], out: &mut Vec<u8>) -> Result<(), DecodeError> {
    out.extend_from_slice(&header(payload.len())?);
    out.extend_from_slice(payload);
    Ok(())
}

/// How many bytes of `more` complete the frame whose first bytes are
/// `partial` (all of `more` if the frame is still incomplete after it).
///
/// For a reader that copies into a carry-over buffer only the bytes of the
/// one frame that straddles two reads, decoding the frames after it where
/// they lie. Until the header is known, only the header bytes are taken, so
/// the length can be checked before the body is copied. (The reactor reads
/// into an [`Assembler`](super::Assembler) instead, which needs no copy.)
///
/// ```
/// use frameloop::codec::frame;
///
/// // Two header bytes so far: only the other two are taken, to check the length first.
/// assert_eq!(frame::bytes_to_complete(b"\0\0", b"\0\x05hello\0\0"), 2);
/// // Header known (5 bytes of payload), 2 of them here: 3 more finish the frame.
/// assert_eq!(frame::bytes_to_complete(b"\0\0\0\x05he", b"llo\0\0\0\x01x"), 3);
/// ```
#[inline]
pub fn bytes_to_complete(partial: &[u8], more: &[u8]) -> usize {
    let want = if partial.len() < HEADER_LEN {
        HEADER_LEN - partial.len()
    } else {
        match partial.first_chunk::<HEADER_LEN>() {
            // Saturating: on 32-bit targets a u32 length plus the header
            // does not fit in usize.
            Some(h) => (u32::from_be_bytes(*h) as usize).saturating_add(HEADER_LEN).saturating_sub(partial.len()),
            None => 0,
        }
    };
    want.min(more.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stream(payloads: &[&[u8]]) -> Vec<u8> {
        let mut out = Vec::new();
        for p in payloads {
            encode(p, &mut out).unwrap();
        }
        out
    }

    /// Decodes everything in `buf`, returning the payloads and the unused tail.
    fn decode_all(mut buf: &[u8], max: usize) -> Result<(Vec<Vec<u8>>, usize), DecodeError> {
        let mut items = Vec::new();
        while let Some((payload, used)) = decode(buf, max)? {
            assert!(used >= HEADER_LEN && used <= buf.len());
            items.push(payload.to_vec());
            buf = &buf[used..];
        }
        Ok((items, buf.len()))
    }

    fn decode_split(wire: &[u8], cuts: &[usize], max: usize) -> Result<Vec<Vec<u8>>, DecodeError> {
        crate::codec::tests::decode_split(crate::codec::Codec::Frames { max_len: max }, wire, cuts)
    }

    #[test]
    fn round_trips_payloads_of_every_small_length() {
        for len in 0..300 {
            let payload: Vec<u8> = (0..len).map(|i| i as u8).collect();
            let wire = stream(&[&payload]);
            assert_eq!(wire.len(), HEADER_LEN + len);
            assert_eq!(decode(&wire, DEFAULT_MAX_LEN), Ok(Some((&payload[..], wire.len()))));
        }
    }

    #[test]
    fn zero_length_frames_are_legal() {
        let wire = stream(&[b"", b"", b"x", b""]);
        let (items, rest) = decode_all(&wire, 16).unwrap();
        assert_eq!(items, vec![vec![], vec![], b"x".to_vec(), vec![]]);
        assert_eq!(rest, 0);
    }

    #[test]
    fn length_equal_to_max_is_accepted_and_one_more_is_rejected_from_the_header() {
        let max = 1000;
        let ok = stream(&[&vec![7u8; max]]);
        assert_eq!(decode(&ok, max).unwrap().unwrap().1, HEADER_LEN + max);
        // The header alone is enough to reject max + 1: no body is waited for.
        let too_big = ((max + 1) as u32).to_be_bytes();
        assert_eq!(decode(&too_big, max), Err(DecodeError::FrameTooLarge { len: max as u64 + 1, max }));
    }

    #[test]
    fn u32_max_header_is_rejected_without_its_body() {
        let wire = u32::MAX.to_be_bytes();
        assert_eq!(
            decode(&wire, DEFAULT_MAX_LEN),
            Err(DecodeError::FrameTooLarge { len: u64::from(u32::MAX), max: DEFAULT_MAX_LEN })
        );
        // Even with the largest possible maximum, a missing body is "need more".
        assert_eq!(decode(&wire, MAX_REPRESENTABLE_LEN), Ok(None));
    }

    #[test]
    fn incomplete_input_needs_more_bytes() {
        let wire = stream(&[b"abcdef"]);
        for end in 0..wire.len() {
            assert_eq!(decode(&wire[..end], DEFAULT_MAX_LEN), Ok(None), "prefix of {end}");
        }
    }

    #[test]
    fn stream_split_at_every_point_gives_the_same_frames() {
        let payloads: Vec<Vec<u8>> = vec![b"one".to_vec(), vec![], vec![9; 40], b"last".to_vec()];
        let refs: Vec<&[u8]> = payloads.iter().map(Vec::as_slice).collect();
        let wire = stream(&refs);
        for a in 0..=wire.len() {
            for b in a..=wire.len() {
                assert_eq!(decode_split(&wire, &[a, b], 64).unwrap(), payloads, "cuts {a} {b}");
            }
        }
    }

    #[test]
    fn stream_fed_one_byte_at_a_time_gives_the_same_frames() {
        let payloads: Vec<Vec<u8>> = (0..20).map(|i| vec![i as u8; i * 3]).collect();
        let refs: Vec<&[u8]> = payloads.iter().map(Vec::as_slice).collect();
        let wire = stream(&refs);
        let cuts: Vec<usize> = (1..wire.len()).collect();
        assert_eq!(decode_split(&wire, &cuts, 1024).unwrap(), payloads);
    }

    #[test]
    fn oversized_frame_is_the_same_error_whole_or_split() {
        let mut wire = stream(&[b"fine"]);
        wire.extend_from_slice(&100u32.to_be_bytes());
        wire.extend_from_slice(&[0; 100]);
        let whole = decode_all(&wire, 50).unwrap_err();
        for cut in 0..=wire.len() {
            assert_eq!(decode_split(&wire, &[cut], 50).unwrap_err(), whole, "cut {cut}");
        }
    }

    #[test]
    fn bytes_to_complete_takes_the_header_first_then_exactly_the_body() {
        assert_eq!(bytes_to_complete(&[0, 0], &[0, 5, 1, 2, 3]), 2);
        assert_eq!(bytes_to_complete(&[0, 0, 0, 5], &[1, 2, 3, 4, 5, 6, 7]), 5);
        assert_eq!(bytes_to_complete(&[0, 0, 0, 5, 1], &[2, 3]), 2);
        assert_eq!(bytes_to_complete(&[0, 0, 0, 0], &[1]), 0);
    }

    #[test]
    fn header_rejects_lengths_beyond_u32() {
        assert_eq!(header(5), Ok([0, 0, 0, 5]));
        if usize::BITS > 32 {
            assert!(header(MAX_REPRESENTABLE_LEN + 1).is_err());
        }
    }

    #[test]
    fn the_encoder_refuses_a_frame_its_own_decoder_would_refuse() {
        assert_eq!(check_len(4, 4), Ok(()));
        assert_eq!(check_len(5, 4), Err(DecodeError::FrameTooLarge { len: 5, max: 4 }));
        let codec = crate::codec::Codec::Frames { max_len: 4 };
        let mut out = Vec::new();
        assert!(codec.encode_parts(&[b"hello"], &mut out).is_err());
        assert!(codec.encode_parts(&[b"he", b"llo"], &mut out).is_err());
        assert!(out.is_empty());
        codec.encode_parts(&[b"hell"], &mut out).unwrap();
        assert_eq!(decode(&out, 4), Ok(Some((&b"hell"[..], 8))));
    }
}

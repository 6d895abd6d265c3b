//! Lines: bytes up to `\n`, with a trailing `\r` dropped, so that `nc`,
//! `telnet` and `socat` can talk to a server from a terminal.
//!
//! The line's bytes are handed over as they are (not checked for UTF-8: a
//! chat server may want `String::from_utf8_lossy`, a binary protocol may
//! not). A line longer than the maximum is an error as soon as that is
//! certain, never a silent split into two messages.
//!
//! ```
//! use frameloop::codec::lines;
//!
//! let wire = b"hello\r\nworld\n";
//! let (line, used) = lines::decode(wire, 64).unwrap().unwrap();
//! assert_eq!((line, used), (&b"hello"[..], 7));
//! assert_eq!(lines::decode(b"no newline yet", 64), Ok(None));
//! ```

use super::DecodeError;

/// Default maximum line length: 64 KiB.
///
/// ```
/// use frameloop::codec::lines;
///
/// let long = vec![b'x'; lines::DEFAULT_MAX_LEN + 2];
/// assert!(lines::decode(&long, lines::DEFAULT_MAX_LEN).is_err());
/// ```
pub const DEFAULT_MAX_LEN: usize = 64 * 1024;

/// Position of the first `\n` in `buf`.
///
/// Looks at eight bytes at a time (the classic "has a zero byte" bit trick
/// on `word ^ "\n\n\n\n\n\n\n\n"`), several times faster than a byte loop on
/// long lines, without `unsafe` or a dependency. Borrows can only make
/// false matches in bytes after a true one, and the lowest set bit is the
/// first byte in memory (little-endian load), so the answer is exact.
#[inline]
fn find_newline(buf: &[u8]) -> Option<usize> {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGHS: u64 = u64::from_ne_bytes([0x80; 8]);
    const NEWLINES: u64 = u64::from_ne_bytes([b'\n'; 8]);
    let mut chunks = buf.chunks_exact(8);
    let mut offset = 0;
    for chunk in &mut chunks {
        let Some(bytes) = chunk.first_chunk::<8>() else { break };
        let x = u64::from_le_bytes(*bytes) ^ NEWLINES;
        let zero_bytes = x.wrapping_sub(ONES) & !x & HIGHS;
        if zero_bytes != 0 {
            return Some(offset + (zero_bytes.trailing_zeros() / 8) as usize);
        }
        offset += 8;
    }
    chunks.remainder().iter().position(|&b| b == b'\n').map(|p| offset + p)
}

/// Decodes the first line of `buf`: its bytes without the `\n` or `\r\n`
/// ending, and how many bytes the line and its ending occupied.
///
/// ```
/// use frameloop::codec::lines;
///
/// let wire = b"hi\r\nthere\n";
/// let (first, used) = lines::decode(wire, 16).unwrap().unwrap();
/// assert_eq!((first, used), (&b"hi"[..], 4)); // the \r\n ending is dropped
/// let (second, _) = lines::decode(&wire[used..], 16).unwrap().unwrap();
/// assert_eq!(second, b"there");
/// assert_eq!(lines::decode(b"partial", 16), Ok(None));
/// assert!(lines::decode(b"far too long for four", 4).is_err());
/// ```
///
/// # Errors
///
/// [`DecodeError::LineTooLong`] when the line is, or must become, longer
/// than `max_len` bytes (its ending not counted). For a stream without a
/// newline this is reported as soon as `max_len + 2` bytes have arrived (or
/// `max_len + 1` not ending in `\r`), so a peer cannot make a server buffer
/// more than that.
#[inline]
pub fn decode(buf: &[u8], max_len: usize) -> Result<Option<(&[u8], usize)>, DecodeError> {
    match find_newline(buf) {
        Some(nl) => {
            // `nl` is an index into `buf`: the `else` cannot happen.
            let Some(line) = buf.get(..nl) else { return Ok(None) };
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            if line.len() > max_len {
                return Err(DecodeError::LineTooLong { max: max_len });
            }
            Ok(Some((line, nl + 1)))
        }
        None => {
            // Without a newline, the content is at least `buf` minus a `\r`
            // that a following `\n` could turn into a line ending.
            let least = buf.strip_suffix(b"\r").unwrap_or(buf).len();
            if least > max_len {
                Err(DecodeError::LineTooLong { max: max_len })
            } else {
                Ok(None)
            }
        }
    }
}

/// Checks that `line` arrives as itself once a `\n` is appended: it must
/// hold no `\n` (the peer would read two lines) and must not end in `\r`
/// (the peer would take it for a `\r\n` ending and drop it).
///
/// ```
/// use frameloop::codec::lines;
///
/// assert!(lines::check_sendable(b"hello").is_ok());
/// assert!(lines::check_sendable(b"two\nlines").is_err());
/// assert!(lines::check_sendable(b"ends in cr\r").is_err());
/// ```
///
/// # Errors
///
/// [`DecodeError::Malformed`] saying which.
pub fn check_sendable(line: &[u8]) -> Result<(), DecodeError> {
    check_parts(&[line], usize::MAX)
}

/// Checks that `line` can be sent to a peer whose maximum line length is
/// `max_len`: the rules of [`check_sendable`], and at most `max_len` bytes
/// (the peer's [`decode`] would refuse a longer one).
///
/// ```
/// use frameloop::codec::lines;
///
/// assert!(lines::check_line(b"hello", 64).is_ok());
/// assert!(lines::check_line(b"ends in cr\r", 64).is_err());
/// assert!(lines::check_line(b"two\nlines", 64).is_err());
/// assert!(lines::check_line(b"too long", 4).is_err());
/// ```
///
/// # Errors
///
/// [`DecodeError::Malformed`] as [`check_sendable`];
/// [`DecodeError::LineTooLong`] when `line` is longer than `max_len`.
pub fn check_line(line: &[u8], max_len: usize) -> Result<(), DecodeError> {
    check_parts(&[line], max_len)
}

/// [`check_line`] for the line made of `parts`, concatenated: the one
/// check behind every line encoder (this module's and
/// [`Codec::encode_parts`](super::Codec::encode_parts)), so the rules
/// cannot drift apart.
///
/// ```
/// use frameloop::codec::lines;
///
/// assert!(lines::check_parts(&[b"alice", b": ", b"hi"], 64).is_ok());
/// // The parts are checked as the one line they make.
/// assert!(lines::check_parts(&[b"alice", b": ", b"hi"], 8).is_err());
/// assert!(lines::check_parts(&[b"hi\r", b""], 64).is_err());
/// ```
///
/// # Errors
///
/// As [`check_line`].
pub fn check_parts(parts: &[&[u8]], max_len: usize) -> Result<(), DecodeError> {
    if parts.iter().any(|p| find_newline(p).is_some()) {
        return Err(DecodeError::Malformed("a line to send contains a newline"));
    }
    // The last byte of the line is the last byte of its last non-empty part.
    if parts.iter().rev().find(|p| !p.is_empty()).and_then(|p| p.last()) == Some(&b'\r') {
        return Err(DecodeError::Malformed("a line to send ends in a carriage return"));
    }
    let len = parts.iter().try_fold(0usize, |sum, p| sum.checked_add(p.len()));
    if len.is_none_or(|len| len > max_len) {
        return Err(DecodeError::LineTooLong { max: max_len });
    }
    Ok(())
}

/// Appends `line` and a `\n` to `out`.
///
/// ```
/// use frameloop::codec::lines;
///
/// let mut out = Vec::new();
/// lines::encode(b"hello", &mut out).unwrap();
/// assert_eq!(out, b"hello\n");
/// assert!(lines::encode(b"two\nlines", &mut out).is_err());
/// assert_eq!(out, b"hello\n"); // untouched by the refused line
/// ```
///
/// # Errors
///
/// [`DecodeError::Malformed`] when `line` contains a `\n` or ends in `\r`
/// (see [`check_sendable`]). `out` is left untouched.
pub fn encode(line: &[u8], out: &mut Vec<u8>) -> Result<(), DecodeError> {
    check_sendable(line)?;
    out.reserve(line.len() + 1);
    out.extend_from_slice(line);
    out.push(b'\n');
    Ok(())
}

/// How many bytes of `more` complete the line whose first bytes are
/// `partial`: up to and including the first `\n` in `more`, or all of it.
///
/// ```
/// use frameloop::codec::lines;
///
/// assert_eq!(lines::bytes_to_complete(b"hel", b"lo\nnext"), 3); // "lo\n"
/// assert_eq!(lines::bytes_to_complete(b"hel", b"lo"), 2); // still no newline
/// ```
#[inline]
pub fn bytes_to_complete(partial: &[u8], more: &[u8]) -> usize {
    let _ = partial;
    find_newline(more).map_or(more.len(), |nl| nl + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_split(wire: &[u8], cuts: &[usize], max: usize) -> Result<Vec<Vec<u8>>, DecodeError> {
        crate::codec::tests::decode_split(crate::codec::Codec::Lines { max_len: max }, wire, cuts)
    }

    #[test]
    fn the_word_at_a_time_search_finds_the_first_newline_wherever_it_is() {
        for len in 0..40 {
            for nl in 0..len {
                for extra in [None, Some(nl + 1), Some(len - 1)] {
                    // Bytes around '\n' (0x0a) that trip naive bit tricks.
                    let mut buf: Vec<u8> = (0..len).map(|i| [0x0b, 0x09, 0x8a, 0x00, 0xff][i % 5]).collect();
                    buf[nl] = b'\n';
                    if let Some(e) = extra.filter(|&e| e < len) {
                        buf[e] = b'\n';
                    }
                    assert_eq!(find_newline(&buf), Some(nl), "len {len} newline at {nl}");
                }
            }
            let none: Vec<u8> = (0..len).map(|i| [0x0b, 0x09, 0x8a, 0x00][i % 4]).collect();
            assert_eq!(find_newline(&none), None);
        }
    }

    #[test]
    fn lf_and_crlf_endings_are_both_stripped() {
        assert_eq!(decode(b"a\n", 8), Ok(Some((&b"a"[..], 2))));
        assert_eq!(decode(b"a\r\n", 8), Ok(Some((&b"a"[..], 3))));
        assert_eq!(decode(b"\n", 8), Ok(Some((&b""[..], 1))));
        assert_eq!(decode(b"\r\n", 8), Ok(Some((&b""[..], 2))));
        // Only one trailing \r is an ending; others are content.
        assert_eq!(decode(b"a\r\r\n", 8), Ok(Some((&b"a\r"[..], 4))));
    }

    #[test]
    fn a_line_of_exactly_max_is_accepted_and_one_more_is_an_error() {
        assert_eq!(decode(b"abcd\r\n", 4), Ok(Some((&b"abcd"[..], 6))));
        assert_eq!(decode(b"abcde\n", 4), Err(DecodeError::LineTooLong { max: 4 }));
    }

    #[test]
    fn an_unterminated_line_is_an_error_as_soon_as_it_is_certain() {
        assert_eq!(decode(b"abcd", 4), Ok(None));
        assert_eq!(decode(b"abcd\r", 4), Ok(None));
        assert_eq!(decode(b"abcde", 4), Err(DecodeError::LineTooLong { max: 4 }));
        assert_eq!(decode(b"abcd\r\r", 4), Err(DecodeError::LineTooLong { max: 4 }));
    }

    #[test]
    fn stream_split_at_every_point_gives_the_same_lines() {
        let wire = b"first\r\nsecond\n\nthird line\r\n\r\nx\n";
        let whole = decode_split(wire, &[], 32).unwrap();
        assert_eq!(whole.len(), 6);
        for a in 0..=wire.len() {
            for b in a..=wire.len() {
                assert_eq!(decode_split(wire, &[a, b], 32).unwrap(), whole, "cuts {a} {b}");
            }
        }
    }

    #[test]
    fn stream_fed_one_byte_at_a_time_gives_the_same_lines_and_errors() {
        let wire = b"ok\nfine\r\nthis one is far too long\nnever\n";
        let cuts: Vec<usize> = (1..wire.len()).collect();
        assert_eq!(decode_split(wire, &[], 8), Err(DecodeError::LineTooLong { max: 8 }));
        assert_eq!(decode_split(wire, &cuts, 8), Err(DecodeError::LineTooLong { max: 8 }));
        let good = b"ok\nfine\r\n";
        let cuts: Vec<usize> = (1..good.len()).collect();
        assert_eq!(decode_split(good, &cuts, 8).unwrap(), vec![b"ok".to_vec(), b"fine".to_vec()]);
    }

    #[test]
    fn encode_appends_a_newline_and_refuses_embedded_ones() {
        let mut out = Vec::new();
        encode(b"hi", &mut out).unwrap();
        assert_eq!(out, b"hi\n");
        assert!(encode(b"a\nb", &mut out).is_err());
        assert_eq!(out, b"hi\n");
    }

    #[test]
    fn a_line_ending_in_cr_is_refused_because_the_peer_would_drop_the_cr() {
        let mut out = Vec::new();
        assert!(encode(b"abc\r", &mut out).is_err());
        assert!(out.is_empty());
        // A \r inside the line is content and survives.
        encode(b"a\rb", &mut out).unwrap();
        assert_eq!(decode(&out, 64), Ok(Some((&b"a\rb"[..], 4))));
    }

    #[test]
    fn the_send_check_refuses_what_decode_would_not_give_back_and_the_encoder_runs_it() {
        assert_eq!(check_line(b"abcd", 4), Ok(()));
        assert_eq!(check_line(b"abcde", 4), Err(DecodeError::LineTooLong { max: 4 }));
        assert!(check_line(b"cr\r", 64).is_err());
        // Parts are one line: the `\r` ends it even before an empty part.
        assert!(check_parts(&[b"ab", b"\r", b""], 64).is_err());
        assert!(check_parts(&[b"ab", b"cde"], 4).is_err());
        let codec = crate::codec::Codec::Lines { max_len: 4 };
        let mut out = Vec::new();
        assert!(codec.encode_parts(&[b"ab", b"cde"], &mut out).is_err());
        assert!(codec.encode_parts(&[b"cr\r"], &mut out).is_err());
        assert!(out.is_empty());
        codec.encode_parts(&[b"ab", b"cd"], &mut out).unwrap();
        assert_eq!(decode(&out, 4), Ok(Some((&b"abcd"[..], 5))));
    }
}

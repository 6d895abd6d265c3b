//! Arbitrary bytes through each decoder, until it needs more bytes or fails:
//! every answer must agree with what the bytes say.

use frameloop::codec::{frame, lines, packet, DecodeError};

use super::{assert_borrows, max_len};

/// The payload length a frame header at the start of `buf` announces.
fn announced(buf: &[u8]) -> Option<usize> {
    buf.first_chunk::<{ frame::HEADER_LEN }>().map(|h| u32::from_be_bytes(*h) as usize)
}

/// `frame::decode`: each frame is its header plus exactly the announced
/// payload; "need more" only for a short header or body; an error only for
/// a header over the maximum.
pub fn frame(data: &[u8]) {
    let (max, mut rest) = max_len(data, frame::DEFAULT_MAX_LEN);
    loop {
        let announced = announced(rest);
        match frame::decode(rest, max) {
            Ok(Some((payload, used))) => {
                assert_eq!(announced, Some(payload.len()));
                assert!(payload.len() <= max);
                assert_eq!(used, frame::HEADER_LEN + payload.len());
                assert!(used <= rest.len());
                assert_borrows(payload, rest, frame::HEADER_LEN);
                rest = &rest[used..];
            }
            Ok(None) => {
                if let Some(len) = announced {
                    assert!(len <= max && rest.len() < frame::HEADER_LEN + len);
                }
                return;
            }
            Err(err) => {
                let len = announced.expect("an error before a whole header");
                assert!(len > max);
                assert_eq!(err, DecodeError::FrameTooLarge { len: len as u64, max });
                return;
            }
        }
    }
}

/// `lines::decode`: each line ends at the first `\n`, loses one `\r` before
/// it, and fits the maximum; an error exactly when the line, or any line the
/// bytes can still become, is longer.
pub fn lines(data: &[u8]) {
    let (max, mut rest) = max_len(data, lines::DEFAULT_MAX_LEN);
    loop {
        let newline = rest.iter().position(|&b| b == b'\n');
        // The shortest the first line can end up: a `\r` at the very end may
        // still become part of a `\r\n` ending.
        let until = &rest[..newline.unwrap_or(rest.len())];
        let least = until.strip_suffix(b"\r").unwrap_or(until).len();
        match lines::decode(rest, max) {
            Ok(Some((line, used))) => {
                assert_eq!(Some(used - 1), newline);
                assert_eq!(line.len(), least);
                assert!(line.len() <= max);
                assert_borrows(line, rest, 0);
                rest = &rest[used..];
            }
            Ok(None) => {
                assert!(newline.is_none() && least <= max);
                return;
            }
            Err(err) => {
                assert!(least > max);
                assert_eq!(err, DecodeError::LineTooLong { max });
                return;
            }
        }
    }
}

/// `packet::decode`: the frame layer answers as `frame::decode` does, the
/// fields come from the payload's bytes with the text borrowed in place, and
/// encoding the decoded packet gives back the very same bytes (so nothing,
/// not even a NaN's payload bits, is normalised away).
pub fn packet(data: &[u8]) {
    let (max, mut rest) = max_len(data, frame::DEFAULT_MAX_LEN);
    loop {
        let framed = frame::decode(rest, max);
        match packet::decode(rest, max) {
            Ok(Some((got, used))) => {
                let (payload, frame_used) = framed.unwrap().unwrap();
                assert_eq!(used, frame_used);
                assert_borrows(got.text.as_bytes(), payload, packet::FIXED_LEN);
                assert_eq!(got.text.len(), payload.len() - packet::FIXED_LEN);
                let mut wire = Vec::new();
                got.encode(&mut wire).unwrap();
                assert_eq!(wire, rest[..used]);
                rest = &rest[used..];
            }
            Ok(None) => {
                assert_eq!(framed, Ok(None));
                return;
            }
            Err(err) => {
                match framed {
                    Ok(Some((payload, _))) => {
                        assert!(matches!(err, DecodeError::Malformed(_)));
                        assert_eq!(packet::PacketRef::parse(payload).err(), Some(err));
                    }
                    other => assert_eq!(other, Err(err)),
                }
                return;
            }
        }
    }
}

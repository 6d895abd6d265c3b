//! Split invariance: a stream cut into reads at arbitrary points decodes to
//! the same messages and the same first error as the stream in one piece.
//! Raw bytes have no messages to keep: their chunks follow the reads, so
//! for them the same bytes in the same order, in chunks of at most the
//! maximum, is the property.

use frameloop::codec::{frame, Codec, DecodeError};

use super::max_len;

/// What decoding a stream gave: the messages, then either the number of
/// bytes left over (a valid prefix of a message) or the error that ended it.
#[derive(Debug, PartialEq)]
struct Outcome {
    items: Vec<Vec<u8>>,
    end: Result<usize, DecodeError>,
}

/// Input: a framing byte (mod 3: frames, lines, raw), a maximum length (see
/// [`max_len`]), a cut count byte (mod 16), two bytes per cut, the stream.
pub fn split(data: &[u8]) {
    let Some((&choice, data)) = data.split_first() else {
        return;
    };
    let codec = match choice % 3 {
        0 => Codec::frames(),
        1 => Codec::lines(),
        _ => Codec::raw(),
    };
    let (max, data) = max_len(data, codec.max_len());
    let codec = codec.with_max_len(max);
    let Some((&count, data)) = data.split_first() else {
        return;
    };
    let count = usize::from(count % 16).min(data.len() / 2);
    let (cut_bytes, stream) = data.split_at(2 * count);
    let mut cuts: Vec<usize> =
        cut_bytes.chunks_exact(2).map(|c| usize::from(u16::from_be_bytes([c[0], c[1]])) % (stream.len() + 1)).collect();
    cuts.sort_unstable();

    let (whole, split) = (decode_whole(codec, stream), decode_split(codec, stream, &cuts));
    if let Codec::Raw { max_chunk } = codec {
        for chunks in [&whole.items, &split.items] {
            assert!(chunks.iter().all(|c| !c.is_empty() && c.len() <= max_chunk.max(1)), "chunk sizes");
            assert_eq!(chunks.concat(), stream, "bytes lost, doubled or reordered");
        }
        assert_eq!((whole.end, split.end), (Ok(0), Ok(0)), "raw bytes left over or refused");
    } else {
        assert_eq!(whole, split);
    }
}

fn decode_whole(codec: Codec, mut rest: &[u8]) -> Outcome {
    let mut items = Vec::new();
    loop {
        match codec.decode(rest) {
            Ok(Some((item, used))) => {
                assert!(used > 0 && used <= rest.len(), "used {used} of {}", rest.len());
                items.push(item.to_vec());
                rest = &rest[used..];
            }
            Ok(None) => return Outcome { items, end: Ok(rest.len()) },
            Err(err) => return Outcome { items, end: Err(err) },
        }
    }
}

/// Decodes the reads the way the reactor does: only the message that
/// straddles two reads is copied, into a carry-over buffer, taking just the
/// bytes `bytes_to_complete` says it needs; the rest is decoded in place.
fn decode_split(codec: Codec, stream: &[u8], cuts: &[usize]) -> Outcome {
    let mut items = Vec::new();
    let mut carry: Vec<u8> = Vec::new();
    let mut consumed = 0;
    let mut start = 0;
    for end in cuts.iter().copied().chain([stream.len()]) {
        let mut chunk = &stream[start..end];
        start = end;
        while !carry.is_empty() && !chunk.is_empty() {
            let take = codec.bytes_to_complete(&carry, chunk);
            assert!(take > 0 && take <= chunk.len(), "takes {take} of {}", chunk.len());
            carry.extend_from_slice(&chunk[..take]);
            chunk = &chunk[take..];
            match codec.decode(&carry) {
                Ok(Some((item, used))) => {
                    assert_eq!(used, carry.len(), "took more than the message");
                    items.push(item.to_vec());
                    consumed += used;
                    carry.clear();
                }
                Ok(None) => {}
                Err(err) => return Outcome { items, end: Err(err) },
            }
        }
        loop {
            match codec.decode(chunk) {
                Ok(Some((item, used))) => {
                    items.push(item.to_vec());
                    consumed += used;
                    chunk = &chunk[used..];
                }
                Ok(None) => break,
                Err(err) => return Outcome { items, end: Err(err) },
            }
        }
        carry.extend_from_slice(chunk);
        // What is carried is checked at once, so a peer can make the reactor
        // hold at most one message's worth of bytes.
        match codec.decode(&carry) {
            Ok(None) => {}
            Ok(Some(_)) => panic!("a whole message was left in the carry-over buffer"),
            Err(err) => return Outcome { items, end: Err(err) },
        }
        let bound = match codec {
            Codec::Frames { max_len } => frame::HEADER_LEN.saturating_add(max_len) - 1,
            Codec::Lines { max_len } => max_len.saturating_add(1),
            // A raw chunk never waits for more bytes.
            Codec::Raw { .. } => 0,
        };
        assert!(carry.len() <= bound, "carrying {} bytes", carry.len());
    }
    assert_eq!(consumed + carry.len(), stream.len(), "bytes lost or doubled");
    Outcome { items, end: Ok(carry.len()) }
}

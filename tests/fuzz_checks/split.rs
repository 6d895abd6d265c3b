//! Split invariance: a stream cut into reads at arbitrary points decodes to
//! the same messages and the same first error as the stream in one piece.
//! Raw bytes have no messages to keep: their chunks follow the reads, so
//! for them the same bytes in the same order, in chunks of at most the
//! maximum, is the property.

use frameloop::codec::{frame, Assembler, Buffers, Codec, DecodeError, PAST_A_LARGE_MESSAGE};

use super::max_len;

/// What decoding a stream gave: the messages, then either the number of
/// bytes left over (a valid prefix of a message) or the error that ended it.
#[derive(Debug, PartialEq)]
struct Outcome {
    items: Vec<Vec<u8>>,
    end: Result<usize, DecodeError>,
}

/// Input: a framing byte (mod 3: frames, lines, raw), a maximum length (see
/// [`max_len`]), a cut count byte (its low 4 bits: the cuts; the high 4
/// bits, mod 5: the read size), two bytes per cut, the stream.
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
    let read_size = [1, 3, 16, 64, 4096][usize::from(count >> 4) % 5];
    let count = usize::from(count % 16).min(data.len() / 2);
    let (cut_bytes, stream) = data.split_at(2 * count);
    let mut cuts: Vec<usize> =
        cut_bytes.chunks_exact(2).map(|c| usize::from(u16::from_be_bytes([c[0], c[1]])) % (stream.len() + 1)).collect();
    cuts.sort_unstable();

    let whole = decode_whole(codec, stream);
    let split = decode_split(codec, stream, &cuts, read_size);
    let lent = decode_lent(codec, stream, &cuts);
    if let Codec::Raw { max_chunk } = codec {
        for chunks in [&whole.items, &split.items, &lent.items] {
            assert!(chunks.iter().all(|c| !c.is_empty() && c.len() <= max_chunk.max(1)), "chunk sizes");
            assert_eq!(chunks.concat(), stream, "bytes lost, doubled or reordered");
        }
        assert_eq!((whole.end, split.end, lent.end), (Ok(0), Ok(0), Ok(0)), "raw bytes left over or refused");
    } else {
        assert_eq!(whole, split);
        assert_eq!(whole, lent, "cut from lent slices");
    }
}

/// Decodes the reads as lent slices, as the reactor does with a TLS
/// session's plaintext: each message a slice holds whole is handed out
/// from that slice itself, only what a cut splits is copied in.
fn decode_lent(codec: Codec, stream: &[u8], cuts: &[usize]) -> Outcome {
    let mut items = Vec::new();
    let mut input = Assembler::new();
    let mut buffers = Counted::default();
    let mut start = 0;
    for end in cuts.iter().copied().chain([stream.len()]) {
        let slice = &stream[start..end];
        start = end;
        let mut taken = 0;
        loop {
            let uncopied = input.is_empty();
            match input.next_from(codec, slice, &mut taken, &mut buffers) {
                Ok(Some(item)) => {
                    if uncopied {
                        let within = slice.as_ptr_range();
                        assert!(within.contains(&item.as_ptr()) || item.is_empty(), "a whole message was copied");
                    }
                    items.push(item.to_vec());
                }
                Ok(None) => break,
                Err(err) => return Outcome { items, end: Err(err) },
            }
        }
        assert_eq!(taken, slice.len(), "a slice was not used up");
    }
    let left = input.buffered();
    if let Some(buf) = input.release() {
        buffers.give(buf);
    }
    Outcome { items, end: Ok(left) }
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

/// Buffers from the heap, counting what is out, so the check sees every
/// buffer the assembler takes come back or stay in it.
#[derive(Default)]
struct Counted {
    out: usize,
}

impl Buffers for Counted {
    fn take(&mut self, len: usize) -> Vec<u8> {
        self.out += 1;
        vec![0; len]
    }

    fn give(&mut self, buf: Vec<u8>) {
        assert_eq!(buf.len(), buf.capacity(), "a buffer came back with bytes it does not count");
        self.out -= 1;
    }
}

/// Decodes the reads with the reactor's own assembler, as the reactor
/// does: each read goes into the space the assembler lends (`read_size` at
/// a time, or the rest of a message whose header has come), then every
/// whole message is taken out. A large message that fills its buffer is
/// lent away and given back, as the reactor's echo does.
fn decode_split(codec: Codec, stream: &[u8], cuts: &[usize], read_size: usize) -> Outcome {
    let mut items = Vec::new();
    let mut input = Assembler::new();
    let mut buffers = Counted::default();
    let mut consumed = 0;
    let mut start = 0;
    // What a partial message may hold: at most one message's worth.
    let partial_bound = match codec {
        Codec::Frames { max_len } => frame::HEADER_LEN.saturating_add(max_len) - 1,
        Codec::Lines { max_len } => max_len.saturating_add(1),
        // A raw chunk never waits for more bytes.
        Codec::Raw { .. } => 0,
    };
    for end in cuts.iter().copied().chain([stream.len()]) {
        let mut read = &stream[start..end];
        start = end;
        while !read.is_empty() {
            let space = input.space(codec, read_size, &mut buffers);
            assert!(!space.is_empty(), "no space to read into");
            let n = space.len().min(read.len());
            space[..n].copy_from_slice(&read[..n]);
            input.filled(n);
            read = &read[n..];
            // Memory follows the bytes that arrived, not what a header
            // claims: a header is believed once a sixteenth of its message
            // is here.
            let arrived = stream.len() - read.len();
            assert!(
                input.capacity()
                    <= (16 * arrived + PAST_A_LARGE_MESSAGE).max(arrived + read_size.max(PAST_A_LARGE_MESSAGE)),
                "a buffer of {} bytes after {arrived} arrived, in reads of {read_size}",
                input.capacity()
            );
            loop {
                let at = input.offset();
                match input.next(codec) {
                    Ok(Some(item)) => {
                        items.push(item.to_vec());
                        let used = item.len() + codec.overhead();
                        if let Codec::Lines { .. } = codec {
                            consumed += input.offset() - at;
                            continue;
                        }
                        consumed += used;
                        assert_eq!(input.offset() - at, used, "frames and raw chunks use their wire length");
                        let wire = &stream[consumed - used..consumed];
                        assert_eq!(input.handed_out(at, used), Some(wire), "handed out the wrong bytes");
                        if used >= 64 {
                            if let Some(buf) = input.lend(at, used, &mut buffers) {
                                assert_eq!(&buf[at..at + used], wire, "lent the wrong bytes");
                                buffers.give(buf);
                            }
                        }
                    }
                    Ok(None) => break,
                    Err(err) => return Outcome { items, end: Err(err) },
                }
            }
            assert!(input.buffered() <= partial_bound, "carrying {} bytes", input.buffered());
            // As the reactor does after each read: an idle stream keeps no
            // buffer, a partial message one that fits what arrived.
            match input.release() {
                Some(buf) => buffers.give(buf),
                None => input.fit(codec, &mut buffers),
            }
            let kept = input.buffered();
            assert!(
                input.capacity() <= (16 * kept).max(4096).max(partial_bound.saturating_add(1 + PAST_A_LARGE_MESSAGE)),
                "between reads, a buffer of {} bytes for {kept}",
                input.capacity()
            );
        }
    }
    assert_eq!(consumed + input.buffered(), stream.len(), "bytes lost or doubled");
    let left = input.buffered();
    let held = usize::from(input.capacity() > 0);
    assert_eq!(buffers.out, held, "a buffer was neither kept nor given back");
    Outcome { items, end: Ok(left) }
}

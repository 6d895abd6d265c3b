//! Encode then decode gives back what was encoded, and the gathering
//! encoder writes the same bytes as the plain one.

use frameloop::codec::packet::{self, Packet};
use frameloop::codec::{frame, lines, raw, Codec};

/// Takes one record off the front of `data`: `head_len` bytes, a length
/// byte, then up to that many body bytes.
fn next_record<'a>(data: &mut &'a [u8], head_len: usize) -> Option<(&'a [u8], &'a [u8])> {
    let (head, rest) = data.split_at_checked(head_len + 1)?;
    let (head, len) = head.split_at(head_len);
    let (body, rest) = rest.split_at(usize::from(len[0]).min(rest.len()));
    *data = rest;
    Some((head, body))
}

/// Input: a mode byte (mode % 4: frames, packets, lines, raw), then
/// records.
pub fn roundtrip(data: &[u8]) {
    if let Some((&mode, records)) = data.split_first() {
        match mode % 4 {
            0 => frames(records),
            1 => packets(records),
            2 => lines_(records),
            _ => raw_(records),
        }
    }
}

/// Records as for frames. Raw bytes go out as they are, and come back as
/// chunks that, joined, are everything sent: the boundaries between sends
/// are not kept (TCP keeps none), and a chunk is at most the maximum.
fn raw_(mut data: &[u8]) {
    // The first record's cut byte also picks the chunk size, 1..=256.
    let max = data.first().map_or(1, |&b| usize::from(b) + 1);
    let mut sent = Vec::new();
    let (mut wire, mut gathered) = (Vec::new(), Vec::new());
    while let Some((cut, bytes)) = next_record(&mut data, 1) {
        raw::encode(bytes, &mut wire);
        let (a, b) = bytes.split_at(usize::from(cut[0]) % (bytes.len() + 1));
        Codec::raw().encode_parts(&[a, b], &mut gathered).unwrap();
        sent.extend_from_slice(bytes);
    }
    assert_eq!(wire, gathered);
    assert_eq!(wire, sent, "raw bytes were framed");
    let mut received = Vec::new();
    let mut rest = &wire[..];
    while let Some((chunk, used)) = raw::decode(rest, max).unwrap() {
        assert!(!chunk.is_empty() && chunk.len() <= max && used == chunk.len());
        received.extend_from_slice(chunk);
        rest = &rest[used..];
    }
    assert!(rest.is_empty());
    assert_eq!(received, sent);
}

/// Records as for frames. A line the encoders accept must come back as
/// itself; the ones they refuse (a `\n` inside, a `\r` at the end) are
/// exactly the ones that would not.
fn lines_(mut data: &[u8]) {
    let mut sent = Vec::new();
    let (mut wire, mut gathered) = (Vec::new(), Vec::new());
    while let Some((cut, line)) = next_record(&mut data, 1) {
        let (a, b) = line.split_at(usize::from(cut[0]) % (line.len() + 1));
        let plain = lines::encode(line, &mut wire);
        let parts = Codec::lines().encode_parts(&[a, b], &mut gathered);
        assert_eq!(plain.is_ok(), parts.is_ok(), "the two encoders disagree on {line:?}");
        let refused = line.contains(&b'\n') || line.last() == Some(&b'\r');
        assert_eq!(plain.is_err(), refused, "wrongly refused or accepted {line:?}");
        if plain.is_ok() {
            sent.push(line);
        }
    }
    assert_eq!(wire, gathered);
    let max = sent.iter().map(|l| l.len()).max().unwrap_or(0);
    let mut rest = &wire[..];
    for line in sent {
        let (got, used) = lines::decode(rest, max).unwrap().unwrap();
        assert_eq!(got, line);
        rest = &rest[used..];
    }
    assert!(rest.is_empty());
}

/// Records: a byte saying where to cut the payload in two parts for
/// `encode_parts`, the payload length, the payload.
fn frames(mut data: &[u8]) {
    let mut sent = Vec::new();
    let (mut wire, mut gathered) = (Vec::new(), Vec::new());
    while let Some((cut, payload)) = next_record(&mut data, 1) {
        frame::encode(payload, &mut wire).unwrap();
        let (a, b) = payload.split_at(usize::from(cut[0]) % (payload.len() + 1));
        Codec::frames().encode_parts(&[a, b], &mut gathered).unwrap();
        sent.push(payload);
    }
    assert_eq!(wire, gathered);
    // The largest payload sent is the maximum: exactly max must be accepted.
    let max = sent.iter().map(|p| p.len()).max().unwrap_or(0);
    let mut rest = &wire[..];
    for payload in sent {
        let (got, used) = frame::decode(rest, max).unwrap().unwrap();
        assert_eq!(got, payload);
        rest = &rest[used..];
    }
    assert!(rest.is_empty());
}

/// Records: 8 bytes of integer, 8 of real bits, a boolean byte (bit 0), the
/// text length, the text (made UTF-8 lossily).
fn packets(mut data: &[u8]) {
    let mut sent = Vec::new();
    while let Some((fixed, text)) = next_record(&mut data, packet::FIXED_LEN) {
        let (integer, rest) = fixed.split_first_chunk::<8>().unwrap();
        let (real, boolean) = rest.split_first_chunk::<8>().unwrap();
        sent.push(Packet {
            integer: i64::from_be_bytes(*integer),
            real: f64::from_bits(u64::from_be_bytes(*real)),
            boolean: boolean[0] & 1 == 1,
            text: String::from_utf8_lossy(text).into_owned(),
        });
    }
    let (mut wire, mut gathered) = (Vec::new(), Vec::new());
    for p in &sent {
        let p = p.as_ref();
        p.encode(&mut wire).unwrap();
        Codec::frames().encode_parts(&[&p.fixed_bytes(), p.text.as_bytes()], &mut gathered).unwrap();
    }
    assert_eq!(wire, gathered);
    let max = sent.iter().map(|p| p.as_ref().payload_len()).max().unwrap_or(0);
    let mut rest = &wire[..];
    for p in &sent {
        let (got, used) = packet::decode(rest, max).unwrap().unwrap();
        // Real compared by bits: NaN != NaN, and its bits must survive.
        assert_eq!(got.integer, p.integer);
        assert_eq!(got.real.to_bits(), p.real.to_bits());
        assert_eq!(got.boolean, p.boolean);
        assert_eq!(got.text, p.text);
        rest = &rest[used..];
    }
    assert!(rest.is_empty());
}

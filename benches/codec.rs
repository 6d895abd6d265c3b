//! Codec throughput, counted in wire bytes.
//!
//! Decoding walks one buffer of about 1 MiB of messages from start to end,
//! borrowing each message in place, as the reactor does with a read.
//! Encoding writes the same messages into one reused buffer, as a
//! connection's write batch does.
//!
//! Decoding a frame reads only its header, so for large payloads the figure
//! says how cheaply a read is cut into frames (about the time per frame),
//! not how fast memory is.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use frameloop::codec::packet::{self, PacketRef};
use frameloop::codec::{frame, lines};

/// Wire bytes per iteration: large enough that the per-iteration overhead
/// disappears, small enough to stay in cache so the codec is measured, not
/// memory.
const BUFFER_BYTES: usize = 1 << 20;

/// How many messages of `wire_len` bytes make up one buffer.
fn messages_per_buffer(wire_len: usize) -> usize {
    (BUFFER_BYTES / wire_len).max(16)
}

/// Decodes every message of `wire`, returning how many there were.
fn decode_all<'a, T>(mut wire: &'a [u8], decode: impl Fn(&'a [u8]) -> Option<(T, usize)>) -> usize {
    let mut count = 0;
    while let Some((item, used)) = decode(wire) {
        black_box(item);
        wire = &wire[used..];
        count += 1;
    }
    count
}

fn frames(c: &mut Criterion) {
    for size in [16, 64, 1024, 64 * 1024] {
        let payload = vec![0xA5; size];
        let count = messages_per_buffer(frame::HEADER_LEN + size);
        let mut wire = Vec::new();
        for _ in 0..count {
            frame::encode(&payload, &mut wire).unwrap();
        }
        let bytes = Throughput::Bytes(wire.len() as u64);

        let mut group = c.benchmark_group("frame_decode");
        group.throughput(bytes.clone());
        group.bench_function(BenchmarkId::from_parameter(size), |b| {
            b.iter(|| decode_all(black_box(&wire), |w| frame::decode(w, frame::DEFAULT_MAX_LEN).unwrap()))
        });
        group.finish();

        let mut group = c.benchmark_group("frame_encode");
        group.throughput(bytes);
        let mut out = Vec::with_capacity(wire.len());
        group.bench_function(BenchmarkId::from_parameter(size), |b| {
            b.iter(|| {
                out.clear();
                for _ in 0..count {
                    frame::encode(black_box(&payload), &mut out).unwrap();
                }
                black_box(out.len())
            })
        });
        group.finish();
    }
}

fn lines_and_packets(c: &mut Criterion) {
    let text = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-_";
    assert_eq!(text.len(), 64);

    let mut wire = Vec::new();
    for _ in 0..messages_per_buffer(text.len() + 1) {
        lines::encode(text.as_bytes(), &mut wire).unwrap();
    }
    let mut group = c.benchmark_group("lines_decode");
    group.throughput(Throughput::Bytes(wire.len() as u64));
    group.bench_function(BenchmarkId::from_parameter(text.len()), |b| {
        b.iter(|| decode_all(black_box(&wire), |w| lines::decode(w, lines::DEFAULT_MAX_LEN).unwrap()))
    });
    group.finish();

    let sample = PacketRef { integer: -42, real: 2.5, boolean: true, text };
    let mut wire = Vec::new();
    for _ in 0..messages_per_buffer(frame::HEADER_LEN + sample.payload_len()) {
        sample.encode(&mut wire).unwrap();
    }
    let mut group = c.benchmark_group("packet_decode");
    group.throughput(Throughput::Bytes(wire.len() as u64));
    group.bench_function(BenchmarkId::from_parameter(text.len()), |b| {
        b.iter(|| decode_all(black_box(&wire), |w| packet::decode(w, frame::DEFAULT_MAX_LEN).unwrap()))
    });
    group.finish();
}

criterion_group!(benches, frames, lines_and_packets);
criterion_main!(benches);

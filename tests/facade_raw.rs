//! Raw bytes over loopback, on the engine and through the facade: what
//! arrives is handed over in chunks of at most the set size, every byte in
//! order; what is sent goes out with no framing; a raw `Client` talks to a
//! raw server; the packet calls are refused.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::mpsc::{self, Sender};
use std::sync::{Arc, Mutex};
use std::thread;

use common::*;
use frameloop::{Client, ConnId, Ctx, Error, Handler, Reactor, ReplyMode, Server};

/// Four megabytes that are neither frames nor lines: every byte value,
/// newlines and zero-length headers included, in a pattern that does not
/// repeat every 256 bytes (a lost or doubled chunk shows).
fn payload() -> Vec<u8> {
    (0..4 * 1024 * 1024u32).map(|i| (i ^ (i >> 9)) as u8).collect()
}

/// Writes `data` on a thread of its own while this one reads the same
/// number of bytes back: the echo fills the socket buffers long before the
/// writing ends.
fn echo_through(s: &TcpStream, data: &[u8]) -> Vec<u8> {
    let mut w = s.try_clone().unwrap();
    let sent = data.to_vec();
    let writer = thread::spawn(move || w.write_all(&sent).unwrap());
    let mut back = vec![0; data.len()];
    (&*s).read_exact(&mut back).expect("the echo of everything sent");
    writer.join().unwrap();
    back
}

/// Echoes every chunk and reports its length.
struct RawEcho(Sender<usize>);

impl Handler for RawEcho {
    fn on_frame(&mut self, ctx: &mut Ctx<'_>, conn: ConnId, chunk: &[u8]) {
        let _ = self.0.send(chunk.len());
        let _ = ctx.send(conn, chunk);
    }
}

/// Asserts the chunk lengths fit `max`, add up to `total`, and that reads
/// larger than a chunk were handed over as several.
fn assert_chunks(lens: &[usize], max: usize, total: usize) {
    assert!(lens.iter().all(|&l| l > 0 && l <= max), "a chunk is empty or over {max}: {lens:?}");
    assert_eq!(lens.iter().sum::<usize>(), total);
    assert!(lens.contains(&max), "no read was cut at the chunk size");
}

/// Echoes the payload through an engine raw echo built by `builder`, and
/// gives the sizes of the chunks its handler was handed, and the payload's
/// length.
fn engine_echo_chunks(builder: frameloop::ReactorBuilder) -> (Vec<usize>, usize) {
    let (tx, rx) = mpsc::channel();
    let server = serve(builder, RawEcho(tx));
    let data = payload();
    let s = connect(server.addr);
    assert_eq!(echo_through(&s, &data), data);
    drop(s);
    server.next_close();
    (rx.try_iter().collect(), data.len())
}

#[test]
fn engine_raw_echo_hands_over_chunks_of_at_most_the_size_and_loses_nothing() {
    let (lens, total) = engine_echo_chunks(Reactor::builder().raw().max_frame_len(1000));
    assert_chunks(&lens, 1000, total);
}

#[test]
fn engine_raw_chunks_default_to_64_kib() {
    // A read buffer larger than a chunk, so the default is what cuts.
    let (lens, total) = engine_echo_chunks(Reactor::builder().raw().read_buffer_size(256 * 1024));
    assert!(lens.iter().all(|&l| l > 0 && l <= 64 * 1024), "{lens:?}");
    assert_eq!(lens.iter().sum::<usize>(), total);
}

#[test]
fn engine_raw_sends_the_bytes_as_they_are() {
    struct Greet;
    impl Handler for Greet {
        fn on_open(&mut self, ctx: &mut Ctx<'_>, conn: ConnId) {
            // No header, no newline added, even to bytes that look like them.
            let _ = ctx.send(conn, b"hi\n");
            // Nothing at all, not even an empty frame or line.
            let _ = ctx.send(conn, b"");
            let _ = ctx.send(conn, b"\0\0\0\x09");
            let _ = ctx.close(conn);
        }
        fn on_frame(&mut self, _ctx: &mut Ctx<'_>, _conn: ConnId, _chunk: &[u8]) {}
    }
    let server = serve(Reactor::builder().raw(), Greet);
    let mut s = connect(server.addr);
    assert_eq!(read_to_close(&mut s), b"hi\n\0\0\0\x09");
}

#[test]
fn a_raw_chunk_of_zero_bytes_is_refused_when_building() {
    let built = Reactor::builder().raw().max_frame_len(0).build();
    assert!(matches!(built, Err(Error::Config(_))), "{built:?}");
}

#[test]
fn facade_raw_server_echoes_megabytes_in_chunks_of_at_most_the_size() {
    let lens = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&lens);
    let server = Server::bind("127.0.0.1:0")
        .unwrap()
        .raw()
        .max_frame_len(1000)
        .reply(ReplyMode::Concurrent, move |chunk: &[u8]| {
            seen.lock().unwrap().push(chunk.len());
            chunk.to_vec()
        })
        .unwrap();
    let data = payload();
    let s = connect(server.local_addr().tcp().unwrap());
    assert_eq!(echo_through(&s, &data), data);
    assert_chunks(&lens.lock().unwrap(), 1000, data.len());
}

#[test]
fn a_raw_client_talks_to_a_raw_server() {
    let server =
        Server::bind("127.0.0.1:0").unwrap().raw().reply(ReplyMode::Concurrent, |chunk: &[u8]| chunk.to_vec()).unwrap();
    let client = Client::builder().raw().connect(server.local_addr()).unwrap();
    let data = payload();
    // Sent in pieces that the server will not see as such: only the bytes
    // and their order are kept.
    for piece in data.chunks(100_000) {
        client.send(piece).unwrap();
    }
    let mut back = Vec::with_capacity(data.len());
    while back.len() < data.len() {
        let chunk = client.recv_timeout(PATIENCE).expect("more of the echo");
        assert!(!chunk.is_empty() && chunk.len() <= 64 * 1024, "chunk of {}", chunk.len());
        back.extend_from_slice(&chunk);
    }
    assert_eq!(back.len(), data.len());
    assert!(back == data, "the echo differs from what was sent");
}

#[test]
fn a_raw_client_sends_unframed_bytes_that_a_plain_socket_reads() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let client = Client::builder().raw().connect(listener.local_addr().unwrap()).unwrap();
    let (mut peer, _) = listener.accept().unwrap();
    peer.set_read_timeout(Some(PATIENCE)).unwrap();
    client.send("Hello Server!").unwrap();
    let mut got = [0; 13];
    peer.read_exact(&mut got).unwrap();
    assert_eq!(&got, b"Hello Server!");
    peer.write_all(b"Hello Client!").unwrap();
    let mut reply = Vec::new();
    while reply.len() < 13 {
        reply.extend(client.recv_timeout(PATIENCE).unwrap());
    }
    assert_eq!(reply, b"Hello Client!");
}

#[test]
fn packet_calls_are_refused_on_raw_connections() {
    let server =
        Server::bind("127.0.0.1:0").unwrap().raw().reply(ReplyMode::Concurrent, |chunk: &[u8]| chunk.to_vec()).unwrap();
    let client = Client::builder().raw().connect(server.local_addr()).unwrap();
    assert!(matches!(client.send_packet(1, 2.0, true, "x"), Err(Error::Config(_))));
    assert!(matches!(client.recv_packet_timeout(PATIENCE), Err(Error::Config(_))));
}

//! Helpers for the engine's integration tests, beside the harness in
//! `common`: payloads that say whose and which frame they are, and buffered
//! frame reading for tests that move many frames. A test that declares
//! `mod support;` declares `mod common;` too.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read};
use std::net::{SocketAddr, TcpStream};

use socket2::{Domain, Socket, Type};

use super::common::PATIENCE;

/// A payload of `len` bytes that only frame `seq` of connection `conn` has:
/// its first 8 bytes are `conn` and `seq` (as far as they fit), the rest a
/// pattern of both. A frame delivered to the wrong connection, out of order,
/// truncated or corrupted no longer equals it.
pub fn tagged(conn: u32, seq: u32, len: usize) -> Vec<u8> {
    let mut tag = [0u8; 8];
    tag[..4].copy_from_slice(&conn.to_be_bytes());
    tag[4..].copy_from_slice(&seq.to_be_bytes());
    let salt = conn.wrapping_mul(0x9E37_79B9) ^ seq.wrapping_mul(0x85EB_CA6B);
    (0..len)
        .map(|i| match tag.get(i) {
            Some(&b) => b,
            None => (salt.wrapping_add(i as u32).wrapping_mul(0x9E37_79B1) >> 24) as u8,
        })
        .collect()
}

/// Panics unless `got` is `tagged(conn, seq, len)`, with a message that says
/// what arrived instead (not megabytes of bytes).
pub fn check_tagged(got: &[u8], conn: u32, seq: u32, len: usize) {
    if got != tagged(conn, seq, len).as_slice() {
        let tag = |at: usize| got.get(at..at + 4).map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]));
        panic!(
            "connection {conn}, frame {seq}: expected {len} bytes, got {} bytes tagged as connection {:?} frame {:?}",
            got.len(),
            tag(0),
            tag(4)
        );
    }
}

/// A buffered reader of frames over a clone of `s`: reading frame by frame
/// costs a system call per read buffer instead of two per frame.
pub fn frame_reader(s: &TcpStream) -> BufReader<TcpStream> {
    BufReader::with_capacity(64 * 1024, s.try_clone().expect("clone stream"))
}

/// Reads one frame's payload from a buffered reader.
pub fn read_buffered_frame(r: &mut BufReader<TcpStream>) -> Vec<u8> {
    let mut header = [0u8; 4];
    r.read_exact(&mut header).expect("read frame header");
    let mut payload = vec![0u8; u32::from_be_bytes(header) as usize];
    r.read_exact(&mut payload).expect("read frame payload");
    payload
}

/// Whether the buffered reader is at end of stream (fails the test on
/// anything but end of stream or a reset).
pub fn at_eof(r: &mut BufReader<TcpStream>) -> bool {
    match r.fill_buf() {
        Ok(buf) => buf.is_empty(),
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => true,
        Err(e) => panic!("expected end of stream, got {e}"),
    }
}

/// A client whose receive buffer is `rcvbuf` bytes, set before connecting so
/// that the window it announces stays small: a peer that stops reading
/// fills the server's buffers sooner.
pub fn connect_small_window(addr: SocketAddr, rcvbuf: usize) -> TcpStream {
    let socket = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
    socket.set_recv_buffer_size(rcvbuf).unwrap();
    socket.connect(&addr.into()).expect("connect");
    let s: TcpStream = socket.into();
    s.set_read_timeout(Some(PATIENCE)).unwrap();
    s.set_write_timeout(Some(PATIENCE)).unwrap();
    s.set_nodelay(true).unwrap();
    s
}

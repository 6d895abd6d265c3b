//! A client refused at `max_connections` can be told why: the refusal
//! message arrives whole, then the end of the stream (not a reset), even
//! when the client had sent bytes first; without a message, the refusal is
//! the bare end of stream it always was.

mod common;

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::time::Duration;

use common::*;
use frameloop::codec::{frame, lines};
use frameloop::{Client, Error, Reactor, Server};

fn full_frame() -> Vec<u8> {
    let mut wire = Vec::new();
    frame::encode(b"the server is full", &mut wire).unwrap();
    wire
}

#[test]
fn a_client_over_the_limit_reads_the_refusal_frame_then_the_end_of_the_stream() {
    let server = serve(Reactor::builder().max_connections(1).refusal_message(full_frame()), AcceptControl);
    let mut member = connect(server.addr);
    write_frame(&mut member, b"hi");
    assert_eq!(read_frame(&mut member), b"hi");
    let mut late = connect(server.addr);
    assert_eq!(read_to_eof(&mut late), full_frame());
    // The member was not disturbed.
    write_frame(&mut member, b"still here");
    assert_eq!(read_frame(&mut member), b"still here");
    drop(member);
    let stats = server.stop();
    assert_eq!(stats.rejected_over_limit, 1);
}

#[test]
fn the_refusal_arrives_even_when_the_refused_client_had_sent_bytes_first() {
    let server = serve(Reactor::builder().max_connections(1).refusal_message(full_frame()), AcceptControl);
    let mut member = connect(server.addr);
    write_frame(&mut member, b"pause");
    assert_eq!(read_frame(&mut member), b"pause");
    // Waits in the backlog with its bytes already in its socket: closing
    // that socket with them unread would reset the refusal away.
    let mut late = connect(server.addr);
    for i in 0..100u32 {
        write_frame(&mut late, format!("request {i}").as_bytes());
    }
    std::thread::sleep(Duration::from_millis(50));
    write_frame(&mut member, b"resume");
    assert_eq!(read_frame(&mut member), b"resume");
    assert_eq!(read_to_eof(&mut late), full_frame());
}

#[test]
fn a_lines_reactor_sends_its_refusal_as_a_line() {
    let mut line = Vec::new();
    lines::encode(b"sorry, full", &mut line).unwrap();
    let server = serve(Reactor::builder().lines().max_connections(1).refusal_message(line), AcceptControl);
    let mut member = connect(server.addr);
    member.write_all(b"hi\n").unwrap();
    let mut echo = [0u8; 3];
    member.read_exact(&mut echo).unwrap();
    let mut late = connect(server.addr);
    late.write_all(b"let me in\n").unwrap();
    assert_eq!(read_to_eof(&mut late), b"sorry, full\n");
}

#[test]
fn without_a_refusal_message_a_refused_client_sees_only_the_end_of_the_stream() {
    let server = serve(Reactor::builder().max_connections(1), AcceptControl);
    let mut member = connect(server.addr);
    write_frame(&mut member, b"hi");
    assert_eq!(read_frame(&mut member), b"hi");
    let mut late = connect(server.addr);
    assert_eq!(read_to_close(&mut late), b"");
}

#[test]
fn a_refusal_message_longer_than_a_kibibyte_is_a_configuration_error() {
    let built = Reactor::builder().refusal_message(vec![b'x'; 1025]).build();
    assert!(matches!(built, Err(Error::Config(_))), "{built:?}");
    assert!(Reactor::builder().refusal_message(vec![b'x'; 1024]).build().is_ok());
}

/// A facade server for one client, refusing the others with `message`.
fn facade_server(format: frameloop::Format, message: &str) -> (frameloop::PollingServer, Client) {
    let server =
        Server::bind("127.0.0.1:0").unwrap().format(format).max_connections(1).refuse_with(message).start_polling();
    let server = server.unwrap();
    let member = Client::builder().format(format).connect(server.local_addr()).unwrap();
    wait_until("the member's accept", || server.client_count() == 1);
    (server, member)
}

fn late_raw_client(addr: SocketAddr, first: &[u8]) -> Vec<u8> {
    let mut late = connect(addr);
    late.write_all(first).unwrap();
    read_to_eof(&mut late)
}

#[test]
fn a_facade_lines_server_refuses_with_a_line() {
    let (server, _member) = facade_server(frameloop::Format::Lines, "Sorry, the room is full");
    assert_eq!(late_raw_client(server.local_addr().tcp().unwrap(), b"hello\n"), b"Sorry, the room is full\n");
    // A facade client reads it as a message, then is disconnected.
    let late = Client::builder().lines().connect(server.local_addr()).unwrap();
    assert_eq!(late.recv_timeout(PATIENCE).unwrap(), b"Sorry, the room is full");
    assert!(matches!(late.recv_timeout(PATIENCE), Err(Error::Disconnected(_))));
}

#[test]
fn a_facade_frames_server_refuses_with_a_frame() {
    let (server, _member) = facade_server(frameloop::Format::Frames, "the server is full");
    assert_eq!(late_raw_client(server.local_addr().tcp().unwrap(), &frame(b"hello")), full_frame());
}

#[test]
fn a_facade_packets_server_refuses_with_a_packet() {
    let (server, _member) = facade_server(frameloop::Format::Packets, "full");
    let late = Client::builder().packets().connect(server.local_addr()).unwrap();
    assert_eq!(late.recv_packet_timeout(PATIENCE).unwrap().text, "full");
}

#[test]
fn a_refusal_the_format_cannot_carry_makes_start_fail() {
    let bad = Server::bind("127.0.0.1:0").unwrap().lines().refuse_with("two\nlines").start_polling();
    assert!(bad.is_err());
    let long = "x".repeat(2000);
    assert!(Server::bind("127.0.0.1:0").unwrap().refuse_with(long).start_polling().is_err());
}

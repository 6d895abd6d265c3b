//! The facade's event queues are bounded by flow control: a caller that
//! takes nothing makes the sending peer wait (TCP fills up) instead of
//! letting memory grow; once the caller takes its events, everything
//! arrives, whole and in order.

mod common;

use std::io::Write;
use std::net::TcpListener;
use std::time::Duration;

use common::{connect, flood_until_blocked, frame, read_frame, write_frame, PATIENCE};
use frameloop::{Client, Event, Server};

/// The queue bound the tests set: far below what loopback sockets buffer.
const LIMIT: usize = 64 * 1024;
/// Each message's payload: a sequence number, padded.
const SIZE: usize = 1024;
/// Gives up flooding here: without flow control every byte would be
/// taken into memory and the flood would never be made to wait.
const CAP: u32 = 64 * 1024; // 64 MiB of messages

fn message(seq: u32) -> Vec<u8> {
    let mut payload = seq.to_be_bytes().to_vec();
    payload.resize(SIZE, 0x5A);
    payload
}

fn seq_of(data: &[u8]) -> u32 {
    assert_eq!(data.len(), SIZE, "a message arrived cut or merged");
    u32::from_be_bytes(data[..4].try_into().unwrap())
}

#[test]
fn a_polling_server_nobody_polls_makes_the_client_wait_then_delivers_everything() {
    let server = Server::bind("127.0.0.1:0").unwrap().max_queued_bytes(LIMIT).start_polling().unwrap();
    let mut flood = connect(server.local_addr().tcp().unwrap());
    let (sent, rest) = flood_until_blocked(&mut flood, CAP, |i| frame(&message(i)));

    // What waits in the queue is the bound plus at most one message.
    let waiting: Vec<Event> = server.drain_events();
    let bytes: usize = waiting.iter().map(|e| if let Event::Received { data, .. } = e { data.len() } else { 0 }).sum();
    assert!(bytes <= LIMIT + SIZE, "{bytes} bytes of messages queued with a limit of {LIMIT}");

    // Another client is not shut out: its message is queued too.
    let mut other = connect(server.local_addr().tcp().unwrap());
    write_frame(&mut other, b"me too");

    // Taking the events lets the flood through, in order, to the last byte.
    let mut flood_writer = flood.try_clone().unwrap();
    let writer = std::thread::spawn(move || flood_writer.write_all(&rest).unwrap());
    let mut next = 0;
    let (mut flood_id, mut other_id) = (None, None);
    let mut waiting = waiting.into_iter();
    while next < sent || other_id.is_none() {
        let event = match waiting.next() {
            Some(event) => event,
            None => server.wait_event(PATIENCE).expect("the paused client was never resumed"),
        };
        match event {
            Event::Received { client, data, .. } if data == b"me too" => other_id = Some(client),
            Event::Received { client, data, .. } => {
                assert_eq!(seq_of(&data), next, "messages lost or reordered");
                next += 1;
                flood_id = Some(client);
            }
            _ => {}
        }
    }
    assert_eq!(next, sent);
    writer.join().unwrap();
    // Both clients are still served.
    for (id, s) in [(flood_id, &mut flood), (other_id, &mut other)] {
        server.send(id.unwrap(), "still here").unwrap();
        assert_eq!(read_frame(s), b"still here");
    }
    server.stop().unwrap();
}

#[test]
fn a_client_whose_caller_does_not_recv_makes_the_server_wait_then_gets_everything() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let client = Client::builder().max_queued_bytes(LIMIT).connect(listener.local_addr().unwrap()).unwrap();
    let (mut peer, _) = listener.accept().unwrap();
    peer.set_write_timeout(Some(PATIENCE)).unwrap();
    let (sent, rest) = flood_until_blocked(&mut peer, CAP, |i| frame(&message(i)));
    let writer = std::thread::spawn(move || {
        peer.write_all(&rest).unwrap();
        // Then one round trip, proving the connection is still fine.
        peer.set_read_timeout(Some(PATIENCE)).unwrap();
        read_frame(&mut peer)
    });
    for i in 0..sent {
        let data = client.recv_timeout(PATIENCE).expect("the paused connection was never resumed");
        assert_eq!(seq_of(&data), i, "messages lost or reordered");
    }
    client.send("done").unwrap();
    assert_eq!(writer.join().unwrap(), b"done");
    assert!(client.recv_timeout(Duration::from_millis(50)).is_err());
}

//! A message the codec would refuse is refused by `send` itself, at once,
//! on every path (handle and callbacks, server and client): an `Err` from
//! the call, nothing in `errors()` later, and the connection still usable.

mod common;

use std::sync::mpsc::{self, Sender};

use frameloop::{Client, ClientCtx, ClientHandler, ConnId, Error, Event, Message, Server, ServerCtx, ServerHandler};

use common::{next_connected, PATIENCE};

/// Longest message the servers and clients below accept.
const MAX: usize = 32;

/// What no lines peer could receive as sent, and what is too long for any.
fn bad_lines() -> Vec<Vec<u8>> {
    vec![b"ends in cr\r".to_vec(), b"ends in crlf\r\n".to_vec(), b"two\nlines".to_vec(), vec![b'x'; MAX + 1]]
}

fn received(server: &frameloop::PollingServer) -> Vec<u8> {
    loop {
        match server.wait_event(PATIENCE) {
            Some(Event::Received { data, .. }) => return data,
            Some(Event::Error(e)) => panic!("an error reached the events: {e}"),
            Some(_) => {}
            None => panic!("nothing received"),
        }
    }
}

#[test]
fn a_polling_lines_server_refuses_what_the_codec_refuses_at_once() {
    let server = Server::bind("127.0.0.1:0").unwrap().lines().max_frame_len(MAX).start_polling().unwrap();
    let client = Client::builder().lines().max_frame_len(MAX).connect(server.local_addr()).unwrap();
    let id = next_connected(&server);
    for bad in bad_lines() {
        assert!(server.send(id, &bad).is_err(), "send accepted {bad:?}");
        assert!(server.broadcast(&bad).is_err(), "broadcast accepted {bad:?}");
        assert!(server.broadcast_except(id, &bad).is_err(), "broadcast_except accepted {bad:?}");
    }
    // One trailing newline is still dropped, and exactly the maximum passes.
    server.send(id, "fine\n").unwrap();
    server.send(id, vec![b'y'; MAX]).unwrap();
    assert_eq!(client.recv_timeout(PATIENCE).unwrap(), b"fine");
    assert_eq!(client.recv_timeout(PATIENCE).unwrap(), vec![b'y'; MAX]);
    assert!(server.errors().is_empty(), "{:?}", server.errors());
    assert!(client.is_connected());
}

#[test]
fn a_polling_frames_server_refuses_a_message_longer_than_its_maximum_at_once() {
    let server = Server::bind("127.0.0.1:0").unwrap().max_frame_len(MAX).start_polling().unwrap();
    let client = Client::builder().max_frame_len(MAX).connect(server.local_addr()).unwrap();
    let id = next_connected(&server);
    let long = vec![0u8; MAX + 1];
    assert!(matches!(server.send(id, &long), Err(Error::FrameTooLarge { .. })));
    assert!(server.broadcast(&long).is_err());
    assert!(server.broadcast_except(id, &long).is_err());
    server.send(id, vec![1u8; MAX]).unwrap();
    assert_eq!(client.recv_timeout(PATIENCE).unwrap(), vec![1u8; MAX]);
    assert!(server.errors().is_empty(), "{:?}", server.errors());
}

#[test]
fn a_packets_server_and_client_count_the_whole_packet_against_the_maximum() {
    let server = Server::bind("127.0.0.1:0").unwrap().packets().max_frame_len(MAX).start_polling().unwrap();
    let client = Client::builder().packets().max_frame_len(MAX).connect(server.local_addr()).unwrap();
    let id = next_connected(&server);
    // 17 bytes of fixed fields: a 16-byte text makes 33.
    let text = "t".repeat(16);
    assert!(server.send_packet(id, 1, 0.0, true, &text).is_err());
    assert!(server.send(id, &text).is_err());
    assert!(client.send_packet(1, 0.0, true, &text).is_err());
    assert!(client.send(&text).is_err());
    server.send_packet(id, 1, 0.0, true, "ok").unwrap();
    assert_eq!(client.recv_packet_timeout(PATIENCE).unwrap().text, "ok");
    assert!(server.errors().is_empty() && client.errors().is_empty());
}

#[test]
fn a_polling_client_refuses_what_the_codec_refuses_at_once() {
    let server = Server::bind("127.0.0.1:0").unwrap().lines().max_frame_len(MAX).start_polling().unwrap();
    let client = Client::builder().lines().max_frame_len(MAX).connect(server.local_addr()).unwrap();
    next_connected(&server);
    for bad in bad_lines() {
        assert!(client.send(&bad).is_err(), "send accepted {bad:?}");
    }
    client.send("still here").unwrap();
    assert_eq!(received(&server), b"still here");
    assert!(client.errors().is_empty(), "{:?}", client.errors());
    assert!(server.errors().is_empty(), "{:?}", server.errors());
}

/// Tries every bad line from a callback, reports what each call said, and
/// then sends "after" to show the connection still works.
struct TriesBadLines {
    told: Sender<(bool, usize, usize)>,
}

impl ServerHandler for TriesBadLines {
    fn on_connect(&mut self, server: &mut ServerCtx<'_>, client: ConnId, _addr: frameloop::Addr) -> Result<(), Error> {
        let all_refused = bad_lines().iter().all(|bad| server.send(client, bad).is_err());
        let reached = bad_lines().iter().map(|bad| server.broadcast(bad) + server.broadcast_except(client, bad)).sum();
        let _ = self.told.send((all_refused, reached, server.client_count()));
        server.send(client, "after")
    }

    fn on_receive(&mut self, _server: &mut ServerCtx<'_>, _client: ConnId, _msg: Message<'_>) -> Result<(), Error> {
        Ok(())
    }
}

#[test]
fn a_callback_server_refuses_what_the_codec_refuses_at_once() {
    let (told, heard) = mpsc::channel();
    let server = Server::bind("127.0.0.1:0").unwrap().lines().max_frame_len(MAX).start(TriesBadLines { told }).unwrap();
    let client = Client::builder().lines().max_frame_len(MAX).connect(server.local_addr()).unwrap();
    let (all_refused, reached, clients) = heard.recv_timeout(PATIENCE).unwrap();
    assert!(all_refused, "a callback's send accepted a bad line");
    assert_eq!((reached, clients), (0, 1), "a bad line was broadcast");
    assert_eq!(client.recv_timeout(PATIENCE).unwrap(), b"after");
    assert!(server.errors().is_empty(), "{:?}", server.errors());
}

/// The client-side twin of [`TriesBadLines`].
struct ClientTriesBadLines {
    told: Sender<bool>,
}

impl ClientHandler for ClientTriesBadLines {
    fn on_connect(&mut self, client: &mut ClientCtx<'_>, _addr: frameloop::Addr) -> Result<(), Error> {
        let all_refused = bad_lines().iter().all(|bad| client.send(bad).is_err());
        let _ = self.told.send(all_refused);
        client.send("after")
    }

    fn on_receive(&mut self, _client: &mut ClientCtx<'_>, _msg: Message<'_>) -> Result<(), Error> {
        Ok(())
    }
}

#[test]
fn a_callback_client_refuses_what_the_codec_refuses_at_once() {
    let server = Server::bind("127.0.0.1:0").unwrap().lines().max_frame_len(MAX).start_polling().unwrap();
    let (told, heard) = mpsc::channel();
    let client = Client::builder()
        .lines()
        .max_frame_len(MAX)
        .callbacks(ClientTriesBadLines { told })
        .connect(server.local_addr())
        .unwrap();
    assert!(heard.recv_timeout(PATIENCE).unwrap(), "a callback's send accepted a bad line");
    assert_eq!(received(&server), b"after");
    assert!(client.errors().is_empty(), "{:?}", client.errors());
    assert!(server.errors().is_empty(), "{:?}", server.errors());
}

//! pyspeak's packets through the facade: four values both ways, plain text
//! as a packet's text, and a malformed packet closing only its sender.

mod common;

use std::io::Write;
use std::sync::mpsc::{self, Sender};

use common::{connect, frame, read_frame, read_to_close, write_frame, SharedOutput, PATIENCE};
use frameloop::codec::packet::{Packet, PacketRef};
use frameloop::{Client, CloseReason, ConnId, Error, Event, Message, Server, ServerCtx, ServerHandler};

/// Answers every packet with its values changed, so both directions show.
struct Doubler {
    closes: Sender<CloseReason>,
}

impl ServerHandler for Doubler {
    fn on_receive(&mut self, server: &mut ServerCtx<'_>, client: ConnId, msg: Message<'_>) -> Result<(), Error> {
        let p = msg.packet().expect("a packets server gets packets");
        let text = format!("{}{}", p.text, p.text);
        server.send_packet(client, p.integer * 2, p.real * 2.0, !p.boolean, &text)
    }

    fn on_disconnect(
        &mut self,
        _server: &mut ServerCtx<'_>,
        _client: ConnId,
        _addr: frameloop::Addr,
        reason: &CloseReason,
    ) -> Result<(), Error> {
        let _ = self.closes.send(reason.clone());
        Ok(())
    }
}

fn packet_payload(p: &Packet) -> Vec<u8> {
    let mut out = Vec::new();
    p.as_ref().write_payload(&mut out);
    out
}

#[test]
fn all_four_values_travel_both_ways_between_server_and_client() {
    let (tx, _closes) = mpsc::channel();
    let server = Server::bind("127.0.0.1:0").unwrap().packets().start(Doubler { closes: tx }).unwrap();
    let client = Client::builder().packets().connect(server.local_addr()).unwrap();
    client.send_packet(21, 1.25, false, "ab").unwrap();
    let got = client.recv_packet_timeout(PATIENCE).unwrap();
    assert_eq!(got, Packet { integer: 42, real: 2.5, boolean: true, text: "abab".into() });
    // Long text: bounded only by the maximum frame length, not 1000 characters.
    let long = "é".repeat(5000);
    client.send_packet(0, 0.0, true, &long).unwrap();
    assert_eq!(client.recv_packet_timeout(PATIENCE).unwrap().text, long.repeat(2));
    // Plain send is a packet with only text, like pyspeak's send(string=...).
    client.send("t").unwrap();
    assert_eq!(client.recv_timeout(PATIENCE).unwrap(), b"tt", "recv gives a packet's text");
}

#[test]
fn packet_calls_on_a_frames_server_or_client_are_refused() {
    let server = Server::bind("127.0.0.1:0").unwrap().start_polling().unwrap();
    let client = Client::connect(server.local_addr()).unwrap();
    assert!(matches!(client.send_packet(1, 1.0, true, "x"), Err(Error::Config(_))));
    assert!(matches!(client.recv_packet_timeout(PATIENCE), Err(Error::Config(_))));
    let id = match server.wait_event(PATIENCE) {
        Some(Event::Connected { client, .. }) => client,
        other => panic!("{other:?}"),
    };
    assert!(matches!(server.send_packet(id, 1, 1.0, true, "x"), Err(Error::Config(_))));
}

#[test]
fn a_polling_server_gets_owned_packets_and_sends_them_to_raw_peers() {
    let server = Server::bind("127.0.0.1:0").unwrap().packets().start_polling().unwrap();
    let mut s = connect(server.local_addr().tcp().unwrap());
    let sent = Packet { integer: -7, real: f64::MAX, boolean: true, text: "pyspeak".into() };
    write_frame(&mut s, &packet_payload(&sent));
    let id = match server.wait_event(PATIENCE) {
        Some(Event::Connected { client, .. }) => client,
        other => panic!("{other:?}"),
    };
    match server.wait_event(PATIENCE) {
        Some(Event::Packet { client, packet, .. }) => {
            assert_eq!(client, id);
            assert_eq!(packet, sent);
        }
        other => panic!("expected the packet, got {other:?}"),
    }
    server.send_packet(id, 1, 0.5, false, "back").unwrap();
    server.send(id, "text only").unwrap();
    let back = read_frame(&mut s);
    assert_eq!(
        PacketRef::parse(&back).unwrap().to_owned(),
        Packet { integer: 1, real: 0.5, boolean: false, text: "back".into() }
    );
    let text_only = read_frame(&mut s);
    assert_eq!(
        PacketRef::parse(&text_only).unwrap().to_owned(),
        Packet { text: "text only".into(), ..Packet::default() }
    );
    assert!(matches!(server.send(id, [0xff, 0xfe]), Err(Error::Codec(_))), "packet text must be UTF-8");
}

#[test]
fn a_malformed_packet_disconnects_its_sender_with_the_reason_and_no_one_else() {
    let (tx, closes) = mpsc::channel();
    let server = Server::bind("127.0.0.1:0").unwrap().packets().start(Doubler { closes: tx }).unwrap();
    let good = Client::builder().packets().connect(server.local_addr()).unwrap();
    for (bad_payload, why) in [
        (vec![0u8; 5], "shorter than its 17 fixed bytes"),
        (
            {
                let mut p = vec![0u8; 17];
                p[16] = 9;
                p
            },
            "neither 0 nor 1",
        ),
        (
            {
                let mut p = vec![0u8; 17];
                p.extend_from_slice(&[0xc3, 0x28]);
                p
            },
            "UTF-8",
        ),
    ] {
        let mut bad = connect(server.local_addr().tcp().unwrap());
        bad.write_all(&frame(&bad_payload)).unwrap();
        read_to_close(&mut bad);
        match closes.recv_timeout(PATIENCE).unwrap() {
            CloseReason::Malformed(reason) => assert!(reason.contains(why), "{reason}"),
            other => panic!("expected a malformed-packet close, got {other:?}"),
        }
    }
    good.send_packet(1, 1.0, true, "still fine").unwrap();
    assert_eq!(good.recv_packet_timeout(PATIENCE).unwrap().integer, 2);
}

#[test]
fn a_polling_server_sees_the_malformed_packet_as_the_disconnect_reason() {
    let server = Server::bind("127.0.0.1:0").unwrap().packets().start_polling().unwrap();
    let mut bad = connect(server.local_addr().tcp().unwrap());
    write_frame(&mut bad, b"short");
    read_to_close(&mut bad);
    loop {
        match server.wait_event(PATIENCE).expect("the disconnect") {
            Event::Connected { .. } => {}
            Event::Disconnected { reason, .. } => {
                assert!(matches!(reason, CloseReason::Malformed(_)), "{reason:?}");
                assert!(reason.is_peer_fault());
                break;
            }
            other => panic!("a malformed packet must not be delivered: {other:?}"),
        }
    }
}

#[test]
fn a_client_closes_on_a_malformed_packet_from_its_server() {
    // A frames server that speaks garbage to a packets client.
    let server = Server::bind("127.0.0.1:0").unwrap().start_polling().unwrap();
    let client = Client::builder().packets().connect(server.local_addr()).unwrap();
    let id = match server.wait_event(PATIENCE) {
        Some(Event::Connected { client, .. }) => client,
        other => panic!("{other:?}"),
    };
    server.send(id, "not a packet").unwrap();
    match client.recv_packet_timeout(PATIENCE) {
        Err(Error::Disconnected(CloseReason::Malformed(_))) => {}
        other => panic!("expected a malformed-packet disconnect, got {other:?}"),
    }
}

#[path = "../examples/chat_box.rs"]
#[allow(dead_code)]
mod chat_box;

/// Waits until what `out` printed contains `what`.
fn wait_printed(out: &SharedOutput, what: &str) -> String {
    let deadline = std::time::Instant::now() + PATIENCE;
    loop {
        let text = out.text();
        if text.contains(what) {
            return text;
        }
        assert!(std::time::Instant::now() < deadline, "never printed {what:?}; printed: {text:?}");
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
}

#[test]
fn the_chat_box_example_sends_each_line_to_every_other_client() {
    let server = chat_box::start_server("127.0.0.1:0").unwrap();
    let addr = server.local_addr().to_string();
    let outs: Vec<SharedOutput> = (0..3).map(|_| SharedOutput::default()).collect();
    let clients: Vec<Client> = outs.iter().map(|o| chat_box::connect_client(&addr, o.clone()).unwrap()).collect();
    let deadline = std::time::Instant::now() + PATIENCE;
    while server.client_count() < 3 {
        assert!(std::time::Instant::now() < deadline);
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    clients[0].send("hi from 0").unwrap();
    wait_printed(&outs[1], "> hi from 0");
    wait_printed(&outs[2], "> hi from 0");
    clients[1].send("hi from 1").unwrap();
    let zero = wait_printed(&outs[0], "> hi from 1");
    assert!(!zero.contains("> hi from 0"), "the sender got its own line: {zero}");
    clients[2].stop().unwrap();
    server.stop().unwrap();
    wait_printed(&outs[0], "connection closed");
}

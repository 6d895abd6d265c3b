//! TLS through the facade (feature `tls`): callback and polling servers,
//! the `Client` (replies from another thread included), mutual TLS refusal,
//! and a client that does not trust the server.
#![cfg(feature = "tls")]

mod common;

use std::time::Duration;

use common::PATIENCE;
use frameloop::tls::{TlsClientFiles, TlsServerFiles};
use frameloop::{Client, CloseReason, ConnId, Error, Event, Message, Server, ServerCtx, ServerHandler};

const CERTS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/tls");

fn file(name: &str) -> String {
    format!("{CERTS}/{name}")
}

fn server_files() -> TlsServerFiles {
    TlsServerFiles::new(file("server.pem"), file("server.key"))
}

fn trusting() -> TlsClientFiles {
    TlsClientFiles::new(file("ca.pem"))
}

struct Shout;
impl ServerHandler for Shout {
    fn on_receive(&mut self, server: &mut ServerCtx<'_>, client: ConnId, msg: Message<'_>) -> Result<(), Error> {
        server.send(client, msg.bytes().to_ascii_uppercase())
    }
}

#[test]
fn a_callback_server_answers_a_tls_client_in_lines_and_frames() {
    for lines in [false, true] {
        let builder = Server::bind("127.0.0.1:0").unwrap().tls(server_files()).unwrap();
        let builder = if lines { builder.lines() } else { builder };
        let server = builder.start(Shout).unwrap();
        let client = Client::builder().tls(trusting(), "localhost").unwrap();
        let client = if lines { client.lines() } else { client };
        let client = client.connect(server.local_addr()).unwrap();
        assert!(client.is_connected(), "connect returns once the handshake is done");
        for msg in ["hello", "over tls"] {
            client.send(msg).unwrap();
            assert_eq!(client.recv_timeout(PATIENCE).unwrap(), msg.to_ascii_uppercase().as_bytes());
        }
        let big = vec![b'x'; 1 << 20];
        if !lines {
            client.send(&big).unwrap();
            assert_eq!(client.recv_timeout(PATIENCE).unwrap().len(), big.len());
        }
    }
}

#[test]
fn a_polling_server_answers_tls_clients_from_the_program_thread() {
    const CLIENTS: usize = 20;
    let server = Server::bind("127.0.0.1:0").unwrap().tls(server_files()).unwrap().threads(2).start_polling().unwrap();
    let clients: Vec<Client> = (0..CLIENTS)
        .map(|_| Client::builder().tls(trusting(), "localhost").unwrap().connect(server.local_addr()).unwrap())
        .collect();
    for (i, c) in clients.iter().enumerate() {
        c.send(format!("client {i}")).unwrap();
    }
    let mut answered = 0;
    while answered < CLIENTS {
        match server.wait_event(PATIENCE) {
            Some(Event::Received { client, data, .. }) => {
                server.send(client, data).unwrap();
                answered += 1;
            }
            Some(_) => {}
            None => panic!("only {answered} messages arrived"),
        }
    }
    for (i, c) in clients.iter().enumerate() {
        assert_eq!(c.recv_timeout(PATIENCE).unwrap(), format!("client {i}").as_bytes());
    }
}

#[test]
fn mutual_tls_refuses_a_client_without_a_certificate_and_the_program_never_sees_it() {
    let files = server_files().client_ca(file("ca.pem"));
    let server = Server::bind("127.0.0.1:0").unwrap().tls(files).unwrap().start_polling().unwrap();
    let good = Client::builder()
        .tls(trusting().client_cert(file("client.pem"), file("client.key")), "localhost")
        .unwrap()
        .connect(server.local_addr())
        .unwrap();
    let stranger = Client::builder().tls(trusting(), "localhost").unwrap().connect(server.local_addr()).unwrap();
    // TLS 1.3: the client is done before the server checked it; the refusal
    // comes as the end of its connection.
    match stranger.recv_timeout(PATIENCE) {
        Err(Error::Disconnected(CloseReason::Tls(why))) => assert!(why.contains("alert"), "{why}"),
        other => panic!("expected a TLS refusal, got {other:?}"),
    }
    good.send("let me in").unwrap();
    let mut connected = 0;
    loop {
        match server.wait_event(PATIENCE) {
            Some(Event::Connected { .. }) => connected += 1,
            Some(Event::Received { client, data, .. }) => {
                server.send(client, data).unwrap();
                break;
            }
            Some(Event::Disconnected { reason, .. }) => panic!("the program saw a refused client: {reason}"),
            Some(_) => {}
            None => panic!("the good client's message never came"),
        }
    }
    assert_eq!(connected, 1, "only the client with a certificate reaches the program");
    assert_eq!(good.recv_timeout(PATIENCE).unwrap(), b"let me in");
}

#[test]
fn a_client_that_does_not_trust_the_server_is_told_why() {
    let server = Server::bind("127.0.0.1:0").unwrap().tls(server_files()).unwrap().start(Shout).unwrap();
    // Trusts another CA only.
    let client = Client::builder()
        .tls(TlsClientFiles::new(file("other-ca.pem")), "localhost")
        .unwrap()
        .connect(server.local_addr());
    let client = client.unwrap();
    assert!(!client.is_connected());
    match client.recv_timeout(Duration::from_secs(2)) {
        Err(Error::Disconnected(CloseReason::Tls(why))) => assert!(why.contains("certificate"), "{why}"),
        other => panic!("expected a TLS failure, got {other:?}"),
    }
}

#[test]
fn missing_files_are_named_at_once() {
    match Server::bind("127.0.0.1:0").unwrap().tls(TlsServerFiles::new("no-such.pem", "no-such.key")) {
        Err(Error::Config(why)) => assert!(why.contains("no-such.pem"), "{why}"),
        other => panic!("expected a configuration error, got {:?}", other.map(|_| ())),
    }
    assert!(matches!(Client::builder().tls(TlsClientFiles::new("no-ca.pem"), "localhost"), Err(Error::Config(_))));
}

//! TLS through the facade (feature `tls`): callback and polling servers,
//! the `Client` (replies from another thread included), mutual TLS refusal,
//! and a client that does not trust the server.
#![cfg(feature = "tls")]

mod common;

use common::PATIENCE;
use frameloop::tls::{TlsClientFiles, TlsServerFiles};
use frameloop::{Client, CloseReason, ConnId, Error, Event, Message, Server, ServerCtx, ServerHandler};

use common::tls_files::{client_files as trusting, file, server_files};

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
    // TLS 1.3: the client is done before the server checked it; the refusal
    // comes as the end of its connection, or fails the connect if it came
    // in the same read as the end of the handshake.
    let refusal = Client::builder()
        .tls(trusting(), "localhost")
        .unwrap()
        .connect(server.local_addr())
        .and_then(|stranger| stranger.recv_timeout(PATIENCE));
    match refusal {
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
    match client {
        Err(Error::Disconnected(CloseReason::Tls(why))) => assert!(why.contains("certificate"), "{why}"),
        other => panic!("expected a TLS failure, got {:?}", other.map(|_| ())),
    }
    // And a name the certificate does not carry.
    match Client::builder().tls(trusting(), "elsewhere.example").unwrap().connect(server.local_addr()) {
        Err(Error::Disconnected(CloseReason::Tls(why))) => assert!(why.contains("certificate"), "{why}"),
        other => panic!("expected a TLS failure, got {:?}", other.map(|_| ())),
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

#[test]
fn a_polling_server_answers_every_half_closing_tls_peer() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    const PEERS: usize = 200;
    let server = Server::bind("127.0.0.1:0").unwrap().tls(server_files()).unwrap().start_polling().unwrap();
    let addr = server.local_addr().tcp().unwrap();
    let config = trusting().load().unwrap();
    let lost = std::thread::scope(|scope| {
        scope.spawn(|| {
            for event in server.events() {
                if let Event::Received { client, data, .. } = event {
                    server.send(client, data.to_ascii_uppercase()).unwrap();
                }
            }
        });
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let lost = runtime.block_on(async {
            let peers: Vec<_> = (0..PEERS)
                .map(|i| {
                    let config = config.clone();
                    tokio::spawn(async move {
                        let tcp = tokio::net::TcpStream::connect(addr).await.ok()?;
                        let name = tokio_rustls::rustls::pki_types::ServerName::try_from("localhost").ok()?;
                        let mut tls = tokio_rustls::TlsConnector::from(config).connect(name, tcp).await.ok()?;
                        let msg = format!("peer {i}");
                        let mut wire = (msg.len() as u32).to_be_bytes().to_vec();
                        wire.extend_from_slice(msg.as_bytes());
                        tls.write_all(&wire).await.ok()?;
                        tls.shutdown().await.ok()?; // close_notify: a half-close
                        let mut back = Vec::new();
                        tokio::time::timeout(PATIENCE, tls.read_to_end(&mut back)).await.ok()?.ok()?;
                        Some(back[4..] == *msg.to_ascii_uppercase().as_bytes())
                    })
                })
                .collect();
            let mut lost = 0;
            for peer in peers {
                if peer.await.ok().flatten() != Some(true) {
                    lost += 1;
                }
            }
            lost
        });
        server.stop().unwrap();
        lost
    });
    assert_eq!(lost, 0, "replies lost to half-closing TLS peers");
}

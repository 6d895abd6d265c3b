//! TLS through the engine (feature `tls`): a tokio-rustls client (a TLS
//! driver that is not ours) and our own client against `listen_tls`, mutual
//! TLS, SNI and ALPN seen by the handler, close_notify, backpressure, and the
//! hostile cases, each closing only its own connection with a reason.
#![cfg(feature = "tls")]

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::mpsc;
use std::sync::Arc;
use std::time::Duration;

use common::PATIENCE;
use frameloop::tls::{TlsInfo, TlsServerFiles};
use frameloop::{Addr, CloseReason, ConnId, Ctx, Handler, Reactor, Remote};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use common::tls_files::{client_files, file, server_files};

fn frame(payload: &[u8]) -> Vec<u8> {
    let mut f = (payload.len() as u32).to_be_bytes().to_vec();
    f.extend_from_slice(payload);
    f
}

/// What the server's handler saw, reported to the test thread.
#[derive(Debug)]
enum Seen {
    Open(Option<TlsInfo>),
    Close(CloseReason),
}

/// Echoes every message; reports opens (with what TLS agreed) and closes.
struct Echo(mpsc::Sender<Seen>);

impl Handler for Echo {
    fn on_open(&mut self, ctx: &mut Ctx<'_>, conn: ConnId) {
        let _ = self.0.send(Seen::Open(ctx.tls(conn)));
    }
    fn on_frame(&mut self, ctx: &mut Ctx<'_>, conn: ConnId, frame: &[u8]) {
        if frame == b"bye" {
            let _ = ctx.send(conn, b"bye");
            let _ = ctx.close(conn);
        } else {
            let _ = ctx.send(conn, frame);
        }
    }
    fn on_close(&mut self, _: &mut Ctx<'_>, _: ConnId, reason: CloseReason) {
        let _ = self.0.send(Seen::Close(reason));
    }
}

/// A TLS echo server on its own thread; stopped when dropped.
struct TlsServer {
    addr: Addr,
    seen: mpsc::Receiver<Seen>,
    remote: Remote,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl TlsServer {
    fn start(files: TlsServerFiles, builder: frameloop::ReactorBuilder) -> TlsServer {
        let mut reactor = builder.build().unwrap();
        let addr = reactor.listen_tls("127.0.0.1:0", files.load().unwrap()).unwrap();
        let remote = reactor.remote();
        let (tx, seen) = mpsc::channel();
        let thread = std::thread::spawn(move || reactor.run(&mut Echo(tx)).unwrap());
        TlsServer { addr, seen, remote, thread: Some(thread) }
    }

    fn next(&self) -> Seen {
        self.seen.recv_timeout(PATIENCE).expect("the server saw nothing")
    }

    /// The close of the connection the server saw next, skipping opens.
    fn next_close(&self) -> CloseReason {
        loop {
            if let Seen::Close(reason) = self.next() {
                return reason;
            }
        }
    }
}

impl Drop for TlsServer {
    fn drop(&mut self) {
        self.remote.stop();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
}

/// A tokio-rustls client: sends `frames`, then "bye", and reads to the end.
/// Returns what it read, or the error that ended the read.
fn tokio_client(addr: Addr, config: Arc<frameloop::tls::ClientConfig>, frames: &[Vec<u8>]) -> std::io::Result<Vec<u8>> {
    let mut wire: Vec<u8> = frames.iter().flat_map(|f| frame(f)).collect();
    wire.extend(frame(b"bye"));
    let addr = addr.tcp().unwrap();
    runtime().block_on(async move {
        let tcp = tokio::net::TcpStream::connect(addr).await?;
        let name = rustls_name("localhost");
        let mut tls = tokio_rustls::TlsConnector::from(config).connect(name, tcp).await?;
        tls.write_all(&wire).await?;
        let mut back = Vec::new();
        tokio::time::timeout(PATIENCE, tls.read_to_end(&mut back)).await??;
        Ok(back)
    })
}

fn rustls_name(name: &str) -> tokio_rustls::rustls::pki_types::ServerName<'static> {
    tokio_rustls::rustls::pki_types::ServerName::try_from(name.to_owned()).unwrap()
}

fn echoed(frames: &[Vec<u8>]) -> Vec<u8> {
    let mut wire: Vec<u8> = frames.iter().flat_map(|f| frame(f)).collect();
    wire.extend(frame(b"bye"));
    wire
}

#[test]
fn a_tokio_rustls_client_is_echoed_and_the_close_is_a_clean_close_notify() {
    let server = TlsServer::start(server_files().alpn(["echo/1"]), Reactor::builder());
    let frames = vec![b"hello".to_vec(), vec![9u8; 64 * 1024], vec![1u8; 1 << 20]];
    let config = client_files().alpn(["echo/1"]).load().unwrap();
    // read_to_end fails with UnexpectedEof on a close without close_notify.
    let back = tokio_client(server.addr.clone(), config, &frames).expect("a clean TLS close");
    assert!(back == echoed(&frames), "{} bytes back of {}", back.len(), echoed(&frames).len());
    match server.next() {
        Seen::Open(Some(info)) => {
            assert_eq!(info.server_name.as_deref(), Some("localhost"));
            assert_eq!(info.alpn_protocol.as_deref(), Some(&b"echo/1"[..]));
            assert_eq!(info.version, "TLSv1_3");
            assert!(!info.peer_certificate);
        }
        other => panic!("expected an open with TLS, got {other:?}"),
    }
    assert_eq!(server.next_close(), CloseReason::ClosedLocally);
}

/// Our own TLS client in a reactor: sends `payloads`, then "bye"; returns
/// what came back and how the connection closed.
struct Sender {
    payloads: Vec<Vec<u8>>,
    got: Vec<Vec<u8>>,
    opened: Option<TlsInfo>,
    closed: Option<CloseReason>,
}

impl Handler for Sender {
    fn on_open(&mut self, ctx: &mut Ctx<'_>, conn: ConnId) {
        self.opened = ctx.tls(conn);
        for p in &self.payloads {
            ctx.send(conn, p).unwrap();
        }
        ctx.send(conn, b"bye").unwrap();
    }
    fn on_frame(&mut self, _: &mut Ctx<'_>, _: ConnId, frame: &[u8]) {
        self.got.push(frame.to_vec());
    }
    fn on_close(&mut self, ctx: &mut Ctx<'_>, _: ConnId, reason: CloseReason) {
        self.closed = Some(reason);
        ctx.stop();
    }
}

fn our_client(addr: &Addr, config: &Arc<frameloop::tls::ClientConfig>, payloads: Vec<Vec<u8>>) -> Sender {
    let mut reactor = Reactor::new().unwrap();
    reactor.connect_tls(addr, config, "localhost").unwrap();
    let mut sender = Sender { payloads, got: Vec::new(), opened: None, closed: None };
    reactor.run(&mut sender).unwrap();
    sender
}

#[test]
fn our_client_and_our_server_agree_on_every_size_and_the_server_name() {
    let server = TlsServer::start(server_files(), Reactor::builder());
    let payloads: Vec<Vec<u8>> = [64usize, 16 * 1024 - 5, 16 * 1024, 64 * 1024, 1 << 20]
        .iter()
        .map(|&n| (0..n).map(|i| (i % 251) as u8).collect())
        .collect();
    let sender = our_client(&server.addr, &client_files().load().unwrap(), payloads.clone());
    let mut expected = payloads;
    expected.push(b"bye".to_vec());
    let lens = |v: &[Vec<u8>]| v.iter().map(Vec::len).collect::<Vec<_>>();
    assert_eq!(lens(&sender.got), lens(&expected));
    assert!(sender.got == expected, "the echoes differ from what was sent");
    // The server closed after "bye", with close_notify: an end of stream.
    assert_eq!(sender.closed, Some(CloseReason::PeerClosed));
    assert!(sender.opened.is_some_and(|i| i.peer_certificate), "the client saw the server's certificate");
}

#[test]
fn mutual_tls_takes_a_client_of_the_ca_and_refuses_the_others() {
    let server = TlsServer::start(server_files().client_ca(file("ca.pem")), Reactor::builder());
    let good = client_files().client_cert(file("client.pem"), file("client.key")).load().unwrap();
    let back = tokio_client(server.addr.clone(), good, &[b"with a certificate".to_vec()]).unwrap();
    assert_eq!(back, echoed(&[b"with a certificate".to_vec()]));
    assert!(matches!(server.next(), Seen::Open(Some(TlsInfo { peer_certificate: true, .. }))));
    assert_eq!(server.next_close(), CloseReason::ClosedLocally);

    let foreign = client_files().client_cert(file("other-client.pem"), file("other-client.key")).load().unwrap();
    for (what, config) in [("no certificate", client_files().load().unwrap()), ("another CA's", foreign)] {
        assert!(tokio_client(server.addr.clone(), config, &[b"let me in".to_vec()]).is_err(), "{what}: let in");
        match server.next() {
            Seen::Close(CloseReason::Tls(why)) => assert!(why.contains("certificate"), "{what}: {why}"),
            other => panic!("{what}: expected a TLS refusal and no open, got {other:?}"),
        }
    }
}

/// A plain TCP peer that says `bytes` and waits for the server to close.
fn raw_peer(addr: &Addr, bytes: &[u8]) -> Vec<u8> {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(PATIENCE)).unwrap();
    s.write_all(bytes).unwrap();
    let mut got = Vec::new();
    let _ = s.read_to_end(&mut got);
    got
}

#[test]
fn garbage_instead_of_a_client_hello_costs_only_its_connection() {
    let server = TlsServer::start(server_files(), Reactor::builder());
    let alert = raw_peer(&server.addr, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(alert.first(), Some(&21), "a TLS alert record comes back: {alert:?}");
    match server.next() {
        Seen::Close(CloseReason::Tls(why)) => assert!(why.contains("handshake"), "{why}"),
        other => panic!("expected a TLS close and no open, got {other:?}"),
    }
    // The server still serves.
    let back = tokio_client(server.addr.clone(), client_files().load().unwrap(), &[]).unwrap();
    assert_eq!(back, echoed(&[]));
}

#[test]
fn a_handshake_left_half_done_is_closed_at_the_handshake_deadline() {
    let builder = Reactor::builder().handshake_timeout(Duration::from_millis(200));
    let server = TlsServer::start(server_files(), builder);
    // A TLS record header announcing a ClientHello, and half of it.
    let mut s = TcpStream::connect(&server.addr).unwrap();
    s.write_all(&[22, 3, 1, 0, 200, 1, 0, 0, 196, 3, 3]).unwrap();
    match server.next() {
        Seen::Close(reason) => assert_eq!(reason, CloseReason::HandshakeTimeout),
        other => panic!("expected a handshake timeout and no open, got {other:?}"),
    }
    s.set_read_timeout(Some(PATIENCE)).unwrap();
    let mut rest = Vec::new();
    let _ = s.read_to_end(&mut rest); // closed: end of stream or reset
}

#[test]
fn an_oversized_record_is_refused_and_a_record_cut_midway_ends_the_stream() {
    let server = TlsServer::start(server_files(), Reactor::builder());
    // A handshake record claiming 60,000 bytes: over TLS's 16 KiB + 2 KiB.
    let mut big = vec![22, 3, 1, 0xEA, 0x60];
    big.extend(std::iter::repeat_n(0u8, 100));
    raw_peer(&server.addr, &big);
    match server.next() {
        Seen::Close(CloseReason::Tls(why)) => assert!(!why.is_empty()),
        other => panic!("expected a TLS close, got {other:?}"),
    }
    // An application data record cut midway: after a real handshake the
    // client sends half a record and closes. The stream ends there.
    let addr = server.addr.tcp().unwrap();
    let config = client_files().load().unwrap();
    runtime().block_on(async move {
        let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
        let mut tls = tokio_rustls::TlsConnector::from(config).connect(rustls_name("localhost"), tcp).await.unwrap();
        tls.write_all(&frame(b"whole")).await.unwrap();
        let mut echo = [0u8; 9];
        tls.read_exact(&mut echo).await.unwrap();
        let (mut tcp, _) = tls.into_inner();
        tcp.write_all(&[23, 3, 3, 0, 100, 1, 2, 3]).await.unwrap();
        tcp.shutdown().await.unwrap();
        let mut rest = Vec::new();
        let _ = tokio::time::timeout(PATIENCE, tcp.read_to_end(&mut rest)).await;
    });
    assert!(matches!(server.next(), Seen::Open(..)));
    let reason = server.next_close();
    assert!(
        matches!(reason, CloseReason::PeerClosed | CloseReason::Tls(_)),
        "a cut record ends the stream or is refused: {reason:?}"
    );
}

/// Answers a client's message with four of 1 MiB, and reports drains.
struct Flood(mpsc::Sender<&'static str>);

impl Handler for Flood {
    fn on_frame(&mut self, ctx: &mut Ctx<'_>, conn: ConnId, _: &[u8]) {
        for _ in 0..4 {
            ctx.send(conn, &vec![7u8; 1 << 20]).unwrap();
        }
        let queued = ctx.queued(conn).unwrap();
        assert!(queued >= 4 << 20, "{queued}");
    }
    fn on_drain(&mut self, _: &mut Ctx<'_>, _: ConnId) {
        let _ = self.0.send("drained");
    }
}

#[test]
fn a_slow_tls_reader_backpressures_and_drains() {
    let mut reactor = Reactor::builder().watermarks(64 * 1024, 1 << 20).build().unwrap();
    let addr = reactor.listen_tls("127.0.0.1:0", server_files().load().unwrap()).unwrap();
    let remote = reactor.remote();
    let (tx, drains) = mpsc::channel();
    let server = std::thread::spawn(move || reactor.run(&mut Flood(tx)).unwrap());
    let config = client_files().load().unwrap();
    let addr = addr.tcp().unwrap();
    let got = runtime().block_on(async move {
        let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
        let mut tls = tokio_rustls::TlsConnector::from(config).connect(rustls_name("localhost"), tcp).await.unwrap();
        // Two messages: the server reads the second with its queue over
        // the high watermark, and pauses reading until it drains.
        let mut two = frame(b"go");
        two.extend(frame(b"again"));
        tls.write_all(&two).await.unwrap();
        // Slow: nothing read for a while, so the server's queue fills.
        tokio::time::sleep(Duration::from_millis(300)).await;
        let mut got = vec![0u8; 8 * (4 + (1 << 20))];
        tokio::time::timeout(PATIENCE, tls.read_exact(&mut got)).await.unwrap().unwrap();
        got
    });
    assert!(got.chunks(4 + (1 << 20)).all(|m| m[..4] == (1u32 << 20).to_be_bytes() && m[4..].iter().all(|&b| b == 7)));
    assert_eq!(drains.recv_timeout(PATIENCE).unwrap(), "drained");
    remote.stop();
    server.join().unwrap();
}

#[test]
fn a_tls_peer_that_half_closes_with_close_notify_still_gets_every_reply() {
    let server = TlsServer::start(server_files(), Reactor::builder());
    let config = client_files().load().unwrap();
    let addr = server.addr.tcp().unwrap();
    let frames: Vec<Vec<u8>> = (0..50).map(|i| format!("message {i}").into_bytes()).collect();
    let wire: Vec<u8> = frames.iter().flat_map(|f| frame(f)).collect();
    let expected = wire.clone();
    let back = runtime().block_on(async move {
        let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
        let mut tls = tokio_rustls::TlsConnector::from(config).connect(rustls_name("localhost"), tcp).await.unwrap();
        tls.write_all(&wire).await.unwrap();
        // close_notify, then the TCP write side: a half-close over TLS.
        tls.shutdown().await.unwrap();
        let mut back = Vec::new();
        tokio::time::timeout(PATIENCE, tls.read_to_end(&mut back)).await.unwrap().unwrap();
        back
    });
    assert!(back == expected, "{} bytes back of {}", back.len(), expected.len());
    assert!(matches!(server.next(), Seen::Open(_)));
    assert_eq!(server.next_close(), CloseReason::PeerClosed);
}

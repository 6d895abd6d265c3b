//! Against a TLS stack that is not ours: tokio-rustls, on its own thread.
//! The same rustls underneath, but its own driving of it (its `poll_read`
//! and `poll_write`, its shutdown): a mistake of ours in the order of
//! reads, writes and flushes shows as a stall or a cut stream here.

use std::time::{Duration, Instant};

use mio::{Events, Interest, Poll, Token};
use rustls::pki_types::ServerName;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::super::{EndOfStream, TlsSession};
use super::{cert, client_files, pattern, server_files, Side, DEADLINE};

/// Serves `side` on its events, calling `after` after each turn, until
/// `until` holds.
fn drive(side: &mut Side, mut after: impl FnMut(&mut Side), until: impl Fn(&Side) -> bool) {
    let mut poll = Poll::new().unwrap();
    poll.registry().register(&mut side.sock, Token(0), Interest::READABLE | Interest::WRITABLE).unwrap();
    let mut events = Events::with_capacity(4);
    let start = Instant::now();
    while !until(side) {
        assert!(start.elapsed() < DEADLINE, "stalled");
        assert!(side.error.is_none(), "{:?}", side.error);
        poll.poll(&mut events, Some(Duration::from_millis(100))).unwrap();
        if !events.is_empty() {
            side.serve();
        }
        after(side);
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
}

#[test]
fn a_tokio_rustls_client_is_echoed_by_our_server() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let config = client_files().alpn(["echo/1"]).load().unwrap();
    let sent = pattern(300_000, 5);
    let to_send = sent.clone();
    let peer = std::thread::spawn(move || {
        runtime().block_on(async move {
            let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
            let name = ServerName::try_from("localhost").unwrap();
            let tls = tokio_rustls::TlsConnector::from(config).connect(name, tcp).await.unwrap();
            let (mut rd, mut wr) = tokio::io::split(tls);
            let write = async {
                wr.write_all(&to_send).await.unwrap();
                // close_notify, then the TCP write side.
                wr.shutdown().await.unwrap();
            };
            let mut back = Vec::new();
            let read = rd.read_to_end(&mut back);
            let ((), got) = tokio::join!(write, read);
            got.map(|_| back)
        })
    });
    let (sock, _) = listener.accept().unwrap();
    sock.set_nonblocking(true).unwrap();
    let mut server = Side::new(sock, TlsSession::server(server_files().alpn(["echo/1"]).load().unwrap()).unwrap());
    let mut echoed = 0;
    drive(
        &mut server,
        |s| {
            if s.received.len() > echoed {
                let fresh = s.received[echoed..].to_vec();
                s.outbox.extend_from_slice(&fresh);
                echoed = s.received.len();
                s.write();
            }
            if s.ended.is_some() && !s.close_after {
                s.close_after = true;
                s.write();
            }
        },
        |s| s.close_after && s.sent == s.outbox.len() && s.tls.buffered() == 0,
    );
    assert_eq!(server.ended, Some(EndOfStream::CloseNotify), "tokio-rustls's shutdown sends close_notify");
    assert_eq!(server.tls.alpn_protocol(), Some(&b"echo/1"[..]));
    let back = peer.join().unwrap().expect("the echo ended with our close_notify");
    assert!(back == sent, "{} bytes came back, not what was sent", back.len());
}

#[test]
fn our_client_with_a_certificate_talks_to_a_tokio_rustls_server() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let config = server_files().client_ca(cert("ca.pem")).load().unwrap();
    let peer = std::thread::spawn(move || {
        runtime().block_on(async move {
            let listener = tokio::net::TcpListener::from_std({
                listener.set_nonblocking(true).unwrap();
                listener
            })
            .unwrap();
            let (tcp, _) = listener.accept().await.unwrap();
            let mut tls = tokio_rustls::TlsAcceptor::from(config).accept(tcp).await.unwrap();
            let mut got = Vec::new();
            tls.read_to_end(&mut got).await.unwrap();
            tls.write_all(b"bye").await.unwrap();
            tls.shutdown().await.unwrap();
            got
        })
    });
    let sock = std::net::TcpStream::connect(addr).unwrap();
    sock.set_nonblocking(true).unwrap();
    let name = ServerName::try_from("localhost").unwrap();
    let config = client_files().client_cert(cert("client.pem"), cert("client.key")).load().unwrap();
    let mut client = Side::new(sock, TlsSession::client(config, name).unwrap());
    let sent = pattern(100_000, 9);
    client.outbox = sent.clone();
    client.close_after = true;
    drive(&mut client, |_| {}, |c| c.ended.is_some());
    assert_eq!(client.ended, Some(EndOfStream::CloseNotify));
    assert_eq!(client.received, b"bye");
    let got = peer.join().unwrap();
    assert!(got == sent, "the server got {} bytes, not what was sent", got.len());
}

//! A session's behaviour on the wire: handshake, data, ends, refusals.

use std::io::{self, IoSlice, Write};
use std::net::Shutdown;
use std::time::{Duration, Instant};

use rustls::ProtocolVersion;

use super::super::{Drained, EndOfStream, TlsFailure, TlsSession, DEFAULT_BUFFER_LIMIT};
use super::{cert, client_files, pattern, read_raw, server_files, socket_pair, Pair};

fn exchange(pair: &mut Pair, len: usize) {
    let to_server = pattern(len, 1);
    let to_client = pattern(len, 2);
    pair.client.outbox = to_server.clone();
    pair.server.outbox = to_client.clone();
    pair.open();
    pair.run(|p| {
        p.client.error.is_some()
            || p.server.error.is_some()
            || (p.server.received.len() >= len && p.client.received.len() >= len)
    });
    assert!(pair.client.error.is_none(), "client: {:?}", pair.client.error);
    assert!(pair.server.error.is_none(), "server: {:?}", pair.server.error);
    assert!(pair.server.received == to_server, "server got {} bytes, not what was sent", pair.server.received.len());
    assert!(pair.client.received == to_client, "client got {} bytes, not what was sent", pair.client.received.len());
    assert_eq!(pair.client.tls.buffered(), 0);
    assert_eq!(pair.server.tls.buffered(), 0);
}

#[test]
fn sixty_four_bytes_both_ways_over_tls13() {
    let mut pair = Pair::new(client_files().load().unwrap(), server_files().load().unwrap());
    exchange(&mut pair, 64);
    assert_eq!(pair.server.tls.protocol_version(), Some(ProtocolVersion::TLSv1_3));
    assert!(!pair.server.tls.is_handshaking() && !pair.client.tls.is_handshaking());
    assert!(pair.client.tls.has_peer_certificate(), "the client saw the server's certificate");
    assert!(!pair.server.tls.has_peer_certificate(), "no mutual TLS asked");
}

#[test]
fn one_mib_both_ways_stays_within_the_buffer_limit() {
    let mut pair = Pair::new(client_files().load().unwrap(), server_files().load().unwrap());
    // Small kernel buffers, so that the sockets fill and rustls's buffer
    // is what holds the rest (loopback's own grow to megabytes).
    for sock in [&pair.client.sock, &pair.server.sock] {
        let sock = socket2::SockRef::from(sock);
        sock.set_send_buffer_size(16 * 1024).unwrap();
        sock.set_recv_buffer_size(16 * 1024).unwrap();
    }
    exchange(&mut pair, 1 << 20);
    for side in [&pair.client, &pair.server] {
        // The limit bounds ciphertext: a write takes what fits beside what
        // is held, and passes the limit by its records' headers and tags
        // only (22 bytes each, four records at most).
        assert!(side.most_buffered > DEFAULT_BUFFER_LIMIT / 2, "the socket never filled: {}", side.most_buffered);
        assert!(side.most_buffered <= DEFAULT_BUFFER_LIMIT + 128, "{} bytes held", side.most_buffered);
    }
}

#[test]
fn tls12_works_too() {
    let tls12 = rustls::ClientConfig::builder_with_provider(super::super::config::provider())
        .with_protocol_versions(&[&rustls::version::TLS12])
        .unwrap()
        .with_root_certificates(super::super::pem::roots(&cert("ca.pem")).unwrap())
        .with_no_client_auth();
    let mut pair = Pair::new(tls12.into(), server_files().load().unwrap());
    exchange(&mut pair, 64 * 1024);
    assert_eq!(pair.server.tls.protocol_version(), Some(ProtocolVersion::TLSv1_2));
}

#[test]
fn sni_and_alpn_are_seen_by_the_server() {
    let server = server_files().alpn(["frameloop/1", "h2"]).load().unwrap();
    let client = client_files().alpn(["x/0", "h2"]).load().unwrap();
    let mut pair = Pair::new(client, server);
    pair.open();
    assert_eq!(pair.server.tls.server_name(), Some("localhost"));
    assert_eq!(pair.server.tls.alpn_protocol(), Some(&b"h2"[..]));
    assert_eq!(pair.client.tls.alpn_protocol(), Some(&b"h2"[..]));
    assert_eq!(pair.client.tls.server_name(), None, "SNI is the server's to see");
}

#[test]
fn no_common_alpn_protocol_is_refused() {
    let server = server_files().alpn(["frameloop/1"]).load().unwrap();
    let client = client_files().alpn(["h2"]).load().unwrap();
    let mut pair = Pair::new(client, server);
    pair.run(|p| p.server.done());
    let err = pair.server.error.as_ref().expect("refused");
    assert_eq!(err.kind(), io::ErrorKind::InvalidData, "{err}");
    // A client that offers no ALPN at all is served.
    let server = server_files().alpn(["frameloop/1"]).load().unwrap();
    let mut pair = Pair::new(client_files().load().unwrap(), server);
    pair.open();
    assert_eq!(pair.server.tls.alpn_protocol(), None);
}

#[test]
fn an_ip_address_sends_no_sni() {
    let name = rustls::pki_types::ServerName::try_from("127.0.0.1").unwrap();
    let mut pair = Pair::with_name(client_files().load().unwrap(), server_files().load().unwrap(), name);
    pair.open();
    assert_eq!(pair.server.tls.server_name(), None);
    assert!(pair.client.tls.has_peer_certificate(), "verified against IP:127.0.0.1");
}

#[test]
fn close_notify_reads_as_a_clean_end() {
    let mut pair = Pair::new(client_files().load().unwrap(), server_files().load().unwrap());
    pair.client.outbox = b"last words".to_vec();
    pair.client.close_after = true;
    pair.open();
    pair.run(|p| p.server.done());
    assert!(pair.server.error.is_none(), "{:?}", pair.server.error);
    assert_eq!(pair.server.received, b"last words");
    assert_eq!(pair.server.ended, Some(EndOfStream::CloseNotify));
    // Still the end, asked again.
    let mut space = [0u8; 16];
    assert_eq!(pair.server.tls.read(&mut pair.server.sock, &mut space).unwrap(), 0);
}

#[test]
fn tcp_eof_mid_record_reads_as_truncation() {
    let mut pair = Pair::new(client_files().load().unwrap(), server_files().load().unwrap());
    pair.open();
    // The start of an application-data record that promises 64 bytes and
    // gives 3, then the TCP end, under the client session's feet.
    pair.client.sock.write_all(&[0x17, 0x03, 0x03, 0x00, 0x40, 1, 2, 3]).unwrap();
    pair.client.sock.shutdown(Shutdown::Write).unwrap();
    pair.run(|p| p.server.done());
    assert!(pair.server.error.is_none(), "{:?}", pair.server.error);
    assert_eq!(pair.server.ended, Some(EndOfStream::Truncated));
    assert!(pair.server.received.is_empty());
}

#[test]
fn tcp_eof_between_records_is_a_truncation_too() {
    let mut pair = Pair::new(client_files().load().unwrap(), server_files().load().unwrap());
    pair.client.outbox = b"no goodbye".to_vec();
    pair.open();
    pair.run(|p| p.server.received.len() == 10 || p.server.done());
    pair.client.sock.shutdown(Shutdown::Write).unwrap();
    pair.run(|p| p.server.done());
    assert_eq!(pair.server.received, b"no goodbye");
    assert_eq!(pair.server.ended, Some(EndOfStream::Truncated));
}

#[test]
fn garbage_instead_of_a_client_hello_is_invalid_data_and_gets_an_alert() {
    let (mut client, server) = socket_pair();
    let mut server = mio::net::TcpStream::from_std(server);
    let mut tls = TlsSession::server(server_files().load().unwrap()).unwrap();
    client.write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n").unwrap();
    let start = Instant::now();
    let mut space = [0u8; 64];
    let err = loop {
        match tls.read(&mut server, &mut space) {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                assert!(start.elapsed() < Duration::from_secs(5), "the garbage never arrived");
                std::thread::sleep(Duration::from_millis(2));
            }
            Err(e) => break e,
            Ok(n) => panic!("read {n} bytes of garbage"),
        }
    };
    assert_eq!(err.kind(), io::ErrorKind::InvalidData, "{err}");
    let failure = err.get_ref().and_then(|e| e.downcast_ref::<TlsFailure>()).expect("a TlsFailure inside");
    assert!(failure.during_handshake);
    assert!(err.to_string().starts_with("TLS handshake failed: "), "{err}");
    // The alert rustls queued went out: a TLS alert record (type 21).
    assert_eq!(tls.buffered(), 0);
    let answer = read_raw(&mut client, 7);
    assert_eq!(answer.first(), Some(&21), "expected an alert record, got {answer:?}");
}

#[test]
fn mutual_tls_refuses_a_client_of_another_ca() {
    let server = server_files().client_ca(cert("ca.pem")).load().unwrap();
    let client = client_files().client_cert(cert("other-client.pem"), cert("other-client.key")).load().unwrap();
    let mut pair = Pair::new(client, server);
    pair.run(|p| p.server.done() && p.client.done());
    let err = pair.server.error.as_ref().expect("the server refused");
    assert_eq!(err.kind(), io::ErrorKind::InvalidData);
    assert!(err.to_string().contains("certificate"), "{err}");
    assert!(!pair.server.opened, "refused in the handshake");
    // The client is told by the server's alert, or by the closed socket.
    assert!(pair.client.error.is_some() || pair.client.ended.is_some());
}

#[test]
fn mutual_tls_refuses_a_client_without_a_certificate() {
    let server = server_files().client_ca(cert("ca.pem")).load().unwrap();
    let mut pair = Pair::new(client_files().load().unwrap(), server);
    pair.run(|p| p.server.done());
    let err = pair.server.error.as_ref().expect("the server refused");
    assert_eq!(err.kind(), io::ErrorKind::InvalidData, "{err}");
    assert!(!pair.server.opened);
}

#[test]
fn mutual_tls_accepts_a_client_of_its_ca() {
    let server = server_files().client_ca(cert("ca.pem")).load().unwrap();
    let client = client_files().client_cert(cert("client.pem"), cert("client.key")).load().unwrap();
    let mut pair = Pair::new(client, server);
    exchange(&mut pair, 64);
    assert!(pair.server.tls.has_peer_certificate());
    assert_eq!(pair.server.tls.peer_certificates().map(<[_]>::len), Some(1));
}

#[test]
fn nothing_is_taken_before_the_handshake_completed() {
    let (client, _server) = socket_pair();
    let mut client = mio::net::TcpStream::from_std(client);
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let mut tls = TlsSession::client(client_files().load().unwrap(), name).unwrap();
    assert!(tls.is_handshaking());
    assert!(tls.buffered() > 0, "the ClientHello waits to be flushed");
    assert_eq!(tls.write_vectored(&mut client, &[IoSlice::new(b"too early")]).unwrap(), 0);
    assert_eq!(tls.buffered(), 0, "but the ClientHello went");
    assert!(!tls.take_opened());
}

#[test]
fn with_plaintext_lends_rustls_own_buffer() {
    let mut pair = Pair::new(client_files().load().unwrap(), server_files().load().unwrap());
    pair.open();
    // Queued after the pump stopped serving the server, so that all of it
    // is read below.
    let sent = pattern(100_000, 7);
    pair.client.outbox = sent.clone();
    pair.client.close_after = true;
    // The server side is driven here by hand, cutting from the lent slices.
    let start = Instant::now();
    let mut got = Vec::new();
    let mut largest = 0;
    loop {
        pair.client.write();
        let drained = pair.server.tls.with_plaintext(&mut pair.server.sock, |chunk| {
            largest = largest.max(chunk.len());
            got.extend_from_slice(chunk);
            chunk.len()
        });
        match drained.unwrap() {
            Drained::End(end) => {
                assert_eq!(end, EndOfStream::CloseNotify);
                break;
            }
            Drained::WouldBlock => std::thread::sleep(Duration::from_millis(1)),
            Drained::Stopped => unreachable!("every slice was taken"),
        }
        assert!(start.elapsed() < Duration::from_secs(10), "stalled at {} bytes", got.len());
    }
    assert!(got == sent, "{} bytes, not what was sent", got.len());
    assert!(largest <= 16 * 1024, "a slice is at most one record's plaintext: {largest}");
}

#[test]
fn with_plaintext_stops_when_the_callback_takes_less() {
    let mut pair = Pair::new(client_files().load().unwrap(), server_files().load().unwrap());
    pair.open();
    pair.client.outbox = b"0123456789".to_vec();
    let start = Instant::now();
    loop {
        pair.client.write();
        match pair.server.tls.with_plaintext(&mut pair.server.sock, |_| 4).unwrap() {
            Drained::Stopped => break,
            Drained::WouldBlock => std::thread::sleep(Duration::from_millis(1)),
            Drained::End(e) => panic!("ended: {e:?}"),
        }
        assert!(start.elapsed() < Duration::from_secs(5));
    }
    // The rest is lent again.
    let rest = pair.server.tls.fill_buf(&mut pair.server.sock).unwrap().to_vec();
    assert_eq!(rest, b"456789");
}

//! Sessions over real loopback sockets, driven the way the reactor will:
//! mio, edge-triggered, each side served only when an event names it. A
//! session that returned `WouldBlock` while it still held work would stall
//! such a loop, and the test with it, until its deadline.

mod config;
mod interop;
mod reactor;
mod session;

use std::io::{self, IoSlice, Read};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use mio::net::TcpStream;
use mio::{Events, Interest, Poll, Token};
use rustls::pki_types::ServerName;

use super::{EndOfStream, TlsClientFiles, TlsServerFiles, TlsSession};

/// Whole tests end within this, or fail.
pub(super) const DEADLINE: Duration = Duration::from_secs(20);

pub(super) fn cert(name: &str) -> PathBuf {
    [env!("CARGO_MANIFEST_DIR"), "tests", "tls", name].iter().collect()
}

pub(super) fn server_files() -> TlsServerFiles {
    TlsServerFiles::new(cert("server.pem"), cert("server.key"))
}

pub(super) fn client_files() -> TlsClientFiles {
    TlsClientFiles::new(cert("ca.pem"))
}

/// A connected pair of non-blocking loopback sockets: (client, server).
pub(super) fn socket_pair() -> (std::net::TcpStream, std::net::TcpStream) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (server, _) = listener.accept().unwrap();
    for s in [&client, &server] {
        s.set_nonblocking(true).unwrap();
    }
    (client, server)
}

/// One end: its socket, its session, what it has to send and what it got.
pub(super) struct Side {
    pub(super) sock: TcpStream,
    pub(super) tls: TlsSession,
    pub(super) outbox: Vec<u8>,
    pub(super) sent: usize,
    /// Queue close_notify once the outbox went.
    pub(super) close_after: bool,
    pub(super) received: Vec<u8>,
    pub(super) opened: bool,
    pub(super) ended: Option<EndOfStream>,
    pub(super) error: Option<io::Error>,
    /// The most [`TlsSession::buffered`] ever said.
    pub(super) most_buffered: usize,
}

impl Side {
    pub(super) fn new(sock: std::net::TcpStream, tls: TlsSession) -> Self {
        Side {
            sock: TcpStream::from_std(sock),
            tls,
            outbox: Vec::new(),
            sent: 0,
            close_after: false,
            received: Vec::new(),
            opened: false,
            ended: None,
            error: None,
            most_buffered: 0,
        }
    }

    pub(super) fn done(&self) -> bool {
        self.error.is_some() || self.ended.is_some()
    }

    /// What the reactor will do on any event for this socket: read until
    /// `WouldBlock`, open the handler at the handshake's end, write until
    /// `WouldBlock`.
    pub(super) fn serve(&mut self) {
        if self.done() {
            // The input is over, the output may not be: an echo still sends.
            if self.error.is_none() {
                self.write();
            }
            return;
        }
        let mut space = [0u8; 8 * 1024];
        loop {
            let got = self.tls.read(&mut self.sock, &mut space);
            // The handler opens before it sees the bytes of this same call.
            if self.tls.take_opened() {
                assert!(!self.opened, "opened twice");
                assert!(self.received.is_empty(), "data before the handshake completed");
                self.opened = true;
            }
            match got {
                Ok(0) => {
                    self.ended = self.tls.end_of_stream();
                    assert!(self.ended.is_some(), "Ok(0) with the input still open");
                    return;
                }
                Ok(n) => {
                    assert!(self.opened, "plaintext before the handshake completed");
                    self.received.extend_from_slice(&space[..n]);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) => {
                    self.error = Some(e);
                    return;
                }
            }
        }
        self.write();
    }

    pub(super) fn write(&mut self) {
        while self.opened && self.sent < self.outbox.len() {
            let bufs = [IoSlice::new(&self.outbox[self.sent..])];
            match self.tls.write_vectored(&mut self.sock, &bufs) {
                Ok(n) => {
                    assert!(n > 0, "Ok(0) from write_vectored after the handshake");
                    self.sent += n;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) => {
                    self.error = Some(e);
                    return;
                }
            }
            self.most_buffered = self.most_buffered.max(self.tls.buffered());
        }
        if self.close_after && self.sent == self.outbox.len() && self.opened {
            self.tls.close_notify();
        }
        if let Err(e) = self.tls.flush(&mut self.sock) {
            self.error = Some(e);
        }
        self.most_buffered = self.most_buffered.max(self.tls.buffered());
    }
}

/// A client and a server session on a loopback pair, under one mio poll.
pub(super) struct Pair {
    poll: Poll,
    pub(super) client: Side,
    pub(super) server: Side,
}

const CLIENT: Token = Token(0);
const SERVER: Token = Token(1);

impl Pair {
    pub(super) fn new(client: Arc<rustls::ClientConfig>, server: Arc<rustls::ServerConfig>) -> Self {
        let name = ServerName::try_from("localhost").unwrap();
        Self::with_name(client, server, name)
    }

    pub(super) fn with_name(
        client: Arc<rustls::ClientConfig>,
        server: Arc<rustls::ServerConfig>,
        name: ServerName<'static>,
    ) -> Self {
        let (c, s) = socket_pair();
        let mut pair = Pair {
            poll: Poll::new().unwrap(),
            client: Side::new(c, TlsSession::client(client, name).unwrap()),
            server: Side::new(s, TlsSession::server(server).unwrap()),
        };
        let both = Interest::READABLE | Interest::WRITABLE;
        pair.poll.registry().register(&mut pair.client.sock, CLIENT, both).unwrap();
        pair.poll.registry().register(&mut pair.server.sock, SERVER, both).unwrap();
        pair
    }

    /// Serves each side on its events until `until` holds. The first events
    /// (both sockets writable at once) start it: nothing is served without
    /// an event.
    pub(super) fn run(&mut self, until: impl Fn(&Pair) -> bool) {
        let start = Instant::now();
        let mut events = Events::with_capacity(16);
        while !until(self) {
            assert!(start.elapsed() < DEADLINE, "stalled: an edge-triggered loop would wait forever");
            self.poll.poll(&mut events, Some(Duration::from_millis(100))).unwrap();
            for event in &events {
                match event.token() {
                    CLIENT => self.client.serve(),
                    _ => self.server.serve(),
                }
            }
        }
    }

    /// Runs until both sides completed the handshake.
    pub(super) fn open(&mut self) {
        self.run(|p| (p.client.opened && p.server.opened) || p.client.done() || p.server.done());
        assert!(self.client.error.is_none(), "client: {:?}", self.client.error);
        assert!(self.server.error.is_none(), "server: {:?}", self.server.error);
    }
}

/// Bytes that tell where they were cut.
pub(super) fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len).map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed)).collect()
}

/// Reads a raw (non-TLS) socket until `want` bytes or EOF, within the deadline.
pub(super) fn read_raw(sock: &mut std::net::TcpStream, want: usize) -> Vec<u8> {
    let start = Instant::now();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while got.len() < want && start.elapsed() < DEADLINE {
        match sock.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => std::thread::sleep(Duration::from_millis(2)),
            Err(e) if e.kind() == io::ErrorKind::ConnectionReset => break,
            Err(e) => panic!("{e}"),
        }
    }
    got
}

//! Unix domain sockets through every way a user reaches them: the engine
//! (listen, connect, a group), the facade's callback and polling servers,
//! the `Client` and `request`; a stale socket file, one still answered, a
//! file that is no socket, permissions and the peer's credentials.
#![cfg(unix)]

mod common;

use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;

use common::PATIENCE;
use frameloop::{
    Addr, CloseReason, ConnId, Ctx, Distribution, Error, Event, HalfClose, Handler, Message, Reactor, ReplyMode,
    Server, ServerCtx, ServerHandler,
};

/// A socket path of its own for each test, removed when dropped.
struct TempPath(PathBuf);

impl TempPath {
    fn new(name: &str) -> TempPath {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!("frameloop-{}-{n}-{name}.sock", std::process::id()));
        let _ = std::fs::remove_file(&path);
        TempPath(path)
    }

    fn url(&self) -> String {
        format!("unix:{}", self.0.display())
    }
}

impl Drop for TempPath {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn frame(payload: &[u8]) -> Vec<u8> {
    let mut f = (payload.len() as u32).to_be_bytes().to_vec();
    f.extend_from_slice(payload);
    f
}

fn read_frame(s: &mut UnixStream) -> Vec<u8> {
    let mut len = [0u8; 4];
    s.read_exact(&mut len).unwrap();
    let mut payload = vec![0u8; u32::from_be_bytes(len) as usize];
    s.read_exact(&mut payload).unwrap();
    payload
}

fn connect(path: &TempPath) -> UnixStream {
    let s = UnixStream::connect(&path.0).unwrap();
    s.set_read_timeout(Some(PATIENCE)).unwrap();
    s
}

/// Echoes every message, records who connected, stops on a message `stop`.
#[derive(Default)]
struct Echo {
    peers: Vec<(Addr, Option<frameloop::PeerCredentials>)>,
    closes: Vec<CloseReason>,
}

impl Handler for Echo {
    fn on_open(&mut self, ctx: &mut Ctx<'_>, conn: ConnId) {
        self.peers.push((ctx.peer_addr(conn).unwrap(), ctx.peer_credentials(conn).ok()));
    }
    fn on_frame(&mut self, ctx: &mut Ctx<'_>, conn: ConnId, frame: &[u8]) {
        if frame == b"stop" {
            ctx.stop();
        } else {
            ctx.send(conn, frame).unwrap();
        }
    }
    fn on_close(&mut self, _: &mut Ctx<'_>, _: ConnId, reason: CloseReason) {
        self.closes.push(reason);
    }
}

#[test]
fn the_engine_serves_a_unix_socket_and_tells_who_the_peer_is() {
    let path = TempPath::new("engine");
    let mut reactor = Reactor::new().unwrap();
    let bound = reactor.listen(path.url().as_str()).unwrap();
    assert_eq!(bound.unix_path(), Some(path.0.as_path()));
    assert_eq!(bound.to_string(), path.url());
    assert_eq!(reactor.local_addrs(), [bound]);
    let client = std::thread::spawn({
        let mut s = connect(&path);
        move || {
            let big = vec![7u8; 1 << 20];
            for payload in [&b"hello"[..], &big] {
                s.write_all(&frame(payload)).unwrap();
                assert_eq!(read_frame(&mut s), payload);
            }
            s.write_all(&frame(b"stop")).unwrap();
        }
    });
    let mut echo = Echo::default();
    reactor.run(&mut echo).unwrap();
    client.join().unwrap();
    let (addr, creds) = &echo.peers[0];
    assert_eq!(addr.unix_path(), Some(std::path::Path::new("")), "an unnamed client: {addr}");
    if cfg!(any(target_os = "linux", target_os = "android")) {
        let creds = creds.expect("credentials of a Unix peer");
        assert_eq!(creds.pid, Some(std::process::id() as i32));
        let me = std::fs::metadata("/proc/self").unwrap();
        use std::os::unix::fs::MetadataExt;
        assert_eq!((creds.uid, creds.gid), (me.uid(), me.gid()));
    }
    drop(reactor);
    assert!(!path.0.exists(), "the socket file goes with its listener");
}

#[test]
fn a_tcp_peer_has_no_credentials() {
    struct Creds(mpsc::Sender<Result<frameloop::PeerCredentials, Error>>);
    impl Handler for Creds {
        fn on_open(&mut self, ctx: &mut Ctx<'_>, conn: ConnId) {
            let _ = self.0.send(ctx.peer_credentials(conn));
            ctx.stop();
        }
        fn on_frame(&mut self, _: &mut Ctx<'_>, _: ConnId, _: &[u8]) {}
    }
    let mut reactor = Reactor::new().unwrap();
    let addr = reactor.listen("127.0.0.1:0").unwrap();
    let _peer = std::net::TcpStream::connect(&addr).unwrap();
    let (tx, rx) = mpsc::channel();
    reactor.run(&mut Creds(tx)).unwrap();
    assert!(matches!(rx.recv().unwrap(), Err(Error::Io(e)) if e.kind() == std::io::ErrorKind::Unsupported));
}

#[test]
fn a_socket_file_nobody_answers_on_is_replaced() {
    let path = TempPath::new("stale");
    drop(UnixListener::bind(&path.0).unwrap()); // a server that died: its file stays
    assert!(path.0.exists());
    let mut reactor = Reactor::new().unwrap();
    reactor.listen(path.0.as_path()).unwrap();
    let mut s = connect(&path);
    let server = std::thread::spawn(move || {
        let mut echo = Echo::default();
        reactor.run(&mut echo).unwrap();
    });
    s.write_all(&frame(b"still here")).unwrap();
    assert_eq!(read_frame(&mut s), b"still here");
    s.write_all(&frame(b"stop")).unwrap();
    server.join().unwrap();
}

#[test]
fn a_socket_someone_answers_on_is_in_use_and_left_alone() {
    let path = TempPath::new("live");
    let live = UnixListener::bind(&path.0).unwrap();
    let mut reactor = Reactor::new().unwrap();
    match reactor.listen(path.url().as_str()) {
        Err(e @ Error::AddrInUse { .. }) => assert!(e.to_string().contains(&path.url()), "{e}"),
        other => panic!("expected AddrInUse, got {other:?}"),
    }
    // The live server still has its socket and its clients.
    let _c = UnixStream::connect(&path.0).unwrap();
    assert!(live.accept().is_ok());
    // And the facade says the same.
    assert!(matches!(Server::bind(path.url()), Err(Error::AddrInUse { .. })));
}

#[test]
fn a_file_that_is_no_socket_is_never_removed() {
    let path = TempPath::new("plain");
    std::fs::write(&path.0, b"precious").unwrap();
    let mut reactor = Reactor::new().unwrap();
    assert!(matches!(reactor.listen(path.0.as_path()), Err(Error::AddrInUse { .. })));
    assert_eq!(std::fs::read(&path.0).unwrap(), b"precious");
}

#[test]
fn the_socket_file_gets_the_mode_asked_for() {
    let path = TempPath::new("mode");
    let mut reactor = Reactor::builder().unix_mode(0o660).build().unwrap();
    reactor.listen(path.0.as_path()).unwrap();
    assert_eq!(std::fs::metadata(&path.0).unwrap().permissions().mode() & 0o777, 0o660);
    let facade_path = TempPath::new("facade-mode");
    let server = Server::bind(facade_path.url()).unwrap().unix_mode(0o600).unwrap();
    let file = server.local_addr().unix_path().unwrap().to_owned();
    assert_eq!(std::fs::metadata(&file).unwrap().permissions().mode() & 0o777, 0o600);
    drop(server);
    assert!(!file.exists(), "the facade's socket file goes with its server");
}

#[test]
fn the_engine_connects_to_a_unix_socket() {
    struct Hello;
    impl Handler for Hello {
        fn on_open(&mut self, ctx: &mut Ctx<'_>, conn: ConnId) {
            ctx.send(conn, b"hi there").unwrap();
            ctx.close(conn).unwrap();
        }
        fn on_frame(&mut self, _: &mut Ctx<'_>, _: ConnId, _: &[u8]) {}
        fn on_close(&mut self, ctx: &mut Ctx<'_>, _: ConnId, _: CloseReason) {
            ctx.stop();
        }
    }
    let path = TempPath::new("connect");
    let listener = UnixListener::bind(&path.0).unwrap();
    let mut reactor = Reactor::new().unwrap();
    let conn = reactor.connect(path.url().as_str()).unwrap();
    let peer = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        s.set_read_timeout(Some(PATIENCE)).unwrap();
        let mut got = Vec::new();
        s.read_to_end(&mut got).unwrap();
        got
    });
    reactor.run(&mut Hello).unwrap();
    assert_eq!(peer.join().unwrap(), frame(b"hi there"));
    assert!(conn.reactor() == 0);
}

#[test]
fn a_connect_to_a_path_nobody_listens_on_fails_to_connect() {
    struct Fails(Option<CloseReason>);
    impl Handler for Fails {
        fn on_frame(&mut self, _: &mut Ctx<'_>, _: ConnId, _: &[u8]) {}
        fn on_close(&mut self, ctx: &mut Ctx<'_>, _: ConnId, reason: CloseReason) {
            self.0 = Some(reason);
            ctx.stop();
        }
    }
    let path = TempPath::new("nobody");
    let mut reactor = Reactor::new().unwrap();
    // A local connect fails at once: at the call, or as the close reason.
    match reactor.connect(path.0.as_path()) {
        Err(Error::Io(_) | Error::ConnectionRefused { .. }) => {}
        Ok(_) => {
            let mut fails = Fails(None);
            reactor.run(&mut fails).unwrap();
            assert!(matches!(fails.0, Some(CloseReason::ConnectFailed(_))), "{:?}", fails.0);
        }
        Err(other) => panic!("unexpected {other:?}"),
    }
}

#[test]
fn a_group_spreads_unix_connections_over_its_reactors_whatever_the_distribution() {
    for distribution in [Distribution::Acceptor, Distribution::ReusePort] {
        let path = TempPath::new("group");
        let mut group = Reactor::builder().distribution(distribution).build_group(2).unwrap();
        group.listen(path.0.as_path()).unwrap();
        let remote = group.remote();
        let clients = std::thread::spawn({
            let path = path.0.clone();
            move || {
                let mut streams: Vec<UnixStream> = (0..20).map(|_| UnixStream::connect(&path).unwrap()).collect();
                for (i, s) in streams.iter_mut().enumerate() {
                    s.set_read_timeout(Some(PATIENCE)).unwrap();
                    let msg = format!("client {i}");
                    s.write_all(&frame(msg.as_bytes())).unwrap();
                    assert_eq!(read_frame(s), msg.as_bytes());
                }
                remote.stop();
            }
        });
        let echoes = group.run(|_| Echo::default()).unwrap();
        clients.join().unwrap();
        let counts: Vec<usize> = echoes.iter().map(|e| e.peers.len()).collect();
        assert_eq!(counts.iter().sum::<usize>(), 20, "{distribution:?}: {counts:?}");
        assert!(counts.iter().all(|&n| n >= 5), "{distribution:?}: spread {counts:?}");
    }
}

/// A facade echo on a Unix socket, with callbacks.
struct Shout;
impl ServerHandler for Shout {
    fn on_receive(&mut self, server: &mut ServerCtx<'_>, client: ConnId, msg: Message<'_>) -> Result<(), Error> {
        server.send(client, msg.bytes().to_ascii_uppercase())
    }
}

#[test]
fn the_facade_serves_a_unix_socket_to_a_client_and_a_request() {
    let path = TempPath::new("facade");
    let server = Server::bind(path.url()).unwrap().start(Shout).unwrap();
    assert_eq!(server.local_addr().to_string(), path.url());
    let client = frameloop::Client::connect(server.local_addr()).unwrap();
    client.send("hello").unwrap();
    assert_eq!(client.recv_timeout(PATIENCE).unwrap(), b"HELLO");
    assert_eq!(client.server_addr(), Some(server.local_addr()));
    assert_eq!(frameloop::request_timeout(path.url(), "over unix", PATIENCE).unwrap(), b"OVER UNIX");
    let reply_path = TempPath::new("reply");
    let reply = Server::bind(reply_path.url())
        .unwrap()
        .reply(ReplyMode::Concurrent, |r: &[u8]| r.iter().rev().copied().collect::<Vec<u8>>())
        .unwrap();
    assert_eq!(frameloop::request_timeout(reply.local_addr(), "abc", PATIENCE).unwrap(), b"cba");
}

#[test]
fn a_polling_server_on_a_unix_socket_answers_every_half_closing_peer() {
    const PEERS: usize = 100;
    let path = TempPath::new("polling");
    let server = Server::bind(path.url()).unwrap().start_polling().unwrap();
    let lost = std::thread::scope(|scope| {
        // The program's loop, on a thread of its own; it ends once the
        // server has stopped and every event was taken.
        scope.spawn(|| {
            for event in server.events() {
                if let Event::Received { client, addr, data } = event {
                    assert!(addr.unix_path().is_some(), "{addr}");
                    server.send(client, data.to_ascii_uppercase()).unwrap();
                }
            }
        });
        let peers: Vec<_> = (0..PEERS)
            .map(|i| {
                let path = path.0.clone();
                scope.spawn(move || {
                    let mut s = UnixStream::connect(&path).unwrap();
                    s.set_read_timeout(Some(PATIENCE)).unwrap();
                    let msg = format!("peer {i}");
                    s.write_all(&frame(msg.as_bytes())).unwrap();
                    s.shutdown(std::net::Shutdown::Write).unwrap();
                    let mut got = Vec::new();
                    s.read_to_end(&mut got).unwrap();
                    got == frame(msg.to_ascii_uppercase().as_bytes())
                })
            })
            .collect();
        let lost = peers.into_iter().map(|p| p.join().unwrap()).filter(|answered| !answered).count();
        server.stop().unwrap();
        lost
    });
    assert_eq!(lost, 0, "replies lost to half-closing Unix peers");
}

#[test]
fn a_unix_peer_that_half_closes_still_gets_its_replies_from_the_engine() {
    struct Hold;
    impl Handler for Hold {
        fn on_frame(&mut self, ctx: &mut Ctx<'_>, conn: ConnId, frame: &[u8]) {
            ctx.send(conn, frame).unwrap();
        }
        fn on_half_close(&mut self, ctx: &mut Ctx<'_>, conn: ConnId) -> HalfClose {
            ctx.send(conn, b"bye").unwrap();
            HalfClose::Close
        }
        fn on_close(&mut self, ctx: &mut Ctx<'_>, _: ConnId, _: CloseReason) {
            ctx.stop();
        }
    }
    let path = TempPath::new("half");
    let mut reactor = Reactor::new().unwrap();
    reactor.listen(path.0.as_path()).unwrap();
    let mut s = connect(&path);
    let mut wire = frame(b"one");
    wire.extend(frame(b"two"));
    s.write_all(&wire).unwrap();
    s.shutdown(std::net::Shutdown::Write).unwrap();
    let server = std::thread::spawn(move || reactor.run(&mut Hold).unwrap());
    let mut got = Vec::new();
    s.read_to_end(&mut got).unwrap();
    wire.extend(frame(b"bye"));
    assert_eq!(got, wire);
    server.join().unwrap();
}

/// A live Unix listener whose backlog is full: it never accepts.
fn full_listener(path: &TempPath) -> (socket2::Socket, Vec<socket2::Socket>) {
    use socket2::{Domain, SockAddr, Socket, Type};
    let listener = Socket::new(Domain::UNIX, Type::STREAM, None).unwrap();
    listener.bind(&SockAddr::unix(&path.0).unwrap()).unwrap();
    listener.listen(0).unwrap();
    let mut waiting = Vec::new();
    // Non-blocking connects until one would wait: the backlog is full.
    for _ in 0..64 {
        let s = Socket::new(Domain::UNIX, Type::STREAM, None).unwrap();
        s.set_nonblocking(true).unwrap();
        let full = s.connect(&SockAddr::unix(&path.0).unwrap()).is_err();
        waiting.push(s);
        if full {
            break;
        }
    }
    (listener, waiting)
}

#[test]
fn a_connect_to_a_full_unix_backlog_times_out_and_a_bind_there_is_refused_at_once() {
    let path = TempPath::new("full");
    let _full = full_listener(&path);
    let started = std::time::Instant::now();
    match frameloop::Client::connect_timeout(path.url(), std::time::Duration::from_millis(200)) {
        Err(Error::ConnectTimedOut { .. }) => {}
        other => panic!("expected a connect time-out, got {:?}", other.map(|_| ())),
    }
    assert!(started.elapsed() < PATIENCE, "waited {:?}", started.elapsed());
    // A second server there: the first is alive (busy), so no replacing it.
    let started = std::time::Instant::now();
    assert!(matches!(Reactor::new().unwrap().listen(path.0.as_path()), Err(Error::AddrInUse { .. })));
    assert!(started.elapsed() < PATIENCE);
}

#[test]
fn a_socket_file_replaced_by_another_server_is_left_to_it() {
    let path = TempPath::new("replaced");
    let mut first = Reactor::new().unwrap();
    first.listen(path.0.as_path()).unwrap();
    // Someone removes the file and another server binds there.
    std::fs::remove_file(&path.0).unwrap();
    let second = UnixListener::bind(&path.0).unwrap();
    drop(first);
    assert!(path.0.exists(), "the first server's end removed the second's socket file");
    drop(second);
}

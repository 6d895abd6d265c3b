//! tcp-client-serv in frameloop: request / reply servers in their three
//! modes, and the one-call client.

mod common;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::time::{Duration, Instant};

use common::{connect, frame, read_frame, read_to_close, write_frame, PATIENCE};
use frameloop::{request, request_timeout, CloseReason, Error, ReplyMode, Server};

/// Waits (boundedly) for a server that stops by itself, then joins it.
fn wait_stopped(server: &Server) {
    let deadline = Instant::now() + PATIENCE;
    while server.is_running() {
        assert!(Instant::now() < deadline, "the server did not stop by itself");
        std::thread::sleep(Duration::from_millis(2));
    }
    server.wait().unwrap();
}

fn hello(req: &[u8]) -> Vec<u8> {
    let mut out = b"Hello Client! you said: ".to_vec();
    out.extend_from_slice(req);
    out
}

#[test]
fn the_one_call_client_gets_the_reply_of_a_once_server_which_then_stops() {
    let server = Server::bind("127.0.0.1:0").unwrap().reply(ReplyMode::Once, hello).unwrap();
    let addr = server.local_addr().tcp().unwrap();
    assert_eq!(request(addr, "Hello Server!").unwrap(), b"Hello Client! you said: Hello Server!");
    wait_stopped(&server); // it stops by itself
    assert!(!server.is_running());
    assert!(matches!(request_timeout(addr, "again?", PATIENCE), Err(Error::ConnectionRefused { .. })));
}

#[test]
fn a_once_server_answers_only_the_first_of_two_waiting_clients() {
    let server = Server::bind("127.0.0.1:0").unwrap().reply(ReplyMode::Once, hello).unwrap();
    let mut first = connect(server.local_addr().tcp().unwrap());
    let mut second = connect(server.local_addr().tcp().unwrap());
    write_frame(&mut second, b"me too");
    write_frame(&mut first, b"me");
    // Whichever was accepted first gets the one reply; the other gets none.
    let a = read_to_close(&mut first);
    let b = read_to_close(&mut second);
    let answered: Vec<&Vec<u8>> = [&a, &b].into_iter().filter(|r| !r.is_empty()).collect();
    assert_eq!(answered.len(), 1, "replies: {a:?} / {b:?}");
    wait_stopped(&server);
}

#[test]
fn one_at_a_time_leaves_the_next_client_waiting_until_the_current_one_is_answered() {
    let server = Server::bind("127.0.0.1:0").unwrap().reply(ReplyMode::OneAtATime, hello).unwrap();
    let mut first = connect(server.local_addr().tcp().unwrap());
    let mut second = connect(server.local_addr().tcp().unwrap());
    write_frame(&mut second, b"second");
    second.set_read_timeout(Some(Duration::from_millis(300))).unwrap();
    let mut byte = [0u8; 1];
    let early = second.read(&mut byte);
    assert!(early.is_err(), "the second client was served while the first was connected: {early:?}");
    second.set_read_timeout(Some(PATIENCE)).unwrap();
    write_frame(&mut first, b"first");
    assert_eq!(read_frame(&mut first), b"Hello Client! you said: first");
    assert!(read_to_close(&mut first).is_empty(), "one reply per connection");
    assert_eq!(read_frame(&mut second), b"Hello Client! you said: second");
    // And it keeps serving, one request per connection.
    for i in 0..3 {
        let msg = format!("round {i}");
        assert_eq!(request_timeout(server.local_addr(), &msg, PATIENCE).unwrap(), hello(msg.as_bytes()));
    }
}

#[test]
fn concurrent_serves_a_client_while_another_sits_idle_and_keeps_connections_open() {
    let server = Server::bind("127.0.0.1:0").unwrap().reply(ReplyMode::Concurrent, hello).unwrap();
    let _idle = connect(server.local_addr().tcp().unwrap());
    let mut busy = connect(server.local_addr().tcp().unwrap());
    for i in 0..5 {
        let msg = format!("request {i}");
        write_frame(&mut busy, msg.as_bytes());
        assert_eq!(read_frame(&mut busy), hello(msg.as_bytes()));
    }
    std::thread::scope(|scope| {
        for t in 0..8 {
            let addr = server.local_addr().tcp().unwrap();
            scope.spawn(move || {
                let msg = format!("thread {t}");
                assert_eq!(request_timeout(addr, &msg, PATIENCE).unwrap(), hello(msg.as_bytes()));
            });
        }
    });
}

#[test]
fn a_reply_larger_than_a_read_arrives_whole() {
    let big = vec![7u8; 300_000];
    let reply = big.clone();
    let server =
        Server::bind("127.0.0.1:0").unwrap().reply(ReplyMode::Concurrent, move |_: &[u8]| reply.clone()).unwrap();
    assert_eq!(request(server.local_addr(), "").unwrap(), big);
}

/// A fake server that does one thing with the request, on its own thread.
fn fake_server(act: impl FnOnce(std::net::TcpStream) + Send + 'static) -> std::net::SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        if let Ok((s, _)) = listener.accept() {
            act(s);
        }
    });
    addr
}

#[test]
fn a_server_that_closes_without_replying_or_mid_reply_is_reported() {
    let addr = fake_server(|mut s| {
        let _ = read_frame(&mut s);
    });
    assert!(matches!(request_timeout(addr, "hi", PATIENCE), Err(Error::Disconnected(CloseReason::PeerClosed))));
    let addr = fake_server(|mut s| {
        let _ = read_frame(&mut s);
        let whole = frame(b"cut short");
        let _ = s.write_all(&whole[..7]);
    });
    assert!(matches!(
        request_timeout(addr, "hi", PATIENCE),
        Err(Error::Disconnected(CloseReason::PeerClosedMidFrame { buffered: 7 }))
    ));
}

#[test]
fn request_timeout_gives_up_on_a_server_that_never_answers() {
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    let addr = fake_server(move |s| {
        // Holds the connection open, silent, until the test is done.
        let _ = rx.recv_timeout(PATIENCE);
        drop(s);
    });
    let start = Instant::now();
    assert!(matches!(request_timeout(addr, "hello?", Duration::from_millis(100)), Err(Error::TimedOut)));
    assert!(start.elapsed() < PATIENCE);
    drop(tx);
}

#[test]
fn a_reply_announcing_more_than_the_maximum_is_refused_before_it_is_read() {
    let addr = fake_server(|mut s| {
        let _ = read_frame(&mut s);
        let _ = s.write_all(&u32::MAX.to_be_bytes());
        std::thread::sleep(Duration::from_millis(200));
    });
    assert!(matches!(request_timeout(addr, "hi", PATIENCE), Err(Error::FrameTooLarge { .. })));
}

#[path = "../examples/request_reply.rs"]
#[allow(dead_code)]
mod request_reply;

#[test]
fn the_request_reply_example_serves_in_its_three_modes_and_its_client_prints_the_reply() {
    for word in ["server-once", "server-iterative", "server-concurrent"] {
        let mode = request_reply::mode(word).unwrap();
        let server = request_reply::start(mode, "127.0.0.1:0").unwrap();
        let addr = server.local_addr().to_string();
        assert_eq!(request_reply::ask(&addr, "Hello Server!").unwrap(), "Hello Client! You said: Hello Server!");
        if mode == ReplyMode::Once {
            wait_stopped(&server);
            assert!(request_reply::ask(&addr, "again").is_err());
        } else {
            assert_eq!(request_reply::ask(&addr, "again").unwrap(), "Hello Client! You said: again");
        }
    }
    assert!(request_reply::mode("server-twice").is_none());
}

//! `ConnectTimedOut`, the seeds' "could not connect" when nothing answers,
//! provoked on loopback: a listener whose accept queue is full drops new
//! SYNs (Linux does so even with SYN cookies on), so a connect to it times
//! out exactly as one to a silent host would.

use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use frameloop::{Client, Error};
use socket2::{Domain, Socket, Type};

/// A listener that never accepts, with the smallest backlog, filled until
/// connects stop completing. Returns it with the connections that filled it.
fn full_listener() -> (Socket, SocketAddr, Vec<TcpStream>) {
    let listener = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
    listener.bind(&"127.0.0.1:0".parse::<SocketAddr>().unwrap().into()).unwrap();
    listener.listen(0).unwrap();
    let addr = listener.local_addr().unwrap().as_socket().unwrap();
    let mut fillers = Vec::new();
    // A backlog of 0 admits one or two; a few more attempts make sure.
    for _ in 0..8 {
        match TcpStream::connect_timeout(&addr, Duration::from_millis(300)) {
            Ok(s) => fillers.push(s),
            Err(_) => break,
        }
    }
    (listener, addr, fillers)
}

#[test]
fn connecting_to_a_server_that_never_answers_times_out_with_connect_timed_out() {
    let (_listener, addr, _fillers) = full_listener();
    let started = Instant::now();
    let result = Client::connect_timeout(addr, Duration::from_millis(500));
    let waited = started.elapsed();
    match result {
        Err(Error::ConnectTimedOut { after, .. }) => assert!(after >= Duration::from_millis(500), "after {after:?}"),
        other => panic!("expected ConnectTimedOut, got {other:?}"),
    }
    // It did wait (a refusal would come back at once), and not for ever.
    assert!(waited >= Duration::from_millis(400), "returned after {waited:?}");
    assert!(waited < Duration::from_secs(10), "returned after {waited:?}");
    let message = Client::connect_timeout(addr, Duration::from_millis(200)).unwrap_err().to_string();
    assert!(message.contains("timed out"), "{message}");
}

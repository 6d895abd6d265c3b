//! The beginner client: connect errors at once, send / recv in every
//! flavour, events, callbacks, reconnecting by hand and by itself.

mod common;

use std::net::{SocketAddr, TcpListener};
use std::sync::mpsc::{self, Sender};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{wait_until, PATIENCE};
use frameloop::{Client, ClientCtx, ClientHandler, CloseReason, Error, Event, Message, Reconnect, ReplyMode, Server};

fn echo_server(addr: &str) -> Server {
    Server::bind(addr).unwrap().reply(ReplyMode::Concurrent, |req: &[u8]| req.to_vec()).unwrap()
}

/// A loopback port nothing listens on.
fn closed_port() -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap()
}

/// Runs `f` on its own thread and fails the test if it does not return in
/// time (for calls whose bug would be to block forever).
fn within<T: Send + 'static>(what: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(PATIENCE).unwrap_or_else(|_| panic!("{what} blocked"))
}

#[test]
fn connecting_where_nothing_listens_is_refused_at_once() {
    let addr = closed_port();
    assert!(matches!(Client::connect(addr), Err(Error::ConnectionRefused { .. })));
    assert!(matches!(Client::connect_timeout(addr, PATIENCE), Err(Error::ConnectionRefused { .. })));
    assert!(matches!(Client::connect("no such host, surely"), Err(Error::InvalidAddress { .. })));
    assert!(matches!(Client::connect("127.0.0.1:99999"), Err(Error::InvalidAddress { .. })));
}

#[test]
fn send_then_recv_try_recv_and_recv_timeout() {
    let server = echo_server("127.0.0.1:0");
    let client = Client::connect(server.local_addr()).unwrap();
    assert_eq!(client.server_addr(), Some(server.local_addr()));
    assert!(client.is_connected());
    assert_eq!(client.try_recv().unwrap(), None);
    let start = Instant::now();
    assert!(matches!(client.recv_timeout(Duration::from_millis(50)), Err(Error::TimedOut)));
    assert!(start.elapsed() >= Duration::from_millis(50));
    for i in 0..100u32 {
        client.send(i.to_be_bytes()).unwrap();
    }
    for i in 0..100u32 {
        assert_eq!(client.recv_timeout(PATIENCE).unwrap(), i.to_be_bytes());
    }
    client.send("x").unwrap();
    let deadline = Instant::now() + PATIENCE;
    loop {
        if let Some(m) = client.try_recv().unwrap() {
            assert_eq!(m, b"x");
            break;
        }
        assert!(Instant::now() < deadline);
        std::thread::sleep(Duration::from_millis(1));
    }
}

#[test]
fn several_threads_send_through_one_client_and_every_message_arrives() {
    let server = echo_server("127.0.0.1:0");
    let client = Client::connect(server.local_addr()).unwrap();
    std::thread::scope(|scope| {
        for t in 0..4u8 {
            let client = &client;
            scope.spawn(move || {
                for i in 0..250u8 {
                    client.send([t, i]).unwrap();
                }
            });
        }
    });
    let mut next = [0u8; 4];
    for _ in 0..1000 {
        let m = client.recv_timeout(PATIENCE).unwrap();
        let (t, i) = (m[0] as usize, m[1]);
        assert_eq!(i, next[t], "thread {t}'s messages out of order");
        next[t] += 1;
    }
    assert_eq!(next, [250; 4]);
}

#[test]
fn events_show_connect_messages_and_disconnect_then_end() {
    let server = Server::bind("127.0.0.1:0").unwrap().start_polling().unwrap();
    let client = Client::connect(server.local_addr()).unwrap();
    let id = match server.wait_event(PATIENCE) {
        Some(Event::Connected { client, .. }) => client,
        other => panic!("{other:?}"),
    };
    server.send(id, "one").unwrap();
    server.send(id, "two").unwrap();
    server.disconnect(id).unwrap();
    let client = Arc::new(client);
    let reader = Arc::clone(&client);
    let events: Vec<Event> = within("the events iterator", move || reader.events().collect()); // ends by itself
    assert!(matches!(&events[0], Event::Connected { addr, .. } if *addr == server.local_addr()), "{events:?}");
    assert!(matches!(&events[1], Event::Received { data: m, .. } if m == b"one"));
    assert!(matches!(&events[2], Event::Received { data: m, .. } if m == b"two"));
    assert!(matches!(&events[3], Event::Disconnected { reason: CloseReason::PeerClosed, .. }));
    assert_eq!(events.len(), 4);
    assert!(!client.is_connected());
}

#[test]
fn recv_and_send_after_the_server_left_say_disconnected_instead_of_hanging() {
    let server = echo_server("127.0.0.1:0");
    let client = Client::connect(server.local_addr()).unwrap();
    client.send("last").unwrap();
    assert_eq!(client.recv_timeout(PATIENCE).unwrap(), b"last");
    server.stop().unwrap();
    assert!(matches!(client.recv_timeout(PATIENCE), Err(Error::Disconnected(CloseReason::PeerClosed))));
    assert!(matches!(client.recv_timeout(PATIENCE), Err(Error::Disconnected(_))), "a second recv must not wait");
    assert!(matches!(client.send("anyone?"), Err(Error::Disconnected(_))));
}

#[test]
fn stop_writes_what_was_sent_then_refuses_everything() {
    let server = Server::bind("127.0.0.1:0").unwrap().start_polling().unwrap();
    let client = Client::connect(server.local_addr()).unwrap();
    for i in 0..1000u32 {
        client.send(i.to_be_bytes()).unwrap();
    }
    client.stop().unwrap();
    let mut received = 0u32;
    loop {
        match server.wait_event(PATIENCE).expect("the client's messages or its disconnect") {
            Event::Connected { .. } => {}
            Event::Received { data, .. } => {
                assert_eq!(data, received.to_be_bytes());
                received += 1;
            }
            Event::Disconnected { .. } => break,
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(received, 1000);
    assert!(matches!(client.send("late"), Err(Error::Stopped)));
    assert!(matches!(client.recv_timeout(PATIENCE), Err(Error::Stopped)));
    assert!(matches!(client.reconnect(), Err(Error::Stopped)));
    client.stop().unwrap();
}

/// pyspeak's client callbacks, reported to the test.
struct Callbacks {
    log: Sender<String>,
}

impl ClientHandler for Callbacks {
    fn on_connect(&mut self, client: &mut ClientCtx<'_>, addr: frameloop::Addr) -> Result<(), Error> {
        let _ = self.log.send(format!("connected {}", addr.tcp().unwrap().ip()));
        client.send("hello from on_connect")
    }

    fn on_receive(&mut self, client: &mut ClientCtx<'_>, msg: Message<'_>) -> Result<(), Error> {
        let _ = self.log.send(format!("received {}", msg.text()));
        if msg.bytes() == b"hello from on_connect" {
            client.send("second")?;
        }
        Ok(())
    }

    fn on_disconnect(&mut self, _client: &mut ClientCtx<'_>, reason: &CloseReason) -> Result<(), Error> {
        let _ = self.log.send(format!("closed {reason}"));
        Ok(())
    }
}

#[test]
fn callbacks_see_connect_each_message_and_the_close() {
    let server = echo_server("127.0.0.1:0");
    let (tx, log) = mpsc::channel();
    let client = Client::builder().callbacks(Callbacks { log: tx }).connect(server.local_addr()).unwrap();
    let next = || log.recv_timeout(PATIENCE).unwrap();
    assert_eq!(next(), "connected 127.0.0.1");
    assert_eq!(next(), "received hello from on_connect");
    assert_eq!(next(), "received second");
    assert!(matches!(client.recv_timeout(PATIENCE), Err(Error::Config(_))), "recv is for clients without callbacks");
    let client = Arc::new(client);
    let reader = Arc::clone(&client);
    assert!(within("events() of a client with callbacks", move || reader.events().next().is_none()));
    server.stop().unwrap();
    assert_eq!(next(), "closed closed by the peer");
}

#[test]
fn reconnect_reaches_a_server_restarted_on_the_same_port() {
    let first = echo_server("127.0.0.1:0");
    let addr = first.local_addr().tcp().unwrap();
    let client = Client::connect(addr).unwrap();
    client.send("before").unwrap();
    assert_eq!(client.recv_timeout(PATIENCE).unwrap(), b"before");
    first.stop().unwrap();
    assert!(matches!(client.recv_timeout(PATIENCE), Err(Error::Disconnected(_))));
    assert!(matches!(client.reconnect(), Err(Error::ConnectionRefused { .. })), "nothing listens yet");
    let _second = echo_server(&addr.to_string());
    client.reconnect().unwrap();
    assert!(client.is_connected());
    client.send("after").unwrap();
    assert_eq!(client.recv_timeout(PATIENCE).unwrap(), b"after");
}

#[test]
fn reconnect_replaces_a_live_connection() {
    let server = Server::bind("127.0.0.1:0").unwrap().start_polling().unwrap();
    let client = Client::connect(server.local_addr()).unwrap();
    let first = match server.wait_event(PATIENCE) {
        Some(Event::Connected { client, .. }) => client,
        other => panic!("{other:?}"),
    };
    client.reconnect().unwrap();
    client.send("on the new one").unwrap();
    let mut closed_first = false;
    let mut got = None;
    while !(closed_first && got.is_some()) {
        match server.wait_event(PATIENCE).expect("events of the reconnect") {
            Event::Disconnected { client, .. } if client == first => closed_first = true,
            Event::Received { client, data, .. } => {
                assert_ne!(client, first);
                got = Some(data);
            }
            Event::Connected { .. } => {}
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(got.unwrap(), b"on the new one");
    assert!(client.is_connected());
}

#[test]
fn automatic_reconnect_comes_back_when_the_server_restarts() {
    let first = echo_server("127.0.0.1:0");
    let addr = first.local_addr().tcp().unwrap();
    let policy =
        Reconnect { first_delay: Duration::from_millis(20), max_delay: Duration::from_millis(100), max_attempts: None };
    let client = Client::builder().auto_reconnect(policy).connect(addr).unwrap();
    assert!(matches!(client.wait_event(PATIENCE), Some(Event::Connected { .. })));
    first.stop().unwrap();
    assert!(matches!(client.wait_event(PATIENCE), Some(Event::Disconnected { .. })));
    // A few attempts fail while nothing listens.
    std::thread::sleep(Duration::from_millis(150));
    assert!(!client.is_connected());
    let _second = echo_server(&addr.to_string());
    assert!(matches!(client.wait_event(PATIENCE), Some(Event::Connected { .. })), "did not reconnect");
    assert!(client.is_connected());
    client.send("back").unwrap();
    assert_eq!(client.recv_timeout(PATIENCE).unwrap(), b"back");
}

#[test]
fn automatic_reconnect_gives_up_after_its_attempts_and_recv_says_so() {
    let first = echo_server("127.0.0.1:0");
    let policy = Reconnect {
        first_delay: Duration::from_millis(5),
        max_delay: Duration::from_millis(20),
        max_attempts: Some(3),
    };
    let client = Client::builder().auto_reconnect(policy).connect(first.local_addr()).unwrap();
    first.stop().unwrap();
    // recv waits through the attempts, then reports the disconnect.
    assert!(matches!(client.recv_timeout(PATIENCE), Err(Error::Disconnected(_))));
    assert!(!client.is_connected());
    assert!(client.errors().iter().any(|e| matches!(e, Error::Disconnected(_))));
}

#[test]
fn disconnect_closes_without_reconnecting_and_reconnect_resumes() {
    let server = echo_server("127.0.0.1:0");
    let client = Client::builder().auto_reconnect(Reconnect::default()).connect(server.local_addr()).unwrap();
    client.disconnect().unwrap();
    assert!(!client.is_connected());
    assert!(matches!(client.send("x"), Err(Error::Disconnected(CloseReason::ClosedLocally))));
    std::thread::sleep(Duration::from_millis(250)); // longer than the first back-off
    assert!(!client.is_connected(), "reconnected after a disconnect asked for");
    client.reconnect().unwrap();
    client.send("again").unwrap();
    assert_eq!(client.recv_timeout(PATIENCE).unwrap(), b"again");
    wait_until("one client on the server", || server.client_count() == 1);
}

#[test]
fn a_lines_client_talks_to_a_lines_server() {
    let server = Server::bind("127.0.0.1:0")
        .unwrap()
        .lines()
        .reply(ReplyMode::Concurrent, |l: &[u8]| l.to_ascii_uppercase())
        .unwrap();
    let client = Client::builder().lines().connect(server.local_addr()).unwrap();
    client.send("shout\n").unwrap(); // one trailing newline is fine
    client.send("louder").unwrap();
    assert_eq!(client.recv_timeout(PATIENCE).unwrap(), b"SHOUT");
    assert_eq!(client.recv_timeout(PATIENCE).unwrap(), b"LOUDER");
    assert!(matches!(client.send("two\nlines"), Err(Error::Codec(_))));
}

#[test]
fn waiting_forever_is_accepted_without_overflow() {
    let server = frameloop::Server::bind("127.0.0.1:0").unwrap().start_polling().unwrap();
    assert!(server.wait_event(std::time::Duration::ZERO).is_none());
    let client = frameloop::Client::connect(server.local_addr()).unwrap();
    client.send("ping").unwrap();
    // Duration::MAX used to overflow `Instant + Duration` and panic here.
    let event = server.wait_event(std::time::Duration::MAX);
    assert!(event.is_some());
    drop(client);
}

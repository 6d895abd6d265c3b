//! The client's link, from outside: up, down, backing off, reconnecting by
//! itself or when asked, stopped; what `is_connected`, `send`, `recv` and
//! the events say in each state, for a client with and without callbacks.
//!
//! `tests/facade_client.rs` has the first checks of each feature; these
//! follow the transitions themselves, and the event sequence across them.

mod common;

use std::sync::mpsc::{self, Sender};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{next_connected, skipped, PATIENCE};
use frameloop::{
    Client, ClientCtx, ClientHandler, CloseReason, ConnId, Error, Event, Message, PollingServer, Reconnect, ReplyMode,
    Server, ServerBuilder,
};

/// Reconnects quickly, forever.
const FAST: Reconnect =
    Reconnect { first_delay: Duration::from_millis(20), max_delay: Duration::from_millis(50), max_attempts: None };

/// Long enough for several attempts of [`FAST`] to be made.
const SEVERAL_ATTEMPTS: Duration = Duration::from_millis(300);

fn echo(builder: ServerBuilder) -> Server {
    builder.reply(ReplyMode::Concurrent, |req: &[u8]| req.to_vec()).unwrap()
}

/// Binds `port` again after its server stopped, retrying for a while in
/// case the port is still busy a moment; `None` (the test then skips) if it
/// stays taken.
fn bind_again(port: u16) -> Option<ServerBuilder> {
    let deadline = Instant::now() + PATIENCE;
    loop {
        match Server::bind(("127.0.0.1", port)) {
            Ok(builder) => return Some(builder),
            Err(Error::AddrInUse { .. }) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
            Err(Error::AddrInUse { .. }) => return None,
            Err(e) => panic!("binding port {port} again: {e}"),
        }
    }
}

/// The client's next event; fails the test if none comes in time.
fn next_event(client: &Client) -> Event {
    client.wait_event(PATIENCE).expect("an event of the client")
}

/// The client's events up to the first `Disconnected`, polled: after the
/// program's own `disconnect` the client already knows it is down, so
/// `wait_event` does not wait for the event still on its way.
fn events_until_disconnected(client: &Client) -> Vec<Event> {
    let deadline = Instant::now() + PATIENCE;
    let mut events = Vec::new();
    while !matches!(events.last(), Some(Event::Disconnected { .. })) {
        assert!(Instant::now() < deadline, "no Disconnected event; saw {events:?}");
        match client.wait_event(Duration::from_millis(10)) {
            Some(event) => events.push(event),
            None => std::thread::sleep(Duration::from_millis(2)),
        }
    }
    events
}

/// Runs `f` on its own thread and fails the test if it does not return
/// within the patience: for calls whose bug would be to block (they are
/// given far longer timeouts than that, or none).
fn within<T: Send + 'static>(what: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(PATIENCE).unwrap_or_else(|_| panic!("{what} blocked"))
}

/// The server's events up to a message, answered with `reply`: the id it
/// came from, whether `watch` closed meanwhile, and the message.
fn serve_one(server: &PollingServer, watch: Option<ConnId>, reply: &str) -> (ConnId, bool, Vec<u8>) {
    let mut closed = false;
    loop {
        match server.wait_event(PATIENCE).expect("the client's message") {
            Event::Disconnected { client, .. } if Some(client) == watch => closed = true,
            Event::Received { client, data, .. } => {
                server.send(client, reply).unwrap();
                return (client, closed, data);
            }
            Event::Connected { .. } => {}
            other => panic!("unexpected {other:?}"),
        }
    }
}

/// Up → Down for good, without automatic reconnection: every way of asking
/// says so, and nothing waits for a connection that will never come (a
/// `recv` with no timeout returns; the events end after `Disconnected`).
#[test]
fn without_auto_reconnect_a_lost_server_leaves_the_client_down_and_nothing_waits() {
    let server = echo(Server::bind("127.0.0.1:0").unwrap());
    let addr = server.local_addr().tcp().unwrap();
    let client = Arc::new(Client::connect(addr).unwrap());
    assert!(matches!(next_event(&client), Event::Connected { addr: a, .. } if a == addr));
    server.stop().unwrap();
    assert!(matches!(next_event(&client), Event::Disconnected { reason: CloseReason::PeerClosed, .. }));
    assert!(!client.is_connected());
    let c = Arc::clone(&client);
    assert!(within("wait_event after the end", move || c.wait_event(3 * PATIENCE)).is_none(), "events go on");
    assert!(matches!(client.send("anyone?"), Err(Error::Disconnected(CloseReason::PeerClosed))));
    let c = Arc::clone(&client);
    let got = within("recv without a timeout", move || c.recv());
    assert!(matches!(got, Err(Error::Disconnected(CloseReason::PeerClosed))), "{got:?}");
}

/// Up → Backoff → Up: while the server is away the client is down but
/// still trying (send refuses, recv waits instead of reporting the end);
/// once the server is back on its port the client reconnects by itself,
/// the events say Connected, Disconnected, Connected, and messages flow
/// again (the one refused while down is not sent later).
#[test]
fn auto_reconnect_rides_out_a_server_restart_on_the_same_port() {
    let first = echo(Server::bind("127.0.0.1:0").unwrap());
    let addr = first.local_addr().tcp().unwrap();
    let client = Client::builder().auto_reconnect(FAST).connect(addr).unwrap();
    assert!(matches!(next_event(&client), Event::Connected { addr: a, .. } if a == addr));
    client.send("before").unwrap();
    assert!(matches!(next_event(&client), Event::Received { data: m, .. } if m == b"before"));
    first.stop().unwrap();
    assert!(matches!(next_event(&client), Event::Disconnected { reason: CloseReason::PeerClosed, .. }));
    assert!(!client.is_connected());
    assert!(matches!(client.send("lost"), Err(Error::Disconnected(_))));
    // Meanwhile attempts fail against the closed port.
    let waited = client.recv_timeout(SEVERAL_ATTEMPTS);
    assert!(matches!(waited, Err(Error::TimedOut)), "recv while reconnecting must wait, got {waited:?}");
    let Some(builder) = bind_again(addr.port()) else {
        return skipped("auto_reconnect_rides_out_a_server_restart_on_the_same_port", "the port stayed in use");
    };
    let _second = echo(builder);
    assert!(matches!(next_event(&client), Event::Connected { addr: a, .. } if a == addr), "did not reconnect");
    assert!(client.is_connected());
    client.send("after").unwrap();
    assert_eq!(client.recv_timeout(PATIENCE).unwrap(), b"after");
}

/// Backoff → given up, with `max_attempts`: the giving up is an error
/// event (and in `errors()`), after which the events end and a recv
/// reports the disconnect at once instead of waiting out its timeout.
#[test]
fn auto_reconnect_gives_up_after_max_attempts_and_then_nothing_waits() {
    let first = echo(Server::bind("127.0.0.1:0").unwrap());
    let policy = Reconnect { max_attempts: Some(2), ..FAST };
    let client = Arc::new(Client::builder().auto_reconnect(policy).connect(first.local_addr()).unwrap());
    assert!(matches!(next_event(&client), Event::Connected { .. }));
    first.stop().unwrap();
    assert!(matches!(next_event(&client), Event::Disconnected { reason: CloseReason::PeerClosed, .. }));
    let gave_up = next_event(&client);
    assert!(matches!(gave_up, Event::Error(Error::Disconnected(_))), "{gave_up:?}");
    let c = Arc::clone(&client);
    assert!(within("wait_event after giving up", move || c.wait_event(3 * PATIENCE)).is_none(), "events go on");
    let c = Arc::clone(&client);
    let got = within("recv_timeout after giving up", move || c.recv_timeout(3 * PATIENCE));
    assert!(matches!(got, Err(Error::Disconnected(_))), "{got:?}");
    assert!(!client.is_connected());
    assert!(matches!(client.send("x"), Err(Error::Disconnected(_))));
    let errors = client.errors();
    assert!(errors.iter().any(|e| matches!(e, Error::Disconnected(_))), "{errors:?}");
}

/// Up → Down by `disconnect()`, then Up by `reconnect()`, with automatic
/// reconnection on: the disconnect is `ClosedLocally`, the server sees no
/// new connection until `reconnect()`, messages flow after it, and a later
/// drop is again reconnected by itself (the disconnect did not switch
/// automatic reconnection off for good).
#[test]
fn disconnect_stays_down_until_reconnect_even_with_auto_reconnect() {
    let server = Server::bind("127.0.0.1:0").unwrap().start_polling().unwrap();
    let client = Client::builder().auto_reconnect(FAST).connect(server.local_addr()).unwrap();
    let first = next_connected(&server);
    client.disconnect().unwrap();
    assert!(!client.is_connected());
    assert!(matches!(client.send("x"), Err(Error::Disconnected(CloseReason::ClosedLocally))));
    let events = events_until_disconnected(&client);
    assert!(
        matches!(
            &events[..],
            [Event::Connected { .. }, Event::Disconnected { reason: CloseReason::ClosedLocally, .. }]
        ),
        "{events:?}"
    );
    assert!(matches!(server.wait_event(PATIENCE), Some(Event::Disconnected { client, .. }) if client == first));
    let later = server.wait_event(SEVERAL_ATTEMPTS);
    assert!(later.is_none(), "after disconnect() the client came back by itself: {later:?}");
    assert!(!client.is_connected());
    assert!(matches!(client.recv_timeout(PATIENCE), Err(Error::Disconnected(CloseReason::ClosedLocally))));

    client.reconnect().unwrap();
    assert!(client.is_connected());
    let second = next_connected(&server);
    client.send("again").unwrap();
    assert_eq!(serve_one(&server, None, "welcome back"), (second, false, b"again".to_vec()));
    assert_eq!(client.recv_timeout(PATIENCE).unwrap(), b"welcome back");

    // The server's close is taken in once the program comes back for more
    // (till then the connection is held open for its answers: see
    // `half_close_timeout`); then the client reconnects by itself.
    server.disconnect(second).unwrap();
    assert!(matches!(next_event(&client), Event::Disconnected { reason: CloseReason::PeerClosed, .. }));
    assert!(matches!(next_event(&client), Event::Connected { .. }), "no automatic reconnect");
    let third = next_connected(&server);
    assert_ne!(third, second);
}

/// Up → Up by `reconnect()`: the old connection closes and a new one opens
/// on the server, and what is sent after the call goes on the new one (the
/// link is up as soon as `reconnect()` returns); on the client the replaced
/// one's `Disconnected { ClosedLocally }` comes before the new `Connected`
/// and leaves the new link up, and no automatic reconnect adds a third
/// connection (a replaced connection is not a dropped one).
#[test]
fn reconnect_while_up_replaces_the_connection_and_the_old_close_does_not_mark_it_down() {
    let server = Server::bind("127.0.0.1:0").unwrap().start_polling().unwrap();
    let client = Client::builder().auto_reconnect(FAST).connect(server.local_addr()).unwrap();
    let first = next_connected(&server);
    assert!(matches!(next_event(&client), Event::Connected { .. }));
    client.reconnect().unwrap();
    client.send("on the new one").unwrap();
    let (second, closed_first, data) = serve_one(&server, Some(first), "reply");
    assert_ne!(second, first);
    assert_eq!(data, b"on the new one");
    if !closed_first {
        assert!(matches!(server.wait_event(PATIENCE), Some(Event::Disconnected { client, .. }) if client == first));
    }
    assert!(matches!(next_event(&client), Event::Disconnected { reason: CloseReason::ClosedLocally, .. }));
    assert!(matches!(next_event(&client), Event::Connected { .. }));
    assert!(client.is_connected(), "the replaced connection's close marked the new one down");
    assert!(matches!(next_event(&client), Event::Received { data: m, .. } if m == b"reply"));
    let later = server.wait_event(SEVERAL_ATTEMPTS);
    assert!(later.is_none(), "unexpected {later:?}");
    assert_eq!(server.client_count(), 1);
}

/// Down (by `disconnect()`, still closing) → Up by `reconnect()`:
/// `disconnect()` promises to close "once what was sent is written", so a
/// `reconnect()` straight after it must not throw the old connection's
/// unwritten messages away. A message of a few MiB is still being written
/// when the reconnect comes.
#[test]
fn reconnect_right_after_disconnect_still_writes_what_was_sent() {
    let server = Server::bind("127.0.0.1:0").unwrap().start_polling().unwrap();
    let client = Client::connect(server.local_addr()).unwrap();
    let first = next_connected(&server);
    let big = vec![7u8; 4 << 20];
    client.send(&big).unwrap();
    client.disconnect().unwrap();
    client.reconnect().unwrap();
    let mut got = None;
    loop {
        match server.wait_event(PATIENCE).expect("the message, then the first connection's close") {
            Event::Received { client, data, .. } if client == first => got = Some(data.len()),
            Event::Disconnected { client, .. } if client == first => break,
            _ => {}
        }
    }
    assert_eq!(got, Some(big.len()), "the message sent before disconnect() never arrived");
    assert!(client.errors().is_empty());
}

/// Backoff → Down by `disconnect()`: it cancels the attempts; recv then
/// reports the end, and the server coming back on the port sees nobody.
#[test]
fn disconnect_during_backoff_cancels_the_reconnection() {
    let first = echo(Server::bind("127.0.0.1:0").unwrap());
    let addr = first.local_addr().tcp().unwrap();
    let client = Client::builder().auto_reconnect(FAST).connect(addr).unwrap();
    assert!(matches!(next_event(&client), Event::Connected { .. }));
    first.stop().unwrap();
    assert!(matches!(next_event(&client), Event::Disconnected { reason: CloseReason::PeerClosed, .. }));
    assert!(matches!(client.recv_timeout(Duration::from_millis(50)), Err(Error::TimedOut)), "not reconnecting");
    client.disconnect().unwrap();
    assert!(matches!(client.recv_timeout(PATIENCE), Err(Error::Disconnected(CloseReason::ClosedLocally))));
    let Some(builder) = bind_again(addr.port()) else {
        return skipped("disconnect_during_backoff_cancels_the_reconnection", "the port stayed in use");
    };
    let second = builder.start_polling().unwrap();
    let seen = second.wait_event(SEVERAL_ATTEMPTS);
    assert!(seen.is_none(), "the client reconnected after disconnect(): {seen:?}");
    assert!(!client.is_connected());
}

/// Backoff → Stopped: `stop()` does not wait for the back-off timer or the
/// attempts (the slow policy's timer is far longer than the patience), and
/// everything afterwards says `Stopped`.
#[test]
fn stop_during_backoff_returns_and_then_everything_says_stopped() {
    let slow =
        Reconnect { first_delay: Duration::from_secs(60), max_delay: Duration::from_secs(60), max_attempts: None };
    for policy in [FAST, slow] {
        let first = echo(Server::bind("127.0.0.1:0").unwrap());
        let client = Arc::new(Client::builder().auto_reconnect(policy).connect(first.local_addr()).unwrap());
        assert!(matches!(next_event(&client), Event::Connected { .. }));
        first.stop().unwrap();
        assert!(matches!(next_event(&client), Event::Disconnected { .. }));
        let waited = client.recv_timeout(Duration::from_millis(50));
        assert!(matches!(waited, Err(Error::TimedOut)), "not backing off: {waited:?}");
        let c = Arc::clone(&client);
        within("stop during back-off", move || c.stop()).unwrap();
        assert!(!client.is_connected());
        assert!(matches!(client.send("x"), Err(Error::Stopped)));
        assert!(matches!(client.recv_timeout(PATIENCE), Err(Error::Stopped)));
        assert!(matches!(client.reconnect(), Err(Error::Stopped)));
        assert!(matches!(client.disconnect(), Err(Error::Stopped)));
        client.stop().unwrap();
    }
}

/// Tells the test each callback, in the order they are called.
struct Log(Sender<String>);

impl ClientHandler for Log {
    fn on_connect(&mut self, _client: &mut ClientCtx<'_>, addr: frameloop::Addr) -> Result<(), Error> {
        let _ = self.0.send(format!("connect {addr}"));
        Ok(())
    }

    fn on_receive(&mut self, _client: &mut ClientCtx<'_>, msg: Message<'_>) -> Result<(), Error> {
        let _ = self.0.send(format!("receive {}", msg.text()));
        Ok(())
    }

    fn on_disconnect(&mut self, _client: &mut ClientCtx<'_>, reason: &CloseReason) -> Result<(), Error> {
        let _ = self.0.send(format!("disconnect {reason:?}"));
        Ok(())
    }
}

/// With callbacks, across an automatic reconnect: on_connect,
/// on_disconnect, on_connect again, in that order and once each (the
/// failed attempts in between call nothing), then messages flow, and the
/// stop is the last on_disconnect.
#[test]
fn callbacks_see_connect_disconnect_connect_across_an_auto_reconnect() {
    let first = echo(Server::bind("127.0.0.1:0").unwrap());
    let addr = first.local_addr().tcp().unwrap();
    let (tx, log) = mpsc::channel();
    let client = Client::builder().auto_reconnect(FAST).callbacks(Log(tx)).connect(addr).unwrap();
    let next = || log.recv_timeout(PATIENCE).expect("a callback");
    assert_eq!(next(), format!("connect {addr}"));
    first.stop().unwrap();
    assert_eq!(next(), "disconnect PeerClosed");
    let during = log.recv_timeout(SEVERAL_ATTEMPTS);
    assert!(during.is_err(), "a callback while the server was away: {during:?}");
    assert!(!client.is_connected());
    let Some(builder) = bind_again(addr.port()) else {
        return skipped("callbacks_see_connect_disconnect_connect_across_an_auto_reconnect", "the port stayed in use");
    };
    let _second = echo(builder);
    assert_eq!(next(), format!("connect {addr}"));
    assert!(client.is_connected());
    client.send("back").unwrap();
    assert_eq!(next(), "receive back");
    client.stop().unwrap();
    assert_eq!(next(), "disconnect ClosedLocally");
    assert!(log.try_recv().is_err(), "a callback after the stop");
}

/// Up → Closing → Down for a connection the server had half-closed: the
/// program's own `disconnect()` ends it, whatever the reactor says of how
/// it ended (the peer's end of stream), so automatic reconnection must not
/// start.
#[test]
fn disconnecting_a_connection_the_server_half_closed_does_not_reconnect() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let client = Client::builder()
        .auto_reconnect(Reconnect { first_delay: Duration::from_millis(10), ..Reconnect::default() })
        .connect(listener.local_addr().unwrap())
        .unwrap();
    let (first, _) = listener.accept().unwrap();
    first.shutdown(std::net::Shutdown::Write).unwrap();
    // Time for the end of stream to arrive: the client holds the connection
    // open for its program then.
    std::thread::sleep(Duration::from_millis(200));
    client.disconnect().unwrap();
    assert!(!client.is_connected());
    listener.set_nonblocking(true).unwrap();
    let start = Instant::now();
    while start.elapsed() < Duration::from_millis(500) {
        assert!(listener.accept().is_err(), "reconnected after disconnect()");
        std::thread::sleep(Duration::from_millis(5));
    }
    let reasons: Vec<CloseReason> = std::iter::from_fn(|| client.try_event())
        .filter_map(|e| match e {
            Event::Disconnected { reason, .. } => Some(reason),
            _ => None,
        })
        .collect();
    assert!(reasons.iter().all(|r| *r == CloseReason::ClosedLocally), "{reasons:?}");
}

/// Several threads disconnect and reconnect one client at once: their
/// changes may reach the network thread in another order than they were
/// numbered in, and each call must still return.
#[test]
fn concurrent_link_changes_all_return() {
    let server = Server::bind("127.0.0.1:0").unwrap().start_polling().unwrap();
    let client = Arc::new(Client::connect(server.local_addr()).unwrap());
    for trial in 0..100 {
        let barrier = Arc::new(std::sync::Barrier::new(8));
        let (tx, rx) = mpsc::channel();
        for i in 0..8 {
            let (client, barrier, tx) = (Arc::clone(&client), Arc::clone(&barrier), tx.clone());
            // Not joined: a call that never returns must fail the test, not
            // hang it.
            std::thread::spawn(move || {
                barrier.wait();
                let _ = if i % 4 == 0 { client.reconnect() } else { client.disconnect() };
                let _ = tx.send(());
            });
        }
        for i in 0..8 {
            assert!(rx.recv_timeout(PATIENCE).is_ok(), "trial {trial}: change {i} never returned");
        }
    }
}

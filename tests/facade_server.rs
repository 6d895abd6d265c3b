//! The beginner server: callbacks and polling over real loopback sockets,
//! the handle used from other threads, stopping under load.

mod common;

use std::collections::HashMap;
use std::net::TcpStream;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Sender};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::hostile::enough_fds;
use common::{connect, frame, read_frame, read_to_close, wait_until, write_frame, PATIENCE};
use frameloop::{CloseReason, ConnId, Error, Event, Message, PollingServer, Server, ServerCtx, ServerHandler};

/// Echoes, and tells the test every message it saw, with the sender.
struct Recorder {
    seen: Sender<(ConnId, Vec<u8>)>,
}

impl ServerHandler for Recorder {
    fn on_receive(&mut self, server: &mut ServerCtx<'_>, client: ConnId, msg: Message<'_>) -> Result<(), Error> {
        let _ = self.seen.send((client, msg.to_vec()));
        server.send(client, msg)
    }
}

fn numbered(client: usize, i: usize) -> Vec<u8> {
    format!("{client}:{i}").into_bytes()
}

/// Writes `count` numbered frames in one burst (so TCP merges and splits
/// them at will) and checks the echoes come back whole and in order.
fn burst_and_check(mut s: TcpStream, client: usize, count: usize) {
    let mut out = Vec::new();
    for i in 0..count {
        out.extend_from_slice(&common::frame(&numbered(client, i)));
    }
    std::io::Write::write_all(&mut s, &out).unwrap();
    for i in 0..count {
        assert_eq!(read_frame(&mut s), numbered(client, i), "client {client} echo {i}");
    }
}

#[test]
fn callbacks_receive_every_message_exactly_once_and_in_order() {
    let (tx, rx) = mpsc::channel();
    let server = Server::bind("127.0.0.1:0").unwrap().start(Recorder { seen: tx }).unwrap();
    let addr = server.local_addr().tcp().unwrap();
    const CLIENTS: usize = 8;
    const COUNT: usize = 2000;
    std::thread::scope(|scope| {
        for c in 0..CLIENTS {
            scope.spawn(move || burst_and_check(connect(addr), c, COUNT));
        }
    });
    // Every message reached the callback once, in order per client.
    let mut per_conn: HashMap<ConnId, Vec<Vec<u8>>> = HashMap::new();
    for _ in 0..CLIENTS * COUNT {
        let (client, msg) = rx.recv_timeout(PATIENCE).expect("callback saw fewer messages than were sent");
        per_conn.entry(client).or_default().push(msg);
    }
    assert!(rx.try_recv().is_err(), "a message reached the callback twice");
    assert_eq!(per_conn.len(), CLIENTS);
    for msgs in per_conn.values() {
        let client: usize = String::from_utf8_lossy(&msgs[0]).split(':').next().unwrap().parse().unwrap();
        let expected: Vec<Vec<u8>> = (0..COUNT).map(|i| numbered(client, i)).collect();
        assert_eq!(msgs, &expected, "client {client}'s messages out of order");
    }
    server.stop().unwrap();
}

/// Takes events until `pred` says enough, failing after the patience.
fn collect_events(server: &PollingServer, mut done: impl FnMut(&Event) -> bool) -> Vec<Event> {
    let deadline = Instant::now() + PATIENCE;
    let mut events = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let event = server.wait_event(left).expect("expected event did not come in time");
        let stop = done(&event);
        events.push(event);
        if stop {
            return events;
        }
    }
}

/// Takes events in `for event in server.events()` loops that each end
/// after `per_loop` events, giving back what they took and did not hand out,
/// until `done` says enough; on a thread of its own, failing after the
/// patience.
fn collect_in_loops(
    server: &Arc<PollingServer>,
    per_loop: usize,
    mut done: impl FnMut(&Event) -> bool + Send + 'static,
) -> Vec<Event> {
    let server = Arc::clone(server);
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut events = Vec::new();
        'loops: loop {
            for (i, event) in server.events().enumerate() {
                let stop = done(&event);
                events.push(event);
                if stop {
                    break 'loops;
                }
                if i + 1 == per_loop {
                    continue 'loops; // ends this loop early
                }
            }
            break; // the server stopped
        }
        let _ = tx.send(events);
    });
    rx.recv_timeout(PATIENCE).expect("expected events did not come in time")
}

#[test]
fn polling_receives_every_message_exactly_once_and_in_order_between_connect_and_disconnect() {
    receives_every_message_once_in_order(None);
}

/// The same through `events()` loops cut short every 97 events.
#[test]
fn events_loops_ended_early_lose_no_event_and_keep_the_order() {
    receives_every_message_once_in_order(Some(97));
}

/// Four clients each send a burst and close; the program takes the events
/// with `wait_event`, or in `events()` loops of `per_loop` events.
fn receives_every_message_once_in_order(per_loop: Option<usize>) {
    let server = Arc::new(Server::bind("127.0.0.1:0").unwrap().start_polling().unwrap());
    let addr = server.local_addr().tcp().unwrap();
    const CLIENTS: usize = 4;
    const COUNT: usize = 1000;
    std::thread::scope(|scope| {
        for c in 0..CLIENTS {
            scope.spawn(move || {
                let mut s = connect(addr);
                let mut out = Vec::new();
                for i in 0..COUNT {
                    out.extend_from_slice(&common::frame(&numbered(c, i)));
                }
                std::io::Write::write_all(&mut s, &out).unwrap();
                // Closing after the burst: the disconnect comes after every message.
            });
        }
    });
    let mut disconnected = 0;
    let done = move |e: &Event| {
        if matches!(e, Event::Disconnected { .. }) {
            disconnected += 1;
        }
        disconnected == CLIENTS
    };
    let events = match per_loop {
        None => collect_events(&server, done),
        Some(n) => collect_in_loops(&server, n, done),
    };
    let mut state: HashMap<ConnId, (bool, Vec<Vec<u8>>, bool)> = HashMap::new();
    for event in events {
        match event {
            Event::Connected { client, addr } => {
                assert!(addr.tcp().unwrap().ip().is_loopback());
                assert!(state.insert(client, (true, Vec::new(), false)).is_none(), "connected twice");
            }
            Event::Received { client, data, .. } => {
                let entry = state.get_mut(&client).expect("message before connect");
                assert!(!entry.2, "message after disconnect");
                entry.1.push(data);
            }
            Event::Disconnected { client, reason, .. } => {
                assert_eq!(reason, CloseReason::PeerClosed);
                state.get_mut(&client).expect("disconnect before connect").2 = true;
            }
            other => panic!("unexpected event {other:?}"),
        }
    }
    assert_eq!(state.len(), CLIENTS);
    for (_, msgs, _) in state.values() {
        let client: usize = String::from_utf8_lossy(&msgs[0]).split(':').next().unwrap().parse().unwrap();
        let expected: Vec<Vec<u8>> = (0..COUNT).map(|i| numbered(client, i)).collect();
        assert_eq!(msgs, &expected);
    }
    assert!(server.try_event().is_none(), "an event came twice");
}

#[test]
fn drain_events_takes_everything_waiting_without_blocking() {
    let server = Server::bind("127.0.0.1:0").unwrap().start_polling().unwrap();
    assert!(server.drain_events().is_empty());
    let mut s = connect(server.local_addr().tcp().unwrap());
    for i in 0..3 {
        write_frame(&mut s, &[i]);
    }
    let mut got = Vec::new();
    let deadline = Instant::now() + PATIENCE;
    while got.len() < 4 {
        assert!(Instant::now() < deadline, "events did not arrive: {got:?}");
        got.extend(server.drain_events());
        std::thread::sleep(Duration::from_millis(2));
    }
    assert!(matches!(got[0], Event::Connected { .. }));
    for (i, event) in got[1..].iter().enumerate() {
        assert!(matches!(event, Event::Received { data, .. } if data == &[i as u8]), "{event:?}");
    }
}

/// Counts this process's threads.
fn thread_count() -> usize {
    std::fs::read_dir("/proc/self/task").map(|d| d.count()).unwrap_or(0)
}

#[test]
fn five_hundred_clients_share_one_network_thread() {
    const CLIENTS: usize = 500;
    if !enough_fds(2 * CLIENTS as u64 + 100, "five_hundred_clients_share_one_network_thread") {
        return;
    }
    let server = Server::bind("127.0.0.1:0").unwrap().start_polling().unwrap();
    let addr = server.local_addr().tcp().unwrap();
    let mut clients: Vec<TcpStream> = (0..CLIENTS).map(|_| common::hostile::connect_patiently(addr)).collect();
    wait_until("500 clients to be listed", || server.client_count() == CLIENTS);
    // One network thread for all of them: far fewer threads than clients,
    // whatever the other tests of this binary run meanwhile.
    assert!(thread_count() < 100, "{} threads for {CLIENTS} clients", thread_count());
    let listed = server.clients();
    assert_eq!(listed.len(), CLIENTS);
    for s in &mut clients {
        write_frame(s, b"hi");
    }
    let mut received = 0;
    let deadline = Instant::now() + PATIENCE * 2;
    while received < CLIENTS {
        let left = deadline.saturating_duration_since(Instant::now());
        match server.wait_event(left).expect("messages of 500 clients did not all arrive") {
            Event::Received { client, data, .. } => {
                assert_eq!(data, b"hi");
                server.send(client, b"welcome").unwrap();
                received += 1;
            }
            Event::Connected { .. } => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    for s in &mut clients {
        assert_eq!(read_frame(s), b"welcome");
    }
    server.broadcast("to all").unwrap();
    for s in &mut clients {
        assert_eq!(read_frame(s), b"to all");
    }
    server.stop().unwrap();
    for s in &mut clients {
        read_to_close(s);
    }
}

#[test]
fn stop_while_other_threads_send_delivers_every_accepted_message_and_refuses_the_rest() {
    let server = Server::bind("127.0.0.1:0").unwrap().start_polling().unwrap();
    let mut s = connect(server.local_addr().tcp().unwrap());
    let client = match server.wait_event(PATIENCE) {
        Some(Event::Connected { client, .. }) => client,
        other => panic!("expected a connect, got {other:?}"),
    };
    // The client reads everything until the server closes it.
    let reader = std::thread::spawn(move || {
        let bytes = read_to_close(&mut s);
        let mut frames = 0u64;
        let mut rest = &bytes[..];
        while let Some((_, used)) = frameloop::codec::frame::decode(rest, usize::MAX).unwrap() {
            frames += 1;
            rest = &rest[used..];
        }
        assert!(rest.is_empty(), "a message was cut short");
        frames
    });
    let accepted = AtomicU64::new(0);
    let (done_tx, done_rx) = mpsc::channel();
    std::thread::scope(|scope| {
        for t in 0..4 {
            let (server, accepted, done_tx) = (&server, &accepted, done_tx.clone());
            scope.spawn(move || {
                let mut refused = None;
                for i in 0..200_000u32 {
                    let result = if t % 2 == 0 {
                        server.send(client, i.to_be_bytes())
                    } else {
                        server.broadcast(i.to_be_bytes())
                    };
                    match result {
                        Ok(()) => {
                            accepted.fetch_add(1, Ordering::SeqCst);
                        }
                        Err(e) => {
                            refused = Some(e);
                            break;
                        }
                    }
                    if i % 64 == 0 {
                        // Let the client keep up: the test is about stopping,
                        // not about the slow-consumer cap.
                        std::thread::yield_now();
                    }
                }
                let _ = done_tx.send(refused);
            });
        }
        std::thread::sleep(Duration::from_millis(50));
        server.stop().unwrap();
        for _ in 0..4 {
            let refused = done_rx.recv_timeout(PATIENCE).expect("a sending thread hung after stop");
            if let Some(e) = refused {
                assert!(matches!(e, Error::Stopped | Error::UnknownConnection(_)), "{e:?}");
            }
        }
    });
    let delivered = reader.join().unwrap();
    let errors = server.errors();
    assert!(errors.iter().all(|e| matches!(e, Error::ConnectionClosed(_) | Error::UnknownConnection(_))), "{errors:?}");
    // Every send that returned Ok reached the client, except those the
    // network thread reported as undeliverable.
    assert_eq!(delivered + errors.len() as u64, accepted.load(Ordering::SeqCst));
    assert!(matches!(server.send(client, "late"), Err(Error::Stopped)));
    assert!(matches!(server.broadcast("late"), Err(Error::Stopped)));
    assert!(matches!(server.pause_accepting(), Err(Error::Stopped)));
    assert!(!server.is_running());
    server.stop().unwrap(); // twice is harmless
}

#[test]
fn bind_reports_a_busy_port_and_a_bad_address_at_once() {
    let first = Server::bind("127.0.0.1:0").unwrap();
    let addr = first.local_addr().tcp().unwrap();
    assert!(matches!(Server::bind(addr), Err(Error::AddrInUse { .. })));
    assert!(matches!(Server::bind("127.0.0.1:99999"), Err(Error::InvalidAddress { .. })));
    assert!(matches!(Server::bind("not an address"), Err(Error::InvalidAddress { .. })));
    // 192.0.2.1 (TEST-NET-1) is no address of this machine.
    assert!(matches!(Server::bind("192.0.2.1:0"), Err(Error::AddrNotAvailable { .. })));
}

#[test]
fn dropping_the_server_stops_it_and_frees_the_port() {
    let server = Server::bind("127.0.0.1:0").unwrap().start_polling().unwrap();
    let addr = server.local_addr().tcp().unwrap();
    let mut s = connect(addr);
    drop(server);
    read_to_close(&mut s);
    assert!(TcpStream::connect(addr).is_err());
    let _rebound = Server::bind(addr).expect("the port is free again");
}

/// pyspeak's chat box on the server side, plus the lookups the chat needs.
struct ChatBox {
    lists: Sender<Vec<(ConnId, frameloop::Addr)>>,
}

impl ServerHandler for ChatBox {
    fn on_receive(&mut self, server: &mut ServerCtx<'_>, client: ConnId, msg: Message<'_>) -> Result<(), Error> {
        match msg.bytes() {
            b"who" => {
                let _ = self.lists.send(server.clients());
                let count = server.client_count().to_string();
                server.send(client, count)
            }
            b"kick me" => server.disconnect(client),
            _ => {
                server.broadcast_except(client, msg);
                Ok(())
            }
        }
    }
}

#[test]
fn a_callback_sends_to_all_but_the_sender_lists_clients_and_disconnects_one() {
    let (tx, lists) = mpsc::channel();
    let server = Server::bind("127.0.0.1:0").unwrap().start(ChatBox { lists: tx }).unwrap();
    let mut a = connect(server.local_addr().tcp().unwrap());
    let mut b = connect(server.local_addr().tcp().unwrap());
    let mut c = connect(server.local_addr().tcp().unwrap());
    wait_until("three clients", || server.client_count() == 3);
    write_frame(&mut a, b"hello");
    assert_eq!(read_frame(&mut b), b"hello");
    assert_eq!(read_frame(&mut c), b"hello");
    write_frame(&mut a, b"who");
    assert_eq!(read_frame(&mut a), b"3", "the sender got its own broadcast instead of the answer");
    let listed = lists.recv_timeout(PATIENCE).unwrap();
    let mut ports: Vec<u16> = listed.iter().map(|(_, addr)| addr.tcp().unwrap().port()).collect();
    ports.sort_unstable();
    let mut expected: Vec<u16> = [&a, &b, &c].iter().map(|s| s.local_addr().unwrap().port()).collect();
    expected.sort_unstable();
    assert_eq!(ports, expected);
    assert_eq!(server.clients().len(), 3);
    write_frame(&mut b, b"kick me");
    read_to_close(&mut b);
    wait_until("the kicked client to be gone", || server.client_count() == 2);
}

#[test]
fn the_handle_sends_broadcasts_and_disconnects_from_another_thread() {
    let server = Server::bind("127.0.0.1:0").unwrap().start_polling().unwrap();
    let mut a = connect(server.local_addr().tcp().unwrap());
    let mut b = connect(server.local_addr().tcp().unwrap());
    wait_until("two clients", || server.client_count() == 2);
    let a_port = a.local_addr().unwrap().port();
    let (a_id, _) = server.clients().into_iter().find(|(_, addr)| addr.tcp().unwrap().port() == a_port).unwrap();
    std::thread::scope(|scope| {
        scope.spawn(|| {
            server.send(a_id, "just a").unwrap();
            server.broadcast_except(a_id, "all but a").unwrap();
            server.broadcast("everyone").unwrap();
        });
    });
    assert_eq!(read_frame(&mut a), b"just a");
    assert_eq!(read_frame(&mut a), b"everyone");
    assert_eq!(read_frame(&mut b), b"all but a");
    assert_eq!(read_frame(&mut b), b"everyone");
    server.disconnect(a_id).unwrap();
    read_to_close(&mut a);
    wait_until("a to be gone", || server.client_count() == 1);
    // The network thread keeps the one table of clients: a send to one that
    // is gone is accepted here and refused there, where the program hears
    // of it in order with its other events.
    server.send(a_id, "gone").unwrap();
    server.disconnect(a_id).unwrap();
    let mut unknown = 0;
    while unknown < 2 {
        match server.wait_event(PATIENCE) {
            Some(Event::Error(Error::UnknownConnection(id))) if id == a_id => unknown += 1,
            Some(_) => {}
            None => panic!("the send and the disconnect of a gone client were not refused"),
        }
    }
    let errors = server.errors();
    assert_eq!(
        errors.iter().filter(|e| matches!(e, Error::UnknownConnection(id) if *id == a_id)).count(),
        2,
        "{errors:?}"
    );
}

#[test]
fn paused_accepting_leaves_newcomers_waiting_until_resumed() {
    let server = Server::bind("127.0.0.1:0").unwrap().start_polling().unwrap();
    server.pause_accepting().unwrap();
    // A command is carried out in order: a frame exchange after it proves
    // the pause took effect... but no client is accepted to exchange with,
    // so give the network thread a moment instead.
    std::thread::sleep(Duration::from_millis(50));
    let mut s = connect(server.local_addr().tcp().unwrap()); // completes in the backlog
    write_frame(&mut s, b"anyone?");
    assert!(server.wait_event(Duration::from_millis(200)).is_none(), "accepted while paused");
    server.resume_accepting().unwrap();
    assert!(matches!(server.wait_event(PATIENCE), Some(Event::Connected { .. })));
    assert!(matches!(server.wait_event(PATIENCE), Some(Event::Received { data, .. }) if data == b"anyone?"));
}

/// Fails on request, panics on another.
struct Fragile;

impl ServerHandler for Fragile {
    fn on_receive(&mut self, server: &mut ServerCtx<'_>, client: ConnId, msg: Message<'_>) -> Result<(), Error> {
        match msg.bytes() {
            b"fail" => Err(Error::Config("asked to fail".into())),
            b"panic" => panic!("asked to panic"),
            _ => server.send(client, msg),
        }
    }
}

#[test]
fn a_callback_error_is_kept_and_the_server_goes_on() {
    let server = Server::bind("127.0.0.1:0").unwrap().start(Fragile).unwrap();
    let mut s = connect(server.local_addr().tcp().unwrap());
    write_frame(&mut s, b"fail");
    write_frame(&mut s, b"still here");
    assert_eq!(read_frame(&mut s), b"still here");
    let errors = server.errors();
    assert!(matches!(&errors[..], [Error::Config(m)] if m == "asked to fail"), "{errors:?}");
    assert!(server.errors().is_empty(), "errors() takes them");
}

#[test]
fn a_panicking_callback_stops_the_server_and_stop_reports_the_panic() {
    let server = Server::bind("127.0.0.1:0").unwrap().start(Fragile).unwrap();
    let mut s = connect(server.local_addr().tcp().unwrap());
    wait_until("the client", || server.client_count() == 1);
    let id = server.clients()[0].0;
    write_frame(&mut s, b"panic");
    read_to_close(&mut s);
    wait_until("the network thread to end", || !server.is_running());
    assert!(matches!(server.send(id, "x"), Err(Error::Stopped)));
    match server.stop() {
        Err(Error::Panicked(m)) => assert!(m.contains("asked to panic"), "{m}"),
        other => panic!("expected the panic, got {other:?}"),
    }
    assert!(server.errors().iter().any(|e| matches!(e, Error::Panicked(_))));
}

#[path = "../examples/echo_polling.rs"]
#[allow(dead_code)]
mod echo_polling;

#[test]
fn the_echo_polling_example_answers_each_message_then_disconnects() {
    let server = Server::bind("127.0.0.1:0").unwrap().start_polling().unwrap();
    let addr = server.local_addr().tcp().unwrap();
    std::thread::scope(|scope| {
        let serving = scope.spawn(|| echo_polling::serve(&server));
        for i in 0..5u8 {
            let mut s = connect(addr);
            write_frame(&mut s, &[i; 3]);
            assert_eq!(read_frame(&mut s), [i; 3]);
            assert!(read_to_close(&mut s).is_empty(), "disconnected after the echo");
        }
        assert_eq!(frameloop::request(addr, "one call").unwrap(), b"one call");
        // `request` returns with the reply, which may be before `serve` has
        // queued the disconnect after it; a stop in between is an error
        // `serve` reports, by design.
        wait_until("the one-call client to be disconnected", || server.client_count() == 0);
        server.stop().unwrap();
        serving.join().unwrap().unwrap(); // serve returns once the server stops
    });
}

/// Two threads take events from one polling server: one takes a single
/// event (which moves the ones behind it into the program's cache) and
/// goes away; the other, asleep in `wait_event` meanwhile, must still get
/// every event left in the cache instead of sleeping on.
#[test]
fn a_waiting_thread_gets_the_events_another_thread_took_from_the_queue() {
    let server = Server::bind("127.0.0.1:0").unwrap().start_polling().unwrap();
    let mut peer = connect(server.local_addr().tcp().unwrap());
    assert!(matches!(server.wait_event(PATIENCE), Some(Event::Connected { .. })));
    std::thread::scope(|scope| {
        let waiter = scope.spawn(|| {
            let mut got = 0;
            while got < 10 && server.wait_event(PATIENCE).is_some() {
                got += 1;
            }
            got
        });
        // The waiter is asleep before anything arrives.
        std::thread::sleep(Duration::from_millis(100));
        let taker = scope.spawn(|| server.wait_event(PATIENCE));
        std::thread::sleep(Duration::from_millis(50));
        let wire: Vec<u8> = (0..11u8).flat_map(|i| frame(&[i])).collect();
        std::io::Write::write_all(&mut peer, &wire).unwrap();
        assert!(taker.join().unwrap().is_some(), "the taker got nothing");
        assert_eq!(waiter.join().unwrap(), 10, "the waiter missed events that were waiting");
    });
}

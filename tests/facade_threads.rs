//! A server on several threads (`ServerBuilder::threads`): the clients are
//! spread over the threads, and everything the handle, the callbacks and
//! the polling program do reaches every client, whichever thread serves
//! it, with nothing lost (half-closing peers, floods under flow control,
//! a stop).

mod common;

use std::collections::{BTreeSet, HashMap};
use std::io::Write;
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{
    assert_silent, connect, frame, half_closing_peers, read_frame, read_to_close, wait_until, write_frame, PATIENCE,
};
use frameloop::{CloseReason, ConnId, Error, Event, Message, PollingServer, Server, ServerCtx, ServerHandler};

struct Echo;

impl ServerHandler for Echo {
    fn on_receive(&mut self, server: &mut ServerCtx<'_>, client: ConnId, msg: Message<'_>) -> Result<(), Error> {
        server.send(client, msg)
    }
}

fn echo_server(threads: usize) -> Server {
    Server::bind("127.0.0.1:0").unwrap().threads(threads).start_with(|_| Echo).unwrap()
}

/// Connects `n` clients and waits until the server has them all; returns
/// each with its id, found by its address.
fn connect_all(server: &Server, n: usize) -> Vec<(ConnId, TcpStream)> {
    let streams: Vec<TcpStream> = (0..n).map(|_| connect(server.local_addr().tcp().unwrap())).collect();
    wait_until("every client accepted", || server.client_count() == n);
    let ids: HashMap<SocketAddr, ConnId> =
        server.clients().into_iter().map(|(id, addr)| (addr.tcp().unwrap(), id)).collect();
    streams.into_iter().map(|s| (ids[&s.local_addr().unwrap()], s)).collect()
}

/// The threads that serve `clients`.
fn threads_of<'a>(clients: impl IntoIterator<Item = &'a ConnId>) -> BTreeSet<usize> {
    clients.into_iter().map(|c| c.reactor()).collect()
}

fn numbered(client: usize, i: usize) -> Vec<u8> {
    format!("{client}:{i}").into_bytes()
}

/// Writes `count` numbered frames in one burst and checks that the echoes
/// come back whole and in order.
fn burst_and_check(mut s: TcpStream, client: usize, count: usize) {
    let out: Vec<u8> = (0..count).flat_map(|i| frame(&numbered(client, i))).collect();
    s.write_all(&out).unwrap();
    for i in 0..count {
        assert_eq!(read_frame(&mut s), numbered(client, i), "client {client} echo {i}");
    }
}

#[test]
fn callbacks_on_every_thread_echo_to_many_clients_spread_over_the_threads() {
    for threads in [2, 4] {
        let server = echo_server(threads);
        const CLIENTS: usize = 32;
        let clients = connect_all(&server, CLIENTS);
        let spread = threads_of(clients.iter().map(|(id, _)| id));
        assert_eq!(spread, (0..threads).collect(), "the clients were not spread over the {threads} threads");
        std::thread::scope(|s| {
            for (i, (_, stream)) in clients.into_iter().enumerate() {
                s.spawn(move || burst_and_check(stream, i, 200));
            }
        });
        assert!(server.errors().is_empty(), "{:?}", server.errors());
        server.stop().unwrap();
    }
}

/// Sends each message to every other client it knows of, one `send` each,
/// from a list all the threads share.
struct Relay(Arc<Mutex<Vec<ConnId>>>);

impl ServerHandler for Relay {
    fn on_connect(&mut self, _: &mut ServerCtx<'_>, client: ConnId, _: frameloop::Addr) -> Result<(), Error> {
        self.0.lock().unwrap().push(client);
        Ok(())
    }

    fn on_receive(&mut self, server: &mut ServerCtx<'_>, client: ConnId, msg: Message<'_>) -> Result<(), Error> {
        let others: Vec<ConnId> = self.0.lock().unwrap().iter().copied().filter(|&c| c != client).collect();
        for other in others {
            server.send(other, msg)?;
        }
        Ok(())
    }
}

#[test]
fn a_callback_sends_to_a_client_another_thread_serves() {
    let known = Arc::new(Mutex::new(Vec::new()));
    let server = Server::bind("127.0.0.1:0").unwrap().threads(2).start_with(|_| Relay(Arc::clone(&known))).unwrap();
    let mut clients = connect_all(&server, 2);
    assert_ne!(clients[0].0.reactor(), clients[1].0.reactor(), "both clients on one thread");
    for i in 0..100 {
        write_frame(&mut clients[0].1, format!("to the other thread {i}").as_bytes());
    }
    for i in 0..100 {
        assert_eq!(read_frame(&mut clients[1].1), format!("to the other thread {i}").as_bytes());
    }
    write_frame(&mut clients[1].1, b"and back");
    assert_eq!(read_frame(&mut clients[0].1), b"and back");
    assert!(server.errors().is_empty(), "{:?}", server.errors());
    server.stop().unwrap();
}

#[test]
fn the_handle_sends_broadcasts_and_disconnects_across_the_threads() {
    let server = echo_server(2);
    let mut clients = connect_all(&server, 4);
    assert_eq!(threads_of(clients.iter().map(|(id, _)| id)), BTreeSet::from([0, 1]));
    for (id, s) in &mut clients {
        server.send(*id, format!("for {id}")).unwrap();
        assert_eq!(read_frame(s), format!("for {id}").as_bytes());
    }
    server.broadcast("for all").unwrap();
    for (_, s) in &mut clients {
        assert_eq!(read_frame(s), b"for all");
    }
    // Left out: on its thread the broadcast comes before the send, so the
    // send's message is the first it gets.
    let left_out = clients[1].0;
    server.broadcast_except(left_out, "not for you").unwrap();
    server.send(left_out, "only you").unwrap();
    for (id, s) in &mut clients {
        let want: &[u8] = if *id == left_out { b"only you" } else { b"not for you" };
        assert_eq!(read_frame(s), want);
    }
    // One client of each thread goes.
    let gone: Vec<ConnId> =
        [0, 1].iter().map(|&t| clients.iter().find(|(id, _)| id.reactor() == t).unwrap().0).collect();
    for id in &gone {
        server.disconnect(*id).unwrap();
    }
    for (id, s) in &mut clients {
        if gone.contains(id) {
            assert!(read_to_close(s).is_empty());
        }
    }
    wait_until("the two clients gone", || server.client_count() == 2);
    let left: BTreeSet<ConnId> = server.clients().into_iter().map(|(id, _)| id).collect();
    let expected: BTreeSet<ConnId> = clients.iter().map(|(id, _)| *id).filter(|id| !gone.contains(id)).collect();
    assert_eq!(left, expected);
    assert!(server.errors().is_empty(), "{:?}", server.errors());
    server.stop().unwrap();
}

#[test]
fn an_id_of_a_thread_the_server_does_not_have_is_refused_at_once() {
    let wide = echo_server(4);
    let far = connect_all(&wide, 4).into_iter().find(|(id, _)| id.reactor() == 3).unwrap();
    let narrow = echo_server(2);
    assert!(matches!(narrow.send(far.0, "hi"), Err(Error::UnknownConnection(id)) if id == far.0));
    assert!(matches!(narrow.send_packet(far.0, 1, 0.0, true, "hi"), Err(Error::UnknownConnection(_))));
    assert!(matches!(narrow.disconnect(far.0), Err(Error::UnknownConnection(_))));
    wide.stop().unwrap();
    narrow.stop().unwrap();
}

/// Answers every message, in the order the events come, until `ends`
/// clients have left; returns each client's messages in that order.
fn echo_until_gone(
    server: &PollingServer,
    ends: usize,
    answer: impl Fn(&[u8]) -> Vec<u8>,
) -> HashMap<ConnId, Vec<Vec<u8>>> {
    let mut seen: HashMap<ConnId, Vec<Vec<u8>>> = HashMap::new();
    let mut left = 0;
    while left < ends {
        match server.wait_event(2 * PATIENCE).expect("an event in time") {
            Event::Received { client, data, .. } => {
                server.send(client, answer(&data)).unwrap();
                seen.entry(client).or_default().push(data);
            }
            Event::Disconnected { .. } => left += 1,
            Event::Error(e) => panic!("{e}"),
            _ => {}
        }
    }
    seen
}

#[test]
fn a_polling_server_on_two_threads_gives_each_clients_events_in_order() {
    let server = Server::bind("127.0.0.1:0").unwrap().threads(2).start_polling().unwrap();
    const CLIENTS: usize = 24;
    const COUNT: usize = 500;
    let addr = server.local_addr().tcp().unwrap();
    std::thread::scope(|s| {
        let program = s.spawn(|| echo_until_gone(&server, CLIENTS, <[u8]>::to_vec));
        for c in 0..CLIENTS {
            s.spawn(move || burst_and_check(connect(addr), c, COUNT));
        }
        let seen = program.join().unwrap();
        assert_eq!(seen.len(), CLIENTS);
        assert_eq!(threads_of(seen.keys()), BTreeSet::from([0, 1]), "the clients were not spread");
        for msgs in seen.values() {
            let client: usize = std::str::from_utf8(&msgs[0]).unwrap().split(':').next().unwrap().parse().unwrap();
            let want: Vec<Vec<u8>> = (0..COUNT).map(|i| numbered(client, i)).collect();
            assert_eq!(*msgs, want, "client {client}'s events out of order");
        }
    });
    server.stop().unwrap();
}

/// Peers at once.
const PEERS: usize = 200;

fn three_messages(peer: usize) -> Vec<Vec<u8>> {
    (0..3).map(|i| format!("{peer}: message {i}").into_bytes()).collect()
}

#[test]
fn a_polling_server_on_two_threads_answers_every_half_closed_peer() {
    let server = Server::bind("127.0.0.1:0").unwrap().threads(2).start_polling().unwrap();
    std::thread::scope(|s| {
        let program = s.spawn(|| echo_until_gone(&server, PEERS, <[u8]>::to_ascii_uppercase));
        let lost = half_closing_peers(server.local_addr().tcp().unwrap(), PEERS, three_messages, |p| {
            three_messages(p).iter().map(|m| m.to_ascii_uppercase()).collect()
        });
        let seen = program.join().unwrap();
        assert_eq!(lost, 0, "{lost} of {PEERS} half-closed peers lost their replies");
        assert_eq!(threads_of(seen.keys()), BTreeSet::from([0, 1]), "the peers were not spread");
    });
    server.stop().unwrap();
}

#[test]
fn a_callback_server_on_two_threads_answers_every_half_closed_peer() {
    let server = echo_server(2);
    let lost = half_closing_peers(server.local_addr().tcp().unwrap(), PEERS, three_messages, three_messages);
    assert_eq!(lost, 0, "{lost} of {PEERS} half-closed peers lost their replies");
    server.stop().unwrap();
}

/// The queue bound the flood test sets, far below what the floods send.
const LIMIT: usize = 64 * 1024;
/// Each flood message: the flooding client's number and a sequence
/// number, padded.
const SIZE: usize = 1024;

fn flood_message(client: u32, seq: u32) -> Vec<u8> {
    let mut payload = [client.to_be_bytes(), seq.to_be_bytes()].concat();
    payload.resize(SIZE, 0x5A);
    payload
}

#[test]
fn a_flood_into_a_polling_server_on_two_threads_loses_nothing_and_every_client_is_resumed() {
    let server = Server::bind("127.0.0.1:0").unwrap().threads(2).max_queued_bytes(LIMIT).start_polling().unwrap();
    const FLOODS: u32 = 6;
    const COUNT: u32 = 4000; // 4 MiB each: 64 times the queue's bound
    let addr = server.local_addr().tcp().unwrap();
    std::thread::scope(|s| {
        for c in 0..FLOODS {
            s.spawn(move || {
                let mut flood = connect(addr);
                flood.set_write_timeout(Some(2 * PATIENCE)).unwrap();
                let out: Vec<u8> = (0..COUNT).flat_map(|i| frame(&flood_message(c, i))).collect();
                flood.write_all(&out).unwrap();
                flood.shutdown(Shutdown::Write).unwrap();
                // Held open until the program has taken every message.
                assert!(read_to_close(&mut flood).is_empty());
            });
        }
        // Nobody takes anything for a while: the floods fill the queue
        // and are paused, each on its own thread.
        std::thread::sleep(Duration::from_millis(300));
        let waiting = server.drain_events();
        let bytes: usize =
            waiting.iter().map(|e| if let Event::Received { data, .. } = e { data.len() } else { 0 }).sum();
        // The bound and a message per flood, plus at worst what the other
        // thread handed over at the very moment (the threads do not wait
        // for each other). Measured: the bound itself.
        assert!(bytes <= 2 * LIMIT + FLOODS as usize * SIZE, "{bytes} bytes queued with a limit of {LIMIT}");
        let mut next: HashMap<ConnId, u32> = HashMap::new();
        let mut ended = 0;
        let mut events = waiting.into_iter();
        while ended < FLOODS {
            let event = match events.next() {
                Some(event) => event,
                None => server.wait_event(2 * PATIENCE).expect("a paused flood was never resumed"),
            };
            match event {
                Event::Received { client, data, .. } => {
                    let (who, seq) = (&data[..4], u32::from_be_bytes(data[4..8].try_into().unwrap()));
                    let expected = next.entry(client).or_default();
                    assert_eq!(seq, *expected, "flood {who:?}: a message lost or out of order");
                    *expected += 1;
                }
                Event::Disconnected { client, reason, .. } => {
                    assert_eq!(reason, CloseReason::PeerClosed);
                    assert_eq!(next.get(&client), Some(&COUNT), "a flood left before all its messages came");
                    ended += 1;
                }
                Event::Error(e) => panic!("{e}"),
                _ => {}
            }
        }
        assert_eq!(threads_of(next.keys()), BTreeSet::from([0, 1]), "the floods were not spread");
    });
    server.stop().unwrap();
}

#[test]
fn stop_on_four_threads_returns_and_every_client_sees_the_end_of_the_stream() {
    let server = echo_server(4);
    let mut clients = connect_all(&server, 16);
    assert_eq!(threads_of(clients.iter().map(|(id, _)| id)), (0..4).collect());
    for (id, s) in &mut clients {
        write_frame(s, format!("last words of {id}").as_bytes());
    }
    std::thread::scope(|s| {
        let stopping = s.spawn(|| server.stop());
        for (id, s) in &mut clients {
            assert_eq!(read_frame(s), format!("last words of {id}").as_bytes());
            assert!(read_to_close(s).is_empty(), "more than the echo before the end");
        }
        stopping.join().unwrap().unwrap();
    });
    assert!(!server.is_running());
    assert!(matches!(server.broadcast("anyone?"), Err(Error::Stopped)));
    assert!(matches!(server.pause_accepting(), Err(Error::Stopped)));
    assert!(server.clients().is_empty());
}

/// Panics on "boom"; echoes the rest.
struct Fragile;

impl ServerHandler for Fragile {
    fn on_receive(&mut self, server: &mut ServerCtx<'_>, client: ConnId, msg: Message<'_>) -> Result<(), Error> {
        assert_ne!(msg.bytes(), b"boom", "asked to panic");
        server.send(client, msg)
    }
}

#[test]
fn a_callback_that_panics_on_one_thread_stops_them_all_and_wait_tells_why() {
    let server = Server::bind("127.0.0.1:0").unwrap().threads(2).start_with(|_| Fragile).unwrap();
    let mut clients = connect_all(&server, 2);
    write_frame(&mut clients[1].1, b"boom");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::scope(|s| {
        s.spawn(|| tx.send(server.wait()).unwrap());
        let waited = rx.recv_timeout(PATIENCE).expect("wait did not return: a thread served on");
        assert!(matches!(waited, Err(Error::Panicked(ref m)) if m.contains("asked to panic")), "{waited:?}");
    });
    assert!(!server.is_running());
    for (_, s) in &mut clients {
        let _ = read_to_close(s);
    }
}

#[test]
fn start_with_one_handler_and_zero_threads_are_refused() {
    let two = Server::bind("127.0.0.1:0").unwrap().threads(2);
    match two.start(Echo) {
        Err(Error::Config(why)) => assert!(why.contains("start_with"), "{why}"),
        other => panic!("expected a Config error, got {other:?}"),
    }
    assert!(matches!(Server::bind("127.0.0.1:0").unwrap().threads(0).start_polling(), Err(Error::Config(_))));
    assert!(matches!(Server::bind("127.0.0.1:0").unwrap().threads(0).start_with(|_| Echo), Err(Error::Config(_))));
    let upper = |req: &[u8]| req.to_ascii_uppercase();
    let reply = Server::bind("127.0.0.1:0").unwrap().threads(2).reply(frameloop::ReplyMode::Concurrent, upper);
    assert!(matches!(reply, Err(Error::Config(_))));
    // One thread through `start_with` is a server as any other.
    let one = Server::bind("127.0.0.1:0").unwrap().threads(1).start_with(|_| Echo).unwrap();
    let mut c = connect(one.local_addr().tcp().unwrap());
    write_frame(&mut c, b"one");
    assert_eq!(read_frame(&mut c), b"one");
    assert_silent(&mut c, Duration::from_millis(20));
    one.stop().unwrap();
}

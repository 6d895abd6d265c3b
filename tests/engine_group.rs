//! Several reactors serving one address (`ReactorGroup`): connections
//! spread over them, messages and closes cross from one reactor's callback
//! (or another thread) to the reactor that owns the connection, ids name
//! their reactor, one stop stops all, and one slow reactor stalls no other.

mod common;

use std::collections::HashMap;
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Instant;

use common::*;
use frameloop::{CloseReason, ConnId, Ctx, Distribution, Error, Handler, Reactor, ReactorBuilder, Remote, Stats};

/// What the test thread shares with every reactor's handler.
#[derive(Default)]
struct Board {
    /// Connections in the order they opened, with the reactor they are on.
    opened: Mutex<Vec<ConnId>>,
    closed: Mutex<Vec<(ConnId, CloseReason)>>,
    /// Set by the test: the reactor that was told to block goes on.
    release: AtomicBool,
}

/// A chat-like handler: `to N:text` sends `text` to the N-th connection
/// opened, `all:text` broadcasts, `others:text` broadcasts to all but the
/// sender, `close N` closes the N-th, `block` blocks this reactor until
/// the test releases it, anything else is echoed.
struct Relay {
    board: Arc<Board>,
    results: Vec<Result<(), Error>>,
}

impl Handler for Relay {
    fn on_open(&mut self, _: &mut Ctx<'_>, conn: ConnId) {
        self.board.opened.lock().unwrap().push(conn);
    }

    fn on_frame(&mut self, ctx: &mut Ctx<'_>, conn: ConnId, frame: &[u8]) {
        let text = String::from_utf8_lossy(frame).into_owned();
        let nth = |n: &str| self.board.opened.lock().unwrap()[n.parse::<usize>().unwrap()];
        let result = if let Some(rest) = text.strip_prefix("to ") {
            let (n, body) = rest.split_once(':').unwrap();
            ctx.send(nth(n), body.as_bytes())
        } else if let Some(body) = text.strip_prefix("all:") {
            ctx.broadcast(body.as_bytes());
            Ok(())
        } else if let Some(body) = text.strip_prefix("others:") {
            ctx.broadcast_except(conn, body.as_bytes());
            Ok(())
        } else if let Some(n) = text.strip_prefix("close ") {
            ctx.close(nth(n))
        } else if text == "block" {
            let since = Instant::now();
            while !self.board.release.load(Ordering::SeqCst) && since.elapsed() < PATIENCE {
                std::thread::yield_now();
            }
            Ok(())
        } else {
            ctx.send(conn, frame)
        };
        self.results.push(result);
    }

    fn on_close(&mut self, _: &mut Ctx<'_>, conn: ConnId, reason: CloseReason) {
        self.board.closed.lock().unwrap().push((conn, reason));
    }
}

/// What the group's run gives back: its handlers and each reactor's stats.
type Ran = (Result<Vec<Relay>, Error>, Vec<Stats>);

/// A group of `reactors` running [`Relay`] on a thread of the test's.
struct Group {
    addr: SocketAddr,
    remote: Remote,
    board: Arc<Board>,
    thread: Option<JoinHandle<Ran>>,
}

impl Group {
    fn start(builder: ReactorBuilder, reactors: usize) -> Group {
        let mut group = builder.build_group(reactors).unwrap();
        let addr = group.listen("127.0.0.1:0").unwrap().tcp().unwrap();
        let remote = group.remote();
        let board = Arc::new(Board::default());
        let shared = Arc::clone(&board);
        let thread = std::thread::spawn(move || {
            let handlers = group.run(|_| Relay { board: Arc::clone(&shared), results: Vec::new() });
            (handlers, group.stats())
        });
        Group { addr, remote, board, thread: Some(thread) }
    }

    /// Connects, and waits until the group has served the connection: with
    /// the acceptor, the `n`-th connection made this way is on reactor
    /// `n % reactors`.
    fn connect(&self) -> (TcpStream, ConnId) {
        let before = self.board.opened.lock().unwrap().len();
        let s = connect(self.addr);
        wait_until("the connection to open", || self.board.opened.lock().unwrap().len() > before);
        let id = self.board.opened.lock().unwrap()[before];
        (s, id)
    }

    /// Stops every reactor and waits (a bounded time) for the run to
    /// return.
    fn stop(mut self) -> (Vec<Relay>, Vec<Stats>) {
        self.remote.stop();
        let thread = self.thread.take().unwrap();
        wait_until("the group's run to return", || thread.is_finished());
        let (handlers, stats) = thread.join().unwrap();
        (handlers.unwrap(), stats)
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        if let Some(thread) = self.thread.take() {
            self.remote.stop();
            let _ = thread.join();
        }
    }
}

#[test]
fn the_acceptor_spreads_connections_evenly_and_each_lives_on_its_reactor() {
    let group = Group::start(Reactor::builder().distribution(Distribution::Acceptor), 2);
    let conns: Vec<_> = (0..10).map(|_| group.connect()).collect();
    for (i, (_, id)) in conns.iter().enumerate() {
        assert_eq!(id.reactor(), i % 2, "{id:?}: the least loaded reactor takes each in turn");
    }
    let (_, stats) = group.stop();
    assert_eq!(stats.iter().map(|s| s.accepted).collect::<Vec<_>>(), [5, 5]);
    assert_eq!(stats.iter().map(|s| s.accepts).sum::<u64>(), stats[0].accepts, "only the first accepts");
}

#[test]
fn short_connections_take_turns_among_reactors_left_equally_loaded() {
    let group = Group::start(Reactor::builder(), 2);
    for i in 0..10 {
        let (s, id) = group.connect();
        assert_eq!(id.reactor(), i % 2, "{id:?}: equals take turns, even with every load back at zero");
        drop(s);
        wait_until("the close", || group.board.closed.lock().unwrap().len() > i);
    }
}

#[cfg(target_os = "linux")]
#[test]
fn reuse_port_gives_every_reactor_a_listener_and_the_kernel_spreads_connections() {
    let group = Group::start(Reactor::builder().distribution(Distribution::ReusePort), 2);
    let conns: Vec<_> = (0..64).map(|_| group.connect()).collect();
    let on_second = conns.iter().filter(|(_, id)| id.reactor() == 1).count();
    // 64 hashes all falling on one side would be a 1 in 2^63 chance.
    assert!(on_second > 0 && on_second < 64, "{on_second} of 64 on the second reactor");
    let (_, stats) = group.stop();
    assert!(stats.iter().all(|s| s.accepts > 0), "each reactor accepted from its own listener: {stats:?}");
}

#[test]
fn a_callback_sends_to_and_closes_a_connection_of_another_reactor() {
    let group = Group::start(Reactor::builder(), 2);
    let (mut a, ida) = group.connect();
    let (mut b, idb) = group.connect();
    assert_ne!(ida.reactor(), idb.reactor());
    write_frame(&mut a, b"to 1:hello from the other reactor");
    assert_eq!(read_frame(&mut b), b"hello from the other reactor");
    write_frame(&mut b, b"to 0:and back");
    assert_eq!(read_frame(&mut a), b"and back");
    // Many in a row keep their order (one mailbox, taken in order).
    for i in 0..500 {
        write_frame(&mut a, format!("to 1:{i}").as_bytes());
    }
    for i in 0..500 {
        assert_eq!(read_frame(&mut b), i.to_string().as_bytes());
    }
    write_frame(&mut a, b"close 1");
    assert_eq!(read_to_eof(&mut b), b"");
    wait_until("b's close to be seen", || !group.board.closed.lock().unwrap().is_empty());
    assert_eq!(group.board.closed.lock().unwrap()[0], (idb, CloseReason::ClosedLocally));
    let (handlers, _) = group.stop();
    assert!(handlers.iter().flat_map(|h| &h.results).all(Result::is_ok));
}

#[test]
fn a_broadcast_reaches_the_connections_of_every_reactor() {
    let group = Group::start(Reactor::builder(), 3);
    let mut peers: Vec<_> = (0..6).map(|_| group.connect()).collect();
    assert_eq!(peers.iter().map(|(_, id)| id.reactor()).collect::<Vec<_>>(), [0, 1, 2, 0, 1, 2]);
    write_frame(&mut peers[4].0, b"all:to everyone");
    for (s, id) in &mut peers {
        assert_eq!(read_frame(s), b"to everyone", "{id:?}");
    }
    write_frame(&mut peers[2].0, b"others:not to the sender");
    for (i, (s, id)) in peers.iter_mut().enumerate() {
        if i != 2 {
            assert_eq!(read_frame(s), b"not to the sender", "{id:?}");
        }
    }
    // The sender got nothing more: its next message is the echo.
    write_frame(&mut peers[2].0, b"ping");
    assert_eq!(read_frame(&mut peers[2].0), b"ping");
    group.remote.broadcast(b"from a remote").unwrap();
    for (s, _) in &mut peers {
        assert_eq!(read_frame(s), b"from a remote");
    }
}

#[test]
fn a_remote_on_another_thread_reaches_every_reactor_in_order() {
    let group = Group::start(Reactor::builder(), 2);
    let mut peers: Vec<_> = (0..4).map(|_| group.connect()).collect();
    let ids: Vec<ConnId> = peers.iter().map(|p| p.1).collect();
    let remote = group.remote.clone();
    let sender = std::thread::spawn(move || {
        for i in 0..2000u32 {
            for &id in &ids {
                remote.send(id, &i.to_be_bytes()).unwrap();
            }
        }
    });
    for (s, _) in &mut peers {
        for i in 0..2000u32 {
            assert_eq!(read_frame(s), i.to_be_bytes());
        }
    }
    sender.join().unwrap();
    let (_, stats) = group.stop();
    let total: Stats = stats.into_iter().sum();
    assert_eq!(total.mail_undelivered, 0);
    assert_eq!(total.frames_out, 8000);
}

#[test]
fn ids_of_another_group_or_gone_connections_are_errors_never_another_connection() {
    let group = Group::start(Reactor::builder(), 2);
    let other = Group::start(Reactor::builder(), 2);
    let (mut a, ida) = group.connect();
    let (b, idb) = group.connect();
    let (mut stranger, ids) = other.connect();
    // Same index, generation and reactor number, other group.
    assert_eq!((ida.index(), ida.reactor()), (ids.index(), ids.reactor()));
    assert!(matches!(group.remote.send(ids, b"x"), Err(Error::UnknownConnection(_))));
    assert!(matches!(group.remote.close(ids), Err(Error::UnknownConnection(_))));
    assert!(matches!(other.remote.send(ida, b"x"), Err(Error::UnknownConnection(_))));
    // A message too large for the codec is refused before it is queued.
    let huge = vec![0u8; 9 << 20];
    assert!(matches!(group.remote.send(idb, &huge), Err(Error::FrameTooLarge { .. })));

    // b goes; its id then finds nothing, from the other reactor's callback
    // or from a remote, and a new connection in its slot is not reached.
    drop(b);
    wait_until("b's close", || group.board.closed.lock().unwrap().iter().any(|c| c.0 == idb));
    let (mut c, idc) = group.connect();
    write_frame(&mut a, b"to 1:for the gone b");
    group.remote.send(idb, b"for the gone b").unwrap(); // queued; dropped there
    write_frame(&mut a, b"ping");
    assert_eq!(read_frame(&mut a), b"ping");
    write_frame(&mut c, b"ping c");
    assert_eq!(read_frame(&mut c), b"ping c", "c ({idc:?}) got nothing meant for b");
    assert_silent(&mut stranger, std::time::Duration::from_millis(100));
    let (_, stats) = group.stop();
    assert_eq!(stats.iter().map(|s| s.mail_undelivered).sum::<u64>(), 2);
    drop(other);
}

#[test]
fn a_slow_handler_on_one_reactor_does_not_stall_the_others() {
    let group = Group::start(Reactor::builder(), 2);
    let (mut a, ida) = group.connect();
    let (mut b, idb) = group.connect();
    assert_ne!(ida.reactor(), idb.reactor());
    write_frame(&mut a, b"block");
    // a's reactor is busy until released; b's answers meanwhile. Were it
    // stalled too, the read below would time out.
    for i in 0..100u32 {
        write_frame(&mut b, &i.to_be_bytes());
        assert_eq!(read_frame(&mut b), i.to_be_bytes());
    }
    group.board.release.store(true, Ordering::SeqCst);
    write_frame(&mut a, b"after");
    assert_eq!(read_frame(&mut a), b"after");
}

#[test]
fn one_stop_stops_every_reactor_gracefully_and_each_connection_closes() {
    let group = Group::start(Reactor::builder(), 8);
    let mut peers: Vec<_> = (0..40).map(|_| group.connect()).collect();
    for (s, _) in &mut peers {
        write_frame(s, b"last words");
    }
    for (s, _) in &mut peers {
        assert_eq!(read_frame(s), b"last words");
    }
    let (handlers, stats) = group.stop();
    assert_eq!(handlers.len(), 8);
    assert!(stats.iter().all(|s| s.accepted == 5), "{stats:?}");
    for (s, _) in &mut peers {
        assert_eq!(read_to_eof(s), b"", "closed by the stop");
    }
}

#[test]
fn a_stop_from_a_callback_stops_the_whole_group_and_the_next_run_runs_until_its_own_stop() {
    /// Stops on a wake-up when told to; counts its wake-ups.
    struct Waker {
        stops: bool,
        woken: u32,
    }
    impl Handler for Waker {
        fn on_frame(&mut self, _: &mut Ctx<'_>, _: ConnId, _: &[u8]) {}
        fn on_wake(&mut self, ctx: &mut Ctx<'_>) {
            self.woken += 1;
            if self.stops {
                ctx.stop();
            }
        }
    }
    let mut group = Reactor::builder().build_group(4).unwrap();
    for round in 0..3 {
        // Only the last reactor is woken; its stop is everyone's.
        group.notifier(3).unwrap().notify().unwrap();
        let handlers = group.run(|i| Waker { stops: i == 3, woken: 0 }).unwrap();
        assert_eq!(handlers.len(), 4, "round {round}");
        // Nothing of that stop is left for the next run: it runs until a
        // stop of its own, asked 200 ms in.
        let remote = group.remote();
        let stopper = std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(200));
            remote.stop();
        });
        let started = Instant::now();
        group.run(|_| Waker { stops: false, woken: 0 }).unwrap();
        assert!(started.elapsed() >= std::time::Duration::from_millis(150), "round {round}: the run ended early");
        stopper.join().unwrap();
    }
}

#[test]
fn a_remote_of_a_dropped_group_is_refused_not_queued_for_nobody() {
    let mut group = Reactor::builder().build_group(2).unwrap();
    let server = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let conn = group.connect(1, server.local_addr().unwrap()).unwrap();
    assert_eq!(conn.reactor(), 1);
    assert!(matches!(group.connect(2, server.local_addr().unwrap()), Err(Error::Config(_))));
    let remote = group.remote();
    remote.send(conn, b"queued for the run").unwrap();
    drop(group);
    assert!(matches!(remote.send(conn, b"late"), Err(Error::Stopped)));
    assert!(matches!(remote.close(conn), Err(Error::Stopped)));
    assert!(matches!(remote.broadcast(b"late"), Err(Error::Stopped)));
}

#[test]
fn a_panicking_handler_ends_the_run_with_its_error_after_the_others_stop() {
    struct PanicOn(usize);
    impl Handler for PanicOn {
        fn on_frame(&mut self, _: &mut Ctx<'_>, _: ConnId, _: &[u8]) {}
        fn on_wake(&mut self, _: &mut Ctx<'_>) {
            // The others are woken too, by the stop that follows.
            if self.0 == 1 {
                panic!("reactor 1 gave up");
            }
        }
    }
    let mut group = Reactor::builder().build_group(3).unwrap();
    let addr = group.listen("127.0.0.1:0").unwrap().tcp().unwrap();
    let mut peer = connect(addr);
    group.notifier(1).unwrap().notify().unwrap();
    match group.run(PanicOn) {
        Err(Error::Panicked(why)) => assert_eq!(why, "reactor 1 gave up"),
        other => panic!("expected the panic, got {:?}", other.map(|h| h.len())),
    }
    // The peer was served by a reactor that stopped gracefully.
    assert_eq!(read_to_eof(&mut peer), b"");
}

#[test]
fn the_connection_limit_is_per_reactor_and_a_refused_peer_is_told_why() {
    let builder = Reactor::builder().max_connections(1).refusal_message(frame(b"full"));
    let group = Group::start(builder, 2);
    let _first = group.connect();
    let _second = group.connect();
    let mut third = connect(group.addr);
    assert_eq!(read_frame(&mut third), b"full");
    assert_eq!(read_to_eof(&mut third), b"");
    let (_, stats) = group.stop();
    assert_eq!(stats.iter().map(|s| s.rejected_over_limit).sum::<u64>(), 1);
    let per_reactor: HashMap<usize, u64> = stats.iter().map(|s| s.accepted).enumerate().collect();
    assert_eq!(per_reactor, HashMap::from([(0, 1), (1, 1)]));
}

//! A polling server whose program thread turns the network loop itself
//! while it waits for events, and whose network thread drives whenever the
//! program is away: every way a program can be away still gets its
//! messages read and its replies sent, over real loopback sockets.

mod common;

use std::net::SocketAddr;
use std::sync::mpsc;
use std::thread::{Scope, ScopedJoinHandle};
use std::time::{Duration, Instant};

use common::{connect, next_connected, read_frame, read_to_close, write_frame, PATIENCE};
use frameloop::{ConnId, Error, Event, PollingServer, Server};

/// The next message of a polling server, passing over other events.
fn next_message(server: &PollingServer) -> (ConnId, Vec<u8>) {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match server.wait_event(left) {
            Some(Event::Received { client, data, .. }) => return (client, data),
            Some(_) => {}
            None => panic!("no message arrived"),
        }
    }
}

/// A polling server on loopback, and its TCP address.
fn polling_server() -> (PollingServer, SocketAddr) {
    let server = Server::bind("127.0.0.1:0").unwrap().start_polling().unwrap();
    let addr = server.local_addr().tcp().unwrap();
    (server, addr)
}

/// `clients` peers, each sending `rounds` numbered messages one at a time
/// and checking each echo.
fn spawn_peers<'s>(
    s: &'s Scope<'s, '_>,
    addr: SocketAddr,
    clients: usize,
    rounds: usize,
) -> Vec<ScopedJoinHandle<'s, ()>> {
    (0..clients)
        .map(|c| {
            s.spawn(move || {
                let mut peer = connect(addr);
                for i in 0..rounds {
                    let msg = format!("{c}:{i}").into_bytes();
                    write_frame(&mut peer, &msg);
                    assert_eq!(read_frame(&mut peer), msg);
                }
            })
        })
        .collect()
}

/// Stops `server` when dropped: a test whose program threads iterate over
/// the events until the server stops puts one in its scope, so that a
/// failing check ends those threads, and the test, instead of hanging.
struct StopOnDrop<'a>(&'a PollingServer);

impl Drop for StopOnDrop<'_> {
    fn drop(&mut self) {
        let _ = self.0.stop();
    }
}

#[test]
fn a_reply_leaves_while_the_program_is_away_from_its_events() {
    let server = Server::bind("127.0.0.1:0").unwrap().start_polling().unwrap();
    let mut peer = connect(server.local_addr().tcp().unwrap());
    let (arrived, reply) = mpsc::channel();
    std::thread::scope(|s| {
        // Each message after a pause, so that the program waits for it,
        // and so turns the network loop itself, before it gets it.
        s.spawn(move || {
            for msg in [&b"hello"[..], b"ping"] {
                std::thread::sleep(Duration::from_millis(50));
                write_frame(&mut peer, msg);
                let _ = arrived.send(read_frame(&mut peer));
            }
        });
        let (client, data) = next_message(&server);
        server.send(client, &data).unwrap();
        assert_eq!(reply.recv_timeout(PATIENCE).unwrap(), b"hello");
        let (client, data) = next_message(&server);
        server.send(client, &data).unwrap();
        // The program goes away (it takes no event) until the reply has
        // arrived: only the network thread can send it meanwhile.
        let got = reply.recv_timeout(PATIENCE).expect("the reply did not leave while the program was away");
        assert_eq!(got, b"ping");
    });
    server.stop().unwrap();
}

#[test]
fn replies_from_a_worker_thread_leave_while_the_program_waits_and_while_it_is_away() {
    const CLIENTS: usize = 20;
    const ROUNDS: usize = 30;
    let (server, addr) = polling_server();
    let (work, jobs) = mpsc::channel::<(ConnId, Vec<u8>)>();
    std::thread::scope(|s| {
        // The worker answers everything the program hands it.
        let worker = s.spawn(|| {
            for (client, data) in jobs {
                server.send(client, &data).unwrap();
            }
        });
        let peers = spawn_peers(s, addr, CLIENTS, ROUNDS);
        // Every other message, the program dawdles after handing it over,
        // so that some replies are sent while it waits for events and
        // some while it does not.
        for n in 0..CLIENTS * ROUNDS {
            work.send(next_message(&server)).unwrap();
            if n % 2 == 0 {
                std::thread::sleep(Duration::from_millis(1));
            }
        }
        peers.into_iter().for_each(|p| p.join().unwrap());
        drop(work);
        worker.join().unwrap();
    });
    server.stop().unwrap();
}

#[test]
fn a_program_that_only_polls_with_try_event_is_served() {
    const MESSAGES: usize = 200;
    let server = Server::bind("127.0.0.1:0").unwrap().start_polling().unwrap();
    let mut peer = connect(server.local_addr().tcp().unwrap());
    std::thread::scope(|s| {
        let peer = &mut peer;
        let reader = s.spawn(move || {
            for i in 0..MESSAGES {
                write_frame(peer, i.to_string().as_bytes());
                assert_eq!(read_frame(peer), i.to_string().as_bytes());
            }
        });
        // A game loop: never waits for an event, so it never turns the
        // network loop; the network thread does.
        let deadline = Instant::now() + PATIENCE * 2;
        let mut answered = 0;
        while answered < MESSAGES {
            assert!(Instant::now() < deadline, "{answered} of {MESSAGES} answered");
            match server.try_event() {
                Some(Event::Received { client, data, .. }) => {
                    server.send(client, &data).unwrap();
                    answered += 1;
                }
                Some(_) => {}
                None => std::thread::sleep(Duration::from_micros(200)),
            }
        }
        reader.join().unwrap();
    });
    server.stop().unwrap();
}

#[test]
fn clients_and_stop_answer_a_program_whose_threads_do_not_wait_for_events() {
    let server = Server::bind("127.0.0.1:0").unwrap().start_polling().unwrap();
    let mut peer = connect(server.local_addr().tcp().unwrap());
    let client = next_connected(&server);
    // Nobody waits for events from here on: the network thread answers.
    for _ in 0..50 {
        let listed = server.clients();
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].0, client);
    }
    server.send(client, b"bye").unwrap();
    server.stop().unwrap();
    assert_eq!(read_frame(&mut peer), b"bye");
    read_to_close(&mut peer);
}

#[test]
fn a_stop_from_another_thread_ends_a_program_waiting_for_events() {
    let server = Server::bind("127.0.0.1:0").unwrap().start_polling().unwrap();
    let mut peer = connect(server.local_addr().tcp().unwrap());
    next_connected(&server);
    std::thread::scope(|s| {
        // The program waits for events (and so turns the network loop)
        // until there can be none.
        let program = s.spawn(|| server.events().count());
        std::thread::sleep(Duration::from_millis(50));
        server.stop().unwrap();
        // Its end of stream, then the iterator's end.
        let left = program.join().unwrap();
        assert!(left <= 1, "{left} events after the stop");
    });
    read_to_close(&mut peer);
}

#[test]
fn a_wait_with_a_timeout_returns_on_time_with_nothing_to_read() {
    let server = Server::bind("127.0.0.1:0").unwrap().start_polling().unwrap();
    // Its turn of the network loop waits no longer than the caller.
    for _ in 0..3 {
        let started = Instant::now();
        assert!(server.wait_event(Duration::from_millis(30)).is_none());
        assert!(started.elapsed() >= Duration::from_millis(30));
        assert!(started.elapsed() < PATIENCE);
    }
    server.stop().unwrap();
}

#[test]
fn several_program_threads_waiting_for_events_share_them_and_lose_none() {
    const CLIENTS: usize = 16;
    const ROUNDS: usize = 50;
    let (server, addr) = polling_server();
    std::thread::scope(|s| {
        let _stop = StopOnDrop(&server);
        // Three program threads, each iterating over the events: one turns
        // the network loop at a time, the others sleep on the queue.
        let programs: Vec<_> = (0..3)
            .map(|_| {
                s.spawn(|| {
                    let mut answered = 0;
                    for event in server.events() {
                        if let Event::Received { client, data, .. } = event {
                            server.send(client, &data).unwrap();
                            answered += 1;
                        }
                    }
                    answered
                })
            })
            .collect();
        let peers = spawn_peers(s, addr, CLIENTS, ROUNDS);
        peers.into_iter().for_each(|p| p.join().unwrap());
        server.stop().unwrap();
        let answered: usize = programs.into_iter().map(|p| p.join().unwrap()).sum();
        assert_eq!(answered, CLIENTS * ROUNDS);
    });
}

#[test]
fn a_reply_sent_between_turns_leaves_while_the_program_waits_for_the_next_event() {
    let (server, addr) = polling_server();
    let mut peer = connect(addr);
    // Well before the program's wait below would end by itself.
    peer.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    next_connected(&server);
    std::thread::scope(|s| {
        let _stop = StopOnDrop(&server);
        let program = s.spawn(|| {
            // The message arrives while the program waits, so it is read
            // in the program's own turn; the reply then finds no thread
            // turning the network loop and goes into the connection's
            // output at once, not as a command.
            let (client, _) = next_message(&server);
            server.send(client, b"welcome").unwrap();
            // Then the program waits in one long turn with nothing to
            // read: the welcome must leave in that turn, not when
            // something next arrives.
            next_message(&server).1
        });
        std::thread::sleep(Duration::from_millis(50));
        write_frame(&mut peer, b"hello");
        assert_eq!(read_frame(&mut peer), b"welcome");
        write_frame(&mut peer, b"thanks");
        assert_eq!(program.join().unwrap(), b"thanks");
    });
}

#[test]
fn one_threads_messages_to_a_client_arrive_in_order_whichever_way_each_went() {
    const MESSAGES: u32 = 20_000;
    let (server, addr) = polling_server();
    let mut reader = connect(addr);
    let target = next_connected(&server);
    std::thread::scope(|s| {
        let _stop = StopOnDrop(&server);
        // A worker sends numbered messages while the program turns the loop
        // for a busy echo peer: some find the loop free and go into the
        // connection's output at once, some find it turning and go as
        // commands behind which the next ones must wait.
        let worker = s.spawn(|| {
            for i in 0..MESSAGES {
                server.send(target, i.to_be_bytes()).unwrap();
            }
        });
        let program = s.spawn(|| {
            for event in server.events() {
                if let Event::Received { client, data, .. } = event {
                    if server.send(client, &data).is_err() {
                        break;
                    }
                }
            }
        });
        let echo = spawn_peers(s, addr, 1, 2_000);
        for i in 0..MESSAGES {
            assert_eq!(read_frame(&mut reader), i.to_be_bytes(), "message {i} out of order");
        }
        worker.join().unwrap();
        echo.into_iter().for_each(|p| p.join().unwrap());
        server.stop().unwrap();
        program.join().unwrap();
    });
}

#[test]
fn a_send_between_turns_to_a_client_gone_is_told_without_waiting_for_traffic() {
    let (server, addr) = polling_server();
    let peer = connect(addr);
    let client = next_connected(&server);
    drop(peer);
    loop {
        match server.wait_event(PATIENCE) {
            Some(Event::Disconnected { .. }) => break,
            Some(_) => {}
            None => panic!("the client's leaving was not told"),
        }
    }
    // Into the reactor between turns (no thread turns it), refused there:
    // the error must come in the program's next wait, not once that wait
    // has timed out for lack of anything else to read.
    server.send(client, b"too late").unwrap();
    let started = Instant::now();
    match server.wait_event(Duration::from_secs(5)) {
        Some(Event::Error(Error::UnknownConnection(id))) => assert_eq!(id, client),
        other => panic!("{other:?}"),
    }
    assert!(started.elapsed() < Duration::from_secs(3), "the error waited for the wait's end");
    server.stop().unwrap();
}

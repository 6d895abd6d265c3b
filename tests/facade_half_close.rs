//! Replies to peers that half-close: each sends, shuts down its sending
//! side (as `echo hi | nc -N`, HTTP/1.0 clients and many scripts do) and
//! reads until the server closes. Every reply to what arrived before the
//! end of stream must get out, on every path of the facade: callbacks, a
//! polling loop on another thread, request / reply, and the `Client`.

mod common;

use std::io::Read;
use std::net::{Shutdown, TcpListener};
use std::time::{Duration, Instant};

use common::{connect, frame, half_closing_peers, read_frame, write_frame, PATIENCE};
use frameloop::{
    Client, CloseReason, ConnId, Error, Event, Message, PollingServer, ReplyMode, Server, ServerCtx, ServerHandler,
};

/// Peers at once, on every path.
const PEERS: usize = 200;

fn one_message(peer: usize) -> Vec<Vec<u8>> {
    vec![format!("hello from {peer}").into_bytes()]
}

fn three_messages(peer: usize) -> Vec<Vec<u8>> {
    (0..3).map(|i| format!("{peer}: message {i}").into_bytes()).collect()
}

fn shouted(msgs: Vec<Vec<u8>>) -> Vec<Vec<u8>> {
    msgs.iter().map(|m| m.to_ascii_uppercase()).collect()
}

struct Echo;

impl ServerHandler for Echo {
    fn on_receive(&mut self, server: &mut ServerCtx<'_>, client: ConnId, msg: Message<'_>) -> Result<(), Error> {
        server.send(client, msg)
    }
}

#[test]
fn a_callback_server_answers_every_half_closed_peer() {
    let server = Server::bind("127.0.0.1:0").unwrap().start(Echo).unwrap();
    let lost = half_closing_peers(server.local_addr().tcp().unwrap(), PEERS, three_messages, three_messages);
    assert_eq!(lost, 0, "{lost} of {PEERS} half-closed peers lost their replies");
    server.stop().unwrap();
}

/// The README's simplesockets guide, word for word: echo, then disconnect.
fn readme_echo(server: &PollingServer) -> Result<(), Error> {
    for event in server.events() {
        // sleeps until something happens
        if let Event::Received { client, data, .. } = event {
            server.send(client, &data)?;
            server.disconnect(client)?;
        }
    }
    Ok(())
}

#[test]
fn a_polling_echo_written_as_the_readme_teaches_answers_every_half_closed_peer() {
    let server = Server::bind("127.0.0.1:0").unwrap().start_polling().unwrap();
    std::thread::scope(|s| {
        let program = s.spawn(|| readme_echo(&server));
        let lost = half_closing_peers(server.local_addr().tcp().unwrap(), PEERS, one_message, one_message);
        server.stop().unwrap();
        let ended = program.join().unwrap();
        assert_eq!(lost, 0, "{lost} of {PEERS} half-closed peers lost their replies (the loop ended with {ended:?})");
        ended.unwrap();
    });
}

/// A polling program that answers every message and never disconnects
/// anyone: the server closes each half-closed peer once the program has
/// come back for more after taking its last message, and the program
/// sees each one leave, for `PeerClosed`, after its messages.
#[test]
fn a_polling_server_closes_a_half_closed_peer_once_the_program_answered_it() {
    let server = Server::bind("127.0.0.1:0").unwrap().start_polling().unwrap();
    std::thread::scope(|s| {
        let program = s.spawn(|| {
            let mut left = Vec::new();
            while let Some(event) = server.wait_event(2 * PATIENCE) {
                match event {
                    Event::Received { client, data, .. } => server.send(client, data.to_ascii_uppercase()).unwrap(),
                    Event::Disconnected { reason, .. } => {
                        left.push(reason);
                        if left.len() == PEERS {
                            break;
                        }
                    }
                    _ => {}
                }
            }
            left
        });
        let lost = half_closing_peers(server.local_addr().tcp().unwrap(), PEERS, three_messages, |p| {
            shouted(three_messages(p))
        });
        let left = program.join().unwrap();
        assert_eq!(lost, 0, "{lost} of {PEERS} half-closed peers lost their replies");
        assert_eq!(left.len(), PEERS, "not every peer was seen to leave");
        assert!(left.iter().all(|r| *r == CloseReason::PeerClosed), "reasons: {left:?}");
    });
    server.stop().unwrap();
}

#[test]
fn request_reply_servers_answer_every_half_closed_peer_in_each_mode() {
    let upper = |req: &[u8]| req.to_ascii_uppercase();
    for mode in [ReplyMode::Concurrent, ReplyMode::OneAtATime] {
        let server = Server::bind("127.0.0.1:0").unwrap().reply(mode, upper).unwrap();
        let lost =
            half_closing_peers(server.local_addr().tcp().unwrap(), PEERS, one_message, |p| shouted(one_message(p)));
        assert_eq!(lost, 0, "{mode:?}: {lost} of {PEERS} half-closed peers lost their replies");
        server.stop().unwrap();
    }
    // One request per server: as many servers as peers, one after another.
    let mut lost = 0;
    for peer in 0..PEERS {
        let server = Server::bind("127.0.0.1:0").unwrap().reply(ReplyMode::Once, upper).unwrap();
        lost += half_closing_peers(
            server.local_addr().tcp().unwrap(),
            1,
            |_| one_message(peer),
            |_| shouted(one_message(peer)),
        );
        server.wait().unwrap();
    }
    assert_eq!(lost, 0, "Once: {lost} of {PEERS} half-closed peers lost their replies");
}

/// Messages the server sends each client before shutting down its side.
const TO_EACH_CLIENT: usize = 5;

/// A plain TCP server sends each `Client` a few messages and shuts down its
/// sending side; each client's program answers every message after taking
/// it. Every answer must reach the server, and the program then learns
/// the server left (`PeerClosed`).
#[test]
fn a_client_answers_every_message_of_a_server_that_half_closed() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::scope(|s| {
        let served = s.spawn(move || {
            let mut answered = 0;
            let mut peers = Vec::new();
            for _ in 0..PEERS {
                let (mut c, _) = listener.accept().unwrap();
                peers.push(std::thread::spawn(move || {
                    c.set_read_timeout(Some(2 * PATIENCE)).unwrap();
                    for i in 0..TO_EACH_CLIENT {
                        write_frame(&mut c, format!("question {i}").as_bytes());
                    }
                    c.shutdown(Shutdown::Write).unwrap();
                    let mut got = Vec::new();
                    let _ = c.read_to_end(&mut got);
                    let want: Vec<u8> =
                        (0..TO_EACH_CLIENT).flat_map(|i| frame(format!("answer {i}").as_bytes())).collect();
                    got == want
                }));
            }
            for p in peers {
                answered += usize::from(p.join().unwrap());
            }
            answered
        });
        let programs: Vec<_> = (0..PEERS)
            .map(|_| {
                s.spawn(move || {
                    let client = Client::connect(addr).unwrap();
                    for _ in 0..TO_EACH_CLIENT {
                        let question = client.recv_timeout(2 * PATIENCE).unwrap();
                        let answer = String::from_utf8(question).unwrap().replace("question", "answer");
                        client.send(answer).unwrap();
                    }
                    client.recv_timeout(2 * PATIENCE)
                })
            })
            .collect();
        let mut ends = Vec::new();
        for p in programs {
            ends.push(p.join().map_err(|_| "the program panicked: an answer could not be sent"));
        }
        let answered = served.join().unwrap();
        assert_eq!(
            answered,
            PEERS,
            "{} of {PEERS} servers lost answers; the programs ended with {ends:?}",
            PEERS - answered
        );
        for end in ends {
            assert!(matches!(end, Ok(Err(Error::Disconnected(CloseReason::PeerClosed)))), "{end:?}");
        }
    });
}

/// The check that the peers above really wait for their answers: a peer
/// that half-closes still reads, and a plain connection still works.
#[test]
fn a_peer_that_only_half_closed_can_still_be_answered_later() {
    let server = Server::bind("127.0.0.1:0").unwrap().start_polling().unwrap();
    let mut c = connect(server.local_addr().tcp().unwrap());
    write_frame(&mut c, b"later please");
    c.shutdown(Shutdown::Write).unwrap();
    std::thread::sleep(Duration::from_millis(200)); // the end of stream is read long before the program looks
    let deadline = Instant::now() + PATIENCE;
    let client = loop {
        match server.wait_event(PATIENCE) {
            Some(Event::Received { client, .. }) => break client,
            Some(_) => assert!(Instant::now() < deadline, "no message"),
            None => panic!("no message"),
        }
    };
    server.send(client, "here it is").unwrap();
    assert_eq!(read_frame(&mut c), b"here it is");
    assert!(matches!(server.wait_event(PATIENCE), Some(Event::Disconnected { reason: CloseReason::PeerClosed, .. })));
    let mut rest = Vec::new();
    c.read_to_end(&mut rest).unwrap();
    assert!(rest.is_empty());
    server.stop().unwrap();
}

/// A polling program that never takes its events: the half-closed client
/// closes by itself at the half-close timeout, and the program, when it
/// looks at last, finds its message, then its departure with the reason.
#[test]
fn a_polling_server_whose_program_never_answers_closes_at_the_half_close_timeout() {
    let timeout = Duration::from_millis(300);
    let server = Server::bind("127.0.0.1:0").unwrap().half_close_timeout(timeout).start_polling().unwrap();
    let mut c = connect(server.local_addr().tcp().unwrap());
    write_frame(&mut c, b"hello?");
    let start = Instant::now();
    c.shutdown(Shutdown::Write).unwrap();
    let mut rest = Vec::new();
    c.read_to_end(&mut rest).unwrap();
    let waited = start.elapsed();
    assert!(rest.is_empty());
    assert!(waited >= timeout, "closed after {waited:?}, before the timeout");
    assert!(waited < PATIENCE, "held for {waited:?}");
    assert!(matches!(server.wait_event(PATIENCE), Some(Event::Connected { .. })));
    assert!(matches!(server.wait_event(PATIENCE), Some(Event::Received { .. })));
    match server.wait_event(PATIENCE) {
        Some(Event::Disconnected { reason, .. }) => assert_eq!(reason, CloseReason::HalfCloseTimeout),
        other => panic!("expected the client to leave, got {other:?}"),
    }
    server.stop().unwrap();
}

/// A program that takes one event, then drains the rest at once
/// (`try_event` then `drain_events`): the events waiting in the program's
/// cache were taken but not handed out, so coming back for them must not
/// tell the network thread that they were handled. Every reply to the
/// half-closed peer still gets out.
#[test]
fn a_drain_after_one_taken_event_still_answers_a_half_closed_peer() {
    let server = Server::bind("127.0.0.1:0").unwrap().start_polling().unwrap();
    let mut peer = connect(server.local_addr().tcp().unwrap());
    let asked: Vec<Vec<u8>> = (0..5u8).map(|i| vec![b'a' + i]).collect();
    let wire: Vec<u8> = asked.iter().flat_map(|m| frame(m)).collect();
    std::io::Write::write_all(&mut peer, &wire).unwrap();
    peer.shutdown(Shutdown::Write).unwrap();
    // Time for the messages and the end of stream to arrive, so that the
    // first take fills the cache with them (if it does not, the test still
    // checks that every reply gets out).
    std::thread::sleep(Duration::from_millis(200));
    assert!(matches!(server.wait_event(PATIENCE), Some(Event::Connected { .. })));
    let mut answered = 0;
    let deadline = Instant::now() + PATIENCE;
    while answered < asked.len() {
        assert!(Instant::now() < deadline, "only {answered} of the messages arrived");
        let mut events = server.drain_events();
        if events.is_empty() {
            events.extend(server.wait_event(PATIENCE));
        }
        for event in events {
            if let Event::Received { client, data, .. } = event {
                server.send(client, &data).unwrap();
                answered += 1;
            }
        }
    }
    // Coming back after the replies lets the network thread close the peer.
    assert!(server.wait_event(PATIENCE).is_some_and(|e| matches!(e, Event::Disconnected { .. })));
    peer.set_read_timeout(Some(PATIENCE)).unwrap();
    let mut replies = Vec::new();
    peer.read_to_end(&mut replies).unwrap();
    assert_eq!(replies, wire, "replies lost; the server met {:?}", server.errors());
}

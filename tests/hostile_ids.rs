//! Connection ids under churn: a slot freed and reused within one poll batch
//! never carries one connection's bytes or events to another, and an id
//! used after its connection is gone is an error, never a panic nor a
//! message to whoever holds the slot now.

mod common;

use std::collections::HashMap;
use std::io::Read;
use std::net::Shutdown;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;

use common::hostile::*;
use common::*;
use frameloop::{CloseReason, ConnId, Ctx, Error, Handler, Reactor};

type Faults = Arc<Mutex<Vec<String>>>;

/// Checks that every event names a connection it opened and has not closed,
/// and that every tagged frame arrives on the connection whose peer port it
/// carries. Echoes every frame.
struct IdChecker {
    ports: HashMap<ConnId, u16>,
    faults: Faults,
    tagged: Arc<AtomicUsize>,
}

impl IdChecker {
    fn fault(&self, what: String) {
        self.faults.lock().unwrap().push(what);
    }
}

impl Handler for IdChecker {
    fn on_open(&mut self, ctx: &mut Ctx<'_>, conn: ConnId) {
        let port = ctx.peer_addr(conn).ok().and_then(|a| a.tcp()).map_or(0, |a| a.port());
        if self.ports.insert(conn, port).is_some() {
            self.fault(format!("{conn:?} opened twice"));
        }
    }

    fn on_frame(&mut self, ctx: &mut Ctx<'_>, conn: ConnId, frame: &[u8]) {
        match self.ports.get(&conn) {
            None => self.fault(format!("a frame for {conn:?}, which is not open")),
            Some(&port) => {
                if let Some(tag) = frame.strip_prefix(b"ID") {
                    self.tagged.fetch_add(1, Ordering::SeqCst);
                    let from = u16::from_be_bytes([tag[0], tag[1]]);
                    if from != port {
                        self.fault(format!("a frame of port {from} arrived on {conn:?} of port {port}"));
                    }
                }
            }
        }
        let _ = ctx.send(conn, frame);
    }

    fn on_close(&mut self, _ctx: &mut Ctx<'_>, conn: ConnId, _reason: CloseReason) {
        if self.ports.remove(&conn).is_none() {
            self.fault(format!("a close for {conn:?}, which is not open"));
        }
    }
}

#[test]
fn connections_closed_and_reopened_in_one_poll_batch_never_get_each_others_bytes_or_events() {
    const THREADS: u64 = 8;
    const ROUNDS: u64 = 150;
    let faults = Faults::default();
    let tagged = Arc::new(AtomicUsize::new(0));
    let checker = IdChecker { ports: HashMap::new(), faults: Arc::clone(&faults), tagged: Arc::clone(&tagged) };
    let server = serve(Reactor::builder(), checker);
    let addr = server.addr;
    let clients: Vec<_> = (0..THREADS)
        .map(|t| {
            thread::spawn(move || {
                let mut rng = XorShift::new(0x1d5 + t);
                for round in 0..ROUNDS {
                    let mut s = connect(addr);
                    let mut tag = b"ID".to_vec();
                    tag.extend_from_slice(&port_of(&s).to_be_bytes());
                    tag.extend_from_slice(&(t * ROUNDS + round).to_be_bytes());
                    let frames = 1 + rng.below(3);
                    for _ in 0..frames {
                        write_quietly(&mut s, &frame(&tag));
                    }
                    match rng.below(4) {
                        // Read the replies: each must be this client's own.
                        0 => {
                            for _ in 0..frames {
                                assert_eq!(read_frame(&mut s), tag, "a reply for another client");
                            }
                            let _ = s.shutdown(Shutdown::Write);
                            assert!(read_to_close(&mut s).is_empty());
                        }
                        1 => drop(s),
                        2 => reset(s),
                        // Half a frame, then a reset.
                        _ => {
                            write_quietly(&mut s, &frame(&tag)[..5]);
                            reset(s);
                        }
                    }
                }
            })
        })
        .collect();
    for c in clients {
        c.join().unwrap();
    }
    assert_serves(addr);
    // The stop closes whatever is left: every connection then had exactly
    // one close, checked by the handler.
    let stats = server.stop();
    assert_eq!(stats.accepted, THREADS * ROUNDS + 1);
    assert_eq!(stats.closed, stats.accepted);
    eprintln!("churn: {} tagged frames checked", tagged.load(Ordering::SeqCst));
    assert!(tagged.load(Ordering::SeqCst) > 0);
    let faults = faults.lock().unwrap();
    assert!(faults.is_empty(), "{} faults, first: {:?}", faults.len(), &faults[..faults.len().min(5)]);
}

/// Keeps the ids of connections that closed, and uses them afterwards.
struct Stasher {
    dead: Vec<ConnId>,
    faults: Faults,
    checks: Arc<Mutex<usize>>,
}

impl Stasher {
    /// Records a fault unless `result` is the error `want` for `conn`.
    fn expect<T: std::fmt::Debug>(&self, what: &str, result: Result<T, Error>, want: &dyn Fn(&Error) -> bool) {
        *self.checks.lock().unwrap() += 1;
        match result {
            Err(e) if want(&e) => {}
            other => self.faults.lock().unwrap().push(format!("{what}: {other:?}")),
        }
    }
}

impl Handler for Stasher {
    fn on_frame(&mut self, ctx: &mut Ctx<'_>, conn: ConnId, frame: &[u8]) {
        match frame {
            b"poke the dead" => {
                for &dead in &self.dead {
                    let gone = |e: &Error| matches!(e, Error::UnknownConnection(id) if *id == dead);
                    self.expect("send", ctx.send(dead, b"to the dead"), &gone);
                    self.expect("send_parts", ctx.send_parts(dead, &[b"to ", b"the dead"]), &gone);
                    self.expect("close", ctx.close(dead), &gone);
                    self.expect("abort", ctx.abort(dead), &gone);
                    self.expect("reject", ctx.reject(dead, "dead"), &gone);
                    self.expect("queued", ctx.queued(dead), &gone);
                    self.expect("peer_addr", ctx.peer_addr(dead), &gone);
                    if ctx.is_open(dead) || ctx.connections().any(|c| c == dead) {
                        self.faults.lock().unwrap().push(format!("{dead:?} still listed as open"));
                    }
                }
                let _ = ctx.send(conn, format!("poked {}", self.dead.len()).as_bytes());
            }
            b"close me" => {
                if let Err(e) = ctx.close(conn) {
                    self.faults.lock().unwrap().push(format!("close: {e:?}"));
                }
                let closing = |e: &Error| matches!(e, Error::ConnectionClosed(id) if *id == conn);
                self.expect("send while closing", ctx.send(conn, b"too late"), &closing);
            }
            _ => {}
        }
    }

    fn on_close(&mut self, ctx: &mut Ctx<'_>, conn: ConnId, _reason: CloseReason) {
        // The id is still known during on_close, but the connection is gone.
        let closed = |e: &Error| matches!(e, Error::ConnectionClosed(_));
        self.expect("send in on_close", ctx.send(conn, b"bye"), &closed);
        self.expect("close in on_close", ctx.close(conn), &closed);
        self.expect("abort in on_close", ctx.abort(conn), &closed);
        self.expect("queued in on_close", ctx.queued(conn), &closed);
        self.dead.push(conn);
    }
}

#[test]
fn a_handler_using_ids_of_closed_connections_gets_errors_and_nobody_gets_the_bytes() {
    let faults = Faults::default();
    let checks = Arc::new(Mutex::new(0));
    let stasher = Stasher { dead: Vec::new(), faults: Arc::clone(&faults), checks: Arc::clone(&checks) };
    let server = serve(Reactor::builder(), stasher);

    // Three connections end three ways.
    let clean = connect(server.addr);
    drop(clean);
    server.next_close();
    reset(connect(server.addr));
    server.next_close();
    let mut closed_by_server = connect(server.addr);
    write_frame(&mut closed_by_server, b"close me");
    assert!(read_to_close(&mut closed_by_server).is_empty(), "bytes sent while closing arrived");
    assert_eq!(server.next_close().1, CloseReason::ClosedLocally);

    // A newcomer most likely takes a freed slot: nothing meant for the dead
    // ids may reach it.
    let mut newcomer = connect(server.addr);
    write_frame(&mut newcomer, b"poke the dead");
    assert_eq!(read_frame(&mut newcomer), b"poked 3");
    newcomer.shutdown(Shutdown::Write).unwrap();
    let mut rest = Vec::new();
    newcomer.read_to_end(&mut rest).unwrap();
    assert!(rest.is_empty(), "bytes for a dead id reached the newcomer");
    drop(server);

    assert!(faults.lock().unwrap().is_empty(), "{:?}", faults.lock().unwrap());
    assert_eq!(*checks.lock().unwrap(), 4 * 4 + 3 * 7 + 1, "every check ran");
}

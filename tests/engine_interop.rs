//! The frame format is byte for byte tokio-util's `LengthDelimitedCodec`
//! with its default settings: a tokio client talks to a frameloop server,
//! and a frameloop client (an outgoing connection) to a tokio server.

mod common;
mod support;

use std::future::Future;
use std::sync::mpsc;
use std::thread;

use common::*;
use frameloop::{CloseReason, ConnId, Ctx, Error, Handler, Reactor};
use futures::{SinkExt, StreamExt};
use support::*;
use tokio_util::bytes::Bytes;
use tokio_util::codec::{Framed, LengthDelimitedCodec};

/// Payload lengths both ways: empty, tiny, around the 64 KiB read buffer,
/// and about 1 MiB (under the codec's default 8 MiB maximum).
const LENGTHS: [usize; 8] = [0, 1, 5, 4096, 64 * 1024 - 1, 64 * 1024 + 1, 0, 1024 * 1024 - 3];

/// Runs `fut` on a current-thread runtime, failing if it takes longer than
/// the patience.
fn block_on_patiently<F: Future>(fut: F) -> F::Output {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async { tokio::time::timeout(PATIENCE, fut).await.expect("timed out") })
}

#[test]
fn a_tokio_length_delimited_client_gets_every_frame_back_byte_for_byte() {
    let server = echo_server(Reactor::builder());
    block_on_patiently(async {
        let stream = tokio::net::TcpStream::connect(server.addr).await.unwrap();
        let mut framed = Framed::new(stream, LengthDelimitedCodec::new());
        // One at a time...
        for (seq, &len) in LENGTHS.iter().enumerate() {
            framed.send(Bytes::from(tagged(0, seq as u32, len))).await.unwrap();
            let reply = framed.next().await.expect("end of stream").unwrap();
            check_tagged(&reply, 0, seq as u32, len);
        }
        // ... and pipelined.
        for seq in 0..200 {
            framed.feed(Bytes::from(tagged(1, seq, seq as usize % 97))).await.unwrap();
        }
        SinkExt::<Bytes>::flush(&mut framed).await.unwrap();
        for seq in 0..200 {
            let reply = framed.next().await.expect("end of stream").unwrap();
            check_tagged(&reply, 1, seq, seq as usize % 97);
        }
    });
    assert_eq!(server.stop().frames_in, LENGTHS.len() as u64 + 200);
}

/// Wakes `reactor` once the patience has run out: handlers that stop on
/// `on_wake` can then not run forever, whatever goes wrong.
fn watchdog(reactor: &Reactor) {
    let notifier = reactor.notifier();
    thread::spawn(move || {
        thread::sleep(PATIENCE);
        let _ = notifier.notify();
    });
}

/// A frameloop client: once connected it sends every frame of `LENGTHS`,
/// then stops when all have come back (or when the watchdog wakes it).
struct Client {
    received: Vec<Vec<u8>>,
    closed: Option<CloseReason>,
}

impl Handler for Client {
    fn on_open(&mut self, ctx: &mut Ctx<'_>, conn: ConnId) {
        for (seq, &len) in LENGTHS.iter().enumerate() {
            ctx.send(conn, &tagged(2, seq as u32, len)).unwrap();
        }
    }

    fn on_frame(&mut self, ctx: &mut Ctx<'_>, _conn: ConnId, frame: &[u8]) {
        self.received.push(frame.to_vec());
        if self.received.len() == LENGTHS.len() {
            ctx.stop();
        }
    }

    fn on_close(&mut self, ctx: &mut Ctx<'_>, _conn: ConnId, reason: CloseReason) {
        self.closed = Some(reason);
        ctx.stop();
    }

    fn on_wake(&mut self, ctx: &mut Ctx<'_>) {
        ctx.stop();
    }
}

#[test]
fn a_frameloop_client_and_a_tokio_length_delimited_server_understand_each_other() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    listener.set_nonblocking(true).unwrap();
    // The tokio server echoes, and hands back what it received.
    let (tx, received_by_tokio) = mpsc::channel();
    let tokio_server = thread::spawn(move || {
        block_on_patiently(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            let (stream, _) = listener.accept().await.unwrap();
            let mut framed = Framed::new(stream, LengthDelimitedCodec::new());
            while let Some(frame) = framed.next().await {
                let frame = frame.expect("the tokio codec refused a frame");
                let _ = tx.send(frame.to_vec());
                framed.send(frame.freeze()).await.unwrap();
            }
        })
    });
    let mut reactor = Reactor::builder().build().unwrap();
    reactor.connect(addr).unwrap();
    watchdog(&reactor);
    let mut client = Client { received: Vec::new(), closed: None };
    reactor.run(&mut client).unwrap();
    // The stop closed the connection: the tokio server sees end of stream.
    tokio_server.join().expect("tokio server failed");
    assert_eq!(client.closed, Some(CloseReason::Shutdown));
    assert_eq!(client.received.len(), LENGTHS.len(), "not every frame came back in time");
    for (seq, &len) in LENGTHS.iter().enumerate() {
        check_tagged(&received_by_tokio.try_recv().expect("tokio got fewer frames"), 2, seq as u32, len);
        check_tagged(&client.received[seq], 2, seq as u32, len);
    }
    assert_eq!(reactor.stats().connected, 1);
}

/// Stops at the first close, keeping its reason.
struct FirstClose(Option<CloseReason>);

impl Handler for FirstClose {
    fn on_frame(&mut self, _ctx: &mut Ctx<'_>, _conn: ConnId, _frame: &[u8]) {}

    fn on_close(&mut self, ctx: &mut Ctx<'_>, _conn: ConnId, reason: CloseReason) {
        self.0 = Some(reason);
        ctx.stop();
    }

    fn on_wake(&mut self, ctx: &mut Ctx<'_>) {
        ctx.stop();
    }
}

#[test]
fn an_outgoing_connect_to_a_port_nobody_listens_on_closes_with_connect_failed() {
    // A port that was free a moment ago.
    let addr = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let mut reactor = Reactor::builder().build().unwrap();
    match reactor.connect(addr) {
        Ok(_) => {}
        // Some systems refuse a loopback connect at once: reported as well.
        Err(Error::ConnectionRefused { .. }) => return,
        Err(e) => panic!("connect failed to start: {e}"),
    }
    watchdog(&reactor);
    let mut handler = FirstClose(None);
    reactor.run(&mut handler).unwrap();
    assert_eq!(handler.0, Some(CloseReason::ConnectFailed(std::io::ErrorKind::ConnectionRefused)));
    assert_eq!(reactor.stats().connect_failed, 1);
}

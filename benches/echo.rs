//! Loopback echo by message size, frameloop against tokio + tokio-util's
//! `Framed<TcpStream, LengthDelimitedCodec>` and against the floor (the
//! byte echo on mio alone of `examples/mio_echo.rs`), on the same workload,
//! in the same run, so each set of results reads as ratios.
//!
//! Each server runs on its own thread (tokio on a current-thread runtime,
//! batching with feed/flush as a tuned tokio server does); the client is
//! the same for all three. Workloads, at 64 B, 1 KiB, 8 KiB, 64 KiB and
//! 1 MiB:
//!
//! - `echo_pipelined_SIZE`: a batch of frames written at once and their
//!   echoes read back: 16 frames up to 1 KiB, 8 of 8 KiB, 4 of 64 KiB,
//!   2 of 1 MiB (fewer in flight as they grow, as `benches/sizes.sh` does);
//! - `echo_pingpong_SIZE`: one frame, one echo (round-trip latency).
//!
//! Throughput is payload bytes echoed. The client's own work is part of
//! every measurement, equally for all; `frameloop bench` measures the
//! servers' CPU time alone.
//!
//! ```text
//! cargo bench --bench echo
//! cargo bench --bench echo -- pingpong_64KiB    # one group
//! ```

use std::io::{ErrorKind, Read, Write};
use std::net::SocketAddr;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use frameloop::{ConnId, Ctx, Handler, Reactor};
use mio::{Events, Interest, Poll, Token};

/// The measurement peers; the bench runs the very same framed server.
#[path = "../examples/tokio_echo.rs"]
mod tokio_echo;

/// The floor, the very same byte echo as the example.
#[path = "../examples/mio_echo.rs"]
mod mio_echo;

/// Payload sizes, each with the frames in flight of its pipelined workload.
const SIZES: [(usize, usize); 5] = [(64, 16), (1024, 16), (8 << 10, 8), (64 << 10, 4), (1 << 20, 2)];

/// How long the client waits for any progress before it calls the server
/// stuck.
const PATIENCE: Duration = Duration::from_secs(10);

struct Echo;

impl Handler for Echo {
    fn on_frame(&mut self, ctx: &mut Ctx<'_>, conn: ConnId, frame: &[u8]) {
        let _ = ctx.send(conn, frame);
    }
}

/// The engine's echo server on its own thread. It lives until the bench
/// process exits.
fn frameloop_server() -> SocketAddr {
    let mut reactor = Reactor::builder().build().expect("reactor");
    let addr = reactor.listen("127.0.0.1:0").expect("listen").tcp().unwrap();
    std::thread::spawn(move || reactor.run(&mut Echo));
    addr
}

/// tokio's framed echo server on a current-thread runtime on its own
/// thread: every already-decoded frame is fed, then one flush.
fn tokio_framed_server() -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("local addr");
    listener.set_nonblocking(true).expect("nonblocking");
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread().enable_io().build().expect("runtime");
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
            while let Ok((stream, _)) = listener.accept().await {
                let _ = stream.set_nodelay(true);
                tokio::spawn(tokio_echo::echo_framed(stream));
            }
        });
    });
    addr
}

/// The mio byte echo on its own thread.
fn floor_server() -> SocketAddr {
    let listener = mio::net::TcpListener::bind(([127, 0, 0, 1], 0).into()).expect("bind");
    let addr = listener.local_addr().expect("local addr");
    std::thread::spawn(move || mio_echo::serve(listener));
    addr
}

/// A client connection that writes `depth` frames of `size` bytes at once
/// and reads their echoes. It writes and reads as each side allows rather
/// than writing the whole batch first: a batch larger than the socket
/// buffers would otherwise deadlock against a server that stops reading
/// until its echoes are read (the byte echoes do, as flow control asks).
struct Client {
    stream: mio::net::TcpStream,
    poll: Poll,
    events: Events,
    batch: Vec<u8>,
    echo: Vec<u8>,
}

impl Client {
    fn connect(addr: SocketAddr, size: usize, depth: usize) -> Client {
        let stream = std::net::TcpStream::connect(addr).expect("connect");
        stream.set_nodelay(true).expect("nodelay");
        stream.set_nonblocking(true).expect("nonblocking");
        let mut stream = mio::net::TcpStream::from_std(stream);
        let poll = Poll::new().expect("poll");
        poll.registry().register(&mut stream, Token(0), Interest::READABLE | Interest::WRITABLE).expect("register");
        let mut batch = Vec::with_capacity(depth * (4 + size));
        for i in 0..depth {
            batch.extend_from_slice(&(size as u32).to_be_bytes());
            batch.extend((0..size).map(|j| (i + j) as u8));
        }
        let echo = vec![0; batch.len()];
        let mut client = Client { stream, poll, events: Events::with_capacity(4), batch, echo };
        // Checked once, outside the measurement: comparing megabytes on
        // every round trip would weigh on the large sizes.
        client.round_trip();
        assert!(client.echo == client.batch, "bad echo");
        client
    }

    fn round_trip(&mut self) {
        let len = self.batch.len();
        let (mut sent, mut got) = (0, 0);
        while got < len {
            while sent < len {
                match self.stream.write(&self.batch[sent..]) {
                    Ok(n) => sent += n,
                    Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == ErrorKind::Interrupted => {}
                    Err(e) => panic!("write: {e}"),
                }
            }
            // Nothing unread is left from before (every echo byte was read
            // at the end of the last round trip), so any echo to come is a
            // new edge the poll reports.
            self.poll.poll(&mut self.events, Some(PATIENCE)).expect("poll");
            assert!(!self.events.is_empty(), "no progress in {PATIENCE:?}: {sent} of {len} B sent, {got} echoed");
            while got < len {
                match self.stream.read(&mut self.echo[got..]) {
                    Ok(0) => panic!("the server closed the connection"),
                    Ok(n) => got += n,
                    Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == ErrorKind::Interrupted => {}
                    Err(e) => panic!("read: {e}"),
                }
            }
        }
    }
}

/// `65536` as `64KiB`.
fn label(size: usize) -> String {
    match size {
        s if s >= 1 << 20 && s % (1 << 20) == 0 => format!("{}MiB", s >> 20),
        s if s >= 1 << 10 && s % (1 << 10) == 0 => format!("{}KiB", s >> 10),
        s => format!("{s}B"),
    }
}

fn echo(c: &mut Criterion) {
    let servers =
        [("frameloop", frameloop_server()), ("tokio_framed", tokio_framed_server()), ("floor", floor_server())];
    for (size, pipelined) in SIZES {
        for (workload, depth) in [("pipelined", pipelined), ("pingpong", 1)] {
            let mut group = c.benchmark_group(format!("echo_{workload}_{}", label(size)));
            group.throughput(Throughput::Bytes((depth * size) as u64));
            for (name, addr) in servers {
                let mut client = Client::connect(addr, size, depth);
                group.bench_function(BenchmarkId::new(name, depth), |b| b.iter(|| client.round_trip()));
            }
            group.finish();
        }
    }
}

/// 30 benchmarks, so short ones: the whole run takes about two minutes.
/// Set here rather than per group so that `--warm-up-time` and
/// `--measurement-time` on the command line still override them.
fn config() -> Criterion {
    Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
}

criterion_group! {
    name = benches;
    config = config();
    targets = echo
}
criterion_main!(benches);

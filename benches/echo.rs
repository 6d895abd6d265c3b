//! Loopback echo, frameloop against tokio + tokio-util's
//! `Framed<TcpStream, LengthDelimitedCodec>` on the same workload, in the
//! same run, so each pair of results reads as a ratio.
//!
//! Each server runs on its own thread (tokio on a current-thread runtime,
//! batching with feed/flush as a tuned tokio server does); the client is
//! the same blocking `std::net` connection for both. Workloads:
//!
//! - `echo_pipelined`: 16 frames of 64 B written at once, 16 echoes read
//!   back (a connection with depth 16);
//! - `echo_pingpong`: one 64 B frame, one echo (round-trip latency).
//!
//! The client's own work is part of every measurement, equally for both;
//! `frameloop bench` measures the servers' CPU time alone.
//!
//! ```text
//! cargo bench --bench echo
//! ```

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use frameloop::{ConnId, Ctx, Handler, Reactor};

/// The measurement peers; the bench runs the very same framed server.
#[path = "../examples/tokio_echo.rs"]
mod tokio_echo;

const PAYLOAD: usize = 64;

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
    let addr = reactor.listen("127.0.0.1:0").expect("listen");
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

/// A blocking client connection that writes `depth` frames at once and
/// reads their echoes.
struct Client {
    stream: TcpStream,
    batch: Vec<u8>,
    echo: Vec<u8>,
}

impl Client {
    fn connect(addr: SocketAddr, depth: usize) -> Client {
        let stream = TcpStream::connect(addr).expect("connect");
        stream.set_nodelay(true).expect("nodelay");
        stream.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
        let mut batch = Vec::new();
        for i in 0..depth {
            batch.extend_from_slice(&(PAYLOAD as u32).to_be_bytes());
            batch.extend((0..PAYLOAD).map(|j| (i + j) as u8));
        }
        let echo = vec![0; batch.len()];
        Client { stream, batch, echo }
    }

    fn round_trip(&mut self) {
        self.stream.write_all(&self.batch).expect("write");
        self.stream.read_exact(&mut self.echo).expect("read");
        assert_eq!(self.echo, self.batch, "bad echo");
    }
}

fn echo(c: &mut Criterion) {
    let servers = [("frameloop", frameloop_server()), ("tokio_framed", tokio_framed_server())];
    for (group_name, depth) in [("echo_pipelined_64B", 16), ("echo_pingpong_64B", 1)] {
        let mut group = c.benchmark_group(group_name);
        group.throughput(Throughput::Elements(depth as u64));
        group.sample_size(20);
        group.warm_up_time(Duration::from_millis(500));
        group.measurement_time(Duration::from_secs(2));
        for (name, addr) in servers {
            let mut client = Client::connect(addr, depth);
            group.bench_function(BenchmarkId::new(name, depth), |b| b.iter(|| client.round_trip()));
        }
        group.finish();
    }
}

criterion_group!(benches, echo);
criterion_main!(benches);

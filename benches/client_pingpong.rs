//! Round-trip latency of the beginner's [`Client`] (`send` then `recv`)
//! against a blocking `std::net::TcpStream` client, both talking to the
//! same engine echo server, in the same run: one 64 B frame in flight.
//!
//! ```text
//! cargo bench --bench client_pingpong
//! cargo bench --bench client_pingpong -- --rounds 9 --secs 1 --size 64
//! ```
//!
//! The server is the engine's echo (as `examples/echo.rs`) on its own
//! thread in this process. Each round runs both clients one after the
//! other, in alternating order, for `--secs` each (after a short warm-up),
//! and records every round trip. The report gives p50 and p99 per round,
//! the median over rounds of each, and the median of the per-round ratios
//! `Client / std`, the figure to read on a machine whose load moves.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use frameloop::{Client, ConnId, Ctx, Handler, Reactor};

struct Echo;

impl Handler for Echo {
    fn on_frame(&mut self, ctx: &mut Ctx<'_>, conn: ConnId, frame: &[u8]) {
        let _ = ctx.send(conn, frame);
    }
}

/// The engine's echo on its own thread, for the life of the process.
fn engine_echo() -> SocketAddr {
    let mut reactor = Reactor::builder().build().expect("reactor");
    let addr = reactor.listen("127.0.0.1:0").expect("listen").tcp().unwrap();
    std::thread::spawn(move || reactor.run(&mut Echo));
    addr
}

/// Settings from the command line (`cargo bench` adds `--bench`, ignored).
struct Settings {
    rounds: usize,
    secs: f64,
    size: usize,
}

fn settings() -> Settings {
    let mut s = Settings { rounds: 7, secs: 1.0, size: 64 };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().and_then(|v| v.parse::<f64>().ok());
        match arg.as_str() {
            "--rounds" => s.rounds = value().map_or(s.rounds, |v| v.max(1.0) as usize),
            "--secs" => s.secs = value().map_or(s.secs, |v| v.max(0.01)),
            "--size" => s.size = value().map_or(s.size, |v| v.max(1.0) as usize),
            _ => {} // --bench and filters
        }
    }
    s
}

/// One kind of client doing round trips.
trait PingPong {
    fn round_trip(&mut self, payload: &[u8]);
}

/// A blocking `std::net` client: one write, then reads until the echo is
/// whole (the lowest-overhead client one round trip at a time can have).
struct StdClient {
    stream: TcpStream,
    out: Vec<u8>,
    back: Vec<u8>,
}

impl StdClient {
    fn connect(addr: SocketAddr) -> StdClient {
        let stream = TcpStream::connect(addr).expect("connect");
        stream.set_nodelay(true).expect("nodelay");
        StdClient { stream, out: Vec::new(), back: Vec::new() }
    }
}

impl PingPong for StdClient {
    fn round_trip(&mut self, payload: &[u8]) {
        self.out.clear();
        self.out.extend_from_slice(&u32::try_from(payload.len()).expect("size").to_be_bytes());
        self.out.extend_from_slice(payload);
        self.stream.write_all(&self.out).expect("write");
        self.back.resize(self.out.len(), 0);
        self.stream.read_exact(&mut self.back).expect("read");
        assert_eq!(&self.back[4..], payload, "std client: wrong echo");
    }
}

/// The facade's client, used as the README shows: `send`, then `recv`.
struct FacadeClient(Client);

impl PingPong for FacadeClient {
    fn round_trip(&mut self, payload: &[u8]) {
        self.0.send(payload).expect("send");
        let back = self.0.recv().expect("recv");
        assert_eq!(back, payload, "Client: wrong echo");
    }
}

/// Round trips for `secs` (after a tenth of that as warm-up), sorted.
fn measure(client: &mut dyn PingPong, payload: &[u8], secs: f64) -> Vec<u64> {
    let warmup = Instant::now() + Duration::from_secs_f64(secs / 10.0);
    while Instant::now() < warmup {
        client.round_trip(payload);
    }
    let mut samples = Vec::with_capacity(100_000);
    let end = Instant::now() + Duration::from_secs_f64(secs);
    loop {
        let start = Instant::now();
        client.round_trip(payload);
        let now = Instant::now();
        samples.push(u64::try_from((now - start).as_nanos()).unwrap_or(u64::MAX));
        if now >= end {
            break;
        }
    }
    samples.sort_unstable();
    samples
}

fn quantile(sorted: &[u64], q: f64) -> u64 {
    let i = ((sorted.len() as f64 * q) as usize).min(sorted.len() - 1);
    sorted[i]
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    }
}

fn us(ns: f64) -> String {
    format!("{:.1} µs", ns / 1e3)
}

fn main() {
    let s = settings();
    let addr = engine_echo();
    let payload: Vec<u8> = (0..s.size).map(|i| (i % 251) as u8).collect();
    let mut plain = StdClient::connect(addr);
    let mut facade = FacadeClient(Client::connect(addr).expect("Client::connect"));

    println!(
        "ping-pong, 1 connection each, {} B frames, engine echo on {addr}: {} rounds of {} s per client",
        s.size, s.rounds, s.secs
    );
    println!(
        "round   std p50    std p99    Client p50  Client p99   ratio p50  ratio p99   round trips (std / Client)"
    );
    let (mut ratio50, mut ratio99) = (Vec::new(), Vec::new());
    let (mut std50, mut std99, mut fac50, mut fac99) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for round in 0..s.rounds {
        // Alternate which client goes first, so neither always runs on a
        // machine the other just warmed up.
        let (a, b) = if round % 2 == 0 {
            let a = measure(&mut plain, &payload, s.secs);
            (a, measure(&mut facade, &payload, s.secs))
        } else {
            let b = measure(&mut facade, &payload, s.secs);
            (measure(&mut plain, &payload, s.secs), b)
        };
        let (a50, a99, b50, b99) =
            (quantile(&a, 0.5) as f64, quantile(&a, 0.99) as f64, quantile(&b, 0.5) as f64, quantile(&b, 0.99) as f64);
        println!(
            "{:>5}   {:>9}  {:>9}  {:>10}  {:>10}   {:>8.2}×  {:>8.2}×   {} / {}",
            round + 1,
            us(a50),
            us(a99),
            us(b50),
            us(b99),
            b50 / a50,
            b99 / a99,
            a.len(),
            b.len()
        );
        ratio50.push(b50 / a50);
        ratio99.push(b99 / a99);
        std50.push(a50);
        std99.push(a99);
        fac50.push(b50);
        fac99.push(b99);
    }
    println!(
        "median  {:>9}  {:>9}  {:>10}  {:>10}   {:>8.2}×  {:>8.2}×   (ratios: median of the per-round ratios)",
        us(median(std50)),
        us(median(std99)),
        us(median(fac50)),
        us(median(fac99)),
        median(ratio50),
        median(ratio99)
    );
}

//! Reference echo servers for measurement: the peers `frameloop bench` and
//! the README's performance numbers compare the engine against. Not an
//! example of how to use frameloop.
//!
//! ```text
//! cargo run --release --example tokio_echo -- framed 127.0.0.1:7001
//! cargo run --release --example tokio_echo -- raw    127.0.0.1:7002
//! cargo run --release --example tokio_echo -- std    127.0.0.1:7003
//! cargo run --release --example tokio_echo -- framed 127.0.0.1:7001 --workers 4 --work-us 20
//! cargo run --release --example tokio_echo -- framed 127.0.0.1:7004 --tls-cert tests/tls/server.pem --tls-key tests/tls/server.key
//! ```
//!
//! - `framed`: a current-thread tokio runtime; each connection is a task on
//!   `Framed<TcpStream, LengthDelimitedCodec>` that feeds every frame it has
//!   already received and flushes once per batch (the idiomatic batching
//!   server). Speaks the same frames as frameloop.
//! - `raw`: a current-thread tokio runtime echoing bytes unframed, as tokio's
//!   own echo example does: the floor for any framed server on tokio.
//! - `std`: blocking `std::net`, one thread per connection, echoing bytes:
//!   the lowest latency one round trip at a time can have.
//!
//! Options after the address, for measuring how servers scale over cores:
//!
//! - `--workers N` (`framed` and `raw`): a multi-thread runtime with N worker
//!   threads instead of the current-thread one, tokio's usual server setup;
//!   connections are spread over the workers and stolen between them.
//! - `--work-us W` (`framed`): W microseconds of CPU spent on every frame
//!   before it is fed back, spinning, to stand in for a real handler (the
//!   same work as `frameloop echo --work-us`).
//! - `--tls-cert C --tls-key K` (`framed`): TLS through tokio-rustls's
//!   `TlsAcceptor`, `Framed` over its `TlsStream`, with the configuration
//!   `frameloop echo --tls-cert C --tls-key K` builds (ring, TLS 1.2 and
//!   1.3, rustls's defaults otherwise), so that the two compare on the
//!   same TLS work: `frameloop bench --tls` drives either.
//!
//! The byte echoes return frames unchanged, so `frameloop bench --addr`
//! drives all three; `--server-pid` reads their CPU time. Stop with Ctrl-C.

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::{FutureExt, SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio_rustls::rustls;
use tokio_util::bytes::Bytes;
use tokio_util::codec::{Framed, LengthDelimitedCodec};

#[allow(dead_code)] // when benches/echo.rs includes this file for `echo_framed`
fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let kind = args.next().unwrap_or_else(|| "framed".to_owned());
    let addr: SocketAddr = args
        .next()
        .unwrap_or_else(|| "127.0.0.1:7001".to_owned())
        .parse()
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
    let options = Options::parse(args).unwrap_or_else(|e| usage(&e));
    if options.workers.is_some() && kind == "std" {
        usage("--workers is for the tokio servers, framed and raw");
    }
    if options.work.is_some() && kind != "framed" {
        usage("--work-us is for the framed server");
    }
    if options.tls.is_some() && kind != "framed" {
        usage("--tls-cert and --tls-key are for the framed server");
    }
    match kind.as_str() {
        "framed" => runtime(options.workers)?.block_on(framed(addr, options)),
        "raw" => runtime(options.workers)?.block_on(raw(addr, options)),
        "std" => blocking(addr),
        other => usage(&format!("unknown server '{other}': framed, raw or std")),
    }
}

fn usage(why: &str) -> ! {
    eprintln!("{why}");
    eprintln!("usage: tokio_echo framed|raw|std [ADDR [--workers N] [--work-us W] [--tls-cert C --tls-key K]]");
    std::process::exit(2);
}

/// The options after the address.
#[derive(Clone, Default)]
struct Options {
    /// `--workers N`: a multi-thread runtime with N workers; `None`, the
    /// current-thread runtime.
    workers: Option<usize>,
    /// `--work-us W`: the CPU time each frame costs (`None`: no work).
    work: Option<Duration>,
    /// `--tls-cert C --tls-key K`: the certificate chain and key to serve
    /// TLS with.
    tls: Option<(PathBuf, PathBuf)>,
}

impl Options {
    fn parse(mut args: impl Iterator<Item = String>) -> Result<Self, String> {
        let mut options = Options::default();
        let (mut cert, mut key) = (None, None);
        while let Some(flag) = args.next() {
            let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
            let number = || value.parse::<u64>().map_err(|e| format!("{flag} {value}: {e}"));
            match flag.as_str() {
                "--workers" => match number()? {
                    0 => return Err("--workers takes 1 or more".to_owned()),
                    n => options.workers = Some(n as usize),
                },
                "--work-us" => options.work = Some(number()?).filter(|&n| n > 0).map(Duration::from_micros),
                "--tls-cert" => cert = Some(PathBuf::from(value)),
                "--tls-key" => key = Some(PathBuf::from(value)),
                _ => {
                    return Err(format!("unknown option '{flag}': --workers N, --work-us W, --tls-cert C, --tls-key K"))
                }
            }
        }
        options.tls = match (cert, key) {
            (Some(cert), Some(key)) => Some((cert, key)),
            (None, None) => None,
            _ => return Err("--tls-cert and --tls-key go together".to_owned()),
        };
        Ok(options)
    }

    /// How the banner names the runtime and its workers, and the work.
    fn describe(&self) -> String {
        let mut text = match self.workers {
            Some(1) => "multi-thread, 1 worker".to_owned(),
            Some(n) => format!("multi-thread, {n} workers"),
            None => "current-thread".to_owned(),
        };
        if let Some(work) = self.work {
            text += &format!(", {} µs of work per frame", work.as_micros());
        }
        if self.tls.is_some() {
            text += ", over TLS (tokio-rustls, ring)";
        }
        text
    }
}

/// The server configuration `frameloop echo --tls-cert --tls-key` builds
/// (frameloop's `TlsServerFiles` without a client CA): ring named
/// explicitly, rustls's safe default versions (1.2 and 1.3), no client
/// authentication, and rustls's defaults for the rest (its stateful session
/// cache and TLS 1.3 tickets included).
fn tls_acceptor(cert: &PathBuf, key: &PathBuf) -> std::io::Result<tokio_rustls::TlsAcceptor> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let invalid = |what: &PathBuf, e: &dyn std::fmt::Display| {
        std::io::Error::new(std::io::ErrorKind::InvalidData, format!("{}: {e}", what.display()))
    };
    let chain = CertificateDer::pem_file_iter(cert)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|e| invalid(cert, &e))?;
    let key_der = PrivateKeyDer::from_pem_file(key).map_err(|e| invalid(key, &e))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| invalid(cert, &e))?
        .with_no_client_auth()
        .with_single_cert(chain, key_der)
        .map_err(|e| invalid(key, &e))?;
    Ok(tokio_rustls::TlsAcceptor::from(Arc::new(config)))
}

/// The current-thread runtime, or a multi-thread one with `workers`
/// worker threads.
fn runtime(workers: Option<usize>) -> std::io::Result<tokio::runtime::Runtime> {
    match workers {
        Some(n) => tokio::runtime::Builder::new_multi_thread().worker_threads(n).enable_io().build(),
        None => tokio::runtime::Builder::new_current_thread().enable_io().build(),
    }
}

/// Keeps the CPU busy for `work` (`--work-us`). It spins on the monotonic
/// clock instead of sleeping: a sleep would give the core away, costing the
/// server no CPU and letting a worker overlap the work of many frames,
/// where a real handler's work holds its thread and its core.
fn spin(work: Duration) {
    let start = Instant::now();
    while start.elapsed() < work {
        std::hint::spin_loop();
    }
}

/// Frames in, the same frames out, flushed once per batch of frames that
/// were already decoded.
async fn framed(addr: SocketAddr, options: Options) -> std::io::Result<()> {
    let acceptor = options.tls.as_ref().map(|(cert, key)| tls_acceptor(cert, key)).transpose()?;
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let stream_type = if acceptor.is_some() { "TlsStream<TcpStream>" } else { "TcpStream" };
    println!(
        "tokio Framed<{stream_type}, LengthDelimitedCodec> echo ({}) on {}",
        options.describe(),
        listener.local_addr()?
    );
    loop {
        let (stream, _) = listener.accept().await?;
        stream.set_nodelay(true)?;
        let work = options.work;
        match &acceptor {
            None => tokio::spawn(echo_framed_working(stream, work)),
            // The handshake in the connection's task, as tokio-rustls's own
            // server example does: the accept loop never waits for one.
            Some(acceptor) => {
                let accept = acceptor.accept(stream);
                tokio::spawn(async move {
                    if let Ok(stream) = accept.await {
                        echo_framed_working(stream, work).await;
                    }
                })
            }
        };
    }
}

/// One connection of the `framed` server, with no work per frame: what
/// `benches/echo.rs` measures.
pub async fn echo_framed(stream: tokio::net::TcpStream) {
    echo_framed_working(stream, None).await
}

/// One connection of the `framed` server: every frame already decoded is
/// fed (after `work` of CPU, if any), then one flush, so a batch of frames
/// costs one write.
pub async fn echo_framed_working<S: AsyncRead + AsyncWrite + Unpin>(stream: S, work: Option<Duration>) {
    let mut framed = Framed::new(stream, LengthDelimitedCodec::new());
    while let Some(Ok(frame)) = framed.next().await {
        if let Some(work) = work {
            spin(work);
        }
        if framed.feed(frame.freeze()).await.is_err() {
            return;
        }
        // Feed whatever else is already decoded, without waiting.
        while let Some(Some(Ok(frame))) = framed.next().now_or_never() {
            if let Some(work) = work {
                spin(work);
            }
            if framed.feed(frame.freeze()).await.is_err() {
                return;
            }
        }
        if SinkExt::<Bytes>::flush(&mut framed).await.is_err() {
            return;
        }
    }
}

/// Bytes in, the same bytes out: tokio's echo example.
async fn raw(addr: SocketAddr, options: Options) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    println!("tokio raw byte echo ({}) on {}", options.describe(), listener.local_addr()?);
    loop {
        let (mut stream, _) = listener.accept().await?;
        stream.set_nodelay(true)?;
        tokio::spawn(async move {
            let mut buf = vec![0u8; 4096];
            loop {
                match stream.read(&mut buf).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => {
                        if stream.write_all(&buf[..n]).await.is_err() {
                            return;
                        }
                    }
                }
            }
        });
    }
}

/// Bytes in, the same bytes out, a blocking thread per connection.
fn blocking(addr: SocketAddr) -> std::io::Result<()> {
    let listener = std::net::TcpListener::bind(addr)?;
    println!("blocking std::net byte echo (a thread per connection) on {}", listener.local_addr()?);
    for stream in listener.incoming() {
        let mut stream = stream?;
        stream.set_nodelay(true)?;
        std::thread::spawn(move || {
            let mut buf = vec![0u8; 4096];
            loop {
                match stream.read(&mut buf) {
                    Ok(0) | Err(_) => return,
                    Ok(n) => {
                        if stream.write_all(&buf[..n]).is_err() {
                            return;
                        }
                    }
                }
            }
        });
    }
    Ok(())
}

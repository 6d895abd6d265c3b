//! Reference echo servers for measurement: the peers `frameloop bench` and
//! the README's performance numbers compare the engine against. Not an
//! example of how to use frameloop.
//!
//! ```text
//! cargo run --release --example tokio_echo -- framed 127.0.0.1:7001
//! cargo run --release --example tokio_echo -- raw    127.0.0.1:7002
//! cargo run --release --example tokio_echo -- std    127.0.0.1:7003
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
//! The byte echoes return frames unchanged, so `frameloop bench --addr`
//! drives all three; `--server-pid` reads their CPU time. Stop with Ctrl-C.

use std::io::{Read, Write};
use std::net::SocketAddr;

use futures::{FutureExt, SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
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
    match kind.as_str() {
        "framed" => current_thread(framed(addr)),
        "raw" => current_thread(raw(addr)),
        "std" => blocking(addr),
        other => {
            eprintln!("unknown server '{other}': framed, raw or std");
            std::process::exit(2);
        }
    }
}

fn current_thread(server: impl std::future::Future<Output = std::io::Result<()>>) -> std::io::Result<()> {
    tokio::runtime::Builder::new_current_thread().enable_io().build()?.block_on(server)
}

/// Frames in, the same frames out, flushed once per batch of frames that
/// were already decoded.
async fn framed(addr: SocketAddr) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    println!("tokio Framed<TcpStream, LengthDelimitedCodec> echo (current-thread) on {}", listener.local_addr()?);
    loop {
        let (stream, _) = listener.accept().await?;
        stream.set_nodelay(true)?;
        tokio::spawn(echo_framed(stream));
    }
}

/// One connection of the `framed` server (also what `benches/echo.rs`
/// measures): every frame already decoded is fed, then one flush, so a
/// batch of frames costs one write.
pub async fn echo_framed(stream: tokio::net::TcpStream) {
    let mut framed = Framed::new(stream, LengthDelimitedCodec::new());
    while let Some(Ok(frame)) = framed.next().await {
        if framed.feed(frame.freeze()).await.is_err() {
            return;
        }
        // Feed whatever else is already decoded, without waiting.
        while let Some(Some(Ok(frame))) = framed.next().now_or_never() {
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
async fn raw(addr: SocketAddr) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    println!("tokio raw byte echo (current-thread) on {}", listener.local_addr()?);
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

//! A blocking connect, for the program's own thread: the facade's clients
//! connect this way so that a refusal or a timeout comes back from the call
//! that asked, then hand the stream to a reactor.

use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use crate::error::Error;

/// Tries each address in turn (`localhost` may name `::1` and
/// `127.0.0.1`), each for at most `timeout`; the error is the last one's,
/// mapped as every connect error of the crate is.
pub(crate) fn connect_blocking(addrs: &[SocketAddr], timeout: Option<Duration>) -> Result<TcpStream, Error> {
    let start = Instant::now();
    let mut last = None;
    for addr in addrs {
        let attempt = match timeout {
            Some(t) => TcpStream::connect_timeout(addr, t.max(Duration::from_millis(1))),
            None => TcpStream::connect(addr),
        };
        match attempt {
            Ok(stream) => return Ok(stream),
            Err(e) => last = Some(Error::from_connect(addr, e, start.elapsed())),
        }
    }
    Err(last
        .unwrap_or_else(|| Error::InvalidAddress { addr: String::new(), reason: "no address to connect to".into() }))
}

//! The one error type of frameloop.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use crate::codec::DecodeError;
use crate::handler::{CloseReason, ConnId};

/// Everything that can go wrong in frameloop, with the cases a beginner
/// wants to tell apart as their own variants.
///
/// Each message says what happened and what to check, so that printing the
/// error is already useful:
///
/// ```
/// use frameloop::{Error, Reactor};
///
/// let mut first = Reactor::builder().build()?;
/// let addr = first.listen("127.0.0.1:0")?;
/// let mut second = Reactor::builder().build()?;
/// match second.listen(addr) {
///     Err(Error::AddrInUse { .. }) => {} // pick another port, or stop the other program
///     other => panic!("expected AddrInUse, got {other:?}"),
/// }
/// # Ok::<(), frameloop::Error>(())
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Another socket already listens on this address (pyspeak's
    /// `ServerExistsError`).
    #[error("address {addr} is already in use: stop the program using it, or pick another port (port 0 lets the system choose)")]
    AddrInUse {
        /// The address asked for.
        addr: String,
    },
    /// The address could not be parsed or resolved, or is not one this
    /// machine has (pyspeak's `ServerIpError`).
    #[error("invalid address {addr}: {reason}; use the form IP:PORT, for example 127.0.0.1:7000")]
    InvalidAddress {
        /// The address asked for.
        addr: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Nothing listens at the address (pyspeak's `ClientConnectError`).
    #[error("connection to {addr} refused: is the server running, and on this port?")]
    ConnectionRefused {
        /// The address connected to.
        addr: String,
    },
    /// The network has no route to the address.
    #[error("{addr} is unreachable: check the IP address and the network")]
    Unreachable {
        /// The address connected to.
        addr: String,
    },
    /// The server did not answer in time.
    #[error(
        "connecting to {addr} timed out after {after:?}: check the address, and that no firewall drops the packets"
    )]
    ConnectTimedOut {
        /// The address connected to.
        addr: String,
        /// How long the attempt lasted.
        after: Duration,
    },
    /// The network thread could not be started (pyspeak's `ServerRunError`
    /// and `ClientRunError`).
    #[error("could not start the network thread: {0}; the system may be out of threads or memory")]
    ThreadSpawn(#[source] io::Error),
    /// A message is larger than the configured maximum.
    #[error("message of {len} bytes is larger than the maximum of {max} bytes: raise the limit with max_frame_len, or send smaller messages")]
    FrameTooLarge {
        /// Its length.
        len: u64,
        /// The maximum.
        max: usize,
    },
    /// The bytes could not be encoded or decoded in the configured format.
    #[error("{0}")]
    Codec(DecodeError),
    /// No connection has this id: it never existed, or closed and was
    /// removed.
    #[error("{0} is not a connection of this reactor (it may have closed already)")]
    UnknownConnection(ConnId),
    /// The connection is closing or closed and takes no more messages.
    #[error("{0} is closed or closing")]
    ConnectionClosed(ConnId),
    /// The peer reads too slowly: its queued output passed the hard cap, and
    /// the connection was closed.
    #[error("{0} was closed: its peer does not read, and its output passed the write buffer's hard cap")]
    SlowConsumer(ConnId),
    /// The reactor or the server has stopped, and takes no more commands.
    #[error("the network thread has stopped")]
    Stopped,
    /// The wait ended before anything arrived.
    #[error("timed out")]
    TimedOut,
    /// A client's connection to its server closed (for this reason); call
    /// `reconnect`, or turn on automatic reconnection.
    #[error("not connected ({0}): reconnect, or check that the server is running")]
    Disconnected(CloseReason),
    /// A callback panicked on the network thread; the server or client
    /// stopped. The text is the panic's message.
    #[error("a callback panicked on the network thread ({0}); the network thread stopped: fix the callback")]
    Panicked(String),
    /// A setting is out of range.
    #[error("invalid setting: {0}")]
    Config(String),
    /// Any other I/O error.
    #[error(transparent)]
    Io(#[from] io::Error),
}

impl From<DecodeError> for Error {
    fn from(e: DecodeError) -> Self {
        match e {
            DecodeError::FrameTooLarge { len, max } => Error::FrameTooLarge { len, max },
            DecodeError::LineTooLong { max } => Error::FrameTooLarge { len: (max as u64).saturating_add(1), max },
            other => Error::Codec(other),
        }
    }
}

impl Error {
    /// Turns the error of a `connect` to `addr` into the variant a beginner
    /// can match on.
    pub(crate) fn from_connect(addr: impl std::fmt::Display, e: io::Error, after: Duration) -> Self {
        let addr = addr.to_string();
        match e.kind() {
            io::ErrorKind::ConnectionRefused => Error::ConnectionRefused { addr },
            io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => Error::ConnectTimedOut { addr, after },
            io::ErrorKind::HostUnreachable | io::ErrorKind::NetworkUnreachable => Error::Unreachable { addr },
            io::ErrorKind::AddrNotAvailable | io::ErrorKind::InvalidInput => {
                Error::InvalidAddress { addr, reason: e.to_string() }
            }
            _ => Error::Io(e),
        }
    }

    /// Turns the error of a `bind` to `addr` into the variant a beginner can
    /// match on.
    pub(crate) fn from_bind(addr: impl std::fmt::Display, e: io::Error) -> Self {
        let addr = addr.to_string();
        match e.kind() {
            io::ErrorKind::AddrInUse => Error::AddrInUse { addr },
            io::ErrorKind::AddrNotAvailable | io::ErrorKind::InvalidInput | io::ErrorKind::PermissionDenied => {
                Error::InvalidAddress { addr, reason: e.to_string() }
            }
            _ => Error::Io(e),
        }
    }
}

/// Resolves `addr` to the first socket address it names.
pub(crate) fn resolve<A: std::net::ToSocketAddrs + std::fmt::Debug>(addr: A) -> Result<SocketAddr, Error> {
    let shown = format!("{addr:?}").trim_matches('"').to_owned();
    match addr.to_socket_addrs() {
        Ok(mut addrs) => {
            addrs.next().ok_or_else(|| Error::InvalidAddress { addr: shown, reason: "it names no address".into() })
        }
        Err(e) => Err(Error::InvalidAddress { addr: shown, reason: e.to_string() }),
    }
}

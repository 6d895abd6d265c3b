//! The one error type of frameloop.

use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::time::Duration;

use crate::addr::Addr;
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
    /// The address is malformed or names no host that can be resolved
    /// (pyspeak's `ServerIpError`): the fix is its form.
    ///
    /// ```
    /// use frameloop::{Error, Reactor};
    ///
    /// let mut reactor = Reactor::new()?;
    /// match reactor.listen("127.0.0.1") {
    ///     Err(e @ Error::InvalidAddress { .. }) => {
    ///         assert!(e.to_string().contains("has no port"), "{e}");
    ///     }
    ///     other => panic!("expected InvalidAddress, got {other:?}"),
    /// }
    /// # Ok::<(), frameloop::Error>(())
    /// ```
    #[error("invalid address {addr}: {reason}; use the form IP:PORT or HOST:PORT, for example 127.0.0.1:7000")]
    InvalidAddress {
        /// The address asked for.
        addr: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The address is well formed but is not one of this machine's, so
    /// nothing can listen on it (EADDRNOTAVAIL): a typo in the IP, an
    /// address of another machine, or an interface that is down.
    ///
    /// ```
    /// use frameloop::{Error, Reactor};
    ///
    /// // 192.0.2.1 (TEST-NET-1, for documentation) belongs to no machine.
    /// // Binding sends nothing on the network.
    /// match Reactor::new()?.listen("192.0.2.1:7000") {
    ///     Err(Error::AddrNotAvailable { .. }) => {} // listen on 0.0.0.0 or 127.0.0.1 instead
    ///     other => panic!("expected AddrNotAvailable, got {other:?}"),
    /// }
    /// # Ok::<(), frameloop::Error>(())
    /// ```
    #[error("address {addr} is not an address of this machine: listen on one of its own IP addresses (`ip addr` lists them), on 0.0.0.0:PORT for all of them, or on 127.0.0.1:PORT for this machine alone")]
    AddrNotAvailable {
        /// The address asked for.
        addr: String,
    },
    /// The port is privileged (EACCES): only root, or a program with the
    /// `CAP_NET_BIND_SERVICE` capability, may listen below
    /// `first_unprivileged` (on Linux the sysctl
    /// `net.ipv4.ip_unprivileged_port_start`, 1024 by default). Pick a port
    /// of `first_unprivileged` or above.
    ///
    /// ```no_run
    /// use frameloop::{Error, Server};
    ///
    /// // Not run as a test: the outcome depends on who runs it.
    /// let builder = match Server::bind("0.0.0.0:80") {
    ///     Err(Error::PrivilegedPort { first_unprivileged, .. }) => {
    ///         eprintln!("port 80 needs root: listening on {first_unprivileged} instead");
    ///         Server::bind(("0.0.0.0", first_unprivileged))?
    ///     }
    ///     other => other?,
    /// };
    /// let server = builder.start_polling()?;
    /// println!("listening on {}", server.local_addr());
    /// # Ok::<(), frameloop::Error>(())
    /// ```
    #[error("cannot listen on {addr}: port {port} is privileged, and only root or a program with the CAP_NET_BIND_SERVICE capability may listen below port {first_unprivileged}: pick a port of {first_unprivileged} or above (port 0 lets the system choose)")]
    PrivilegedPort {
        /// The address asked for.
        addr: String,
        /// Its port.
        port: u16,
        /// The lowest port anyone may listen on.
        first_unprivileged: u16,
    },
    /// The system has no local port left to connect from (EADDRNOTAVAIL on
    /// a connect): its ephemeral ports are all taken, by open connections
    /// or by ones closed recently and still in TIME_WAIT, typically after
    /// many short connections to the same server. The address is fine, so
    /// the fix is fewer connections, not another address; retrying later
    /// can succeed.
    #[error("cannot connect to {addr}: no local port is free to connect from (the system's ephemeral ports are taken by open connections or by ones closed recently, in TIME_WAIT): reuse connections or close some, or wait and retry; on Linux, net.ipv4.ip_local_port_range sets how many there are (on macOS and the BSDs, connecting to 0.0.0.0 also fails this way: connect to 127.0.0.1)")]
    NoLocalPort {
        /// The address connected to.
        addr: String,
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
            // EADDRNOTAVAIL on a connect is about this machine's side: no
            // local port to connect from. Not the address's form.
            io::ErrorKind::AddrNotAvailable => Error::NoLocalPort { addr },
            io::ErrorKind::InvalidInput => Error::InvalidAddress { addr, reason: e.to_string() },
            _ => Error::Io(e),
        }
    }

    /// Turns the error of binding a listener to `addr` into the variant a
    /// beginner can match on. Every bind of the crate (the engine's
    /// `listen`, the facade's `Server::bind`) goes through here. Not logged:
    /// every bind returns its error to the caller, who reports it (a log
    /// record as well would say it twice).
    pub(crate) fn from_bind(addr: &Addr, e: io::Error) -> Self {
        // The sysctl is read only when it matters: on a refused bind.
        let first_unprivileged =
            if e.kind() == io::ErrorKind::PermissionDenied { first_unprivileged_port() } else { PRIVILEGED_BELOW };
        Self::classify_bind(addr, e, first_unprivileged)
    }

    /// The rules of [`from_bind`](Self::from_bind), with the first
    /// unprivileged port given (so that they can be tested anywhere).
    fn classify_bind(addr: &Addr, e: io::Error, first_unprivileged: u16) -> Self {
        // A Unix socket has no port: port 0 is never a privileged one.
        let port = addr.tcp().map_or(0, |a| a.port());
        match e.kind() {
            io::ErrorKind::AddrInUse => Error::AddrInUse { addr: addr.to_string() },
            io::ErrorKind::AddrNotAvailable => Error::AddrNotAvailable { addr: addr.to_string() },
            // EACCES on a port anyone may use is not about the port (a
            // security module, say): the system's own words say more.
            io::ErrorKind::PermissionDenied if port != 0 && port < first_unprivileged => {
                Error::PrivilegedPort { addr: addr.to_string(), port, first_unprivileged }
            }
            // An address std parsed but the system cannot bind as given (a
            // link-local IPv6 address without its scope, say).
            io::ErrorKind::InvalidInput => Error::InvalidAddress { addr: addr.to_string(), reason: e.to_string() },
            _ => Error::Io(e),
        }
    }

    /// A copy of the error for a second reader (the facade hands one to its
    /// error list and one to its event queue). I/O errors keep their kind
    /// and message. Next to the enum, and without a catch-all, so that a new
    /// variant cannot be forgotten here.
    pub(crate) fn duplicate(&self) -> Error {
        fn io_copy(e: &io::Error) -> io::Error {
            io::Error::new(e.kind(), e.to_string())
        }
        match self {
            Error::AddrInUse { addr } => Error::AddrInUse { addr: addr.clone() },
            Error::InvalidAddress { addr, reason } => {
                Error::InvalidAddress { addr: addr.clone(), reason: reason.clone() }
            }
            Error::AddrNotAvailable { addr } => Error::AddrNotAvailable { addr: addr.clone() },
            Error::PrivilegedPort { addr, port, first_unprivileged } => {
                Error::PrivilegedPort { addr: addr.clone(), port: *port, first_unprivileged: *first_unprivileged }
            }
            Error::NoLocalPort { addr } => Error::NoLocalPort { addr: addr.clone() },
            Error::ConnectionRefused { addr } => Error::ConnectionRefused { addr: addr.clone() },
            Error::Unreachable { addr } => Error::Unreachable { addr: addr.clone() },
            Error::ConnectTimedOut { addr, after } => Error::ConnectTimedOut { addr: addr.clone(), after: *after },
            Error::ThreadSpawn(e) => Error::ThreadSpawn(io_copy(e)),
            Error::FrameTooLarge { len, max } => Error::FrameTooLarge { len: *len, max: *max },
            Error::Codec(e) => Error::Codec(*e),
            Error::UnknownConnection(c) => Error::UnknownConnection(*c),
            Error::ConnectionClosed(c) => Error::ConnectionClosed(*c),
            Error::SlowConsumer(c) => Error::SlowConsumer(*c),
            Error::Stopped => Error::Stopped,
            Error::TimedOut => Error::TimedOut,
            Error::Disconnected(r) => Error::Disconnected(r.clone()),
            Error::Panicked(m) => Error::Panicked(m.clone()),
            Error::Config(m) => Error::Config(m.clone()),
            Error::Io(e) => Error::Io(io_copy(e)),
        }
    }
}

/// Ports below this need privileges, unless the system says otherwise.
const PRIVILEGED_BELOW: u16 = 1024;

/// The lowest port an unprivileged program may listen on: Linux makes it a
/// setting (containers often lower it to 0); elsewhere it is 1024.
fn first_unprivileged_port() -> u16 {
    #[cfg(target_os = "linux")]
    if let Some(port) = std::fs::read_to_string("/proc/sys/net/ipv4/ip_unprivileged_port_start")
        .ok()
        .and_then(|s| s.trim().parse().ok())
    {
        return port;
    }
    PRIVILEGED_BELOW
}

/// Whether `e` says the process or the system is out of file descriptors
/// (EMFILE, ENFILE): `io::ErrorKind` has no stable kind for either, so the
/// raw numbers are compared here, the one place that knows them.
pub(crate) fn is_out_of_descriptors(e: &io::Error) -> bool {
    // The same numbers on Linux, the BSDs and macOS; Winsock has its own.
    #[cfg(unix)]
    const OUT_OF_DESCRIPTORS: [i32; 2] = [23 /* ENFILE */, 24 /* EMFILE */];
    #[cfg(windows)]
    const OUT_OF_DESCRIPTORS: [i32; 1] = [10024 /* WSAEMFILE */];
    #[cfg(not(any(unix, windows)))]
    const OUT_OF_DESCRIPTORS: [i32; 0] = [];
    e.raw_os_error().is_some_and(|n| OUT_OF_DESCRIPTORS.contains(&n))
}

/// Resolves `addr` (`"127.0.0.1:7000"`, `"localhost:7000"`, `("::1", 7000)`,
/// a `SocketAddr`) to the first socket address it names, by the rule every
/// address given to frameloop goes through: a program that takes an address
/// from its user can check it, and show the same message, before it binds
/// or connects.
///
/// ```
/// let addr = frameloop::resolve("127.0.0.1:7000")?;
/// assert_eq!(addr.port(), 7000);
/// let e = frameloop::resolve("127.0.0.1").unwrap_err();
/// assert!(e.to_string().contains("has no port"), "{e}");
/// # Ok::<(), frameloop::Error>(())
/// ```
///
/// # Errors
///
/// [`Error::InvalidAddress`]: what is wrong with the form (no port, a port
/// that is no number, an IPv6 address without brackets), or why the host
/// name did not resolve.
pub fn resolve<A: ToSocketAddrs + std::fmt::Debug>(addr: A) -> Result<SocketAddr, Error> {
    lookup(&addr)?.next().ok_or_else(|| names_nothing(&addr))
}

/// Every socket address `addr` names (`localhost` may name `::1` and
/// `127.0.0.1`), in the order the resolver gave them.
pub(crate) fn resolve_all<A: ToSocketAddrs + std::fmt::Debug>(addr: A) -> Result<Vec<SocketAddr>, Error> {
    let addrs: Vec<SocketAddr> = lookup(&addr)?.collect();
    if addrs.is_empty() {
        return Err(names_nothing(&addr));
    }
    Ok(addrs)
}

/// The one resolving rule of the crate: parse or look up `addr`; an error
/// says what is wrong with its form.
fn lookup<A: ToSocketAddrs + std::fmt::Debug>(addr: &A) -> Result<A::Iter, Error> {
    addr.to_socket_addrs().map_err(|e| {
        let shown = shown(addr);
        let reason = form_problem(&shown).unwrap_or_else(|| e.to_string());
        Error::InvalidAddress { addr: shown, reason }
    })
}

fn names_nothing<A: std::fmt::Debug>(addr: &A) -> Error {
    Error::InvalidAddress { addr: shown(addr), reason: "it names no address".into() }
}

/// `addr` as the user wrote it (a string's quotes removed).
fn shown<A: std::fmt::Debug>(addr: &A) -> String {
    format!("{addr:?}").trim_matches('"').to_owned()
}

/// What is wrong with the form of `addr`, when that can be told from the
/// text alone; `None` keeps std's own message (a failed host lookup, say).
fn form_problem(addr: &str) -> Option<String> {
    // A `(host, port)` pair: its port is a number already.
    if addr.starts_with('(') {
        return None;
    }
    match addr.rsplit_once(':') {
        None | Some((_, "")) => Some("it has no port".into()),
        Some(_) if addr.ends_with(']') => Some("it has no port".into()),
        Some((host, _)) if host.contains(':') && !host.ends_with(']') => {
            Some("an IPv6 address goes in brackets, as in [::1]:7000".into())
        }
        Some((_, port)) if port.parse::<u16>().is_err() => {
            Some(format!("the port {port:?} is not a number from 0 to 65535"))
        }
        Some(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(s: &str) -> Addr {
        Addr::Tcp(s.parse().unwrap())
    }

    /// EACCES (13 on Linux, the BSDs and macOS).
    #[cfg(unix)]
    #[test]
    fn eacces_below_the_first_unprivileged_port_is_a_privileged_port() {
        let e = io::Error::from_raw_os_error(13);
        assert_eq!(e.kind(), io::ErrorKind::PermissionDenied);
        let err = Error::classify_bind(&addr("127.0.0.1:80"), e, 1024);
        assert!(
            matches!(&err, Error::PrivilegedPort { port: 80, first_unprivileged: 1024, addr } if addr == "127.0.0.1:80"),
            "{err:?}"
        );
        let text = err.to_string();
        for needed in ["127.0.0.1:80", "privileged", "root", "CAP_NET_BIND_SERVICE", "1024 or above"] {
            assert!(text.contains(needed), "{needed:?} missing from {text:?}");
        }
    }

    #[cfg(unix)]
    #[test]
    fn eacces_on_a_port_anyone_may_use_stays_an_io_error() {
        for a in ["127.0.0.1:8080", "127.0.0.1:0"] {
            let err = Error::classify_bind(&addr(a), io::Error::from_raw_os_error(13), 1024);
            assert!(matches!(&err, Error::Io(e) if e.kind() == io::ErrorKind::PermissionDenied), "{a}: {err:?}");
        }
        // Where the sysctl lowered the start to 0, port 80 is anyone's too.
        let err = Error::classify_bind(&addr("127.0.0.1:80"), io::Error::from_raw_os_error(13), 0);
        assert!(matches!(err, Error::Io(_)), "{err:?}");
    }

    #[test]
    fn each_bind_error_has_its_own_variant() {
        let a = addr("192.0.2.1:7000");
        let err = Error::classify_bind(&a, io::ErrorKind::AddrNotAvailable.into(), 1024);
        assert!(matches!(&err, Error::AddrNotAvailable { addr } if addr == "192.0.2.1:7000"), "{err:?}");
        assert!(err.to_string().contains("not an address of this machine"), "{err}");
        assert!(!err.to_string().contains("IP:PORT, for example"), "not a question of form: {err}");
        let err = Error::classify_bind(&a, io::ErrorKind::AddrInUse.into(), 1024);
        assert!(matches!(err, Error::AddrInUse { .. }), "{err:?}");
        let err = Error::classify_bind(&a, io::ErrorKind::InvalidInput.into(), 1024);
        assert!(matches!(err, Error::InvalidAddress { .. }), "{err:?}");
        let err = Error::classify_bind(&a, io::ErrorKind::OutOfMemory.into(), 1024);
        assert!(matches!(err, Error::Io(_)), "{err:?}");
    }

    /// EADDRNOTAVAIL (99 on Linux; 49 on macOS and the BSDs).
    #[cfg(target_os = "linux")]
    #[test]
    fn eaddrnotavail_on_connect_is_no_local_port_not_a_bad_form() {
        let e = io::Error::from_raw_os_error(99);
        assert_eq!(e.kind(), io::ErrorKind::AddrNotAvailable);
        let err = Error::from_connect("127.0.0.1:7000", e, Duration::ZERO);
        assert!(matches!(&err, Error::NoLocalPort { addr } if addr == "127.0.0.1:7000"), "{err:?}");
        let text = err.to_string();
        for needed in ["127.0.0.1:7000", "no local port", "ephemeral", "TIME_WAIT", "ip_local_port_range"] {
            assert!(text.contains(needed), "{needed:?} missing from {text:?}");
        }
        assert!(!text.contains("use the form"), "not a question of form: {text}");
        assert!(matches!(err.duplicate(), Error::NoLocalPort { .. }));
        // EINVAL is still about the address.
        let err = Error::from_connect("[fe80::1]:7", io::Error::from_raw_os_error(22), Duration::ZERO);
        assert!(matches!(err, Error::InvalidAddress { .. }), "{err:?}");
    }

    #[test]
    fn a_malformed_address_is_told_what_is_wrong_with_its_form() {
        let reason = |a: &str| match resolve(a) {
            Err(Error::InvalidAddress { reason, addr }) => {
                assert_eq!(addr, a);
                reason
            }
            other => panic!("{a}: expected InvalidAddress, got {other:?}"),
        };
        assert!(reason("127.0.0.1").contains("no port"));
        assert!(reason("nonsense:port").contains("\"port\" is not a number"));
        assert!(reason("127.0.0.1:99999").contains("not a number from 0 to 65535"));
        assert!(reason("::1").contains("brackets"));
        assert!(matches!(resolve_all("127.0.0.1"), Err(Error::InvalidAddress { .. })));
        assert_eq!(resolve_all("127.0.0.1:7").unwrap(), vec!["127.0.0.1:7".parse::<SocketAddr>().unwrap()]);
        assert_eq!(resolve(("127.0.0.1", 7)).unwrap(), "127.0.0.1:7".parse::<SocketAddr>().unwrap());
    }

    #[test]
    fn out_of_descriptors_is_emfile_or_enfile() {
        #[cfg(unix)]
        {
            assert!(is_out_of_descriptors(&io::Error::from_raw_os_error(24)));
            assert!(is_out_of_descriptors(&io::Error::from_raw_os_error(23)));
            assert!(!is_out_of_descriptors(&io::Error::from_raw_os_error(13)));
        }
        assert!(!is_out_of_descriptors(&io::Error::other("no number")));
    }

    #[test]
    fn duplicate_keeps_the_variant() {
        let e = Error::PrivilegedPort { addr: "0.0.0.0:80".into(), port: 80, first_unprivileged: 1024 };
        assert!(matches!(e.duplicate(), Error::PrivilegedPort { port: 80, .. }));
        let e = Error::AddrNotAvailable { addr: "192.0.2.1:1".into() };
        assert_eq!(e.duplicate().to_string(), e.to_string());
    }
}

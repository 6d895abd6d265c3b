//! Where a socket is: a TCP address, or the path of a Unix domain socket.
//!
//! Everything that listens or connects (the engine's `listen`/`connect`,
//! `Server::bind`, `Client::connect`, `request`) takes a [`ToAddrs`]: what
//! std's `ToSocketAddrs` takes, and also `"unix:/path"` strings and paths.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::error::{resolve_all, Error};

/// The prefix that makes an address string a Unix socket's path.
pub const UNIX_PREFIX: &str = "unix:";

/// A socket's address: TCP, or a Unix domain socket's path.
///
/// It shows as it is written: `127.0.0.1:7000`, or `unix:/run/app.sock`.
/// A TCP one can be given to std wherever a `ToSocketAddrs` goes:
///
/// ```
/// use frameloop::{Addr, Reactor};
///
/// let mut reactor = Reactor::new()?;
/// let addr: Addr = reactor.listen("127.0.0.1:0")?;
/// assert!(addr.tcp().is_some_and(|a| a.port() != 0));
/// let _peer = std::net::TcpStream::connect(&addr)?; // std takes it as it is
///
/// let unix: Addr = "unix:/tmp/app.sock".parse()?;
/// assert_eq!(unix.unix_path(), Some(std::path::Path::new("/tmp/app.sock")));
/// assert_eq!(unix.to_string(), "unix:/tmp/app.sock");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Addr {
    /// A TCP address.
    Tcp(SocketAddr),
    /// The path of a Unix domain socket (an unnamed one, as a client's
    /// usually is, has an empty path). Shared, so that the events that
    /// carry it cost no allocation.
    Unix(Arc<Path>),
}

impl Addr {
    /// The TCP address, if it is one.
    pub fn tcp(&self) -> Option<SocketAddr> {
        match self {
            Addr::Tcp(a) => Some(*a),
            Addr::Unix(_) => None,
        }
    }

    /// The Unix socket's path, if it is one.
    pub fn unix_path(&self) -> Option<&Path> {
        match self {
            Addr::Unix(p) => Some(p),
            Addr::Tcp(_) => None,
        }
    }
}

impl fmt::Display for Addr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Addr::Tcp(a) => a.fmt(f),
            Addr::Unix(p) => write!(f, "{UNIX_PREFIX}{}", p.display()),
        }
    }
}

impl From<SocketAddr> for Addr {
    fn from(a: SocketAddr) -> Self {
        Addr::Tcp(a)
    }
}

impl PartialEq<SocketAddr> for Addr {
    fn eq(&self, other: &SocketAddr) -> bool {
        self.tcp() == Some(*other)
    }
}

impl std::str::FromStr for Addr {
    type Err = Error;

    /// Parses `unix:/path` or an `IP:PORT` (no host name lookup: use
    /// [`ToAddrs`] for that).
    fn from_str(s: &str) -> Result<Self, Error> {
        match unix_path_of(s) {
            Some(path) => path,
            None => s
                .parse::<SocketAddr>()
                .map(Addr::Tcp)
                .map_err(|e| Error::InvalidAddress { addr: s.to_owned(), reason: e.to_string() }),
        }
    }
}

/// A TCP address goes to std as it is; a Unix one is refused (std's TCP
/// cannot reach it).
impl ToSocketAddrs for Addr {
    type Iter = std::option::IntoIter<SocketAddr>;

    fn to_socket_addrs(&self) -> std::io::Result<Self::Iter> {
        match self {
            Addr::Tcp(a) => Ok(Some(*a).into_iter()),
            Addr::Unix(_) => {
                Err(std::io::Error::new(std::io::ErrorKind::InvalidInput, format!("{self} is not a TCP address")))
            }
        }
    }
}

/// The Unix socket `s` names, if it starts with `unix:`.
fn unix_path_of(s: &str) -> Option<Result<Addr, Error>> {
    let path = s.strip_prefix(UNIX_PREFIX)?;
    Some(if path.is_empty() {
        Err(Error::InvalidAddress { addr: s.to_owned(), reason: "it names no path".into() })
    } else {
        Ok(Addr::Unix(Path::new(path).into()))
    })
}

/// What can name the addresses to listen on or connect to: everything std's
/// `ToSocketAddrs` takes (`"127.0.0.1:7000"`, `"localhost:7000"`, a
/// `SocketAddr`, an `(ip, port)` pair, ...), an [`Addr`], a `"unix:/path"`
/// string, and a `Path` (a Unix socket's).
///
/// ```
/// use frameloop::{Addr, ToAddrs};
///
/// use std::path::Path;
///
/// let unix = Addr::Unix(Path::new("/tmp/a.sock").into());
/// assert_eq!("unix:/tmp/a.sock".to_addrs()?, [unix.clone()]);
/// assert_eq!(Path::new("/tmp/a.sock").to_addrs()?, [unix]);
/// assert_eq!("127.0.0.1:7000".to_addrs()?, [Addr::Tcp("127.0.0.1:7000".parse().unwrap())]);
/// assert!("unix:".to_addrs().is_err());
/// # Ok::<(), frameloop::Error>(())
/// ```
pub trait ToAddrs: fmt::Debug {
    /// Every address this names, in the resolver's order; never empty.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidAddress`]: malformed, or a host that did not resolve.
    fn to_addrs(&self) -> Result<Vec<Addr>, Error>;
}

/// The TCP addresses `addr` resolves to, by the crate's one resolving rule.
fn tcp_addrs<A: ToSocketAddrs + fmt::Debug>(addr: &A) -> Result<Vec<Addr>, Error> {
    Ok(resolve_all(addr)?.into_iter().map(Addr::Tcp).collect())
}

impl ToAddrs for str {
    fn to_addrs(&self) -> Result<Vec<Addr>, Error> {
        match unix_path_of(self) {
            Some(path) => Ok(vec![path?]),
            None => tcp_addrs(&self),
        }
    }
}

impl ToAddrs for String {
    fn to_addrs(&self) -> Result<Vec<Addr>, Error> {
        self.as_str().to_addrs()
    }
}

impl ToAddrs for Addr {
    fn to_addrs(&self) -> Result<Vec<Addr>, Error> {
        Ok(vec![self.clone()])
    }
}

impl ToAddrs for Path {
    fn to_addrs(&self) -> Result<Vec<Addr>, Error> {
        Ok(vec![Addr::Unix(self.into())])
    }
}

impl ToAddrs for PathBuf {
    fn to_addrs(&self) -> Result<Vec<Addr>, Error> {
        self.as_path().to_addrs()
    }
}

impl<T: ToAddrs + ?Sized> ToAddrs for &T {
    fn to_addrs(&self) -> Result<Vec<Addr>, Error> {
        (**self).to_addrs()
    }
}

/// The rest of std's `ToSocketAddrs` types: TCP addresses only.
macro_rules! tcp_to_addrs {
    ($($t:ty),*) => {$(
        impl ToAddrs for $t {
            fn to_addrs(&self) -> Result<Vec<Addr>, Error> {
                tcp_addrs(self)
            }
        }
    )*};
}

tcp_to_addrs!(
    SocketAddr,
    SocketAddrV4,
    SocketAddrV6,
    (IpAddr, u16),
    (Ipv4Addr, u16),
    (Ipv6Addr, u16),
    (&str, u16),
    (String, u16)
);

impl ToAddrs for [SocketAddr] {
    fn to_addrs(&self) -> Result<Vec<Addr>, Error> {
        tcp_addrs(&self)
    }
}

/// The first address `addr` names.
pub(crate) fn first_addr<A: ToAddrs + ?Sized>(addr: &A) -> Result<Addr, Error> {
    // `to_addrs` is never empty when it succeeds.
    addr.to_addrs()?
        .into_iter()
        .next()
        .ok_or_else(|| Error::InvalidAddress { addr: format!("{addr:?}"), reason: "it names no address".into() })
}

/// Who is at the other end of a Unix socket, as the kernel saw it when the
/// peer connected (`SO_PEERCRED`): what a server checks before it trusts a
/// local client.
///
/// ```
/// # #[cfg(target_os = "linux")] {
/// use frameloop::{ConnId, Ctx, Handler, Reactor};
///
/// struct Who(Option<frameloop::PeerCredentials>);
/// impl Handler for Who {
///     fn on_open(&mut self, ctx: &mut Ctx<'_>, conn: ConnId) {
///         self.0 = ctx.peer_credentials(conn).ok();
///         ctx.stop();
///     }
///     fn on_frame(&mut self, _: &mut Ctx<'_>, _: ConnId, _: &[u8]) {}
/// }
///
/// let path = std::env::temp_dir().join(format!("frameloop-doc-{}.sock", std::process::id()));
/// let mut reactor = Reactor::new()?;
/// reactor.listen(path.as_path())?;
/// let _peer = std::os::unix::net::UnixStream::connect(&path)?;
/// let mut who = Who(None);
/// reactor.run(&mut who)?;
/// let me = who.0.expect("credentials of a Unix peer");
/// assert_eq!(me.pid, Some(std::process::id() as i32));
/// # }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeerCredentials {
    /// The peer process's user id.
    pub uid: u32,
    /// The peer process's group id.
    pub gid: u32,
    /// The peer's process id, where the system tells it.
    pub pid: Option<i32>,
}

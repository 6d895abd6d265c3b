//! Binding listeners: TCP with a chosen backlog, and Unix sockets, whose
//! file a server that died may have left behind.

use std::io;
use std::net::SocketAddr;

use mio::net::TcpListener;
use socket2::{Domain, Protocol, SockAddr, Socket, Type};

use super::stream::ListenSocket;
use crate::addr::Addr;
use crate::error::Error;

/// The listen backlog the facade uses (the kernel caps it at
/// `net.core.somaxconn`).
pub(crate) const DEFAULT_BACKLOG: u32 = 1024;

/// How a listener is bound.
#[derive(Debug, Clone, Copy)]
pub(crate) struct BindOptions {
    pub(crate) backlog: u32,
    /// Also `SO_REUSEPORT` (TCP), so that each reactor of a group can have
    /// a listener of its own on the same port and the kernel spreads the
    /// connections over them (see [`Distribution`](crate::Distribution)).
    pub(crate) shared: bool,
    /// The permission bits a Unix socket's file gets (`None`: what the
    /// process's umask leaves).
    pub(crate) unix_mode: Option<u32>,
}

/// A non-blocking listener on `addr`, or the bind error as the crate names
/// it. Every bind of the crate (the engine's `listen`, the facade's
/// `Server::bind`, a group's) goes through here.
pub(crate) fn bind(addr: &Addr, options: BindOptions) -> Result<ListenSocket, Error> {
    match addr {
        Addr::Tcp(a) => bind_tcp(*a, options).map(ListenSocket::Tcp).map_err(|e| Error::from_bind(addr, e)),
        #[cfg(unix)]
        Addr::Unix(path) => unix::bind(path, options),
        #[cfg(not(unix))]
        Addr::Unix(_) => Err(Error::Config("Unix sockets need a Unix system".into())),
    }
}

/// std and mio both listen with a backlog of 128; past it, an accept storm's
/// connects wait a second or more for their SYN to be sent again. Otherwise
/// this is mio's `bind`: `SO_REUSEADDR` (not on Windows, where it would
/// allow hijacking a port in use), close-on-exec, non-blocking.
fn bind_tcp(addr: SocketAddr, options: BindOptions) -> io::Result<TcpListener> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    #[cfg(not(windows))]
    socket.set_reuse_address(true)?;
    #[cfg(all(unix, not(any(target_os = "solaris", target_os = "illumos", target_os = "cygwin"))))]
    if options.shared {
        socket.set_reuse_port(true)?;
    }
    listen(&socket, &addr.into(), options.backlog)?;
    Ok(TcpListener::from_std(socket.into()))
}

/// Binds `socket` to `at` and listens, non-blocking.
fn listen(socket: &Socket, at: &SockAddr, backlog: u32) -> io::Result<()> {
    socket.bind(at)?;
    start_listening(socket, backlog)
}

fn start_listening(socket: &Socket, backlog: u32) -> io::Result<()> {
    socket.listen(i32::try_from(backlog).unwrap_or(i32::MAX))?;
    socket.set_nonblocking(true)
}

#[cfg(unix)]
pub(crate) use unix::set_mode as set_unix_mode;

#[cfg(unix)]
mod unix {
    use std::io;
    use std::os::unix::fs::{FileTypeExt, PermissionsExt};
    use std::path::Path;

    use mio::net::UnixListener;
    use socket2::{Domain, SockAddr, Socket, Type};

    use super::{start_listening, BindOptions};
    use crate::addr::Addr;
    use crate::error::Error;
    use crate::reactor::stream::{ListenSocket, UnixPath};

    /// Binds a Unix socket at `path`. A socket file that nothing answers on
    /// (left by a server that died) is replaced; one that answers is
    /// [`Error::AddrInUse`], and a file that is no socket is never removed.
    pub(super) fn bind(path: &Path, options: BindOptions) -> Result<ListenSocket, Error> {
        let addr = Addr::Unix(path.into());
        let fail = |e: io::Error| Error::from_bind(&addr, e);
        // Absolute: the file is removed at the listener's end, whatever the
        // working directory is by then.
        let path = std::path::absolute(path).map_err(fail)?;
        let at = SockAddr::unix(&path).map_err(fail)?;
        let socket = Socket::new(Domain::UNIX, Type::STREAM, None).map_err(fail)?;
        match socket.bind(&at) {
            Err(e) if e.kind() == io::ErrorKind::AddrInUse && is_stale(&path) => {
                std::fs::remove_file(&path).map_err(fail)?;
                socket.bind(&at).map_err(fail)?;
            }
            other => other.map_err(fail)?,
        }
        // From here on the file is ours: removed when the listener goes,
        // if it is still this one.
        let owned = UnixPath::bound(path.clone()).map_err(fail)?;
        // Before `listen`: no one can connect before the mode is set.
        if let Some(mode) = options.unix_mode {
            set_mode(&path, mode)?;
        }
        start_listening(&socket, options.backlog).map_err(fail)?;
        let std_listener: std::os::unix::net::UnixListener = socket.into();
        Ok(ListenSocket::Unix(UnixListener::from_std(std_listener), owned))
    }

    /// Gives the socket file at `path` the permission bits `mode`.
    pub(crate) fn set_mode(path: &Path, mode: u32) -> Result<(), Error> {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
            .map_err(|e| Error::from_bind(&Addr::Unix(path.into()), e))
    }

    /// Whether `path` is a socket file that no one listens on any more: a
    /// connect to it is refused. Non-blocking, so that a live server whose
    /// backlog is full (the connect would wait) counts as live, at once.
    ///
    /// Two servers starting on one stale path at the same moment can still
    /// both find it stale; the second's bind then replaces the first's
    /// file. Serialising that would need a lock file beside the socket.
    fn is_stale(path: &Path) -> bool {
        let is_socket = std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_socket());
        let refused = || -> io::Result<bool> {
            let probe = Socket::new(Domain::UNIX, Type::STREAM, None)?;
            probe.set_nonblocking(true)?;
            Ok(matches!(probe.connect(&SockAddr::unix(path)?), Err(e) if e.kind() == io::ErrorKind::ConnectionRefused))
        };
        is_socket && refused().unwrap_or(false)
    }
}

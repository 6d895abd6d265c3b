//! TLS over the reactor's sockets (feature `tls`): a [`TlsSession`] per
//! connection, driven from the edge-triggered loop, and the rustls
//! configurations it needs, built from PEM files ([`TlsServerFiles`],
//! [`TlsClientFiles`]).
//!
//! # Plaintext copies, socket to handler
//!
//! rustls 0.23's buffered `Connection` reads ciphertext into its own buffer
//! (`read_tls`), decrypts each record in place there, then copies the
//! record's plaintext into a `Vec` of its own (`take_received_plaintext`,
//! `Payload::into_vec`): that copy cannot be avoided from outside.
//!
//! The reactor cuts messages from that `Vec` itself
//! ([`TlsSession::fill_buf`], one record's plaintext at a time): while the
//! handler runs, the session is lent out of its connection
//! ([`LentSession`]), so that the handler's `&[u8]` can borrow it while the
//! handler changes the connection. The only bytes copied again are those of
//! a message that a record boundary cuts (a message over 16 KiB always is),
//! which the connection's assembler puts together
//! ([`Assembler::next_from`](crate::codec::Assembler::next_from)). The
//! handshake reads on without handing anything out, so even the data that
//! comes in the client's last handshake flight is cut in place.
//!
//! rustls's unbuffered API (`UnbufferedConnectionCommon`) takes ciphertext
//! in the caller's buffer and decrypts it there, but in 0.23 its
//! `ReadTraffic::next_record` still pops the same copied `Vec`: no copy less.
//! Plaintext left in place is rustls 0.24's work in progress.

mod config;
mod error;
mod pem;
mod session;
mod stream;
#[cfg(test)]
mod tests;

pub use config::{TlsClientFiles, TlsServerFiles};
pub use error::{TlsConfigError, TlsFailure};
#[cfg(test)]
pub(crate) use session::{Drained, EndOfStream, TlsSession, DEFAULT_BUFFER_LIMIT};
pub(crate) use stream::{LentSession, TlsStream};

/// What a TLS connection agreed in its handshake, for the handler
/// ([`Ctx::tls`](crate::Ctx::tls)).
///
/// ```
/// use frameloop::tls::{TlsClientFiles, TlsInfo, TlsServerFiles};
/// use frameloop::{CloseReason, ConnId, Ctx, Handler, Reactor};
///
/// /// Keeps what the server's side of the handshake agreed, then stops.
/// struct Agreed {
///     client: ConnId,
///     server_side: Option<TlsInfo>,
/// }
/// impl Handler for Agreed {
///     fn on_open(&mut self, ctx: &mut Ctx<'_>, conn: ConnId) {
///         if conn != self.client {
///             self.server_side = ctx.tls(conn);
///             ctx.stop();
///         }
///     }
///     fn on_frame(&mut self, _: &mut Ctx<'_>, _: ConnId, _: &[u8]) {}
///     fn on_close(&mut self, ctx: &mut Ctx<'_>, _: ConnId, _: CloseReason) {
///         ctx.stop(); // a failed handshake ends the example too
///     }
/// }
///
/// let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/tls");
/// let server_config =
///     TlsServerFiles::new(format!("{dir}/server.pem"), format!("{dir}/server.key")).alpn(["chat/1"]).load()?;
/// let client_config = TlsClientFiles::new(format!("{dir}/ca.pem")).alpn(["chat/1"]).load()?;
/// let mut reactor = Reactor::new()?;
/// let addr = reactor.listen_tls("127.0.0.1:0", server_config)?;
/// let client = reactor.connect_tls(addr, &client_config, "localhost")?;
/// let mut agreed = Agreed { client, server_side: None };
/// reactor.run(&mut agreed)?;
/// let info = agreed.server_side.expect("the handshake completed");
/// assert_eq!(info.server_name.as_deref(), Some("localhost"));
/// assert_eq!(info.alpn_protocol.as_deref(), Some(&b"chat/1"[..]));
/// assert_eq!(info.version, "TLSv1_3");
/// assert!(!info.peer_certificate); // this server asks for no client certificate
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TlsInfo {
    /// The name the client asked for (SNI), on a server; `None` without
    /// SNI (a client that connected by IP address) and on a client.
    pub server_name: Option<String>,
    /// The protocol agreed by ALPN, if the two sides offered any in common.
    pub alpn_protocol: Option<Vec<u8>>,
    /// The TLS version agreed: `"TLSv1_3"` or `"TLSv1_2"`.
    pub version: &'static str,
    /// Whether the peer showed a certificate (one verified against the
    /// configured CA: a server with a client CA refuses the others).
    pub peer_certificate: bool,
}

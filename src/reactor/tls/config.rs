//! rustls configurations built from PEM files: a server's certificate and
//! key (and, for mutual TLS, the CA its clients' certificates must chain
//! to), a client's CA roots (and, optionally, its own certificate).
//!
//! The defaults, and why:
//!
//! - **Crypto: ring, named explicitly.** The `builder_with_provider` calls
//!   below do not rely on rustls's process-wide default provider, which
//!   panics when a program's dependency graph enables both ring and
//!   aws-lc-rs (a dependency of the user's may well enable the latter).
//! - **TLS 1.2 and 1.3**, rustls's safe defaults, with its default cipher
//!   suites (AES-GCM and ChaCha20-Poly1305, ECDHE only, no CBC, no RSA key
//!   exchange) and key exchange groups (X25519, P-256, P-384).
//! - **Resumption, server side: rustls's default**, a stateful in-memory
//!   cache of 256 sessions per configuration: bounded memory, and no ticket
//!   keys to generate, rotate and share between reactors. No stateless
//!   `ticketer`: that would need a key rotation policy, and a ticket key
//!   shared by every reactor of a group is a key to steal. TLS 1.3 clients
//!   get the default two tickets (ids into that cache) per handshake.
//! - **No 0-RTT** (`max_early_data_size` stays 0): early data can be
//!   replayed, and a message protocol cannot tell.
//! - **Bounded handshakes**: rustls refuses a handshake message over 64 KiB
//!   and buffers at most one TLS record (16 KiB and its header) otherwise,
//!   so a peer cannot make a handshake allocate without bound; the session
//!   bounds its output buffer too (`DEFAULT_BUFFER_LIMIT`, set on every session).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::crypto::CryptoProvider;
use rustls::server::WebPkiClientVerifier;
use rustls::{ClientConfig, Error as RustlsError, InconsistentKeys, ServerConfig};

use super::error::TlsConfigError;
use super::pem;

/// ring, the one provider this crate builds with (see Cargo.toml).
pub(crate) fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// What a TLS server needs, as files:
///
/// ```
/// use frameloop::tls::TlsServerFiles;
///
/// let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/tls");
/// let config = TlsServerFiles::new(format!("{dir}/server.pem"), format!("{dir}/server.key"))
///     .client_ca(format!("{dir}/ca.pem")) // mutual TLS: clients must show a certificate
///     .alpn(["myproto/1"])
///     .load()?;
/// assert_eq!(config.alpn_protocols, [b"myproto/1".to_vec()]);
/// // A missing file is named in the error.
/// let e = TlsServerFiles::new("nowhere.pem", "nowhere.key").load().unwrap_err();
/// assert!(e.to_string().contains("nowhere.pem"), "{e}");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct TlsServerFiles {
    cert_chain: PathBuf,
    private_key: PathBuf,
    client_ca: Option<PathBuf>,
    alpn: Vec<Vec<u8>>,
}

impl TlsServerFiles {
    /// The server's certificate chain (its own certificate first, then the
    /// intermediates, PEM) and its private key (PEM: PKCS#8, PKCS#1 or SEC1).
    pub fn new(cert_chain: impl Into<PathBuf>, private_key: impl Into<PathBuf>) -> Self {
        TlsServerFiles {
            cert_chain: cert_chain.into(),
            private_key: private_key.into(),
            client_ca: None,
            alpn: Vec::new(),
        }
    }

    /// Mutual TLS: every client must present a certificate that chains to a
    /// CA of this PEM file; one without, or with another, is refused in the
    /// handshake.
    pub fn client_ca(mut self, path: impl Into<PathBuf>) -> Self {
        self.client_ca = Some(path.into());
        self
    }

    /// The ALPN protocols offered, most preferred first. With a list, a
    /// client that offers ALPN but none of these is refused (RFC 7301); one
    /// that offers no ALPN at all is served.
    pub fn alpn<P: Into<Vec<u8>>>(mut self, protocols: impl IntoIterator<Item = P>) -> Self {
        self.alpn = protocols.into_iter().map(Into::into).collect();
        self
    }

    /// Reads the files and builds the configuration, to share (it is an
    /// `Arc`) between every session of a listener.
    ///
    /// # Errors
    ///
    /// A [`TlsConfigError`] naming the file: missing or unreadable, not PEM,
    /// no certificate in it, no key in it, a key that does not match the
    /// certificate, a CA webpki cannot use.
    pub fn load(&self) -> Result<Arc<ServerConfig>, TlsConfigError> {
        let chain = pem::certificates(&self.cert_chain)?;
        let key = pem::private_key(&self.private_key)?;
        let provider = provider();
        let builder = ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| TlsConfigError::unusable(&self.cert_chain, e))?;
        let builder = match &self.client_ca {
            None => builder.with_no_client_auth(),
            Some(ca) => {
                let roots = Arc::new(pem::roots(ca)?);
                // Authentication is required by default: no `allow_unauthenticated`.
                let verifier = WebPkiClientVerifier::builder_with_provider(roots, provider)
                    .build()
                    .map_err(|e| TlsConfigError::unusable(ca, e))?;
                builder.with_client_cert_verifier(verifier)
            }
        };
        let mut config =
            builder.with_single_cert(chain, key).map_err(|e| key_error(e, &self.cert_chain, &self.private_key))?;
        config.alpn_protocols = self.alpn.clone();
        Ok(Arc::new(config))
    }
}

/// What a TLS client needs, as files:
///
/// ```
/// use frameloop::tls::TlsClientFiles;
///
/// let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/tls");
/// let config = TlsClientFiles::new(format!("{dir}/ca.pem"))
///     .client_cert(format!("{dir}/client.pem"), format!("{dir}/client.key")) // for a server that asks
///     .alpn(["myproto/1"])
///     .load()?;
/// assert!(config.client_auth_cert_resolver.has_certs());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct TlsClientFiles {
    ca: PathBuf,
    client_cert: Option<(PathBuf, PathBuf)>,
    alpn: Vec<Vec<u8>>,
}

impl TlsClientFiles {
    /// The CA roots the server's certificate must chain to (PEM, one or
    /// more certificates). The system's roots are not read: a frameloop
    /// client talks to servers whose CA its operator names.
    pub fn new(ca: impl Into<PathBuf>) -> Self {
        TlsClientFiles { ca: ca.into(), client_cert: None, alpn: Vec::new() }
    }

    /// A certificate chain and its key, shown to a server that asks for one
    /// (mutual TLS).
    pub fn client_cert(mut self, cert_chain: impl Into<PathBuf>, private_key: impl Into<PathBuf>) -> Self {
        self.client_cert = Some((cert_chain.into(), private_key.into()));
        self
    }

    /// The ALPN protocols offered, most preferred first.
    pub fn alpn<P: Into<Vec<u8>>>(mut self, protocols: impl IntoIterator<Item = P>) -> Self {
        self.alpn = protocols.into_iter().map(Into::into).collect();
        self
    }

    /// Reads the files and builds the configuration, to share between every
    /// session of a client.
    ///
    /// # Errors
    ///
    /// As [`TlsServerFiles::load`].
    pub fn load(&self) -> Result<Arc<ClientConfig>, TlsConfigError> {
        let roots = pem::roots(&self.ca)?;
        let builder = ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| TlsConfigError::unusable(&self.ca, e))?
            .with_root_certificates(roots);
        let mut config = match &self.client_cert {
            None => builder.with_no_client_auth(),
            Some((cert, key)) => {
                let chain = pem::certificates(cert)?;
                let der = pem::private_key(key)?;
                builder.with_client_auth_cert(chain, der).map_err(|e| key_error(e, cert, key))?
            }
        };
        config.alpn_protocols = self.alpn.clone();
        Ok(Arc::new(config))
    }
}

/// rustls's refusal of a certificate and key pair, told as which file.
fn key_error(e: RustlsError, cert: &Path, key: &Path) -> TlsConfigError {
    match e {
        RustlsError::InconsistentKeys(InconsistentKeys::KeyMismatch) => {
            TlsConfigError::KeyMismatch { cert: cert.to_owned(), key: key.to_owned() }
        }
        // Anything else at this step is the key's: one ring cannot parse or
        // sign with.
        other => TlsConfigError::unusable(key, other),
    }
}

//! What can go wrong loading TLS files, and what a failed session says.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

/// A certificate, key or CA file could not be used. Every variant names the
/// file, so that printing the error tells the operator which one to fix.
///
/// Not a variant of [`crate::Error`] yet, as that file is not this layer's
/// to change; until it gets one, `From` below turns it into
/// [`Error::Config`](crate::Error::Config) with the same text.
///
/// ```
/// use std::path::Path;
/// use frameloop::tls::{TlsConfigError, TlsServerFiles};
///
/// let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/tls");
/// // A key of another certificate than the one it is paired with.
/// match TlsServerFiles::new(format!("{dir}/server.pem"), format!("{dir}/client.key")).load() {
///     Err(TlsConfigError::KeyMismatch { cert, key }) => {
///         assert!(cert.ends_with("server.pem") && key.ends_with("client.key"));
///     }
///     other => panic!("{other:?}"),
/// }
/// // A file that is not there; as a frameloop::Error it says the same.
/// let missing = TlsServerFiles::new("missing.pem", "missing.key").load().unwrap_err();
/// assert!(matches!(&missing, TlsConfigError::Read { path, .. } if path == Path::new("missing.pem")));
/// let text = missing.to_string();
/// assert!(matches!(frameloop::Error::from(missing), frameloop::Error::Config(said) if said == text));
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsConfigError {
    /// The file could not be read (missing, not readable, a directory).
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// The file is not well-formed PEM.
    #[error("{} is not valid PEM: {reason}", path.display())]
    BadPem {
        /// The file.
        path: PathBuf,
        /// What the PEM parser said.
        reason: String,
    },
    /// The file has no `CERTIFICATE` section.
    #[error("no certificate found in {} (expected a PEM \"BEGIN CERTIFICATE\" section)", path.display())]
    NoCertificate {
        /// The file.
        path: PathBuf,
    },
    /// The file has no private key section of a kind rustls reads.
    #[error("no private key found in {} (expected a PEM PKCS#8 \"PRIVATE KEY\", PKCS#1 \"RSA PRIVATE KEY\" or SEC1 \"EC PRIVATE KEY\" section)", path.display())]
    NoKey {
        /// The file.
        path: PathBuf,
    },
    /// The key is not the one the certificate was issued for.
    #[error("the private key in {} does not match the certificate in {}", key.display(), cert.display())]
    KeyMismatch {
        /// The certificate chain file.
        cert: PathBuf,
        /// The key file.
        key: PathBuf,
    },
    /// The key or a certificate was read but cannot be used (an unsupported
    /// algorithm, a CA certificate webpki rejects).
    #[error("{} cannot be used: {reason}", path.display())]
    Unusable {
        /// The file.
        path: PathBuf,
        /// What rustls or webpki said.
        reason: String,
    },
}

impl TlsConfigError {
    pub(super) fn read(path: &Path, source: io::Error) -> Self {
        TlsConfigError::Read { path: path.to_owned(), source }
    }

    pub(super) fn bad_pem(path: &Path, e: impl fmt::Display) -> Self {
        TlsConfigError::BadPem { path: path.to_owned(), reason: e.to_string() }
    }

    pub(super) fn unusable(path: &Path, e: impl fmt::Display) -> Self {
        TlsConfigError::Unusable { path: path.to_owned(), reason: e.to_string() }
    }
}

/// Until [`crate::Error`] has a variant of its own for TLS files (`Tls`,
/// holding this error, is the one proposed), a bad file is a bad setting.
impl From<TlsConfigError> for crate::Error {
    fn from(e: TlsConfigError) -> Self {
        crate::Error::Config(e.to_string())
    }
}

/// The error a [`TlsSession`](super::TlsSession) gives, inside an
/// `io::Error` of kind `InvalidData`, when rustls refuses what the peer sent
/// (or the peer's alert says it refused us). `io::Error::get_ref` and a
/// downcast to this type reach the [`rustls::Error`], for a reactor that
/// wants to tell a bad certificate from a protocol error.
#[derive(Debug)]
pub struct TlsFailure {
    /// Whether the handshake was still going on: a refused handshake (a
    /// port scanner, a plain-TCP client, an untrusted certificate) is a
    /// different story in an operator's log from a session broken later.
    pub during_handshake: bool,
    /// What rustls said.
    pub error: rustls::Error,
}

impl fmt::Display for TlsFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.during_handshake {
            write!(f, "TLS handshake failed: {}", self.error)
        } else {
            write!(f, "TLS session failed: {}", self.error)
        }
    }
}

impl std::error::Error for TlsFailure {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.error)
    }
}

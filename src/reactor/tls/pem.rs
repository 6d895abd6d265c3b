//! Certificates, keys and CA roots read from PEM files, with errors that
//! name the file.
//!
//! Through rustls's own `pki_types::pem::PemObject`, not the rustls-pemfile
//! crate: the same parser, without a dependency more. Each file is read
//! whole first, so that a missing file and a malformed one are told apart.

use std::path::Path;

use rustls::pki_types::pem::{self, PemObject};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::RootCertStore;

use super::error::TlsConfigError;

fn read(path: &Path) -> Result<Vec<u8>, TlsConfigError> {
    std::fs::read(path).map_err(|e| TlsConfigError::read(path, e))
}

/// Every certificate of the file, in its order (a chain: the end entity
/// first, then the CAs that issued it).
pub(super) fn certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsConfigError> {
    let text = read(path)?;
    let certs = CertificateDer::pem_slice_iter(&text)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TlsConfigError::bad_pem(path, e))?;
    if certs.is_empty() {
        return Err(TlsConfigError::NoCertificate { path: path.to_owned() });
    }
    Ok(certs)
}

/// The first private key of the file, PKCS#8, PKCS#1 or SEC1 (ring signs
/// with all three); other sections (a certificate kept beside it) are
/// skipped.
pub(super) fn private_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsConfigError> {
    let text = read(path)?;
    match PrivateKeyDer::from_pem_slice(&text) {
        Ok(key) => Ok(key),
        Err(pem::Error::NoItemsFound) => Err(TlsConfigError::NoKey { path: path.to_owned() }),
        Err(e) => Err(TlsConfigError::bad_pem(path, e)),
    }
}

/// The CA roots of the file, as a store webpki verifies against. A
/// certificate webpki cannot use as a root is an error, not skipped: a
/// trust file that silently trusts less than it says is worse than none.
pub(super) fn roots(path: &Path) -> Result<RootCertStore, TlsConfigError> {
    let mut store = RootCertStore::empty();
    for cert in certificates(path)? {
        store.add(cert).map_err(|e| TlsConfigError::unusable(path, e))?;
    }
    Ok(store)
}

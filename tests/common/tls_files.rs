//! The test certificates of `tests/tls/` (see `make-certs.sh` there): a CA,
//! a server certificate for `localhost` and 127.0.0.1, a client certificate,
//! and another CA with a client of its own.

use frameloop::tls::{TlsClientFiles, TlsServerFiles};

/// The path of a file of `tests/tls/`.
pub fn file(name: &str) -> String {
    format!("{}/tests/tls/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// The server's certificate and key.
pub fn server_files() -> TlsServerFiles {
    TlsServerFiles::new(file("server.pem"), file("server.key"))
}

/// A client that trusts the test CA, with no certificate of its own.
pub fn client_files() -> TlsClientFiles {
    TlsClientFiles::new(file("ca.pem"))
}

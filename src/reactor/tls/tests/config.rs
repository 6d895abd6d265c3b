//! Loading configurations from files, and what a bad file is told as.

use super::super::{TlsClientFiles, TlsConfigError, TlsServerFiles};
use super::cert;

#[test]
fn the_three_key_encodings_load() {
    // PKCS#8 (server.key), SEC1 (client.key), PKCS#1 (other-client.key).
    for (chain, key) in
        [("server.pem", "server.key"), ("client.pem", "client.key"), ("other-client.pem", "other-client.key")]
    {
        TlsServerFiles::new(cert(chain), cert(key)).load().unwrap_or_else(|e| panic!("{key}: {e}"));
        TlsClientFiles::new(cert("ca.pem")).client_cert(cert(chain), cert(key)).load().unwrap();
    }
    TlsServerFiles::new(cert("server.pem"), cert("server.key")).client_ca(cert("ca.pem")).load().unwrap();
}

#[test]
fn a_missing_file_is_named() {
    let e = TlsServerFiles::new(cert("nonesuch.pem"), cert("server.key")).load().unwrap_err();
    assert!(matches!(&e, TlsConfigError::Read { path, .. } if path.ends_with("nonesuch.pem")), "{e:?}");
    let text = e.to_string();
    assert!(text.contains("nonesuch.pem") && text.contains("cannot read"), "{text}");

    let e = TlsClientFiles::new(cert("no-ca.pem")).load().unwrap_err();
    assert!(e.to_string().contains("no-ca.pem"), "{e}");
}

#[test]
fn a_file_without_a_certificate_is_named() {
    // A key file given as the chain.
    let e = TlsServerFiles::new(cert("server.key"), cert("server.key")).load().unwrap_err();
    assert!(matches!(&e, TlsConfigError::NoCertificate { path } if path.ends_with("server.key")), "{e:?}");
    assert!(e.to_string().contains("no certificate found in"), "{e}");
    // And as a CA file.
    let e = TlsServerFiles::new(cert("server.pem"), cert("server.key")).client_ca(cert("ca.key")).load().unwrap_err();
    assert!(matches!(&e, TlsConfigError::NoCertificate { path } if path.ends_with("ca.key")), "{e:?}");
}

#[test]
fn a_file_without_a_key_is_named() {
    let e = TlsServerFiles::new(cert("server.pem"), cert("server.pem")).load().unwrap_err();
    assert!(matches!(&e, TlsConfigError::NoKey { path } if path.ends_with("server.pem")), "{e:?}");
    assert!(e.to_string().contains("no private key found in"), "{e}");
}

#[test]
fn a_key_of_another_certificate_is_a_mismatch() {
    let e = TlsServerFiles::new(cert("server.pem"), cert("client.key")).load().unwrap_err();
    assert!(matches!(&e, TlsConfigError::KeyMismatch { .. }), "{e:?}");
    let text = e.to_string();
    assert!(text.contains("client.key") && text.contains("server.pem") && text.contains("does not match"), "{text}");
    let e = TlsClientFiles::new(cert("ca.pem")).client_cert(cert("client.pem"), cert("other-client.key")).load();
    assert!(matches!(e, Err(TlsConfigError::KeyMismatch { .. })), "{e:?}");
}

#[test]
fn broken_pem_is_named() {
    let dir = std::env::temp_dir().join(format!("frameloop-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let broken = dir.join("broken.pem");
    std::fs::write(&broken, "-----BEGIN CERTIFICATE-----\nMIIB\n").unwrap();
    let e = TlsServerFiles::new(&broken, cert("server.key")).load().unwrap_err();
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(matches!(&e, TlsConfigError::BadPem { .. }), "{e:?}");
    assert!(e.to_string().contains("broken.pem"), "{e}");
}

#[test]
fn a_config_error_becomes_the_crate_error_with_its_text() {
    let e = TlsServerFiles::new(cert("nonesuch.pem"), cert("server.key")).load().unwrap_err();
    let text = e.to_string();
    let crate_error: crate::Error = e.into();
    assert!(matches!(&crate_error, crate::Error::Config(m) if *m == text), "{crate_error:?}");
}

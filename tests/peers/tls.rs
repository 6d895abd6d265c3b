//! TLS with peers on other TLS stacks: `openssl s_client` against a lines
//! server, Python's `ssl` module against `frameloop echo --tls-cert` for
//! frames, and against `--tls-client-ca` for mutual TLS, with and without a
//! client certificate.

use frameloop::tls::TlsServerFiles;
use frameloop::{ConnId, Error, Message, Server, ServerCtx, ServerHandler};

use crate::{run, Case, EchoProcess, Peer};

const OPENSSL: Peer = Peer { program: "openssl", package: "openssl" };
const PYTHON: Peer = Peer { program: "python3", package: "python3" };

const CERTS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/tls");

pub const CASES: &[Case] = &[
    Case {
        name: "tls::openssl_s_client_talks_lines_to_a_tls_server",
        needs: &[OPENSSL],
        run: openssl_s_client_talks_lines_to_a_tls_server,
    },
    Case {
        name: "tls::a_python_ssl_client_gets_its_frames_back_from_frameloop_echo_tls",
        needs: &[PYTHON],
        run: a_python_ssl_client_gets_its_frames_back_from_frameloop_echo_tls,
    },
    Case {
        name: "tls::frameloop_echo_with_a_client_ca_refuses_a_python_client_without_a_certificate",
        needs: &[PYTHON],
        run: frameloop_echo_with_a_client_ca_refuses_a_python_client_without_a_certificate,
    },
];

/// Answers each line in capitals; after `bye`, closes (with close_notify).
struct Shout;
impl ServerHandler for Shout {
    fn on_receive(&mut self, server: &mut ServerCtx<'_>, client: ConnId, msg: Message<'_>) -> Result<(), Error> {
        server.send(client, msg.bytes().to_ascii_uppercase())?;
        if msg.bytes() == b"bye" {
            server.disconnect(client)?;
        }
        Ok(())
    }
}

fn openssl_s_client_talks_lines_to_a_tls_server() {
    let files = TlsServerFiles::new(format!("{CERTS}/server.pem"), format!("{CERTS}/server.key"));
    let server = Server::bind("127.0.0.1:0").unwrap().tls(files).unwrap().lines().start(Shout).unwrap();
    let target = server.local_addr().to_string();
    let ca = format!("{CERTS}/ca.pem");
    // -quiet keeps the connection open after the input ends (-ign_eof): the
    // server's close after `bye` ends it. -verify_return_error: a
    // certificate it does not trust fails the run.
    let args =
        ["s_client", "-quiet", "-connect", &target, "-servername", "localhost", "-CAfile", &ca, "-verify_return_error"];
    let out = run_allowing_stderr("openssl", &args, "hello\nover tls\r\nbye\n");
    assert_eq!(out, "HELLO\nOVER TLS\nBYE\n");
}

/// `run`, for a program that reports on its standard error even when all
/// goes well (`openssl s_client` prints the certificate it verified).
fn run_allowing_stderr(program: &str, args: &[&str], input: &str) -> String {
    let shell_args: Vec<String> = args.iter().map(|a| format!("'{a}'")).collect();
    let script = format!("{program} {} 2>/dev/null", shell_args.join(" "));
    run("sh", &["-c", &script], input)
}

/// Sends frames over TLS (the last of 1 MiB) and checks each echo; with an
/// argument `refused`, expects the server to refuse it instead. Arguments:
/// port, CA file, then optionally `cert key` or `refused`.
const PYTHON_TLS_CLIENT: &str = r#"
import socket, ssl, struct, sys

port, ca = int(sys.argv[1]), sys.argv[2]
ctx = ssl.create_default_context(cafile=ca)
refused = sys.argv[3:] == ["refused"]
if len(sys.argv) == 5:
    ctx.load_cert_chain(sys.argv[3], sys.argv[4])
raw = socket.create_connection(("127.0.0.1", port), timeout=10)
sock = ctx.wrap_socket(raw, server_hostname="localhost")

def recv_exactly(n):
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise EOFError("closed early")
        data += chunk
    return data

try:
    for payload in [b"hello", b"", bytes(range(256)) * 4096]:
        sock.sendall(struct.pack(">I", len(payload)) + payload)
        (n,) = struct.unpack(">I", recv_exactly(4))
        assert recv_exactly(n) == payload, "echo differs"
    print("refused: no" if refused else "echoed 3 over " + sock.version())
except (ssl.SSLError, EOFError, ConnectionError) as e:
    print("refused: yes" if refused else "failed: %r" % e)
"#;

/// `frameloop echo --tls-cert ... ARGS 127.0.0.1:0`.
fn echo_tls(more: &[&str]) -> EchoProcess {
    let (cert, key) = (format!("{CERTS}/server.pem"), format!("{CERTS}/server.key"));
    let args = [&["--tls-cert", cert.as_str(), "--tls-key", key.as_str()], more, &["127.0.0.1:0"]].concat();
    let echo = EchoProcess::start(&args);
    assert!(echo.banner.contains("over"), "{}", echo.banner);
    echo
}

fn a_python_ssl_client_gets_its_frames_back_from_frameloop_echo_tls() {
    let echo = echo_tls(&[]);
    let out = run("python3", &["-c", PYTHON_TLS_CLIENT, &echo.port().to_string(), &format!("{CERTS}/ca.pem")], "");
    assert_eq!(out, "echoed 3 over TLSv1.3\n");
}

fn frameloop_echo_with_a_client_ca_refuses_a_python_client_without_a_certificate() {
    let echo = echo_tls(&["--tls-client-ca", &format!("{CERTS}/ca.pem")]);
    let (port, ca) = (echo.port().to_string(), format!("{CERTS}/ca.pem"));
    let (cert, key) = (format!("{CERTS}/client.pem"), format!("{CERTS}/client.key"));
    let out = run("python3", &["-c", PYTHON_TLS_CLIENT, &port, &ca, &cert, &key], "");
    assert_eq!(out, "echoed 3 over TLSv1.3\n");
    let out = run("python3", &["-c", PYTHON_TLS_CLIENT, &port, &ca, "refused"], "");
    assert_eq!(out, "refused: yes\n");
}

//! Raw-bytes servers driven by real Python programs written the way the
//! simplesockets and tcp-client-serv seeds write their clients: a plain
//! socket, `sendall(b"...")`, `recv(2048)`, no framing of any kind.

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};

use frameloop::{ReplyMode, Server};

use crate::common::PATIENCE;
use crate::{run, running, Case, Peer};

const PYTHON: Peer = Peer { program: "python3", package: "python3" };

pub const CASES: &[Case] = &[
    Case {
        name: "raw_python::a_simplesockets_client_gets_its_bytes_back_from_frameloop_echo_raw",
        needs: &[PYTHON],
        run: a_simplesockets_client_gets_its_bytes_back_from_frameloop_echo_raw,
    },
    Case {
        name: "raw_python::a_simplesockets_client_gets_its_bytes_back_from_a_raw_server",
        needs: &[PYTHON],
        run: a_simplesockets_client_gets_its_bytes_back_from_a_raw_server,
    },
    Case {
        name: "raw_python::a_tcp_client_serv_client_gets_the_reply_of_a_raw_reply_server",
        needs: &[PYTHON],
        run: a_tcp_client_serv_client_gets_the_reply_of_a_raw_reply_server,
    },
];

/// simplesockets' `TCPClient` stripped to its socket calls: `send_data`
/// is `sendall`, each received element one `recv(2048)`. It sends `Test`
/// and prints the one reply it gets, as the seed's example does; then it
/// sends 200 KB and reads with `recv(2048)` until all of it is back, the
/// way a program that keeps receiving does. Arguments: the port.
const SIMPLESOCKETS_CLIENT: &str = r#"
import socket, sys

sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
sock.settimeout(10)
sock.connect(("127.0.0.1", int(sys.argv[1])))
sock.sendall(b"Test")
print(sock.recv(2048).decode())

big = bytes(range(256)) * 800
sock.sendall(big)
back = b""
while len(back) < len(big):
    data = sock.recv(2048)
    if not data:
        break
    back += data
print("echoed" if back == big else "differs: %d of %d bytes" % (len(back), len(big)))
sock.close()
"#;

/// tcp-client-serv's `Client.open()`: connect, send the request, receive the
/// reply until the server closes, print it. Arguments: the port.
const TCP_CLIENT_SERV_CLIENT: &str = r#"
import socket, sys

sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
sock.settimeout(10)
sock.connect(("127.0.0.1", int(sys.argv[1])))
sock.sendall("Hello Server!".encode())
reply = b""
while True:
    data = sock.recv(2048)
    if not data:
        break
    reply += data
print("Response: ", reply.decode())
sock.close()
"#;

/// `frameloop echo --raw` as a child process, killed when dropped.
struct EchoRaw {
    child: Child,
    addr: SocketAddr,
}

impl EchoRaw {
    fn start() -> EchoRaw {
        // Started and registered under the lock, so that the end of the run
        // finds it if this case is given up on.
        let mut running = running();
        let mut child = Command::new(env!("CARGO_BIN_EXE_frameloop"))
            .args(["echo", "--raw", "127.0.0.1:0"])
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start frameloop echo --raw");
        running.push(child.id());
        drop(running);
        let rx = crate::common::lines_of(child.stdout.take().expect("stdout"));
        let mut server = EchoRaw { child, addr: SocketAddr::from(([127, 0, 0, 1], 0)) };
        let banner = rx.recv_timeout(PATIENCE).expect("frameloop echo --raw printed no banner");
        assert!(banner.contains("raw bytes"), "{banner}");
        server.addr = banner
            .split_whitespace()
            .find_map(|w| w.trim_end_matches(',').parse().ok())
            .unwrap_or_else(|| panic!("no address in {banner:?}"));
        server
    }
}

impl Drop for EchoRaw {
    fn drop(&mut self) {
        let mut running = running();
        let _ = self.child.kill();
        let _ = self.child.wait();
        let id = self.child.id();
        running.retain(|&r| r != id);
    }
}

fn a_simplesockets_client_gets_its_bytes_back_from_frameloop_echo_raw() {
    let server = EchoRaw::start();
    let out = run("python3", &["-c", SIMPLESOCKETS_CLIENT, &server.addr.port().to_string()], "");
    assert_eq!(out, "Test\nechoed\n");
}

fn a_simplesockets_client_gets_its_bytes_back_from_a_raw_server() {
    let server =
        Server::bind("127.0.0.1:0").unwrap().raw().reply(ReplyMode::Concurrent, |chunk: &[u8]| chunk.to_vec()).unwrap();
    let out = run("python3", &["-c", SIMPLESOCKETS_CLIENT, &server.local_addr().tcp().unwrap().port().to_string()], "");
    assert_eq!(out, "Test\nechoed\n");
}

fn a_tcp_client_serv_client_gets_the_reply_of_a_raw_reply_server() {
    // tcp-client-serv's IterativeServer: one client at a time, one reply
    // each, then the connection closes.
    let server = Server::bind("127.0.0.1:0")
        .unwrap()
        .raw()
        .reply(ReplyMode::OneAtATime, |request: &[u8]| format!("Hello Client! You sent {} bytes", request.len()))
        .unwrap();
    let port = server.local_addr().tcp().unwrap().port().to_string();
    for _ in 0..2 {
        let out = run("python3", &["-c", TCP_CLIENT_SERV_CLIENT, &port], "");
        assert_eq!(out, "Response:  Hello Client! You sent 13 bytes\n");
    }
}

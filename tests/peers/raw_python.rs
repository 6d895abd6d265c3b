//! Raw-bytes servers driven by real Python programs written the way the
//! simplesockets and tcp-client-serv seeds write their clients: a plain
//! socket, `sendall(b"...")`, `recv(2048)`, no framing of any kind.

use frameloop::{ReplyMode, Server};

use crate::{run, Case, EchoProcess, Peer};

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

fn a_simplesockets_client_gets_its_bytes_back_from_frameloop_echo_raw() {
    let server = EchoProcess::start(&["--raw", "127.0.0.1:0"]);
    assert!(server.banner.contains("raw bytes"), "{}", server.banner);
    let out = run("python3", &["-c", SIMPLESOCKETS_CLIENT, &server.port().to_string()], "");
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

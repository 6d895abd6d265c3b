//! `frameloop echo` on a Unix socket, driven by programs no one here wrote:
//! OpenBSD `nc -U` and `socat` for lines, Python's `socket` module with
//! `AF_UNIX` for frames.

use std::path::PathBuf;

use crate::{run, Case, EchoProcess, Peer};

const NC: Peer = Peer { program: "nc", package: "netcat-openbsd" };
const SOCAT: Peer = Peer { program: "socat", package: "socat" };
const PYTHON: Peer = Peer { program: "python3", package: "python3" };

pub const CASES: &[Case] = &[
    Case { name: "unix::nc_u_gets_its_lines_back_from_frameloop_echo_lines", needs: &[NC], run: nc_u_gets_lines_back },
    Case {
        name: "unix::socat_gets_its_lines_back_from_frameloop_echo_lines",
        needs: &[SOCAT],
        run: socat_gets_lines_back,
    },
    Case {
        name: "unix::a_python_af_unix_client_gets_its_frames_back_from_frameloop_echo",
        needs: &[PYTHON],
        run: python_gets_frames_back,
    },
];

/// Sends three frames (the last of 1 MiB) over `AF_UNIX` and checks each
/// echo. Arguments: the socket's path.
const PYTHON_FRAMES_CLIENT: &str = r#"
import socket, struct, sys

sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
sock.settimeout(10)
sock.connect(sys.argv[1])

def recv_exactly(n):
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise SystemExit("closed early")
        data += chunk
    return data

for payload in [b"hello", b"", bytes(range(256)) * 4096]:
    sock.sendall(struct.pack(">I", len(payload)) + payload)
    (n,) = struct.unpack(">I", recv_exactly(4))
    assert recv_exactly(n) == payload, "echo differs"
print("echoed 3")
sock.close()
"#;

/// `frameloop echo ARGS unix:PATH`, its socket file removed when dropped.
struct Echo {
    _process: EchoProcess,
    path: PathBuf,
}

impl Echo {
    fn start(args: &[&str], name: &str) -> Echo {
        let path = std::env::temp_dir().join(format!("frameloop-peers-{}-{name}.sock", std::process::id()));
        let target = format!("unix:{}", path.display());
        let process = EchoProcess::start(&[args, &[target.as_str()]].concat());
        assert!(process.banner.contains(&target), "{}", process.banner);
        Echo { _process: process, path }
    }
}

impl Drop for Echo {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

fn nc_u_gets_lines_back() {
    let echo = Echo::start(&["--lines"], "nc");
    // -N: close the sending side once the input ends; the server answers
    // what it got, then closes, and nc exits.
    let out = run("nc", &["-N", "-U", &echo.path.to_string_lossy()], "hello\nover unix\r\n");
    assert_eq!(out, "hello\nover unix\n");
}

fn socat_gets_lines_back() {
    let echo = Echo::start(&["--lines"], "socat");
    let target = format!("UNIX-CONNECT:{}", echo.path.display());
    let out = run("socat", &["-t", "5", "-", &target], "one\ntwo\n");
    assert_eq!(out, "one\ntwo\n");
}

fn python_gets_frames_back() {
    let echo = Echo::start(&[], "python");
    let out = run("python3", &["-c", PYTHON_FRAMES_CLIENT, &echo.path.to_string_lossy()], "");
    assert_eq!(out, "echoed 3\n");
}

//! The engine's first promise: a framed echo over loopback.

mod common;

use common::*;
use frameloop::Reactor;

#[test]
fn echo_returns_each_frame_to_its_sender() {
    let server = echo_server(Reactor::builder());
    let mut s = connect(server.addr);
    for payload in [&b"hello"[..], b"", &[7u8; 100_000]] {
        write_frame(&mut s, payload);
        assert_eq!(read_frame(&mut s), payload);
    }
    drop(s);
    let stats = server.stop();
    assert_eq!(stats.frames_in, 3);
}

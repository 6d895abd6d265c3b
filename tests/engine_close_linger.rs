//! A graceful close must not lose the replies it flushed, even when the peer
//! has sent more than the server read: closing a socket with unread input
//! makes the kernel reset the connection and discard unsent output, so the
//! server shuts its sending side and lingers, reading and discarding, until
//! the peer closes too.

mod common;

use std::io::{Read, Write};

use common::*;
use frameloop::{ConnId, Ctx, Handler, Reactor};

/// Answers the first frame with a large reply, then closes gracefully;
/// whatever else the peer sends is never read.
struct ReplyThenClose;

const REPLY_LEN: usize = 4 * 1024 * 1024;

impl Handler for ReplyThenClose {
    fn on_frame(&mut self, ctx: &mut Ctx<'_>, conn: ConnId, _frame: &[u8]) {
        let reply = vec![0xAB; REPLY_LEN];
        let _ = ctx.send(conn, &reply);
        let _ = ctx.close(conn);
    }
}

#[test]
fn a_closed_connection_delivers_its_last_reply_although_the_peer_sent_more() {
    let server = serve(Reactor::builder(), ReplyThenClose);
    for _ in 0..5 {
        let mut s = connect(server.addr);
        // The request, and more the server will never read.
        let mut burst = frame(b"request");
        for _ in 0..100 {
            burst.extend_from_slice(&frame(&[1u8; 1000]));
        }
        s.write_all(&burst).unwrap();
        // Read slowly at first, so the reply is still in the server's
        // kernel buffers when it closes.
        std::thread::sleep(std::time::Duration::from_millis(100));
        let mut got = Vec::new();
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            match s.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => got.extend_from_slice(&buf[..n]),
                Err(e) => panic!("reply cut short after {} bytes: {e}", got.len()),
            }
        }
        assert_eq!(got.len(), 4 + REPLY_LEN, "the whole reply, then end of stream");
    }
}

//! The reactor's read path over TLS: a message that one record holds whole
//! reaches the handler cut from the session's plaintext (the session is
//! lent to the read loop meanwhile), one that record boundaries cut comes
//! out whole all the same, and what the handler asks of a lent session (a
//! close without a reply, its TLS facts) is answered; a record and the end
//! of stream arriving together are both seen.

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::mpsc;
use std::time::Duration;

use rustls::pki_types::ServerName;
use rustls::{ClientConnection, StreamOwned};

use super::{client_files, pattern, server_files, DEADLINE};
use crate::reactor::stream::Stream;
use crate::{CloseReason, ConnId, Ctx, Handler, Reactor};

/// What the handler saw of one message.
#[derive(Debug)]
struct Seen {
    msg: Vec<u8>,
    /// Whether the connection's session was lent to the read loop, the
    /// message cut from its plaintext or assembled from it.
    from_session: bool,
    /// Whether the handler could still ask what TLS agreed.
    tls_known: bool,
}

/// Echoes every message; "quit" closes with nothing queued, so the close
/// (and its close_notify) is asked for while the session is lent; "wait"
/// holds the reactor's thread for [`WAIT`] first.
struct Echo(mpsc::Sender<Seen>);

/// How long "wait" holds the reactor: long enough for a client to send
/// more meanwhile.
const WAIT: Duration = Duration::from_millis(300);

impl Handler for Echo {
    fn on_frame(&mut self, ctx: &mut Ctx<'_>, conn: ConnId, msg: &[u8]) {
        let from_session = matches!(ctx.core.get(conn).map(|c| &c.stream), Some(Stream::Tls(t)) if t.is_lent());
        let tls_known = ctx.tls(conn).is_some_and(|info| info.version.starts_with("TLSv1"));
        let _ = self.0.send(Seen { msg: msg.to_vec(), from_session, tls_known });
        if msg == b"wait" {
            std::thread::sleep(WAIT);
        }
        if msg == b"quit" {
            let _ = ctx.close(conn);
        } else {
            let _ = ctx.send(conn, msg);
        }
    }
    fn on_close(&mut self, _: &mut Ctx<'_>, _: ConnId, _: CloseReason) {}
}

fn frame(payload: &[u8]) -> Vec<u8> {
    let mut f = (payload.len() as u32).to_be_bytes().to_vec();
    f.extend_from_slice(payload);
    f
}

/// A TLS echo reactor on its own thread, a blocking rustls client to it,
/// and what the handler saw. `write` sends the client's bytes (each
/// `write_all` then `flush` is a record of its own).
fn run(write: impl FnOnce(&mut StreamOwned<ClientConnection, TcpStream>)) -> (io::Result<Vec<u8>>, Vec<Seen>) {
    talk(|tls| {
        write(tls);
        tls.write_all(&frame(b"quit")).unwrap();
        tls.flush().unwrap();
    })
}

/// [`run`], with `write` to end the conversation its own way.
fn talk(write: impl FnOnce(&mut StreamOwned<ClientConnection, TcpStream>)) -> (io::Result<Vec<u8>>, Vec<Seen>) {
    let mut reactor = Reactor::builder().build().unwrap();
    let addr = reactor.listen_tls("127.0.0.1:0", server_files().load().unwrap()).unwrap();
    let remote = reactor.remote();
    let (tx, seen) = mpsc::channel();
    let server = std::thread::spawn(move || reactor.run(&mut Echo(tx)).unwrap());

    let sock = TcpStream::connect(addr.tcp().unwrap()).unwrap();
    sock.set_read_timeout(Some(DEADLINE)).unwrap();
    let name = ServerName::try_from("localhost").unwrap();
    let session = ClientConnection::new(client_files().load().unwrap(), name).unwrap();
    let mut tls = StreamOwned::new(session, sock);
    write(&mut tls);
    let mut back = Vec::new();
    // Ok only if the stream ended with close_notify (rustls says
    // UnexpectedEof otherwise).
    let read = tls.read_to_end(&mut back).map(|_| back);
    drop(tls);
    remote.stop();
    server.join().unwrap();
    (read, seen.try_iter().collect())
}

/// A record and the peer's end of stream that arrive together, while the
/// reactor is busy: one edge, and the read that brings the record comes up
/// short with the end still unread. A short read does not mean the socket
/// is empty then (the session must read on to the 0), or the end would
/// never be seen and the connection would hang open.
#[test]
fn a_record_and_the_end_of_stream_arriving_together_are_both_seen() {
    let (read, seen) = talk(|tls| {
        tls.write_all(&frame(b"wait")).unwrap();
        tls.flush().unwrap();
        // Within the handler's wait: the last message, then the end.
        std::thread::sleep(WAIT / 3);
        tls.write_all(&frame(b"last")).unwrap();
        tls.flush().unwrap();
        tls.sock.shutdown(Shutdown::Write).unwrap();
    });
    let back = read.expect("no clean close_notify after the replies: the end of stream went unseen");
    assert_eq!(back, [frame(b"wait"), frame(b"last")].concat());
    assert_eq!(seen.iter().map(|s| &s.msg[..]).collect::<Vec<_>>(), [&b"wait"[..], b"last"]);
}

#[test]
fn messages_whole_in_a_record_are_cut_from_the_sessions_plaintext() {
    let msgs: Vec<Vec<u8>> = (0..50).map(|i| pattern(1 + i * 37, i as u8)).collect();
    let (read, seen) = run(|tls| {
        for m in &msgs {
            tls.write_all(&frame(m)).unwrap();
            tls.flush().unwrap();
        }
    });
    let wire: Vec<u8> = msgs.iter().flat_map(|m| frame(m)).collect();
    let back = read.expect("the close was not a clean close_notify");
    assert!(back == wire, "{} bytes back for {}", back.len(), wire.len());
    assert_eq!(seen.len(), msgs.len() + 1);
    for (s, m) in seen.iter().zip(msgs.iter().chain([&b"quit".to_vec()])) {
        assert_eq!(&s.msg, m);
        assert!(s.from_session, "a message of {} B was not cut from the session's plaintext", m.len());
        assert!(s.tls_known, "TLS facts unknown while the session was lent");
    }
}

#[test]
fn messages_cut_by_record_boundaries_come_out_whole() {
    // Small frames sent 7 bytes a record; frames large enough to be sent
    // back from the read buffer, sent 700 bytes a record (each record ends
    // one and begins the next); then one of 100 KiB (seven records at
    // least) sent whole.
    let small: Vec<Vec<u8>> = (0..20).map(|i| pattern(3 + i, i as u8)).collect();
    let medium: Vec<Vec<u8>> = (0..20).map(|i| pattern(300 + 97 * i, i as u8)).collect();
    let large = pattern(100 * 1024, 7);
    let wire = |msgs: &[Vec<u8>]| -> Vec<u8> { msgs.iter().flat_map(|m| frame(m)).collect() };
    let (read, seen) = run(|tls| {
        for (msgs, record) in [(&small, 7), (&medium, 700)] {
            for piece in wire(msgs).chunks(record) {
                tls.write_all(piece).unwrap();
                tls.flush().unwrap();
            }
        }
        tls.write_all(&frame(&large)).unwrap();
        tls.flush().unwrap();
    });
    let mut expected = wire(&small);
    expected.extend(wire(&medium));
    expected.extend(frame(&large));
    let back = read.expect("the close was not a clean close_notify");
    let first_wrong = back.iter().zip(&expected).position(|(a, b)| a != b);
    assert!(back == expected, "{} bytes back for {}, the first wrong at {first_wrong:?}", back.len(), expected.len());
    let quit = b"quit".to_vec();
    let got: Vec<&Vec<u8>> = seen.iter().map(|s| &s.msg).collect();
    let want: Vec<&Vec<u8>> = small.iter().chain(&medium).chain([&large, &quit]).collect();
    assert!(got == want, "the handler saw {} messages, not the {} sent, or other bytes", got.len(), want.len());
    assert!(seen.iter().all(|s| s.from_session && s.tls_known));
}

//! The reason a close is reported with says who closed: a program's own
//! disconnect or stop is "closed locally" on a client; a server's stop is
//! its own shutdown; the other side sees the peer close.

mod common;

use std::sync::mpsc::{self, Sender};
use std::time::{Duration, Instant};

use frameloop::{
    Client, ClientCtx, ClientHandler, CloseReason, ConnId, Error, Event, Message, Server, ServerCtx, ServerHandler,
};

use common::{next_connected, PATIENCE};

fn server_saw_disconnect(server: &frameloop::PollingServer) -> CloseReason {
    loop {
        match server.wait_event(PATIENCE) {
            Some(Event::Disconnected { reason, .. }) => return reason,
            Some(_) => {}
            None => panic!("no disconnect seen"),
        }
    }
}

/// The reason of the first `Disconnected` among the client's events.
///
/// Polled: after the program's own `disconnect`, the client already knows
/// it is down, so `wait_event` does not wait for the event on its way.
fn client_saw_disconnect(client: &Client) -> Option<CloseReason> {
    let deadline = Instant::now() + PATIENCE;
    while Instant::now() < deadline {
        match client.wait_event(Duration::from_millis(10)) {
            Some(Event::Disconnected { reason, .. }) => return Some(reason),
            Some(_) => {}
            None => std::thread::sleep(Duration::from_millis(2)),
        }
    }
    None
}

#[test]
fn a_polling_clients_own_disconnect_is_closed_locally() {
    let server = Server::bind("127.0.0.1:0").unwrap().start_polling().unwrap();
    let client = Client::connect(server.local_addr()).unwrap();
    next_connected(&server);
    client.disconnect().unwrap();
    assert_eq!(client_saw_disconnect(&client), Some(CloseReason::ClosedLocally));
    assert_eq!(server_saw_disconnect(&server), CloseReason::PeerClosed);
}

#[test]
fn a_polling_clients_own_stop_is_closed_locally_not_a_server_shutdown() {
    let server = Server::bind("127.0.0.1:0").unwrap().start_polling().unwrap();
    let client = Client::connect(server.local_addr()).unwrap();
    next_connected(&server);
    client.stop().unwrap();
    assert_eq!(client_saw_disconnect(&client), Some(CloseReason::ClosedLocally));
    assert_eq!(server_saw_disconnect(&server), CloseReason::PeerClosed);
}

/// Reports each `on_disconnect` reason; on "disconnect" or "stop" from the
/// server, does that itself.
struct Reports {
    told: Sender<CloseReason>,
}

impl ClientHandler for Reports {
    fn on_receive(&mut self, client: &mut ClientCtx<'_>, msg: Message<'_>) -> Result<(), Error> {
        match msg.bytes() {
            b"disconnect" => client.disconnect(),
            b"stop" => {
                client.stop();
                Ok(())
            }
            _ => Ok(()),
        }
    }

    fn on_disconnect(&mut self, _client: &mut ClientCtx<'_>, reason: &CloseReason) -> Result<(), Error> {
        let _ = self.told.send(reason.clone());
        Ok(())
    }
}

fn callback_client(server: &frameloop::PollingServer) -> (Client, mpsc::Receiver<CloseReason>, ConnId) {
    let (told, heard) = mpsc::channel();
    let client = Client::builder().callbacks(Reports { told }).connect(server.local_addr()).unwrap();
    let id = next_connected(server);
    (client, heard, id)
}

#[test]
fn a_callback_clients_own_disconnect_and_stop_are_closed_locally() {
    let server = Server::bind("127.0.0.1:0").unwrap().start_polling().unwrap();
    for asked in ["disconnect", "stop"] {
        let (_client, heard, id) = callback_client(&server);
        server.send(id, asked).unwrap();
        assert_eq!(heard.recv_timeout(PATIENCE).unwrap(), CloseReason::ClosedLocally, "after {asked}");
        assert_eq!(server_saw_disconnect(&server), CloseReason::PeerClosed);
    }
    // The handle's stop (or drop) too.
    let (client, heard, _) = callback_client(&server);
    client.stop().unwrap();
    assert_eq!(heard.recv_timeout(PATIENCE).unwrap(), CloseReason::ClosedLocally, "after Client::stop");
}

#[test]
fn a_server_that_disconnects_one_client_says_closed_locally_and_the_client_sees_the_peer_close() {
    let server = Server::bind("127.0.0.1:0").unwrap().start_polling().unwrap();
    let client = Client::connect(server.local_addr()).unwrap();
    let id = next_connected(&server);
    server.disconnect(id).unwrap();
    assert_eq!(server_saw_disconnect(&server), CloseReason::ClosedLocally);
    assert_eq!(client_saw_disconnect(&client), Some(CloseReason::PeerClosed));
}

/// Disconnects whoever says "bye"; reports each `on_disconnect` reason.
struct Doorman {
    told: Sender<CloseReason>,
}

impl ServerHandler for Doorman {
    fn on_receive(&mut self, server: &mut ServerCtx<'_>, client: ConnId, msg: Message<'_>) -> Result<(), Error> {
        if msg.bytes() == b"bye" {
            server.disconnect(client)?;
        }
        Ok(())
    }

    fn on_disconnect(
        &mut self,
        _server: &mut ServerCtx<'_>,
        _client: ConnId,
        _addr: frameloop::Addr,
        reason: &CloseReason,
    ) -> Result<(), Error> {
        let _ = self.told.send(reason.clone());
        Ok(())
    }
}

#[test]
fn a_callback_servers_disconnect_is_closed_locally_and_its_stop_a_shutdown() {
    let (told, heard) = mpsc::channel();
    let server = Server::bind("127.0.0.1:0").unwrap().start(Doorman { told }).unwrap();
    let client = Client::connect(server.local_addr()).unwrap();
    client.send("bye").unwrap();
    assert_eq!(heard.recv_timeout(PATIENCE).unwrap(), CloseReason::ClosedLocally);
    assert_eq!(client_saw_disconnect(&client), Some(CloseReason::PeerClosed));
    // The server's own stop is, for the server, what is true: it shut down.
    let other = Client::connect(server.local_addr()).unwrap();
    other.send("hello").unwrap();
    std::thread::sleep(Duration::from_millis(50));
    server.stop().unwrap();
    assert_eq!(heard.recv_timeout(PATIENCE).unwrap(), CloseReason::Shutdown);
    assert_eq!(client_saw_disconnect(&other), Some(CloseReason::PeerClosed));
}

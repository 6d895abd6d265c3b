//! `echo hi | nc -N`: a peer that sends, shuts down its sending side and
//! reads until the server closes, against a polling echo written as the
//! README's simplesockets guide teaches.

use frameloop::{Error, Event, PollingServer, Server};

use crate::{run, Case, Peer};

/// OpenBSD's netcat: `-N` (shut down the sending side at the end of the
/// input) is its own.
const NC: Peer = Peer { program: "nc", package: "netcat-openbsd" };

pub const CASES: &[Case] = &[Case {
    name: "half_close::nc_n_gets_its_reply_from_a_polling_echo",
    needs: &[NC],
    run: nc_n_gets_its_reply_from_a_polling_echo,
}];

/// The guide's loop, word for word.
fn echo(server: &PollingServer) -> Result<(), Error> {
    for event in server.events() {
        if let Event::Received { client, data, .. } = event {
            server.send(client, &data)?;
            server.disconnect(client)?;
        }
    }
    Ok(())
}

fn nc_n_gets_its_reply_from_a_polling_echo() {
    let server = Server::bind("127.0.0.1:0").unwrap().lines().start_polling().unwrap();
    let port = server.local_addr().tcp().unwrap().port().to_string();
    std::thread::scope(|s| {
        let program = s.spawn(|| echo(&server));
        for _ in 0..20 {
            assert_eq!(run("nc", &["-N", "127.0.0.1", &port], "hi\n"), "hi\n");
        }
        server.stop().unwrap();
        program.join().unwrap().unwrap();
    });
}

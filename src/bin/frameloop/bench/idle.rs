//! `frameloop bench --mode idle`: what an idle connection costs a server in
//! resident memory. Each connection exchanges one frame (so the server has
//! done everything a real connection needs) and then stays quiet; the
//! server's RSS is read before and after.

use std::time::Duration;

use frameloop::Addr;

use super::cpu;
use super::options::Options;
use super::report::thousands;
use super::server::InProcess;
use super::socket::{with_socket, Socket, WithSocket};

/// Opens `opts.conns` connections that exchange one `opts.size`-byte frame
/// each (over TLS with `--tls`) and reports the server's memory growth per
/// connection.
pub fn run(opts: &Options) -> Result<(), String> {
    let (addr, pid, conns, size) = (opts.addr.as_ref(), opts.server_pid, opts.conns, opts.size);
    let tls = opts.tls.as_ref();
    // In-process, the client's sockets count against this process's
    // descriptors too: two per connection.
    let fds_needed = if addr.is_some() { conns } else { 2 * conns } as u64 + 64;
    if let Some(limit) = cpu::max_open_files().filter(|&l| l < fds_needed) {
        return Err(format!(
            "{conns} idle connections need {fds_needed} open files here and the limit is {limit}: \
             run the server as its own process (--addr, --server-pid), raise the limit (ulimit -n), \
             or use fewer --conns"
        ));
    }
    let in_process = match addr {
        Some(_) => None,
        None => Some(InProcess::start(None, tls.and_then(|t| t.server.clone()))?),
    };
    let (addr, pid) = match (&in_process, addr) {
        (Some(s), _) => (Addr::Tcp(s.addr), None),
        (None, Some(a)) => {
            (a.clone(), Some(pid.ok_or("--mode idle with --addr needs --server-pid PID to read its memory")?))
        }
        (None, None) => return Err("no address to connect to".into()),
    };
    let payload = vec![7u8; size];
    let frame: Vec<u8> = (size as u32).to_be_bytes().into_iter().chain(payload.iter().copied()).collect();
    println!("frameloop bench: idle, {conns} connections exchanging one {size} B frame each, then idle");
    match in_process {
        Some(_) => println!(
            "server: frameloop echo, in-process (the RSS below includes this client's own few bytes per socket)"
        ),
        None => println!("server: {addr} (process {})", pid.unwrap_or_default()),
    }
    if tls.is_some() {
        println!("tls: rustls (ring); each connection's memory includes its TLS session");
    }
    let (before, after) = with_socket(&addr, tls, Idle { conns, frame: &frame, pid })?;
    let growth = after.saturating_sub(before);
    println!();
    println!(
        "server RSS   {} KiB before, {} KiB with the idle connections",
        thousands(before / 1024),
        thousands(after / 1024)
    );
    println!("per conn     {:.0} bytes of resident memory per idle connection", growth as f64 / conns as f64);
    if let Some(s) = in_process {
        s.stop()?;
    }
    Ok(())
}

/// The idle connections, on sockets of the kind the address names: the
/// server's RSS before them and with them (then they close).
struct Idle<'a> {
    conns: usize,
    frame: &'a [u8],
    pid: Option<u32>,
}

impl WithSocket for Idle<'_> {
    type Output = (u64, u64);

    fn run<S: Socket>(self, addr: &S::Addr) -> Result<(u64, u64), String> {
        let Idle { conns, frame, pid } = self;
        let mut echo = vec![0u8; frame.len()];
        // One connection first, so one-time costs (buffers met on first use)
        // are not charged to the idle ones.
        exchange::<S>(addr, frame, &mut echo).map_err(|e| format!("warm-up connection: {e}"))?;
        std::thread::sleep(Duration::from_millis(200));
        let before = cpu::rss_bytes(pid).ok_or("cannot read the server's memory from /proc")?;
        let mut held = Vec::with_capacity(conns);
        for i in 0..conns {
            held.push(exchange::<S>(addr, frame, &mut echo).map_err(|e| format!("connection {i}: {e}"))?);
        }
        // Let the server finish whatever the last exchanges left it to do.
        std::thread::sleep(Duration::from_millis(500));
        let after = cpu::rss_bytes(pid).ok_or("cannot read the server's memory from /proc")?;
        Ok((before, after))
    }
}

/// Connects, sends `frame`, and waits for its echo; returns the open
/// connection.
fn exchange<S: Socket>(addr: &S::Addr, frame: &[u8], echo: &mut [u8]) -> std::io::Result<S> {
    let mut s = S::connect(addr)?;
    s.set_read_timeout(Some(Duration::from_secs(5)))?;
    s.write_all(frame)?;
    s.read_exact(echo)?;
    if echo != frame {
        return Err(std::io::Error::other("the echo differs from the frame sent"));
    }
    Ok(s)
}

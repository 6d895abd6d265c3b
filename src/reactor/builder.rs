//! Reactor settings: every limit with its default and its builder method.

use std::time::Duration;

use crate::codec::{frame, lines, raw, Codec, Format};
use crate::error::Error;
use crate::reactor::Reactor;

/// Longest [refusal message](ReactorBuilder::refusal_message): small enough that
/// one write to a fresh socket takes it whole on any system, so a refused
/// socket never needs a write buffer.
pub(crate) const MAX_REFUSAL_LEN: usize = 1024;

/// The settings a [`Reactor`] runs with. See [`ReactorBuilder`] for what each does.
#[derive(Debug, Clone)]
pub(crate) struct Config {
    pub(crate) codec: Codec,
    pub(crate) max_connections: usize,
    pub(crate) high_watermark: usize,
    pub(crate) low_watermark: usize,
    pub(crate) hard_cap: usize,
    pub(crate) idle_timeout: Option<Duration>,
    pub(crate) frame_timeout: Option<Duration>,
    pub(crate) read_budget: usize,
    pub(crate) read_buffer_size: usize,
    pub(crate) accept_batch: usize,
    pub(crate) shutdown_timeout: Duration,
    pub(crate) half_close_timeout: Duration,
    pub(crate) handshake_timeout: Duration,
    pub(crate) accept_backoff_max: Duration,
    pub(crate) nodelay: bool,
    pub(crate) listen_backlog: u32,
    pub(crate) unix_mode: Option<u32>,
    pub(crate) busy_poll: Option<Duration>,
    /// Written to a socket refused at `max_connections` before it is
    /// closed; already in the reactor's framing.
    pub(crate) refusal_message: Option<Vec<u8>>,
    /// How a group shares an address's connections (see `group.rs`).
    pub(crate) distribution: crate::reactor::Distribution,
    /// Stop gracefully on SIGINT and SIGTERM (see `signals.rs`).
    #[cfg(feature = "signals")]
    pub(crate) stop_on_signals: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            codec: Codec::frames(),
            max_connections: 16 * 1024,
            high_watermark: 1024 * 1024,
            low_watermark: 256 * 1024,
            hard_cap: 16 * 1024 * 1024,
            idle_timeout: None,
            frame_timeout: Some(Duration::from_secs(30)),
            read_budget: 256 * 1024,
            read_buffer_size: 64 * 1024,
            accept_batch: 256,
            shutdown_timeout: Duration::from_secs(5),
            half_close_timeout: Duration::from_secs(10),
            handshake_timeout: Duration::from_secs(10),
            accept_backoff_max: Duration::from_millis(200),
            nodelay: true,
            listen_backlog: crate::reactor::DEFAULT_BACKLOG,
            unix_mode: None,
            busy_poll: None,
            refusal_message: None,
            distribution: crate::reactor::Distribution::default(),
            #[cfg(feature = "signals")]
            stop_on_signals: false,
        }
    }
}

/// Builds a [`Reactor`]; every setting has a default that suits a public
/// server.
///
/// ```
/// use std::time::Duration;
/// use frameloop::Reactor;
///
/// let reactor = Reactor::builder()
///     .max_frame_len(1 << 20)
///     .max_connections(1000)
///     .idle_timeout(Some(Duration::from_secs(60)))
///     .build()?;
/// # drop(reactor);
/// # Ok::<(), frameloop::Error>(())
/// ```
#[derive(Debug, Clone, Default)]
#[must_use = "a builder does nothing until build() is called"]
pub struct ReactorBuilder {
    pub(super) config: Config,
}

impl ReactorBuilder {
    /// Length-prefixed frames (the default), keeping the maximum length.
    ///
    /// ```
    /// use frameloop::Reactor;
    ///
    /// // Lines were chosen first, frames win; the maximum set before is kept.
    /// let reactor = Reactor::builder().lines().max_frame_len(1024).frames().build()?;
    /// assert!(reactor.local_addrs().is_empty());
    /// # Ok::<(), frameloop::Error>(())
    /// ```
    pub fn frames(mut self) -> Self {
        self.config.codec = Codec::Frames { max_len: self.max_len_or(frame::DEFAULT_MAX_LEN) };
        self
    }

    /// A wire format by the name servers and clients choose it by:
    /// [`frames`](Self::frames) for frames and packets (which travel in
    /// frames), [`lines`](Self::lines) or [`raw`](Self::raw).
    ///
    /// ```
    /// use frameloop::{Format, Reactor};
    ///
    /// // The same name as `Server::bind(addr)?.format(Format::Lines)`.
    /// let reactor = Reactor::builder().format(Format::Lines).build()?;
    /// # drop(reactor);
    /// # Ok::<(), frameloop::Error>(())
    /// ```
    pub fn format(self, format: Format) -> Self {
        match format {
            Format::Frames | Format::Packets => self.frames(),
            Format::Lines => self.lines(),
            Format::Raw => self.raw(),
        }
    }

    /// `\n`-terminated lines (for `nc`, `telnet`, `socat`), with the default
    /// maximum line length of 64 KiB unless [`max_frame_len`](Self::max_frame_len)
    /// is also set.
    ///
    /// ```
    /// use std::io::Write;
    /// use frameloop::{ConnId, Ctx, Handler, Reactor};
    ///
    /// struct First(Vec<u8>);
    /// impl Handler for First {
    ///     fn on_frame(&mut self, ctx: &mut Ctx<'_>, _: ConnId, line: &[u8]) {
    ///         self.0 = line.to_vec();
    ///         ctx.stop();
    ///     }
    /// }
    ///
    /// let mut reactor = Reactor::builder().lines().build()?;
    /// let addr = reactor.listen("127.0.0.1:0")?;
    /// std::net::TcpStream::connect(addr)?.write_all(b"typed in nc\r\n")?;
    /// let mut first = First(Vec::new());
    /// reactor.run(&mut first)?;
    /// assert_eq!(first.0, b"typed in nc");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn lines(mut self) -> Self {
        self.config.codec = Codec::Lines { max_len: self.max_len_or(lines::DEFAULT_MAX_LEN) };
        self
    }

    /// Raw bytes, no framing: each message handed to
    /// [`Handler::on_frame`](crate::Handler::on_frame) is a chunk of what
    /// arrived (at most 64 KiB, or [`max_frame_len`](Self::max_frame_len)
    /// if that is also set; a read of more is handed over as several
    /// chunks, each borrowed from the read buffer), and
    /// [`Ctx::send`](crate::Ctx::send) sends its bytes as they are. What a
    /// plain socket program speaks (`sendall`, `recv(2048)`); TCP keeps no
    /// message boundaries, so neither do the chunks.
    ///
    /// ```
    /// use std::io::{Read, Write};
    /// use std::time::Duration;
    /// use frameloop::{ConnId, Ctx, Handler, Reactor};
    ///
    /// /// Echoes what arrives, then stops once five bytes went back.
    /// struct Echo(usize);
    /// impl Handler for Echo {
    ///     fn on_frame(&mut self, ctx: &mut Ctx<'_>, conn: ConnId, chunk: &[u8]) {
    ///         let _ = ctx.send(conn, chunk);
    ///         self.0 += chunk.len();
    ///         if self.0 == 5 {
    ///             ctx.stop();
    ///         }
    ///     }
    /// }
    ///
    /// let mut reactor = Reactor::builder().raw().build()?;
    /// let addr = reactor.listen("127.0.0.1:0")?;
    /// let client = std::thread::spawn(move || -> std::io::Result<Vec<u8>> {
    ///     let mut s = std::net::TcpStream::connect(addr)?;
    ///     s.set_read_timeout(Some(Duration::from_secs(10)))?;
    ///     s.write_all(b"hello")?; // no length, no newline
    ///     let mut echo = [0; 5];
    ///     s.read_exact(&mut echo)?;
    ///     Ok(echo.to_vec())
    /// });
    /// reactor.run(&mut Echo(0))?;
    /// assert_eq!(client.join().unwrap()?, b"hello");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn raw(mut self) -> Self {
        self.config.codec = Codec::Raw { max_chunk: self.max_len_or(raw::DEFAULT_MAX_CHUNK) };
        self
    }

    fn max_len_or(&self, default: usize) -> usize {
        let current = self.config.codec.max_len();
        let untouched =
            current == frame::DEFAULT_MAX_LEN || current == lines::DEFAULT_MAX_LEN || current == raw::DEFAULT_MAX_CHUNK;
        if untouched {
            default
        } else {
            current
        }
    }

    /// Any [`Codec`].
    ///
    /// ```
    /// use frameloop::codec::Codec;
    /// use frameloop::Reactor;
    ///
    /// assert!(Reactor::builder().codec(Codec::lines().with_max_len(80)).build().is_ok());
    /// assert!(Reactor::builder().codec(Codec::Raw { max_chunk: 0 }).build().is_err());
    /// ```
    pub fn codec(mut self, codec: Codec) -> Self {
        self.config.codec = codec;
        self
    }

    /// Largest message accepted (frame payload, or line without its ending).
    /// A peer that announces or sends more is closed with
    /// [`CloseReason::FrameTooLarge`](crate::CloseReason::FrameTooLarge) or
    /// [`LineTooLong`](crate::CloseReason::LineTooLong). Default: 8 MiB for
    /// frames, 64 KiB for lines. For [raw bytes](Self::raw), the largest
    /// chunk handed over at once (default 64 KiB): more is split, never
    /// refused.
    ///
    /// ```
    /// use frameloop::Reactor;
    ///
    /// // 1 MiB frames; see CloseReason for what a peer sending more sees.
    /// let reactor = Reactor::builder().max_frame_len(1 << 20).build()?;
    /// # drop(reactor);
    /// assert!(Reactor::builder().raw().max_frame_len(0).build().is_err()); // a raw chunk needs a byte
    /// # Ok::<(), frameloop::Error>(())
    /// ```
    pub fn max_frame_len(mut self, max: usize) -> Self {
        self.config.codec = self.config.codec.with_max_len(max);
        self
    }

    /// Most connections open at once. Past it, new sockets are accepted and
    /// closed at once, so the peer sees an immediate end of stream rather
    /// than a hang (after a [`refusal_message`](Self::refusal_message), if
    /// one is set). Default: 16384.
    ///
    /// ```
    /// use frameloop::Reactor;
    ///
    /// assert!(Reactor::builder().max_connections(100).build().is_ok());
    /// assert!(Reactor::builder().max_connections(0).build().is_err());
    /// ```
    pub fn max_connections(mut self, max: usize) -> Self {
        self.config.max_connections = max;
        self
    }

    /// Bytes written to a client refused at
    /// [`max_connections`](Self::max_connections) before its socket is
    /// closed, so that it learns why ("the server is full") rather than
    /// seeing only the end of the stream. Default: none (closed at once).
    /// Not sent on a TLS listener: a refused client's handshake has not
    /// begun, so it sees only the end of the stream.
    ///
    /// The bytes go out as they are: encode them in the reactor's framing
    /// (for example with [`frame::encode`](crate::codec::frame::encode) or
    /// [`lines::encode`](crate::codec::lines::encode)). They are written
    /// with one non-blocking write, which a fresh socket's send buffer
    /// takes whole since the message is short (at most 1 KiB, or
    /// [`build`](Self::build) fails); nothing is queued for a refused
    /// socket. The socket is then closed like a
    /// graceful close: its sending side is shut and it lingers, reading and
    /// discarding, so that bytes the client had already sent do not make
    /// the kernel reset the message away.
    ///
    /// ```
    /// use frameloop::codec::lines;
    /// use frameloop::Reactor;
    ///
    /// let mut full = Vec::new();
    /// lines::encode(b"sorry, the server is full", &mut full)?;
    /// let reactor = Reactor::builder().lines().max_connections(100).refusal_message(full).build()?;
    /// # drop(reactor);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn refusal_message(mut self, bytes: impl Into<Vec<u8>>) -> Self {
        self.config.refusal_message = Some(bytes.into());
        self
    }

    /// The codec chosen so far (the facade encodes its refusal message in
    /// it).
    pub(crate) fn chosen_codec(&self) -> Codec {
        self.config.codec
    }

    /// Above `high` bytes of queued output, the reactor stops reading from
    /// that connection (its peer is sending faster than it reads the
    /// replies); below `low` it reads again and calls
    /// [`Handler::on_drain`](crate::Handler::on_drain). Default: 1 MiB and
    /// 256 KiB.
    ///
    /// ```
    /// use frameloop::Reactor;
    ///
    /// assert!(Reactor::builder().watermarks(64 * 1024, 256 * 1024).build().is_ok());
    /// assert!(Reactor::builder().watermarks(2, 1).build().is_err()); // low above high
    /// ```
    pub fn watermarks(mut self, low: usize, high: usize) -> Self {
        self.config.low_watermark = low;
        self.config.high_watermark = high;
        self
    }

    /// When a connection's queued output has reached `cap` bytes, the next
    /// send closes it with
    /// [`CloseReason::SlowConsumer`](crate::CloseReason::SlowConsumer) (like
    /// Redis' client-output-buffer-limit). One message can always be queued
    /// below the cap, so a connection's output never exceeds the cap plus
    /// one message. Default: 16 MiB. Under TLS the records a session holds
    /// for the socket (up to 64 KiB) count too: keep the cap well above
    /// that.
    ///
    /// ```
    /// use frameloop::Reactor;
    ///
    /// assert!(Reactor::builder().watermarks(64 * 1024, 256 * 1024).hard_cap(4 << 20).build().is_ok());
    /// ```
    pub fn hard_cap(mut self, cap: usize) -> Self {
        self.config.hard_cap = cap;
        self
    }

    /// Close connections that neither receive nor send for this long, with
    /// [`CloseReason::IdleTimeout`](crate::CloseReason::IdleTimeout).
    /// Default: off.
    ///
    /// ```
    /// use std::time::Duration;
    /// use frameloop::{CloseReason, ConnId, Ctx, Handler, Reactor};
    ///
    /// struct Why(Option<CloseReason>);
    /// impl Handler for Why {
    ///     fn on_frame(&mut self, _: &mut Ctx<'_>, _: ConnId, _: &[u8]) {}
    ///     fn on_close(&mut self, ctx: &mut Ctx<'_>, _: ConnId, reason: CloseReason) {
    ///         self.0 = Some(reason);
    ///         ctx.stop();
    ///     }
    /// }
    ///
    /// let mut reactor = Reactor::builder().idle_timeout(Some(Duration::from_millis(20))).build()?;
    /// let addr = reactor.listen("127.0.0.1:0")?;
    /// let _quiet = std::net::TcpStream::connect(addr)?; // connects, says nothing
    /// let mut why = Why(None);
    /// reactor.run(&mut why)?;
    /// assert_eq!(why.0, Some(CloseReason::IdleTimeout));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn idle_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.config.idle_timeout = timeout;
        self
    }

    /// A message that has started to arrive must be complete within this
    /// time, or the connection is closed with
    /// [`CloseReason::FrameTimeout`](crate::CloseReason::FrameTimeout): the
    /// defence against slowloris, which dripping bytes does not evade (the
    /// clock starts at the message's first byte). Default: 30 s.
    ///
    /// ```
    /// use std::io::Write;
    /// use std::time::Duration;
    /// use frameloop::{CloseReason, ConnId, Ctx, Handler, Reactor};
    ///
    /// struct Why(Option<CloseReason>);
    /// impl Handler for Why {
    ///     fn on_frame(&mut self, _: &mut Ctx<'_>, _: ConnId, _: &[u8]) {}
    ///     fn on_close(&mut self, ctx: &mut Ctx<'_>, _: ConnId, reason: CloseReason) {
    ///         self.0 = Some(reason);
    ///         ctx.stop();
    ///     }
    /// }
    ///
    /// let mut reactor = Reactor::builder().frame_timeout(Some(Duration::from_millis(20))).build()?;
    /// let addr = reactor.listen("127.0.0.1:0")?;
    /// let mut slow = std::net::TcpStream::connect(addr)?;
    /// slow.write_all(b"\0\0\0\x05he")?; // starts a message, never finishes it
    /// let mut why = Why(None);
    /// reactor.run(&mut why)?;
    /// assert_eq!(why.0, Some(CloseReason::FrameTimeout));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn frame_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.config.frame_timeout = timeout;
        self
    }

    /// Bytes read from one connection per loop turn before the others get
    /// their turn; the rest is read on the next turn. Default: 256 KiB.
    ///
    /// ```
    /// use frameloop::Reactor;
    ///
    /// assert!(Reactor::builder().read_budget(64 * 1024).build().is_ok());
    /// assert!(Reactor::builder().read_budget(0).build().is_err()); // must be positive
    /// ```
    pub fn read_budget(mut self, bytes: usize) -> Self {
        self.config.read_budget = bytes;
        self
    }

    /// How many bytes one read asks for, unless the message being read is
    /// larger: then its buffer is sized for it and the read asks for the
    /// rest of it (see [`codec::Assembler`](crate::codec::Assembler)).
    /// Default: 64 KiB.
    ///
    /// ```
    /// use frameloop::Reactor;
    ///
    /// assert!(Reactor::builder().read_buffer_size(16 * 1024).build().is_ok());
    /// assert!(Reactor::builder().read_buffer_size(0).build().is_err()); // must be positive
    /// ```
    pub fn read_buffer_size(mut self, bytes: usize) -> Self {
        self.config.read_buffer_size = bytes;
        self
    }

    /// How long a graceful stop waits for queued output to drain before
    /// closing connections regardless. Default: 5 s.
    ///
    /// ```
    /// use std::time::Duration;
    /// use frameloop::Reactor;
    ///
    /// assert!(Reactor::builder().shutdown_timeout(Duration::from_secs(1)).build().is_ok());
    /// ```
    pub fn shutdown_timeout(mut self, timeout: Duration) -> Self {
        self.config.shutdown_timeout = timeout;
        self
    }

    /// How long a connection whose peer shut down its sending side may be
    /// held open for the replies still to come
    /// ([`HalfClose::Hold`](crate::HalfClose::Hold)); past it, it closes
    /// with [`CloseReason::HalfCloseTimeout`](crate::CloseReason::HalfCloseTimeout)
    /// once the output already queued is written. A handler that never
    /// answers cannot pin the connection. Default: 10 s.
    ///
    /// ```
    /// use std::time::Duration;
    /// use frameloop::Reactor;
    ///
    /// assert!(Reactor::builder().half_close_timeout(Duration::from_secs(2)).build().is_ok());
    /// ```
    pub fn half_close_timeout(mut self, timeout: Duration) -> Self {
        self.config.half_close_timeout = timeout;
        self
    }

    /// How long a TLS connection may take to complete its handshake, from
    /// its accept (or its connect); past it, it closes with
    /// [`CloseReason::HandshakeTimeout`](crate::CloseReason::HandshakeTimeout),
    /// and its handler never heard of it. A peer that connects and stalls
    /// holds a descriptor no longer than this. Default: 10 s.
    ///
    /// ```
    /// use std::time::Duration;
    /// use frameloop::Reactor;
    ///
    /// assert!(Reactor::builder().handshake_timeout(Duration::from_secs(3)).build().is_ok());
    /// ```
    pub fn handshake_timeout(mut self, timeout: Duration) -> Self {
        self.config.handshake_timeout = timeout;
        self
    }

    /// Longest wait between accept retries after the system ran out of file
    /// descriptors or memory. Default: 200 ms.
    ///
    /// ```
    /// use std::time::Duration;
    /// use frameloop::Reactor;
    ///
    /// assert!(Reactor::builder().accept_backoff_max(Duration::from_millis(50)).build().is_ok());
    /// ```
    pub fn accept_backoff_max(mut self, max: Duration) -> Self {
        self.config.accept_backoff_max = max;
        self
    }

    /// Set `TCP_NODELAY` on every connection (the default), so a message
    /// leaves as soon as it is written instead of waiting for Nagle's
    /// algorithm. frameloop already gathers a loop turn's output into one
    /// write, which is what Nagle would otherwise be for.
    ///
    /// ```
    /// use frameloop::Reactor;
    ///
    /// // Off only for a program that writes many tiny messages outside the loop's batching.
    /// assert!(Reactor::builder().nodelay(false).build().is_ok());
    /// ```
    pub fn nodelay(mut self, on: bool) -> Self {
        self.config.nodelay = on;
        self
    }

    /// How many connections the system may hold, established but not yet
    /// accepted, for each listener: room for an accept storm, and for
    /// clients that wait while accepting is paused. The kernel caps it
    /// (`net.core.somaxconn` on Linux). Default: 1024 (std and mio use 128).
    ///
    /// ```
    /// use frameloop::Reactor;
    ///
    /// let mut reactor = Reactor::builder().listen_backlog(4096).build()?;
    /// assert!(reactor.listen("127.0.0.1:0")?.tcp().is_some_and(|a| a.port() != 0));
    /// # Ok::<(), frameloop::Error>(())
    /// ```
    pub fn listen_backlog(mut self, backlog: u32) -> Self {
        self.config.listen_backlog = backlog;
        self
    }

    /// The permission bits of the file of each Unix socket this listens on,
    /// set right after it is bound (`0o660`: the owner and its group may
    /// connect). Default: what the process's umask leaves. Connecting to a
    /// Unix socket needs write permission on its file; for a window with no
    /// access at all, bind inside a directory only the owner can enter.
    ///
    /// ```
    /// # #[cfg(unix)] {
    /// use std::os::unix::fs::PermissionsExt;
    ///
    /// let path = std::env::temp_dir().join(format!("frameloop-mode-{}.sock", std::process::id()));
    /// let mut reactor = frameloop::Reactor::builder().unix_mode(0o600).build()?;
    /// reactor.listen(path.as_path())?;
    /// assert_eq!(std::fs::metadata(&path)?.permissions().mode() & 0o777, 0o600);
    /// drop(reactor);
    /// assert!(!path.exists()); // the file goes with the listener
    /// # }
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn unix_mode(mut self, mode: u32) -> Self {
        self.config.unix_mode = Some(mode);
        self
    }

    /// Before the loop sleeps waiting for readiness, it keeps polling without
    /// sleeping for up to this long (never past the next timer), giving the
    /// CPU to any other thread that wants it between two polls. Default: off
    /// (`None`) for a reactor on its own; 5 µs for the reactors of a
    /// [group](Self::build_group) of two or more, each of which is only
    /// partly busy and would otherwise sleep and be woken again and again
    /// (measured: the plain echo's CPU per message with 2 reactors, against
    /// 1, from 1.11–1.17× down to 1.03–1.07×; see the README's "Several
    /// cores"). `Some(Duration::ZERO)` is off for a group too.
    ///
    /// For request/response traffic with one message in flight, on a machine
    /// with a core to spare: the next request then finds the loop awake
    /// instead of having to wake a sleeping thread and CPU, which on an idle
    /// virtual machine can be most of a loopback round trip. When the CPUs
    /// are busy anyway nothing sleeps, and this gains nothing.
    ///
    /// The price is CPU time, paid after every wake-up of the loop: a
    /// connection that sends a message every millisecond keeps a core busy
    /// for about `spin` of every millisecond (a fifth of a core at 200 µs),
    /// and one that sends again within `spin` keeps it fully busy. Once a
    /// spin has found nothing, the loop sleeps as usual: an idle reactor costs
    /// one spin after its last wake-up, then nothing. Pipelined traffic gains
    /// nothing and, when other threads compete for the CPUs, may lose some
    /// throughput. Start with about one round trip: a few tens of
    /// microseconds. The empty polls are not counted in
    /// [`Stats::polls`](crate::Stats::polls).
    ///
    /// ```
    /// use std::io::{Read, Write};
    /// use std::time::Duration;
    /// use frameloop::{ConnId, Ctx, Handler, Reactor};
    ///
    /// /// Echoes one frame, then stops the reactor.
    /// struct EchoOnce;
    /// impl Handler for EchoOnce {
    ///     fn on_frame(&mut self, ctx: &mut Ctx<'_>, conn: ConnId, frame: &[u8]) {
    ///         let _ = ctx.send(conn, frame);
    ///         ctx.stop();
    ///     }
    /// }
    ///
    /// let mut reactor = Reactor::builder().busy_poll(Some(Duration::from_micros(50))).build()?;
    /// let addr = reactor.listen("127.0.0.1:0")?;
    /// let client = std::thread::spawn(move || -> std::io::Result<Vec<u8>> {
    ///     let mut s = std::net::TcpStream::connect(addr)?;
    ///     s.set_read_timeout(Some(Duration::from_secs(10)))?;
    ///     s.write_all(b"\0\0\0\x02hi")?;
    ///     let mut echo = [0; 6];
    ///     s.read_exact(&mut echo)?;
    ///     Ok(echo.to_vec())
    /// });
    /// reactor.run(&mut EchoOnce)?;
    /// assert_eq!(client.join().unwrap()?, b"\0\0\0\x02hi");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn busy_poll(mut self, spin: Option<Duration>) -> Self {
        self.config.busy_poll = spin;
        self
    }

    /// Stops gracefully on SIGINT (Ctrl-C) and SIGTERM (what systemd,
    /// `docker stop` and Kubernetes send): the reactor then does what
    /// [`Ctx::stop`](crate::Ctx::stop) does (listeners close, queued
    /// output is written for at most the
    /// [shutdown timeout](Self::shutdown_timeout), connections close with
    /// [`CloseReason::Shutdown`](crate::CloseReason::Shutdown)) and
    /// [`Reactor::run`] returns `Ok(())`. A second signal while that stop
    /// is under way closes the connections at once, without waiting for
    /// their output: the way out when a peer has stopped reading. Requires
    /// the `signals` feature.
    ///
    /// The handlers are installed by [`build`](Self::build) (a signal that
    /// arrives before [`run`](Reactor::run) stops the next run as soon as it
    /// starts) and removed when the reactor is dropped. From then on the two
    /// signals no longer end the process, unless something else handles
    /// them: signal-hook cannot restore the default action.
    ///
    /// Signal handlers belong to the whole process: ask this of one reactor
    /// per process, the one whose end should end the program. If several
    /// ask (each reactor built from such a builder does), every one of them
    /// is told of every signal and stops, and handlers installed by others
    /// in the process keep getting the signals too: signal-hook chains them.
    ///
    /// ```no_run
    /// use frameloop::{ConnId, Ctx, Handler, Reactor};
    ///
    /// struct Echo;
    /// impl Handler for Echo {
    ///     fn on_frame(&mut self, ctx: &mut Ctx<'_>, conn: ConnId, frame: &[u8]) {
    ///         let _ = ctx.send(conn, frame);
    ///     }
    /// }
    ///
    /// let mut reactor = Reactor::builder().stop_on_signals().build()?;
    /// reactor.listen("127.0.0.1:7000")?;
    /// reactor.run(&mut Echo)?; // returns after Ctrl-C, once the replies are out
    /// # Ok::<(), frameloop::Error>(())
    /// ```
    #[cfg(feature = "signals")]
    pub fn stop_on_signals(mut self) -> Self {
        self.config.stop_on_signals = true;
        self
    }

    /// Creates the reactor.
    ///
    /// ```
    /// use frameloop::{Error, Reactor};
    ///
    /// let reactor = Reactor::builder().lines().build()?;
    /// # drop(reactor);
    /// match Reactor::builder().watermarks(10, 5).build() {
    ///     Err(Error::Config(why)) => assert!(why.contains("watermark")),
    ///     other => panic!("expected a configuration error, got {other:?}"),
    /// }
    /// # Ok::<(), frameloop::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Config`] for inconsistent settings; [`Error::Io`] if the
    /// system refuses to create the poller.
    pub fn build(self) -> Result<Reactor, Error> {
        let c = &self.config;
        if c.low_watermark > c.high_watermark {
            return Err(Error::Config("the low watermark must not exceed the high watermark".into()));
        }
        if c.codec == (Codec::Raw { max_chunk: 0 }) {
            return Err(Error::Config("the largest raw chunk must be at least one byte".into()));
        }
        if c.read_buffer_size == 0 || c.read_budget == 0 {
            return Err(Error::Config("the read buffer size and read budget must be positive".into()));
        }
        if c.refusal_message.as_ref().is_some_and(|m| m.len() > MAX_REFUSAL_LEN) {
            return Err(Error::Config(format!("the refusal message must be at most {MAX_REFUSAL_LEN} bytes")));
        }
        if c.max_connections == 0 || c.max_connections > crate::reactor::conn::MAX_CONNECTIONS {
            return Err(Error::Config(format!(
                "max_connections must be between 1 and {}",
                crate::reactor::conn::MAX_CONNECTIONS
            )));
        }
        let mut config = self.config;
        // A deadline is an `Instant`, which panics past a few hundred years:
        // a longer timeout means "never", and is kept to one that fits.
        for timeout in [&mut config.idle_timeout, &mut config.frame_timeout].into_iter().flatten() {
            *timeout = (*timeout).min(FOREVER);
        }
        config.shutdown_timeout = config.shutdown_timeout.min(FOREVER);
        config.half_close_timeout = config.half_close_timeout.min(FOREVER);
        config.accept_backoff_max = config.accept_backoff_max.min(FOREVER);
        Reactor::with_config(config)
    }
}

/// The longest wait the reactor schedules (a century): any longer timeout
/// is the same in practice, and adding it to an `Instant` could overflow.
pub(crate) const FOREVER: Duration = Duration::from_secs(100 * 365 * 24 * 60 * 60);

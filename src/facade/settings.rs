//! The settings a [`ServerBuilder`](super::ServerBuilder) and a
//! [`ClientBuilder`](super::ClientBuilder) share, and the one copy of their
//! setters.

use super::queue::DEFAULT_MAX_QUEUED;
use super::Format;
use crate::reactor::ReactorBuilder;

/// A facade's settings: its format and limits, and the engine's own.
#[derive(Debug, Default)]
pub(crate) struct Settings {
    pub(crate) format: Format,
    pub(crate) max_len: Option<usize>,
    pub(crate) max_queued: Option<usize>,
    pub(crate) reactor: ReactorBuilder,
}

impl Settings {
    /// The bound on the bytes of events waiting for the program.
    pub(crate) fn queue_limit(&self) -> usize {
        self.max_queued.unwrap_or(DEFAULT_MAX_QUEUED)
    }

    /// The engine's settings, with the format's codec and maximum length.
    pub(crate) fn reactor(self) -> ReactorBuilder {
        let reactor = self.reactor.format(self.format);
        match self.max_len {
            Some(max) => reactor.max_frame_len(max),
            None => reactor,
        }
    }
}

/// The setters both builders have, written once. `$make` is the doc
/// examples' expression for a builder, `$end` their last line.
macro_rules! shared_setters {
    ($make:literal, $end:literal) => {
        /// Length-prefixed frames (the default): a 4-byte big-endian length,
        /// then the message, as tokio-util's `LengthDelimitedCodec` sends.
        ///
        /// ```
        #[doc = concat!("let builder = ", $make, ".frames(); // the default")]
        /// # drop(builder);
        #[doc = $end]
        /// ```
        pub fn frames(self) -> Self {
            self.format($crate::Format::Frames)
        }

        /// Text lines, ending in `\n` (a `\r` before it is dropped): what
        /// `nc`, `telnet` and `socat` speak.
        ///
        /// ```
        #[doc = concat!("let builder = ", $make, ".lines();")]
        /// # drop(builder);
        #[doc = $end]
        /// ```
        pub fn lines(self) -> Self {
            self.format($crate::Format::Lines)
        }

        /// pyspeak's packets: an integer, a real, a boolean and a text.
        ///
        /// ```
        #[doc = concat!("let builder = ", $make, ".packets();")]
        /// # drop(builder);
        #[doc = $end]
        /// ```
        pub fn packets(self) -> Self {
            self.format($crate::Format::Packets)
        }

        /// Raw bytes, no framing: what a program with a plain socket speaks
        /// (`sendall(b"...")` and `recv(2048)`, as simplesockets and
        /// tcp-client-serv do). Each message received is a chunk of the
        /// bytes as they arrived, at most 64 KiB (set with
        /// [`max_frame_len`](Self::max_frame_len)); `send` sends the bytes as
        /// they are. TCP keeps no message boundaries, so one `sendall` may
        /// arrive as several chunks, and several as one. See
        /// [`Format::Raw`]($crate::Format::Raw) for a whole example.
        ///
        /// ```
        #[doc = concat!("let builder = ", $make, ".raw();")]
        /// # drop(builder);
        #[doc = $end]
        /// ```
        pub fn raw(self) -> Self {
            self.format($crate::Format::Raw)
        }

        /// Any [`Format`]($crate::Format); the server and its clients must
        /// use the same.
        ///
        /// ```
        #[doc = concat!("let builder = ", $make, ".format(frameloop::Format::Lines);")]
        /// # drop(builder);
        #[doc = $end]
        /// ```
        pub fn format(mut self, format: $crate::Format) -> Self {
            self.settings.format = format;
            self
        }

        /// Longest message accepted, in bytes: a peer that sends a longer one
        /// is disconnected, and `send` refuses one at once. Default: 8 MiB
        /// (64 KiB for lines). For [raw bytes](Self::raw), the largest chunk
        /// handed over at once (default 64 KiB): more is split, never
        /// refused.
        ///
        /// ```
        #[doc = concat!("let builder = ", $make, ".max_frame_len(64 * 1024);")]
        /// # drop(builder);
        #[doc = $end]
        /// ```
        pub fn max_frame_len(mut self, max: usize) -> Self {
            self.settings.max_len = Some(max);
            self
        }

        /// Without callbacks (a polling server, a client read with `recv`):
        /// how many bytes of events may wait for the program to take them.
        /// Past it, the peer whose message went over is not read (TCP then
        /// makes it wait; nothing is dropped) until the program has taken
        /// enough to bring the queue down to half; then every peer paused
        /// this way is read again. Each event counts its message's bytes
        /// plus under 100 for the event itself. What can wait beyond the
        /// limit is at most one message per peer (on a server with several
        /// threads, which share one queue, plus at worst what another thread
        /// hands over at the same moment). Default: 16 MiB. (Callbacks need
        /// no queue: they ignore this.)
        ///
        /// ```
        #[doc = concat!("let builder = ", $make, ".max_queued_bytes(1 << 20);")]
        /// # drop(builder);
        #[doc = $end]
        /// ```
        pub fn max_queued_bytes(mut self, max: usize) -> Self {
            self.settings.max_queued = Some(max);
            self
        }

        /// Without callbacks: how long a peer that shut down its sending
        /// side (as `echo hi | nc -N` does) is kept open for the program's
        /// replies. It stays open until the program has taken every message
        /// the peer sent and come back for more events, so no reply is lost;
        /// a program that never comes back cannot pin it: past this, it
        /// closes with
        /// [`CloseReason::HalfCloseTimeout`]($crate::CloseReason::HalfCloseTimeout).
        /// Default: 10 s. "Came back" is any thread taking events again: a
        /// program whose threads share the events should answer a message
        /// before another thread takes more, or a reply to a peer that
        /// half-closed meanwhile may find it closed
        /// ([`Error::ConnectionClosed`]($crate::Error::ConnectionClosed) in
        /// `errors()`).
        ///
        /// ```
        #[doc = concat!("let builder = ", $make, ".half_close_timeout(std::time::Duration::from_secs(2));")]
        /// # drop(builder);
        #[doc = $end]
        /// ```
        pub fn half_close_timeout(mut self, timeout: std::time::Duration) -> Self {
            self.settings.reactor = self.settings.reactor.half_close_timeout(timeout);
            self
        }

        /// Any other engine setting (write-buffer limits, read budget...):
        /// see [`ReactorBuilder`]($crate::ReactorBuilder).
        ///
        /// ```
        #[doc = concat!("let builder = ", $make, ".configure(|engine| engine.hard_cap(1 << 20));")]
        /// # drop(builder);
        #[doc = $end]
        /// ```
        pub fn configure(mut self, f: impl FnOnce($crate::ReactorBuilder) -> $crate::ReactorBuilder) -> Self {
            self.settings.reactor = f(self.settings.reactor);
            self
        }
    };
}

pub(crate) use shared_setters;

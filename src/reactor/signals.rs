//! Graceful stop on SIGINT and SIGTERM (feature `signals`).
//!
//! signal-hook's handler only writes a byte to a self-pipe, which is all a
//! signal handler may safely do; the pipe's read end is registered on the
//! reactor's own poller under the reserved [`SIGNALS`] token, so a signal
//! wakes the loop like any socket would, on whichever thread runs it. The
//! loop then asks for the same stop [`Ctx::stop`](crate::Ctx::stop) asks
//! for: one rule for stopping, whoever asks.

use std::{fmt, io};

use mio::{Interest, Registry};
use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook_mio::v1_0::Signals;

use super::conn::SIGNALS;
use super::core::Core;

/// The installed handlers and the read end of their pipe. Dropping it
/// removes the handlers.
pub(crate) struct SignalStop {
    signals: Signals,
}

impl SignalStop {
    /// Installs handlers for SIGINT and SIGTERM and registers their pipe
    /// with `registry`.
    pub(crate) fn register(registry: &Registry) -> io::Result<Self> {
        let mut signals = Signals::new([SIGINT, SIGTERM])?;
        registry.register(&mut signals, SIGNALS, Interest::READABLE)?;
        Ok(SignalStop { signals })
    }

    /// The pipe is readable: if a signal really arrived, start the graceful
    /// stop, or, if one is already under way, finish it at once (the
    /// operator who signals again does not want to wait for peers that
    /// stopped reading).
    pub(crate) fn on_ready(&mut self, core: &mut Core) {
        // `pending` drains the pipe (needed: readiness is edge-triggered) and
        // yields each signal once however often it arrived since the last
        // call; taking them all makes one burst (even SIGINT and SIGTERM
        // together) count as one request, and leaves none to be mistaken
        // for a second one later.
        let Some(signal) = self.signals.pending().last() else { return };
        let name = if signal == SIGINT { "SIGINT" } else { "SIGTERM" };
        if core.stopping {
            crate::log::signal_stops_now(name);
            core.stop_now();
        } else {
            crate::log::signal_stops(name);
            core.stop_requested = true;
        }
    }
}

impl fmt::Debug for SignalStop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SignalStop { signals: [SIGINT, SIGTERM] }")
    }
}

//! Busy polling changes how the reactor waits, not what it does: messages
//! still flow, timers still fire, and a stop still ends the loop.

mod common;

use std::time::Duration;

use common::*;
use frameloop::{ConnId, Ctx, Handler, Reactor, TimerId};

/// How long after the frame `timer` the handler's timer is due.
const TIMER_DELAY: Duration = Duration::from_millis(30);

/// Echoes every frame, except `timer`, which sets a timer that sends `tick`
/// to the same connection when it fires.
#[derive(Default)]
struct EchoAndTick {
    waiting: Vec<(TimerId, ConnId)>,
}

impl Handler for EchoAndTick {
    fn on_frame(&mut self, ctx: &mut Ctx<'_>, conn: ConnId, frame: &[u8]) {
        if frame == b"timer" {
            self.waiting.push((ctx.set_timer(TIMER_DELAY), conn));
        } else {
            let _ = ctx.send(conn, frame);
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_>, timer: TimerId) {
        if let Some(i) = self.waiting.iter().position(|&(id, _)| id == timer) {
            let (_, conn) = self.waiting.swap_remove(i);
            let _ = ctx.send(conn, b"tick");
        }
    }
}

/// Echoes on two connections taking turns, then a timer that only the
/// reactor's own clock can fire (nothing else arrives meanwhile), then a
/// graceful stop.
fn serves_and_fires_timers_while_busy_polling(spin: Duration) {
    let server = serve(Reactor::builder().busy_poll(Some(spin)), EchoAndTick::default());
    let mut a = connect(server.addr);
    let mut b = connect(server.addr);
    for i in 0..50u32 {
        for (s, name) in [(&mut a, "a"), (&mut b, "b")] {
            let payload = format!("{name} {i}");
            write_frame(s, payload.as_bytes());
            assert_eq!(read_frame(s), payload.as_bytes());
        }
    }
    write_frame(&mut a, b"timer");
    assert_eq!(read_frame(&mut a), b"tick", "the timer did not fire");
    // Still serving after the timer.
    write_frame(&mut b, b"after");
    assert_eq!(read_frame(&mut b), b"after");
    drop((a, b));
    // `stop` waits for the reactor's thread: a reactor spinning past the
    // wake-up would hang here (and the test would not finish).
    let stats = server.stop();
    assert_eq!(stats.frames_in, 50 * 2 + 2);
}

#[test]
fn a_short_busy_poll_still_echoes_and_fires_timers() {
    serves_and_fires_timers_while_busy_polling(Duration::from_micros(50));
}

#[test]
fn a_busy_poll_longer_than_a_timer_delay_still_fires_the_timer() {
    // The spin would last an hour on its own: only the timer's deadline
    // (and the stop's wake-up) can cut it short.
    serves_and_fires_timers_while_busy_polling(Duration::from_secs(3600));
}

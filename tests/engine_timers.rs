//! The handler's timers: they fire once, never before their delay, in
//! deadline order, and a cancelled one never fires.

mod common;

use std::sync::mpsc::{self, Receiver, Sender};
use std::time::{Duration, Instant};

use common::*;
use frameloop::{ConnId, Ctx, Handler, Reactor, TimerId};

/// What the timer handler tells the test.
#[derive(Debug, PartialEq)]
enum Event {
    /// `cancel_timer` returned this for the timer at this index of the plan.
    Cancelled(usize, bool),
    /// The timer at this index fired, this long after it was set (by the
    /// reactor's clock).
    Fired(usize, Duration),
    /// Cancelling a timer from its own `on_timer` returned this.
    CancelAfterFiring(bool),
}

/// On any frame: sets one timer per delay of `plan`, cancels those listed in
/// `cancel`, and reports everything on a channel.
struct Plan {
    plan: Vec<Duration>,
    cancel: Vec<usize>,
    set: Vec<(TimerId, Instant)>,
    events: Sender<Event>,
}

impl Handler for Plan {
    fn on_frame(&mut self, ctx: &mut Ctx<'_>, _conn: ConnId, _frame: &[u8]) {
        self.set = self.plan.iter().map(|&d| (ctx.set_timer(d), ctx.now())).collect();
        for &i in &self.cancel {
            let _ = self.events.send(Event::Cancelled(i, ctx.cancel_timer(self.set[i].0)));
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_>, timer: TimerId) {
        let index = self.set.iter().position(|&(id, _)| id == timer).expect("a timer this handler never set");
        let _ = self.events.send(Event::Fired(index, ctx.now() - self.set[index].1));
        let _ = self.events.send(Event::CancelAfterFiring(ctx.cancel_timer(timer)));
    }
}

/// Runs `plan` on a fresh server; returns the event channel and when the
/// frame that sets the timers was sent.
fn start(plan: Vec<Duration>, cancel: Vec<usize>) -> (TestServer, Receiver<Event>, Instant) {
    let (tx, rx) = mpsc::channel();
    let server = serve(Reactor::builder(), Plan { plan, cancel, set: Vec::new(), events: tx });
    let mut s = connect(server.addr);
    let sent = Instant::now();
    write_frame(&mut s, b"go");
    (server, rx, sent)
}

fn next(rx: &Receiver<Event>) -> Event {
    rx.recv_timeout(PATIENCE).expect("no timer event in time")
}

#[test]
fn a_timer_fires_once_and_not_before_its_delay() {
    const DELAY: Duration = Duration::from_millis(200);
    let (_server, rx, sent) = start(vec![DELAY], vec![]);
    let Event::Fired(0, after) = next(&rx) else { panic!("expected the timer to fire") };
    // By the reactor's clock, and by this thread's: the frame that set the
    // timer left after `sent`.
    assert!(after >= DELAY, "fired {after:?} after being set");
    assert!(sent.elapsed() >= DELAY, "fired {:?} after the frame was sent", sent.elapsed());
    assert_eq!(next(&rx), Event::CancelAfterFiring(false));
    assert!(rx.recv_timeout(DELAY * 2).is_err(), "the timer fired twice");
}

#[test]
fn a_cancelled_timer_never_fires() {
    let plan = vec![Duration::from_millis(50), Duration::from_millis(300)];
    let (_server, rx, _) = start(plan, vec![0]);
    assert_eq!(next(&rx), Event::Cancelled(0, true));
    // The later timer fires; the cancelled one, due long before, did not.
    assert!(matches!(next(&rx), Event::Fired(1, _)));
    assert_eq!(next(&rx), Event::CancelAfterFiring(false));
    assert!(rx.try_recv().is_err());
}

#[test]
fn many_timers_fire_in_deadline_order() {
    // Set in a scrambled order; deadlines 10 ms apart.
    let plan: Vec<Duration> = (0..30u64).map(|i| Duration::from_millis(20 + (i * 17 % 30) * 10)).collect();
    let (_server, rx, _) = start(plan.clone(), vec![]);
    let mut fired = Vec::new();
    while fired.len() < plan.len() {
        match next(&rx) {
            Event::Fired(i, after) => {
                assert!(after >= plan[i], "timer {i} fired {after:?} after being set, before its {:?}", plan[i]);
                fired.push(plan[i]);
            }
            Event::CancelAfterFiring(false) => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    let mut sorted = fired.clone();
    sorted.sort();
    assert_eq!(fired, sorted, "timers fired out of deadline order");
}

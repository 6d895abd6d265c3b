//! An event as it waits in a queue's chunk, on its way from a network
//! thread to the program. Most are small messages: one is only who sent it
//! and from where (its bytes are in the chunk's buffer), and becomes an
//! [`Event::Received`] when the program is handed it. Anything else waits
//! whole, boxed. So a message's chunk item is 56 bytes with its length,
//! not the 104 of an [`Event`]'s, and on its way from the reactor's
//! callback into the chunk it is not moved as a whole event from function
//! to function.

use super::events::Event;
use crate::addr::Addr;
use crate::handler::ConnId;
use crate::reactor::{HandOut, Weigh};

#[derive(Debug)]
pub(crate) enum Queued {
    /// A message from `client` at `addr`, its bytes pushed with it.
    Message { client: ConnId, addr: Addr },
    /// Any other event (a large message allocated already, a packet, a
    /// connect, a close, an error).
    Event(Box<Event>),
}

impl From<Event> for Queued {
    fn from(event: Event) -> Self {
        Queued::Event(Box::new(event))
    }
}

impl Weigh for Queued {
    /// As the event it becomes, so that the queue's limit means the same
    /// whatever the items' shape.
    #[inline]
    fn weight(&self) -> usize {
        match self {
            Queued::Message { .. } => std::mem::size_of::<Event>(),
            Queued::Event(event) => event.weight(),
        }
    }
}

impl HandOut for Queued {
    type Out = Event;

    #[inline]
    fn hand_out(self, bytes: &[u8]) -> Event {
        match self {
            Queued::Message { client, addr } => Event::Received { client, addr, data: bytes.to_vec() },
            Queued::Event(event) => *event,
        }
    }
}

impl Weigh for Event {
    fn weight(&self) -> usize {
        std::mem::size_of::<Event>()
            + match self {
                Event::Received { data, .. } => data.len(),
                Event::Packet { packet, .. } => packet.text.len(),
                _ => 0,
            }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facade::events::NO_ADDR;

    #[test]
    fn a_message_waits_small_and_weighs_as_the_event_it_becomes() {
        let client = ConnId { index: 3, generation: 1, home: 0 };
        assert!(std::mem::size_of::<Queued>() <= 48, "{} bytes", std::mem::size_of::<Queued>());
        let message = Queued::Message { client, addr: NO_ADDR };
        let event = Event::Received { client, addr: NO_ADDR, data: b"hi".to_vec() };
        assert_eq!(message.weight() + 2, event.weight());
        match message.hand_out(b"hi") {
            Event::Received { client: c, addr, data } => assert_eq!((c, addr, data), (client, NO_ADDR, b"hi".to_vec())),
            other => panic!("{other:?}"),
        }
        let whole = Queued::from(Event::Connected { client, addr: NO_ADDR });
        assert_eq!(whole.weight(), std::mem::size_of::<Event>());
        assert!(matches!(whole.hand_out(&[]), Event::Connected { client: c, .. } if c == client));
    }
}

//! A run of items (events, commands, mail) with the bytes of the messages
//! among them, one after the other: what one thread collects and hands to
//! another whole (the facade's events in a loop turn, the commands of a
//! [`Mailbox`](super::mailbox::Mailbox)). Handing over a chunk moves three pointers, not each event; a
//! message's bytes become its own `Vec` only when it is handed out, on the
//! program's thread, one at a time: freed by the thread that allocated it,
//! each allocation follows the last one's free, which keeps `malloc` on its
//! per-thread fast path.

use std::collections::VecDeque;

/// What an item weighs against a queue's limit: the bytes it carries, plus
/// its own size, so that a flood of empty messages is bounded too.
pub(crate) trait Weigh {
    fn weight(&self) -> usize;
}

/// An item that a chunk hands out as something of its own (see
/// [`Chunk::pop`]): a queued message becomes its event, with its bytes.
pub(crate) trait HandOut: Weigh {
    /// What the item is handed out as.
    type Out;

    /// The item as handed out, given the bytes it was pushed with.
    fn hand_out(self, bytes: &[u8]) -> Self::Out;
}

/// Above these, a chunk's buffers are not kept for reuse: one burst must
/// not pin its size for the life of the program.
const KEEP_DATA: usize = 1 << 20;
const KEEP_ITEMS: usize = 4096;

/// Events of type `T`, each with how many bytes of `data` are its own.
#[derive(Debug)]
pub(crate) struct Chunk<T> {
    items: VecDeque<(T, usize)>,
    data: Vec<u8>,
    /// Where the front item's bytes start in `data`.
    at: usize,
    /// What the items weigh (see [`Weigh`]), with their bytes.
    weight: usize,
}

impl<T> Default for Chunk<T> {
    fn default() -> Self {
        Chunk { items: VecDeque::new(), data: Vec::new(), at: 0, weight: 0 }
    }
}

impl<T: Weigh> Chunk<T> {
    /// Appends `item`, which gets `bytes` when it is handed out.
    #[inline]
    pub(crate) fn push(&mut self, item: T, bytes: &[u8]) {
        // Not `push_parts(item, &[bytes])`: the loop over parts cost a
        // fifth more instructions on the polling echo's every message.
        self.reset_if_emptied();
        self.weight += item.weight() + bytes.len();
        self.data.extend_from_slice(bytes);
        self.items.push_back((item, bytes.len()));
    }

    /// Appends `item`, which gets `parts`, one after the other, when it is
    /// handed out.
    pub(crate) fn push_parts(&mut self, item: T, parts: &[&[u8]]) {
        if let [bytes] = parts {
            return self.push(item, bytes);
        }
        self.reset_if_emptied();
        let len: usize = parts.iter().map(|p| p.len()).sum();
        self.weight += item.weight() + len;
        for part in parts {
            self.data.extend_from_slice(part);
        }
        self.items.push_back((item, len));
    }

    fn reset_if_emptied(&mut self) {
        if self.items.is_empty() {
            // Emptied: its bytes were all handed out.
            self.data.clear();
            self.at = 0;
        }
    }

    /// Hands out the front item, with its bytes given to it; and what it
    /// weighed.
    #[inline]
    pub(crate) fn pop(&mut self) -> Option<(T::Out, usize)>
    where
        T: HandOut,
    {
        let (item, bytes) = self.pop_borrowed()?;
        let weight = item.weight() + bytes.len();
        Some((item.hand_out(bytes), weight))
    }

    /// Hands out the front item, with its bytes lent.
    #[inline]
    pub(crate) fn pop_borrowed(&mut self) -> Option<(T, &[u8])> {
        let (item, len) = self.items.pop_front()?;
        self.weight -= item.weight() + len;
        let bytes = self.data.get(self.at..self.at + len).unwrap_or_default();
        self.at += len;
        Some((item, bytes))
    }

    pub(crate) fn len(&self) -> usize {
        self.items.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    pub(crate) fn weight(&self) -> usize {
        self.weight
    }

    /// Whether this emptied chunk's buffers are worth keeping for the next
    /// hand-over.
    pub(crate) fn worth_keeping(&self) -> bool {
        self.is_empty() && self.data.capacity() <= KEEP_DATA && self.items.capacity() <= KEEP_ITEMS
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    impl Weigh for Vec<u8> {
        fn weight(&self) -> usize {
            1 + self.len()
        }
    }

    impl HandOut for Vec<u8> {
        type Out = Vec<u8>;

        fn hand_out(mut self, bytes: &[u8]) -> Vec<u8> {
            self.extend_from_slice(bytes);
            self
        }
    }

    #[test]
    fn items_leave_in_order_with_their_bytes_and_the_weight_follows() {
        let mut chunk: Chunk<Vec<u8>> = Chunk::default();
        chunk.push(Vec::new(), b"one");
        chunk.push(b"own".to_vec(), b"");
        chunk.push(Vec::new(), b"three");
        assert_eq!(chunk.weight(), 4 + 4 + 6);
        assert_eq!(chunk.pop(), Some((b"one".to_vec(), 4)));
        assert_eq!((chunk.len(), chunk.weight()), (2, 10));
        assert_eq!(chunk.pop(), Some((b"own".to_vec(), 4)));
        assert_eq!(chunk.pop(), Some((b"three".to_vec(), 6)));
        assert_eq!((chunk.pop(), chunk.weight()), (None, 0));
        assert!(chunk.worth_keeping());
        chunk.push(Vec::new(), b"four");
        assert_eq!(
            (chunk.data.len(), chunk.pop_borrowed()),
            (4, Some((Vec::new(), &b"four"[..]))),
            "emptied, then reused"
        );
    }
}

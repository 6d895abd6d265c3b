//! Per-connection buffers, and the pool that lends them.
//!
//! An idle connection owns no buffer at all: its write buffer and its
//! carry-over buffer (the partial message that straddles two reads) are
//! borrowed from a [`BufPool`] when bytes need a home and given back as soon
//! as they are empty. Steady traffic therefore allocates nothing (the same
//! few buffers cycle through the pool), and ten thousand quiet connections
//! cost no buffer memory.

/// A bounded free-list of byte buffers.
///
/// Bounded twice: by the size of one buffer it keeps (a buffer that grew
/// large for one big message is freed, not hoarded) and by the bytes it
/// holds in all.
#[derive(Debug)]
pub(crate) struct BufPool {
    free: Vec<Vec<u8>>,
    pooled_bytes: usize,
    max_pooled_bytes: usize,
    max_buf_capacity: usize,
}

impl BufPool {
    pub(crate) fn new(max_pooled_bytes: usize, max_buf_capacity: usize) -> Self {
        BufPool { free: Vec::new(), pooled_bytes: 0, max_pooled_bytes, max_buf_capacity }
    }

    /// An empty buffer, reused when one is free.
    #[inline]
    pub(crate) fn take(&mut self) -> Vec<u8> {
        match self.free.pop() {
            Some(buf) => {
                self.pooled_bytes -= buf.capacity();
                buf
            }
            None => Vec::new(),
        }
    }

    /// Takes `buf` back (emptied), or frees it if the pool is full or the
    /// buffer too large to keep.
    #[inline]
    pub(crate) fn give(&mut self, mut buf: Vec<u8>) {
        let cap = buf.capacity();
        if cap == 0 || cap > self.max_buf_capacity || self.pooled_bytes + cap > self.max_pooled_bytes {
            return;
        }
        buf.clear();
        self.pooled_bytes += cap;
        self.free.push(buf);
    }
}

/// Bytes queued for one connection, oldest first.
///
/// Written bytes are consumed from the front by advancing `head`, so a
/// partial write costs no copy; the buffer is compacted only when the dead
/// front is both large and more than half of it.
#[derive(Debug, Default)]
pub(crate) struct WriteBuf {
    buf: Vec<u8>,
    head: usize,
}

/// Compact once the written front is this large (and over half the buffer).
const COMPACT_AFTER: usize = 64 * 1024;

impl WriteBuf {
    /// Bytes waiting to be written.
    #[inline]
    pub(crate) fn pending(&self) -> &[u8] {
        self.buf.get(self.head..).unwrap_or_default()
    }

    /// How many bytes wait.
    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.buf.len() - self.head
    }

    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The vector to append to, borrowing one from `pool` if this buffer
    /// owns none.
    #[inline]
    pub(crate) fn vec_mut(&mut self, pool: &mut BufPool) -> &mut Vec<u8> {
        if self.buf.capacity() == 0 {
            self.buf = pool.take();
        }
        &mut self.buf
    }

    /// Marks the first `n` pending bytes as written. Once everything is
    /// written the buffer goes back to `pool`.
    #[inline]
    pub(crate) fn consume(&mut self, n: usize, pool: &mut BufPool) {
        self.head = (self.head + n).min(self.buf.len());
        if self.head == self.buf.len() {
            self.head = 0;
            pool.give(std::mem::take(&mut self.buf));
        } else if self.head >= COMPACT_AFTER && self.head * 2 >= self.buf.len() {
            self.buf.drain(..self.head);
            self.head = 0;
        }
    }

    /// Drops everything queued and gives the buffer back.
    pub(crate) fn clear(&mut self, pool: &mut BufPool) {
        self.head = 0;
        pool.give(std::mem::take(&mut self.buf));
    }

    /// Capacity currently held (for memory accounting in tests).
    #[cfg(test)]
    pub(crate) fn capacity(&self) -> usize {
        self.buf.capacity()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_emptied_write_buffer_returns_its_memory_to_the_pool() {
        let mut pool = BufPool::new(1 << 20, 1 << 16);
        let mut wb = WriteBuf::default();
        wb.vec_mut(&mut pool).extend_from_slice(b"hello");
        assert_eq!(wb.pending(), b"hello");
        wb.consume(2, &mut pool);
        assert_eq!(wb.pending(), b"llo");
        wb.consume(3, &mut pool);
        assert!(wb.is_empty());
        assert_eq!(wb.capacity(), 0);
        // The next user gets the same allocation back.
        let again = pool.take();
        assert!(again.capacity() >= 5);
    }

    #[test]
    fn the_pool_frees_buffers_too_large_or_beyond_its_budget() {
        let mut pool = BufPool::new(100, 64);
        pool.give(Vec::with_capacity(65));
        assert_eq!(pool.take().capacity(), 0);
        pool.give(Vec::with_capacity(60));
        pool.give(Vec::with_capacity(60));
        assert_eq!(pool.pooled_bytes, 60);
    }

    #[test]
    fn a_large_written_front_is_compacted() {
        let mut pool = BufPool::new(0, 0);
        let mut wb = WriteBuf::default();
        wb.vec_mut(&mut pool).extend(std::iter::repeat_n(1u8, COMPACT_AFTER + 10));
        wb.consume(COMPACT_AFTER, &mut pool);
        assert_eq!(wb.head, 0);
        assert_eq!(wb.len(), 10);
    }
}

//! Per-connection buffers, and the pools that lend them.
//!
//! An idle connection owns no buffer at all: its write buffer and its read
//! buffer (which holds a partial message, or whole ones held back) are
//! borrowed from the [`Pools`] when bytes need a home and given back as
//! soon as they are empty. Steady traffic therefore allocates nothing at
//! any message size (the same few buffers of its size class cycle through
//! the pools), and ten thousand quiet connections cost no buffer memory.

use std::collections::VecDeque;
use std::io::{self, IoSlice, Write};

use crate::codec::Assembler;

/// The smallest size class: 4 KiB. Smaller requests get a buffer of it.
const MIN_CLASS_SHIFT: u32 = 12;

/// Size classes 4 KiB, 8 KiB, ... 16 MiB: the largest holds a frame of the
/// default 8 MiB maximum. A buffer beyond the largest is not kept.
const CLASSES: usize = 13;

/// A pool of byte buffers in power-of-two size classes.
///
/// Steady traffic of one size takes and gives back buffers of one class, so
/// it calls the allocator for none of them, at any message size.
///
/// Bounded by the bytes it keeps in all, and with hysteresis: at each
/// [`trim`](Self::trim) it frees the buffers of each class that stayed in
/// the pool since the last one. A burst that ends gives its memory back
/// within two trims, and traffic that goes on keeps its buffers however
/// large they are.
#[derive(Debug)]
pub(crate) struct BufPool {
    classes: [Class; CLASSES],
    pooled_bytes: usize,
    max_pooled_bytes: usize,
    /// Buffers for reading stay initialised (their `len()` is their size),
    /// so nothing is zero-filled when they are reused; buffers for writing
    /// are kept empty, to be appended to.
    initialised: bool,
}

/// The free buffers of one size class.
#[derive(Debug, Default)]
struct Class {
    free: Vec<Vec<u8>>,
    /// The fewest buffers `free` held since the last trim: those were not
    /// needed in that time.
    unused: usize,
}

/// The smallest class whose buffers hold `len` bytes, if any does.
fn class_holding(len: usize) -> Option<usize> {
    let shift = len.max(1).checked_next_power_of_two()?.trailing_zeros().max(MIN_CLASS_SHIFT);
    Some((shift - MIN_CLASS_SHIFT) as usize).filter(|&k| k < CLASSES)
}

/// The class a buffer of `size` bytes serves: the largest it is not
/// smaller than.
fn class_served_by(size: usize) -> Option<usize> {
    let shift = size.checked_ilog2()?;
    shift.checked_sub(MIN_CLASS_SHIFT).map(|k| k as usize).filter(|&k| k < CLASSES)
}

impl BufPool {
    /// A pool of buffers for reading into: initialised.
    pub(crate) fn for_reading(max_pooled_bytes: usize) -> Self {
        Self::new(max_pooled_bytes, true)
    }

    /// A pool of buffers for gathering output: empty, with capacity.
    pub(crate) fn for_writing(max_pooled_bytes: usize) -> Self {
        Self::new(max_pooled_bytes, false)
    }

    fn new(max_pooled_bytes: usize, initialised: bool) -> Self {
        BufPool { classes: Default::default(), pooled_bytes: 0, max_pooled_bytes, initialised }
    }

    /// A buffer of at least `len` bytes: `len()` bytes for reading,
    /// capacity for writing. Reused when its class has one free.
    #[inline]
    pub(crate) fn take(&mut self, len: usize) -> Vec<u8> {
        let Some(k) = class_holding(len) else { return self.fresh(len) };
        let class = &mut self.classes[k];
        match class.free.pop() {
            Some(buf) => {
                class.unused = class.unused.min(class.free.len());
                self.pooled_bytes -= Self::size_of(self.initialised, &buf);
                buf
            }
            None => {
                class.unused = 0;
                self.fresh(1 << (k as u32 + MIN_CLASS_SHIFT))
            }
        }
    }

    fn fresh(&self, size: usize) -> Vec<u8> {
        if self.initialised {
            vec![0; size]
        } else {
            Vec::with_capacity(size)
        }
    }

    /// What a buffer of this pool holds: its length for reading, its
    /// capacity for writing.
    fn size_of(initialised: bool, buf: &Vec<u8>) -> usize {
        if initialised {
            buf.len()
        } else {
            buf.capacity()
        }
    }

    /// Takes `buf` back, or frees it if the pool is full, or no class fits
    /// it.
    #[inline]
    pub(crate) fn give(&mut self, mut buf: Vec<u8>) {
        let size = Self::size_of(self.initialised, &buf);
        let Some(k) = class_served_by(size) else { return };
        if self.pooled_bytes + size > self.max_pooled_bytes {
            return;
        }
        if !self.initialised {
            buf.clear();
        }
        self.pooled_bytes += size;
        self.classes[k].free.push(buf);
    }

    /// Frees what was not needed since the last trim (see the type's doc).
    pub(crate) fn trim(&mut self) {
        let initialised = self.initialised;
        for class in &mut self.classes {
            for buf in class.free.drain(..class.unused) {
                self.pooled_bytes -= Self::size_of(initialised, &buf);
            }
            class.unused = class.free.len();
        }
    }

    /// Bytes kept (for tests of the bounds).
    #[cfg(test)]
    pub(crate) fn pooled_bytes(&self) -> usize {
        self.pooled_bytes
    }
}

impl crate::codec::Buffers for BufPool {
    fn take(&mut self, len: usize) -> Vec<u8> {
        BufPool::take(self, len)
    }

    fn give(&mut self, buf: Vec<u8>) {
        BufPool::give(self, buf);
    }
}

/// The two pools of a reactor: buffers to read into, and buffers to
/// gather output in. A received message sent back as it came
/// ([`WriteBuf::reserve_lent`]) goes from the first into a write buffer's
/// queue, and home again once written.
#[derive(Debug)]
pub(crate) struct Pools {
    pub(crate) read: BufPool,
    pub(crate) write: BufPool,
    /// The queues of sealed stretches that write buffers borrow while they
    /// hold more than one stretch, so that a connection that once queued
    /// much keeps no queue when idle, and steady traffic makes none.
    queues: Vec<Stretches>,
}

/// A write buffer's queue of sealed stretches, boxed: 8 bytes inline in
/// every connection instead of 32.
// Boxed on purpose, see above; clippy would have the queue inline.
#[allow(clippy::box_collection)]
type Stretches = Box<VecDeque<Chunk>>;

/// Most queues [`Pools`] keeps: one per connection that has many stretches
/// queued at once.
const MAX_POOLED_QUEUES: usize = 1024;

impl Pools {
    pub(crate) fn new(max_pooled_bytes: usize) -> Self {
        Pools {
            read: BufPool::for_reading(max_pooled_bytes),
            write: BufPool::for_writing(max_pooled_bytes),
            queues: Vec::new(),
        }
    }

    fn take_queue(&mut self) -> Stretches {
        self.queues.pop().unwrap_or_default()
    }

    fn give_queue(&mut self, queue: Stretches) {
        if self.queues.len() < MAX_POOLED_QUEUES && queue.is_empty() {
            self.queues.push(queue);
        }
    }

    pub(crate) fn trim(&mut self) {
        self.read.trim();
        self.write.trim();
    }

    /// Drops what `input` holds, and takes its buffer back: the input of a
    /// connection that closed.
    pub(crate) fn discard(&mut self, input: &mut Assembler) {
        input.clear();
        if let Some(buf) = input.release() {
            self.read.give(buf);
        }
    }
}

/// One stretch of queued output.
#[derive(Debug)]
enum Chunk {
    /// Messages encoded one after another, in a buffer of the write pool.
    Gathered(Vec<u8>),
    /// Received messages sent back as they came: `buf[start..end]` of the
    /// read buffer they arrived in, lent until written. `buf` is empty
    /// while the callbacks that sent them still run (the read buffer is
    /// borrowed then).
    Lent { buf: Vec<u8>, start: usize, end: usize },
}

impl Chunk {
    /// How many bytes it queues; a lent place counts before it is filled.
    fn bytes_len(&self) -> usize {
        match self {
            Chunk::Gathered(buf) => buf.len(),
            Chunk::Lent { start, end, .. } => end - start,
        }
    }

    /// A lent place whose bytes have not come yet.
    fn is_waiting(&self) -> bool {
        matches!(self, Chunk::Lent { buf, .. } if buf.is_empty())
    }

    fn bytes(&self) -> &[u8] {
        match self {
            Chunk::Gathered(buf) => buf,
            Chunk::Lent { buf, start, end } => buf.get(*start..*end).unwrap_or_default(),
        }
    }

    fn recycle(self, pools: &mut Pools) {
        match self {
            Chunk::Gathered(buf) => pools.write.give(buf),
            Chunk::Lent { buf, .. } => pools.read.give(buf),
        }
    }
}

/// The largest stretch opened for small messages: as large as one read, so
/// a flood of small replies leaves in few stretches.
const MAX_GATHER: usize = 64 * 1024;

/// Most stretches written by one call: small messages gather in one, so
/// more than a few are large ones, which fill the socket buffer anyway.
const MAX_WRITE_SLICES: usize = 16;

/// Bytes queued for one connection, oldest first.
///
/// Small messages are appended to the open stretch while it has room; a
/// message that does not fit seals it and opens a new one from the pool
/// (so nothing is ever reallocated and copied), and a received message
/// sent back as it came is a stretch of its own. Written bytes are consumed
/// from the front by advancing `head`, so a partial write costs no copy.
/// Several stretches leave in one vectored write. Small-message traffic
/// never seals a stretch, so it costs what one buffer does.
#[derive(Debug, Default)]
pub(crate) struct WriteBuf {
    /// Full stretches, oldest first, all older than `open`: a queue from
    /// [`Pools`] while there are any.
    sealed: Option<Stretches>,
    /// The stretch appended to; empty, without capacity, when idle.
    open: Vec<u8>,
    /// Bytes of the front stretch already written.
    head: usize,
    /// Bytes waiting in all.
    len: usize,
}

impl WriteBuf {
    /// How many bytes wait.
    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Appends with `append`, which writes at most `room` bytes, to the
    /// open stretch, after opening a new one from `pool` if it lacks the
    /// room. What `append` wrote counts as queued, even if it then fails.
    #[inline]
    pub(crate) fn append<R>(&mut self, room: usize, pools: &mut Pools, append: impl FnOnce(&mut Vec<u8>) -> R) -> R {
        if self.open.capacity() - self.open.len() < room {
            // Twice the last stretch, as a growing vector would, so a
            // connection that queues much does it in few stretches.
            let size = room.max((2 * self.open.capacity()).min(MAX_GATHER));
            self.seal(pools);
            self.open = pools.write.take(size);
        }
        let before = self.open.len();
        let result = append(&mut self.open);
        self.len += self.open.len() - before;
        result
    }

    /// Ends the open stretch: into `sealed` if it holds bytes, back to
    /// `pool` if not.
    fn seal(&mut self, pools: &mut Pools) {
        let open = std::mem::take(&mut self.open);
        if open.is_empty() {
            pools.write.give(open);
        } else {
            self.sealed_mut(pools).push_back(Chunk::Gathered(open));
        }
    }

    fn sealed_mut(&mut self, pools: &mut Pools) -> &mut VecDeque<Chunk> {
        self.sealed.get_or_insert_with(|| pools.take_queue())
    }

    fn sealed(&self) -> impl Iterator<Item = &Chunk> {
        self.sealed.iter().flat_map(|s| s.iter())
    }

    /// Queues a place for the received bytes `start..end` of a read
    /// buffer, to be sent back as they came: [`fill_lent`](Self::fill_lent)
    /// puts the buffer there once the callbacks that sent them have
    /// returned.
    pub(crate) fn reserve_lent(&mut self, start: usize, end: usize, pools: &mut Pools) {
        self.seal(pools);
        self.sealed_mut(pools).push_back(Chunk::Lent { buf: Vec::new(), start, end });
        self.len += end - start;
    }

    /// Extends the place [`reserve_lent`](Self::reserve_lent) queued last
    /// to `end`, if nothing was queued after it and it ends at `start`: the
    /// next message of the same read, sent back right after it. Returns
    /// whether it did.
    pub(crate) fn extend_lent(&mut self, start: usize, end: usize) -> bool {
        if !self.open.is_empty() {
            return false;
        }
        match self.sealed.as_mut().and_then(|s| s.back_mut()) {
            Some(Chunk::Lent { buf, end: last, .. }) if buf.is_empty() && *last == start => {
                *last = end;
                self.len += end - start;
                true
            }
            _ => false,
        }
    }

    /// The range of the place from [`reserve_lent`](Self::reserve_lent)
    /// still waiting for its buffer; none if the connection was closed
    /// meanwhile.
    pub(crate) fn waiting_lent(&self) -> Option<(usize, usize)> {
        match self.sealed().find(|c| c.is_waiting()) {
            Some(Chunk::Lent { start, end, .. }) => Some((*start, *end)),
            _ => None,
        }
    }

    /// Fills the waiting place: with `Ok(buf)`, the read buffer that holds
    /// its bytes where it said; with `Err(bytes)`, a copy of them in a
    /// buffer from `pool`.
    pub(crate) fn fill_lent(&mut self, lent: Result<Vec<u8>, &[u8]>, pool: &mut BufPool) {
        let Some(slot) = self.sealed.iter_mut().flat_map(|s| s.iter_mut()).find(|c| c.is_waiting()) else {
            return;
        };
        let Chunk::Lent { start, end, .. } = *slot else { return };
        let filled = match lent {
            Ok(buf) if buf.get(start..end).is_some() => Chunk::Lent { buf, start, end },
            Ok(_) => Chunk::Gathered(Vec::new()),
            Err(bytes) => {
                let mut copy = pool.take(bytes.len());
                copy.extend_from_slice(bytes);
                Chunk::Gathered(copy)
            }
        };
        // The same length unless the caller lost the bytes: then what it
        // gave is what is queued.
        let filled_len = filled.bytes_len();
        *slot = filled;
        self.len = self.len - (end - start) + filled_len;
    }

    /// Every stretch with bytes, oldest first.
    fn stretches(&self) -> impl Iterator<Item = &[u8]> {
        self.sealed().map(Chunk::bytes).chain(Some(self.open.as_slice()).filter(|o| !o.is_empty()))
    }

    /// Writes what waits to `to` in one call, vectored when it spans
    /// several stretches. Returns what the call wrote, and how many bytes
    /// it was offered: fewer than wait when there are more stretches than
    /// one call takes.
    pub(crate) fn write_to(&self, to: &mut impl Write) -> io::Result<(usize, usize)> {
        let mut stretches = self.stretches().peekable();
        let first = stretches.next().unwrap_or_default().get(self.head..).unwrap_or_default();
        if stretches.peek().is_none() {
            return Ok((to.write(first)?, first.len()));
        }
        let mut slices = [IoSlice::new(&[]); MAX_WRITE_SLICES];
        let (mut n, mut offered) = (0, 0);
        for (slot, bytes) in slices.iter_mut().zip(std::iter::once(first).chain(stretches)) {
            *slot = IoSlice::new(bytes);
            n += 1;
            offered += bytes.len();
        }
        Ok((to.write_vectored(slices.get(..n).unwrap_or_default())?, offered))
    }

    /// Marks the first `n` waiting bytes as written. Each stretch written
    /// whole goes back to its pool, the open one too.
    #[inline]
    pub(crate) fn consume(&mut self, n: usize, pools: &mut Pools) {
        let mut n = n.min(self.len);
        self.len -= n;
        if let Some(sealed) = self.sealed.as_mut() {
            while let Some(front) = sealed.front() {
                let left = front.bytes_len() - self.head;
                if n < left {
                    self.head += n;
                    return;
                }
                n -= left;
                self.head = 0;
                if let Some(chunk) = sealed.pop_front() {
                    chunk.recycle(pools);
                }
            }
            if let Some(queue) = self.sealed.take() {
                pools.give_queue(queue);
            }
        }
        self.head += n;
        if self.head >= self.open.len() {
            self.head = 0;
            pools.write.give(std::mem::take(&mut self.open));
        }
    }

    /// Drops everything queued and gives the buffers back.
    pub(crate) fn clear(&mut self, pools: &mut Pools) {
        self.head = 0;
        self.len = 0;
        if let Some(mut queue) = self.sealed.take() {
            for chunk in queue.drain(..) {
                chunk.recycle(pools);
            }
            pools.give_queue(queue);
        }
        pools.write.give(std::mem::take(&mut self.open));
    }

    /// Buffer bytes currently held (for memory accounting in tests).
    #[cfg(test)]
    pub(crate) fn capacity(&self) -> usize {
        let sealed: usize = self
            .sealed()
            .map(|c| match c {
                Chunk::Gathered(b) => b.capacity(),
                Chunk::Lent { buf, .. } => buf.len(),
            })
            .sum();
        sealed + self.open.capacity()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pools() -> Pools {
        Pools::new(64 << 20)
    }

    #[test]
    fn an_emptied_write_buffer_returns_its_memory_to_the_pool() {
        let mut pools = pools();
        let mut wb = WriteBuf::default();
        wb.append(5, &mut pools, |v| v.extend_from_slice(b"hello"));
        assert_eq!(wb.stretches().collect::<Vec<_>>(), [b"hello"]);
        wb.consume(2, &mut pools);
        assert_eq!(wb.len(), 3);
        wb.consume(3, &mut pools);
        assert!(wb.is_empty());
        assert_eq!(wb.capacity(), 0);
        // The next user gets the same allocation back.
        assert_eq!(pools.write.pooled_bytes(), 4096);
        assert!(pools.write.take(5).capacity() >= 5);
        assert_eq!(pools.write.pooled_bytes(), 0);
    }

    #[test]
    fn a_message_that_does_not_fit_opens_a_stretch_and_both_leave_in_one_write() {
        let mut pools = pools();
        let mut wb = WriteBuf::default();
        wb.append(4000, &mut pools, |v| v.extend(std::iter::repeat_n(1u8, 4000)));
        wb.append(200, &mut pools, |v| v.extend(std::iter::repeat_n(2u8, 200)));
        assert_eq!(wb.sealed().count(), 1, "no reallocation: a second stretch");
        let mut out = Vec::new();
        assert_eq!(wb.write_to(&mut out).unwrap(), (4200, 4200));
        wb.consume(4100, &mut pools);
        assert_eq!(wb.len(), 100);
        let mut rest = Vec::new();
        wb.write_to(&mut rest).unwrap();
        assert_eq!(rest, vec![2u8; 100]);
        wb.consume(100, &mut pools);
        assert_eq!(wb.capacity(), 0);
    }

    #[test]
    fn a_lent_message_keeps_its_place_and_goes_home_to_the_read_pool() {
        let mut pools = pools();
        let mut wb = WriteBuf::default();
        wb.append(1, &mut pools, |v| v.push(b'a'));
        wb.reserve_lent(10, 12, &mut pools);
        assert!(wb.extend_lent(12, 13), "the next message of the read, right after");
        assert!(!wb.extend_lent(14, 15), "not contiguous");
        wb.append(1, &mut pools, |v| v.push(b'z'));
        assert!(!wb.extend_lent(13, 14), "something was queued after it");
        assert_eq!(wb.len(), 5);
        assert_eq!(wb.waiting_lent(), Some((10, 13)));
        let mut read_buf = pools.read.take(8192);
        read_buf[10..13].copy_from_slice(b"mid");
        wb.fill_lent(Ok(read_buf), &mut pools.write);
        assert_eq!(wb.waiting_lent(), None);
        let mut out = Vec::new();
        wb.write_to(&mut out).unwrap();
        assert_eq!(out, b"amidz");
        wb.consume(5, &mut pools);
        assert_eq!(pools.read.pooled_bytes(), 8192, "the read buffer is back, still initialised");
        assert_eq!(pools.read.take(8192).len(), 8192);
    }

    #[test]
    fn a_lent_place_can_be_filled_with_a_copy() {
        let mut pools = pools();
        let mut wb = WriteBuf::default();
        wb.reserve_lent(0, 2, &mut pools);
        wb.fill_lent(Err(b"hi"), &mut pools.write);
        let mut out = Vec::new();
        wb.write_to(&mut out).unwrap();
        assert_eq!(out, b"hi");
    }

    #[test]
    fn size_classes_round_up_to_powers_of_two_from_4_kib() {
        assert_eq!(class_holding(0), Some(0));
        assert_eq!(class_holding(4096), Some(0));
        assert_eq!(class_holding(4097), Some(1));
        assert_eq!(class_holding((1 << 20) + 4), Some(9));
        assert_eq!(class_holding(usize::MAX), None);
        assert_eq!(class_served_by(4095), None);
        assert_eq!(class_served_by(8191), Some(0));
        assert_eq!(class_served_by(16 << 20), Some(CLASSES - 1));
        assert_eq!(class_served_by(32 << 20), None);
        let mut pool = BufPool::for_reading(64 << 20);
        assert_eq!(pool.take(5000).len(), 8192);
    }

    #[test]
    fn the_pool_keeps_no_more_than_its_budget() {
        let mut pool = BufPool::for_writing(10_000);
        pool.give(Vec::with_capacity(8192));
        pool.give(Vec::with_capacity(8192));
        assert_eq!(pool.pooled_bytes(), 8192);
        pool.give(Vec::with_capacity(100));
        assert_eq!(pool.pooled_bytes(), 8192, "too small for a class");
    }

    #[test]
    fn a_trim_frees_only_the_buffers_unused_since_the_last_one() {
        let mut pool = BufPool::for_reading(64 << 20);
        let (a, b) = (pool.take(4096), pool.take(4096));
        pool.give(a);
        pool.give(b);
        pool.trim(); // both were taken in this period: kept
        assert_eq!(pool.pooled_bytes(), 8192);
        let c = pool.take(4096);
        pool.give(c);
        pool.trim(); // one of the two stayed unused all along: freed
        assert_eq!(pool.pooled_bytes(), 4096);
        pool.trim();
        assert_eq!(pool.pooled_bytes(), 0);
    }
}
#[cfg(test)]
mod writes_in_pieces {
    use super::*;

    /// A writer that takes at most `.1` bytes per call, vectored or not.
    struct Limited(Vec<u8>, usize);
    impl Write for Limited {
        fn write(&mut self, b: &[u8]) -> io::Result<usize> {
            let n = b.len().min(self.1);
            self.0.extend_from_slice(&b[..n]);
            Ok(n)
        }
        fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
            let mut left = self.1;
            let mut n = 0;
            for b in bufs {
                let k = b.len().min(left);
                self.0.extend_from_slice(&b[..k]);
                left -= k;
                n += k;
            }
            Ok(n)
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }
    #[test]
    fn sixty_four_large_messages_written_in_pieces_come_out_whole_and_in_order() {
        let mut pools = Pools::new(64 << 20);
        let mut wb = WriteBuf::default();
        let mut expect = Vec::new();
        for i in 0..64u8 {
            let m = vec![i; 65540];
            expect.extend_from_slice(&m);
            wb.append(m.len(), &mut pools, |v| v.extend_from_slice(&m));
        }
        let mut out = Limited(Vec::new(), 100_000);
        while !wb.is_empty() {
            let (n, _) = wb.write_to(&mut out).unwrap();
            wb.consume(n, &mut pools);
        }
        assert_eq!(out.0.len(), expect.len());
        assert!(out.0 == expect);
    }
}

//! The properties the fuzz targets check, one function per target.
//!
//! The fuzz targets (`fuzz/fuzz_targets/`) and `tests/fuzz_regressions.rs`
//! both include this module by path, so a saved input is replayed against
//! exactly the property that found it. It lives under `tests/`, not `fuzz/`,
//! so that the published package (which leaves out the `fuzz/` crate) still
//! has it. Every function takes the fuzzer's raw input and panics when a
//! property fails; `tests/fuzz_inputs/seeds/README.md` describes how each
//! one reads it.

mod decode;
mod roundtrip;
mod split;

pub use decode::{frame, lines, packet};
pub use roundtrip::roundtrip;
pub use split::split;

/// A property check: panics when the input breaks it.
pub type Check = fn(&[u8]);

/// Every target by name: the directory names under
/// `tests/fuzz_inputs/seeds/` and `tests/fuzz_inputs/regressions/`, and the
/// binary names in `fuzz/Cargo.toml`.
pub const TARGETS: &[(&str, Check)] =
    &[("frame", frame), ("lines", lines), ("packet", packet), ("split", split), ("roundtrip", roundtrip)];

/// Reads a maximum message length from the start of the input and returns
/// it with the bytes after it.
///
/// `0xFF` picks `default` and `0xFE` picks no limit (one byte each);
/// otherwise two bytes give 0..=1024, so that tiny maxima and the exact
/// boundary get exercised far more often than a random `usize` would.
pub fn max_len(data: &[u8], default: usize) -> (usize, &[u8]) {
    match data {
        [0xFF, rest @ ..] => (default, rest),
        [0xFE, rest @ ..] => (usize::MAX, rest),
        [a, b, rest @ ..] => (usize::from(u16::from_be_bytes([*a, *b])) % 1025, rest),
        _ => (default, data),
    }
}

/// Asserts that `item` is the `len` bytes of `buf` at `offset`: borrowed in
/// place, not copied, and not reaching past the input.
#[track_caller]
fn assert_borrows(item: &[u8], buf: &[u8], offset: usize) {
    let expected = &buf[offset..offset + item.len()];
    assert_eq!(item.as_ptr(), expected.as_ptr(), "item is not borrowed from the input");
}

//! Value parsers the commands share, so that a bad value is refused by clap
//! with an error that names its flag, the same way for every command.
//!
//! Addresses have no parser here: the commands take them as strings and the
//! library resolves them (`frameloop::resolve`, or when binding), so its one
//! rule decides and its message is the one shown.

/// Bytes in a kibibyte, the `k` of [`bytes`].
const KIB: u64 = 1 << 10;
/// Bytes in a mebibyte, the `m` of [`bytes`].
const MIB: u64 = 1 << 20;

/// A number of bytes: plain, or with a binary suffix, `k`/`K` (x 1024) or
/// `m`/`M` (x 1024 x 1024), so `64k` is 65536 and `1m` 1048576. Binary, not
/// decimal, because buffer sizes are, and a `1m` frame should be 1 MiB.
pub fn bytes(s: &str) -> Result<u64, String> {
    let (digits, unit) = if let Some(d) = s.strip_suffix(['k', 'K']) {
        (d, KIB)
    } else if let Some(d) = s.strip_suffix(['m', 'M']) {
        (d, MIB)
    } else {
        (s, 1)
    };
    // Digits only: `parse` alone would take a sign, `+64`.
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err("expected a number of bytes, e.g. 64, 8k or 1m (k: x 1024, m: x 1024 x 1024)".to_owned());
    }
    digits.parse::<u64>().ok().and_then(|n| n.checked_mul(unit)).ok_or_else(|| format!("{s} is too many bytes"))
}

/// `n` bytes the way [`bytes`] reads them: with the largest suffix that
/// divides it exactly, so `bytes(&bytes_text(n)) == Ok(n)`.
pub fn bytes_text(n: u64) -> String {
    match n {
        0 => "0".to_owned(),
        _ if n.is_multiple_of(MIB) => format!("{}m", n / MIB),
        _ if n.is_multiple_of(KIB) => format!("{}k", n / KIB),
        _ => n.to_string(),
    }
}

/// A number of seconds, fractions allowed, zero or more.
pub fn seconds(s: &str) -> Result<f64, String> {
    let secs: f64 = s.parse().map_err(|_| "expected a number of seconds, e.g. 5 or 0.5".to_owned())?;
    if secs.is_finite() && secs >= 0.0 {
        Ok(secs)
    } else {
        Err("expected a number of seconds, zero or more".to_owned())
    }
}

/// A number of seconds above zero.
pub fn positive_seconds(s: &str) -> Result<f64, String> {
    match seconds(s) {
        Ok(secs) if secs > 0.0 => Ok(secs),
        _ => Err("expected a number of seconds above zero, e.g. 5 or 0.5".to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_refuse_what_is_not_a_duration() {
        assert_eq!(seconds("0.5"), Ok(0.5));
        assert_eq!(seconds("0"), Ok(0.0));
        assert!(seconds("-1").is_err());
        assert!(seconds("inf").is_err());
        assert!(seconds("NaN").is_err());
        assert!(positive_seconds("0").is_err());
        assert!(positive_seconds("-2").unwrap_err().contains("above zero"));
        assert_eq!(positive_seconds("3"), Ok(3.0));
    }

    #[test]
    fn bytes_take_binary_suffixes() {
        assert_eq!(bytes("64"), Ok(64));
        assert_eq!(bytes("1k"), Ok(1024));
        assert_eq!(bytes("1K"), Ok(1024));
        assert_eq!(bytes("64k"), Ok(65_536));
        assert_eq!(bytes("1m"), Ok(1_048_576));
        assert_eq!(bytes("2M"), Ok(2 << 20));
        assert_eq!(bytes("0"), Ok(0));
    }

    #[test]
    fn bytes_refuse_what_is_not_a_size() {
        for bad in ["", "k", "1g", "1kb", "1.5k", "-1", "+64", " 64", "64 ", "1km", "0x10"] {
            let err = bytes(bad).unwrap_err();
            assert!(err.contains("e.g. 64, 8k or 1m"), "{bad:?}: {err}");
        }
        assert!(bytes("99999999999999999999").unwrap_err().contains("too many bytes"));
        assert!(bytes("17592186044416m").unwrap_err().contains("too many bytes"));
    }

    #[test]
    fn bytes_text_reads_back() {
        for (n, text) in [(0, "0"), (12, "12"), (1536, "1536"), (8192, "8k"), (1 << 20, "1m"), (3 << 19, "1536k")] {
            assert_eq!(bytes_text(n), text);
            assert_eq!(bytes(text), Ok(n));
        }
    }
}

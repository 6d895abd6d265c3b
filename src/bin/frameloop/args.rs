//! Value parsers the commands share, so that a bad value is refused by clap
//! with an error that names its flag, the same way for every command.
//!
//! Addresses have no parser here: the commands take them as strings and the
//! library resolves them (`frameloop::resolve`, or when binding), so its one
//! rule decides and its message is the one shown.

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
}

//! Value parsers the commands share, so that a bad value is refused by clap
//! with an error that names its flag, the same way for every command.

use std::net::{SocketAddr, ToSocketAddrs};

/// A socket address, `127.0.0.1:7000` or `localhost:7000` (the first
/// address the name resolves to).
pub fn socket_addr(s: &str) -> Result<SocketAddr, String> {
    s.to_socket_addrs()
        .map_err(|e| format!("{e} (expected IP:PORT, e.g. 127.0.0.1:7000)"))?
        .next()
        .ok_or_else(|| "the name resolves to no address".to_owned())
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
    fn addresses_resolve_or_say_what_is_expected() {
        assert_eq!(socket_addr("127.0.0.1:7000"), Ok("127.0.0.1:7000".parse().unwrap()));
        assert!(socket_addr("nonsense").unwrap_err().contains("IP:PORT"));
    }
}

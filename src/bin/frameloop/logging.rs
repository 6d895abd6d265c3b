//! The stderr logger of `frameloop echo -v`: the library's operator logs (a
//! connection closed and why, a limit hit) go through the `log` facade and
//! show only once a logger is installed.

use log::LevelFilter;

/// The level `-v` repeated `verbose` times asks for; `None` without `-v`.
fn level(verbose: u8) -> Option<LevelFilter> {
    match verbose {
        0 => None,
        1 => Some(LevelFilter::Info),
        2 => Some(LevelFilter::Debug),
        _ => Some(LevelFilter::Trace),
    }
}

/// Installs a logger writing to stderr at the level `-v` asks for. Without
/// `-v` none is installed, so nothing extra is printed, unless `RUST_LOG`
/// asks for one; `RUST_LOG`, when set, has the last word on the filter.
pub fn init(verbose: u8) {
    let level = level(verbose);
    if level.is_none() && std::env::var_os("RUST_LOG").is_none() {
        return;
    }
    let mut builder = env_logger::Builder::new();
    builder.target(env_logger::Target::Stderr);
    if let Some(level) = level {
        builder.filter_level(level);
    }
    builder.parse_default_env();
    // Only fails if a logger is already installed, which then keeps logging.
    let _ = builder.try_init();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_v_shows_more() {
        assert_eq!(level(0), None);
        assert_eq!(level(1), Some(LevelFilter::Info));
        assert_eq!(level(2), Some(LevelFilter::Debug));
        assert_eq!(level(5), Some(LevelFilter::Trace));
    }
}

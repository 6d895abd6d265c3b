//! The generated project's `Cargo.toml`: its package name and where its
//! frameloop comes from.
//!
//! The dependency turns frameloop's default features off: they are this
//! command line (clap, indicatif, ...), which a project that uses the
//! library would only compile for nothing. It asks for no `signals` either:
//! the generated server's own code runs on the main thread and may never
//! look at the server, so Ctrl-C must keep ending the process; the comment
//! above the line says how to opt in.

use std::path::{Path, PathBuf};

/// Where the generated project's frameloop comes from.
#[derive(Debug)]
pub enum Source {
    /// The version published on crates.io that this command line belongs to.
    Published,
    /// A checkout on this machine (an absolute path), to work on frameloop
    /// itself.
    Path(PathBuf),
}

pub fn cargo_toml(name: &str, source: &Source) -> String {
    let from = match source {
        Source::Published => format!("version = {}", toml_string(env!("CARGO_PKG_VERSION"))),
        Source::Path(dir) => format!("path = {}", toml_string(&dir.to_string_lossy())),
    };
    format!(
        "[package]\n\
         name = \"{name}\"\n\
         version = \"0.1.0\"\n\
         edition = \"2021\"\n\
         \n\
         [dependencies]\n\
         # The library alone: frameloop's default feature is its command line.\n\
         # For a graceful stop on Ctrl-C and SIGTERM, add `features = [\"signals\"]`\n\
         # and call `.stop_on_signals()` on the server builder.\n\
         frameloop = {{ {from}, default-features = false }}\n\
         \n\
         # A project of its own, even when created inside another Cargo workspace.\n\
         [workspace]\n"
    )
}

/// `s` as a TOML basic string.
fn toml_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A valid Cargo package name made from the directory's name.
pub fn package_name(dir: &Path) -> String {
    let base = dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let mut name: String = base
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '_' || c == '-' { c.to_ascii_lowercase() } else { '_' })
        .collect();
    if !name.starts_with(|c: char| c.is_ascii_alphabetic()) {
        name.insert_str(0, "app_");
    }
    name
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn package_names_are_valid_whatever_the_directory() {
        assert_eq!(package_name(Path::new("/x/Chat Box")), "chat_box");
        assert_eq!(package_name(Path::new("2048")), "app_2048");
        assert_eq!(package_name(Path::new("my-app")), "my-app");
    }

    #[test]
    fn toml_strings_escape_quotes_and_backslashes() {
        assert_eq!(toml_string(r#"C:\a "b""#), r#""C:\\a \"b\"""#);
    }

    #[test]
    fn the_dependency_is_the_library_alone_from_where_it_was_asked() {
        let published = cargo_toml("app", &Source::Published);
        let version = env!("CARGO_PKG_VERSION");
        assert!(published.contains(&format!("frameloop = {{ version = \"{version}\", default-features = false }}")));
        assert!(!published.contains("path ="));
        let local = cargo_toml("app", &Source::Path(PathBuf::from("/src/frameloop")));
        assert!(local.contains("frameloop = { path = \"/src/frameloop\", default-features = false }"));
    }
}

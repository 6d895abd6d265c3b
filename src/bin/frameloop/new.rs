//! `frameloop new DIR`: a new Cargo project with a server and a client to
//! fill in (pyspeak's `pyspeak.py project_directory`).

use std::fs;
use std::path::{Path, PathBuf};

use crate::args::Args;

const SERVER_MAIN: &str = include_str!("templates/server_main.rs.txt");
const CLIENT_MAIN: &str = include_str!("templates/client_main.rs.txt");
const README: &str = include_str!("templates/readme.md.txt");

/// Where this copy of frameloop lives: the generated project depends on it
/// by path.
const FRAMELOOP_DIR: &str = env!("CARGO_MANIFEST_DIR");

pub fn run(raw: &[String]) -> Result<(), String> {
    let args = Args::parse(raw, &[])?;
    let dir = args.positional(0).ok_or("usage: frameloop new DIR")?;
    let dir = PathBuf::from(dir);
    create(&dir)?;
    println!("Project created successfully in {}.", dir.display());
    println!();
    println!("    cd {}", dir.display());
    println!("    cargo run --bin server_main -- 127.0.0.1:1996");
    println!("    cargo run --bin client_main -- 127.0.0.1:1996   (in another terminal)");
    Ok(())
}

/// Writes the project into `dir`, which must be missing or empty.
pub fn create(dir: &Path) -> Result<(), String> {
    if let Ok(mut entries) = fs::read_dir(dir) {
        if entries.next().is_some() {
            return Err(format!("{} is not empty: choose a new directory (nothing was written)", dir.display()));
        }
    } else if dir.exists() {
        return Err(format!("{} exists and is not a directory", dir.display()));
    }
    let name = package_name(dir);
    let write = |path: &str, text: &str| -> Result<(), String> {
        let path = dir.join(path);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
        }
        fs::write(&path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
    };
    write("Cargo.toml", &cargo_toml(&name))?;
    write(".gitignore", "/target\n")?;
    write("README.md", &README.replace("{name}", &name))?;
    write("src/bin/server_main.rs", SERVER_MAIN)?;
    write("src/bin/client_main.rs", CLIENT_MAIN)?;
    Ok(())
}

fn cargo_toml(name: &str) -> String {
    format!(
        "[package]\n\
         name = \"{name}\"\n\
         version = \"0.1.0\"\n\
         edition = \"2021\"\n\
         \n\
         [dependencies]\n\
         frameloop = {{ path = {} }}\n\
         \n\
         # A project of its own, even when created inside another Cargo workspace.\n\
         [workspace]\n",
        toml_string(FRAMELOOP_DIR)
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
fn package_name(dir: &Path) -> String {
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
}

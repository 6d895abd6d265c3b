//! `frameloop new DIR`: a new Cargo project with a server and a client to
//! fill in (pyspeak's `pyspeak.py project_directory`).

mod manifest;
mod template;

use std::fs;
use std::path::{Path, PathBuf};

use clap::ArgGroup;
use frameloop::Format;

use manifest::Source;

/// The options of `frameloop new`.
#[derive(Debug, clap::Args)]
#[command(group(ArgGroup::new("format").args(["frames", "lines", "packets"])))]
pub struct NewArgs {
    /// The folder to create; it must not exist yet, or be empty.
    dir: PathBuf,
    /// Depend on the frameloop checkout in this folder instead of the
    /// published version (to work on frameloop itself).
    #[arg(long, value_name = "DIR")]
    path: Option<PathBuf>,
    /// Messages are length-prefixed frames: any bytes.
    #[arg(long)]
    frames: bool,
    /// Messages are text lines: nc and telnet can talk to the server.
    #[arg(long)]
    lines: bool,
    /// Messages are pyspeak's packets: an integer, a real number, a boolean
    /// and a text (the default).
    #[arg(long)]
    packets: bool,
}

impl NewArgs {
    fn format(&self) -> Format {
        if self.frames {
            Format::Frames
        } else if self.lines {
            Format::Lines
        } else {
            Format::Packets
        }
    }
}

pub fn run(args: &NewArgs) -> Result<(), String> {
    let source = match &args.path {
        None => Source::Published,
        Some(path) => Source::Path(checkout(path)?),
    };
    create(&args.dir, args.format(), &source)?;
    let dir = args.dir.display();
    println!("Project created successfully in {dir}.");
    println!();
    println!("    cd {dir}");
    println!("    cargo run --bin server_main -- 127.0.0.1:1996");
    println!("    cargo run --bin client_main -- 127.0.0.1:1996   (in another terminal)");
    Ok(())
}

/// The frameloop checkout at `path`, made absolute: the generated project
/// lives elsewhere, so a relative path would point somewhere else from it.
fn checkout(path: &Path) -> Result<PathBuf, String> {
    let dir = fs::canonicalize(path).map_err(|e| format!("--path {}: {e}", path.display()))?;
    if !dir.join("Cargo.toml").is_file() {
        return Err(format!("--path {}: no Cargo.toml there; give the folder of a frameloop checkout", path.display()));
    }
    Ok(dir)
}

/// Writes the project into `dir`, which must be missing or empty; nothing
/// is written otherwise.
fn create(dir: &Path, format: Format, source: &Source) -> Result<(), String> {
    if let Ok(mut entries) = fs::read_dir(dir) {
        if entries.next().is_some() {
            return Err(format!("{} is not empty: choose a new directory (nothing was written)", dir.display()));
        }
    } else if dir.exists() {
        return Err(format!("{} exists and is not a directory (nothing was written)", dir.display()));
    }
    let name = manifest::package_name(dir);
    let write = |path: &str, text: &str| -> Result<(), String> {
        let path = dir.join(path);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
        }
        fs::write(&path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
    };
    write("Cargo.toml", &manifest::cargo_toml(&name, source))?;
    write(".gitignore", "/target\n")?;
    write("README.md", &template::readme(&name, format))?;
    write("src/bin/server_main.rs", &template::server_main(format))?;
    write("src/bin/client_main.rs", &template::client_main(format))?;
    Ok(())
}

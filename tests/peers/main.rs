//! Tests against real programs no one here wrote (`nc`, `socat`, `tmux`, …).
//!
//! This binary has its own small runner (`harness = false`) so that it can
//! say, visibly and once, what it skipped: a case whose program is not on
//! the PATH prints `skipped: nc not installed` in place of `ok`, and the run
//! ends with one summary line naming every missing program. With
//! `FRAMELOOP_REQUIRE_PEERS=1` (as CI sets it) a missing program is a
//! failure instead. Nothing else is ever skipped.
//!
//! Arguments, as with libtest: words filter the cases by substring; flags
//! (`--nocapture`, `--test-threads`, …) are accepted and ignored.

#[path = "../common/mod.rs"]
mod common;

use std::panic::{self, AssertUnwindSafe};
use std::process::ExitCode;

/// One test that needs outside programs.
pub struct Case {
    /// Shown in the output and matched by filters.
    pub name: &'static str,
    /// Programs that must be on the PATH, each with the Debian package that
    /// brings it (shown when it is missing).
    pub needs: &'static [Peer],
    /// The test: panics to fail, bounded in time by itself.
    pub run: fn(),
}

/// An outside program and where it comes from.
#[derive(Clone, Copy)]
pub struct Peer {
    /// The command's name, looked up on the PATH.
    pub program: &'static str,
    /// The Debian package that installs it.
    pub package: &'static str,
}

/// Whether `program` is an executable file in one of the PATH's folders.
fn on_path(program: &str) -> bool {
    use std::os::unix::fs::PermissionsExt;
    let Some(path) = std::env::var_os("PATH") else {
        return false;
    };
    std::env::split_paths(&path).any(|dir| {
        std::fs::metadata(dir.join(program)).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    })
}

/// Every case of every module, in the order they run.
fn cases() -> Vec<&'static Case> {
    let groups: &[&[Case]] = &[];
    groups.iter().flat_map(|g| g.iter()).collect()
}

fn main() -> ExitCode {
    let required = std::env::var("FRAMELOOP_REQUIRE_PEERS").as_deref() == Ok("1");
    let filters: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with('-')).collect();
    let selected: Vec<&Case> =
        cases().into_iter().filter(|c| filters.is_empty() || filters.iter().any(|f| c.name.contains(f.as_str()))).collect();

    println!("\nrunning {} tests", selected.len());
    let (mut passed, mut failed, mut skipped) = (0, 0, 0);
    let mut missing: Vec<Peer> = Vec::new();
    let mut failures = Vec::new();
    for case in selected {
        let absent: Vec<Peer> = case.needs.iter().copied().filter(|p| !on_path(p.program)).collect();
        if !absent.is_empty() {
            let names: Vec<&str> = absent.iter().map(|p| p.program).collect();
            for peer in absent {
                if !missing.iter().any(|m| m.program == peer.program) {
                    missing.push(peer);
                }
            }
            if required {
                println!("test {} ... FAILED ({} not installed, and FRAMELOOP_REQUIRE_PEERS=1)", case.name, names.join(", "));
                failures.push(case.name);
                failed += 1;
            } else {
                println!("test {} ... skipped: {} not installed", case.name, names.join(", "));
                skipped += 1;
            }
            continue;
        }
        match panic::catch_unwind(AssertUnwindSafe(case.run)) {
            Ok(()) => {
                println!("test {} ... ok", case.name);
                passed += 1;
            }
            Err(_) => {
                println!("test {} ... FAILED", case.name);
                failures.push(case.name);
                failed += 1;
            }
        }
    }
    if !missing.is_empty() {
        let list: Vec<String> = missing.iter().map(|p| format!("{} (Debian package {})", p.program, p.package)).collect();
        println!("\nskipped {skipped} tests: not installed: {}", list.join(", "));
    }
    for name in &failures {
        println!("failed: {name}");
    }
    println!("\npeers: {passed} passed, {failed} failed, {skipped} skipped\n");
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

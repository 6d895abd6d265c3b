//! Replays the fuzz seeds and every input that ever made a fuzz target fail
//! through the same checks the targets run, so they stay fixed on the
//! stable toolchain without cargo-fuzz.
//!
//! The checks and the inputs live under `tests/` (`tests/fuzz_checks/`,
//! `tests/fuzz_inputs/`), not in the `fuzz/` crate, so this test also runs
//! from the published package, which leaves `fuzz/` out.

#[path = "fuzz_checks/mod.rs"]
mod checks;

use std::fs;
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};

/// The input files of one target directory, skipping notes such as a README
/// or `.gitkeep`, in a stable order.
fn inputs(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy();
            !name.starts_with('.') && !name.starts_with("README")
        })
        .collect();
    files.sort();
    files
}

#[test]
fn every_seed_and_regression_input_passes_its_target_checks() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz_inputs");
    for kind in ["seeds", "regressions"] {
        for entry in fs::read_dir(root.join(kind)).unwrap() {
            let dir = entry.unwrap().path();
            let name = dir.file_name().unwrap().to_string_lossy();
            assert!(
                !dir.is_dir() || checks::TARGETS.iter().any(|(target, _)| *target == name),
                "{} is named after no fuzz target",
                dir.display()
            );
        }
    }

    let mut replayed = 0;
    let mut failed = Vec::new();
    for (target, check) in checks::TARGETS {
        let seeds = inputs(&root.join("seeds").join(target));
        assert!(!seeds.is_empty(), "no seeds for the {target} target");
        for file in seeds.iter().chain(&inputs(&root.join("regressions").join(target))) {
            let data = fs::read(file).unwrap();
            if panic::catch_unwind(AssertUnwindSafe(|| check(&data))).is_err() {
                failed.push(file.display().to_string());
            }
            replayed += 1;
        }
    }
    assert!(failed.is_empty(), "inputs failing their checks: {failed:#?}");
    println!("{replayed} fuzz inputs replayed");
    assert!(replayed > 0);
}

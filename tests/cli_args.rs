//! The `frameloop` command line as a user meets it: help for every command,
//! a version, mistakes refused with a message that says what to type
//! instead, and a refused command that does nothing (no server started, no
//! folder created).

mod common;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

/// The `frameloop` command line of this build.
const FRAMELOOP: &str = env!("CARGO_BIN_EXE_frameloop");

/// Longer than any refused command or help takes, even on a loaded machine;
/// a command still running then has started to do something.
const PATIENCE: Duration = Duration::from_secs(30);

/// What one run of the command printed and how it ended.
struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

/// Runs `frameloop args...` in `dir` (this directory if `None`) with no
/// input; kills it and fails if it is still running after [`PATIENCE`].
fn frameloop_in(dir: Option<&Path>, args: &[&str]) -> Run {
    let mut command = Command::new(FRAMELOOP);
    command.args(args).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    if let Some(dir) = dir {
        command.current_dir(dir);
    }
    let mut child = command.spawn().expect("start frameloop");
    // On threads, so a child that prints a lot cannot block on a full pipe.
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let out = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = out.read_to_string(&mut s);
        s
    });
    let err = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err.read_to_string(&mut s);
        s
    });
    let status = common::wait_child(
        &mut child,
        PATIENCE,
        &format!("frameloop {args:?} was still running after {PATIENCE:?}: it did not refuse the arguments"),
    );
    Run { code: status.code(), stdout: out.join().unwrap(), stderr: err.join().unwrap() }
}

fn frameloop(args: &[&str]) -> Run {
    frameloop_in(None, args)
}

/// A refused command line: clap's usage error (exit code 2), explained on
/// stderr.
fn assert_refused(run: &Run, args: &[&str]) {
    assert_eq!(run.code, Some(2), "frameloop {args:?} was not refused as a usage error: {}", run.stderr);
    assert!(run.stderr.starts_with("error: "), "frameloop {args:?}: {}", run.stderr);
}

/// A fresh, empty folder under this build's target directory.
fn empty_dir(tag: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("cli-args-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn entries(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect()
}

#[test]
fn version_names_the_command_and_this_version() {
    let want = format!("frameloop {}", env!("CARGO_PKG_VERSION"));
    for flag in ["--version", "-V"] {
        let run = frameloop(&[flag]);
        assert_eq!(run.code, Some(0), "{flag}: {}", run.stderr);
        assert_eq!(run.stdout.trim(), want, "{flag}");
    }
}

#[test]
fn every_command_has_help() {
    for (args, usage) in [
        (&["--help"][..], "Usage: frameloop <COMMAND>"),
        (&["help"][..], "Usage: frameloop <COMMAND>"),
        (&["new", "--help"][..], "Usage: frameloop new [OPTIONS] <DIR>"),
        (&["echo", "--help"][..], "Usage: frameloop echo [OPTIONS] [ADDR]"),
        (&["bench", "--help"][..], "Usage: frameloop bench [OPTIONS]"),
        (&["help", "bench"][..], "Usage: frameloop bench [OPTIONS]"),
    ] {
        let run = frameloop(args);
        assert_eq!(run.code, Some(0), "frameloop {args:?}: {}", run.stderr);
        assert!(run.stdout.contains(usage), "frameloop {args:?} printed:\n{}", run.stdout);
    }
    // Each command's help lists its options, with their defaults.
    let bench = frameloop(&["bench", "--help"]).stdout;
    for option in ["--addr", "--server-pid", "--mode", "--conns", "--depth", "--size", "--secs", "--warmup"] {
        assert!(bench.contains(option), "bench --help lacks {option}:\n{bench}");
    }
    for option in ["--threads", "--busy-poll-us", "[default: 64]", "pingpong: 1; idle: 10000"] {
        assert!(bench.contains(option), "bench --help lacks {option}:\n{bench}");
    }
    let echo = frameloop(&["echo", "--help"]).stdout;
    for option in ["--lines", "--raw", "--busy-poll-us", "--verbose", "[default: 127.0.0.1:7000]"] {
        assert!(echo.contains(option), "echo --help lacks {option}:\n{echo}");
    }
    for option in ["--work-us <US>", "--threads <N>", "--distribution <HOW>"] {
        assert!(echo.contains(option), "echo --help lacks {option}:\n{echo}");
    }
    let new = frameloop(&["new", "--help"]).stdout;
    for option in ["--path", "--frames", "--lines", "--packets"] {
        assert!(new.contains(option), "new --help lacks {option}:\n{new}");
    }
}

#[test]
fn no_command_shows_the_help_and_fails() {
    let run = frameloop(&[]);
    assert_eq!(run.code, Some(2));
    assert!(run.stderr.contains("Usage: frameloop <COMMAND>"), "{}", run.stderr);
}

#[test]
fn a_mistyped_option_is_refused_with_a_suggestion() {
    let args = ["bench", "--con", "5"];
    let run = frameloop(&args);
    assert_refused(&run, &args);
    assert!(run.stderr.contains("unexpected argument '--con'"), "{}", run.stderr);
    assert!(run.stderr.contains("tip: a similar argument exists: '--conns'"), "{}", run.stderr);

    let args = ["bnech"];
    let run = frameloop(&args);
    assert_refused(&run, &args);
    assert!(run.stderr.contains("'bench'"), "{}", run.stderr);
}

#[test]
fn echo_with_an_unknown_option_starts_no_server() {
    let args = ["echo", "127.0.0.1:0", "--bogus", "1"];
    let run = frameloop(&args);
    assert_refused(&run, &args);
    assert!(run.stderr.contains("'--bogus'"), "{}", run.stderr);
    assert!(!run.stdout.contains("echo server on"), "a server started: {}", run.stdout);
}

#[test]
fn an_extra_argument_is_refused() {
    let dir = empty_dir("extra");
    let args = ["new", "a", "b"];
    let run = frameloop_in(Some(&dir), &args);
    assert_refused(&run, &args);
    assert!(run.stderr.contains("unexpected argument 'b'"), "{}", run.stderr);
    assert_eq!(entries(&dir), Vec::<String>::new(), "new wrote something");

    let args = ["echo", "127.0.0.1:0", "127.0.0.1:0"];
    let run = frameloop(&args);
    assert_refused(&run, &args);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn help_of_new_creates_nothing() {
    let dir = empty_dir("help");
    for flag in ["-h", "--help"] {
        let run = frameloop_in(Some(&dir), &["new", flag]);
        assert_eq!(run.code, Some(0), "new {flag}: {}", run.stderr);
        assert!(run.stdout.contains("Usage: frameloop new"), "{}", run.stdout);
        assert_eq!(entries(&dir), Vec::<String>::new(), "new {flag} wrote something");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_bad_value_is_refused_naming_its_flag() {
    for (args, flag, why) in [
        (&["bench", "--conns", "abc"][..], "--conns <N>", "invalid digit"),
        (&["bench", "--conns", "0"][..], "--conns <N>", "0 is not in 1.."),
        (&["bench", "--size", "3"][..], "--size <BYTES>", "3 bytes is too small"),
        (&["bench", "--size", "0k"][..], "--size <BYTES>", "0 bytes is too small"),
        (&["bench", "--size", "1g"][..], "--size <BYTES>", "expected a number of bytes, e.g. 64, 8k or 1m"),
        (&["bench", "--size", "4096m"][..], "--size <BYTES>", "4294967296 bytes is too large"),
        (&["bench", "--sizes", "64,11"][..], "--sizes <BYTES,...>", "11 bytes is too small"),
        (&["bench", "--sizes", "64,1kb"][..], "--sizes <BYTES,...>", "expected a number of bytes"),
        (&["bench", "--secs", "0"][..], "--secs <S>", "above zero"),
        (&["bench", "--secs", "-2"][..], "--secs <S>", "above zero"),
        (&["bench", "--warmup", "-1"][..], "--warmup <S>", "zero or more"),
        (&["bench", "--mode", "fast"][..], "--mode <MODE>", "possible values: throughput, pingpong, idle"),
        (&["echo", "--busy-poll-us", "soon"][..], "--busy-poll-us <N>", "invalid digit"),
        (&["echo", "--work-us", "lots"][..], "--work-us <US>", "invalid digit"),
        (&["echo", "--threads", "0"][..], "--threads <N>", "not in 1..=1024"),
        (&["echo", "--distribution", "random"][..], "--distribution <HOW>", "possible values: acceptor, reuse-port"),
    ] {
        let run = frameloop(args);
        assert_refused(&run, args);
        // A list is judged item by item: the one named is the bad one.
        let value = args.last().unwrap().rsplit(',').next().unwrap();
        assert!(run.stderr.contains(&format!("invalid value '{value}' for '{flag}'")), "{}", run.stderr);
        assert!(run.stderr.contains(why), "frameloop {args:?}: {}", run.stderr);
    }
}

/// Addresses are the library's to judge (`frameloop::resolve`, or the bind
/// itself): a bad one is refused with its message, the one a program using
/// the library would show, before anything starts.
#[test]
fn a_bad_address_is_refused_with_the_library_message() {
    for (args, why) in [
        (&["echo", "nowhere"][..], "it has no port"),
        (&["echo", "127.0.0.1"][..], "it has no port"),
        (&["echo", "127.0.0.1:99999"][..], "the port \"99999\" is not a number from 0 to 65535"),
        (&["bench", "--addr", "nowhere"][..], "it has no port"),
        (&["bench", "--addr", "[::1]"][..], "it has no port"),
    ] {
        let run = frameloop(args);
        let value = args.last().unwrap();
        assert_eq!(run.code, Some(1), "frameloop {args:?}: {}", run.stderr);
        let expected = format!("error: invalid address {value}: {why}");
        assert!(run.stderr.starts_with(&expected), "frameloop {args:?}: {}", run.stderr);
        assert!(run.stderr.contains("use the form IP:PORT"), "frameloop {args:?}: {}", run.stderr);
        assert_eq!(run.stderr.lines().count(), 1, "frameloop {args:?}: {}", run.stderr);
        assert!(!run.stdout.contains("echo server on"), "a server started: {}", run.stdout);
    }
}

#[test]
fn options_that_exclude_each_other_are_refused() {
    let dir = empty_dir("exclusive");
    for args in [
        &["new", "app", "--frames", "--lines"][..],
        &["new", "app", "--lines", "--packets"][..],
        &["bench", "--addr", "127.0.0.1:9", "--busy-poll-us", "50"][..],
        &["bench", "--sizes", "64,1k", "--size", "64"][..],
        &["echo", "--lines", "--raw"][..],
    ] {
        let run = frameloop_in(Some(&dir), args);
        assert_refused(&run, args);
        assert!(run.stderr.contains("cannot be used with"), "{}", run.stderr);
    }
    assert_eq!(entries(&dir), Vec::<String>::new(), "new wrote something");
    let _ = std::fs::remove_dir_all(&dir);
}

/// `--size` takes sizes as `--sizes` does, `64k` for 65536 bytes, and the
/// help says how a sweep loads each size.
#[test]
fn size_takes_k_and_m_suffixes() {
    let args = ["bench", "--size", "64k", "--conns", "1", "--secs", "0.1", "--warmup", "0"];
    let run = frameloop(&args);
    assert_eq!(run.code, Some(0), "frameloop {args:?}: {}\n{}", run.stderr, run.stdout);
    assert!(run.stdout.contains("x 65536 B,"), "{}", run.stdout);
    let help = frameloop(&["bench", "--help"]).stdout;
    for text in ["--sizes <BYTES,...>", "64k, 1m", "below 8k: 100 x 16", "from 1m: 4 x 2"] {
        assert!(help.contains(text), "bench --help lacks {text}:\n{help}");
    }
}

/// A sweep measures throughput or ping-pong: idle mode has one size, and
/// is refused before anything starts.
#[test]
fn a_sweep_of_idle_connections_is_refused() {
    let args = ["bench", "--sizes", "64,1k", "--mode", "idle"];
    let run = frameloop(&args);
    assert_eq!(run.code, Some(1), "frameloop {args:?}: {}", run.stderr);
    assert!(run.stderr.starts_with("error: --sizes sweeps the throughput and pingpong modes"), "{}", run.stderr);
    assert_eq!(run.stdout, "", "something ran");
}

/// The lines of a sweep's table: its header and the rows after it, each
/// split into its words.
fn sweep_table(stdout: &str) -> (Vec<String>, Vec<Vec<String>>) {
    let mut lines = stdout.lines().skip_while(|l| !l.starts_with("size "));
    let words = |l: &str| l.split_whitespace().map(str::to_owned).collect::<Vec<_>>();
    let header = words(lines.next().unwrap_or_else(|| panic!("no table header:\n{stdout}")));
    (header, lines.map(words).collect())
}

/// A real sweep, short: a run per size, each with its report, then a
/// table of one row per size with the load each size got by default.
#[test]
fn a_sweep_prints_a_row_per_size() {
    let args = ["bench", "--sizes", "64,64k", "--secs", "0.2", "--warmup", "0"];
    let run = frameloop(&args);
    assert_eq!(run.code, Some(0), "frameloop {args:?}: {}\n{}", run.stderr, run.stdout);
    assert_eq!(run.stdout.lines().filter(|l| l.starts_with("messages ")).count(), 2, "{}", run.stdout);
    let (header, rows) = sweep_table(&run.stdout);
    assert_eq!(
        header,
        ["size", "conns", "depth", "msgs/s", "MB/s_each_way", "server_ns/msg", "p50_us", "p99_us", "errors"]
    );
    assert_eq!(rows.len(), 2, "{}", run.stdout);
    for (row, (size, conns, depth)) in rows.iter().zip([("64", "100", "16"), ("65536", "10", "4")]) {
        assert_eq!(row.len(), header.len(), "{row:?}");
        assert_eq!(row[..3], [size, conns, depth], "{}", run.stdout);
        let rate: f64 = row[3].parse().unwrap();
        assert!(rate > 0.0, "{row:?}");
        // In-process, the server's CPU time is known.
        assert!(row[5].parse::<f64>().is_ok(), "{row:?}");
        assert_eq!(row[8], "0", "{row:?}");
    }
}

/// Explicit --conns and --depth hold for every size of a sweep.
#[test]
fn a_sweep_keeps_the_load_it_is_given() {
    let args = ["bench", "--sizes", "12,1m", "--conns", "2", "--depth", "1", "--secs", "0.1", "--warmup", "0"];
    let run = frameloop(&args);
    assert_eq!(run.code, Some(0), "frameloop {args:?}: {}\n{}", run.stderr, run.stdout);
    let (_, rows) = sweep_table(&run.stdout);
    let loads: Vec<&[String]> = rows.iter().map(|r| &r[..3]).collect();
    assert_eq!(loads, [["12", "2", "1"], ["1048576", "2", "1"]], "{}", run.stdout);
}

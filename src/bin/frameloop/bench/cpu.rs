//! CPU time and memory of threads and processes, read from Linux's `/proc`.
//!
//! Every reader returns `None` where `/proc` is missing or says something
//! unexpected: the bench then reports what it could measure and says what it
//! could not.

use std::fs;

/// Nanoseconds the calling thread has spent on a CPU: the first field of
/// `/proc/thread-self/schedstat`.
pub fn thread_cpu_ns() -> Option<u64> {
    first_field(&fs::read_to_string("/proc/thread-self/schedstat").ok()?)
}

/// Nanoseconds all the threads of process `pid` have spent on a CPU.
///
/// It sums `/proc/PID/task/*/schedstat` (nanosecond resolution) and falls
/// back to `utime + stime` of `/proc/PID/stat`, in clock ticks of 10 ms
/// (`USER_HZ` is 100 on Linux), when schedstat is not there. Threads that
/// exit between two readings take their time with them: measure servers
/// whose threads live as long as the run (tokio's current-thread runtime,
/// frameloop's reactor, a thread per connection that stays open).
pub fn process_cpu_ns(pid: u32) -> Option<u64> {
    if let Ok(tasks) = fs::read_dir(format!("/proc/{pid}/task")) {
        let mut sum = 0;
        let mut any = false;
        for task in tasks.flatten() {
            if let Some(ns) = fs::read_to_string(task.path().join("schedstat")).ok().as_deref().and_then(first_field) {
                sum += ns;
                any = true;
            }
        }
        if any {
            return Some(sum);
        }
    }
    user_system_ns(Some(pid)).map(|(user, system)| user + system)
}

/// User and system CPU time of process `pid` (all its threads), or of the
/// calling thread when `pid` is `None`, in nanoseconds: `utime` and `stime`
/// of `/proc/PID/stat` (or `/proc/thread-self/stat`), kept by the kernel in
/// ticks of 10 ms (`USER_HZ` is 100 on Linux), so only a run of seconds
/// splits them precisely.
pub fn user_system_ns(pid: Option<u32>) -> Option<(u64, u64)> {
    let path = match pid {
        Some(pid) => format!("/proc/{pid}/stat"),
        None => "/proc/thread-self/stat".to_owned(),
    };
    let stat = fs::read_to_string(path).ok()?;
    // The command name (field 2) may hold spaces; fields after its ')' are
    // plain: state is field 3, utime and stime fields 14 and 15.
    let after_name = stat.rsplit_once(')')?.1;
    let mut fields = after_name.split_whitespace().skip(11);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some((utime * TICK_NS, stime * TICK_NS))
}

/// Nanoseconds in one clock tick of `/proc/*/stat`.
const TICK_NS: u64 = 10_000_000;

/// Resident memory of process `pid` in bytes (`VmRSS` of
/// `/proc/PID/status`); `None` means this process.
pub fn rss_bytes(pid: Option<u32>) -> Option<u64> {
    let path = match pid {
        Some(pid) => format!("/proc/{pid}/status"),
        None => "/proc/self/status".to_owned(),
    };
    let status = fs::read_to_string(path).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// The open-files limit of this process (soft), from `/proc/self/limits`.
pub fn max_open_files() -> Option<u64> {
    let limits = fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

fn first_field(s: &str) -> Option<u64> {
    s.split_whitespace().next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_thread_and_process_have_cpu_time_and_memory() {
        let mut x = 0u64;
        for i in 0..1_000_000u64 {
            x = x.wrapping_mul(31).wrapping_add(i);
        }
        std::hint::black_box(x);
        assert!(thread_cpu_ns().is_some_and(|ns| ns > 0));
        assert!(process_cpu_ns(std::process::id()).is_some_and(|ns| ns > 0));
        assert!(user_system_ns(None).is_some());
        assert!(user_system_ns(Some(std::process::id())).is_some());
        assert!(rss_bytes(None).is_some_and(|b| b > 0));
        assert!(max_open_files().is_some_and(|n| n > 0));
    }
}

//! CPU placement of the mesh's processes.
//!
//! A service spends most of a request waiting on its own threads: a tokio
//! worker hands each statement to the database driver's thread and waits
//! for the answer. When those threads sit on different CPUs every hand-off
//! is a cross-CPU wake-up, which on a virtual machine is a trip through the
//! hypervisor; on one CPU it is a plain context switch. `--cpu N` keeps a
//! process's threads on CPU N, and `hotline up --pin-cpus` (the simulator's
//! default over gRPC) gives the centre, the busiest store, a CPU of its
//! own and spreads the other processes over the rest.

use nix::sched::{CpuSet, sched_getaffinity, sched_setaffinity};
use nix::unistd::{Pid, SysconfVar, sysconf};

/// The CPUs this process may run on, in order.
pub fn allowed() -> Vec<usize> {
    match sched_getaffinity(Pid::from_raw(0)) {
        Ok(set) => (0..CpuSet::count())
            .filter(|c| set.is_set(*c).unwrap_or(false))
            .collect(),
        Err(_) => Vec::new(),
    }
}

/// Keeps this process — the calling thread and every thread it starts
/// after — on `cpu`. Call it before the async runtime starts, so the
/// runtime sizes itself to the one CPU.
pub fn pin(cpu: usize) -> anyhow::Result<()> {
    anyhow::ensure!(
        allowed().contains(&cpu),
        "--cpu {cpu}: not among this process's CPUs {:?}",
        allowed()
    );
    let mut set = CpuSet::new();
    set.set(cpu)?;
    sched_setaffinity(Pid::from_raw(0), &set)?;
    Ok(())
}

/// Where each process of a mesh runs, given the CPUs at hand and, per
/// process, whether it is the centre's: the centre alone on the first CPU,
/// the gateway and the other services round robin over the rest. With
/// fewer than two CPUs nothing is pinned.
pub fn placement(cpus: &[usize], centre: impl Iterator<Item = bool>) -> Vec<Option<usize>> {
    if cpus.len() < 2 {
        return centre.map(|_| None).collect();
    }
    let rest = &cpus[1..];
    let mut next = 0;
    centre
        .map(|is_centre| {
            if is_centre {
                return Some(cpus[0]);
            }
            let c = rest[next % rest.len()];
            next += 1;
            Some(c)
        })
        .collect()
}

/// CPU time (user and system, all threads, those gone included) process
/// `pid` has used so far, in seconds; `None` when the process is gone.
///
/// Read from the process's CPU-time clock (`clock_getcpuclockid`), to the
/// nanosecond. `/proc/{pid}/stat` counts in clock ticks (10 ms): a bare
/// echo's 70 ms over a benchmark's 4,000 calls would read ±14 %. The
/// ticks remain the answer where the clock cannot be read.
pub fn used_seconds(pid: u32) -> Option<f64> {
    use nix::time::{clock_getcpuclockid, clock_gettime};
    // Linux's pids stay below 2^22; the clock of pid 0, or of one whose
    // bits overflow the clock's id, is the caller's own.
    if pid == 0 || pid >= PID_MAX_LIMIT {
        return None;
    }
    let clock = clock_getcpuclockid(Pid::from_raw(pid as i32));
    match clock.and_then(clock_gettime) {
        Ok(t) => Some(t.tv_sec() as f64 + t.tv_nsec() as f64 * 1e-9),
        Err(_) => used_ticks(pid),
    }
}

/// Linux's `PID_MAX_LIMIT` on 64-bit machines.
const PID_MAX_LIMIT: u32 = 1 << 22;

/// [`used_seconds`] from `/proc/{pid}/stat`, in clock ticks.
fn used_ticks(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let hz = sysconf(SysconfVar::CLK_TCK).ok().flatten().unwrap_or(100);
    Some(ticks(&stat)? as f64 / hz.max(1) as f64)
}

/// [`used_seconds`] of each named process (zero for one that is gone).
pub fn used_by(procs: impl IntoIterator<Item = (String, u32)>) -> Vec<(String, f64)> {
    procs
        .into_iter()
        .map(|(name, pid)| (name, used_seconds(pid).unwrap_or(0.0)))
        .collect()
}

/// utime + stime (fields 14 and 15 of proc(5)) of a `/proc/PID/stat` line.
fn ticks(stat: &str) -> Option<u64> {
    // The command name sits in parentheses and may hold spaces.
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // `rest` starts at field 3 (the state).
    let field = |n: usize| fields.get(n - 3)?.parse::<u64>().ok();
    Some(field(14)? + field(15)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_time_is_read_past_a_command_name_with_spaces() {
        let line = "4242 (tokio rt) x) S 1 4242 4242 0 -1 4194560 900 0 0 0 \
                    1250 375 0 0 20 0 9 0 1000 100000 2000";
        assert_eq!(ticks(line), Some(1625));
        assert_eq!(ticks("4242 (cut short) S 1"), None);
    }

    #[test]
    fn this_process_has_used_cpu_time() {
        let spin = std::time::Instant::now();
        let mut x = 0u64;
        while spin.elapsed() < std::time::Duration::from_millis(50) {
            x = x.wrapping_add(std::hint::black_box(1));
        }
        let used = used_seconds(std::process::id()).expect("this process's CPU clock");
        assert!(used > 0.0, "{used} s after spinning ({x})");
        let ticks = used_ticks(std::process::id()).expect("/proc/self/stat");
        assert!(
            (used - ticks).abs() < 0.05,
            "the clock ({used} s) and /proc's ticks ({ticks} s) tell the same time"
        );
        assert_eq!(used_seconds(u32::MAX), None, "no such process");
        assert_eq!(used_seconds(0), None, "pid 0 is no process");
        let mut child = std::process::Command::new("true").spawn().expect("true");
        let gone = child.id();
        child.wait().expect("true ends");
        assert_eq!(used_seconds(gone), None, "a process that has ended");
    }

    #[test]
    fn the_centre_gets_a_cpu_of_its_own() {
        // The gateway, the centre, three more services.
        let centre = [false, true, false, false, false];
        let p = placement(&[0, 1, 2], centre.into_iter());
        assert_eq!(p, vec![Some(1), Some(0), Some(2), Some(1), Some(2)]);
        let p = placement(&[4, 7], centre.into_iter());
        assert_eq!(p, vec![Some(7), Some(4), Some(7), Some(7), Some(7)]);
        assert_eq!(placement(&[0], centre.into_iter()), vec![None; 5]);
    }

    #[test]
    fn pinning_to_a_cpu_not_allowed_is_refused() {
        let err = pin(usize::MAX / 2).unwrap_err().to_string();
        assert!(err.contains("--cpu"), "{err}");
    }
}

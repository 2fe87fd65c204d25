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
use nix::unistd::Pid;

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

#[cfg(test)]
mod tests {
    use super::*;

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

//! Which CPUs are the performance cores: the pure rule behind `threads: auto`.
//!
//! **Definition.** Each candidate CPU gets a speed: its `cpu_capacity` when every candidate
//! has one (on arm64 that is the device tree's `capacity-dmips-mhz` × the core's highest
//! frequency, 1024 for the fastest), else its `cpuinfo_max_freq` when every candidate has
//! one, else the same speed for all. Candidates are the online CPUs the process may run
//! on, one per physical core (a second SMT hyper-thread is left out). Then:
//!
//! 1. a CPU below **half the fastest CPU's speed** is a little (efficiency) core and is
//!    never a performance core;
//! 2. of the rest, sorted fastest first (ties by CPU number), the performance cores are the
//!    prefix that maximizes *count × speed of its slowest member*; on a tie the shorter
//!    prefix wins.
//!
//! Why rule 2: the forward pass gives every worker the same share of rows and waits for the
//! slowest one, so `n` workers whose slowest core runs at speed `s` finish a step in time
//! proportional to `1 / (n·s)`. Adding a core helps only while it raises `n·s`. The fastest
//! core (the "prime" core of a 1+3+4 or 1+4+4 layout, alone in its cluster) always counts.
//! Rule 1 keeps in-order little cores out even where rule 2 alone would take them (two big
//! cores beside six little ones at 0.47 of their speed): they share the big cores' memory
//! bandwidth, which decode is bound by, and their slow rows stall every step.
//!
//! **All-big SoCs** (Dimensity 9300: 4 Cortex-X4 + 4 Cortex-A720, no little core) need no
//! special case: the A720s at 2.0 GHz run at ~0.58 of the 3.25 GHz X4, above the half line,
//! and 8 × 0.58 beats 4 × 0.88 (the slower X4s), so all eight are performance cores. On
//! Snapdragon 8 Gen 3 the two A520s (0.37) are left out: 1 + 3 + 2 cores. Cluster ids are
//! not used to decide (recent kernels put every core in one DynamIQ cluster); the
//! capacity is.

use crate::topology::Topology;

/// Where the speeds came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Basis {
    /// `cpu_capacity`.
    Capacity,
    /// `cpufreq/cpuinfo_max_freq` (no capacity on some candidate).
    MaxFreq,
    /// Neither is known for every candidate: all CPUs are taken as equal.
    Uniform,
}

/// The performance cores and how they were chosen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Selection {
    /// CPU numbers, fastest first (ties by CPU number). Never empty for a topology with a
    /// CPU.
    pub cores: Vec<usize>,
    /// What the speeds were.
    pub basis: Basis,
}

/// The performance cores of `topo` among `allowed` (the process's affinity mask; `None`:
/// every CPU), as the module documentation defines them. If no online CPU is allowed (a
/// mask naming other CPUs), the mask is ignored.
pub fn performance_cores(topo: &Topology, allowed: Option<&[usize]>) -> Selection {
    let in_mask = |id: usize| allowed.is_none_or(|a| a.contains(&id));
    let mut cands: Vec<_> = topo
        .cpus
        .iter()
        .filter(|c| in_mask(c.id) && !c.is_smt_secondary())
        .collect();
    if cands.is_empty() {
        cands = topo.cpus.iter().filter(|c| !c.is_smt_secondary()).collect();
    }
    let (basis, speeds): (Basis, Vec<u64>) = if cands.iter().all(|c| c.capacity.is_some()) {
        let s = cands
            .iter()
            .map(|c| c.capacity.map_or(0, u64::from))
            .collect();
        (Basis::Capacity, s)
    } else if cands.iter().all(|c| c.max_freq_khz.is_some()) {
        let s = cands
            .iter()
            .map(|c| c.max_freq_khz.map_or(0, u64::from))
            .collect();
        (Basis::MaxFreq, s)
    } else {
        (Basis::Uniform, vec![1; cands.len()])
    };
    let mut order: Vec<(u64, usize)> = speeds.iter().zip(&cands).map(|(&s, c)| (s, c.id)).collect();
    // Fastest first; equal speeds by CPU number.
    order.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    let fastest = order.first().map_or(0, |o| o.0);
    // Rule 1: nothing below half the fastest.
    order.retain(|&(s, _)| 2 * s >= fastest);
    // Rule 2: the prefix with the largest count × slowest speed (first maximum wins).
    let mut best = (0u64, 0usize);
    for (i, &(s, _)) in order.iter().enumerate() {
        let score = (i as u64 + 1) * s;
        if score > best.0 {
            best = (score, i + 1);
        }
    }
    Selection {
        cores: order[..best.1].iter().map(|o| o.1).collect(),
        basis,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::topology::Cpu;

    fn topo(caps: &[Option<u32>], freqs: &[Option<u32>]) -> Topology {
        Topology {
            cpus: caps
                .iter()
                .zip(freqs)
                .enumerate()
                .map(|(id, (&capacity, &max_freq_khz))| Cpu {
                    id,
                    capacity,
                    max_freq_khz,
                    cluster_id: None,
                    package_id: None,
                    first_sibling: None,
                })
                .collect(),
        }
    }

    #[test]
    fn a_slower_fifth_core_that_lowers_the_product_is_left_out() {
        // 4 × 1024 = 4096 > 5 × 600 = 3000, although 600 is above half of 1024.
        let t = topo(
            &[Some(1024); 4]
                .iter()
                .copied()
                .chain([Some(600)])
                .collect::<Vec<_>>(),
            &[None; 5],
        );
        assert_eq!(performance_cores(&t, None).cores, [0, 1, 2, 3]);
    }

    #[test]
    fn little_cores_below_half_never_count() {
        // 2 big + 6 little at 0.47: 8 × 481 > 2 × 1024, but rule 1 keeps the littles out.
        let caps: Vec<_> = [481; 6].into_iter().chain([1024; 2]).map(Some).collect();
        let s = performance_cores(&topo(&caps, &[None; 8]), None);
        assert_eq!((s.cores, s.basis), (vec![6, 7], Basis::Capacity));
    }

    #[test]
    fn falls_back_to_frequency_then_to_all() {
        let t = topo(
            &[Some(1024), None, None],
            &[Some(1_800_000), Some(2_400_000), Some(2_400_000)],
        );
        let s = performance_cores(&t, None);
        assert_eq!((s.cores, s.basis), (vec![1, 2, 0], Basis::MaxFreq));
        let t = topo(&[None, None, None], &[Some(1), None, None]);
        let s = performance_cores(&t, None);
        assert_eq!((s.cores, s.basis), (vec![0, 1, 2], Basis::Uniform));
    }

    #[test]
    fn the_affinity_mask_limits_the_choice() {
        let caps: Vec<_> = [400, 400, 1024, 1024].map(Some).to_vec();
        let t = topo(&caps, &[None; 4]);
        // A background app kept on the little cores: they are all it has.
        assert_eq!(performance_cores(&t, Some(&[0, 1])).cores, [0, 1]);
        assert_eq!(performance_cores(&t, Some(&[1, 3])).cores, [3]);
        // A mask that names no online CPU is ignored.
        assert_eq!(performance_cores(&t, Some(&[9])).cores, [2, 3]);
    }

    #[test]
    fn smt_siblings_are_one_core() {
        let mut t = topo(&[None; 4], &[None; 4]);
        for c in &mut t.cpus {
            c.first_sibling = Some(c.id % 2); // 0,1 are cores; 2,3 their hyper-threads
        }
        assert_eq!(performance_cores(&t, None).cores, [0, 1]);
    }
}

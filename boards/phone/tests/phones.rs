//! `threads: auto` on fake sysfs trees of real phones (numbers and sources:
//! tests/fixtures/README.md), and on this machine's own tree.

use std::fs;
use std::path::Path;

use bague_board_phone::{Basis, PhonePool, PlanSource, ThreadPlan};

/// One CPU of a fake tree: capacity, max kHz (0: no cpufreq directory), cluster id text.
struct FakeCpu(u32, u32, &'static str);

/// Writes `/sys/devices/system/cpu` for `cpus` under `root`.
fn write_tree(root: &Path, cpus: &[FakeCpu], online: &str) {
    fs::write(root.join("online"), format!("{online}\n")).unwrap();
    for (id, FakeCpu(cap, khz, cluster)) in cpus.iter().enumerate() {
        let d = root.join(format!("cpu{id}"));
        fs::create_dir_all(d.join("topology")).unwrap();
        fs::write(d.join("cpu_capacity"), format!("{cap}\n")).unwrap();
        if *khz > 0 {
            fs::create_dir_all(d.join("cpufreq")).unwrap();
            fs::write(d.join("cpufreq/cpuinfo_max_freq"), format!("{khz}\n")).unwrap();
        }
        fs::write(d.join("topology/cluster_id"), format!("{cluster}\n")).unwrap();
        let package = if *cluster == "65535" { "0" } else { cluster };
        fs::write(
            d.join("topology/physical_package_id"),
            format!("{package}\n"),
        )
        .unwrap();
        fs::write(d.join("topology/thread_siblings_list"), format!("{id}\n")).unwrap();
    }
}

fn pick(cpus: &[FakeCpu], online: &str, allowed: Option<&[usize]>) -> ThreadPlan {
    let dir = tempfile::tempdir().unwrap();
    write_tree(dir.path(), cpus, online);
    ThreadPlan::from_sysfs(dir.path(), allowed).unwrap()
}

fn rep(n: usize, cpu: FakeCpu) -> impl Iterator<Item = FakeCpu> {
    std::iter::repeat_n((), n).map(move |_| FakeCpu(cpu.0, cpu.1, cpu.2))
}

fn sd8gen3() -> Vec<FakeCpu> {
    rep(2, FakeCpu(379, 2_265_600, "0"))
        .chain(rep(3, FakeCpu(923, 3_148_800, "0")))
        .chain(rep(2, FakeCpu(867, 2_956_800, "0")))
        .chain(rep(1, FakeCpu(1024, 3_302_400, "0")))
        .collect()
}

fn tensor_g3() -> Vec<FakeCpu> {
    rep(4, FakeCpu(190, 1_700_000, "0"))
        .chain(rep(4, FakeCpu(564, 2_370_000, "1")))
        .chain(rep(1, FakeCpu(1024, 2_910_000, "2")))
        .collect()
}

fn dimensity_9300() -> Vec<FakeCpu> {
    rep(4, FakeCpu(596, 2_000_000, "65535"))
        .chain(rep(3, FakeCpu(897, 2_850_000, "65535")))
        .chain(rep(1, FakeCpu(1024, 3_250_000, "65535")))
        .collect()
}

fn exynos_2400() -> Vec<FakeCpu> {
    rep(4, FakeCpu(336, 1_950_000, "0"))
        .chain(rep(3, FakeCpu(785, 2_600_000, "1")))
        .chain(rep(2, FakeCpu(876, 2_900_000, "1")))
        .chain(rep(1, FakeCpu(1024, 3_207_000, "2")))
        .collect()
}

#[test]
fn snapdragon_8_gen_3_takes_prime_and_the_five_a720s() {
    let p = pick(&sd8gen3(), "0-7", None);
    assert_eq!(p.cores, [7, 2, 3, 4, 5, 6]);
    assert_eq!(p.n_threads(), 6);
    assert!(matches!(p.source, PlanSource::Sysfs(_, Basis::Capacity)));
    assert_eq!(
        p.describe().split(" (").next().unwrap(),
        "6 threads pinned to CPUs 7,2,3,4,5,6"
    );
    assert!(p.pin);
}

#[test]
fn tensor_g3_takes_the_x3_and_the_four_a715s() {
    assert_eq!(pick(&tensor_g3(), "0-8", None).cores, [8, 4, 5, 6, 7]);
}

#[test]
fn dimensity_9300_all_big_takes_all_eight() {
    let p = pick(&dimensity_9300(), "0-7", None);
    assert_eq!(p.cores, [7, 4, 5, 6, 0, 1, 2, 3]);
    // Every CPU is taken: nothing to keep the workers off, so they are not pinned.
    assert!(!p.pin);
}

#[test]
fn exynos_2400_takes_the_x4_and_the_five_a720s() {
    assert_eq!(pick(&exynos_2400(), "0-9", None).cores, [9, 7, 8, 4, 5, 6]);
}

#[test]
fn offline_cores_and_the_affinity_mask_are_respected() {
    // The prime core offline (hot-unplugged by a thermal driver): the A720s remain.
    assert_eq!(pick(&sd8gen3(), "0-6", None).cores, [2, 3, 4, 5, 6]);
    // An app kept off CPU 7 and 2 by its cpuset.
    let allowed = [0, 1, 3, 4, 5, 6];
    assert_eq!(pick(&sd8gen3(), "0-7", Some(&allowed)).cores, [3, 4, 5, 6]);
}

#[test]
fn without_capacity_the_frequencies_decide() {
    let dir = tempfile::tempdir().unwrap();
    write_tree(dir.path(), &tensor_g3(), "0-8");
    for id in 0..9 {
        fs::remove_file(dir.path().join(format!("cpu{id}/cpu_capacity"))).unwrap();
    }
    let p = ThreadPlan::from_sysfs(dir.path(), None).unwrap();
    // By frequency alone the A715s (2.37 GHz) are 0.81 of the X3 and the A510s (1.70)
    // 0.58: 9 × 1.70 beats 5 × 2.37, so the littles are taken. Capacity is what tells a
    // little core apart; frequency is the fallback of kernels that lack it.
    assert!(matches!(p.source, PlanSource::Sysfs(_, Basis::MaxFreq)));
    assert_eq!(p.cores, [8, 4, 5, 6, 7, 0, 1, 2, 3]);
}

#[test]
fn this_machines_tree_as_a_fixture() {
    // This CI host's /sys/devices/system/cpu, as read on it: two vCPUs of capacity 1024,
    // no cpufreq, cluster_id 65535.
    let p = pick(
        &[FakeCpu(1024, 0, "65535"), FakeCpu(1024, 0, "65535")],
        "0-1",
        None,
    );
    assert_eq!(p.cores, [0, 1]);
    assert!(!p.pin);
}

#[cfg(target_os = "linux")]
#[test]
fn this_machines_own_tree() {
    let root = Path::new("/sys/devices/system/cpu");
    let p = ThreadPlan::from_sysfs(root, None).expect("this Linux host's CPU tree");
    let online = fs::read_to_string(root.join("online")).unwrap();
    let n_online = bague_board_phone::topology::parse_cpu_list(&online, root)
        .unwrap()
        .len();
    assert!(p.n_threads() >= 1 && p.n_threads() <= n_online, "{p:?}");
    if n_online == 2
        && fs::read_to_string(root.join("cpu0/cpu_capacity")).is_ok_and(|c| c.trim() == "1024")
    {
        // The 2-vCPU VM the fixtures describe: both cores.
        assert_eq!(p.cores, [0, 1]);
    }
    // The process's own mask is a subset of the online CPUs: detect() agrees with it.
    let d = ThreadPlan::detect();
    assert!(matches!(d.source, PlanSource::Sysfs(..)), "{d:?}");
    assert!(d.n_threads() <= p.n_threads());
}

#[test]
fn malformed_trees_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    write_tree(dir.path(), &sd8gen3(), "0-7");
    fs::write(dir.path().join("cpu3/cpu_capacity"), "fast\n").unwrap();
    let e = ThreadPlan::from_sysfs(dir.path(), None).unwrap_err();
    assert!(e.to_string().contains("cpu3/cpu_capacity"), "{e}");
    assert!(e.to_string().contains("\"fast\""), "{e}");

    fs::write(dir.path().join("online"), "0-99999999\n").unwrap();
    let e = ThreadPlan::from_sysfs(dir.path(), None).unwrap_err();
    assert!(e.to_string().contains("past the limit"), "{e}");

    let empty = tempfile::tempdir().unwrap();
    let e = ThreadPlan::from_sysfs(empty.path(), None).unwrap_err();
    assert!(e.to_string().contains("no online CPU"), "{e}");
}

#[cfg(target_os = "linux")]
#[test]
fn workers_are_pinned_to_the_chosen_cores() {
    use bague::parallel::Parallel;
    use std::sync::Mutex;
    let plan = ThreadPlan::detect();
    assert!(!plan.cores.is_empty(), "{plan:?}");
    // Pinned explicitly: on a host whose plan takes every CPU, `plan.pool()` does not pin.
    let pool = PhonePool::new(&plan.cores, true).unwrap();
    // Each task records the CPUs its thread may run on (sched_getaffinity).
    let seen = Mutex::new(Vec::new());
    let mut data = vec![0f32; 64 * plan.n_threads()];
    for _ in 0..20 {
        pool.for_each_chunk(&mut data, 1, &|_, _| {
            let ids: Vec<usize> = core_affinity::get_core_ids()
                .unwrap()
                .into_iter()
                .map(|c| c.id)
                .collect();
            seen.lock().unwrap().push(ids);
        });
    }
    // Workers start (and pin themselves) asynchronously: one may not have started yet if
    // the others took every task.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while pool.pinned() < plan.n_threads() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    assert_eq!(pool.pinned(), plan.n_threads());
    for ids in seen.into_inner().unwrap() {
        assert_eq!(ids.len(), 1, "a worker not pinned to one core: {ids:?}");
        assert!(
            plan.cores.contains(&ids[0]),
            "{ids:?} not in {:?}",
            plan.cores
        );
    }
}

#[test]
fn the_phone_board_reports_the_plans_threads() {
    use bague::board::Board;
    let dir = tempfile::tempdir().unwrap();
    write_tree(dir.path(), &sd8gen3(), "0-7");
    let plan = ThreadPlan::from_sysfs(dir.path(), None).unwrap();
    let board = bague_board_phone::PhoneBoard::from_plan(plan);
    let spec = board.spec();
    assert_eq!((spec.name, spec.threads), ("phone", 6));
    assert_eq!(spec.weights, bague::board::WeightSource::Mmap);
    assert!(spec.ram_bytes > 0);
    assert_eq!(board.plan().cores, [7, 2, 3, 4, 5, 6]);
    assert_eq!(board.ticks_per_second(), 1_000_000_000);
    let t0 = board.ticks();
    std::thread::sleep(std::time::Duration::from_millis(2));
    assert!(board.ticks() >= t0 + 2_000_000);
}

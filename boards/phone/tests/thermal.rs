//! Thermal back-off on fake `/sys/class/thermal` trees and sequences of readings.

use std::fs;
use std::path::Path;
use std::time::Duration;

use bague_board_phone::thermal::{
    AndroidThermalStatus, Reading, ThermalPolicy, ThermalState, Verdict, Zone, ZoneKind, read_zones,
};
use bague_board_phone::{PhonePool, ThermalMonitor, Throttle};

fn write_zones(root: &Path, zones: &[(&str, &str)]) {
    for (i, (ty, temp)) in zones.iter().enumerate() {
        let d = root.join(format!("thermal_zone{i}"));
        fs::create_dir_all(&d).unwrap();
        fs::write(d.join("type"), format!("{ty}\n")).unwrap();
        fs::write(d.join("temp"), format!("{temp}\n")).unwrap();
    }
    // Cooling devices live beside the zones and are not zones.
    fs::create_dir_all(root.join("cooling_device0")).unwrap();
}

/// A Pixel-like tree: CPU clusters, skin, battery, a disabled sensor.
fn pixel(root: &Path, big_mc: i32, skin_mc: i32) {
    let (b, s) = (big_mc.to_string(), skin_mc.to_string());
    write_zones(
        root,
        &[
            ("BIG", &b),
            ("MID", "61000"),
            ("LITTLE", "55000"),
            ("VIRTUAL-SKIN", &s),
            ("battery", "36000"),
            ("soc_therm", "-274000"), // a sensor that is off
            ("usb_pwr_therm", "broken"),
        ],
    );
}

#[test]
fn zones_are_read_and_classified() {
    let dir = tempfile::tempdir().unwrap();
    pixel(dir.path(), 91_000, 37_500);
    let r = read_zones(dir.path());
    assert_eq!(r.zones.len(), 6, "{r:?}"); // the unparsable one is skipped
    assert_eq!(
        r.zones[0],
        Zone {
            zone_type: "BIG".into(),
            kind: ZoneKind::Cpu,
            temp_mc: 91_000
        }
    );
    assert_eq!(r.hottest(ZoneKind::Cpu), Some(91_000));
    assert_eq!(r.hottest(ZoneKind::Skin), Some(37_500));
    assert_eq!(ThermalPolicy::default().verdict(&r), Verdict::Hot);
    // No tree at all: no readings, and nothing to back off from.
    let none = read_zones(&dir.path().join("missing"));
    assert!(none.zones.is_empty());
    assert_eq!(ThermalPolicy::default().verdict(&none), Verdict::Cool);
}

fn reading(cpu_mc: i32, skin_mc: i32) -> Reading {
    Reading {
        zones: vec![
            Zone {
                zone_type: "cpu-1-0-usr".into(),
                kind: ZoneKind::Cpu,
                temp_mc: cpu_mc,
            },
            Zone {
                zone_type: "skin-therm".into(),
                kind: ZoneKind::Skin,
                temp_mc: skin_mc,
            },
        ],
        status: None,
    }
}

#[test]
fn verdicts_have_hysteresis() {
    let p = ThermalPolicy::default();
    assert_eq!(p.verdict(&reading(85_000, 30_000)), Verdict::Hot);
    assert_eq!(p.verdict(&reading(80_000, 30_000)), Verdict::Hold);
    assert_eq!(p.verdict(&reading(74_999, 38_999)), Verdict::Cool);
    assert_eq!(p.verdict(&reading(60_000, 42_000)), Verdict::Hot);
    assert_eq!(p.verdict(&reading(60_000, 40_000)), Verdict::Hold);
    let mut r = reading(60_000, 30_000);
    r.status = Some(AndroidThermalStatus::Severe);
    assert_eq!(p.verdict(&r), Verdict::Hot);
    r.status = Some(AndroidThermalStatus::Moderate);
    assert_eq!(p.verdict(&r), Verdict::Hold);
    r.status = AndroidThermalStatus::from_raw(1);
    assert_eq!(p.verdict(&r), Verdict::Cool);
    assert_eq!(AndroidThermalStatus::from_raw(-1), None);
}

/// Runs `readings` (one per second) through the policy for 6 threads; the throttles.
fn run(readings: &[(i32, i32)]) -> Vec<Throttle> {
    let p = ThermalPolicy::default();
    let mut s = ThermalState::default();
    readings
        .iter()
        .enumerate()
        .map(|(t, &(c, k))| {
            s = s.step(&p, 6, &reading(c, k), Duration::from_secs(t as u64));
            s.throttle(&p, 6)
        })
        .collect()
}

#[test]
fn a_heat_up_and_cool_down_sequence() {
    let ms = Duration::from_millis;
    // 2 s cool, 22 s hot, 6 s between the thresholds, then cool.
    let mut seq = vec![(60_000, 35_000); 2];
    seq.extend([(90_000, 35_000); 22]);
    seq.extend([(80_000, 35_000); 6]);
    seq.extend([(70_000, 35_000); 40]);
    let th = run(&seq);
    let threads: Vec<usize> = th.iter().map(|t| t.threads).collect();
    // Full speed while cool.
    assert_eq!(
        th[0],
        Throttle {
            threads: 6,
            pace: ms(0)
        }
    );
    // The first hot reading (t = 2 s) drops a thread at once; then one step per 5 s:
    // t = 7, 12 → 4, 3 threads (half of 6: the floor); t = 17, 22 → 25, 50 ms of pace.
    assert_eq!(&threads[2..7], [5; 5]);
    assert_eq!(threads[7], 4);
    assert_eq!(threads[12], 3);
    assert_eq!(
        th[17],
        Throttle {
            threads: 3,
            pace: ms(25)
        }
    );
    assert_eq!(
        th[22],
        Throttle {
            threads: 3,
            pace: ms(50)
        }
    );
    // Between the thresholds (t = 24..29): held, neither worse nor better.
    assert!(th[24..30].iter().all(|&t| t == th[23]));
    assert_eq!(
        th[29],
        Throttle {
            threads: 3,
            pace: ms(50)
        }
    );
    // Cool from t = 30: one step back per 10 s of cool: t = 40, 50, 60 …
    assert_eq!(th[39], th[29]);
    assert_eq!(
        th[40],
        Throttle {
            threads: 3,
            pace: ms(25)
        }
    );
    assert_eq!(
        th[50],
        Throttle {
            threads: 3,
            pace: ms(0)
        }
    );
    assert_eq!(
        th[60],
        Throttle {
            threads: 4,
            pace: ms(0)
        }
    );
    assert_eq!(th[69].threads, 4);
}

#[test]
fn flapping_around_one_threshold_does_not_ratchet() {
    // Hot, then just under the hot line, repeatedly, once a second: at most one step per 5 s.
    let seq: Vec<_> = (0..20)
        .map(|t| {
            if t % 2 == 0 {
                (86_000, 30_000)
            } else {
                (84_000, 30_000)
            }
        })
        .collect();
    let th = run(&seq);
    let levels: Vec<usize> = th.iter().map(|t| 6 - t.threads).collect();
    assert_eq!(levels[0], 1);
    assert_eq!(levels[4], 1);
    assert_eq!(levels[6], 2); // t = 6: 5 s after the step at t = 0 → next even second
    assert!(levels.windows(2).all(|w| w[1] >= w[0]), "{levels:?}");
    assert_eq!(*levels.last().unwrap(), 3); // steps at t = 0, 6, 12, 18 → capped at the floor
}

#[test]
fn steps_are_capped_by_the_policy() {
    let th = run(&vec![(99_000, 50_000); 200]);
    assert_eq!(
        *th.last().unwrap(),
        Throttle {
            threads: 3,
            pace: Duration::from_millis(200)
        }
    );
}

#[test]
fn the_monitor_drives_a_pools_thread_limit() {
    let dir = tempfile::tempdir().unwrap();
    pixel(dir.path(), 95_000, 30_000);
    let pool = PhonePool::new(&[0, 1, 2, 3], false).unwrap();
    let limit = pool.limit();
    let policy = ThermalPolicy {
        pace_step: Duration::from_millis(1),
        ..Default::default()
    };
    let mut m = ThermalMonitor::with_root(dir.path(), policy, 4, Some(limit.clone()));
    assert_eq!(m.observe(None).threads, 3);
    assert_eq!(limit.get(), 3);
    use bague::parallel::Parallel;
    assert_eq!(pool.n_threads(), 3);
    // Cooled down: the limit is restored after `recover_after`, not before.
    pixel(dir.path(), 50_000, 30_000);
    assert_eq!(m.observe(None).threads, 3);
    assert_eq!(limit.get(), 3);
    // Android says SEVERE although the sensors are cool: back off again.
    m.observe(Some(AndroidThermalStatus::Critical));
    assert_eq!(limit.get(), 3, "no second step within step_every");
}

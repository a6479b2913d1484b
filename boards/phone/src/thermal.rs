//! Thermal back-off: read the thermal zones, decide how hard to run. The decision is a pure
//! function of the readings and the time ([`ThermalState::step`]); reading the files and
//! applying the result are separate ([`read_zones`], [`crate::ThermalMonitor`]).
//!
//! **Readings.** Each `thermal_zoneN` under `/sys/class/thermal` has a `type` and a `temp`
//! in millidegrees Celsius. A zone counts as a CPU zone when its type names the CPU or
//! the SoC (`cpu`, `soc`, `tsens`, `big`, `mid`, `little`, `prime`, case-insensitive:
//! Qualcomm `cpu-1-0-usr`, MediaTek `mtktscpu`, Samsung `BIG`, Pixel `soc_therm`), and as a
//! skin zone when it names the case (`skin`, `quiet`: `VIRTUAL-SKIN`, `quiet-therm`); other
//! zones (battery, modem, charger) are ignored. Readings outside −40…150 °C are a disabled
//! or broken sensor and ignored. Android's thermal status (`AThermal_getCurrentThermalStatus`,
//! 0 none … 6 shutdown) is not a file: the host passes it in when it has it.
//!
//! **Policy.** *Hot*: the hottest CPU zone at or above [`ThermalPolicy::cpu_hot_mc`], or
//! the hottest skin zone at or above [`ThermalPolicy::skin_hot_mc`], or a status of
//! SEVERE (3) or worse. *Cool*: every known reading below its `*_cool_mc` and a status of
//! LIGHT (1) or better. Anything between holds (hysteresis). While hot, the back-off level
//! goes up one step every [`ThermalPolicy::step_every`]; after [`ThermalPolicy::recover_after`]
//! of continuous cool it goes down one step, and again after each further such period. A
//! level first drops worker threads, one per step, down to half the performance cores
//! (rounded up), then adds [`ThermalPolicy::pace_step`] of pause per token per step up to
//! [`ThermalPolicy::max_pace`].

use std::path::{Path, PathBuf};
use std::time::Duration;

/// Where Linux exposes the thermal zones.
pub const DEFAULT_SYSFS_THERMAL: &str = "/sys/class/thermal";

/// Most zones read (phones have 50–120); more are ignored, so a strange tree cannot make
/// the reader allocate without bound.
pub const MAX_ZONES: usize = 512;

/// What a zone measures, from its `type`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ZoneKind {
    /// A CPU cluster, core or the SoC die.
    Cpu,
    /// The device's case (a virtual sensor the vendor computes, on Android).
    Skin,
    /// Anything else (battery, modem, charger, PMIC…): not used.
    Other,
}

impl ZoneKind {
    /// The kind of a zone from its `type` text.
    pub fn of(zone_type: &str) -> ZoneKind {
        let t = zone_type.trim().to_ascii_lowercase();
        if t.contains("skin") || t.contains("quiet") {
            ZoneKind::Skin
        } else if ["cpu", "soc", "tsens", "big", "mid", "little", "prime"]
            .iter()
            .any(|k| t.contains(k))
        {
            ZoneKind::Cpu
        } else {
            ZoneKind::Other
        }
    }
}

/// One zone's reading.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Zone {
    /// Its `type` text, trimmed.
    pub zone_type: String,
    /// Its kind.
    pub kind: ZoneKind,
    /// `temp`: millidegrees Celsius.
    pub temp_mc: i32,
}

/// Android's thermal status (`AThermalStatus`), as the host reads it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum AndroidThermalStatus {
    /// No throttling.
    None = 0,
    /// Light throttling, no user impact.
    Light = 1,
    /// Moderate throttling.
    Moderate = 2,
    /// Severe: the platform limits the device hard.
    Severe = 3,
    /// Critical.
    Critical = 4,
    /// Emergency: key components shutting down.
    Emergency = 5,
    /// Shutting down.
    Shutdown = 6,
}

impl AndroidThermalStatus {
    /// From the NDK's integer; `None` for values outside 0..=6 (`-1`: error / unsupported).
    pub fn from_raw(v: i32) -> Option<Self> {
        use AndroidThermalStatus::*;
        Some(match v {
            0 => None,
            1 => Light,
            2 => Moderate,
            3 => Severe,
            4 => Critical,
            5 => Emergency,
            6 => Shutdown,
            _ => return Option::None,
        })
    }
}

/// Everything the policy looks at, taken at one moment.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Reading {
    /// Zones read (every kind; the policy uses CPU and skin zones).
    pub zones: Vec<Zone>,
    /// Android's thermal status, where the host could read it.
    pub status: Option<AndroidThermalStatus>,
}

/// Lowest and highest temperatures taken as real, millidegrees.
const VALID_MC: core::ops::RangeInclusive<i32> = -40_000..=150_000;

impl Reading {
    /// The hottest valid reading of `kind`, millidegrees.
    pub fn hottest(&self, kind: ZoneKind) -> Option<i32> {
        self.zones
            .iter()
            .filter(|z| z.kind == kind && VALID_MC.contains(&z.temp_mc))
            .map(|z| z.temp_mc)
            .max()
    }
}

/// Reads `thermal_zone*/type` and `temp` under `root` (a directory laid out as
/// [`DEFAULT_SYSFS_THERMAL`]), at most [`MAX_ZONES`], by zone number. A zone whose files
/// cannot be read or parsed is skipped (many exist but refuse reads while their sensor is
/// off). A missing `root` gives no zones. The status is left `None`.
pub fn read_zones(root: &Path) -> Reading {
    let mut dirs: Vec<(u32, PathBuf)> = match std::fs::read_dir(root) {
        Ok(rd) => rd
            .filter_map(Result::ok)
            .filter_map(|e| {
                let n = e
                    .file_name()
                    .to_str()?
                    .strip_prefix("thermal_zone")?
                    .parse()
                    .ok()?;
                Some((n, e.path()))
            })
            .take(MAX_ZONES)
            .collect(),
        Err(_) => Vec::new(),
    };
    dirs.sort();
    let zones = dirs
        .iter()
        .filter_map(|(_, d)| {
            let zone_type = std::fs::read_to_string(d.join("type")).ok()?;
            let temp_mc = std::fs::read_to_string(d.join("temp"))
                .ok()?
                .trim()
                .parse()
                .ok()?;
            let zone_type = zone_type.trim().to_string();
            Some(Zone {
                kind: ZoneKind::of(&zone_type),
                zone_type,
                temp_mc,
            })
        })
        .collect();
    Reading {
        zones,
        status: None,
    }
}

/// Thresholds and pacing of the back-off.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ThermalPolicy {
    /// A CPU zone at or above this is hot, millidegrees (default 85 °C: phones' governors
    /// start capping big-core frequencies around 85–95 °C).
    pub cpu_hot_mc: i32,
    /// CPU zones all below this are cool, millidegrees (default 75 °C).
    pub cpu_cool_mc: i32,
    /// A skin zone at or above this is hot, millidegrees (default 42 °C).
    pub skin_hot_mc: i32,
    /// Skin zones all below this are cool, millidegrees (default 39 °C).
    pub skin_cool_mc: i32,
    /// While hot, one more step of back-off this often (default 5 s).
    pub step_every: Duration,
    /// After this long cool, one step less (default 10 s).
    pub recover_after: Duration,
    /// Pause added per token by each pacing step (default 25 ms).
    pub pace_step: Duration,
    /// Longest pause per token (default 200 ms).
    pub max_pace: Duration,
}

impl Default for ThermalPolicy {
    fn default() -> Self {
        ThermalPolicy {
            cpu_hot_mc: 85_000,
            cpu_cool_mc: 75_000,
            skin_hot_mc: 42_000,
            skin_cool_mc: 39_000,
            step_every: Duration::from_secs(5),
            recover_after: Duration::from_secs(10),
            pace_step: Duration::from_millis(25),
            max_pace: Duration::from_millis(200),
        }
    }
}

/// What the readings say, before time is considered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Back off.
    Hot,
    /// Between the thresholds: keep the level.
    Hold,
    /// Recover.
    Cool,
}

impl ThermalPolicy {
    /// The verdict on one reading (see the module documentation).
    pub fn verdict(&self, r: &Reading) -> Verdict {
        let cpu = r.hottest(ZoneKind::Cpu);
        let skin = r.hottest(ZoneKind::Skin);
        let hot = cpu.is_some_and(|t| t >= self.cpu_hot_mc)
            || skin.is_some_and(|t| t >= self.skin_hot_mc)
            || r.status.is_some_and(|s| s >= AndroidThermalStatus::Severe);
        if hot {
            return Verdict::Hot;
        }
        let cool = cpu.is_none_or(|t| t < self.cpu_cool_mc)
            && skin.is_none_or(|t| t < self.skin_cool_mc)
            && r.status.is_none_or(|s| s <= AndroidThermalStatus::Light);
        if cool { Verdict::Cool } else { Verdict::Hold }
    }

    /// Steps of back-off for `n_threads` performance cores: thread drops, then pace steps.
    pub fn max_level(&self, n_threads: usize) -> u32 {
        let drops = n_threads - min_threads(n_threads);
        let paces = self.max_pace.as_nanos() / self.pace_step.as_nanos().max(1);
        (drops as u128 + paces).min(u32::MAX as u128) as u32
    }

    /// What `level` means for `n_threads` performance cores.
    pub fn throttle(&self, n_threads: usize, level: u32) -> Throttle {
        let n_threads = n_threads.max(1);
        let drops = (n_threads - min_threads(n_threads)) as u32;
        let dropped = level.min(drops);
        let pace_steps = level - dropped;
        let pace = self.pace_step.saturating_mul(pace_steps).min(self.max_pace);
        Throttle {
            threads: n_threads - dropped as usize,
            pace,
        }
    }
}

/// Fewest threads back-off goes down to: half the performance cores, rounded up.
fn min_threads(n_threads: usize) -> usize {
    n_threads.max(1).div_ceil(2)
}

/// How hard to run now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Throttle {
    /// Worker threads to use.
    pub threads: usize,
    /// Pause after each generated token.
    pub pace: Duration,
}

/// The back-off state: a level, when it last changed, and since when the readings have
/// given the current verdict.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ThermalState {
    /// Steps of back-off in force (0: full speed).
    pub level: u32,
    /// When the level last changed (caller's monotonic time, from any fixed start).
    changed: Option<Duration>,
    /// The current verdict and when its run began (restarted by a level change).
    run: Option<(Verdict, Duration)>,
}

impl ThermalState {
    /// The state after `reading` at time `now` (monotonic, from any fixed start), for
    /// `n_threads` performance cores. Pure: the same inputs give the same state.
    ///
    /// Hot: one step up, unless the level changed less than `step_every` ago (so the first
    /// hot reading backs off at once). Cool: one step down once the cool run has lasted
    /// `recover_after` (a step restarts the run). Hold: nothing changes but the run.
    pub fn step(
        self,
        policy: &ThermalPolicy,
        n_threads: usize,
        reading: &Reading,
        now: Duration,
    ) -> ThermalState {
        let v = policy.verdict(reading);
        let run_start = match self.run {
            Some((last, start)) if last == v => start,
            _ => now,
        };
        let mut next = ThermalState {
            level: self.level,
            changed: self.changed,
            run: Some((v, run_start)),
        };
        let since_change = self.changed.map(|c| now.saturating_sub(c));
        let change = match v {
            Verdict::Hot => {
                self.level < policy.max_level(n_threads)
                    && since_change.is_none_or(|d| d >= policy.step_every)
            }
            Verdict::Cool => {
                self.level > 0 && now.saturating_sub(run_start) >= policy.recover_after
            }
            Verdict::Hold => false,
        };
        if change {
            next.level = if v == Verdict::Hot {
                self.level + 1
            } else {
                self.level - 1
            };
            next.changed = Some(now);
            next.run = Some((v, now));
        }
        next
    }

    /// What this state means for `n_threads` performance cores.
    pub fn throttle(&self, policy: &ThermalPolicy, n_threads: usize) -> Throttle {
        policy.throttle(n_threads, self.level)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zone_kinds() {
        for t in [
            "cpu-1-0-usr",
            "mtktscpu",
            "BIG",
            "soc_therm",
            "tsens_tz_sensor3",
            "cpuss-0",
        ] {
            assert_eq!(ZoneKind::of(t), ZoneKind::Cpu, "{t}");
        }
        for t in ["VIRTUAL-SKIN", "quiet-therm", "skin-therm"] {
            assert_eq!(ZoneKind::of(t), ZoneKind::Skin, "{t}");
        }
        for t in ["battery", "pm8550_tz", "xo-therm", "modem0"] {
            assert_eq!(ZoneKind::of(t), ZoneKind::Other, "{t}");
        }
    }

    #[test]
    fn throttle_drops_threads_then_paces() {
        let p = ThermalPolicy::default();
        assert_eq!(p.max_level(6), 3 + 8);
        let t = |l| p.throttle(6, l);
        assert_eq!(
            t(0),
            Throttle {
                threads: 6,
                pace: Duration::ZERO
            }
        );
        assert_eq!(
            t(3),
            Throttle {
                threads: 3,
                pace: Duration::ZERO
            }
        );
        assert_eq!(
            t(4),
            Throttle {
                threads: 3,
                pace: Duration::from_millis(25)
            }
        );
        assert_eq!(t(11).pace, Duration::from_millis(200));
        assert_eq!(t(99).pace, Duration::from_millis(200));
        // One core: nothing to drop, pacing only.
        assert_eq!(
            p.throttle(1, 1),
            Throttle {
                threads: 1,
                pace: Duration::from_millis(25)
            }
        );
    }
}

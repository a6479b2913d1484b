//! The phone board: how bague runs on big.LITTLE Android/Linux phones and Apple devices.
//!
//! - **Threads**: one worker per performance core ([`policy`] says precisely which cores
//!   those are), read from sysfs ([`topology`]) on Linux/Android and from `sysctl
//!   hw.perflevel0.*` on Apple. Oversubscribing little cores collapses decode speed: every
//!   matrix waits for its slowest share.
//! - **Pinning**: worker `i` is pinned to performance core `i` on Linux/Android
//!   ([`PhonePool`], through the core's [`ThreadPool::with_start_handler`] hook) when the
//!   plan leaves a CPU out; a plan that takes every CPU leaves placement to the scheduler.
//! - **Thermal back-off**: [`thermal`] decides from zone temperatures (and Android's
//!   thermal status) when to drop a worker or pause between tokens, with hysteresis;
//!   [`ThermalMonitor`] reads the zones at most once a second and applies it.
//!
//! This is what `threads: auto` means in the CLI (`--threads auto`, the default) and the
//! C ABI (`n_threads = 0`, the default) on Linux, Android and Apple.
//!
//! ```no_run
//! # fn demo(model: &bague::model::Model<'_>) -> Result<(), Box<dyn std::error::Error>> {
//! use bague_board_phone::{ThreadPlan, ThermalMonitor};
//! let plan = ThreadPlan::detect();
//! let pool = plan.pool()?;
//! let mut thermal = ThermalMonitor::new(plan.n_threads(), Some(pool.limit()));
//! let opts = bague::session::SessionOptions { n_ctx: 512, ..Default::default() };
//! let mut session = bague_board_phone::session(model, opts, pool)?;
//! let logits = session.prefill(&[1, 2, 3])?;
//! # let _ = logits;
//! thermal.after_token(); // between tokens: may lower the workers in use, or sleep
//! # Ok(()) }
//! ```
//!
//! [`PhoneBoard`] is the core's [`Board`] for this device: the
//! `phone` class spec with the detected performance cores as its threads and the memory
//! the system says is available as its RAM budget.
//!
//! [`ThreadPool::with_start_handler`]: bague::parallel::ThreadPool::with_start_handler

#![forbid(unsafe_code)]

#[cfg(target_vendor = "apple")]
mod apple;
pub mod policy;
mod pool;
pub mod thermal;
pub mod topology;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

pub use policy::{Basis, Selection, performance_cores};
pub use pool::{PhonePool, ThreadLimit};
pub use thermal::{Reading, ThermalPolicy, ThermalState, Throttle};
pub use topology::{Topology, TopologyError};

use bague::board::{Board, BoardSpec, PHONE};
use bague::model::{Error as ModelError, Model};
use bague::parallel::PoolError;
use bague::session::{Session, SessionOptions};

/// Where a [`ThreadPlan`] came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PlanSource {
    /// Linux/Android sysfs, read under this root.
    Sysfs(PathBuf, Basis),
    /// Apple's `hw.perflevel0.physicalcpu` (or `hw.physicalcpu`).
    AppleSysctl,
    /// Neither could be read: every CPU the process may use (the reason, for a log line).
    Fallback(String),
}

/// The workers `threads: auto` runs: how many, and on which cores.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ThreadPlan {
    /// CPU numbers to pin worker `i` to (`cores[i]`), fastest first; empty where the cores
    /// are not known or cannot be pinned (Apple, fallback): then only the count holds.
    pub cores: Vec<usize>,
    n_threads: usize,
    /// Pin worker `i` to `cores[i]`: only when the plan leaves out a CPU the process may use
    /// (a little core, an SMT sibling). When it takes every CPU, pinning excludes nothing
    /// and only takes from the scheduler the freedom to move a worker off a core that
    /// something else is using (measured on a loaded 2-vCPU VM: pinned decode 18 % slower).
    pub pin: bool,
    /// How the plan was made.
    pub source: PlanSource,
}

impl ThreadPlan {
    /// The plan for this machine: sysfs on Linux/Android (the process's affinity mask
    /// applied), sysctl on Apple, else every CPU available. Never fails: a topology that
    /// cannot be read gives [`PlanSource::Fallback`] with the reason.
    pub fn detect() -> ThreadPlan {
        #[cfg(target_vendor = "apple")]
        if let Some(n) = apple::performance_cores() {
            return ThreadPlan {
                cores: Vec::new(),
                n_threads: n,
                pin: false,
                source: PlanSource::AppleSysctl,
            };
        }
        if cfg!(any(target_os = "linux", target_os = "android")) {
            let allowed = core_affinity::get_core_ids()
                .map(|ids| ids.into_iter().map(|c| c.id).collect::<Vec<_>>());
            match Self::from_sysfs(Path::new(topology::DEFAULT_SYSFS_CPU), allowed.as_deref()) {
                Ok(plan) => return plan,
                Err(e) => return Self::fallback(e.to_string()),
            }
        }
        Self::fallback("no CPU topology on this system".into())
    }

    /// The plan from a sysfs tree at `root` (a directory laid out as
    /// `/sys/devices/system/cpu`), for a process allowed on `allowed` (`None`: all).
    /// Errors: the tree cannot be read ([`Topology::from_sysfs`]).
    pub fn from_sysfs(root: &Path, allowed: Option<&[usize]>) -> Result<ThreadPlan, TopologyError> {
        let topo = Topology::from_sysfs(root)?;
        let sel = performance_cores(&topo, allowed);
        let usable = topo
            .cpus
            .iter()
            .filter(|c| allowed.is_none_or(|a| a.contains(&c.id)))
            .count();
        Ok(ThreadPlan {
            n_threads: sel.cores.len().max(1),
            pin: sel.cores.len() < usable,
            cores: sel.cores,
            source: PlanSource::Sysfs(root.to_path_buf(), sel.basis),
        })
    }

    fn fallback(why: String) -> ThreadPlan {
        ThreadPlan {
            cores: Vec::new(),
            pin: false,
            n_threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
            source: PlanSource::Fallback(why),
        }
    }

    /// Worker threads: the performance cores. At least 1.
    pub fn n_threads(&self) -> usize {
        self.n_threads
    }

    /// A pool of [`ThreadPlan::n_threads`] workers, pinned to [`ThreadPlan::cores`] on
    /// Linux/Android when [`ThreadPlan::pin`]. Errors: threads refused.
    pub fn pool(&self) -> Result<PhonePool, PoolError> {
        if self.cores.is_empty() {
            let ids: Vec<usize> = (0..self.n_threads).collect();
            PhonePool::new(&ids, false)
        } else {
            let pin = self.pin && cfg!(any(target_os = "linux", target_os = "android"));
            PhonePool::new(&self.cores, pin)
        }
    }

    /// One line for a log: `6 threads pinned to CPUs 7,2,3,4,5,6 (sysfs cpu_capacity)`.
    pub fn describe(&self) -> String {
        let how = match &self.source {
            PlanSource::Sysfs(_, Basis::Capacity) => "sysfs cpu_capacity".to_string(),
            PlanSource::Sysfs(_, Basis::MaxFreq) => "sysfs cpuinfo_max_freq".to_string(),
            PlanSource::Sysfs(_, Basis::Uniform) => "sysfs, all cores alike".to_string(),
            PlanSource::AppleSysctl => "sysctl hw.perflevel0".to_string(),
            PlanSource::Fallback(why) => format!("all CPUs: {why}"),
        };
        if self.cores.is_empty() {
            format!("{} threads ({how})", self.n_threads)
        } else {
            let ids: Vec<String> = self.cores.iter().map(ToString::to_string).collect();
            let on = if self.pin { "pinned to" } else { "on" };
            format!(
                "{} threads {on} CPUs {} ({how})",
                self.n_threads,
                ids.join(",")
            )
        }
    }
}

/// A session whose rows are split by `pool`. The session sizes its per-thread buffers for
/// the pool's full size, so the pool's [`ThreadLimit`] may later go anywhere in 1..=that
/// (it is raised to the full size while the session is made, then put back).
/// Errors: as [`Session::with_parallel`].
// The core's own error, returned as `Session::with_parallel` returns it.
#[allow(clippy::result_large_err)]
pub fn session<'m, 'a>(
    model: &'m Model<'a>,
    opts: SessionOptions,
    pool: PhonePool,
) -> Result<Session<'m, 'a>, ModelError> {
    let limit = pool.limit();
    let now = limit.get();
    limit.set(limit.max());
    let s = Session::with_parallel(model, opts, Box::new(pool));
    limit.set(now);
    s
}

/// Reads the thermal zones at most once per [`ThermalMonitor::POLL`] and applies the
/// [`thermal`] policy: lowers or restores a pool's [`ThreadLimit`], and pauses after a
/// token when pacing is in force. Call [`ThermalMonitor::after_token`] between tokens.
#[derive(Debug)]
pub struct ThermalMonitor {
    root: PathBuf,
    policy: ThermalPolicy,
    state: ThermalState,
    n_threads: usize,
    limit: Option<ThreadLimit>,
    start: Instant,
    last_poll: Option<Instant>,
    throttle: Throttle,
}

impl ThermalMonitor {
    /// How often the zones are read.
    pub const POLL: Duration = Duration::from_secs(1);

    /// A monitor of `/sys/class/thermal` with the default policy for `n_threads`
    /// performance cores, driving `limit` when given.
    pub fn new(n_threads: usize, limit: Option<ThreadLimit>) -> Self {
        Self::with_root(
            thermal::DEFAULT_SYSFS_THERMAL.as_ref(),
            ThermalPolicy::default(),
            n_threads,
            limit,
        )
    }

    /// As [`ThermalMonitor::new`] with another tree and policy.
    pub fn with_root(
        root: &Path,
        policy: ThermalPolicy,
        n_threads: usize,
        limit: Option<ThreadLimit>,
    ) -> Self {
        let n_threads = n_threads.max(1);
        ThermalMonitor {
            root: root.to_path_buf(),
            policy,
            state: ThermalState::default(),
            n_threads,
            limit,
            start: Instant::now(),
            last_poll: None,
            throttle: policy.throttle(n_threads, 0),
        }
    }

    /// Takes a reading (with Android's status if the host has it) and applies the policy
    /// now; returns the throttle in force.
    pub fn observe(&mut self, status: Option<thermal::AndroidThermalStatus>) -> Throttle {
        let mut reading = thermal::read_zones(&self.root);
        reading.status = status;
        let now = Instant::now();
        self.last_poll = Some(now);
        self.state = self
            .state
            .step(&self.policy, self.n_threads, &reading, now - self.start);
        self.throttle = self.state.throttle(&self.policy, self.n_threads);
        if let Some(l) = &self.limit {
            l.set(self.throttle.threads);
        }
        self.throttle
    }

    /// Between two tokens: reads the zones if [`ThermalMonitor::POLL`] has passed, then
    /// sleeps the pace in force (usually none). Returns the throttle in force.
    pub fn after_token(&mut self) -> Throttle {
        if self.last_poll.is_none_or(|t| t.elapsed() >= Self::POLL) {
            self.observe(None);
        }
        if !self.throttle.pace.is_zero() {
            std::thread::sleep(self.throttle.pace);
        }
        self.throttle
    }

    /// The throttle in force.
    pub fn throttle(&self) -> Throttle {
        self.throttle
    }
}

/// A generation [`Sink`](bague::generate::Sink) that runs a [`ThermalMonitor`] between
/// tokens (reads the zones once a second, lowers the workers in use or pauses when hot)
/// and passes everything on to `inner`.
pub struct ThermalSink<'s> {
    inner: &'s mut dyn bague::generate::Sink,
    monitor: &'s mut ThermalMonitor,
}

impl<'s> ThermalSink<'s> {
    /// `inner`, with `monitor` run after each token.
    pub fn new(inner: &'s mut dyn bague::generate::Sink, monitor: &'s mut ThermalMonitor) -> Self {
        ThermalSink { inner, monitor }
    }
}

impl bague::generate::Sink for ThermalSink<'_> {
    fn token(&mut self, id: u32) -> std::ops::ControlFlow<()> {
        self.monitor.after_token();
        self.inner.token(id)
    }

    fn piece(&mut self, piece: bague::generate::Piece<'_>) -> std::ops::ControlFlow<()> {
        self.inner.piece(piece)
    }
}

/// The phone as a core [`Board`]: [`bague::board::PHONE`]'s numbers with this device's own
/// where it can read them: `threads` = the performance cores of its [`ThreadPlan`],
/// `ram_bytes` = `MemAvailable` (Linux/Android; the class budget elsewhere). Ticks are
/// nanoseconds of a monotonic clock.
#[derive(Debug)]
pub struct PhoneBoard {
    spec: BoardSpec,
    plan: ThreadPlan,
    start: Instant,
}

impl PhoneBoard {
    /// The board of this machine ([`ThreadPlan::detect`]).
    pub fn detect() -> Self {
        Self::from_plan(ThreadPlan::detect())
    }

    /// The board for `plan`.
    pub fn from_plan(plan: ThreadPlan) -> Self {
        let ram_bytes = bague::session::available_memory().map_or(PHONE.ram_bytes, |b| b as u64);
        PhoneBoard {
            spec: BoardSpec {
                about: "Arm big.LITTLE phone (boards/phone): threads = performance cores, \
                        RAM = MemAvailable, mmap",
                threads: plan.n_threads(),
                ram_bytes,
                ..PHONE
            },
            plan,
            start: Instant::now(),
        }
    }

    /// The thread plan behind [`BoardSpec::threads`] (cores, pinning); its
    /// [`ThreadPlan::pool`] is the pool a session on this board runs on.
    pub fn plan(&self) -> &ThreadPlan {
        &self.plan
    }
}

impl Board for PhoneBoard {
    fn spec(&self) -> &BoardSpec {
        &self.spec
    }

    fn ticks(&self) -> u64 {
        u64::try_from(self.start.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }

    fn ticks_per_second(&self) -> u64 {
        1_000_000_000
    }
}

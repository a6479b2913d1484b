//! Flags shared by the commands that generate: sampling (`--temp`, `--top-k`, …, `--seed`)
//! and the session (`--ctx`, `--threads`, `--context-shift`, `--kv-type`). Unset flags keep
//! the model's own defaults, as the core's [`Bundle`] resolves them.

use anyhow::{Result, bail};
use bague::bundle::Bundle;
use bague::model::KvType;
use bague::model::Model;
use bague::sampler::SamplerConfig;
use bague::session::{ContextPolicy, Session, SessionOptions};
use bague_board_phone::{ThermalMonitor, ThreadPlan};

/// Sampling flags shared by `run` and `chat`. Unset flags keep the model's defaults
/// (`general.sampling.*`, DeepSeek's advice for R1 distills, else llama.cpp's).
#[derive(clap::Args, Clone, Debug)]
pub struct SamplingArgs {
    /// Temperature; 0 = greedy.
    #[arg(long, value_name = "T")]
    temp: Option<f32>,
    /// Keep the K most likely tokens (0 = off).
    #[arg(long, value_name = "K")]
    top_k: Option<u32>,
    /// Keep the most likely tokens up to probability mass P (1 = off).
    #[arg(long, value_name = "P")]
    top_p: Option<f32>,
    /// Drop tokens less likely than P times the most likely (0 = off).
    #[arg(long, value_name = "P")]
    min_p: Option<f32>,
    /// Penalty for repeating the last 64 tokens (1 = off).
    #[arg(long, value_name = "R")]
    repeat_penalty: Option<f32>,
    /// Random seed (default: a random one, printed at the end).
    #[arg(long, value_name = "S")]
    seed: Option<u64>,
}

impl SamplingArgs {
    /// The model's defaults with these flags on top.
    pub fn config(&self, bundle: &Bundle<'_>) -> SamplerConfig {
        let mut c = bundle.sampling;
        if let Some(t) = self.temp {
            c.temp = t;
        }
        if let Some(k) = self.top_k {
            c.top_k = k;
        }
        if let Some(p) = self.top_p {
            c.top_p = p;
        }
        if let Some(p) = self.min_p {
            c.min_p = p;
        }
        if let Some(r) = self.repeat_penalty {
            c.penalty_repeat = r;
        }
        c.seed = self.seed.unwrap_or_else(random_seed);
        c
    }
}

/// A seed from the clock and the process id.
fn random_seed() -> u64 {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    t ^ (u64::from(std::process::id()) << 32)
}

/// Context and thread flags shared by `run` and `chat`.
#[derive(clap::Args, Clone, Debug)]
pub struct SessionArgs {
    /// Context length in tokens (default: the model's, at most 4096).
    #[arg(long = "ctx", short = 'c', value_name = "N")]
    pub ctx: Option<usize>,
    /// Worker threads: a count (at most 4 per CPU), or `auto` (the default): one per
    /// performance core, pinned to it on Linux/Android, with thermal back-off (the phone
    /// board's policy; on a machine whose cores are all alike, one per physical core).
    #[arg(long, short = 't', value_name = "N|auto", value_parser = parse_threads)]
    pub threads: Option<Threads>,
    /// When the context is full, drop the older half of it and go on (llama.cpp's
    /// context shift) instead of stopping.
    #[arg(long)]
    pub context_shift: bool,
    /// KV cache element type for keys and values: `f16` (default, llama.cpp's) or `q8_0`
    /// (llama.cpp's `--cache-type-k/v q8_0`: 8.5 bits per value, about half the memory;
    /// needs a head size that is a multiple of 32).
    #[arg(long, value_name = "TYPE", default_value = "f16", value_parser = parse_kv_type)]
    pub kv_type: KvType,
    #[command(flatten)]
    pub backend: crate::backend::BackendArgs,
}

/// `--threads`: a count, or `auto`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Threads {
    /// The phone board's policy ([`bague_board_phone::ThreadPlan::detect`]).
    Auto,
    /// This many workers, unpinned.
    Count(usize),
}

/// `auto` (case-insensitive) or a whole number.
fn parse_threads(s: &str) -> Result<Threads, String> {
    if s.eq_ignore_ascii_case("auto") {
        return Ok(Threads::Auto);
    }
    s.parse()
        .map(Threads::Count)
        .map_err(|_| format!("{s:?} is neither a thread count nor `auto`"))
}

/// `f16` | `q8_0` (case-insensitive).
pub fn parse_kv_type(s: &str) -> Result<KvType, String> {
    KvType::from_name(s).ok_or_else(|| format!("unknown KV cache type {s:?} (f16 or q8_0)"))
}

impl SessionArgs {
    /// The worker threads to use: `--threads N`, else (`auto`, the default) the
    /// performance cores of [`ThreadPlan::detect`].
    /// Errors: 0, or more than [`bague::session::MAX_THREADS_PER_CPU`] × the CPUs (a typo such as
    /// `--threads 1000000` would otherwise spawn that many threads).
    pub fn threads(&self) -> Result<usize> {
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
        let limit = bague::session::host_thread_limit();
        match self.threads.unwrap_or(Threads::Auto) {
            Threads::Auto => Ok(ThreadPlan::detect().n_threads()),
            Threads::Count(0) => bail!("--threads must be at least 1"),
            Threads::Count(n) if n > limit => {
                bail!("--threads {n}: this process may use {cpus} CPUs; give at most {limit}")
            }
            Threads::Count(n) => Ok(n),
        }
    }

    /// A session with `opts` on `model`: with `--threads auto`, on the phone board's
    /// pinned pool of performance cores, with the thermal monitor that throttles it (run it
    /// between tokens with [`ThermalSink`](bague_board_phone::ThermalSink)); with a count,
    /// a plain pool and no monitor. Errors: those of [`Session::new`].
    pub fn session<'m, 'a>(
        &self,
        model: &'m Model<'a>,
        opts: SessionOptions,
    ) -> Result<(Session<'m, 'a>, Option<ThermalMonitor>)> {
        if let Some(Threads::Count(_)) = self.threads {
            let s = Session::new(model, opts).map_err(crate::output::session_error)?;
            return Ok((s, None));
        }
        let plan = ThreadPlan::detect();
        let pool = plan
            .pool()
            .map_err(|e| anyhow::anyhow!("{}: {e}", plan.describe()))?;
        let monitor = ThermalMonitor::new(plan.n_threads(), Some(pool.limit()));
        let s =
            bague_board_phone::session(model, opts, pool).map_err(crate::output::session_error)?;
        Ok((s, Some(monitor)))
    }

    /// The context length: `--ctx`, else the model's (at most 4096). Errors: `--ctx 0`.
    pub fn n_ctx(&self, bundle: &Bundle<'_>) -> Result<usize> {
        match self.ctx {
            Some(0) => bail!("--ctx must be at least 1"),
            Some(n) => Ok(n),
            None => Ok(bundle.default_n_ctx()),
        }
    }

    /// Session options for `bundle`'s model; a context shift keeps the first `n_keep`
    /// positions (at most half the context, so that a shift can always make room).
    /// Errors: bad `--threads`, `--ctx 0`.
    pub fn options(&self, bundle: &Bundle<'_>, n_keep: usize) -> Result<SessionOptions> {
        let n_threads = self.threads()?;
        let n_ctx = self.n_ctx(bundle)?;
        Ok(SessionOptions {
            n_ctx,
            n_threads,
            kv_type: self.kv_type,
            context_policy: if self.context_shift {
                ContextPolicy::Shift {
                    n_keep: n_keep.min(n_ctx / 2),
                }
            } else {
                ContextPolicy::Error
            },
            // A context too large for this machine is refused before it is allocated.
            memory_budget: bague::session::available_memory(),
            ..SessionOptions::default()
        })
    }
}

/// `-n`: -1 (no limit) or a token count that fits 32 bits.
pub fn parse_n_predict(s: &str) -> Result<i64, String> {
    let n: i64 = s
        .parse()
        .map_err(|_| format!("{s:?} is not a whole number"))?;
    if n < -1 || n > i64::from(u32::MAX) {
        return Err(format!(
            "{n} is out of range: give -1 (until end-of-generation) or 0..={}",
            u32::MAX
        ));
    }
    Ok(n)
}

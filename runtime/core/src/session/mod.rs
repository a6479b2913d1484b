//! A [`Session`]: one conversation's state over a [`Model`] — the KV cache, the position,
//! and every work buffer, all allocated once when the session is made. `prefill` and
//! `decode` allocate nothing.
//!
//! ```no_run
//! # fn demo(model: &bague::model::Model<'_>) -> Result<(), bague::model::Error> {
//! use bague::session::{Session, SessionOptions};
//! let mut s = Session::new(model, SessionOptions { n_ctx: 512, ..Default::default() })?;
//! let logits = s.prefill(&[1, 2, 3])?; // [n_vocab] logits of the last prompt token
//! let next = logits.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1)).unwrap().0 as u32;
//! let logits = s.decode(next)?;
//! # let _ = logits; Ok(()) }
//! ```

mod backend;
#[cfg(feature = "gpu")]
pub mod gpu;
mod plan;

pub use backend::{BackendChoice, Session};
pub use plan::{
    Fit, MemoryPlan, PLAN_GRANULE, PLAN_MAX_EOG, PLAN_PENALTY_LAST_N, TokenizerRam, tokenizer_ram,
};

use crate::model::forward::{self, Rows, Scratch};
use crate::model::{Error, KvCache, KvType, Model};
use crate::parallel::{Parallel, Sequential};
use alloc::boxed::Box;
use core::sync::atomic::AtomicBool;

/// What to do when a step does not fit in the context.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ContextPolicy {
    /// Refuse with [`Error::ContextFull`]; nothing is computed, the session is unchanged.
    #[default]
    Error,
    /// Keep the first `n_keep` positions, drop the oldest half of the rest and move the
    /// remainder down, re-rotating the cached keys by the position change (llama.cpp's
    /// context shift). Then run the step.
    Shift {
        /// Positions at the start that are never dropped (a system prompt).
        n_keep: usize,
    },
}

/// Options of a session.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SessionOptions {
    /// Context length in tokens (KV cache positions). Must be at least 1; it may exceed
    /// the model's training context, at the user's risk.
    pub n_ctx: usize,
    /// Most tokens per forward pass; longer prompts are processed in chunks of this size.
    /// 0 means `min(n_ctx, 512)` (llama.cpp's default `n_batch`).
    pub n_batch: usize,
    /// Worker threads (std only; 1 runs on the calling thread). 0 is an error.
    pub n_threads: usize,
    /// KV cache element type.
    pub kv_type: KvType,
    /// What happens when the context is full.
    pub context_policy: ContextPolicy,
    /// Most heap bytes the session may allocate ([`MemoryPlan::session`]): a board's RAM
    /// budget. `None`: no budget (the heap's own limit still gives an error, not an abort).
    pub memory_budget: Option<usize>,
}

impl Default for SessionOptions {
    fn default() -> Self {
        SessionOptions {
            n_ctx: 512,
            n_batch: 0,
            n_threads: 1,
            kv_type: KvType::F16,
            context_policy: ContextPolicy::Error,
            memory_budget: None,
        }
    }
}

impl SessionOptions {
    /// Tokens per forward pass: `n_batch`, or `min(n_ctx, 512)` when 0.
    pub fn batch_size(&self) -> usize {
        match self.n_batch {
            0 => self.n_ctx.min(512),
            b => b,
        }
    }
}

/// Bytes of memory the system can give without swapping (Linux `MemAvailable` of
/// `/proc/meminfo`); `None` elsewhere or when it cannot be read. Hosts use it as the
/// default [`SessionOptions::memory_budget`], so that a context too large for the machine is
/// refused up front instead of filling memory.
#[cfg(feature = "std")]
pub fn available_memory() -> Option<usize> {
    let s = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = s.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kib: usize = line.split_whitespace().nth(1)?.parse().ok()?;
    kib.checked_mul(1024)
}

/// Most worker threads a session takes (a sanity cap: more is a typo, not a machine).
pub const MAX_THREADS: usize = 1024;

/// Threads per CPU a host (the CLI's `--threads`, the C ABI's `n_threads`) may ask for:
/// oversubscribing a little can be measured; a thousand times cannot be meant.
pub const MAX_THREADS_PER_CPU: usize = 4;

/// The most threads a host should give a session on this machine: [`MAX_THREADS_PER_CPU`]
/// × the CPUs this process may use, at most [`MAX_THREADS`].
#[cfg(feature = "std")]
pub fn host_thread_limit() -> usize {
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    MAX_THREADS_PER_CPU.saturating_mul(cpus).min(MAX_THREADS)
}

/// The CPU backend of a [`Session`]: KV cache, position and work buffers on the host.
pub(crate) struct CpuSession<'m, 'a> {
    model: &'m Model<'a>,
    kv: KvCache,
    scratch: Scratch,
    par: Box<dyn Parallel + Send + 'm>,
    /// Tokens in the KV cache (the position of the next token).
    pos: usize,
    policy: ContextPolicy,
    /// `[head_dim + kv_dim]` f32: RoPE table and one key row, for the context shift.
    shift_tmp: alloc::vec::Vec<f32>,
}

impl core::fmt::Debug for CpuSession<'_, '_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Session")
            .field("n_ctx", &self.kv.n_ctx())
            .field("position", &self.pos)
            .field("n_threads", &self.par.n_threads())
            .finish()
    }
}

impl<'m, 'a> CpuSession<'m, 'a> {
    /// A session with `opts.n_threads` workers (a thread pool under `std` when more than
    /// one). Its memory plan ([`MemoryPlan::for_model`]) is computed and checked against
    /// `opts.memory_budget` before anything is allocated or started; every buffer is then
    /// allocated fallibly.
    /// Errors: `BadOption` (`n_ctx` 0, `n_batch` > `n_ctx`, more than [`MAX_THREADS`]
    /// threads, sizes that overflow), `OverBudget`, `OutOfMemory`, `Threads(ZeroThreads)` for
    /// 0 threads, `Threads(Spawn)`.
    pub fn new(model: &'m Model<'a>, opts: SessionOptions) -> Result<Self, Error> {
        if opts.n_threads > MAX_THREADS {
            return Err(Error::BadOption {
                option: "n_threads",
                why: "more than 1024 threads",
            });
        }
        Self::plan(model, &opts)?;
        let par: Box<dyn Parallel + Send + 'm> = match opts.n_threads {
            0 => return Err(Error::Threads(crate::parallel::PoolError::ZeroThreads)),
            1 => Box::new(Sequential),
            #[cfg(feature = "std")]
            n => Box::new(crate::parallel::ThreadPool::new(n)?),
            #[cfg(not(feature = "std"))]
            _ => {
                return Err(Error::BadOption {
                    option: "n_threads",
                    why: "more than 1 thread needs the std feature or Session::with_parallel",
                });
            }
        };
        Self::with_parallel(model, opts, par)
    }

    /// A session whose matrix rows are split by `par` (a board's own pool);
    /// `opts.n_threads` is taken from it. Errors: as [`Session::new`].
    pub fn with_parallel(
        model: &'m Model<'a>,
        opts: SessionOptions,
        par: Box<dyn Parallel + Send + 'm>,
    ) -> Result<Self, Error> {
        let opts = SessionOptions {
            n_threads: par.n_threads(),
            ..opts
        };
        Self::plan(model, &opts)?;
        let kv = KvCache::try_new(&model.config, opts.n_ctx, opts.kv_type)?;
        let scratch = Scratch::try_new(model, opts.batch_size(), opts.n_ctx, opts.n_threads)?;
        let shift_tmp = crate::model::buffer::zeroed(
            model.config.head_dim + model.config.kv_dim(),
            "work buffers",
        )?;
        Ok(CpuSession {
            model,
            kv,
            scratch,
            par,
            pos: 0,
            policy: opts.context_policy,
            shift_tmp,
        })
    }

    /// The plan of a session with `opts`, checked against its budget.
    fn plan(model: &Model<'_>, opts: &SessionOptions) -> Result<MemoryPlan, Error> {
        let plan = MemoryPlan::for_model(model, opts)?;
        match opts.memory_budget {
            Some(budget) if plan.session() > budget => Err(Error::OverBudget {
                need: plan.session(),
                budget,
            }),
            _ => Ok(plan),
        }
    }

    /// Tokens in the KV cache: the position the next token will take.
    pub fn position(&self) -> usize {
        self.pos
    }

    /// Context length of this session.
    pub fn n_ctx(&self) -> usize {
        self.kv.n_ctx()
    }

    /// The model.
    pub fn model(&self) -> &'m Model<'a> {
        self.model
    }

    /// Forgets every token: the next prefill starts at position 0. Allocates nothing.
    pub fn reset(&mut self) {
        self.pos = 0;
    }

    /// Drops the tokens at positions `pos..` (to re-generate from an earlier point).
    /// Positions beyond the current one are ignored.
    pub fn truncate(&mut self, pos: usize) {
        self.pos = self.pos.min(pos);
    }

    /// Runs the prompt `tokens` and returns the logits of the last one (`[n_vocab]`).
    /// Errors: `EmptyInput`, `TokenOutOfRange`, `ContextFull` (nothing changed).
    pub fn prefill(&mut self, tokens: &[u32]) -> Result<&[f32], Error> {
        self.run(tokens, None)
    }

    /// [`prefill`](Self::prefill) that stops between layers when `cancel` is raised
    /// (`Err(Cancelled)`; the session is left at its previous position, still usable).
    pub fn prefill_cancellable(
        &mut self,
        tokens: &[u32],
        cancel: &AtomicBool,
    ) -> Result<&[f32], Error> {
        self.run(tokens, Some(cancel))
    }

    /// Runs one token and returns its logits (`[n_vocab]`).
    /// Errors: `TokenOutOfRange`, `ContextFull` (nothing changed).
    pub fn decode(&mut self, token: u32) -> Result<&[f32], Error> {
        self.run(&[token], None)
    }

    /// [`decode`](Self::decode) with a cancellation flag polled between layers.
    pub fn decode_cancellable(&mut self, token: u32, cancel: &AtomicBool) -> Result<&[f32], Error> {
        self.run(&[token], Some(cancel))
    }

    /// The logits of the last processed token (`[n_vocab]`; zeros before the first step).
    pub fn logits(&self) -> &[f32] {
        &self.scratch.logits
    }

    /// [`prefill`](Self::prefill) that also gives the logits of every token whose index in
    /// `tokens` is in `rows` (perplexity scores each position). `buf` holds `k ≥ 1` rows
    /// (`[k][n_vocab]`; `k` is capped at the batch size); `on_rows(i, logits)` is called
    /// with the logits of tokens `i..i + logits.len() / n_vocab`, in order. Afterwards
    /// [`logits`](Self::logits) is that of the last token only if `rows` includes it.
    /// Errors: as [`prefill_cancellable`](Self::prefill_cancellable), and `BadOption` when
    /// `buf` is shorter than one row or `rows` goes past `tokens`.
    /// (Added by the `generate` work for `bague perplexity`.)
    pub fn prefill_logits(
        &mut self,
        tokens: &[u32],
        rows: core::ops::Range<usize>,
        buf: &mut [f32],
        cancel: Option<&AtomicBool>,
        on_rows: &mut dyn FnMut(usize, &[f32]),
    ) -> Result<(), Error> {
        let n_vocab = self.model.config.n_vocab;
        let n_batch = self.scratch.n_batch;
        let k = (buf.len() / n_vocab).min(n_batch);
        if k == 0 || rows.end > tokens.len() {
            return Err(Error::BadOption {
                option: "prefill_logits",
                why: "the buffer holds no logits row, or rows go past the tokens",
            });
        }
        self.check(tokens)?;
        let start = self.pos;
        let mut last_at = None;
        for (c, chunk) in tokens.chunks(n_batch).enumerate() {
            let c0 = c * n_batch;
            if let Err(e) = self.pass(chunk, Rows::All, cancel) {
                self.pos = start;
                return Err(e);
            }
            let (model, par) = (self.model, &*self.par);
            // Rows of this chunk that were asked for, `k` at a time.
            let lo = rows.start.max(c0);
            let hi = rows.end.min(c0 + chunk.len());
            let mut r = lo;
            while r < hi {
                let n = k.min(hi - r);
                let out = &mut buf[..n * n_vocab];
                let scratch = &mut self.scratch;
                let mut result = Ok(());
                par.install(&mut || {
                    result = forward::head_rows(model, scratch, par, r - c0..r - c0 + n, out)
                });
                result?;
                on_rows(r, out);
                if r + n == tokens.len() {
                    last_at = Some(n - 1);
                }
                r += n;
            }
        }
        if let Some(at) = last_at {
            let row = &buf[at * n_vocab..(at + 1) * n_vocab];
            self.scratch.logits.copy_from_slice(row);
        }
        Ok(())
    }

    fn run(&mut self, tokens: &[u32], cancel: Option<&AtomicBool>) -> Result<&[f32], Error> {
        self.check(tokens)?;
        let start = self.pos;
        for chunk in tokens.chunks(self.scratch.n_batch) {
            if let Err(e) = self.pass(chunk, Rows::Last, cancel) {
                // The cache slots past `start` are never read before being rewritten.
                self.pos = start;
                return Err(e);
            }
        }
        Ok(&self.scratch.logits)
    }

    /// One whole pass over `tokens` (at most the batch size; checked by the caller) on the
    /// session's threads; advances the position when it completes.
    fn pass(
        &mut self,
        tokens: &[u32],
        rows: Rows,
        cancel: Option<&AtomicBool>,
    ) -> Result<(), Error> {
        let (model, par, pos) = (self.model, &*self.par, self.pos);
        let (kv, scratch) = (&mut self.kv, &mut self.scratch);
        let mut result = Ok(());
        par.install(&mut || {
            result = forward::run_stages(model, kv, scratch, par, tokens, pos, rows, cancel);
        });
        result?;
        self.pos += tokens.len();
        Ok(())
    }

    /// An incremental forward pass over `tokens` (at most the session's batch size) that
    /// runs a budget of work per [`Stepper::step`] call and resumes where it stopped, mid
    /// layer. For hosts that must bound the time of each call (a hard real-time audio
    /// loop). Dropping it unfinished leaves the session where
    /// it was. Errors: as [`prefill`](Self::prefill), and `BadOption` when `tokens` is
    /// longer than the batch size.
    pub fn stepper<'s>(&'s mut self, tokens: &'s [u32]) -> Result<Stepper<'s, 'm, 'a>, Error> {
        if tokens.len() > self.scratch.n_batch {
            return Err(Error::BadOption {
                option: "n_batch",
                why: "a Stepper runs at most n_batch tokens",
            });
        }
        self.check(tokens)?;
        Ok(Stepper {
            session: self,
            tokens,
            stage: 0,
            op: 0,
            task: 0,
            work_done: 0,
            last_work: 0,
            done: false,
        })
    }

    /// Checks `tokens` as input at `position` without running anything: not empty, every id
    /// in the vocabulary, and `position + tokens.len() ≤ n_ctx` (whatever the context policy:
    /// the shift makes room for decoding, it never truncates a prompt).
    /// Errors: `EmptyInput`, `TokenOutOfRange`, `ContextFull`.
    pub fn validate(&self, tokens: &[u32], position: usize) -> Result<(), Error> {
        if tokens.is_empty() {
            return Err(Error::EmptyInput);
        }
        let n_vocab = self.model.config.n_vocab;
        if let Some(&bad) = tokens.iter().find(|&&t| t as usize >= n_vocab) {
            return Err(Error::TokenOutOfRange {
                token: bad,
                n_vocab,
            });
        }
        let n_ctx = self.kv.n_ctx();
        if position.saturating_add(tokens.len()) > n_ctx {
            return Err(Error::ContextFull {
                n_ctx,
                position,
                n_tokens: tokens.len(),
            });
        }
        Ok(())
    }

    /// Validates `tokens` at the current position and makes room in the context under the
    /// shift policy (or refuses) before anything runs.
    fn check(&mut self, tokens: &[u32]) -> Result<(), Error> {
        let full = match self.validate(tokens, self.pos) {
            Err(full @ Error::ContextFull { .. }) => full,
            r => return r,
        };
        match self.policy {
            ContextPolicy::Error => Err(full),
            ContextPolicy::Shift { n_keep } => {
                let n_keep = n_keep.min(self.pos);
                let n_left = self.pos - n_keep;
                let n_discard = n_left / 2;
                if n_discard == 0 || self.pos - n_discard + tokens.len() > self.kv.n_ctx() {
                    return Err(full);
                }
                self.shift(n_keep, n_discard)
            }
        }
    }

    /// Drops positions `n_keep..n_keep + n_discard`, moves the rest down and re-rotates
    /// the moved keys by `-n_discard` (f16 → f32 → RoPE → f16, as llama.cpp's K-shift).
    fn shift(&mut self, n_keep: usize, n_discard: usize) -> Result<(), Error> {
        let cfg = &self.model.config;
        let rope = crate::model::rope::Rope::new(cfg);
        let (table, tmp) = self.shift_tmp.split_at_mut(cfg.head_dim);
        let ff = self.model.weights.rope_freqs.as_ref();
        rope.table(
            -(n_discard as i64),
            |i| ff.map_or(1.0, |f| f.f32_at(i)),
            table,
        );
        let src = n_keep + n_discard;
        let n = self.pos - src;
        let kern = self.model.kernels();
        self.kv
            .shift_down(kern, n_keep, src, n, tmp, |k| rope.apply(table, k))?;
        self.pos -= n_discard;
        Ok(())
    }
}

/// Work of one work unit of [`Stepper::step`]: 2¹⁶ multiply-adds (or element operations).
/// A task's work is counted from the shapes alone: a matrix tile `rows × n_cols × tokens`,
/// one attention (token, head) `head_dim × n_kv` for Q·K plus as much for P·V plus the
/// softmax row, element-wise tasks (a norm row, a residual add, RoPE, a KV store, SwiGLU, a
/// quantized activation row, an embedding row) one per element.
pub const UNIT_WORK: u64 = forward::steps::UNIT_WORK;

/// A forward pass run a budget of work at a time (see [`Session::stepper`]).
///
/// The pass is a fixed sequence of small tasks — the embedding rows, then for each layer
/// the norm rows, tiles of rows of each matrix (at most one [`UNIT_WORK`] each: 16-row
/// multiples, 4 tokens at a time in a batch), RoPE and KV store per token, attention per
/// (token, head), residual adds, SwiGLU rows, then the output norm and the tiles of the
/// output matrix. [`step(budget)`](Stepper::step) runs tasks while the work done in the
/// call is below `budget × UNIT_WORK`, then returns; the next call resumes with the next
/// task, mid-layer. A call therefore overruns its budget by less than one task's work:
/// less than one unit when [`max_task_work`](Stepper::max_task_work) ≤ [`UNIT_WORK`]
/// (`n_cols` ≤ 4096 for one token, ≤ 1024 for a batch, and `(2·head_dim + 1)·n_ctx` ≤ 2¹⁶;
/// otherwise by less than that bound).
/// Every task computes exactly what the whole pass computes for its part, so the logits are
/// those of [`Session::prefill`] / [`Session::decode`] bit for bit, at any budget and any
/// thread count (a one-token matrix tile is split across the session's threads).
pub struct Stepper<'s, 'm, 'a> {
    session: &'s mut CpuSession<'m, 'a>,
    tokens: &'s [u32],
    /// 0: embedding; `1..=n_layer`: layer `stage - 1`; `n_layer + 1`: output head.
    stage: usize,
    /// Next op of the stage and next task of that op.
    op: usize,
    task: usize,
    /// Work done so far, and in the last call.
    work_done: u64,
    last_work: u64,
    /// The pass completed and the session's position was advanced.
    done: bool,
}

impl core::fmt::Debug for Stepper<'_, '_, '_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Stepper")
            .field("n_tokens", &self.tokens.len())
            .field("stage", &self.stage)
            .field("op", &self.op)
            .field("task", &self.task)
            .field("n_stages", &self.n_stages())
            .field("work_done", &self.work_done)
            .finish()
    }
}

impl Stepper<'_, '_, '_> {
    /// Stages of the whole pass: embedding, one per layer, output head.
    pub fn n_stages(&self) -> usize {
        forward::n_stages(self.session.model)
    }

    /// Stages completed.
    pub fn stages_done(&self) -> usize {
        self.stage
    }

    /// Whether the pass is complete (the next [`step`](Self::step) returns the logits and
    /// runs nothing).
    pub fn is_done(&self) -> bool {
        self.stage >= self.n_stages()
    }

    /// Work done by the pass so far (divide by [`UNIT_WORK`] for work units).
    pub fn work_done(&self) -> u64 {
        self.work_done
    }

    /// Work done by the last call of [`step`](Self::step).
    pub fn last_work(&self) -> u64 {
        self.last_work
    }

    /// The most work of any one task of a pass of this many tokens at any position of this
    /// session's context: a call of [`step`](Self::step) exceeds `budget × UNIT_WORK` by
    /// less than this.
    pub fn max_task_work(&self) -> u64 {
        let s = &*self.session;
        forward::steps::max_task_work(s.model, s.kv.kv_type(), s.kv.n_ctx(), self.tokens.len())
    }

    /// Runs tasks while the work done in this call is below `budget × UNIT_WORK` (0: none;
    /// `u64::MAX`: the rest of the pass), then returns. Returns `Some(logits)` (`[n_vocab]`,
    /// of the last token) once the pass is complete — which also advances the session's
    /// position — and `None` before. Calling it again after completion returns the same
    /// logits and runs nothing. Errors: `Kernel` (a bug; the failed task is not counted and
    /// the session's position is unchanged).
    pub fn step(&mut self, budget: u64) -> Result<Option<&[f32]>, Error> {
        let limit = budget.saturating_mul(UNIT_WORK);
        let s = &mut *self.session;
        let n_stages = forward::n_stages(s.model);
        let (model, par, pos, tokens) = (s.model, &*s.par, s.pos, self.tokens);
        let (kv, scratch) = (&mut s.kv, &mut s.scratch);
        let (kv_type, n_ctx, n) = (kv.kv_type(), kv.n_ctx(), tokens.len());
        let (mut stage, mut op_i, mut task) = (self.stage, self.op, self.task);
        let mut spent = 0u64;
        let mut result = Ok(());
        par.install(&mut || {
            let mut ops = forward::steps::ops(model, stage.min(n_stages - 1), n, Rows::Last);
            while stage < n_stages {
                // Past the last task of an op, of a stage: move on (so that completion is
                // seen by the call that runs the last task).
                let Some(op) = ops.get(op_i) else {
                    stage += 1;
                    (op_i, task) = (0, 0);
                    if stage < n_stages {
                        ops = forward::steps::ops(model, stage, n, Rows::Last);
                    }
                    continue;
                };
                if task >= op.n_tasks(model) {
                    (op_i, task) = (op_i + 1, 0);
                    continue;
                }
                if spent >= limit {
                    break;
                }
                let layer = stage.saturating_sub(1);
                if let Err(e) = op.run(model, kv, scratch, par, layer, tokens, pos, task) {
                    result = Err(e);
                    return;
                }
                spent += op.work(model, kv_type, n_ctx, pos, task);
                task += 1;
            }
        });
        (self.stage, self.op, self.task) = (stage, op_i, task);
        self.work_done += spent;
        self.last_work = spent;
        result?;
        if self.stage >= n_stages {
            if !self.done {
                // Just completed: the pass's tokens now occupy the cache.
                s.pos += tokens.len();
                self.done = true;
            }
            return Ok(Some(&s.scratch.logits));
        }
        Ok(None)
    }
}

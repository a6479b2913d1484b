//! [`Session`]: the one session type the generation loop, the CLI and the C ABI use, over
//! either backend — the CPU (`CpuSession`, this crate's forward pass and kernels) or, with the
//! `gpu` feature, the GPU ([`gpu`](super::gpu): `bague-gpu`'s WGSL kernels through wgpu).
//!
//! Decisions:
//! - One type, not a trait: callers (`Generator`, perplexity, bench, the C ABI) keep taking
//!   `&mut Session` and never learn which backend runs. Each call is one `match` on the
//!   backend (a branch per token, nothing per layer); without the `gpu` feature the enum has
//!   one variant and the match compiles away, so the CPU path's code and speed are unchanged.
//! - The CPU stays the default: [`Session::new`] is the CPU; a GPU session comes only from
//!   [`Session::on_gpu`] with weights the caller uploaded once ([`gpu::upload`](super::gpu::upload)),
//!   which any number of sessions share.
//! - Logits: `prefill`/`decode` return the whole logits row on both backends (the sampler may
//!   need any of it; a GPU step then reads back `4 n_vocab` bytes). [`Session::decode_argmax`]
//!   and [`Session::prefill_argmax`] give only the greedy token, which a GPU session reads
//!   back as 8 bytes.
//! - What the GPU backend lacks is refused when the session is made, never silently
//!   replaced: a Q8_0 KV cache, the context shift, the layer-by-layer `Stepper`.

#[cfg(feature = "gpu")]
use super::gpu::GpuSession;
use super::{CpuSession, SessionOptions, Stepper};
use crate::model::{Error, Model};
use crate::parallel::Parallel;
use alloc::boxed::Box;
use alloc::string::String;
use core::sync::atomic::AtomicBool;

/// Where a session runs, as a user names it (`bague run --backend`, the C ABI's
/// `bague_session_options.backend`). Parsed from `cpu`, `gpu`, `gpu:NAME` or `auto`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum BackendChoice {
    /// This crate's CPU kernels (the default).
    #[default]
    Cpu,
    /// The GPU: the best hardware adapter (`adapter: None`), or the first adapter whose name
    /// contains `adapter` (case-insensitive), software ones included (`gpu:llvmpipe`).
    /// Anything that prevents it is an error.
    Gpu {
        /// Part of the adapter's name; `None`: the best hardware adapter, never a software one.
        adapter: Option<String>,
    },
    /// The GPU if a hardware adapter is found and can run the model, else the CPU (the
    /// caller says why in one line). A software adapter (llvmpipe) is never taken.
    Auto,
}

impl core::str::FromStr for BackendChoice {
    type Err = &'static str;

    /// `cpu`, `gpu`, `gpu:NAME` (NAME not empty) or `auto`, case-insensitive.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let lower = s.to_ascii_lowercase();
        match lower.as_str() {
            "cpu" => Ok(BackendChoice::Cpu),
            "gpu" => Ok(BackendChoice::Gpu { adapter: None }),
            "auto" => Ok(BackendChoice::Auto),
            _ => match s.split_once(':') {
                Some((g, name)) if g.eq_ignore_ascii_case("gpu") && !name.is_empty() => {
                    Ok(BackendChoice::Gpu {
                        adapter: Some(name.into()),
                    })
                }
                _ => Err("expected cpu, gpu, gpu:ADAPTER-NAME or auto"),
            },
        }
    }
}

/// One conversation over a model: KV cache, position and work buffers, all allocated when
/// the session is made; `prefill` and `decode` allocate nothing. Runs on the CPU
/// ([`Session::new`]) or on a GPU (`Session::on_gpu`, feature `gpu`); every other method
/// behaves the same on both.
pub struct Session<'m, 'a> {
    imp: Imp<'m, 'a>,
}

// The CPU session stays inline (no indirection on the default path); the GPU one is boxed.
#[allow(clippy::large_enum_variant)]
enum Imp<'m, 'a> {
    Cpu(CpuSession<'m, 'a>),
    #[cfg(feature = "gpu")]
    Gpu(Box<GpuSession<'m, 'a>>),
}

/// `$body` with `$s` bound to the backend's session (the same method names on both).
macro_rules! each {
    ($self:expr, $s:ident => $body:expr) => {
        match $self {
            Imp::Cpu($s) => $body,
            #[cfg(feature = "gpu")]
            Imp::Gpu($s) => $body,
        }
    };
}

impl core::fmt::Debug for Session<'_, '_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        each!(&self.imp, s => core::fmt::Debug::fmt(s, f))
    }
}

impl<'m, 'a> Session<'m, 'a> {
    /// A CPU session with `opts.n_threads` workers (a thread pool under `std` when more
    /// than one). Its memory plan ([`MemoryPlan::for_model`](super::MemoryPlan::for_model))
    /// is computed and checked against `opts.memory_budget` before anything is allocated or
    /// started; every buffer is then allocated fallibly.
    /// Errors: `BadOption` (`n_ctx` 0, `n_batch` > `n_ctx`, more than
    /// [`MAX_THREADS`](super::MAX_THREADS) threads, sizes that overflow), `OverBudget`,
    /// `OutOfMemory`, `Threads(ZeroThreads)` for 0 threads, `Threads(Spawn)`.
    pub fn new(model: &'m Model<'a>, opts: SessionOptions) -> Result<Self, Error> {
        Ok(Session {
            imp: Imp::Cpu(CpuSession::new(model, opts)?),
        })
    }

    /// A CPU session whose matrix rows are split by `par` (a board's own pool);
    /// `opts.n_threads` is taken from it. Errors: as [`Session::new`].
    pub fn with_parallel(
        model: &'m Model<'a>,
        opts: SessionOptions,
        par: Box<dyn Parallel + Send + 'm>,
    ) -> Result<Self, Error> {
        Ok(Session {
            imp: Imp::Cpu(CpuSession::with_parallel(model, opts, par)?),
        })
    }

    /// A session on the GPU that holds `weights` (uploaded from `model` by
    /// [`gpu::upload`](super::gpu::upload)): its KV cache (f16) and activations live on the
    /// device; the host keeps one logits row. `opts.n_threads` and `opts.memory_budget` do
    /// not apply (device memory is the device's to refuse).
    ///
    /// Errors ([`GpuError`](super::gpu::GpuError), with the device's message):
    /// `Invalid` for options the GPU backend does not offer (a Q8_0 KV cache, the context
    /// shift, `n_ctx` 0, `n_batch` > `n_ctx`) or weights of another model; `Allocation`
    /// when the device refuses a buffer (a KV cache too large for it); `DeviceLost`.
    #[cfg(feature = "gpu")]
    pub fn on_gpu(
        model: &'m Model<'a>,
        weights: &'m super::gpu::GpuModel,
        opts: SessionOptions,
    ) -> Result<Self, super::gpu::GpuError> {
        Ok(Session {
            imp: Imp::Gpu(Box::new(GpuSession::new(model, weights, opts)?)),
        })
    }

    /// Which backend runs this session: `"cpu (avx2)"` (the kernel table's name) or
    /// `"gpu (ADAPTER NAME)"`.
    pub fn backend_name(&self) -> String {
        each!(&self.imp, s => s.backend_name())
    }

    /// Whether this session runs on a GPU.
    pub fn is_gpu(&self) -> bool {
        !matches!(self.imp, Imp::Cpu(_))
    }

    /// Work counters of a GPU session: `(last call, since the session was made)` —
    /// dispatches, compute passes, queue submissions and bytes read back. `None` on the CPU.
    #[cfg(feature = "gpu")]
    pub fn gpu_stats(&self) -> Option<(super::gpu::StepStats, super::gpu::StepStats)> {
        match &self.imp {
            Imp::Gpu(g) => Some(g.stats()),
            Imp::Cpu(_) => None,
        }
    }

    /// Dispatches a GPU decode step records (`None` on the CPU): 5 per layer, the embedding
    /// lookup, the output matrix (one per row range), argmax.
    #[cfg(feature = "gpu")]
    pub fn gpu_decode_dispatches(&self) -> Option<u64> {
        match &self.imp {
            Imp::Gpu(g) => Some(g.decode_dispatches()),
            Imp::Cpu(_) => None,
        }
    }

    /// Tokens in the KV cache: the position the next token will take.
    pub fn position(&self) -> usize {
        each!(&self.imp, s => s.position())
    }

    /// Context length of this session.
    pub fn n_ctx(&self) -> usize {
        each!(&self.imp, s => s.n_ctx())
    }

    /// The model.
    pub fn model(&self) -> &'m Model<'a> {
        each!(&self.imp, s => s.model())
    }

    /// Forgets every token: the next prefill starts at position 0. Allocates nothing.
    pub fn reset(&mut self) {
        each!(&mut self.imp, s => s.reset())
    }

    /// Drops the tokens at positions `pos..` (to re-generate from an earlier point).
    /// Positions beyond the current one are ignored.
    pub fn truncate(&mut self, pos: usize) {
        each!(&mut self.imp, s => s.truncate(pos))
    }

    /// Runs the prompt `tokens` and returns the logits of the last one (`[n_vocab]`).
    /// Errors: `EmptyInput`, `TokenOutOfRange`, `ContextFull` (nothing changed); on a GPU,
    /// `Gpu` (the session stays at its previous position).
    pub fn prefill(&mut self, tokens: &[u32]) -> Result<&[f32], Error> {
        each!(&mut self.imp, s => s.prefill(tokens))
    }

    /// [`prefill`](Self::prefill) that stops when `cancel` is raised (`Err(Cancelled)`; the
    /// session is left at its previous position, still usable). The CPU polls it between
    /// layers, a GPU between chunks of `n_batch` tokens (one submission each).
    pub fn prefill_cancellable(
        &mut self,
        tokens: &[u32],
        cancel: &AtomicBool,
    ) -> Result<&[f32], Error> {
        each!(&mut self.imp, s => s.prefill_cancellable(tokens, cancel))
    }

    /// Runs one token and returns its logits (`[n_vocab]`).
    /// Errors: `TokenOutOfRange`, `ContextFull` (nothing changed); on a GPU, `Gpu`.
    pub fn decode(&mut self, token: u32) -> Result<&[f32], Error> {
        each!(&mut self.imp, s => s.decode(token))
    }

    /// [`decode`](Self::decode) with a cancellation flag (polled between layers on the
    /// CPU, before the step's one submission on a GPU).
    pub fn decode_cancellable(&mut self, token: u32, cancel: &AtomicBool) -> Result<&[f32], Error> {
        each!(&mut self.imp, s => s.decode_cancellable(token, cancel))
    }

    /// [`prefill`](Self::prefill) that returns only the greedy token (the largest logit,
    /// the lowest id among equals). A GPU session reads back 8 bytes instead of the logits
    /// row, and [`logits`](Self::logits) is then empty until the next `prefill`/`decode`;
    /// on the CPU the logits are there as usual. Errors: as `prefill`.
    pub fn prefill_argmax(&mut self, tokens: &[u32]) -> Result<u32, Error> {
        each!(&mut self.imp, s => s.prefill_argmax(tokens))
    }

    /// [`decode`](Self::decode) that returns only the greedy token (see
    /// [`prefill_argmax`](Self::prefill_argmax)). Errors: as `decode`.
    pub fn decode_argmax(&mut self, token: u32) -> Result<u32, Error> {
        each!(&mut self.imp, s => s.decode_argmax(token))
    }

    /// The logits of the last processed token (`[n_vocab]`; zeros before the first step;
    /// empty on a GPU session after an `*_argmax` step).
    pub fn logits(&self) -> &[f32] {
        each!(&self.imp, s => s.logits())
    }

    /// [`prefill`](Self::prefill) that also gives the logits of every token whose index in
    /// `tokens` is in `rows` (perplexity scores each position). `buf` holds `k ≥ 1` rows
    /// (`[k][n_vocab]`; `k` is capped at the batch size); `on_rows(i, logits)` is called
    /// with the logits of tokens `i..i + logits.len() / n_vocab`, in order. Afterwards
    /// [`logits`](Self::logits) is that of the last token only if `rows` includes it.
    /// Errors: as [`prefill_cancellable`](Self::prefill_cancellable), and `BadOption` when
    /// `buf` is shorter than one row or `rows` goes past `tokens`.
    pub fn prefill_logits(
        &mut self,
        tokens: &[u32],
        rows: core::ops::Range<usize>,
        buf: &mut [f32],
        cancel: Option<&AtomicBool>,
        on_rows: &mut dyn FnMut(usize, &[f32]),
    ) -> Result<(), Error> {
        each!(&mut self.imp, s => s.prefill_logits(tokens, rows, buf, cancel, on_rows))
    }

    /// An incremental forward pass over `tokens` (at most the session's batch size) that
    /// runs a budget of work per [`Stepper::step`] call and resumes where it stopped, mid
    /// layer (see [`Stepper`] for the tasks and their work). For hosts that must bound the
    /// time of each call (a hard real-time audio loop). Dropping it unfinished leaves the session where
    /// it was. Errors: as [`prefill`](Self::prefill), and `BadOption` when `tokens` is
    /// longer than the batch size, or on a GPU session (a GPU step is one submission).
    pub fn stepper<'s>(&'s mut self, tokens: &'s [u32]) -> Result<Stepper<'s, 'm, 'a>, Error> {
        match &mut self.imp {
            Imp::Cpu(s) => s.stepper(tokens),
            #[cfg(feature = "gpu")]
            Imp::Gpu(_) => Err(Error::BadOption {
                option: "stepper",
                why: "a GPU session runs a whole step in one submission",
            }),
        }
    }

    /// Checks `tokens` as input at `position` without running anything: not empty, every id
    /// in the vocabulary, and `position + tokens.len() ≤ n_ctx` (whatever the context policy:
    /// the shift makes room for decoding, it never truncates a prompt).
    /// Errors: `EmptyInput`, `TokenOutOfRange`, `ContextFull`.
    pub fn validate(&self, tokens: &[u32], position: usize) -> Result<(), Error> {
        each!(&self.imp, s => s.validate(tokens, position))
    }
}

impl CpuSession<'_, '_> {
    /// `"cpu (KERNELS)"`.
    fn backend_name(&self) -> String {
        alloc::format!("cpu ({})", self.model().kernels().name())
    }

    /// `prefill` and the argmax of its logits.
    fn prefill_argmax(&mut self, tokens: &[u32]) -> Result<u32, Error> {
        self.prefill(tokens).map(argmax)
    }

    /// `decode` and the argmax of its logits.
    fn decode_argmax(&mut self, token: u32) -> Result<u32, Error> {
        self.decode(token).map(argmax)
    }
}

/// Index of the largest value, the lowest among equals (NaN never wins); 0 when empty.
pub(crate) fn argmax(l: &[f32]) -> u32 {
    let mut best: Option<usize> = None;
    for (i, &v) in l.iter().enumerate() {
        if !v.is_nan() && best.is_none_or(|b| v > l[b]) {
            best = Some(i);
        }
    }
    best.unwrap_or(0) as u32
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;

    #[test]
    fn backend_choices_parse() {
        assert_eq!("cpu".parse(), Ok(BackendChoice::Cpu));
        assert_eq!("GPU".parse(), Ok(BackendChoice::Gpu { adapter: None }));
        assert_eq!("auto".parse(), Ok(BackendChoice::Auto));
        assert_eq!(
            "gpu:llvmpipe".parse(),
            Ok(BackendChoice::Gpu {
                adapter: Some("llvmpipe".to_string())
            })
        );
        for bad in ["", "gpu:", "cuda", "cpu:avx2", "auto:x"] {
            assert!(bad.parse::<BackendChoice>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn argmax_takes_the_first_of_equals() {
        assert_eq!(argmax(&[1.0, 3.0, 3.0, 2.0]), 1);
        assert_eq!(argmax(&[f32::NAN, 1.0]), 1);
        assert_eq!(argmax(&[]), 0);
    }
}

//! [`MemoryPlan`]: every byte a session allocates, computed before anything is allocated —
//! from the GGUF header alone ([`MemoryPlan::new`], even when the tensor data is not there,
//! as with the R1 head file) or from a bound model ([`MemoryPlan::for_model`]), by one
//! computation. [`Session::new`](super::Session::new) allocates exactly
//! [`MemoryPlan::session`] bytes, checks them against a budget first when it has one, and
//! refuses with an error instead of aborting when the heap cannot give them.

use super::SessionOptions;
use crate::gguf::File;
use crate::model::{Config, Error, KvCache, KvType, Model, is_matmul_type};
use crate::sampler::Candidate;
use bague_kernels::Kernels;

/// Repetition window the generator's part of the plan assumes (llama.cpp's
/// `penalty_last_n` default).
pub const PLAN_PENALTY_LAST_N: usize = 64;

/// Bytes needed to run a model with one session. Weights are mapped (an mmap, XIP flash),
/// not copied: they are counted apart from the heap.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemoryPlan {
    /// Bytes of tensor data (mapped, read in place; not heap).
    pub weights_mapped: u64,
    /// KV cache (heap): `2 × n_layer × n_ctx × kv_dim` values of the KV type.
    pub kv_cache: usize,
    /// Work buffers of the forward pass (heap): activations, quantized activations,
    /// attention scores per thread, logits.
    pub scratch: usize,
    /// The generation loop's buffers (heap, while a `Generator` exists): the sampler's
    /// candidates (12 bytes per vocabulary entry) and repetition window (for a window of
    /// [`PLAN_PENALTY_LAST_N`]), the ids in the KV cache and the output ids (4 bytes per
    /// position each).
    pub generator: usize,
}

impl MemoryPlan {
    /// The plan for `file` with the session options `opts` (`n_ctx`, `n_batch`,
    /// `n_threads`, `kv_type`; a context policy allocates nothing). Reads only the header.
    /// Errors: those of [`Config::from_gguf`]; `BadOption` for `n_ctx` 0, `n_batch` above
    /// `n_ctx`, a Q8_0 cache on a head size that is not a multiple of 32, sizes that
    /// overflow.
    pub fn new(file: &File<'_>, opts: &SessionOptions) -> Result<MemoryPlan, Error> {
        let cfg = Config::from_gguf(file)?;
        let mut weights_mapped = 0u64;
        let mut max_act = 0u64;
        for t in file.tensors() {
            weights_mapped = weights_mapped.saturating_add(t.n_bytes());
            if t.n_dims == 2 && is_matmul_type(t.ty) {
                let act = Kernels::vec_dot_type(t.ty).row_bytes(t.dims[0]);
                max_act = max_act.max(act.unwrap_or(0));
            }
        }
        let max_act = usize::try_from(max_act).map_err(|_| overflow())?;
        Self::compute(&cfg, max_act, weights_mapped, opts)
    }

    /// The plan for a bound model (the same numbers as [`new`](Self::new) on its file).
    /// Errors: as `new`, without the header's.
    pub fn for_model(model: &Model<'_>, opts: &SessionOptions) -> Result<MemoryPlan, Error> {
        let max_act = crate::model::forward::max_act_row_bytes(model);
        Self::compute(&model.config, max_act, model.weight_bytes() as u64, opts)
    }

    /// The one computation: options checked, every buffer sized with checked arithmetic.
    fn compute(
        cfg: &Config,
        max_act_row: usize,
        weights_mapped: u64,
        opts: &SessionOptions,
    ) -> Result<MemoryPlan, Error> {
        if opts.n_ctx == 0 {
            return Err(Error::BadOption {
                option: "n_ctx",
                why: "must be at least 1",
            });
        }
        if opts.n_batch > opts.n_ctx {
            return Err(Error::BadOption {
                option: "n_batch",
                why: "must not exceed n_ctx",
            });
        }
        if opts.kv_type == KvType::Q8_0 && cfg.head_dim % 32 != 0 {
            return Err(Error::BadOption {
                option: "kv_type",
                why: "q8_0 needs head_dim to be a multiple of 32 (the Q8_0 block)",
            });
        }
        let kv_cache = KvCache::bytes_needed(cfg, opts.n_ctx, opts.kv_type).ok_or_else(overflow)?;
        let scratch = crate::model::forward::Scratch::bytes_for(
            cfg,
            max_act_row,
            opts.batch_size(),
            opts.n_ctx,
            opts.n_threads.max(1),
        )
        .ok_or_else(overflow)?;
        let generator = cfg
            .n_vocab
            .checked_mul(core::mem::size_of::<Candidate>())
            .and_then(|c| c.checked_add(2 * PLAN_PENALTY_LAST_N * 4))
            .and_then(|c| c.checked_add(opts.n_ctx.checked_add(8)?.checked_mul(8)?))
            .ok_or_else(overflow)?;
        Ok(MemoryPlan {
            weights_mapped,
            kv_cache,
            scratch,
            generator,
        })
    }

    /// Heap bytes [`Session::new`](super::Session::new) allocates: KV cache and work
    /// buffers.
    pub fn session(&self) -> usize {
        self.kv_cache.saturating_add(self.scratch)
    }

    /// Heap bytes of a session and its generation loop.
    pub fn heap(&self) -> usize {
        self.session().saturating_add(self.generator)
    }

    /// Heap bytes plus the mapped weights (what a device must hold in RAM or map).
    pub fn total(&self) -> u64 {
        self.weights_mapped.saturating_add(self.heap() as u64)
    }
}

fn overflow() -> Error {
    Error::BadOption {
        option: "n_ctx",
        why: "memory sizes overflow",
    }
}

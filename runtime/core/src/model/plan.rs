//! The memory a model and one session need, computed from the GGUF header alone — before
//! anything is allocated, and even when the tensor data is not there (the R1 head file).

use super::config::Config;
use super::error::Error;
use super::forward::Scratch;
use super::kv_cache::{KvCache, KvType};
use super::weights::is_matmul_type;
use crate::gguf::File;
use bague_kernels::Kernels;

/// Bytes needed to run a model with one session. Weights are mapped (an mmap, XIP flash),
/// not copied: they are counted apart from the heap.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemoryPlan {
    /// Bytes of tensor data the file declares (mapped, read in place).
    pub weights_mapped: u64,
    /// KV cache bytes for the context length (heap).
    pub kv_cache: usize,
    /// Work buffers of a session (heap): activations, quantized activations, attention
    /// scores per thread, logits.
    pub scratch: usize,
}

impl MemoryPlan {
    /// The plan for `file` with a context of `n_ctx` tokens, batches of `n_batch` tokens
    /// (0: `min(n_ctx, 512)`, as sessions do) and `n_threads` workers. Reads only the header.
    /// Errors: those of [`Config::from_gguf`]; `BadOption` for `n_ctx` 0 or sizes that
    /// overflow.
    pub fn new(
        file: &File<'_>,
        n_ctx: usize,
        n_batch: usize,
        n_threads: usize,
    ) -> Result<MemoryPlan, Error> {
        let cfg = Config::from_gguf(file)?;
        let overflow = Error::BadOption {
            option: "n_ctx",
            why: "memory sizes overflow",
        };
        if n_ctx == 0 {
            return Err(Error::BadOption {
                option: "n_ctx",
                why: "must be at least 1",
            });
        }
        let n_batch = if n_batch == 0 {
            n_ctx.min(512)
        } else {
            n_batch.min(n_ctx)
        };
        let mut weights_mapped = 0u64;
        let mut max_act = 0usize;
        for t in file.tensors() {
            weights_mapped = weights_mapped.saturating_add(t.n_bytes());
            if t.n_dims == 2 && is_matmul_type(t.ty) {
                let act = Kernels::vec_dot_type(t.ty)
                    .row_bytes(t.dims[0])
                    .unwrap_or(0);
                max_act = max_act.max(usize::try_from(act).map_err(|_| overflow)?);
            }
        }
        let kv_cache = KvCache::bytes_needed(&cfg, n_ctx, KvType::F16).ok_or(overflow)?;
        let scratch =
            Scratch::bytes_for(&cfg, max_act, n_batch, n_ctx, n_threads).ok_or(overflow)?;
        Ok(MemoryPlan {
            weights_mapped,
            kv_cache,
            scratch,
        })
    }

    /// Heap bytes: KV cache and work buffers.
    pub fn heap(&self) -> usize {
        self.kv_cache.saturating_add(self.scratch)
    }
}

//! The KV cache: keys and values of every past position, per layer, stored as f16 (as
//! llama.cpp's default `--cache-type-k/v f16`), allocated once for a context length.
//!
//! Layout (chosen so that both attention products are contiguous f16·f16 dot products, as
//! ggml computes them with its non-flash attention):
//! - `k`: `[n_layer][n_ctx][n_kv_head * head_dim]` — one row per position, heads side by
//!   side; `Q·K` of head `h` at position `j` reads `head_dim` values at `j`.
//! - `v`: `[n_layer][n_kv_head * head_dim][n_ctx]` — transposed (ggml's `v_trans`), one row
//!   per value dimension; the weighted sum for dimension `d` is one dot product of that row
//!   with the attention probabilities.
//!
//! Values are stored as raw little-endian f16 bytes so that the kernels read them in place.

use super::config::Config;
use alloc::vec;
use alloc::vec::Vec;
use bague_kernels::block::{F16, f16_to_f32, f32_to_f16};

/// Element type of the KV cache.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum KvType {
    /// IEEE half (2 bytes per value), as llama.cpp's default.
    #[default]
    F16,
}

impl KvType {
    /// Bytes per stored value.
    pub fn bytes_per_value(self) -> usize {
        match self {
            KvType::F16 => 2,
        }
    }
}

/// Keys and values of up to `n_ctx` positions for every layer (module docs for layouts).
#[derive(Clone, Debug)]
pub struct KvCache {
    n_layer: usize,
    n_ctx: usize,
    kv_dim: usize,
    /// `[n_layer][n_ctx][kv_dim]` f16 (little-endian bytes).
    k: Vec<u8>,
    /// `[n_layer][kv_dim][n_ctx]` f16 (little-endian bytes), transposed.
    v: Vec<u8>,
}

impl KvCache {
    /// Bytes a cache of `n_ctx` positions needs for `cfg` (keys and values).
    pub fn bytes_needed(cfg: &Config, n_ctx: usize, ty: KvType) -> Option<usize> {
        cfg.n_layer
            .checked_mul(n_ctx)?
            .checked_mul(cfg.kv_dim())?
            .checked_mul(ty.bytes_per_value())?
            .checked_mul(2)
    }

    /// A zeroed cache for `n_ctx` positions. The caller has checked the size with
    /// [`bytes_needed`](Self::bytes_needed).
    pub(crate) fn new(cfg: &Config, n_ctx: usize) -> KvCache {
        let per = cfg.n_layer * n_ctx * cfg.kv_dim() * 2;
        KvCache {
            n_layer: cfg.n_layer,
            n_ctx,
            kv_dim: cfg.kv_dim(),
            k: vec![0u8; per],
            v: vec![0u8; per],
        }
    }

    /// Context length (positions).
    pub fn n_ctx(&self) -> usize {
        self.n_ctx
    }

    /// Bytes held (keys and values).
    pub fn bytes(&self) -> usize {
        self.k.len() + self.v.len()
    }

    /// Keys of layer `l`: `[n_ctx][kv_dim]` f16.
    pub(crate) fn k_layer(&self, l: usize) -> &[F16] {
        let n = self.n_ctx * self.kv_dim * 2;
        bytemuck::cast_slice(&self.k[l * n..(l + 1) * n])
    }

    /// Values of layer `l`, transposed: `[kv_dim][n_ctx]` f16.
    pub(crate) fn v_layer(&self, l: usize) -> &[F16] {
        let n = self.n_ctx * self.kv_dim * 2;
        bytemuck::cast_slice(&self.v[l * n..(l + 1) * n])
    }

    /// Stores `k`, `v` (`[n_tok][kv_dim]` f32, rounded to f16) at positions
    /// `pos..pos + n_tok` of layer `l`.
    pub(crate) fn store(&mut self, l: usize, pos: usize, k: &[f32], v: &[f32]) {
        let (d, n_ctx) = (self.kv_dim, self.n_ctx);
        let n_tok = k.len() / d;
        debug_assert!(pos + n_tok <= n_ctx);
        let kl = &mut self.k[l * n_ctx * d * 2..(l + 1) * n_ctx * d * 2];
        for (i, &x) in k.iter().enumerate() {
            let o = (pos * d + i) * 2;
            kl[o..o + 2].copy_from_slice(&f32_to_f16(x));
        }
        let vl = &mut self.v[l * n_ctx * d * 2..(l + 1) * n_ctx * d * 2];
        for (t, row) in v.chunks_exact(d).enumerate() {
            for (i, &x) in row.iter().enumerate() {
                let o = (i * n_ctx + pos + t) * 2;
                vl[o..o + 2].copy_from_slice(&f32_to_f16(x));
            }
        }
    }

    /// Moves positions `src..src + n` to `dst..dst + n` (`dst < src`) in every layer, keys
    /// and values; used by the context shift. `rekey(layer, key_row_f32)` is applied to
    /// every moved key row (the caller re-rotates it), which is read from and written back
    /// as f16.
    pub(crate) fn shift_down(
        &mut self,
        dst: usize,
        src: usize,
        n: usize,
        tmp: &mut [f32],
        mut rekey: impl FnMut(&mut [f32]),
    ) {
        let (d, n_ctx) = (self.kv_dim, self.n_ctx);
        let tmp = &mut tmp[..d];
        for l in 0..self.n_layer {
            let kl = &mut self.k[l * n_ctx * d * 2..(l + 1) * n_ctx * d * 2];
            for j in 0..n {
                let from = (src + j) * d * 2;
                for (i, t) in tmp.iter_mut().enumerate() {
                    *t = f16_to_f32([kl[from + 2 * i], kl[from + 2 * i + 1]]);
                }
                rekey(tmp);
                let to = (dst + j) * d * 2;
                for (i, &t) in tmp.iter().enumerate() {
                    kl[to + 2 * i..to + 2 * i + 2].copy_from_slice(&f32_to_f16(t));
                }
            }
            let vl = &mut self.v[l * n_ctx * d * 2..(l + 1) * n_ctx * d * 2];
            for row in vl.chunks_exact_mut(n_ctx * 2) {
                row.copy_within(src * 2..(src + n) * 2, dst * 2);
            }
        }
    }
}

//! The KV cache: keys and values of every past position, per layer, allocated once for a
//! context length. Element type [`KvType`]: f16 (llama.cpp's default `--cache-type-k/v f16`)
//! or Q8_0 (`--cache-type-k/v q8_0`: each head's row quantized to blocks of 32 when stored,
//! with ggml's x86 activation quantizer, as llama.cpp's `set_rows` does).
//!
//! Layout, f16 (chosen so that both attention products are contiguous f16·f16 dot products,
//! as ggml computes them with its non-flash attention):
//! - `k`: `[n_layer][n_ctx][n_kv_head * head_dim]` — one row per position, heads side by
//!   side; `Q·K` of head `h` at position `j` reads `head_dim` values at `j`.
//! - `v`: `[n_layer][n_kv_head * head_dim][n_ctx]` — transposed (ggml's `v_trans`), one row
//!   per value dimension; the weighted sum for dimension `d` is one dot product of that row
//!   with the attention probabilities.
//!
//! Layout, Q8_0: `k` and `v` both `[n_layer][n_ctx][kv_dim / 32]` blocks (V not transposed:
//! a block of 32 positions could not be requantized one position at a time; llama.cpp
//! likewise needs its flash-attention path, which reads V by rows, for a quantized V).
//!
//! Values are stored as raw little-endian bytes so that the kernels read them in place; every
//! conversion (f32 → f16, f32 → Q8_0 and back) goes through [`Kernels`].

use super::config::Config;
use alloc::vec::Vec;
use bague_kernels::block::{BlockQ8_0, F16};
use bague_kernels::{GgmlType, KernelError, Kernels};

/// Values converted per kernel call when the transposed f16 V rows are written (a stack
/// buffer: the decode loop allocates nothing).
const V_CHUNK: usize = 64;

/// Element type of the KV cache.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum KvType {
    /// IEEE half (2 bytes per value), as llama.cpp's default.
    #[default]
    F16,
    /// Q8_0 blocks of 32 values (34 bytes: an f16 scale and 32 `i8`), 8.5 bits per value.
    /// Needs `head_dim` to be a multiple of 32.
    Q8_0,
}

impl KvType {
    /// Bytes of one stored row of `n` values (`None` if Q8_0 and `n` is not a multiple of
    /// 32, or on overflow).
    pub fn row_bytes(self, n: usize) -> Option<usize> {
        match self {
            KvType::F16 => n.checked_mul(2),
            KvType::Q8_0 => (n % 32 == 0).then_some(n / 32 * 34),
        }
    }

    /// The name llama.cpp's `--cache-type-k/v` uses (`f16`, `q8_0`).
    pub fn name(self) -> &'static str {
        match self {
            KvType::F16 => "f16",
            KvType::Q8_0 => "q8_0",
        }
    }

    /// Parses [`name`](Self::name) (case-insensitive).
    pub fn from_name(s: &str) -> Option<KvType> {
        [KvType::F16, KvType::Q8_0]
            .into_iter()
            .find(|t| t.name().eq_ignore_ascii_case(s))
    }
}

/// Keys and values of up to `n_ctx` positions for every layer (module docs for layouts).
#[derive(Clone, Debug)]
pub struct KvCache {
    ty: KvType,
    n_layer: usize,
    n_ctx: usize,
    kv_dim: usize,
    /// Bytes of one position's keys (and values) in one layer.
    row: usize,
    /// `[n_layer][n_ctx][kv_dim]` (module docs).
    k: Vec<u8>,
    /// f16: `[n_layer][kv_dim][n_ctx]`, transposed; Q8_0: `[n_layer][n_ctx][kv_dim]`.
    v: Vec<u8>,
}

impl KvCache {
    /// Bytes a cache of `n_ctx` positions needs for `cfg` (keys and values); `None` on
    /// overflow, or for Q8_0 when `head_dim` is not a multiple of 32.
    pub fn bytes_needed(cfg: &Config, n_ctx: usize, ty: KvType) -> Option<usize> {
        if ty == KvType::Q8_0 && cfg.head_dim % 32 != 0 {
            return None;
        }
        cfg.n_layer
            .checked_mul(n_ctx)?
            .checked_mul(ty.row_bytes(cfg.kv_dim())?)?
            .checked_mul(2)
    }

    /// A zeroed cache for `n_ctx` positions, allocated fallibly. The caller has checked the
    /// size with [`bytes_needed`](Self::bytes_needed). Errors: `OutOfMemory` when the heap
    /// refuses it.
    pub(crate) fn try_new(cfg: &Config, n_ctx: usize, ty: KvType) -> Result<KvCache, super::Error> {
        let row = ty.row_bytes(cfg.kv_dim()).unwrap_or(0);
        let per = cfg.n_layer * n_ctx * row;
        Ok(KvCache {
            ty,
            n_layer: cfg.n_layer,
            n_ctx,
            kv_dim: cfg.kv_dim(),
            row,
            k: super::buffer::zeroed(per, "KV cache")?,
            v: super::buffer::zeroed(per, "KV cache")?,
        })
    }

    /// Element type.
    pub fn kv_type(&self) -> KvType {
        self.ty
    }

    /// Context length (positions).
    pub fn n_ctx(&self) -> usize {
        self.n_ctx
    }

    /// Bytes held (keys and values).
    pub fn bytes(&self) -> usize {
        self.k.len() + self.v.len()
    }

    /// Keys of layer `l`: `[n_ctx][kv_dim]` f16 (an f16 cache).
    pub(crate) fn k_layer(&self, l: usize) -> &[F16] {
        bytemuck::cast_slice(self.k_bytes(l))
    }

    /// Values of layer `l`, transposed: `[kv_dim][n_ctx]` f16 (an f16 cache).
    pub(crate) fn v_layer(&self, l: usize) -> &[F16] {
        bytemuck::cast_slice(self.v_bytes(l))
    }

    /// Keys of layer `l` of a Q8_0 cache: `[n_ctx][kv_dim / 32]` blocks.
    pub(crate) fn k_layer_q8(&self, l: usize) -> &[BlockQ8_0] {
        bytemuck::cast_slice(self.k_bytes(l))
    }

    /// Values of layer `l` of a Q8_0 cache: `[n_ctx][kv_dim / 32]` blocks.
    pub(crate) fn v_layer_q8(&self, l: usize) -> &[BlockQ8_0] {
        bytemuck::cast_slice(self.v_bytes(l))
    }

    fn k_bytes(&self, l: usize) -> &[u8] {
        let n = self.n_ctx * self.row;
        &self.k[l * n..(l + 1) * n]
    }

    fn v_bytes(&self, l: usize) -> &[u8] {
        let n = self.n_ctx * self.row;
        &self.v[l * n..(l + 1) * n]
    }

    /// Stores `k`, `v` (`[n_tok][kv_dim]` f32, rounded to f16 or quantized to Q8_0 by `kern`)
    /// at positions `pos..pos + n_tok` of layer `l`. Errors: a kernel's length error (a bug:
    /// the forward pass sizes `k` and `v` from the same config).
    pub(crate) fn store(
        &mut self,
        kern: &Kernels,
        l: usize,
        pos: usize,
        k: &[f32],
        v: &[f32],
    ) -> Result<(), KernelError> {
        let (d, n_ctx, row) = (self.kv_dim, self.n_ctx, self.row);
        let n_tok = k.len() / d;
        debug_assert!(pos + n_tok <= n_ctx);
        let kl = &mut self.k[l * n_ctx * row..(l + 1) * n_ctx * row];
        let vl = &mut self.v[l * n_ctx * row..(l + 1) * n_ctx * row];
        let span = pos * row..(pos + n_tok) * row;
        match self.ty {
            KvType::F16 => {
                kern.f32_to_f16_row(k, &mut kl[span])?;
                // V is transposed: value `i` of token `t` goes to row `i`, column `pos + t`.
                let mut h = [0u8; 2 * V_CHUNK];
                for (t, r) in v.chunks_exact(d).enumerate() {
                    for (c, xs) in r.chunks(V_CHUNK).enumerate() {
                        let h = &mut h[..2 * xs.len()];
                        kern.f32_to_f16_row(xs, h)?;
                        for (i, b) in h.chunks_exact(2).enumerate() {
                            let o = ((c * V_CHUNK + i) * n_ctx + pos + t) * 2;
                            vl[o..o + 2].copy_from_slice(b);
                        }
                    }
                }
            }
            KvType::Q8_0 => {
                kern.quantize_activation(GgmlType::Q8_0, k, &mut kl[span.clone()])?;
                kern.quantize_activation(GgmlType::Q8_0, v, &mut vl[span])?;
            }
        }
        Ok(())
    }

    /// Moves positions `src..src + n` to `dst..dst + n` (`dst < src`) in every layer, keys
    /// and values; used by the context shift. `rekey(key_row_f32)` is applied to every moved
    /// key row (the caller re-rotates it), which is read from and written back in the cache's
    /// type by `kern`. `tmp`: at least `kv_dim` floats. Errors: a kernel's length error (a
    /// bug: rows are sized from the config).
    pub(crate) fn shift_down(
        &mut self,
        kern: &Kernels,
        dst: usize,
        src: usize,
        n: usize,
        tmp: &mut [f32],
        mut rekey: impl FnMut(&mut [f32]),
    ) -> Result<(), KernelError> {
        let (d, n_ctx, row) = (self.kv_dim, self.n_ctx, self.row);
        let tmp = &mut tmp[..d];
        for l in 0..self.n_layer {
            let kl = &mut self.k[l * n_ctx * row..(l + 1) * n_ctx * row];
            for j in 0..n {
                let from = (src + j) * row;
                let (k_from, to) = (&kl[from..from + row], (dst + j) * row);
                match self.ty {
                    KvType::F16 => kern.f16_to_f32_row(k_from, tmp)?,
                    KvType::Q8_0 => kern.dequantize_q8_0_row(k_from, tmp)?,
                }
                rekey(tmp);
                let k_to = &mut kl[to..to + row];
                match self.ty {
                    KvType::F16 => kern.f32_to_f16_row(tmp, k_to)?,
                    KvType::Q8_0 => kern.quantize_activation(GgmlType::Q8_0, tmp, k_to)?,
                }
            }
            let vl = &mut self.v[l * n_ctx * row..(l + 1) * n_ctx * row];
            match self.ty {
                KvType::F16 => {
                    for r in vl.chunks_exact_mut(n_ctx * 2) {
                        r.copy_within(src * 2..(src + n) * 2, dst * 2);
                    }
                }
                KvType::Q8_0 => vl.copy_within(src * row..(src + n) * row, dst * row),
            }
        }
        Ok(())
    }
}

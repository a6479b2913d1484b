//! The forward pass's view of the kernels: quantize activations to a weight's
//! `vec_dot_type`, multiply a weight matrix by quantized activations over a row range,
//! dequantize an embedding row, f16·f16 dot products for attention.
//!
//! Every length was checked when the weights were bound (types the kernels support, shapes
//! from the config) and the session sized its buffers from the same config, so the kernels'
//! length errors cannot happen here; debug builds assert it.

use super::weights::Tensor;
use crate::GgmlType;
use bague_kernels::ops::VecOps;
use bague_kernels::{KernelError, Kernels};
use core::ops::Range;

/// The kernels, chosen once per model.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Linalg {
    k: Kernels,
    /// Softmax, SwiGLU and the attention dot products, on the same instruction set.
    ops: VecOps,
}

#[inline(always)]
fn ok<T: Default>(r: Result<T, KernelError>) -> T {
    match r {
        Ok(v) => v,
        Err(e) => {
            debug_assert!(false, "kernel call rejected: {e:?}");
            T::default()
        }
    }
}

impl Linalg {
    pub(crate) fn new(k: Kernels) -> Linalg {
        Linalg {
            k,
            ops: VecOps::for_kernels(&k),
        }
    }

    /// The float operations of attention and the feed-forward block.
    #[inline]
    pub(crate) fn ops(&self) -> &VecOps {
        &self.ops
    }

    /// The kernel table in use.
    pub(crate) fn kernels(&self) -> &Kernels {
        &self.k
    }

    /// The activation type a weight of type `wt` is multiplied with (ggml `vec_dot_type`).
    pub(crate) fn act_type(&self, wt: GgmlType) -> GgmlType {
        Kernels::vec_dot_type(wt)
    }

    /// Bytes of one quantized activation row of `n` values for weights of type `wt`.
    pub(crate) fn act_row_bytes(&self, wt: GgmlType, n: usize) -> usize {
        self.act_type(wt).row_bytes(n as u64).unwrap_or(0) as usize
    }

    /// Quantizes `x` (`[n_tok][n]`) for weights of type `wt` into `out`
    /// (`[n_tok][act_row_bytes(wt, n)]`).
    pub(crate) fn quantize(&self, wt: GgmlType, x: &[f32], n: usize, out: &mut [u8]) {
        let (act, rb) = (self.act_type(wt), self.act_row_bytes(wt, n));
        for (xr, or) in x.chunks_exact(n).zip(out.chunks_exact_mut(rb)) {
            ok(self.k.quantize_activation(act, xr, or));
        }
    }

    /// `out[r - rows.start] = W[r] · act` for `r` in `rows`; `act` is one quantized row.
    pub(crate) fn matvec(&self, w: &Tensor<'_>, rows: Range<usize>, act: &[u8], out: &mut [f32]) {
        ok(self.k.matvec(w.ty, w.data, w.n_cols(), rows, act, out));
    }

    /// `out[t][r] = W[r] · act[t]` for every row `r` of `w` and token `t < n_tok`;
    /// `act`: `[n_tok][act_row_bytes]`, `out`: `[n_tok][n_rows]`.
    pub(crate) fn matmul(&self, w: &Tensor<'_>, act: &[u8], n_tok: usize, out: &mut [f32]) {
        let n_rows = w.n_rows();
        ok(self
            .k
            .matmul(w.ty, w.data, w.n_cols(), 0..n_rows, act, n_tok, out, n_rows));
    }

    /// Dequantizes row `i` of `w` into `out` (`[n_cols]`).
    pub(crate) fn dequantize_row(&self, w: &Tensor<'_>, i: usize, out: &mut [f32]) {
        let rb = w.row_bytes();
        ok(Kernels::dequantize_row(
            w.ty,
            &w.data[i * rb..(i + 1) * rb],
            out,
        ));
    }

    /// f32 → f16 little-endian bytes, round to nearest even.
    #[inline]
    pub(crate) fn f32_to_f16(&self, x: &[f32], out: &mut [u8]) {
        ok(self.k.f32_to_f16_row(x, out));
    }
}

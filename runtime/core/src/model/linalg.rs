//! The forward pass's view of the kernels: quantize activations to a weight's
//! `vec_dot_type`, multiply a weight matrix by quantized activations over a row range,
//! dequantize an embedding row. Everything else (attention's f16 and Q8_0 products, softmax,
//! SwiGLU, RMS norm, residual adds, the KV cache's row conversions) the forward pass asks of
//! [`Kernels`] directly through [`Linalg::kernels`]: one table, one door.
//!
//! Every length was checked when the weights were bound (types the kernels support, shapes
//! from the config) and the session sized its buffers from the same config, so a kernel's
//! length error here is a bug in bague; it is returned (as `model::Error::Kernel`), never
//! turned into a default value.

use super::weights::Tensor;
use crate::GgmlType;
use bague_kernels::{KernelError, Kernels};
use core::ops::Range;

/// The kernels, chosen once per model.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Linalg {
    k: Kernels,
}

impl Linalg {
    pub(crate) fn new(k: Kernels) -> Linalg {
        Linalg { k }
    }

    /// The kernel table in use.
    #[inline]
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
    pub(crate) fn quantize(
        &self,
        wt: GgmlType,
        x: &[f32],
        n: usize,
        out: &mut [u8],
    ) -> Result<(), KernelError> {
        let (act, rb) = (self.act_type(wt), self.act_row_bytes(wt, n));
        for (xr, or) in x.chunks_exact(n).zip(out.chunks_exact_mut(rb)) {
            self.k.quantize_activation(act, xr, or)?;
        }
        Ok(())
    }

    /// `out[r - rows.start] = W[r] · act` for `r` in `rows`; `act` is one quantized row.
    #[inline]
    pub(crate) fn matvec(
        &self,
        w: &Tensor<'_>,
        rows: Range<usize>,
        act: &[u8],
        out: &mut [f32],
    ) -> Result<(), KernelError> {
        self.k.matvec(w.ty, w.data, w.n_cols(), rows, act, out)
    }

    /// `out[t][r] = W[r] · act[t]` for every row `r` of `w` and token `t < n_tok`, these
    /// tokens being a share (from a multiple of 4) of a batch of `batch` tokens, whose size
    /// decides the kernel path; `act`: `[n_tok][act_row_bytes]`, `out`: `[n_tok][n_rows]`.
    pub(crate) fn matmul(
        &self,
        w: &Tensor<'_>,
        act: &[u8],
        n_tok: usize,
        out: &mut [f32],
        batch: usize,
    ) -> Result<(), KernelError> {
        let n_rows = w.n_rows();
        self.k.matmul_in_batch(
            w.ty,
            w.data,
            w.n_cols(),
            0..n_rows,
            act,
            n_tok,
            out,
            n_rows,
            batch,
        )
    }

    /// Dequantizes row `i` of `w` into `out` (`[n_cols]`). Errors: `Rows` when `w` has no
    /// row `i`.
    pub(crate) fn dequantize_row(
        &self,
        w: &Tensor<'_>,
        i: usize,
        out: &mut [f32],
    ) -> Result<(), KernelError> {
        let rb = w.row_bytes();
        let row = i
            .checked_mul(rb)
            .and_then(|s| w.data.get(s..s.checked_add(rb)?))
            .ok_or(KernelError::Rows {
                start: i,
                end: i.saturating_add(1),
                n_rows: w.n_rows(),
            })?;
        Kernels::dequantize_row(w.ty, row, out)
    }
}

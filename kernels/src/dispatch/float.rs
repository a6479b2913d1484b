//! The float operations of the forward pass on [`Kernels`]: attention (f16 dot products,
//! softmax, axpy), the feed-forward block (SwiGLU), RMS norm, residual and bias adds, and the row
//! conversions of the KV cache (f32 ⇄ f16, Q8_0 ⇄ f32). Every back end returns the bits of the
//! scalar reference, which follows ggml's x86 AVX2 CPU backend (tested: `tests/float_ops.rs`).
//!
//! Lengths are checked before any work: a mismatch is a [`KernelError::Length`], never a panic.

use super::{Backend, Kernels, cast, cast_mut, check_len, check_rows, row_bytes};
use crate::arch::Isa;
use crate::block::{BlockQ8_0, F16};
use crate::{GgmlType, KernelError};

/// The summation order of an f16·f16 dot product ([`Kernels::dot_f16`],
/// [`Kernels::matvec_f16`]). Both are the orders of ggml's x86 AVX2 attention without flash
/// attention (`ggml_mul_mat` of the f16 KV cache); they differ in the last bits only.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum F16DotOrder {
    /// ggml's `ggml_vec_dot_f16` (one token; also what [`Kernels::vec_dot`] runs on F16
    /// weights): over whole groups of 32 elements, four 8-lane FMA accumulators (element `i`
    /// into accumulator `(i / 8) % 4`, lane `i % 8`), reduced `(a0 + a2) + (a1 + a3)`, then
    /// lanes `((l0 + l4) + (l1 + l5)) + ((l2 + l6) + (l3 + l7))`; the leftover products (each
    /// rounded to f32) added in f64.
    VecDot,
    /// llamafile's tinyBLAS (several tokens, when the product's row count is a multiple of
    /// 4): one 8-lane FMA accumulator (element `i` into lane `i % 8`), then the horizontal sum
    /// `((l0 + l4) + (l2 + l6)) + ((l1 + l5) + (l3 + l7))`.
    TinyBlas,
}

impl Kernels {
    /// Dot product of two f16 rows `x`, `y` (`[n]` each) in `order`, summed in f32 as the
    /// order says. Errors: `Length` (`y` not as long as `x`).
    pub fn dot_f16(&self, order: F16DotOrder, x: &[F16], y: &[F16]) -> Result<f32, KernelError> {
        check_len("y", x.len(), y.len())?;
        Ok(with_isa!(self, |isa| match order {
            F16DotOrder::VecDot => isa.vec_dot_f16(x, y),
            F16DotOrder::TinyBlas => isa.vec_dot_f16_tinyblas(x, y),
        }))
    }

    /// f16 matrix × f16 vector over rows that are `row_stride` elements apart (one KV head's
    /// keys inside a `[pos][n_kv_head * head_dim]` cache, or its transposed values):
    /// `out[i] = w[i * row_stride..i * row_stride + n_cols] · x` for every `i < out.len()`,
    /// each exactly [`dot_f16`](Self::dot_f16)'s bits. One check and one dispatch for the
    /// whole head. Errors: `Length` (`x` not `n_cols` long, `row_stride < n_cols`, `w` too
    /// short for the last row), `Overflow`.
    pub fn matvec_f16(
        &self,
        order: F16DotOrder,
        w: &[F16],
        n_cols: usize,
        row_stride: usize,
        x: &[F16],
        out: &mut [f32],
    ) -> Result<(), KernelError> {
        check_len("x", n_cols, x.len())?;
        if out.is_empty() {
            return Ok(());
        }
        check_rows(w.len(), out.len(), n_cols, row_stride)?;
        with_isa!(self, |isa| {
            let rows = out.iter_mut().enumerate();
            match order {
                F16DotOrder::VecDot => {
                    for (i, o) in rows {
                        *o = isa.vec_dot_f16(&w[i * row_stride..i * row_stride + n_cols], x);
                    }
                }
                F16DotOrder::TinyBlas => {
                    for (i, o) in rows {
                        let r = &w[i * row_stride..i * row_stride + n_cols];
                        *o = isa.vec_dot_f16_tinyblas(r, x);
                    }
                }
            }
        });
        Ok(())
    }

    /// f16 matrix × f32 vector in the order of tinyBLAS on aarch64 (what llama.cpp there runs
    /// for `V · P` over several tokens, `P` not rounded to f16): `out[i] = w[i * row_stride..
    /// i * row_stride + n_cols] · x`, one 4-lane FMA accumulator per row then `vaddvq_f32`.
    /// The same bits on every back end. Errors: as [`matvec_f16`](Self::matvec_f16).
    pub fn matvec_f16_f32(
        &self,
        w: &[F16],
        n_cols: usize,
        row_stride: usize,
        x: &[f32],
        out: &mut [f32],
    ) -> Result<(), KernelError> {
        check_len("x", n_cols, x.len())?;
        if out.is_empty() {
            return Ok(());
        }
        check_rows(w.len(), out.len(), n_cols, row_stride)?;
        with_isa!(self, |isa| {
            for (i, o) in out.iter_mut().enumerate() {
                let r = &w[i * row_stride..i * row_stride + n_cols];
                *o = isa.vec_dot_f16_f32_tinyblas(r, x);
            }
        });
        Ok(())
    }

    /// Softmax of `scale · x` in place, for a row of `n_row` entries whose entries past
    /// `x.len()` are masked (`-inf`, probability 0; llama.cpp pads the KV length to 256 with
    /// such a mask): the result equals ggml's `ggml_soft_max_ext(row, mask, scale)` on the
    /// padded row bit for bit. Numerics: `y = scale * x`; `y = exp(y - max)` with ggml's
    /// vector `exp` (`ggml_v_expf`) over the first `min(round_up(x.len(), 8), round_down(n_row,
    /// 8))` entries, in groups of 8 whose sums are reduced in f32 and added in f64, and libm
    /// `expf` for the rest; `y *= (f32)(1 / sum)`. `-inf` entries become 0; an all-`-inf` row
    /// becomes NaN, as in ggml. `n_row < x.len()` is treated as `x.len()`.
    pub fn softmax_masked(&self, x: &mut [f32], scale: f32, n_row: usize) {
        with_isa!(self, |isa| isa.softmax_masked(x, scale, n_row))
    }

    /// SwiGLU: `out = silu(gate) * up`, all `[n]`, with `silu(g) = g / (1 + exp(0 - g))` in
    /// ggml's vector form (`ggml_v_silu`) over whole groups of 8 and libm `expf` for the tail
    /// (ggml `ggml_vec_swiglu_f32`). Errors: `Length` (`up` or `out` not as long as `gate`).
    pub fn swiglu(&self, gate: &[f32], up: &[f32], out: &mut [f32]) -> Result<(), KernelError> {
        check_len("up", gate.len(), up.len())?;
        check_len("out", gate.len(), out.len())?;
        with_isa!(self, |isa| isa.swiglu(gate, up, out));
        Ok(())
    }

    /// RMS norm times its weight: `out = x / sqrt(mean(x²) + eps) * weight`, `x`, `out`:
    /// `[n]` f32, `weight`: `n` little-endian f32 (`4 n` bytes: an F32 tensor in place, any
    /// alignment). Numerics of ggml's `rms_norm` then `mul` (llama.cpp `build_norm`): squares
    /// in f32 summed in f64, `scale = 1 / sqrtf((f32)(sum / n) + eps)`, `out = (x * scale) *
    /// weight`. Errors: `Length` (`weight` not `4 n` bytes, `out` not `n` long).
    pub fn rms_norm(
        &self,
        x: &[f32],
        weight: &[u8],
        eps: f32,
        out: &mut [f32],
    ) -> Result<(), KernelError> {
        check_len("weight", 4 * x.len(), weight.len())?;
        check_len("out", x.len(), out.len())?;
        with_isa!(self, |isa| isa.rms_norm(x, cast(weight), eps, out));
        Ok(())
    }

    /// `x += y` element-wise (the residual add). Errors: `Length` (`y` not as long as `x`).
    pub fn add(&self, x: &mut [f32], y: &[f32]) -> Result<(), KernelError> {
        check_len("y", x.len(), y.len())?;
        with_isa!(self, |isa| isa.add(x, bytemuck::cast_slice(y)));
        Ok(())
    }

    /// `x += bias` element-wise, `bias`: `x.len()` little-endian f32 (`4 n` bytes: an F32
    /// tensor in place, any alignment). The same arithmetic as [`add`](Self::add).
    /// Errors: `Length` (`bias` not `4 * x.len()` bytes).
    pub fn add_bias(&self, x: &mut [f32], bias: &[u8]) -> Result<(), KernelError> {
        check_len("bias", 4 * x.len(), bias.len())?;
        with_isa!(self, |isa| isa.add(x, cast(bias)));
        Ok(())
    }

    /// `y += a * x` element-wise, the product rounded to f32 before the add (no fused
    /// multiply-add; ggml `ggml_vec_mad_f32`'s scalar form): attention's weighted sum of
    /// values. Errors: `Length` (`x` not as long as `y`).
    pub fn axpy(&self, y: &mut [f32], a: f32, x: &[f32]) -> Result<(), KernelError> {
        check_len("x", y.len(), x.len())?;
        with_isa!(self, |isa| isa.axpy(y, a, x));
        Ok(())
    }

    /// Dequantize a Q8_0 row (`out.len() / 32` blocks of 34 bytes in `x`) to f32: `q * d`, as
    /// [`dequantize_row`](Self::dequantize_row) with `GgmlType::Q8_0`, on this back end.
    /// Errors: `NotBlockMultiple` (`out.len()` not a multiple of 32), `Length`.
    pub fn dequantize_q8_0_row(&self, x: &[u8], out: &mut [f32]) -> Result<(), KernelError> {
        check_len("x", row_bytes(GgmlType::Q8_0, out.len())?, x.len())?;
        with_isa!(self, |isa| isa.dequantize_q8_0(cast::<BlockQ8_0>(x), out));
        Ok(())
    }

    /// `y = Σ_j p[j] · V_j` for the Q8_0 rows `V_j` of `y.len()` elements (`y.len() / 32`
    /// blocks) that start every `row_stride` bytes in `rows` (e.g. one KV head's values in a
    /// Q8_0 cache): attention's weighted sum of values. The bits of, for each `j` in order,
    /// [`dequantize_q8_0_row`](Self::dequantize_q8_0_row) then [`axpy`](Self::axpy) into
    /// `y` from zero, without the row buffer or the per-row calls.
    /// Errors: `NotBlockMultiple` (`y.len()`), `Length` (`row_stride` not a whole number of
    /// blocks or below the row size, `rows` too short for the last row).
    pub fn weighted_sum_q8_0(
        &self,
        y: &mut [f32],
        p: &[f32],
        rows: &[u8],
        row_stride: usize,
    ) -> Result<(), KernelError> {
        let rb = row_bytes(GgmlType::Q8_0, y.len())?;
        let bb = GgmlType::Q8_0.block_bytes();
        if row_stride < rb || row_stride % bb != 0 {
            return Err(KernelError::Length {
                what: "row_stride",
                expected: row_stride.max(rb).next_multiple_of(bb),
                got: row_stride,
            });
        }
        if let Some(last) = p.len().checked_sub(1) {
            let need = last
                .checked_mul(row_stride)
                .and_then(|v| v.checked_add(rb))
                .ok_or(KernelError::Overflow)?;
            if rows.len() < need {
                return Err(KernelError::Length {
                    what: "rows",
                    expected: need,
                    got: rows.len(),
                });
            }
        }
        // whole blocks only (the last row may end before a partial block)
        let rows = &rows[..rows.len() / bb * bb];
        with_isa!(self, |isa| isa.weighted_sum_q8_0(
            y,
            p,
            cast::<BlockQ8_0>(rows),
            row_stride / bb
        ));
        Ok(())
    }

    /// f32 → f16 row (`x`: `[n]`; `out`: `2 n` little-endian bytes), round to nearest even
    /// (ggml `GGML_FP32_TO_FP16`, F16C on x86). Errors: `Length`.
    pub fn f32_to_f16_row(&self, x: &[f32], out: &mut [u8]) -> Result<(), KernelError> {
        check_len("out", 2 * x.len(), out.len())?;
        with_isa!(self, |isa| isa.f32_to_f16(x, cast_mut(out)));
        Ok(())
    }

    /// f16 row (`2 n` little-endian bytes) → f32 (`out`: `[n]`), exact. Errors: `Length`.
    pub fn f16_to_f32_row(&self, x: &[u8], out: &mut [f32]) -> Result<(), KernelError> {
        check_len("x", 2 * out.len(), x.len())?;
        with_isa!(self, |isa| isa.f16_to_f32(cast(x), out));
        Ok(())
    }
}

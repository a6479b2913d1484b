//! The repacked kernels of ggml's aarch64 dotprod build, per output (weight row, token): what
//! llama.cpp runs on a CPU with dotprod for the matrices it repacks at load
//! (`ggml_repack_get_optimal_repack_type`): Q4_0 and Q8_0 with a multiple of 4 rows
//! (`q4_0_4x4`, `q8_0_4x4`), Q4_K and Q6_K with a multiple of 8 rows (`q4_K_8x4`,
//! `q6_K_8x4`). bague keeps the file's layout (no repacked copy) and computes each output's
//! f32 chain exactly as those kernels do; the formulas are in
//! `crate::reference::aarch64::repack` (the scalar model these equal bit for bit).
//!
//! A batch goes through the 4-token kernel (`gemm`) in groups of 4 from its first token and
//! the rest through the 1-token one (`gemv`), as ggml's `forward_mul_mat` does; only Q8_0's
//! two forms differ (fused vs not).

use super::util::*;
use super::{order32, q4_k, q6_k};
use crate::GgmlType;
use crate::arch::scalar_aarch64::repacked;
use crate::block::*;
use crate::math::fma;
use core::arch::aarch64::*;
use core::ops::Range;

/// One weight row against `N` activation rows; `gemm`: the 4-token kernel's form.
///
/// # Safety
/// NEON and dotprod (`D = Sdot`), or NEON (`D = Mull`, used only by tests of the formulas).
#[inline]
#[target_feature(enable = "neon")]
unsafe fn row<D: DotI8, const N: usize>(
    wt: GgmlType,
    w: &[u8],
    a: [&[u8]; N],
    gemm: bool,
) -> [f32; N] {
    match wt {
        GgmlType::Q4_0 => {
            let w: &[BlockQ4_0] = bytemuck::cast_slice(w);
            let a: [&[BlockQ8_0]; N] = a.map(bytemuck::cast_slice);
            let eight = vdupq_n_s8(8);
            let mut acc = [0f32; N];
            for (i, x) in w.iter().enumerate() {
                let (lo, hi) = nibbles(load_u8(&x.qs));
                let (w0, w1) = (vsubq_s8(s8(lo), eight), vsubq_s8(s8(hi), eight));
                for (acc, a) in acc.iter_mut().zip(a) {
                    let y = &a[i];
                    // SAFETY: the caller's contract.
                    let s = vaddvq_s32(unsafe { order32::lanes::<D>(true, w0, w1, &y.qs) });
                    *acc = fma(s as f32, f16(x.d) * f16(y.d), *acc);
                }
            }
            acc
        }
        GgmlType::Q8_0 => {
            let w: &[BlockQ8_0] = bytemuck::cast_slice(w);
            let a: [&[BlockQ8_0]; N] = a.map(bytemuck::cast_slice);
            let mut acc = [0f32; N];
            for (i, x) in w.iter().enumerate() {
                let (w0, w1) = (load_s8(&x.qs[..16]), load_s8(&x.qs[16..]));
                for (acc, a) in acc.iter_mut().zip(a) {
                    let y = &a[i];
                    // SAFETY: the caller's contract.
                    let s = vaddvq_s32(unsafe { order32::lanes::<D>(false, w0, w1, &y.qs) });
                    let d = f16(x.d) * f16(y.d);
                    *acc = if gemm {
                        *acc + d * s as f32
                    } else {
                        fma(s as f32, d, *acc)
                    };
                }
            }
            acc
        }
        GgmlType::Q4_K => {
            let w: &[BlockQ4K] = bytemuck::cast_slice(w);
            let a: [&[BlockQ8K]; N] = a.map(bytemuck::cast_slice);
            let mut acc = [0f32; N];
            for (i, x) in w.iter().enumerate() {
                let (sc, m) = q4_k::scales_mins(&x.scales);
                let ys: [&BlockQ8K; N] = core::array::from_fn(|j| &a[j][i]);
                // SAFETY: the caller's contract.
                let pairs =
                    unsafe { q4_k::pair_sums::<D, N>(&sc, ys, |c| q4_k::q4_k_quants(x, c)) };
                for ((acc, y), p) in acc.iter_mut().zip(ys).zip(pairs) {
                    let dy = f32::from_le_bytes(y.d);
                    let scale = f16(x.d) * dy;
                    for p in p {
                        *acc = fma(scale, p as f32, *acc);
                    }
                    let mins = q4_k::mins_sum(y, &m);
                    *acc -= mins as f32 * (f16(x.dmin) * dy);
                }
            }
            acc
        }
        GgmlType::Q6_K => {
            let w: &[BlockQ6K] = bytemuck::cast_slice(w);
            let a: [&[BlockQ8K]; N] = a.map(bytemuck::cast_slice);
            let mut acc = [0f32; N];
            for (i, x) in w.iter().enumerate() {
                let ys: [&BlockQ8K; N] = core::array::from_fn(|j| &a[j][i]);
                // SAFETY: the caller's contract.
                let isum = unsafe { q6_k::isums::<D, N>(x, ys) };
                for ((acc, y), s) in acc.iter_mut().zip(ys).zip(isum) {
                    let d = f16(x.d) * f32::from_le_bytes(y.d);
                    // gcc contracts the gemv's multiply-add, not the gemm's
                    *acc = if gemm {
                        *acc + s as f32 * d
                    } else {
                        fma(s as f32, d, *acc)
                    };
                }
            }
            acc
        }
        _ => [0.0; N],
    }
}

/// Decode (one token): `out[r] = row r of w · act` for the rows of `w` (`wrow` bytes each).
/// `false` (nothing written) unless `repacked(wt, n_rows)`.
///
/// # Safety
/// NEON and the extension `D` needs.
#[target_feature(enable = "neon")]
pub(super) unsafe fn gemv<D: DotI8>(
    wt: GgmlType,
    w: &[u8],
    wrow: usize,
    n_rows: usize,
    act: &[u8],
    out: &mut [f32],
) -> bool {
    if !repacked(wt, n_rows) || wrow == 0 {
        return false;
    }
    for (o, r) in out.iter_mut().zip(w.chunks_exact(wrow)) {
        // SAFETY: the caller's contract.
        let [v] = unsafe { row::<D, 1>(wt, r, [act], false) };
        *o = v;
    }
    true
}

/// Prefill: `out[t * out_stride + (r - rows.start)]` = row `r` · token `t`; tokens in groups
/// of 4 through the gemm form, the rest through the gemv form. `false` (nothing written)
/// unless `repacked(wt, n_rows)`. Lengths were checked by `Kernels::matmul`.
///
/// # Safety
/// NEON and the extension `D` needs.
#[allow(clippy::too_many_arguments)]
#[target_feature(enable = "neon")]
pub(super) unsafe fn gemm<D: DotI8>(
    wt: GgmlType,
    w: &[u8],
    wrow: usize,
    rows: Range<usize>,
    acts: &[u8],
    arow: usize,
    n_tok: usize,
    out: &mut [f32],
    out_stride: usize,
) -> bool {
    let n_rows = w.len().checked_div(wrow).unwrap_or(0);
    if !repacked(wt, n_rows) {
        return false;
    }
    let act = |t: usize| &acts[t * arow..(t + 1) * arow];
    for r in rows.clone() {
        let wr = &w[r * wrow..(r + 1) * wrow];
        let c = r - rows.start;
        let mut t = 0;
        while t + 4 <= n_tok {
            // SAFETY: the caller's contract.
            let v =
                unsafe { row::<D, 4>(wt, wr, [act(t), act(t + 1), act(t + 2), act(t + 3)], true) };
            for (k, v) in v.into_iter().enumerate() {
                out[(t + k) * out_stride + c] = v;
            }
            t += 4;
        }
        for t in t..n_tok {
            // SAFETY: the caller's contract.
            let [v] = unsafe { row::<D, 1>(wt, wr, [act(t)], false) };
            out[t * out_stride + c] = v;
        }
    }
    true
}

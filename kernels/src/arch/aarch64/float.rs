//! NEON float rows: F32 and F16 dot products, and f16 ⇄ f32 row conversion.
//!
//! F16 · F16 follows ggml's two x86 orders (`ggml_vec_dot_f16` and tinyBLAS) lane for lane
//! with fused multiply-adds (`fmla`, as x86's `vfmadd`), so it equals the references bit for
//! bit. F32 · F32: each product is rounded to f32 exactly as in the reference, then widened to
//! f64 and accumulated in f64 lanes (the reference adds the same f64 values in another
//! order), so results equal the reference except in rare last-bit cases of the final rounding.
//! Conversions use `fcvtl` / `fcvtn` (round to nearest even): identical to the scalar ones.

use super::util::*;
use crate::block::*;
use core::arch::aarch64::*;

/// Four little-endian halves as four f32.
#[inline]
#[target_feature(enable = "neon")]
fn load_f16x4(p: &[F16]) -> float32x4_t {
    let b: &[u8] = bytemuck::cast_slice(&p[..4]);
    let bits = u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]);
    f16x4_to_f32(vcreate_u16(bits))
}

/// `Σ w a` with f32 products accumulated in f64; `load` gives 4 values of the row at `i`.
#[inline]
#[target_feature(enable = "neon")]
fn dot_f64(
    n: usize,
    load_w: impl Fn(usize) -> float32x4_t,
    load_a: impl Fn(usize) -> float32x4_t,
    tail: impl Fn(usize) -> f32,
) -> f32 {
    let mut acc = [vdupq_n_f64(0.0); 4];
    let mut i = 0;
    while i + 8 <= n {
        let p0 = vmulq_f32(load_w(i), load_a(i));
        let p1 = vmulq_f32(load_w(i + 4), load_a(i + 4));
        acc[0] = vaddq_f64(acc[0], vcvt_f64_f32(vget_low_f32(p0)));
        acc[1] = vaddq_f64(acc[1], vcvt_high_f64_f32(p0));
        acc[2] = vaddq_f64(acc[2], vcvt_f64_f32(vget_low_f32(p1)));
        acc[3] = vaddq_f64(acc[3], vcvt_high_f64_f32(p1));
        i += 8;
    }
    let mut sum = vaddvq_f64(vaddq_f64(
        vaddq_f64(acc[0], acc[1]),
        vaddq_f64(acc[2], acc[3]),
    ));
    while i < n {
        sum += tail(i) as f64;
        i += 1;
    }
    sum as f32
}

/// F32 · F32 (reference: `ggml_vec_dot_f32` with f64 accumulation).
#[target_feature(enable = "neon")]
pub(super) fn vec_dot_f32(w: &[F32], a: &[F32]) -> f32 {
    debug_check_len(w.len(), a.len());
    let n = w.len().min(a.len());
    // F32 is little-endian bytes, and so are the lanes
    let ld = |r: &[F32], i: usize| vreinterpretq_f32_u8(load_u8(&r[i..i + 4]));
    dot_f64(n, |i| ld(w, i), |i| ld(a, i), |i| w[i].get() * a[i].get())
}

/// F16 · F16 in the order of ggml's aarch64 `ggml_vec_dot_f16` (without FP16 vector
/// arithmetic; model: `reference::aarch64::float::vec_dot_f16`): over whole groups of 16,
/// four 4-lane FMA accumulators, reduced `(a0 + a2) + (a1 + a3)` then `vaddvq_f32`, in f64;
/// leftovers added in f64.
#[target_feature(enable = "neon")]
pub(super) fn vec_dot_f16(w: &[F16], a: &[F16]) -> f32 {
    debug_check_len(w.len(), a.len());
    let n = w.len().min(a.len());
    let np = n & !15;
    let mut acc = [vdupq_n_f32(0.0); 4];
    let mut i = 0;
    while i < np {
        for (k, acc) in acc.iter_mut().enumerate() {
            let o = i + 4 * k;
            *acc = vfmaq_f32(*acc, load_f16x4(&w[o..]), load_f16x4(&a[o..]));
        }
        i += 16;
    }
    let r = vaddq_f32(vaddq_f32(acc[0], acc[2]), vaddq_f32(acc[1], acc[3]));
    let mut sum = vaddvq_f32(r) as f64;
    for j in np..n {
        sum += (f16(w[j].0) * f16(a[j].0)) as f64;
    }
    sum as f32
}

/// F16 · F32 in the order of tinyBLAS on aarch64 (`tinyBLAS<4, float32x4_t, float32x4_t,
/// ggml_fp16_t, float, float>`; model: `reference::aarch64::float::tinyblas_f16_f32`): one
/// 4-lane FMA accumulator, a partial last group zero-filled, then `vaddvq_f32`.
#[target_feature(enable = "neon")]
pub(super) fn vec_dot_f16_f32_tinyblas(w: &[F16], x: &[f32]) -> f32 {
    let n = w.len().min(x.len());
    let mut acc = vdupq_n_f32(0.0);
    let mut i = 0;
    while i + 4 <= n {
        acc = vfmaq_f32(acc, load_f16x4(&w[i..]), load_f32(&x[i..]));
        i += 4;
    }
    if i < n {
        let (mut p, mut q) = ([F16([0; 2]); 4], [0f32; 4]);
        p[..n - i].copy_from_slice(&w[i..n]);
        q[..n - i].copy_from_slice(&x[i..n]);
        acc = vfmaq_f32(acc, load_f16x4(&p), load_f32(&q));
    }
    vaddvq_f32(acc)
}

/// F16 · F16 in the order of llamafile's tinyBLAS on AVX2 (the reference,
/// `reference::f16_dot::tinyblas`, bit for bit): one 8-lane FMA accumulator as two 4-lane
/// halves, a partial last group zero-filled, ggml's horizontal sum.
#[target_feature(enable = "neon")]
pub(super) fn vec_dot_f16_tinyblas(w: &[F16], a: &[F16]) -> f32 {
    debug_check_len(w.len(), a.len());
    let n = w.len().min(a.len());
    let (mut lo, mut hi) = (vdupq_n_f32(0.0), vdupq_n_f32(0.0));
    let mut i = 0;
    while i + 8 <= n {
        lo = vfmaq_f32(lo, load_f16x4(&w[i..]), load_f16x4(&a[i..]));
        hi = vfmaq_f32(hi, load_f16x4(&w[i + 4..]), load_f16x4(&a[i + 4..]));
        i += 8;
    }
    if i < n {
        let (mut x, mut y) = ([F16([0; 2]); 8], [F16([0; 2]); 8]);
        x[..n - i].copy_from_slice(&w[i..n]);
        y[..n - i].copy_from_slice(&a[i..n]);
        lo = vfmaq_f32(lo, load_f16x4(&x), load_f16x4(&y));
        hi = vfmaq_f32(hi, load_f16x4(&x[4..]), load_f16x4(&y[4..]));
    }
    hsum8(lo, hi)
}

/// f32 → f16 row, round to nearest even; bytes identical to `F16::quantize`.
#[target_feature(enable = "neon")]
pub(super) fn f32_to_f16(x: &[f32], out: &mut [F16]) {
    let n = x.len().min(out.len());
    let (x, out) = (&x[..n], &mut out[..n]);
    let mut xs = x.chunks_exact(4);
    let mut os = out.chunks_exact_mut(4);
    for (xc, oc) in (&mut xs).zip(&mut os) {
        let h = f32_to_f16x4(load_f32(xc));
        let bits = vget_lane_u64::<0>(vreinterpret_u64_u16(h)).to_le_bytes();
        for (k, o) in oc.iter_mut().enumerate() {
            *o = F16([bits[2 * k], bits[2 * k + 1]]);
        }
    }
    for (o, &v) in os.into_remainder().iter_mut().zip(xs.remainder()) {
        *o = F16(crate::block::f32_to_f16(v));
    }
}

/// f16 → f32 row (exact); identical to `F16::dequantize`.
#[target_feature(enable = "neon")]
pub(super) fn f16_to_f32(x: &[F16], out: &mut [f32]) {
    let n = x.len().min(out.len());
    let (x, out) = (&x[..n], &mut out[..n]);
    let mut xs = x.chunks_exact(4);
    let mut os = out.chunks_exact_mut(4);
    for (xc, oc) in (&mut xs).zip(&mut os) {
        store_f32(oc, load_f16x4(xc));
    }
    for (o, v) in os.into_remainder().iter_mut().zip(xs.remainder()) {
        *o = v.get();
    }
}

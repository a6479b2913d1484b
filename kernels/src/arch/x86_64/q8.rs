//! AVX2 Q8_0 dot product and the Q8_0 / Q8_1 activation quantizers.
//!
//! The quantizers run the instruction sequence of ggml's x86 AVX2 `quantize_row_q8_0/1`
//! (abs by clearing the sign bit, `maxps` tree, `127 / amax`, `roundps` nearest-even,
//! `cvtps2dq`, saturating packs), so their bytes equal the scalar emulation in
//! `block::q8_0` / `block::q8_1` bit for bit (tested).

use super::blocks32::{Blocks32, dot_blocks, rows_each, rows_strided};
use super::q4::{signed_dot, with_abs};
use super::util::*;
use crate::block::*;
use core::arch::x86_64::*;

/// Q8_0 · Q8_0 for `N` activation rows (sign trick; exact for quants in -127..=127,
/// which the quantizers produce).
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
fn vec_dot_q8_0_n<const N: usize>(w: &[BlockQ8_0], a: [&[BlockQ8_0]; N]) -> [f32; N] {
    dot_blocks(
        w,
        a,
        Blocks32 {
            wd: |x: &BlockQ8_0| x.d,
            ad: |y: &BlockQ8_0| y.d,
            decode: |x: &BlockQ8_0| with_abs(load32(&x.qs)),
            dot: |x, y: &BlockQ8_0| signed_dot(x, &y.qs),
        },
    )
}

/// Q8_0 · Q8_0 for `R` weight rows and one activation row, in the order of ggml's AVX2
/// `ggml_vec_dot_q8_0_q8_0` for each row: one 8-lane accumulator, per block
/// `acc = fma(d_w d_a, lanes, acc)` (ggml's sign trick, `maddubs(|w|, sign(a, w))`, so even
/// a weight quant of -128 gives ggml's integers), then `hsum_float_8`. Bit-identical to ggml.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
fn q8_0_rows<const R: usize>(w: [&[BlockQ8_0]; R], a: &[BlockQ8_0]) -> [f32; R] {
    rows_each(
        w,
        a,
        _mm256_setzero_ps(),
        |y: &BlockQ8_0| (f16_lut(y.d), load32(&y.qs)),
        |x: &BlockQ8_0, (da, yq), acc| {
            let p = _mm256_cvtepi32_ps(dot_i8(load32(&x.qs), yq));
            _mm256_fmadd_ps(_mm256_set1_ps(f16_lut(x.d) * da), p, acc)
        },
    )
    .map(|acc| hsum_ps(acc))
}

/// Q8_0 · Q8_0 (ggml's order, see [`q8_0_rows`]).
#[target_feature(enable = "avx2,fma,f16c")]
pub(super) fn vec_dot_q8_0(w: &[BlockQ8_0], a: &[BlockQ8_0]) -> f32 {
    q8_0_rows([w], a)[0]
}

/// `out[r]` = row `r` of `w` (rows of `nb` blocks) · `a`; each row's bits equal
/// [`vec_dot_q8_0`]'s; four rows share each activation block ([`rows_strided`]; four
/// measured as fast as eight).
#[target_feature(enable = "avx2,fma,f16c")]
pub(super) fn matvec_q8_0(w: &[BlockQ8_0], nb: usize, a: &[BlockQ8_0], out: &mut [f32]) {
    rows_strided::<4, _>(w, nb, out, |r| q8_0_rows(r, a));
}

/// Q8_0 · four Q8_0 rows.
#[target_feature(enable = "avx2,fma,f16c")]
pub(super) fn vec_dot_q8_0_x4(w: &[BlockQ8_0], a: [&[BlockQ8_0]; 4]) -> [f32; 4] {
    vec_dot_q8_0_n(w, a)
}

/// Quantize one block of 32: returns (d as f32, the 8 i32 lane vectors before packing).
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
fn q8_block(x: &[f32]) -> (f32, [__m256i; 4]) {
    let v = [
        load_ps(&x[0..8]),
        load_ps(&x[8..16]),
        load_ps(&x[16..24]),
        load_ps(&x[24..32]),
    ];
    let sign = _mm256_set1_ps(-0.0);
    let mut m = _mm256_andnot_ps(sign, v[0]);
    m = _mm256_max_ps(m, _mm256_andnot_ps(sign, v[1]));
    m = _mm256_max_ps(m, _mm256_andnot_ps(sign, v[2]));
    m = _mm256_max_ps(m, _mm256_andnot_ps(sign, v[3]));
    let m4 = _mm_max_ps(_mm256_extractf128_ps(m, 1), _mm256_castps256_ps128(m));
    let m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
    let m4 = _mm_max_ss(m4, _mm_movehdup_ps(m4));
    let amax = _mm_cvtss_f32(m4);
    let d = amax / 127.0;
    let id = _mm256_set1_ps(if amax != 0.0 { 127.0 / amax } else { 0.0 });
    const NEAREST: i32 = _MM_FROUND_TO_NEAREST_INT;
    let q = v.map(|v| _mm256_cvtps_epi32(_mm256_round_ps::<NEAREST>(_mm256_mul_ps(v, id))));
    (d, q)
}

/// Pack 4 × 8 i32 to 32 i8 with signed saturation, in element order.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
fn pack_i8(q: [__m256i; 4]) -> __m256i {
    let a = _mm256_packs_epi32(q[0], q[1]);
    let b = _mm256_packs_epi32(q[2], q[3]);
    let p = _mm256_packs_epi16(a, b);
    _mm256_permutevar8x32_epi32(p, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7))
}

#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
fn store32(dst: &mut [i8; 32], v: __m256i) {
    // SAFETY: 32 writable bytes behind a unique reference; `storeu` has no alignment need.
    unsafe { _mm256_storeu_si256(dst.as_mut_ptr().cast(), v) }
}

/// Q8_0 activation quantizer (ggml x86 AVX2 bytes).
#[target_feature(enable = "avx2,fma,f16c")]
pub(super) fn quantize_q8_0(x: &[f32], out: &mut [BlockQ8_0]) {
    for (xb, y) in x.chunks_exact(32).zip(out.iter_mut()) {
        let (d, q) = q8_block(xb);
        y.d = f32_to_f16(d);
        store32(&mut y.qs, pack_i8(q));
    }
}

/// Q8_1 activation quantizer (ggml x86 AVX2 bytes).
#[target_feature(enable = "avx2,fma,f16c")]
pub(super) fn quantize_q8_1(x: &[f32], out: &mut [BlockQ8_1]) {
    for (xb, y) in x.chunks_exact(32).zip(out.iter_mut()) {
        let (d, q) = q8_block(xb);
        y.d = f32_to_f16(d);
        let s = hsum_epi32(_mm256_add_epi32(
            _mm256_add_epi32(q[0], q[1]),
            _mm256_add_epi32(q[2], q[3]),
        ));
        y.s = f32_to_f16(d * s as f32);
        store32(&mut y.qs, pack_i8(q));
    }
}

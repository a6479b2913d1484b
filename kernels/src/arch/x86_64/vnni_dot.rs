//! AVX-512-VNNI one-token kernels (decode `vec_dot` / `matvec`) for Q4_0, Q4_1, Q5_0 and
//! Q8_0: the AVX2 kernels of `q4.rs`, `q5.rs`, `q8.rs` with their per-block integer lane
//! sums formed by `vpdpbusd` (lane `k` = the exact Σ of the products of elements
//! `4k..4k + 4`, the lane partition of AVX2's `maddubs` + `madd`) and Q5_0's fifth bits
//! applied with a mask register; the f32 part (per-block scale product, FMA into one 8-lane
//! accumulator, `hsum_ps`) and the row grouping are the AVX2 kernels', so each row has the
//! AVX2 back end's bits (tested bit for bit, `tests/avx512.rs`).

use super::blocks32::{rows_each, rows_strided};
use super::util::*;
use crate::block::*;
use core::arch::x86_64::*;

/// `-(2^s · Σ a)` over each four activation quants (the offset term of unsigned quants
/// `u = q + 2^s`: `Σ q a = Σ u a − 2^s Σ a`, per lane).
#[inline]
#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")]
fn neg_offset<const S: i32>(yq: __m256i) -> __m256i {
    let s4 = _mm256_dpbusd_epi32(_mm256_setzero_si256(), _mm256_set1_epi8(1), yq);
    _mm256_sub_epi32(_mm256_setzero_si256(), _mm256_slli_epi32::<S>(s4))
}

/// Q4_0 · Q8_0 for `R` rows: the order of `q4::q4_0_rows` (ggml's `vec_dot_q4_0_q8_0`).
#[inline]
#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")]
fn q4_0_rows<const R: usize>(w: [&[BlockQ4_0]; R], a: &[BlockQ8_0]) -> [f32; R] {
    rows_each(
        w,
        a,
        _mm256_setzero_ps(),
        |y: &BlockQ8_0| {
            let yq = load32(&y.qs);
            (f16_lut(y.d), yq, neg_offset::<3>(yq))
        },
        |x: &BlockQ4_0, (da, yq, c8), acc| {
            let p = _mm256_dpbusd_epi32(c8, nibbles32_fast(&x.qs), yq);
            let p = _mm256_cvtepi32_ps(p);
            _mm256_fmadd_ps(_mm256_set1_ps(f16_lut(x.d) * da), p, acc)
        },
    )
    .map(|acc| hsum_ps(acc))
}

/// Q4_0 · Q8_0 (AVX2 bits).
#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")]
pub(super) fn vec_dot_q4_0(w: &[BlockQ4_0], a: &[BlockQ8_0]) -> f32 {
    q4_0_rows([w], a)[0]
}

/// `out[r]` = row `r` · `a` (rows of `nb` blocks), grouped as `q4::matvec_q4_0`.
#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")]
pub(super) fn matvec_q4_0(w: &[BlockQ4_0], nb: usize, a: &[BlockQ8_0], out: &mut [f32]) {
    rows_strided::<4, _>(w, nb, out, |r| q4_0_rows(r, a));
}

/// Q4_1 · Q8_1 for `R` rows: the order of `q4::q4_1_rows` (ggml's `vec_dot_q4_1_q8_1`).
#[inline]
#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")]
fn q4_1_rows<const R: usize>(w: [&[BlockQ4_1]; R], a: &[BlockQ8_1]) -> [f32; R] {
    let zero = _mm256_setzero_si256();
    rows_each(
        w,
        a,
        (_mm256_setzero_ps(), _mm_setzero_ps()),
        |y: &BlockQ8_1| (f16_lut(y.d), _mm_set_ss(f16_lut(y.s)), load32(&y.qs)),
        |x: &BlockQ4_1, (da, sa, yq), (acc, summs)| {
            let summs = _mm_fmadd_ss(_mm_set_ss(f16_lut(x.m)), sa, summs);
            let p = _mm256_dpbusd_epi32(zero, nibbles32_fast(&x.qs), yq);
            let d = _mm256_set1_ps(f16_lut(x.d) * da);
            (_mm256_fmadd_ps(d, _mm256_cvtepi32_ps(p), acc), summs)
        },
    )
    .map(|(acc, summs)| hsum_ps(acc) + _mm_cvtss_f32(summs))
}

/// Q4_1 · Q8_1 (AVX2 bits).
#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")]
pub(super) fn vec_dot_q4_1(w: &[BlockQ4_1], a: &[BlockQ8_1]) -> f32 {
    q4_1_rows([w], a)[0]
}

/// `out[r]` = row `r` · `a` (rows of `nb` blocks), grouped as `q4::matvec_q4_1`.
#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")]
pub(super) fn matvec_q4_1(w: &[BlockQ4_1], nb: usize, a: &[BlockQ8_1], out: &mut [f32]) {
    rows_strided::<4, _>(w, nb, out, |r| q4_1_rows(r, a));
}

/// Q5_0 · Q8_0 for `R` rows: the order of `q5::q5_0_rows` (ggml's `vec_dot_q5_0_q8_0`);
/// the fifth bits add 16 to their bytes under a mask (`u = q + 16` in 0..32).
#[inline]
#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")]
fn q5_0_rows<const R: usize>(w: [&[BlockQ5_0]; R], a: &[BlockQ8_0]) -> [f32; R] {
    let bit4 = _mm256_set1_epi8(0x10);
    rows_each(
        w,
        a,
        _mm256_setzero_ps(),
        |y: &BlockQ8_0| {
            let yq = load32(&y.qs);
            (f16_lut(y.d), yq, neg_offset::<4>(yq))
        },
        |x: &BlockQ5_0, (da, yq, c16), acc| {
            let n = nibbles32_fast(&x.qs);
            let q = _mm256_mask_add_epi8(n, u32::from_le_bytes(x.qh), n, bit4);
            let p = _mm256_cvtepi32_ps(_mm256_dpbusd_epi32(c16, q, yq));
            _mm256_fmadd_ps(_mm256_set1_ps(f16_lut(x.d) * da), p, acc)
        },
    )
    .map(|acc| hsum_ps(acc))
}

/// Q5_0 · Q8_0 (AVX2 bits).
#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")]
pub(super) fn vec_dot_q5_0(w: &[BlockQ5_0], a: &[BlockQ8_0]) -> f32 {
    q5_0_rows([w], a)[0]
}

/// `out[r]` = row `r` · `a` (rows of `nb` blocks), grouped as `q5::matvec_q5_0`.
#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")]
pub(super) fn matvec_q5_0(w: &[BlockQ5_0], nb: usize, a: &[BlockQ8_0], out: &mut [f32]) {
    rows_strided::<8, _>(w, nb, out, |r| q5_0_rows(r, a));
}

/// Q8_0 · Q8_0 for `R` rows: the order of `q8::q8_0_rows` (ggml's `vec_dot_q8_0_q8_0`);
/// weight quants enter as `q ^ 0x80 = q + 128` (unsigned), `128 Σ a` taken off per lane.
#[inline]
#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")]
fn q8_0_rows<const R: usize>(w: [&[BlockQ8_0]; R], a: &[BlockQ8_0]) -> [f32; R] {
    let flip = _mm256_set1_epi8(-128);
    rows_each(
        w,
        a,
        _mm256_setzero_ps(),
        |y: &BlockQ8_0| {
            let yq = load32(&y.qs);
            (f16_lut(y.d), yq, neg_offset::<7>(yq))
        },
        |x: &BlockQ8_0, (da, yq, c128), acc| {
            let u = _mm256_xor_si256(load32(&x.qs), flip);
            let p = _mm256_cvtepi32_ps(_mm256_dpbusd_epi32(c128, u, yq));
            _mm256_fmadd_ps(_mm256_set1_ps(f16_lut(x.d) * da), p, acc)
        },
    )
    .map(|acc| hsum_ps(acc))
}

/// Q8_0 · Q8_0 (AVX2 bits).
#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")]
pub(super) fn vec_dot_q8_0(w: &[BlockQ8_0], a: &[BlockQ8_0]) -> f32 {
    q8_0_rows([w], a)[0]
}

/// `out[r]` = row `r` · `a` (rows of `nb` blocks), grouped as `q8::matvec_q8_0`.
#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")]
pub(super) fn matvec_q8_0(w: &[BlockQ8_0], nb: usize, a: &[BlockQ8_0], out: &mut [f32]) {
    rows_strided::<4, _>(w, nb, out, |r| q8_0_rows(r, a));
}

//! AVX-512-VNNI one-token kernels (decode `vec_dot` / `matvec`). Q4_0, Q4_1, Q5_0 and
//! Q8_0: the AVX2 kernels of `q4.rs`, `q5.rs`, `q8.rs` with their per-block integer lane
//! sums formed by `vpdpbusd` (lane `k` = the exact Σ of the products of elements
//! `4k..4k + 4`, the lane partition of AVX2's `maddubs` + `madd`) and Q5_0's fifth bits
//! applied with a mask register; the f32 part (per-block scale product, FMA into one 8-lane
//! accumulator, `hsum_ps`) and the row grouping are the AVX2 kernels', so each row has the
//! AVX2 back end's bits (tested bit for bit, `tests/avx512.rs`). Q4_K and Q6_K (decode
//! order and Q4_K's repacked order): the AVX2 kernels of `q4_k.rs` / `q6_k.rs` with each
//! sub-block's `maddubs` sums scaled and accumulated by one `vpdpwssd` (AVX2: `madd` + `add`,
//! the same i32 lanes).

use super::blocks32::{f16x8, prefetch, rows_ahead, rows_by_8_next, rows_each, rows_strided};
use super::kquant::*;
use super::q4_k::{Q4_K_AHEAD, bcast_scale, scales_mins16};
use super::q6_k::{Q6_K_AHEAD, pair_scales_dup};
use super::util::*;
use crate::block::kquant::unpack_k4_scales;
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

/// Q4_K · Q8_K for `R` rows: the order of `q4_k::q4_k_rows` (ggml's `vec_dot_q4_K_q8_K`),
/// each sub-block's `maddubs` sums scaled and accumulated by one `vpdpwssd` (AVX2: `madd`
/// then `add`: the same i32 lanes).
#[inline]
#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")]
fn q4_k_rows<const AHEAD: usize, const R: usize>(w: [&[BlockQ4K]; R], a: &[BlockQ8K]) -> [f32; R] {
    rows_ahead::<AHEAD, R, _, _, _, _>(
        w,
        a,
        (_mm256_setzero_ps(), _mm_setzero_ps()),
        |y: &BlockQ8K| {
            let bs = load32(&y.bsums);
            let q8s = _mm_hadd_epi16(_mm256_castsi256_si128(bs), _mm256_extracti128_si256(bs, 1));
            (y, y.d(), q8s)
        },
        |x: &BlockQ4K, (y, dy, q8s), (acc, acc_m)| {
            let u8s = unpack_k4_scales(&x.scales);
            let (sc, mins) = scales_mins16(&u8s);
            let prod = _mm_madd_epi16(mins, q8s);
            let dmin = -dy * f16_lut(x.dmin);
            let acc_m = _mm_fmadd_ps(_mm_set1_ps(dmin), _mm_cvtepi32_ps(prod), acc_m);
            let mut sumi = _mm256_setzero_si256();
            for c in 0..4 {
                let (lo, hi) = split_nibbles(load32(&x.qs[32 * c..32 * c + 32]));
                let p0 = _mm256_maddubs_epi16(lo, load32(&y.qs[64 * c..64 * c + 32]));
                let p1 = _mm256_maddubs_epi16(hi, load32(&y.qs[64 * c + 32..64 * c + 64]));
                sumi = _mm256_dpwssd_epi32(sumi, p0, bcast_scale(sc, 2 * c));
                sumi = _mm256_dpwssd_epi32(sumi, p1, bcast_scale(sc, 2 * c + 1));
            }
            let d = dy * f16_lut(x.d);
            let acc = _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(sumi), acc);
            (acc, acc_m)
        },
    )
    .map(|(acc, m)| {
        let m = _mm_add_ps(m, _mm_movehl_ps(m, m));
        let m = _mm_add_ss(m, _mm_movehdup_ps(m));
        hsum_ps(acc) + _mm_cvtss_f32(m)
    })
}

/// Q4_K · Q8_K (AVX2 bits).
#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")]
pub(super) fn vec_dot_q4_k(w: &[BlockQ4K], a: &[BlockQ8K]) -> f32 {
    q4_k_rows::<0, 1>([w], a)[0]
}

/// `out[r]` = row `r` · `a`, as `q4_k::matvec_q4_k` (one row at a time, lookahead).
#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")]
pub(super) fn matvec_q4_k(w: &[BlockQ4K], nb: usize, a: &[BlockQ8K], out: &mut [f32]) {
    rows_strided::<1, _>(w, nb, out, |r| q4_k_rows::<Q4_K_AHEAD, 1>(r, a));
}

/// Eight Q4_K rows · one Q8_K row in the order of `q4_k::q4_k_gemv8` (ggml's repacked
/// `ggml_gemv_q4_K_8x8_q8_K`), the scaled sub-block sums accumulated by `vpdpwssd`.
#[inline]
#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")]
fn q4_k_gemv8(w: [&[BlockQ4K]; 8], a: &[BlockQ8K], next: &[u8]) -> [f32; 8] {
    let n = w.iter().fold(a.len(), |m, w| m.min(w.len()));
    let a = &a[..n];
    let w = w.map(|w| &w[..n]);
    let mut acc = _mm256_setzero_ps();
    let mut acc_m = _mm256_setzero_ps();
    let lines = next.len().div_ceil(64);
    let per = lines.div_ceil(n.max(1));
    for i in 0..n {
        for l in i * per..((i + 1) * per).min(lines) {
            prefetch(next.as_ptr().wrapping_add(64 * l));
        }
        let y = &a[i];
        let bs = load32(&y.bsums);
        let q8s = _mm_hadd_epi16(_mm256_castsi256_si128(bs), _mm256_extracti128_si256(bs, 1));
        let row = |r: usize| {
            let x = &w[r][i];
            let u8s = unpack_k4_scales(&x.scales);
            let (sc, mins) = scales_mins16(&u8s);
            let mut s = _mm256_setzero_si256();
            for c in 0..4 {
                let (lo, hi) = split_nibbles(load32(&x.qs[32 * c..32 * c + 32]));
                let y0 = load32(&y.qs[64 * c..64 * c + 32]);
                let y1 = load32(&y.qs[64 * c + 32..64 * c + 64]);
                s = _mm256_dpwssd_epi32(s, _mm256_maddubs_epi16(lo, y0), bcast_scale(sc, 2 * c));
                s = _mm256_dpwssd_epi32(
                    s,
                    _mm256_maddubs_epi16(hi, y1),
                    bcast_scale(sc, 2 * c + 1),
                );
            }
            (s, _mm_madd_epi16(mins, q8s))
        };
        let pair = |r: usize| {
            let (s0, m0) = row(r);
            let (s1, m1) = row(r + 1);
            let m = _mm256_inserti128_si256(_mm256_castsi128_si256(m0), m1, 1);
            (_mm256_hadd_epi32(s0, s1), m)
        };
        let (h01, m01) = pair(0);
        let (h23, m23) = pair(2);
        let q0 = _mm256_hadd_epi32(h01, h23);
        let mh0 = _mm256_hadd_epi32(m01, m23);
        let (h45, m45) = pair(4);
        let (h67, m67) = pair(6);
        let q1 = _mm256_hadd_epi32(h45, h67);
        let mh1 = _mm256_hadd_epi32(m45, m67);
        let isum = _mm256_add_epi32(
            _mm256_permute2x128_si256(q0, q1, 0x20),
            _mm256_permute2x128_si256(q0, q1, 0x31),
        );
        let msum = _mm256_permutevar8x32_epi32(
            _mm256_hadd_epi32(mh0, mh1),
            _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7),
        );
        let dy = _mm256_set1_ps(y.d());
        let dw = f16x8(core::array::from_fn(|r| w[r][i].d));
        let dmw = f16x8(core::array::from_fn(|r| w[r][i].dmin));
        acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum), _mm256_mul_ps(dw, dy), acc);
        acc_m = _mm256_fmadd_ps(_mm256_cvtepi32_ps(msum), _mm256_mul_ps(dmw, dy), acc_m);
    }
    let mut out = [0f32; 8];
    store_ps(&mut out, _mm256_sub_ps(acc, acc_m));
    out
}

/// `out[r]` = row `r` · `a` in the repacked order, as `q4_k::gemv8_q4_k`.
#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")]
pub(super) fn gemv8_q4_k(w: &[BlockQ4K], nb: usize, a: &[BlockQ8K], out: &mut [f32]) {
    rows_by_8_next(w, nb, out, |r, nx| q4_k_gemv8(r, a, nx));
}

/// Q6_K · Q8_K for `R` rows: the order of `q6_k::q6_k_rows` (ggml's `vec_dot_q6_K_q8_K`),
/// each 32-element `maddubs` result scaled and accumulated by one `vpdpwssd`.
#[inline]
#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")]
fn q6_k_rows<const AHEAD: usize, const R: usize>(w: [&[BlockQ6K]; R], a: &[BlockQ8K]) -> [f32; R] {
    let m4 = _mm256_set1_epi8(0x0f);
    let m2 = _mm256_set1_epi8(0x30);
    rows_ahead::<AHEAD, R, _, _, _, _>(
        w,
        a,
        _mm256_setzero_ps(),
        |y: &BlockQ8K| (y, y.d()),
        |x: &BlockQ6K, (y, dy), acc| {
            let sc = load16(&x.scales);
            let sc16 = _mm256_cvtepi8_epi16(sc);
            let corr = scaled_bsums(&y.bsums, sc16);
            let dup = [
                _mm256_unpacklo_epi16(sc16, sc16),
                _mm256_unpackhi_epi16(sc16, sc16),
            ];
            let mut sumi = _mm256_setzero_si256();
            for h in 0..2 {
                let ql0 = load32(&x.ql[64 * h..64 * h + 32]);
                let ql1 = load32(&x.ql[64 * h + 32..64 * h + 64]);
                let qh = load32(&x.qh[32 * h..32 * h + 32]);
                let q = [
                    _mm256_or_si256(
                        _mm256_and_si256(ql0, m4),
                        _mm256_and_si256(_mm256_slli_epi16(qh, 4), m2),
                    ),
                    _mm256_or_si256(
                        _mm256_and_si256(ql1, m4),
                        _mm256_and_si256(_mm256_slli_epi16(qh, 2), m2),
                    ),
                    _mm256_or_si256(
                        _mm256_and_si256(_mm256_srli_epi16(ql0, 4), m4),
                        _mm256_and_si256(qh, m2),
                    ),
                    _mm256_or_si256(
                        _mm256_and_si256(_mm256_srli_epi16(ql1, 4), m4),
                        _mm256_and_si256(_mm256_srli_epi16(qh, 2), m2),
                    ),
                ];
                for (k, &qk) in q.iter().enumerate() {
                    let o = 128 * h + 32 * k;
                    let p = _mm256_maddubs_epi16(qk, load32(&y.qs[o..o + 32]));
                    sumi = _mm256_dpwssd_epi32(sumi, p, pair_scales_dup(dup, 4 * h + k));
                }
            }
            let s = _mm256_sub_epi32(sumi, _mm256_slli_epi32(corr, 5));
            _mm256_fmadd_ps(
                _mm256_set1_ps(dy * f16_lut(x.d)),
                _mm256_cvtepi32_ps(s),
                acc,
            )
        },
    )
    .map(|acc| hsum_ps(acc))
}

/// Q6_K · Q8_K (AVX2 bits).
#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")]
pub(super) fn vec_dot_q6_k(w: &[BlockQ6K], a: &[BlockQ8K]) -> f32 {
    q6_k_rows::<0, 1>([w], a)[0]
}

/// `out[r]` = row `r` · `a`, as `q6_k::matvec_q6_k` (one row at a time, lookahead).
#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")]
pub(super) fn matvec_q6_k(w: &[BlockQ6K], nb: usize, a: &[BlockQ8K], out: &mut [f32]) {
    rows_strided::<1, _>(w, nb, out, |r| q6_k_rows::<Q6_K_AHEAD, 1>(r, a));
}

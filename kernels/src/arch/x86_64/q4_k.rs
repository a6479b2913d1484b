//! AVX2 Q4_K · Q8_K (Q5_K, the same layout plus a fifth bit, is in `q5_k.rs`).
//!
//! Per super-block: the 6-bit scales and mins unpack with word operations; the min term is
//! one `madd` of the activation group sums (`bsums`) with the mins; each 64-element chunk
//! loads 32 bytes of nibbles, splits them into two sub-blocks of 32 unsigned quants, and
//! `maddubs` + `madd` by the sub-block scale accumulate exact i32 sums.

use super::blocks32::{f16x8, prefetch, rows_ahead, rows_by_8_next, rows_strided};
use super::kquant::*;
use super::q4::trim;
use super::util::*;
use crate::block::kquant::unpack_k4_scales;
use crate::block::*;
use core::arch::x86_64::*;

/// Q4_K · Q8_K for `N` activation rows; the nibbles are split once per 64-element chunk.
/// Per super-block: `acc += d_w d_a · sumi`, then `acc -= dmin_w d_a · Σ m bsum`.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
fn vec_dot_q4_k_n<const N: usize>(w: &[BlockQ4K], a: [&[BlockQ8K]; N]) -> [f32; N] {
    let (w, a) = trim(w, a);
    let n = w.len();
    let mut acc = [_mm256_setzero_ps(); N];
    for i in 0..n {
        let x = &w[i];
        let u8s = unpack_k4_scales(&x.scales);
        let u = load16(&u8s);
        let mut sumi = [_mm256_setzero_si256(); N];
        for c in 0..4 {
            let (lo, hi) = split_nibbles(load32(&x.qs[32 * c..32 * c + 32]));
            let s0 = _mm256_set1_epi16(u8s[2 * c] as i16);
            let s1 = _mm256_set1_epi16(u8s[2 * c + 1] as i16);
            for j in 0..N {
                let y = &a[j][i];
                let p0 = _mm256_maddubs_epi16(lo, load32(&y.qs[64 * c..64 * c + 32]));
                let p1 = _mm256_maddubs_epi16(hi, load32(&y.qs[64 * c + 32..64 * c + 64]));
                let p = _mm256_add_epi32(_mm256_madd_epi16(p0, s0), _mm256_madd_epi16(p1, s1));
                sumi[j] = _mm256_add_epi32(sumi[j], p);
            }
        }
        let (dx, dmx) = (f16(x.d), f16(x.dmin));
        for j in 0..N {
            let y = &a[j][i];
            let dy = y.d();
            let m = _mm256_cvtepi32_ps(min_term(u, y));
            acc[j] = _mm256_fmadd_ps(_mm256_set1_ps(dx * dy), _mm256_cvtepi32_ps(sumi[j]), acc[j]);
            acc[j] = _mm256_fnmadd_ps(_mm256_set1_ps(dmx * dy), m, acc[j]);
        }
    }
    core::array::from_fn(|j| hsum_ps(acc[j]))
}

/// The 8 sub-block scales as duplicated i16 pairs (dwords `(s_k, s_k)`, `k` = 0..4 in the
/// low half, 4..8 in the high half: ready for [`bcast_scale`]) and the 8 mins as i16, from
/// the unpacked scale bytes (`unpack_k4_scales`).
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
pub(super) fn scales_mins16(u8s: &[u8; 16]) -> (__m256i, __m128i) {
    let u = load16(u8s);
    let sc = _mm_cvtepu8_epi16(u);
    let dup = _mm256_inserti128_si256(
        _mm256_castsi128_si256(_mm_unpacklo_epi16(sc, sc)),
        _mm_unpackhi_epi16(sc, sc),
        1,
    );
    (dup, _mm_cvtepu8_epi16(_mm_srli_si128(u, 8)))
}

/// Scale `k` in all 16 i16 lanes (one dword permute instead of a scalar move + broadcast).
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
pub(super) fn bcast_scale(dup: __m256i, k: usize) -> __m256i {
    _mm256_permutevar8x32_epi32(dup, _mm256_set1_epi32(k as i32))
}

/// Q4_K · Q8_K for `R` weight rows and one activation row, in the order of ggml's AVX2
/// `ggml_vec_dot_q4_K_q8_K` for each row. Per super-block: the scale term
/// `acc = fma(d_a d_w, sumi, acc)` on 8 lanes (the lane sums of `maddubs` + `madd` by the
/// sub-block scales); the min term on 4 lanes, `acc_m = fma(-d_a dmin_w, Σ m (bsum pairs),
/// acc_m)`, with the 16 group sums added in pairs (`hadd`) and weighted by the 8 mins with
/// one `madd`. Result: `hsum_float_8(acc) + (acc_m[0] + acc_m[2]) + (acc_m[1] + acc_m[3])`.
/// Bit-identical to ggml (oracle test `vec_dot`). `AHEAD`: super-blocks to prefetch ahead
/// ([`rows_ahead`]; 0 for none).
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
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
                let s0 = bcast_scale(sc, 2 * c);
                let s1 = bcast_scale(sc, 2 * c + 1);
                let p0 = _mm256_maddubs_epi16(lo, load32(&y.qs[64 * c..64 * c + 32]));
                let p1 = _mm256_maddubs_epi16(hi, load32(&y.qs[64 * c + 32..64 * c + 64]));
                let p = _mm256_add_epi32(_mm256_madd_epi16(p0, s0), _mm256_madd_epi16(p1, s1));
                sumi = _mm256_add_epi32(sumi, p);
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

/// Q4_K · Q8_K (ggml's `vec_dot` order, see [`q4_k_rows`]).
#[target_feature(enable = "avx2,fma,f16c")]
pub(super) fn vec_dot_q4_k(w: &[BlockQ4K], a: &[BlockQ8K]) -> f32 {
    q4_k_rows::<0, 1>([w], a)[0]
}

/// `out[r]` = row `r` of `w` (rows of `nb` super-blocks) · `a`, one row at a time with
/// [`Q4_K_AHEAD`] super-blocks prefetched ahead; each row's bits equal [`vec_dot_q4_k`]'s.
#[target_feature(enable = "avx2,fma,f16c")]
pub(super) fn matvec_q4_k(w: &[BlockQ4K], nb: usize, a: &[BlockQ8K], out: &mut [f32]) {
    rows_strided::<1, _>(w, nb, out, |r| q4_k_rows::<Q4_K_AHEAD, 1>(r, a));
}

/// Super-blocks [`matvec_q4_k`] prefetches ahead in its row (8 × 144 bytes). One row at a
/// time measured 1.08× ggml's `vec_dot` on 896x4864 (matvec_vs_ggml, min of 300 calls,
/// three runs), two rows side by side 0.97–1.01×: as for Q6_K ([`super::q6_k`]), rows of
/// whole super-blocks are long, and one stream with a software lookahead feeds the kernel
/// better than two short ones.
pub(super) const Q4_K_AHEAD: usize = 8;

/// Q4_K · four Q8_K rows.
#[target_feature(enable = "avx2,fma,f16c")]
pub(super) fn vec_dot_q4_k_x4(w: &[BlockQ4K], a: [&[BlockQ8K]; 4]) -> [f32; 4] {
    vec_dot_q4_k_n(w, a)
}
/// Eight Q4_K rows · one Q8_K row in the order of ggml's AVX2 `ggml_gemv_q4_K_8x8_q8_K`
/// (what llama.cpp runs for one token on Q4_K weights it repacked to 8 interleaved rows),
/// computed from the plain layout. Per row `r` and super-block: the exact integers
/// `I = Σ_s scale_s Σ q a` and `M = Σ_s min_s Σ a` (whole super-block, one integer each);
/// then `acc_r = fma(I, d_r d_a, acc_r)`, `acc_m_r = fma(M, dmin_r d_a, acc_m_r)`, and the
/// result `acc_r - acc_m_r`. Lane `r` of every vector is row `r`, as in ggml.
/// `next`: the next group's bytes, prefetched meanwhile. This kernel is kept on consecutive
/// groups with that prefetch ([`rows_by_8_next`]): on [`rows_strided`] groups, with or without
/// a per-row lookahead, it measured 5–15% slower.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
fn q4_k_gemv8(w: [&[BlockQ4K]; 8], a: &[BlockQ8K], next: &[u8]) -> [f32; 8] {
    let n = w.iter().fold(a.len(), |m, w| m.min(w.len()));
    let a = &a[..n];
    let w = w.map(|w| &w[..n]);
    let mut acc = _mm256_setzero_ps();
    let mut acc_m = _mm256_setzero_ps();
    // the next group of rows, prefetched evenly over the super-blocks
    let lines = next.len().div_ceil(64);
    let per = lines.div_ceil(n.max(1));
    for i in 0..n {
        for l in i * per..((i + 1) * per).min(lines) {
            prefetch(next.as_ptr().wrapping_add(64 * l));
        }
        let y = &a[i];
        let bs = load32(&y.bsums);
        let q8s = _mm_hadd_epi16(_mm256_castsi256_si128(bs), _mm256_extracti128_si256(bs, 1));
        // row r's 8 lane sums of `scale × Σ q a` and 4 lane sums of `min × Σ a`
        let row = |r: usize| {
            let x = &w[r][i];
            let u8s = unpack_k4_scales(&x.scales);
            let (sc, mins) = scales_mins16(&u8s);
            let mut s = _mm256_setzero_si256();
            for c in 0..4 {
                let (lo, hi) = split_nibbles(load32(&x.qs[32 * c..32 * c + 32]));
                let y0 = load32(&y.qs[64 * c..64 * c + 32]);
                let y1 = load32(&y.qs[64 * c + 32..64 * c + 64]);
                let p0 = _mm256_madd_epi16(_mm256_maddubs_epi16(lo, y0), bcast_scale(sc, 2 * c));
                let p1 =
                    _mm256_madd_epi16(_mm256_maddubs_epi16(hi, y1), bcast_scale(sc, 2 * c + 1));
                s = _mm256_add_epi32(s, _mm256_add_epi32(p0, p1));
            }
            (s, _mm_madd_epi16(mins, q8s))
        };
        // two rows at a time, reduced as they come (few live registers): per 128-bit half,
        // `hadd` pairs rows' lanes (layout as in `hsum8_epi16`, on i32)
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

/// `out[r]` = row `r` of `w` (rows of `nb` super-blocks) · `a` in the order of ggml's
/// repacked `ggml_gemv_q4_K_8x8_q8_K` (see [`q4_k_gemv8`]); eight rows per pass, a last
/// partial group padded with copies of its last row (each row's bits do not depend on the
/// others).
#[target_feature(enable = "avx2,fma,f16c")]
pub(super) fn gemv8_q4_k(w: &[BlockQ4K], nb: usize, a: &[BlockQ8K], out: &mut [f32]) {
    rows_by_8_next(w, nb, out, |r, nx| q4_k_gemv8(r, a, nx));
}

//! Helpers shared by the AVX2 k-quant kernels.

use super::util::*;
use crate::block::BlockQ8K;
use core::arch::x86_64::*;

/// Shuffle masks that spread group scales `2p` and `2p + 1` of a 16-byte vector over
/// bytes 0..8 and 8..16, matching the i16 lanes `maddubs` produces for 32 elements
/// (lanes 0..8 = elements 0..16 = group `2p`, lanes 8..16 = group `2p + 1`).
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
pub(super) fn pair_shuffle(p: usize) -> __m128i {
    let a = (2 * p) as u8;
    let b = a + 1;
    let lo = u64::from_le_bytes([a; 8]);
    let hi = u64::from_le_bytes([b; 8]);
    _mm_set_epi64x(hi as i64, lo as i64)
}

/// Group scales `2p`, `2p + 1` (signed bytes in `s`) widened to the 16 i16 lanes of a
/// `maddubs` result.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
pub(super) fn pair_scales_i8(s: __m128i, p: usize) -> __m256i {
    _mm256_cvtepi8_epi16(_mm_shuffle_epi8(s, pair_shuffle(p)))
}

/// `Σ_g scale_g * bsum_g` over the 16 groups, as 8 i32 lanes; `scales16` holds 16 i16.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
pub(super) fn scaled_bsums(bsums: &[[u8; 2]; 16], scales16: __m256i) -> __m256i {
    _mm256_madd_epi16(load32(bsums), scales16)
}

/// Low nibbles / high nibbles of 32 bytes.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
pub(super) fn split_nibbles(q: __m256i) -> (__m256i, __m256i) {
    let m = _mm256_set1_epi8(0x0f);
    (
        _mm256_and_si256(q, m),
        _mm256_and_si256(_mm256_srli_epi16(q, 4), m),
    )
}

/// `v >> s` on 16-bit lanes for `s` in 0..8, with immediate-count shifts (the loops that
/// call it are unrolled, so `s` is a constant and the `match` disappears).
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
pub(super) fn srli16(v: __m256i, s: i32) -> __m256i {
    match s {
        0 => v,
        1 => _mm256_srli_epi16(v, 1),
        2 => _mm256_srli_epi16(v, 2),
        3 => _mm256_srli_epi16(v, 3),
        4 => _mm256_srli_epi16(v, 4),
        5 => _mm256_srli_epi16(v, 5),
        6 => _mm256_srli_epi16(v, 6),
        _ => _mm256_srli_epi16(v, 7),
    }
}

/// Min term `Σ_s m_s Σ_{group in s} bsum` (8 i32 lanes) for the mins in bytes 8..16 of `u`.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
pub(super) fn min_term(u: __m128i, y: &BlockQ8K) -> __m256i {
    // [m0, m0, m1, m1, …, m7, m7] as i16: each min against its two bsum groups.
    let mins = _mm256_cvtepu8_epi16(_mm_unpackhi_epi8(u, u));
    scaled_bsums(&y.bsums, mins)
}

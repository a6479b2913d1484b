//! Small AVX2 building blocks shared by the kernels of this folder. Every function here is
//! `#[target_feature(enable = "avx2,fma,f16c")]` and `#[inline]`, so it is inlined into the
//! kernels (which carry the same features) and is only callable from them.

use core::arch::x86_64::*;

/// Load 32 bytes (no alignment needed).
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
pub(super) fn load32<T: bytemuck::Pod>(p: &[T]) -> __m256i {
    let b: &[u8] = bytemuck::cast_slice(p);
    assert!(b.len() >= 32);
    // SAFETY: `b` has at least 32 readable bytes (checked above, optimized out for the
    // fixed-size arrays the kernels pass); `loadu` has no alignment requirement.
    unsafe { _mm256_loadu_si256(b.as_ptr().cast()) }
}

/// Load 16 bytes (no alignment needed).
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
pub(super) fn load16<T: bytemuck::Pod>(p: &[T]) -> __m128i {
    let b: &[u8] = bytemuck::cast_slice(p);
    assert!(b.len() >= 16);
    // SAFETY: `b` has at least 16 readable bytes; `loadu` has no alignment requirement.
    unsafe { _mm_loadu_si128(b.as_ptr().cast()) }
}

/// Load 8 f32 (no alignment needed).
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
pub(super) fn load_ps(p: &[f32]) -> __m256 {
    assert!(p.len() >= 8);
    // SAFETY: 8 readable floats; `loadu` has no alignment requirement.
    unsafe { _mm256_loadu_ps(p.as_ptr()) }
}

/// Store 8 f32 (no alignment needed).
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
pub(super) fn store_ps(p: &mut [f32], v: __m256) {
    assert!(p.len() >= 8);
    // SAFETY: 8 writable floats behind a unique reference; `storeu` has no alignment need.
    unsafe { _mm256_storeu_ps(p.as_mut_ptr(), v) }
}

/// Horizontal sum of 8 f32 lanes.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
pub(super) fn hsum_ps(v: __m256) -> f32 {
    let s = _mm_add_ps(_mm256_extractf128_ps(v, 1), _mm256_castps256_ps128(v));
    let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    let s = _mm_add_ss(s, _mm_movehdup_ps(s));
    _mm_cvtss_f32(s)
}

/// Horizontal sum of 8 i32 lanes (wrapping).
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
pub(super) fn hsum_epi32(v: __m256i) -> i32 {
    let s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    let s = _mm_add_epi32(s, _mm_unpackhi_epi64(s, s));
    let s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0b10_11_00_01));
    _mm_cvtsi128_si32(s)
}

/// One f16 as f32.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
pub(super) fn f16(b: [u8; 2]) -> f32 {
    _mm_cvtss_f32(_mm_cvtph_ps(
        _mm_cvtsi32_si128(u16::from_le_bytes(b) as i32),
    ))
}

/// One f16 as f32 in lane 0 of a vector.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
pub(super) fn f16_ss(b: [u8; 2]) -> __m128 {
    _mm_cvtph_ps(_mm_cvtsi32_si128(u16::from_le_bytes(b) as i32))
}

/// The four f16 values of `bits` (little-endian, lowest first) as f32 lanes 0..4.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
pub(super) fn f16x4(bits: u64) -> __m128 {
    _mm_cvtph_ps(_mm_cvtsi64_si128(bits as i64))
}

/// `x[0] * y[0]` for two f16 scales, as a broadcast f32 vector.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
pub(super) fn f16_mul_bcast(x: [u8; 2], y: [u8; 2]) -> __m256 {
    let bits = u16::from_le_bytes(x) as u64 | ((u16::from_le_bytes(y) as u64) << 16);
    let v = f16x4(bits);
    _mm256_broadcastss_ps(_mm_mul_ss(v, _mm_movehdup_ps(v)))
}

/// Σ of products of 32 signed bytes, as 8 i32 partial sums (pairs of 4 products).
/// Exact while no pair of products exceeds i16 (|x| ≤ 127 or |y| ≤ 127 with the other ≤ 128).
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
pub(super) fn dot_i8(x: __m256i, y: __m256i) -> __m256i {
    let ax = _mm256_sign_epi8(x, x);
    let sy = _mm256_sign_epi8(y, x);
    _mm256_madd_epi16(_mm256_maddubs_epi16(ax, sy), _mm256_set1_epi16(1))
}

/// 16 bytes of nibbles → 32 bytes: low nibbles in bytes 0..16, high nibbles in 16..32
/// (the element order of Q4_0/Q4_1/Q5_x/IQ4_NL blocks).
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
pub(super) fn nibbles32(qs: &[u8; 16]) -> __m256i {
    let t = load16(qs);
    let b = _mm256_inserti128_si256(_mm256_castsi128_si256(t), _mm_srli_epi16(t, 4), 1);
    _mm256_and_si256(b, _mm256_set1_epi8(0x0f))
}

/// Spread the 32 bits of `bits` to 32 bytes: byte `j` is 0xFF if bit `j` is set, else 0.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
pub(super) fn bits_to_bytes(bits: u32) -> __m256i {
    let v = _mm256_set1_epi32(bits as i32);
    // byte j takes source byte j / 8
    let idx = _mm256_setr_epi64x(
        0,
        0x0101_0101_0101_0101,
        0x0202_0202_0202_0202,
        0x0303_0303_0303_0303,
    );
    let v = _mm256_shuffle_epi8(v, idx);
    let mask = _mm256_set1_epi64x(0x8040_2010_0804_0201u64 as i64);
    _mm256_cmpeq_epi8(_mm256_and_si256(v, mask), mask)
}

/// Σ of products of 32 unsigned bytes `u` (≤ 127 for exactness) with signed bytes `y`, as
/// 8 i32 partial sums.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
pub(super) fn dot_u8(u: __m256i, y: __m256i) -> __m256i {
    _mm256_madd_epi16(_mm256_maddubs_epi16(u, y), _mm256_set1_epi16(1))
}

/// As [`nibbles32`], with fewer shuffle-port µops: the 16 bytes are loaded into both halves
/// at once (`vbroadcasti128`, a plain load) and the upper half shifted by 4 with a
/// per-lane shift, instead of a shift plus a cross-lane insert.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
pub(super) fn nibbles32_fast(qs: &[u8; 16]) -> __m256i {
    let b = _mm256_broadcastsi128_si256(load16(qs));
    let b = _mm256_srlv_epi64(b, _mm256_setr_epi64x(0, 0, 4, 4));
    _mm256_and_si256(b, _mm256_set1_epi8(0x0f))
}

/// f16 bits → f32, exact (normals, subnormals, ±0, ±inf; NaN keeps its payload, quieted).
const fn f16_bits_to_f32(h: u16) -> f32 {
    let sign = ((h as u32) & 0x8000) << 16;
    let exp = ((h >> 10) & 0x1f) as u32;
    let man = (h & 0x3ff) as u32;
    let bits = if exp == 0 {
        if man == 0 {
            sign
        } else {
            // subnormal: shift the mantissa up to the implicit bit
            let mut e = 0;
            let mut m = man;
            while m & 0x400 == 0 {
                m <<= 1;
                e += 1;
            }
            sign | ((113 - e) << 23) | ((m & 0x3ff) << 13)
        }
    } else if exp == 31 {
        sign | 0x7f80_0000 | (man << 13) | if man != 0 { 0x0040_0000 } else { 0 }
    } else {
        sign | ((exp + 112) << 23) | (man << 13)
    };
    f32::from_bits(bits)
}

/// Every f16 as f32 (256 KiB, x86-64 builds only), as ggml's `ggml_table_f32_f16`: one load
/// per scale instead of a `vcvtph2ps` (whose µops compete with the integer dot products).
static F16_F32: [f32; 65536] = {
    let mut t = [0f32; 65536];
    let mut i = 0;
    while i < 65536 {
        t[i] = f16_bits_to_f32(i as u16);
        i += 1;
    }
    t
};

/// One f16 as f32 by table lookup (the same value as [`f16()`]).
#[inline(always)]
pub(super) fn f16_lut(b: [u8; 2]) -> f32 {
    F16_F32[u16::from_le_bytes(b) as usize]
}

/// Lane `r` of the result = the sum of the 16 i16 lanes of `v[r]` (wrapping i16 adds, exact
/// when every partial sum fits), for 8 vectors.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
pub(super) fn hsum8_epi16(v: [__m256i; 8]) -> __m128i {
    let h01 = _mm256_hadd_epi16(v[0], v[1]);
    let h23 = _mm256_hadd_epi16(v[2], v[3]);
    let h45 = _mm256_hadd_epi16(v[4], v[5]);
    let h67 = _mm256_hadd_epi16(v[6], v[7]);
    let q0 = _mm256_hadd_epi16(h01, h23);
    let q1 = _mm256_hadd_epi16(h45, h67);
    // per 128-bit half: [v0 … v7] sums of that half's 8 lanes
    let o = _mm256_hadd_epi16(q0, q1);
    _mm_add_epi16(_mm256_castsi256_si128(o), _mm256_extracti128_si256(o, 1))
}

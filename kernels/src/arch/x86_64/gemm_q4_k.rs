//! AVX2 prefill kernel for Q4_K weights × Q8_K activations, in the f32 order of llama.cpp's
//! repacked Q4_K path on x86 (`ggml_gemm_q4_K_8x8_q8_K` / `ggml_gemv_q4_K_8x8_q8_K`,
//! ggml-cpu/arch/x86/repack.cpp). llama.cpp puts a Q4_K tensor whose row count is a multiple
//! of 8 in its repack buffer on AVX2 CPUs (ggml-cpu/repack.cpp); a batch then goes, per
//! group of four tokens, through the 8×8 gemm and, for the `n_tok % 4` last tokens, through
//! the gemv.
//!
//! Numerics, per output (row, token), with `isum` / `imin` exact integers:
//! - gemm (tokens in whole groups of four): for each super-block and each 64-element pair
//!   of sub-blocks `(2p, 2p + 1)`: `acc = fma(isum_p, d_w · d_a, acc)` with
//!   `isum_p = sc_2p · dot_2p + sc_2p+1 · dot_2p+1`, and `accm = fma(imin_p, dmin_w · d_a, accm)`
//!   with `imin_p = m_2p · Σa_2p + m_2p+1 · Σa_2p+1` (Σa from the Q8_K `bsums`);
//! - gemv (the other tokens): the same with one `fma` per super-block (`isum`, `imin` over
//!   its eight sub-blocks);
//! - the result is `acc - accm`.
//!
//! ggml gets eight rows per vector lane from its interleaved weight copy. Here a tile of
//! eight rows is decoded once into a stack scratch in that lane-per-row layout (nibbles as
//! bytes, four consecutive elements of row `r` in lane `r`), so each broadcast of four
//! activation bytes feeds eight rows, and the decode is amortized over every token. The
//! mapped weights are read as they are: no repacked copy is kept.

use super::gemm_tile::{ROWS, tile_gemm};
use super::util::*;
use crate::block::kquant::scales_mins_k4;
use crate::block::*;
use core::arch::x86_64::*;
use core::ops::Range;

/// Most super-blocks per row the scratch holds (20480 columns); longer rows return `false`.
pub(super) const MAX_NB: usize = 80;

/// One super-block of eight rows, lane-per-row.
#[derive(Clone, Copy)]
#[repr(C, align(32))]
pub(super) struct Sb {
    /// `q[v]`: elements `4v..4v + 4` of rows 0..8 (row `r` in bytes `4r..4r + 4`).
    pub(super) q: [[u8; 32]; 64],
    /// Sub-block `j`'s scale of row `r` in both i16 of lane `r`.
    pub(super) sc: [[i16; 16]; 8],
    /// Pair `p`: (`m_2p`, `m_2p+1`) of row `r` in lane `r`.
    pub(super) mn: [[i16; 16]; 4],
    /// `d` and `dmin` of the eight rows.
    pub(super) d: [f32; ROWS],
    pub(super) dmin: [f32; ROWS],
}

pub(super) const SB_ZERO: Sb = Sb {
    q: [[0; 32]; 64],
    sc: [[0; 16]; 8],
    mn: [[0; 16]; 4],
    d: [0.0; ROWS],
    dmin: [0.0; ROWS],
};

#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
pub(super) fn load_i16x16(p: &[i16; 16]) -> __m256i {
    load32(p)
}

#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
pub(super) fn load_f32x8(p: &[f32; 8]) -> __m256 {
    load_ps(p)
}

/// Four activation bytes `qs[i..i + 4]` in every lane.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
pub(super) fn bcast4(qs: &[i8; QK_K], i: usize) -> __m256i {
    let b = &qs[i..i + 4];
    _mm256_set1_epi32(i32::from_le_bytes([
        b[0] as u8, b[1] as u8, b[2] as u8, b[3] as u8,
    ]))
}

/// Sums of the activation sub-blocks `2p` and `2p + 1` (32 quants each) as an i16 pair in
/// every lane.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
pub(super) fn bsum_pair(y: &BlockQ8K, p: usize) -> __m256i {
    let s = |g: usize| i16::from_le_bytes(y.bsums[g]);
    let a = s(4 * p).wrapping_add(s(4 * p + 1)) as u16 as u32;
    let b = s(4 * p + 2).wrapping_add(s(4 * p + 3)) as u16 as u32;
    _mm256_set1_epi32((a | b << 16) as i32)
}

/// Decode super-block `x` of tile row `r` into `s`.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
pub(super) fn decode(s: &mut Sb, r: usize, x: &BlockQ4K) {
    let (sc, m) = scales_mins_k4(&x.scales);
    for j in 0..8 {
        s.sc[j][2 * r] = sc[j] as i16;
        s.sc[j][2 * r + 1] = sc[j] as i16;
    }
    for p in 0..4 {
        s.mn[p][2 * r] = m[2 * p] as i16;
        s.mn[p][2 * r + 1] = m[2 * p + 1] as i16;
    }
    s.d[r] = f16(x.d);
    s.dmin[r] = f16(x.dmin);
    // elements 64c..64c+32 are the low nibbles of qs[32c..32c+32], 64c+32.. the high ones
    for c in 0..4 {
        let qs = &x.qs[32 * c..32 * c + 32];
        for k in 0..8 {
            let lo: [u8; 4] = core::array::from_fn(|e| qs[4 * k + e] & 15);
            let hi: [u8; 4] = core::array::from_fn(|e| qs[4 * k + e] >> 4);
            s.q[16 * c + k][4 * r..4 * r + 4].copy_from_slice(&lo);
            s.q[16 * c + 8 + k][4 * r..4 * r + 4].copy_from_slice(&hi);
        }
    }
}

/// The eight rows of a decoded tile against `T` tokens; `PER_PAIR`: gemm order (one `fma`
/// per sub-block pair), else gemv order (one per super-block). Returns `acc - accm` per token.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
fn tile_dot<const T: usize, const PER_PAIR: bool>(tile: &[Sb], a: [&[BlockQ8K]; T]) -> [__m256; T] {
    let nb = tile.len();
    let a = a.map(|a| &a[..nb]);
    // min part: an independent chain per token
    let mut accm = [_mm256_setzero_ps(); T];
    for (b, s) in tile.iter().enumerate() {
        let dm = load_f32x8(&s.dmin);
        for t in 0..T {
            let y = &a[t][b];
            let dd = _mm256_mul_ps(dm, _mm256_set1_ps(f32::from_le_bytes(y.d)));
            let mut isb = _mm256_setzero_si256();
            for p in 0..4 {
                let im = _mm256_madd_epi16(load_i16x16(&s.mn[p]), bsum_pair(y, p));
                if PER_PAIR {
                    accm[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(im), dd, accm[t]);
                } else {
                    isb = _mm256_add_epi32(isb, im);
                }
            }
            if !PER_PAIR {
                accm[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isb), dd, accm[t]);
            }
        }
    }
    let mut acc = [_mm256_setzero_ps(); T];
    for (b, s) in tile.iter().enumerate() {
        let dw = load_f32x8(&s.d);
        let dd: [__m256; T] = core::array::from_fn(|t| {
            _mm256_mul_ps(dw, _mm256_set1_ps(f32::from_le_bytes(a[t][b].d)))
        });
        let mut isb = [_mm256_setzero_si256(); T];
        for p in 0..4 {
            let mut isum = [_mm256_setzero_si256(); T];
            for h in 0..2 {
                let j = 2 * p + h;
                let mut a16 = [_mm256_setzero_si256(); T];
                for k in 0..8 {
                    let w = load32(&s.q[8 * j + k]);
                    for t in 0..T {
                        let y = bcast4(&a[t][b].qs, 32 * j + 4 * k);
                        a16[t] = _mm256_add_epi16(a16[t], _mm256_maddubs_epi16(w, y));
                    }
                }
                let sc = load_i16x16(&s.sc[j]);
                for t in 0..T {
                    isum[t] = _mm256_add_epi32(isum[t], _mm256_madd_epi16(a16[t], sc));
                }
            }
            for t in 0..T {
                if PER_PAIR {
                    acc[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum[t]), dd[t], acc[t]);
                } else {
                    isb[t] = _mm256_add_epi32(isb[t], isum[t]);
                }
            }
        }
        if !PER_PAIR {
            for t in 0..T {
                acc[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isb[t]), dd[t], acc[t]);
            }
        }
    }
    core::array::from_fn(|t| _mm256_sub_ps(acc[t], accm[t]))
}

/// `out[t * out_stride + (r - rows.start)] = row r · token t` for `r` in `rows`, `t < n_tok`,
/// in llama.cpp's repacked order (see the module docs). `w`: rows of `nb` super-blocks;
/// `acts`: `n_tok` rows of `nb` Q8_K blocks. Returns `false` (nothing written) if
/// `nb > MAX_NB`.
#[target_feature(enable = "avx2,fma,f16c")]
#[allow(clippy::too_many_arguments)]
pub(super) fn gemm_q4_k(
    w: &[BlockQ4K],
    nb: usize,
    rows: Range<usize>,
    acts: &[BlockQ8K],
    n_tok: usize,
    out: &mut [f32],
    out_stride: usize,
) -> bool {
    if nb > MAX_NB {
        return false;
    }
    let mut scratch = [SB_ZERO; MAX_NB];
    tile_gemm(
        w,
        nb,
        rows,
        acts,
        n_tok,
        out,
        out_stride,
        &mut scratch,
        |s, i, x| decode(s, i, x),
        |t, a| tile_dot::<4, true>(t, a),
        |t, a| tile_dot::<1, false>(t, [a])[0],
    );
    true
}

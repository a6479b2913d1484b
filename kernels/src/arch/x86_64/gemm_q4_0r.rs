//! AVX2 prefill kernel for Q4_0 weights × Q8_0 activations in the f32 order of llama.cpp's
//! repacked Q4_0 path on x86 (`ggml_gemm_q4_0_8x8_q8_0` / `ggml_gemv_q4_0_8x8_q8_0`,
//! ggml-cpu/arch/x86/repack.cpp), which llama.cpp uses for every Q4_0 tensor whose row count
//! is a multiple of 8 on AVX2 CPUs (ggml-cpu/repack.cpp).
//!
//! Numerics, per output (row, token), for gemm and gemv alike: a scalar chain over the blocks,
//! `acc = fma(isum_b, d_w · d_a, acc)` with `isum_b` the exact integer dot product of block
//! `b` (eight rows sit in the eight lanes, so there is no horizontal sum).
//!
//! As for Q4_K (`gemm_q4_k.rs`), a tile of eight rows is decoded once into a lane-per-row
//! stack scratch (nibbles 0..16 as bytes); `isum = Σ n·a − 8·Σa`.

use super::gemm_tile::{ROWS, tile_gemm};
use super::util::*;
use crate::block::*;
use core::arch::x86_64::*;
use core::ops::Range;

/// Most blocks per row the scratch holds (20480 columns); longer rows return `false`.
pub(super) const MAX_NB: usize = 640;

/// One block of eight rows, lane-per-row.
#[derive(Clone, Copy)]
#[repr(C, align(32))]
pub(super) struct Blk {
    /// `q[v]`: nibbles of elements `4v..4v + 4` of rows 0..8 (row `r` in bytes `4r..4r + 4`).
    pub(super) q: [[u8; 32]; 8],
    /// Scales of the eight rows.
    pub(super) d: [f32; ROWS],
}

pub(super) const BLK_ZERO: Blk = Blk {
    q: [[0; 32]; 8],
    d: [0.0; ROWS],
};

/// Decode block `x` of tile row `r` into `s`.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
pub(super) fn decode(s: &mut Blk, r: usize, x: &BlockQ4_0) {
    s.d[r] = f16(x.d);
    // elements 0..16 are the low nibbles, 16..32 the high ones
    for k in 0..4 {
        let lo: [u8; 4] = core::array::from_fn(|e| x.qs[4 * k + e] & 15);
        let hi: [u8; 4] = core::array::from_fn(|e| x.qs[4 * k + e] >> 4);
        s.q[k][4 * r..4 * r + 4].copy_from_slice(&lo);
        s.q[4 + k][4 * r..4 * r + 4].copy_from_slice(&hi);
    }
}

/// `8 · Σ` of a block's 32 activation quants, in every lane.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
pub(super) fn sum8(y: &BlockQ8_0) -> __m256i {
    let s = _mm256_madd_epi16(
        _mm256_maddubs_epi16(_mm256_set1_epi8(1), load32(&y.qs)),
        _mm256_set1_epi16(1),
    );
    _mm256_set1_epi32(8 * hsum_epi32(s))
}

/// The eight rows of a decoded tile against `T` tokens.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
fn tile_dot<const T: usize>(tile: &[Blk], a: [&[BlockQ8_0]; T]) -> [__m256; T] {
    let nb = tile.len();
    let a = a.map(|a| &a[..nb]);
    let ones = _mm256_set1_epi16(1);
    let mut acc = [_mm256_setzero_ps(); T];
    for (b, s) in tile.iter().enumerate() {
        let dw = load_ps(&s.d);
        let mut a16 = [_mm256_setzero_si256(); T];
        for v in 0..8 {
            let w = load32(&s.q[v]);
            for t in 0..T {
                let q = &a[t][b].qs[4 * v..4 * v + 4];
                let y = _mm256_set1_epi32(i32::from_le_bytes([
                    q[0] as u8, q[1] as u8, q[2] as u8, q[3] as u8,
                ]));
                a16[t] = _mm256_add_epi16(a16[t], _mm256_maddubs_epi16(w, y));
            }
        }
        for t in 0..T {
            let y = &a[t][b];
            let isum = _mm256_sub_epi32(_mm256_madd_epi16(a16[t], ones), sum8(y));
            let dd = _mm256_mul_ps(dw, _mm256_set1_ps(f16_lut(y.d)));
            acc[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum), dd, acc[t]);
        }
    }
    acc
}

/// `out[t * out_stride + (r - rows.start)] = row r · token t` for `r` in `rows`, `t < n_tok`,
/// in llama.cpp's repacked Q4_0 order. `w`: rows of `nb` blocks; `acts`: `n_tok` rows of `nb`
/// blocks. Returns `false` (nothing written) if `nb > MAX_NB`.
#[target_feature(enable = "avx2,fma,f16c")]
#[allow(clippy::too_many_arguments)]
pub(super) fn gemm_q4_0_repacked(
    w: &[BlockQ4_0],
    nb: usize,
    rows: Range<usize>,
    acts: &[BlockQ8_0],
    n_tok: usize,
    out: &mut [f32],
    out_stride: usize,
) -> bool {
    if nb > MAX_NB {
        return false;
    }
    let mut scratch = [BLK_ZERO; MAX_NB];
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
        |t, a| tile_dot::<4>(t, a),
        |t, a| tile_dot::<1>(t, [a])[0],
    );
    true
}

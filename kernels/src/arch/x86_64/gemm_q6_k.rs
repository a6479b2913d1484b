//! AVX2 prefill kernel for Q6_K weights × Q8_K activations in the f32 order of ggml's
//! "tiled" K-quant matmul (ggml-cpu/tiled/tiled.cpp, `tiled_run_microtile_avx2`), which
//! `ggml_compute_forward_mul_mat` takes for Q6_K (no repack on x86) once a batch has eight
//! tokens or more (`ggml_tiled_min_batch`). Smaller batches take the per-row `vec_dot` loop.
//!
//! Numerics, per output (row, token): `acc = 0`, then for each super-block in order
//! `acc = fma(d_w · (float) s1, d_a, acc)` where `s1 = Σ_j sc_j · Σ (q − 32)·a` over the 16
//! sub-blocks is an exact integer and `d_w · (float) s1` is rounded once (ggml's
//! `res = d0 * cvt(s1)`, then `fma(res, d1, buf)`).
//!
//! As in `gemm_q4_k.rs`, eight rows are decoded once into a lane-per-row stack scratch
//! (6-bit quants as bytes 0..64); `Σ (q − 32)·a = Σ q·a − 32·Σa` with `Σa` from the Q8_K
//! `bsums`.

use super::gemm_tile::{ROWS, tile_gemm};
use super::util::*;
use crate::block::*;
use core::arch::x86_64::*;
use core::ops::Range;

/// Most super-blocks per row the scratch holds (20480 columns); longer rows return `false`.
pub(super) const MAX_NB: usize = 80;

/// One super-block of eight rows, lane-per-row.
#[derive(Clone, Copy)]
#[repr(C, align(32))]
pub(super) struct Sb {
    /// `q[v]`: quants (0..64) of elements `4v..4v + 4` of rows 0..8 (row `r` in bytes `4r..4r + 4`).
    pub(super) q: [[u8; 32]; 64],
    /// Sub-block `j`'s scale of row `r` in both i16 of lane `r`.
    pub(super) sc: [[i16; 16]; 16],
    /// Pair `p`: (`sc_2p`, `sc_2p+1`) of row `r` in lane `r`.
    pub(super) scp: [[i16; 16]; 8],
    /// `d` of the eight rows.
    pub(super) d: [f32; ROWS],
}

pub(super) const SB_ZERO: Sb = Sb {
    q: [[0; 32]; 64],
    sc: [[0; 16]; 16],
    scp: [[0; 16]; 8],
    d: [0.0; ROWS],
};

/// Decode super-block `x` of tile row `r` into `s`.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
pub(super) fn decode(s: &mut Sb, r: usize, x: &BlockQ6K) {
    for j in 0..16 {
        let v = x.scales[j] as i16;
        s.sc[j][2 * r] = v;
        s.sc[j][2 * r + 1] = v;
        s.scp[j / 2][2 * r + j % 2] = v;
    }
    s.d[r] = f16(x.d);
    let mut q = [0u8; QK_K];
    for n in 0..2 {
        let (ql, qh) = (&x.ql[64 * n..64 * n + 64], &x.qh[32 * n..32 * n + 32]);
        let o = &mut q[128 * n..128 * n + 128];
        for l in 0..32 {
            let h = qh[l];
            o[l] = (ql[l] & 15) | (h & 3) << 4;
            o[l + 32] = (ql[l + 32] & 15) | ((h >> 2) & 3) << 4;
            o[l + 64] = (ql[l] >> 4) | ((h >> 4) & 3) << 4;
            o[l + 96] = (ql[l + 32] >> 4) | ((h >> 6) & 3) << 4;
        }
    }
    for v in 0..64 {
        s.q[v][4 * r..4 * r + 4].copy_from_slice(&q[4 * v..4 * v + 4]);
    }
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

/// `32 · Σ_j sc_j · bsum_j` for the eight rows of `s` and the token block `y`.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
pub(super) fn bias(s: &Sb, y: &BlockQ8K) -> __m256i {
    let mut b = _mm256_setzero_si256();
    for p in 0..8 {
        let pair = u32::from_le_bytes([
            y.bsums[2 * p][0],
            y.bsums[2 * p][1],
            y.bsums[2 * p + 1][0],
            y.bsums[2 * p + 1][1],
        ]);
        let m = _mm256_madd_epi16(load32(&s.scp[p]), _mm256_set1_epi32(pair as i32));
        b = _mm256_add_epi32(b, m);
    }
    _mm256_slli_epi32(b, 5)
}

/// The eight rows of a decoded tile against `T` tokens.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
fn tile_dot<const T: usize>(tile: &[Sb], a: [&[BlockQ8K]; T]) -> [__m256; T] {
    let nb = tile.len();
    let a = a.map(|a| &a[..nb]);
    let mut acc = [_mm256_setzero_ps(); T];
    for (b, s) in tile.iter().enumerate() {
        let mut isum: [__m256i; T] =
            core::array::from_fn(|t| _mm256_sub_epi32(_mm256_setzero_si256(), bias(s, &a[t][b])));
        for j in 0..16 {
            let sc = load32(&s.sc[j]);
            let (w0, w1) = (load32(&s.q[4 * j]), load32(&s.q[4 * j + 1]));
            let (w2, w3) = (load32(&s.q[4 * j + 2]), load32(&s.q[4 * j + 3]));
            for t in 0..T {
                let qs = &a[t][b].qs;
                let e = 16 * j;
                let h0 = _mm256_add_epi16(
                    _mm256_maddubs_epi16(w0, bcast4(qs, e)),
                    _mm256_maddubs_epi16(w1, bcast4(qs, e + 4)),
                );
                let h1 = _mm256_add_epi16(
                    _mm256_maddubs_epi16(w2, bcast4(qs, e + 8)),
                    _mm256_maddubs_epi16(w3, bcast4(qs, e + 12)),
                );
                let p = _mm256_add_epi32(_mm256_madd_epi16(h0, sc), _mm256_madd_epi16(h1, sc));
                isum[t] = _mm256_add_epi32(isum[t], p);
            }
        }
        let dw = load_ps(&s.d);
        for t in 0..T {
            let res = _mm256_mul_ps(dw, _mm256_cvtepi32_ps(isum[t]));
            let da = _mm256_set1_ps(f32::from_le_bytes(a[t][b].d));
            acc[t] = _mm256_fmadd_ps(res, da, acc[t]);
        }
    }
    acc
}

/// `out[t * out_stride + (r - rows.start)] = row r · token t` for `r` in `rows`, `t < n_tok`,
/// in ggml's tiled order (see the module docs; the caller makes sure `n_tok ≥ 8`, where ggml
/// uses it). `w`: rows of `nb` super-blocks; `acts`: `n_tok` rows of `nb` Q8_K blocks.
/// Returns `false` (nothing written) if `nb > MAX_NB`.
#[target_feature(enable = "avx2,fma,f16c")]
#[allow(clippy::too_many_arguments)]
pub(super) fn gemm_q6_k(
    w: &[BlockQ6K],
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
        |t, a| tile_dot::<4>(t, a),
        |t, a| tile_dot::<1>(t, [a])[0],
    );
    true
}

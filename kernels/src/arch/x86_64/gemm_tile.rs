//! The loop shared by the 8-row tile batch kernels (`gemm_q4_0r`, `gemm_q4_k`, `gemm_q6_k`):
//! decode 8 weight rows into a lane-per-row scratch tile once, then dot the tile with the
//! tokens four at a time and the `n_tok % 4` tail one at a time, as llama.cpp's repacked and
//! tiled kernels group them. Each kernel supplies its tile decoder and its dot products, so
//! every output keeps that kernel's order bit for bit.

use super::util::*;
use core::arch::x86_64::*;
use core::ops::Range;

/// Weight rows per tile: one f32 lane each.
pub(super) const ROWS: usize = 8;

/// `out[t * out_stride + (r - rows.start)] = row r · token t` for `r` in `rows`, `t < n_tok`.
/// `w`: rows of `nb` blocks; `acts`: `n_tok` rows of `nb` blocks; `tile`: scratch of `nb`
/// decoded blocks. `decode(s, i, x)` puts block `x` of the tile's row `i` into `s`; `dot4` /
/// `dot1` give one 8-lane vector (lane = row) per token. A last tile of fewer than 8 rows
/// repeats the last row and stores only the live lanes.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
#[allow(clippy::too_many_arguments)]
pub(super) fn tile_gemm<W, A, S>(
    w: &[W],
    nb: usize,
    rows: Range<usize>,
    acts: &[A],
    n_tok: usize,
    out: &mut [f32],
    out_stride: usize,
    tile: &mut [S],
    decode: impl Fn(&mut S, usize, &W),
    dot4: impl Fn(&[S], [&[A]; 4]) -> [__m256; 4],
    dot1: impl Fn(&[S], &[A]) -> __m256,
) {
    if nb == 0 || rows.is_empty() || n_tok == 0 {
        return;
    }
    let tile = &mut tile[..nb];
    let last = rows.end - 1;
    let act = |t: usize| &acts[t * nb..(t + 1) * nb];
    let n4 = n_tok / 4 * 4;
    let mut r0 = rows.start;
    while r0 < rows.end {
        for i in 0..ROWS {
            let r = (r0 + i).min(last);
            for (s, x) in tile.iter_mut().zip(&w[r * nb..(r + 1) * nb]) {
                decode(s, i, x);
            }
        }
        let n = (rows.end - r0).min(ROWS);
        let col = r0 - rows.start;
        for t0 in (0..n4).step_by(4) {
            let v = dot4(tile, [act(t0), act(t0 + 1), act(t0 + 2), act(t0 + 3)]);
            for (k, v) in v.into_iter().enumerate() {
                store_n(&mut out[(t0 + k) * out_stride + col..], v, n);
            }
        }
        for t in n4..n_tok {
            store_n(&mut out[t * out_stride + col..], dot1(tile, act(t)), n);
        }
        r0 += ROWS;
    }
}

/// Store the first `n` lanes of `v` to `o`.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
fn store_n(o: &mut [f32], v: __m256, n: usize) {
    if n == ROWS {
        store_ps(o, v);
    } else {
        let mut tmp = [0f32; ROWS];
        store_ps(&mut tmp, v);
        o[..n].copy_from_slice(&tmp[..n]);
    }
}

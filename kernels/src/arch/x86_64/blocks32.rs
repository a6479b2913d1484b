//! The shared loop of the 32-element block formats (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, IQ4_NL).
//!
//! Scales are handled eight blocks at a time: the eight weight f16 scales and each row's
//! eight activation scales are converted with one `vcvtph2ps` each and multiplied as
//! vectors; each block then broadcasts its lane. This keeps the scale work off the
//! multiply ports, which the integer dot products saturate. Blocks alternate between two
//! accumulators (FMA latency). A tail of fewer than eight blocks takes the scalar-scale
//! route; the products are the same f32 values either way.
//!
//! Used for several activation rows at once (prefill): each weight block is decoded once
//! (`decode`) and dotted with every row (`dot`). The single-row kernels (`q4.rs`, …) keep a
//! simpler per-block scale path, measured faster for one row; both follow the same
//! accumulation order (even blocks → first accumulator, odd → second), and the per-block
//! products are the same f32 values, so a row gets the same bits either way (tested:
//! `matvec_equals_vec_dot_bitwise_matmul_close`).

use super::util::*;
use core::arch::x86_64::*;

/// Eight f16 values as eight f32 lanes.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
pub(super) fn f16x8(h: [[u8; 2]; 8]) -> __m256 {
    let v = |k: usize| i16::from_le_bytes(h[k]);
    _mm256_cvtph_ps(_mm_setr_epi16(
        v(0),
        v(1),
        v(2),
        v(3),
        v(4),
        v(5),
        v(6),
        v(7),
    ))
}

/// Lane `k` of `v` in every lane.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
fn lane(v: __m256, k: usize) -> __m256 {
    _mm256_permutevar8x32_ps(v, _mm256_set1_epi32(k as i32))
}

/// How a format's blocks enter the loop. `X` is the decoded weight block.
pub(super) struct Blocks32<WD, AD, DEC, DOT> {
    /// Weight scale of a block.
    pub wd: WD,
    /// Activation scale of a block.
    pub ad: AD,
    /// Decode a weight block.
    pub decode: DEC,
    /// Integer dot product (8 i32 lanes) of a decoded block with an activation block.
    pub dot: DOT,
}

/// Blocks `i..i + 8` of each row, if every row has them.
#[inline]
fn chunks8<'a, A, const N: usize>(a: &[&'a [A]; N], i: usize) -> Option<[&'a [A; 8]; N]> {
    let mut out: [Option<&'a [A; 8]>; N] = [None; N];
    for (o, s) in out.iter_mut().zip(a) {
        *o = s.get(i..)?.first_chunk::<8>();
    }
    let mut r: [&'a [A; 8]; N] = [out[0]?; N];
    for (r, o) in r.iter_mut().zip(out) {
        *r = o?;
    }
    Some(r)
}

/// Σ over blocks of `d_w d_a · dot` of `w` with each of the `N` rows `a`
/// (all cut to the shortest length).
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
pub(super) fn dot_blocks<const N: usize, W, A, X: Copy, WD, AD, DEC, DOT>(
    w: &[W],
    a: [&[A]; N],
    f: Blocks32<WD, AD, DEC, DOT>,
) -> [f32; N]
where
    WD: Fn(&W) -> [u8; 2],
    AD: Fn(&A) -> [u8; 2],
    DEC: Fn(&W) -> X,
    DOT: Fn(X, &A) -> __m256i,
{
    let n = a.iter().fold(w.len(), |m, a| m.min(a.len()));
    let mut acc0 = [_mm256_setzero_ps(); N];
    let mut acc1 = [_mm256_setzero_ps(); N];
    let n8 = n / 8 * 8;
    for i in (0..n8).step_by(8) {
        // `i + 8 <= n` for every slice, so these never fail (and cost no bounds checks later)
        let Some(wb) = w[i..].first_chunk::<8>() else {
            break;
        };
        let Some(ab) = chunks8(&a, i) else {
            break;
        };
        let dw = f16x8(core::array::from_fn(|k| (f.wd)(&wb[k])));
        let d: [__m256; N] = core::array::from_fn(|j| {
            _mm256_mul_ps(dw, f16x8(core::array::from_fn(|k| (f.ad)(&ab[j][k]))))
        });
        for k in (0..8).step_by(2) {
            let x0 = (f.decode)(&wb[k]);
            let x1 = (f.decode)(&wb[k + 1]);
            for j in 0..N {
                let p0 = _mm256_cvtepi32_ps((f.dot)(x0, &ab[j][k]));
                acc0[j] = _mm256_fmadd_ps(lane(d[j], k), p0, acc0[j]);
                let p1 = _mm256_cvtepi32_ps((f.dot)(x1, &ab[j][k + 1]));
                acc1[j] = _mm256_fmadd_ps(lane(d[j], k + 1), p1, acc1[j]);
            }
        }
    }
    // tail: fewer than 8 blocks; `n8` is even, so even blocks still go to `acc0`
    for i in n8..n {
        let x = (f.decode)(&w[i]);
        let xs = f16_ss((f.wd)(&w[i]));
        for j in 0..N {
            let y = &a[j][i];
            let d = _mm256_broadcastss_ps(_mm_mul_ss(xs, f16_ss((f.ad)(y))));
            let p = _mm256_cvtepi32_ps((f.dot)(x, y));
            if i % 2 == 0 {
                acc0[j] = _mm256_fmadd_ps(d, p, acc0[j]);
            } else {
                acc1[j] = _mm256_fmadd_ps(d, p, acc1[j]);
            }
        }
    }
    core::array::from_fn(|j| hsum_ps(_mm256_add_ps(acc0[j], acc1[j])))
}

/// `R` weight rows against one activation row, block by block, in ggml's AVX2 `vec_dot`
/// order for every row: `block` folds block `i` of row `r` into that row's state `St`
/// (e.g. one 8-lane f32 accumulator), blocks strictly in order. `pre` is the per-block work
/// shared by the rows (activation quants, activation scale), done once per block.
///
/// A row's state evolves exactly as in a one-row call, so the result of each row does not
/// depend on `R` or on which rows share a call; the `R` chains are independent, which hides
/// the FMA latency that bounds a single row (the speed of the decode matvec). Rows are of
/// equal length in every caller; all are cut to the shortest (and to `a`).
#[inline(always)]
pub(super) fn rows_each<'a, const R: usize, W, A, P: Copy, St: Copy>(
    w: [&[W]; R],
    a: &'a [A],
    init: St,
    pre: impl Fn(&'a A) -> P,
    block: impl Fn(&W, P, St) -> St,
) -> [St; R] {
    rows_ahead::<0, R, W, A, P, St>(w, a, init, pre, block)
}

/// [`rows_each`], prefetching in each row the block `AHEAD` blocks further on (past the
/// row's end: the next row's first blocks) while block `i` computes. With one row per call
/// over consecutive rows, the weights are one long stream with the lookahead running ahead
/// of the loads; where rows of a few KiB are read several side by side instead, each is a
/// short stream that the hardware prefetcher keeps losing. `AHEAD` = 0: no prefetch.
#[inline(always)]
pub(super) fn rows_ahead<'a, const AHEAD: usize, const R: usize, W, A, P: Copy, St: Copy>(
    w: [&[W]; R],
    a: &'a [A],
    init: St,
    pre: impl Fn(&'a A) -> P,
    block: impl Fn(&W, P, St) -> St,
) -> [St; R] {
    let n = w.iter().fold(a.len(), |m, w| m.min(w.len()));
    // cut to `n` up front, so that the loop's indexing needs no bounds checks
    let a = &a[..n];
    let w = w.map(|w| &w[..n]);
    let size = core::mem::size_of::<W>();
    let mut st = [init; R];
    for i in 0..n {
        let p = pre(&a[i]);
        for r in 0..R {
            if AHEAD > 0 && size > 0 {
                let b = w[r].as_ptr().wrapping_add(i + AHEAD).cast::<u8>();
                // every cache line of the block: one hint per 64 bytes and one at its end
                for o in (0..size).step_by(64) {
                    prefetch(b.wrapping_add(o));
                }
                prefetch(b.wrapping_add(size - 1));
            }
            st[r] = block(&w[r][i], p, st[r]);
        }
    }
    st
}

/// Hint the cache line at `p` into L1 (never faults, reads nothing into the program).
#[inline(always)]
pub(super) fn prefetch(p: *const u8) {
    // SAFETY: a prefetch is only a hint: it never dereferences `p`, cannot fault and changes
    // no program state, whatever the address. `p` may point anywhere (up to a lookahead
    // past a row, into other rows or past the matrix); it is built with `wrapping_add`, so
    // making it is not undefined behaviour either.
    unsafe { _mm_prefetch::<_MM_HINT_T0>(p.cast()) }
}
/// Run `dotn` over the rows of `nb` blocks of `w` into `out` (one value per row), `N` rows
/// per call, the rows of a call `h = out.len() / N` apart: call `r` reads rows `r`, `r + h`,
/// …, `r + (N - 1) h`. Each of the `N` rows read side by side thus continues one long
/// sequential stream through the matrix, which the hardware prefetcher follows; `N`
/// consecutive rows would be `N` short streams started afresh every call, which it keeps
/// losing (matvec_vs_ggml, best of 900 calls: Q4_0 4864x896 247 → 205 µs, Q4_1 244 → 202,
/// Q5_0 302 → 273, Q8_0 896x4864 224 → 187). The last `out.len() % N` rows go in one call
/// padded with copies of its last row, so `dotn` must give each row bits that do not depend
/// on the other rows of its call.
#[inline(always)]
pub(super) fn rows_strided<const N: usize, W>(
    w: &[W],
    nb: usize,
    out: &mut [f32],
    dotn: impl Fn([&[W]; N]) -> [f32; N],
) {
    const { assert!(N > 0) };
    // the dispatcher passes exactly `out.len()` rows; a short `w` would give empty rows
    debug_assert!(w.len() >= out.len() * nb);
    let row = |r: usize| w.get(r * nb..(r + 1) * nb).unwrap_or(&[]);
    let h = out.len() / N;
    for r in 0..h {
        let v = dotn(core::array::from_fn(|k| row(r + k * h)));
        for (k, v) in v.into_iter().enumerate() {
            out[r + k * h] = v;
        }
    }
    let tail = &mut out[N * h..];
    if let Some(last) = tail.len().checked_sub(1) {
        let v = dotn(core::array::from_fn(|k| row(N * h + k.min(last))));
        tail.copy_from_slice(&v[..tail.len()]);
    }
}

/// Run `dot8` over consecutive groups of eight rows of `nb` blocks of `w` into `out`, also
/// giving it the bytes of the next group (to prefetch while this one computes); a last
/// partial group repeats its last row (the kernel's rows must not influence each other).
#[inline(always)]
pub(super) fn rows_by_8_next<W: bytemuck::Pod>(
    w: &[W],
    nb: usize,
    out: &mut [f32],
    dot8: impl Fn([&[W]; 8], &[u8]) -> [f32; 8],
) {
    let row = |r: usize| w.get(r * nb..(r + 1) * nb).unwrap_or(&[]);
    for (g, o) in out.chunks_mut(8).enumerate() {
        let last = o.len() - 1;
        let end = ((8 * g + 16) * nb).min(w.len());
        let next = w.get((8 * g + 8) * nb..end).unwrap_or(&[]);
        let v = dot8(
            core::array::from_fn(|k| row(8 * g + k.min(last))),
            bytemuck::cast_slice(next),
        );
        o.copy_from_slice(&v[..o.len()]);
    }
}

//! AVX2 prefill kernels (several weight rows × several tokens) for the 32-element formats
//! Q4_0, Q5_0, Q8_0 (× Q8_0 activations) and Q4_1 (× Q8_1), in the f32 order of ggml's x86
//! AVX2 `mul_mat` for a batch of two or more tokens.
//!
//! Which ggml path that is (ggml-cpu.c `ggml_compute_forward_mul_mat`): with LLAMAFILE on,
//! Q4_0 / Q5_0 / Q8_0 weights go through tinyBLAS (`llamafile/sgemm.cpp`,
//! `tinyBLAS_Q0_AVX`) once the batch has `n ≥ 2` tokens; Q4_1 has no tinyBLAS kernel and
//! takes the per-row `vec_dot` loop (`ggml_vec_dot_q4_1_q8_1`). (Q4_0 weights that llama.cpp
//! puts in its repack buffer take `ggml_gemm_q4_0_8x8_q8_0` instead: not this file.)
//!
//! Numerics, the same for both paths and for every tile shape or thread split they use: per
//! output (row, token) one 8-lane f32 accumulator runs over the blocks in order; block `l`
//! adds `fma(d_w · d_a, lanes, acc)` where lane `k` is the exact integer Σ of the products of
//! elements `4k..4k+4` and `d_w · d_a` the f32 product of the two f16 scales. The result is
//! the 8 lanes summed as (high half + low half), then lanes (0 + 2, 1 + 3), then those two
//! (`hsum_ps`). Q4_1 also runs a scalar chain `s = fma(m_w, s_a, s)` over the blocks (gcc
//! contracts ggml's `summs += m * s`) and returns `hsum + s`.
//! Integer lane sums are exact whichever way they are formed. Q8_0 uses ggml's sign trick
//! `maddubs(|w|, sign(a, w))`, so even a `-128` weight quant gives ggml's value; Q4_0 / Q5_0
//! keep their quants unsigned (`u = q + 8` / `q + 16`) and subtract `8·Σa` / `16·Σa` per lane,
//! one op less per product — equal to ggml for activation quants in `-127..=127`, which is
//! what every Q8_0 quantizer (ggml's and ours) produces.
//!
//! Speed: a tile of [`ROWS`] weight rows is decoded once into a stack scratch (32 signed or
//! unsigned bytes and the f32 scale per block), then every group of [`TOKS`] tokens runs over
//! it with `ROWS × TOKS` accumulators in registers: each activation block load serves
//! `ROWS` rows, each decoded weight block `TOKS` tokens, and no block is decoded twice.

use super::gemm_q4_0r::gemm_q4_0_repacked;
use super::gemm_q4_k::gemm_q4_k;
use super::gemm_q6_k::gemm_q6_k;
use super::util::*;
use crate::block::*;
use core::arch::x86_64::*;
use core::ops::Range;

/// Weight rows per tile (fixed: the lane shuffles below are written out for four rows).
pub(super) const ROWS: usize = 4;
/// Tokens per register tile.
const TOKS: usize = 2;
/// Most blocks per row the scratch holds (20480 columns); longer rows return `false`.
pub(super) const MAX_NB: usize = 640;

/// One decoded block of the four rows of a tile.
#[derive(Clone, Copy)]
#[repr(C, align(32))]
pub(super) struct Quads(pub(super) [[i8; 32]; ROWS]);

/// The decoded weights of one row tile: quants, scales and (Q4_1) mins per block.
pub(super) struct Tile {
    pub(super) q: [Quads; MAX_NB],
    pub(super) d: [[f32; ROWS]; MAX_NB],
    pub(super) m: [[f32; ROWS]; MAX_NB],
}

/// Store 32 bytes (no alignment needed).
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
fn store32(p: &mut [i8; 32], v: __m256i) {
    // SAFETY: `p` is 32 writable bytes behind a unique reference; `storeu` needs no alignment.
    unsafe { _mm256_storeu_si256(p.as_mut_ptr().cast(), v) }
}

/// How one format enters the kernel.
pub(super) struct Format<DEC, AD> {
    /// Weight block → (32 quant bytes in element order, scale, min).
    pub(super) dec: DEC,
    /// Activation block → (scale, `s` of Q8_1 or 0).
    pub(super) ad: AD,
}

/// Activation quants of a block.
pub(super) trait ActQs {
    fn qs(&self) -> &[i8; 32];
}
impl ActQs for BlockQ8_0 {
    #[inline(always)]
    fn qs(&self) -> &[i8; 32] {
        &self.qs
    }
}
impl ActQs for BlockQ8_1 {
    #[inline(always)]
    fn qs(&self) -> &[i8; 32] {
        &self.qs
    }
}

/// `out[t * out_stride + (r - rows.start)] = row r · token t` for `r` in `rows`, `t < n_tok`.
/// `w`: whole rows of `nb` blocks; `acts`: `n_tok` rows of `nb` blocks. `OFF`: how quants
/// are stored: `-1` signed (sign trick), `0` unsigned (`maddubs` directly), `k > 0` unsigned
/// with an offset of `2^k` (the value is `u - 2^k`: `Σ u·a − 2^k Σa`, also exact).
/// `MIN`: add the min chain.
/// `T` tokens go through the register tile at once, `dot` = `tile_dot` (or another back
/// end's kernel of the same order): the `T` groups' results do not depend on `T`.
/// Returns `false` (nothing written) if a row has more than [`MAX_NB`] blocks.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
#[allow(clippy::too_many_arguments)]
pub(super) fn gemm<const T: usize, W, A: ActQs, DEC, AD, const MIN: bool>(
    f: Format<DEC, AD>,
    w: &[W],
    nb: usize,
    rows: Range<usize>,
    acts: &[A],
    n_tok: usize,
    out: &mut [f32],
    out_stride: usize,
    dot: impl Fn(&AD, &Tile, usize, [&[A]; T]) -> ([[__m256; ROWS]; T], [[f32; ROWS]; T]),
) -> bool
where
    DEC: Fn(&W) -> (__m256i, f32, f32),
    AD: Fn(&A) -> (f32, f32),
{
    if nb == 0 || nb > MAX_NB || rows.is_empty() || n_tok == 0 {
        return nb <= MAX_NB;
    }
    let mut tile = Tile {
        q: [Quads([[0; 32]; ROWS]); MAX_NB],
        d: [[0.0; ROWS]; MAX_NB],
        m: [[0.0; ROWS]; MAX_NB],
    };
    let last_row = rows.end - 1;
    let mut r0 = rows.start;
    while r0 < rows.end {
        // rows past the end repeat the last row (computed, never stored)
        let rr: [usize; ROWS] = core::array::from_fn(|i| (r0 + i).min(last_row));
        for (i, &r) in rr.iter().enumerate() {
            let row = &w[r * nb..(r + 1) * nb];
            for (l, x) in row.iter().enumerate() {
                let (q, d, m) = (f.dec)(x);
                store32(&mut tile.q[l].0[i], q);
                tile.d[l][i] = d;
                tile.m[l][i] = m;
            }
        }
        let n_rows = (rows.end - r0).min(ROWS);
        let mut t0 = 0;
        while t0 < n_tok {
            let tt: [usize; T] = core::array::from_fn(|j| (t0 + j).min(n_tok - 1));
            let a: [&[A]; T] = tt.map(|t| &acts[t * nb..(t + 1) * nb]);
            let (acc, mins) = dot(&f.ad, &tile, nb, a);
            for j in 0..(n_tok - t0).min(T) {
                let o = &mut out[(t0 + j) * out_stride + (r0 - rows.start)..][..n_rows];
                for (i, o) in o.iter_mut().enumerate() {
                    let s = hsum_ps(acc[j][i]);
                    *o = if MIN { s + mins[j][i] } else { s };
                }
            }
            t0 += T;
        }
        r0 += ROWS;
    }
    true
}

/// The `ROWS × T` accumulators of one decoded tile against `T` token rows.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
fn tile_dot<A: ActQs, AD, const OFF: i32, const MIN: bool, const T: usize>(
    ad: &AD,
    tile: &Tile,
    nb: usize,
    a: [&[A]; T],
) -> ([[__m256; ROWS]; T], [[f32; ROWS]; T])
where
    AD: Fn(&A) -> (f32, f32),
{
    let mut acc = [[_mm256_setzero_ps(); ROWS]; T];
    let mut mins = [_mm_setzero_ps(); T];
    let ones = _mm256_set1_epi16(1);
    let a = a.map(|a| &a[..nb]);
    let (q, d, m) = (&tile.q[..nb], &tile.d[..nb], &tile.m[..nb]);
    for l in 0..nb {
        // SAFETY: `d[l]` is 4 readable f32; `loadu` needs no alignment.
        let dw = unsafe { _mm_loadu_ps(d[l].as_ptr()) };
        let mut y = [_mm256_setzero_si256(); T];
        let mut ys = [_mm256_setzero_si256(); T];
        let mut dd = [_mm256_setzero_ps(); T];
        for j in 0..T {
            let b = &a[j][l];
            let (da, sa) = ad(b);
            y[j] = load32(b.qs());
            if OFF > 0 {
                // 2^OFF × the sums of each four activation quants (the offset's share)
                let s4 = _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_set1_epi8(1), y[j]), ones);
                ys[j] = _mm256_sll_epi32(s4, _mm_cvtsi32_si128(OFF));
            }
            // the four rows' d_w · d_a, in both 128-bit halves
            let p = _mm_mul_ps(dw, _mm_set1_ps(da));
            dd[j] = _mm256_set_m128(p, p);
            if MIN {
                // SAFETY: `m[l]` is 4 readable f32.
                let mw = unsafe { _mm_loadu_ps(m[l].as_ptr()) };
                mins[j] = _mm_fmadd_ps(mw, _mm_set1_ps(sa), mins[j]);
            }
        }
        macro_rules! row {
            ($i:literal, $imm:literal) => {{
                let x = load32(&q[l].0[$i]);
                let ux = if OFF < 0 { _mm256_sign_epi8(x, x) } else { x };
                for j in 0..T {
                    let sy = if OFF < 0 {
                        _mm256_sign_epi8(y[j], x)
                    } else {
                        y[j]
                    };
                    let mut p = _mm256_madd_epi16(_mm256_maddubs_epi16(ux, sy), ones);
                    if OFF > 0 {
                        p = _mm256_sub_epi32(p, ys[j]);
                    }
                    let s = _mm256_shuffle_ps::<$imm>(dd[j], dd[j]);
                    acc[j][$i] = _mm256_fmadd_ps(s, _mm256_cvtepi32_ps(p), acc[j][$i]);
                }
            }};
        }
        row!(0, 0x00);
        row!(1, 0x55);
        row!(2, 0xAA);
        row!(3, 0xFF);
    }
    let mut mo = [[0f32; ROWS]; T];
    if MIN {
        for (o, v) in mo.iter_mut().zip(mins) {
            // SAFETY: `o` is 4 writable f32.
            unsafe { _mm_storeu_ps(o.as_mut_ptr(), v) };
        }
    }
    (acc, mo)
}

/// The four 32-element formats' batch kernels, for one back end: `$feat` its target
/// features, `$t` tokens per register tile, `$dot` its `tile_dot` (same order as
/// [`tile_dot`]); the functions are named `$q4_0`, `$q5_0`, `$q8_0`, `$q4_1`.
macro_rules! entries {
    ($feat:literal, $t:expr, $dot:ident; $q4_0:ident, $q5_0:ident, $q8_0:ident, $q4_1:ident) => {
        entry!(
            /// Q4_0 × Q8_0, tinyBLAS order.
            $q4_0, $feat, $t, $dot,
            BlockQ4_0,
            BlockQ8_0,
            3,
            false,
            |x: &BlockQ4_0| (nibbles32(&x.qs), f16(x.d), 0.0),
            |y: &BlockQ8_0| (f16_lut(y.d), 0.0)
        );
        entry!(
            /// Q5_0 × Q8_0, tinyBLAS order.
            $q5_0, $feat, $t, $dot,
            BlockQ5_0,
            BlockQ8_0,
            4,
            false,
            |x: &BlockQ5_0| {
                let h = bits_to_bytes(u32::from_le_bytes(x.qh));
                let hi = _mm256_and_si256(h, _mm256_set1_epi8(0x10));
                (_mm256_or_si256(nibbles32(&x.qs), hi), f16(x.d), 0.0)
            },
            |y: &BlockQ8_0| (f16_lut(y.d), 0.0)
        );
        entry!(
            /// Q8_0 × Q8_0, tinyBLAS order.
            $q8_0, $feat, $t, $dot,
            BlockQ8_0,
            BlockQ8_0,
            -1,
            false,
            |x: &BlockQ8_0| (load32(&x.qs), f16(x.d), 0.0),
            |y: &BlockQ8_0| (f16_lut(y.d), 0.0)
        );
        entry!(
            /// Q4_1 × Q8_1, the order of ggml's AVX2 `vec_dot` (which its batch path loops
            /// over).
            $q4_1, $feat, $t, $dot,
            BlockQ4_1,
            BlockQ8_1,
            0,
            true,
            |x: &BlockQ4_1| (nibbles32(&x.qs), f16(x.d), f16(x.m)),
            |y: &BlockQ8_1| (f16_lut(y.d), f16_lut(y.s))
        );
    };
}

macro_rules! entry {
    ($(#[$doc:meta])* $name:ident, $feat:literal, $t:expr, $dot:ident, $W:ty, $A:ty,
     $off:literal, $min:literal, $dec:expr, $ad:expr) => {
        $(#[$doc])*
        /// `w`: `rows.end × nb` blocks (at least); `acts`: `n_tok × nb` blocks; `out`: see
        /// `Kernels::matmul`. Returns `false` (nothing written) if `nb > MAX_NB`.
        #[target_feature(enable = $feat)]
        #[allow(clippy::too_many_arguments)]
        pub(crate) fn $name(
            w: &[$W],
            nb: usize,
            rows: Range<usize>,
            acts: &[$A],
            n_tok: usize,
            out: &mut [f32],
            out_stride: usize,
        ) -> bool {
            let f = Format {
                dec: $dec,
                ad: $ad,
            };
            gemm::<{ $t }, $W, $A, _, _, $min>(
                f,
                w,
                nb,
                rows,
                acts,
                n_tok,
                out,
                out_stride,
                |ad, tile, nb, a| $dot::<$A, _, $off, $min, { $t }>(ad, tile, nb, a),
            )
        }
    };
}

entries!("avx2,fma,f16c", TOKS, tile_dot; gemm_q4_0, gemm_q5_0, gemm_q8_0, gemm_q4_1);

// The VNNI back end instantiates the same entries with its own tile dot (`vnni_gemm`).
#[cfg(bague_avx512)]
pub(super) use {entries, entry};

/// The batch kernel llama.cpp's x86 `mul_mat` runs for a matrix of weight type `wt` and
/// `n_rows` rows in a batch of `batch` tokens (≥ 2), where this crate has it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Path {
    /// Repacked 8×8 Q4_0 (`gemm_q4_0_r`).
    Q4_0Repacked,
    /// tinyBLAS Q4_0.
    Q4_0,
    /// tinyBLAS Q5_0.
    Q5_0,
    /// tinyBLAS Q8_0.
    Q8_0,
    /// `vec_dot` loop, Q4_1.
    Q4_1,
    /// Repacked 8×8 Q4_K.
    Q4K,
    /// Tiled Q6_K.
    Q6K,
}

/// Which [`Path`] a batch takes, and the blocks per row (`None`: no batch kernel here).
pub(super) fn path(
    wt: crate::GgmlType,
    w: &[u8],
    n_cols: usize,
    batch: usize,
) -> Option<(Path, usize)> {
    use crate::GgmlType as T;
    let nb = n_cols / wt.block_size();
    let rb = wt.block_bytes() * nb;
    let n_rows = w.len().checked_div(rb).unwrap_or(0);
    let p = match wt {
        // llama.cpp repacks Q4_0 tensors of 8k rows (8×8 gemm/gemv), else tinyBLAS
        T::Q4_0 if n_rows % 8 == 0 => Path::Q4_0Repacked,
        T::Q4_0 => Path::Q4_0,
        T::Q5_0 => Path::Q5_0,
        T::Q8_0 => Path::Q8_0,
        T::Q4_1 => Path::Q4_1,
        // llama.cpp repacks Q4_K tensors of 8k rows (else: its "tiled" path, not here)
        T::Q4_K if n_rows % 8 == 0 => Path::Q4K,
        // Q6_K: ggml's tiled kernel from eight tokens on, else its vec_dot loop (not here)
        T::Q6_K if batch >= 8 => Path::Q6K,
        _ => return None,
    };
    Some((p, nb))
}

/// Byte-level entry for `Isa::gemm` (lengths already checked by `Kernels::matmul`; `w` is the
/// whole matrix, whose row count decides llama.cpp's path, as does the size of the whole
/// `batch`): runs the kernel of `wt` and returns `true`, or `false` for a type without a
/// batch kernel here (or rows too long).
#[allow(clippy::too_many_arguments)]
pub(super) fn gemm_bytes(
    _t: super::Avx2Fma,
    wt: crate::GgmlType,
    w: &[u8],
    n_cols: usize,
    rows: Range<usize>,
    acts: &[u8],
    n_tok: usize,
    out: &mut [f32],
    out_stride: usize,
    batch: usize,
) -> bool {
    let Some((p, nb)) = path(wt, w, n_cols, batch) else {
        return false;
    };
    macro_rules! go {
        ($f:ident) => {{
            let (Ok(w), Ok(a)) = (bytemuck::try_cast_slice(w), bytemuck::try_cast_slice(acts))
            else {
                return false;
            };
            // SAFETY: the token `_t` exists only if the CPU has AVX2, FMA and F16C.
            unsafe { $f(w, nb, rows, a, n_tok, out, out_stride) }
        }};
    }
    match p {
        Path::Q4_0Repacked => go!(gemm_q4_0_repacked),
        Path::Q4_0 => go!(gemm_q4_0),
        Path::Q5_0 => go!(gemm_q5_0),
        Path::Q8_0 => go!(gemm_q8_0),
        Path::Q4_1 => go!(gemm_q4_1),
        Path::Q4K => go!(gemm_q4_k),
        Path::Q6K => go!(gemm_q6_k),
    }
}

//! AVX-512-VNNI prefill kernels: the AVX2 batch kernels (`gemm_q0`, `gemm_q4_0r`,
//! `gemm_q4_k`, `gemm_q6_k`) with their integer parts formed by `vpdpbusd` (four
//! unsigned-by-signed byte products summed into each i32 lane, no i16 intermediate), and
//! their f32 parts unchanged: the same per-block terms, added in the same order, so every
//! output has the AVX2 kernel's bits (tested bit for bit in `tests/avx512.rs`).
//!
//! Why the integers are the same: `vpdpbusd` lane `k` sums the products of bytes
//! `4k..4k + 4`, which is the lane partition of the AVX2 `maddubs` + `madd` pair; the AVX2
//! kernels never saturate their i16 steps for the quants they take (the bounds are in
//! their docs), so both give the exact integer. Signed weight quants (Q8_0) enter as
//! `q + 128` (`q ^ 0x80`, unsigned) with `128 · Σa` taken off per lane, exact for every
//! quant (where the AVX2 sign trick is exact for activations in `-127..=127`).

use super::gemm_q0::{ActQs, ROWS, Tile};
use super::gemm_tile::tile_gemm;
use super::util::*;
use super::{gemm_q4_0r as q4_0r, gemm_q4_k as q4_k, gemm_q6_k as q6_k};
use crate::block::*;
use core::arch::x86_64::*;
use core::ops::Range;

/// Tokens per register tile of [`tile_dot_q0`] (32 vector registers: 4 rows × 4 tokens of
/// accumulators fit beside the activations).
pub(super) const Q0_TOKS: usize = 4;

/// The `ROWS × T` accumulators of one decoded `gemm_q0` tile against `T` token rows: the
/// order of `gemm_q0::tile_dot` (same arguments; `OFF` and `MIN` as there).
#[inline]
#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")]
pub(super) fn tile_dot_q0<A: ActQs, AD, const OFF: i32, const MIN: bool, const T: usize>(
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
    let zero = _mm256_setzero_si256();
    let ones = _mm256_set1_epi8(1);
    let flip = _mm256_set1_epi8(-128);
    // the offset of the stored quants: 2^OFF, or 128 for signed quants stored as q ^ 0x80
    let shift = _mm_cvtsi32_si128(if OFF < 0 { 7 } else { OFF });
    let a = a.map(|a| &a[..nb]);
    let (q, d, m) = (&tile.q[..nb], &tile.d[..nb], &tile.m[..nb]);
    for l in 0..nb {
        // SAFETY: `d[l]` is 4 readable f32; `loadu` needs no alignment.
        let dw = unsafe { _mm_loadu_ps(d[l].as_ptr()) };
        let mut y = [zero; T];
        let mut init = [zero; T];
        let mut dd = [_mm256_setzero_ps(); T];
        for j in 0..T {
            let b = &a[j][l];
            let (da, sa) = ad(b);
            y[j] = load32(b.qs());
            if OFF != 0 {
                // minus the offset × the sums of each four activation quants
                let s4 = _mm256_dpbusd_epi32(zero, ones, y[j]);
                init[j] = _mm256_sub_epi32(zero, _mm256_sll_epi32(s4, shift));
            }
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
                let ux = if OFF < 0 {
                    _mm256_xor_si256(x, flip)
                } else {
                    x
                };
                for j in 0..T {
                    let p = _mm256_dpbusd_epi32(init[j], ux, y[j]);
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

/// Repacked Q4_0 (`gemm_q4_0r`): the eight rows of a decoded tile against `T` tokens,
/// `isum = Σ n·a − 8 Σa` per block as one `vpdpbusd` chain started at `−8 Σa`.
#[inline]
#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")]
fn tile_dot_q4_0r<const T: usize>(tile: &[q4_0r::Blk], a: [&[BlockQ8_0]; T]) -> [__m256; T] {
    let nb = tile.len();
    let a = a.map(|a| &a[..nb]);
    let mut acc = [_mm256_setzero_ps(); T];
    for (b, s) in tile.iter().enumerate() {
        let dw = load_ps(&s.d);
        let mut isum: [__m256i; T] = core::array::from_fn(|t| {
            _mm256_sub_epi32(_mm256_setzero_si256(), q4_0r::sum8(&a[t][b]))
        });
        for v in 0..8 {
            let w = load32(&s.q[v]);
            for t in 0..T {
                let q = &a[t][b].qs[4 * v..4 * v + 4];
                let y = _mm256_set1_epi32(i32::from_le_bytes([
                    q[0] as u8, q[1] as u8, q[2] as u8, q[3] as u8,
                ]));
                isum[t] = _mm256_dpbusd_epi32(isum[t], w, y);
            }
        }
        for t in 0..T {
            let dd = _mm256_mul_ps(dw, _mm256_set1_ps(f16_lut(a[t][b].d)));
            acc[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum[t]), dd, acc[t]);
        }
    }
    acc
}

/// Repacked Q4_K (`gemm_q4_k`): as its `tile_dot`, with each sub-block's 32 products per
/// row summed by a `vpdpbusd` chain and then multiplied by the sub-block scale (where AVX2
/// sums them in i16 pairs and scales with `madd`: the same integer).
#[inline]
#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")]
fn tile_dot_q4_k<const T: usize, const PER_PAIR: bool>(
    tile: &[q4_k::Sb],
    a: [&[BlockQ8K]; T],
) -> [__m256; T] {
    let nb = tile.len();
    let a = a.map(|a| &a[..nb]);
    let zero = _mm256_setzero_si256();
    // min part: an independent chain per token (the AVX2 kernel's, unchanged)
    let mut accm = [_mm256_setzero_ps(); T];
    for (b, s) in tile.iter().enumerate() {
        let dm = q4_k::load_f32x8(&s.dmin);
        for t in 0..T {
            let y = &a[t][b];
            let dd = _mm256_mul_ps(dm, _mm256_set1_ps(f32::from_le_bytes(y.d)));
            let mut isb = zero;
            for p in 0..4 {
                let im = _mm256_madd_epi16(q4_k::load_i16x16(&s.mn[p]), q4_k::bsum_pair(y, p));
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
        let dw = q4_k::load_f32x8(&s.d);
        let dd: [__m256; T] = core::array::from_fn(|t| {
            _mm256_mul_ps(dw, _mm256_set1_ps(f32::from_le_bytes(a[t][b].d)))
        });
        let mut isb = [zero; T];
        for p in 0..4 {
            let mut isum = [zero; T];
            for h in 0..2 {
                let j = 2 * p + h;
                let mut s32 = [zero; T];
                for k in 0..8 {
                    let w = load32(&s.q[8 * j + k]);
                    for t in 0..T {
                        let y = q4_k::bcast4(&a[t][b].qs, 32 * j + 4 * k);
                        s32[t] = _mm256_dpbusd_epi32(s32[t], w, y);
                    }
                }
                // the scale sits in both i16 of each lane: the high one, sign-extended
                let sc = _mm256_srai_epi32::<16>(q4_k::load_i16x16(&s.sc[j]));
                for t in 0..T {
                    isum[t] = _mm256_add_epi32(isum[t], _mm256_mullo_epi32(s32[t], sc));
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

/// Tiled Q6_K (`gemm_q6_k`): as its `tile_dot`, each 16-element sub-block's products per row
/// summed by four `vpdpbusd` and multiplied by the sub-block scale.
#[inline]
#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")]
fn tile_dot_q6_k<const T: usize>(tile: &[q6_k::Sb], a: [&[BlockQ8K]; T]) -> [__m256; T] {
    let nb = tile.len();
    let a = a.map(|a| &a[..nb]);
    let zero = _mm256_setzero_si256();
    let mut acc = [_mm256_setzero_ps(); T];
    for (b, s) in tile.iter().enumerate() {
        let mut isum: [__m256i; T] =
            core::array::from_fn(|t| _mm256_sub_epi32(zero, q6_k::bias(s, &a[t][b])));
        for j in 0..16 {
            let sc = _mm256_srai_epi32::<16>(load32(&s.sc[j]));
            let w: [__m256i; 4] = core::array::from_fn(|k| load32(&s.q[4 * j + k]));
            for t in 0..T {
                let qs = &a[t][b].qs;
                let mut s32 = zero;
                for (k, &w) in w.iter().enumerate() {
                    s32 = _mm256_dpbusd_epi32(s32, w, q6_k::bcast4(qs, 16 * j + 4 * k));
                }
                isum[t] = _mm256_add_epi32(isum[t], _mm256_mullo_epi32(s32, sc));
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

/// The three 8-row tile kernels' entries (the AVX2 ones' scaffolding, `gemm_tile`).
macro_rules! tile_entry {
    ($name:ident, $W:ty, $A:ty, $m:ident, $zero:expr, $dot4:expr, $dot1:expr) => {
        /// `Kernels::matmul`'s contract; `false` (nothing written) past the scratch size.
        #[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")]
        #[allow(clippy::too_many_arguments)]
        fn $name(
            w: &[$W],
            nb: usize,
            rows: Range<usize>,
            acts: &[$A],
            n_tok: usize,
            out: &mut [f32],
            out_stride: usize,
        ) -> bool {
            if nb > $m::MAX_NB {
                return false;
            }
            let mut scratch = [$zero; $m::MAX_NB];
            tile_gemm(
                w,
                nb,
                rows,
                acts,
                n_tok,
                out,
                out_stride,
                &mut scratch,
                |s, i, x| $m::decode(s, i, x),
                $dot4,
                $dot1,
            );
            true
        }
    };
}

tile_entry!(
    gemm_q4_0r,
    BlockQ4_0,
    BlockQ8_0,
    q4_0r,
    q4_0r::BLK_ZERO,
    |t, a| tile_dot_q4_0r::<4>(t, a),
    |t, a| tile_dot_q4_0r::<1>(t, [a])[0]
);
tile_entry!(
    gemm_q4_k,
    BlockQ4K,
    BlockQ8K,
    q4_k,
    q4_k::SB_ZERO,
    |t, a| tile_dot_q4_k::<4, true>(t, a),
    |t, a| tile_dot_q4_k::<1, false>(t, [a])[0]
);
tile_entry!(
    gemm_q6_k,
    BlockQ6K,
    BlockQ8K,
    q6_k,
    q6_k::SB_ZERO,
    |t, a| tile_dot_q6_k::<4>(t, a),
    |t, a| tile_dot_q6_k::<1>(t, [a])[0]
);

/// The `gemm_q0` entries (Q4_0, Q5_0, Q8_0, Q4_1: decode, scales, accumulation order) with
/// [`tile_dot_q0`] for their integer parts.
#[allow(clippy::incompatible_msrv)]
mod q0_entries {
    use super::super::gemm_q0::{Format, entries, entry, gemm};
    use super::*;
    entries!(
        "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni",
        Q0_TOKS,
        tile_dot_q0;
        vnni_gemm_q4_0, vnni_gemm_q5_0, vnni_gemm_q8_0, vnni_gemm_q4_1
    );
}
use q0_entries::{vnni_gemm_q4_0, vnni_gemm_q4_1, vnni_gemm_q5_0, vnni_gemm_q8_0};

/// `Isa::gemm` of [`super::Avx512Vnni`]: the batch kernel llama.cpp's x86 path takes
/// ([`super::gemm_q0::path`], the AVX2 back end's choice), in its VNNI form.
#[allow(clippy::too_many_arguments)]
pub(super) fn gemm_bytes(
    _t: super::Avx512Vnni,
    wt: crate::GgmlType,
    w: &[u8],
    n_cols: usize,
    rows: core::ops::Range<usize>,
    acts: &[u8],
    n_tok: usize,
    out: &mut [f32],
    out_stride: usize,
    batch: usize,
) -> bool {
    use super::gemm_q0::{self as q0, Path};
    let Some((p, nb)) = q0::path(wt, w, n_cols, batch) else {
        return false;
    };
    macro_rules! go {
        ($f:path) => {{
            let (Ok(w), Ok(a)) = (bytemuck::try_cast_slice(w), bytemuck::try_cast_slice(acts))
            else {
                return false;
            };
            // SAFETY: the token `_t` exists only if the CPU has AVX2, FMA, F16C and
            // AVX-512 F/BW/VL/VNNI, the kernels' target features.
            unsafe { $f(w, nb, rows, a, n_tok, out, out_stride) }
        }};
    }
    match p {
        Path::Q4_0 => go!(vnni_gemm_q4_0),
        Path::Q5_0 => go!(vnni_gemm_q5_0),
        Path::Q8_0 => go!(vnni_gemm_q8_0),
        Path::Q4_1 => go!(vnni_gemm_q4_1),
        Path::Q4_0Repacked => go!(gemm_q4_0r),
        Path::Q4K => go!(gemm_q4_k),
        Path::Q6K => go!(gemm_q6_k),
    }
}

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
use super::util::*;
use core::arch::x86_64::*;

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
                let ux = if OFF < 0 { _mm256_xor_si256(x, flip) } else { x };
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

/// `Isa::gemm` of [`super::Avx512Vnni`]: the batch kernel llama.cpp's x86 path takes
/// ([`super::gemm_q0::path`], the AVX2 back end's choice), in its VNNI form.
#[allow(clippy::too_many_arguments)]
pub(super) fn gemm_bytes(
    t: super::Avx512Vnni,
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
            // SAFETY: the token `t` exists only if the CPU has AVX2, FMA, F16C and
            // AVX-512 F/BW/VL/VNNI, the kernels' target features.
            unsafe { $f(w, nb, rows, a, n_tok, out, out_stride) }
        }};
    }
    match p {
        Path::Q4_0 => go!(q0::vnni_gemm_q4_0),
        Path::Q5_0 => go!(q0::vnni_gemm_q5_0),
        Path::Q8_0 => go!(q0::vnni_gemm_q8_0),
        Path::Q4_1 => go!(q0::vnni_gemm_q4_1),
        _ => q0::gemm_bytes(t.avx2, wt, w, n_cols, rows, acts, n_tok, out, out_stride, batch),
    }
}

//! f16·f16 dot products in the two summation orders of ggml's x86 attention (without flash
//! attention), and of F16 weights:
//!
//! - [`vec_dot`]: ggml's AVX2 `ggml_vec_dot_f16` (one token; also every F16 `vec_dot`): over
//!   whole groups of 32, four 8-lane FMA accumulators (element `i` into accumulator
//!   `(i / 8) % 4`, lane `i % 8`), reduced `(a0 + a2) + (a1 + a3)` then
//!   `((l0+l4) + (l1+l5)) + ((l2+l6) + (l3+l7))`; the leftover products (each rounded to f32)
//!   added in f64.
//! - [`tinyblas`]: llamafile's tinyBLAS on AVX2 (several tokens,
//!   `tinyBLAS<8, __m256, __m256, ggml_fp16_t, ggml_fp16_t, float>`): one 8-lane FMA
//!   accumulator (element `i` into lane `i % 8`; a partial last group is zero-filled, which
//!   adds nothing), then ggml's horizontal sum ([`super::hsum8`]).

use super::hsum8;
use crate::block::F16;
use crate::math::fma;

/// `Σ x·y` in `ggml_vec_dot_f16`'s order. Slices: the common length.
pub(crate) fn vec_dot(x: &[F16], y: &[F16]) -> f32 {
    let n = x.len().min(y.len());
    let np = n & !31;
    let mut acc = [[0f32; 8]; 4];
    for i in (0..np).step_by(32) {
        for (k, a) in acc.iter_mut().enumerate() {
            for (l, al) in a.iter_mut().enumerate() {
                let j = i + 8 * k + l;
                *al = fma(x[j].get(), y[j].get(), *al);
            }
        }
    }
    let mut s = [0f32; 8];
    for l in 0..8 {
        s[l] = (acc[0][l] + acc[2][l]) + (acc[1][l] + acc[3][l]);
    }
    let t = [s[0] + s[4], s[1] + s[5], s[2] + s[6], s[3] + s[7]];
    let mut sum = ((t[0] + t[1]) + (t[2] + t[3])) as f64;
    for j in np..n {
        sum += (x[j].get() * y[j].get()) as f64;
    }
    sum as f32
}

/// `Σ x·y` in tinyBLAS's order. Slices: the common length.
pub(crate) fn tinyblas(x: &[F16], y: &[F16]) -> f32 {
    let n = x.len().min(y.len());
    let mut acc = [0f32; 8];
    for j in 0..n {
        acc[j % 8] = fma(x[j].get(), y[j].get(), acc[j % 8]);
    }
    hsum8(&acc)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::block::f32_to_f16;

    /// Both orders are the exact sum up to f32 rounding of the terms.
    #[test]
    fn both_orders_are_close_to_the_exact_sum() {
        let mut s = 11u64;
        let mut next = || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            ((s >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        };
        let mut a = [F16([0; 2]); 600];
        let mut b = [F16([0; 2]); 600];
        for n in (0..600).step_by(7).chain([8, 32, 64, 512]) {
            for i in 0..n {
                a[i] = F16(f32_to_f16(12.0 * next()));
                b[i] = F16(f32_to_f16(next()));
            }
            let (a, b) = (&a[..n], &b[..n]);
            let exact: f64 = a
                .iter()
                .zip(b)
                .map(|(p, q)| p.get() as f64 * q.get() as f64)
                .sum();
            let mag: f64 = a
                .iter()
                .zip(b)
                .map(|(p, q)| (p.get() * q.get()).abs() as f64)
                .sum();
            assert!(
                (vec_dot(a, b) as f64 - exact).abs() <= 1e-5 * mag + 1e-30,
                "n {n}"
            );
            assert!(
                (tinyblas(a, b) as f64 - exact).abs() <= 1e-5 * mag + 1e-30,
                "n {n}"
            );
        }
    }
}

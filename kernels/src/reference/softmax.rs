//! Softmax of one attention row as ggml's `soft_max_f32` computes it with a scale and a
//! causal mask (`ggml_soft_max_ext(kq, mask, scale)`, AVX2 build): `y = scale * x`, the
//! maximum, `y = exp(y - max)` with [`expf_ggml`] over whole groups of 8 (each group's sum
//! reduced in f32 in ggml's pairing, then added in f64) and libm `expf` for the tail, then
//! `y *= (f32)(1 / sum)` (`ggml_vec_soft_max_f32`, `ggml_vec_scale_f32`).
//!
//! llama.cpp pads the KV length to 256 with a `-inf` mask; the masked tail is never
//! materialized here, but it decides which live entries ggml processes in groups of 8, so the
//! row length `n_row` is an argument ([`vec_len`]).

use super::expf::expf_ggml;
use super::hsum8;
use crate::math::expf;

/// Softmax of `scale · x` over a row of `n_row` entries whose entries past `x.len()` are
/// `-inf` (probability 0): writes the probabilities of the first `x.len()`, bit for bit
/// ggml's on the padded row. `-inf` live entries become 0; an all-`-inf` row becomes NaN, as
/// in ggml. `n_row < x.len()` is treated as `x.len()`.
pub(crate) fn softmax_masked(x: &mut [f32], scale: f32, n_row: usize) {
    let mut max = f32::NEG_INFINITY;
    for v in x.iter_mut() {
        *v *= scale;
        max = max.max(*v);
    }
    let sum = exp_sum(x, max, vec_len(x.len(), n_row));
    let inv = (1.0 / sum) as f32;
    for v in x.iter_mut() {
        *v *= inv;
    }
}

/// How many leading entries of a row of `n` live entries (masked up to `n_row`) ggml's
/// vector loop covers: `n` rounded up to 8, at most `n_row` rounded down to 8.
#[inline]
pub(crate) fn vec_len(n: usize, n_row: usize) -> usize {
    n.next_multiple_of(8).min(n_row.max(n) & !7)
}

/// `x[i] = exp(x[i] - max)`, returns the sum in ggml's order: [`expf_ggml`] in groups of 8
/// for the first `nv` entries (entries past `x.len()` count as 0), libm `expf` after.
fn exp_sum(x: &mut [f32], max: f32, nv: usize) -> f64 {
    let n = x.len();
    let mut sum = 0.0f64;
    let mut i = 0;
    while i < nv {
        let mut g = [0f32; 8];
        for (l, gl) in g.iter_mut().enumerate() {
            if i + l < n {
                *gl = expf_ggml(x[i + l] - max);
                x[i + l] = *gl;
            }
        }
        sum += hsum8(&g) as f64;
        i += 8;
    }
    for v in x[nv.min(n)..].iter_mut() {
        *v = expf(*v - max);
        sum += *v as f64;
    }
    sum
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_to_one_and_masks() {
        let mut x = [1.0f32, 2.0, f32::NEG_INFINITY, 3.0];
        softmax_masked(&mut x, 1.0, 4);
        assert_eq!(x[2], 0.0);
        assert!((x.iter().sum::<f32>() - 1.0).abs() < 1e-6);
        assert!(x[3] > x[1] && x[1] > x[0]);
    }

    #[test]
    fn scale_multiplies_first() {
        let mut a = [0.5f32, -1.25, 3.0, 0.0, 7.5];
        let mut b = a.map(|v| v * 0.125);
        softmax_masked(&mut a, 0.125, 9);
        softmax_masked(&mut b, 1.0, 9);
        assert_eq!(a.map(f32::to_bits), b.map(f32::to_bits));
    }

    /// The masked form equals the softmax of the row padded with `-inf` up to `n_row`.
    #[test]
    fn masked_equals_the_padded_row() {
        let mut s = 7u64;
        let mut next = || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            ((s >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        };
        for n in 1..80 {
            for pad in [0, 1, 5, 8, 13, 200] {
                let n_row = n + pad;
                let mut full = [f32::NEG_INFINITY; 300];
                for v in full[..n].iter_mut() {
                    *v = 8.0 * next();
                }
                let mut x = [0f32; 300];
                x[..n].copy_from_slice(&full[..n]);
                softmax_masked(&mut x[..n], 0.5, n_row);
                softmax_masked(&mut full[..n_row], 0.5, n_row);
                for i in 0..n {
                    assert_eq!(
                        x[i].to_bits(),
                        full[i].to_bits(),
                        "n {n} n_row {n_row} i {i}"
                    );
                }
                assert!(full[n..n_row].iter().all(|&p| p == 0.0));
            }
        }
    }
}

//! RMS norm times its weight, as llama.cpp's `build_norm` runs it (ggml `rms_norm_f32`, then
//! `mul` by the weight; the fused CPU op rounds the same way): the sum of `x²` (each square
//! in f32) accumulated in f64, `mean` rounded to f32, `scale = 1 / sqrtf(mean + eps)`,
//! `y = (x * scale) * w`.

use crate::block::F32;
use crate::math::sqrtf;

/// `out = x / sqrt(mean(x²) + eps) * weight`; `x`, `weight`, `out`: `[n]` (the common length;
/// the mean is over all of `x`).
#[inline]
pub(crate) fn rms_norm(x: &[f32], weight: &[F32], eps: f32, out: &mut [f32]) {
    let mut sum = 0.0f64;
    for &v in x {
        sum += (v * v) as f64;
    }
    let mean = (sum / x.len() as f64) as f32;
    let scale = 1.0 / sqrtf(mean + eps);
    for ((o, &v), w) in out.iter_mut().zip(x).zip(weight) {
        *o = v * scale * w.get();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constant_row_normalizes_to_its_weight() {
        let x = [2.0f32; 8];
        let w = [F32(3.0f32.to_le_bytes()); 8];
        let mut y = [0f32; 8];
        rms_norm(&x, &w, 0.0, &mut y);
        assert_eq!(y, [3.0; 8]);
    }
}

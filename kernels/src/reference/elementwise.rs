//! Element-wise f32 vector arithmetic of the forward pass: the residual and bias adds
//! (`ggml_vec_add_f32`) and the weighted accumulation of attention values (`ggml_vec_mad_f32`'s
//! scalar form: multiply, round, add; no fused multiply-add).

use crate::block::F32;

/// `x += y` element-wise (the common length). `y` as little-endian f32 (alignment 1), so
/// that a bias tensor is read in place; an `&[f32]` is viewed as such for free.
#[inline]
pub(crate) fn add(x: &mut [f32], y: &[F32]) {
    for (a, b) in x.iter_mut().zip(y) {
        *a += b.get();
    }
}

/// `y += a * x` element-wise (the common length), the product rounded before the add.
#[inline]
pub(crate) fn axpy(y: &mut [f32], a: f32, x: &[f32]) {
    for (o, &v) in y.iter_mut().zip(x) {
        *o += v * a;
    }
}

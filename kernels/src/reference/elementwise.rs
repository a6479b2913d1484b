//! Element-wise f32 vector arithmetic of the forward pass: the residual and bias adds
//! (`ggml_vec_add_f32`) and the weighted accumulation of attention values (`ggml_vec_mad_f32`'s
//! scalar form: multiply, round, add; no fused multiply-add).

use crate::block::{BlockQ8_0, F32};

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

/// `y = Σ_j p[j] · rows[j]` for Q8_0 rows `rows[j]` = the `y.len() / 32` blocks from block
/// `j * stride` (attention's weighted sum of values over a Q8_0 cache): `y` starts at 0 and
/// each row adds `(q · d) · p[j]` per element, in row order, each product rounded — the
/// bits of dequantizing each row and `axpy`-ing it in turn, without the row buffer.
/// Rows missing from `rows` (a short slice) are skipped; callers check lengths.
#[inline]
pub(crate) fn weighted_sum_q8_0(y: &mut [f32], p: &[f32], rows: &[BlockQ8_0], stride: usize) {
    let nb = y.len() / 32;
    y.fill(0.0);
    for (j, &pj) in p.iter().enumerate() {
        let Some(row) = rows.get(j * stride..j * stride + nb) else {
            break;
        };
        for (b, yc) in row.iter().zip(y.chunks_exact_mut(32)) {
            let d = b.d();
            for (o, &q) in yc.iter_mut().zip(&b.qs) {
                *o += (q as f32 * d) * pj;
            }
        }
    }
}

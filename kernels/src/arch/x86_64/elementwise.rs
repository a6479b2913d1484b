//! The element-wise float operations (RMS norm, adds, axpy, Q8_0 dequantization) are their
//! scalar references compiled with AVX2 enabled: per element they are one multiply or add
//! (Rust never fuses them into an FMA), and the RMS norm's f64 sum stays in order, so the
//! compiler's 8-lane loops give the reference's bits by construction. A hand-written kernel
//! would gain nothing: these loops are bound by memory, and they are a few thousand elements
//! per token against the millions of the matrix products.

use crate::block::{BlockFormat, BlockQ8_0, F32};
use crate::reference::{elementwise, norm};

/// `reference::norm::rms_norm` with AVX2 code generation.
#[target_feature(enable = "avx2,fma,f16c")]
pub(super) fn rms_norm(x: &[f32], weight: &[F32], eps: f32, out: &mut [f32]) {
    norm::rms_norm(x, weight, eps, out)
}

/// `reference::elementwise::add` with AVX2 code generation.
#[target_feature(enable = "avx2,fma,f16c")]
pub(super) fn add(x: &mut [f32], y: &[F32]) {
    elementwise::add(x, y)
}

/// `reference::elementwise::axpy` with AVX2 code generation.
#[target_feature(enable = "avx2,fma,f16c")]
pub(super) fn axpy(y: &mut [f32], a: f32, x: &[f32]) {
    elementwise::axpy(y, a, x)
}

/// `reference::elementwise::weighted_sum_q8_0` with AVX2 code generation.
#[target_feature(enable = "avx2,fma,f16c")]
pub(super) fn weighted_sum_q8_0(y: &mut [f32], p: &[f32], rows: &[BlockQ8_0], stride: usize) {
    elementwise::weighted_sum_q8_0(y, p, rows, stride)
}

/// `BlockQ8_0::dequantize` with AVX2 code generation.
#[target_feature(enable = "avx2,fma,f16c")]
pub(super) fn dequantize_q8_0(x: &[BlockQ8_0], out: &mut [f32]) {
    BlockQ8_0::dequantize(x, out)
}

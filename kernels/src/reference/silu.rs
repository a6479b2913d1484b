//! SwiGLU `out = silu(gate) * up` with ggml's numerics: `silu(x) = x / (1 + exp(0 - x))` with
//! [`expf_ggml`] over whole groups of 8 (`ggml_v_silu`) and libm `expf` for the tail
//! (`ggml_silu_f32`), then the product with `up` (`ggml_vec_swiglu_f32`).

use super::expf::expf_ggml;
use crate::math::expf;

/// `out = silu(gate) * up`, all `[n]` (the common length).
pub(crate) fn swiglu(gate: &[f32], up: &[f32], out: &mut [f32]) {
    let n = gate.len().min(up.len()).min(out.len());
    let nv = n & !7;
    for (i, ((o, &g), &u)) in out.iter_mut().zip(gate).zip(up).enumerate() {
        *o = if i < nv { silu_v(g) } else { silu1(g) } * u;
    }
}

/// One lane of `ggml_v_silu`.
#[inline(always)]
fn silu_v(v: f32) -> f32 {
    v / (1.0 + expf_ggml(0.0 - v))
}

/// `ggml_silu_f32` (libm `expf`).
#[inline(always)]
fn silu1(v: f32) -> f32 {
    v / (1.0 + expf(-v))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn silu_of_zero_and_large_values() {
        let g = [-2.0f32, 0.0, 3.0, 100.0, -100.0];
        let u = [1.0f32, 5.0, 2.0, 1.0, 1.0];
        let mut o = [9f32; 5];
        swiglu(&g, &u, &mut o);
        assert_eq!(o[1], 0.0);
        assert!((o[0] - (-2.0 / (1.0 + 2f32.exp()))).abs() < 1e-6);
        assert!((o[2] - 2.0 * 3.0 / (1.0 + (-3f32).exp())).abs() < 1e-5);
        assert_eq!(o[3], 100.0);
        assert!(o[4].abs() < 1e-30);
    }
}

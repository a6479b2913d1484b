//! ggml's vector exponential (`ggml_v_expf`: its NEON form, which computes exactly what the
//! AVX2 form and the scalar `reference::expf::expf_ggml` compute, lane for lane) and the two
//! operations built on it in ggml's aarch64 grouping (4 lanes): softmax of an attention row
//! and SwiGLU. Bit-identical to the scalar models in `crate::reference::aarch64::float`.

use super::util::*;
use crate::reference::aarch64::float::vec_len4;
use crate::reference::expf::*;
use core::arch::aarch64::*;

/// `ggml_v_expf` on 4 lanes; each lane equals `reference::expf::expf_ggml`.
#[inline]
#[target_feature(enable = "neon")]
fn v_expf(x: float32x4_t) -> float32x4_t {
    let dup = vdupq_n_f32;
    let r = dup(R);
    // z = x log2(e) + R; n = z - R (x / ln 2 rounded to an integer)
    let z = vfmaq_f32(r, x, dup(LOG2E));
    let n = vsubq_f32(z, r);
    // b = x - n ln2_hi - n ln2_lo
    let b = vfmsq_f32(vfmsq_f32(x, n, dup(LN2_HI)), n, dup(LN2_LO));
    let e = vshlq_n_u32::<23>(vreinterpretq_u32_f32(z));
    let k = vreinterpretq_f32_u32(vaddq_u32(e, vreinterpretq_u32_f32(dup(1.0))));
    // |n| > 126 (false for NaN, as x86's ordered compare)
    let c = vcagtq_f32(n, dup(126.0));
    let u = vmulq_f32(b, b);
    let j = vfmaq_f32(
        vmulq_f32(dup(C1), b),
        vfmaq_f32(
            vfmaq_f32(dup(C2), dup(C3), b),
            vfmaq_f32(dup(C4), dup(C5), b),
            u,
        ),
        u,
    );
    if vmaxvq_u32(c) == 0 {
        return vfmaq_f32(k, j, k);
    }
    let g = vandq_u32(vcleq_f32(n, vdupq_n_f32(0.0)), vdupq_n_u32(0x8200_0000));
    let s1 = vreinterpretq_f32_u32(vaddq_u32(g, vdupq_n_u32(0x7f00_0000)));
    let s2 = vreinterpretq_f32_u32(vsubq_u32(e, g));
    let d = vcagtq_f32(n, dup(192.0));
    vbslq_f32(
        d,
        vmulq_f32(s1, s1),
        vbslq_f32(c, vmulq_f32(vfmaq_f32(s2, s2, j), s1), vfmaq_f32(k, k, j)),
    )
}

/// Softmax of `scale · x` over a row of `n_row` entries masked past `x.len()`, in ggml's
/// aarch64 order (model: `reference::aarch64::float::softmax_masked`): the vector
/// exponential over groups of 4 (a partial group padded with `-inf`, whose exponential is 0),
/// each group's `vaddvq_f32` added in f64, libm for the rest.
#[target_feature(enable = "neon")]
pub(super) fn softmax_masked(x: &mut [f32], scale: f32, n_row: usize) {
    let n = x.len();
    let mut max = f32::NEG_INFINITY;
    for v in x.iter_mut() {
        *v *= scale;
        max = max.max(*v);
    }
    let nv = vec_len4(n, n_row);
    let vmax = vdupq_n_f32(max);
    let mut sum = 0.0f64;
    let mut i = 0;
    while i < nv {
        let mut t = [f32::NEG_INFINITY; 4];
        let m = n.saturating_sub(i).min(4);
        t[..m].copy_from_slice(&x[i..i + m]);
        let e = v_expf(vsubq_f32(load_f32(&t), vmax));
        store_f32(&mut t, e);
        x[i..i + m].copy_from_slice(&t[..m]);
        sum += vaddvq_f32(e) as f64;
        i += 4;
    }
    for v in x[nv.min(n)..].iter_mut() {
        *v = crate::math::expf(*v - max);
        sum += *v as f64;
    }
    let inv = (1.0 / sum) as f32;
    for v in x.iter_mut() {
        *v *= inv;
    }
}

/// SwiGLU `out = silu(gate) * up` with the vector exponential over groups of 4 and libm for
/// the tail (ggml's aarch64 `ggml_vec_swiglu_f32`; model: `reference::aarch64::float::swiglu`).
#[target_feature(enable = "neon")]
pub(super) fn swiglu(gate: &[f32], up: &[f32], out: &mut [f32]) {
    let n = gate.len().min(up.len()).min(out.len());
    let nv = n & !3;
    let one = vdupq_n_f32(1.0);
    let zero = vdupq_n_f32(0.0);
    let mut i = 0;
    while i < nv {
        let x = load_f32(&gate[i..]);
        let e = v_expf(vsubq_f32(zero, x));
        let s = vdivq_f32(x, vaddq_f32(one, e));
        store_f32(&mut out[i..], vmulq_f32(s, load_f32(&up[i..])));
        i += 4;
    }
    for j in nv..n {
        let g = gate[j];
        out[j] = g / (1.0 + crate::math::expf(-g)) * up[j];
    }
}

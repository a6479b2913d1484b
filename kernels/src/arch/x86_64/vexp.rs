//! ggml's AVX2 vector exponential (`ggml_v_expf`) and the two operations built on it:
//! softmax of an attention row and SwiGLU. Bit-identical to their scalar references
//! (`crate::reference::{expf, softmax, silu}`), which follow this code lane by lane.

use super::util::*;
use crate::reference::softmax::vec_len;
use core::arch::x86_64::*;

/// ggml's AVX2 `ggml_v_expf`, 8 lanes. Bit-identical to `reference::expf::expf_ggml` per lane.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
fn v_expf(x: __m256) -> __m256 {
    use crate::reference::expf::*;
    let set = _mm256_set1_ps;
    let r = set(R);
    let z = _mm256_fmadd_ps(x, set(LOG2E), r);
    let n = _mm256_sub_ps(z, r);
    let b = _mm256_fnmadd_ps(n, set(LN2_LO), _mm256_fnmadd_ps(n, set(LN2_HI), x));
    let e = _mm256_slli_epi32::<23>(_mm256_castps_si256(z));
    let k = _mm256_castsi256_ps(_mm256_add_epi32(e, _mm256_castps_si256(set(1.0))));
    let abs_n = _mm256_andnot_ps(set(-0.0), n);
    let c = _mm256_cmp_ps::<_CMP_GT_OQ>(abs_n, set(126.0));
    let u = _mm256_mul_ps(b, b);
    let j = _mm256_fmadd_ps(
        _mm256_fmadd_ps(
            _mm256_fmadd_ps(set(C5), b, set(C4)),
            u,
            _mm256_fmadd_ps(set(C3), b, set(C2)),
        ),
        u,
        _mm256_mul_ps(set(C1), b),
    );
    if _mm256_movemask_ps(c) == 0 {
        return _mm256_fmadd_ps(j, k, k);
    }
    let g = _mm256_and_si256(
        _mm256_castps_si256(_mm256_cmp_ps::<_CMP_LE_OQ>(n, _mm256_setzero_ps())),
        _mm256_set1_epi32(0x8200_0000u32 as i32),
    );
    let s1 = _mm256_castsi256_ps(_mm256_add_epi32(g, _mm256_set1_epi32(0x7f00_0000)));
    let s2 = _mm256_castsi256_ps(_mm256_sub_epi32(e, g));
    let d = _mm256_cmp_ps::<_CMP_GT_OQ>(abs_n, set(192.0));
    _mm256_or_ps(
        _mm256_and_ps(d, _mm256_mul_ps(s1, s1)),
        _mm256_andnot_ps(
            d,
            _mm256_or_ps(
                _mm256_and_ps(c, _mm256_mul_ps(_mm256_fmadd_ps(s2, j, s2), s1)),
                _mm256_andnot_ps(c, _mm256_fmadd_ps(k, j, k)),
            ),
        ),
    )
}

/// ggml's softmax of `scale · x` over a row of `n_row` entries whose entries past `x.len()`
/// are `-inf`, with the AVX2 exponential. Bit-identical to `reference::softmax::softmax_masked`.
#[target_feature(enable = "avx2,fma,f16c")]
pub(super) fn softmax_masked(x: &mut [f32], scale: f32, n_row: usize) {
    let n = x.len();
    let mut max = f32::NEG_INFINITY;
    for v in x.iter_mut() {
        *v *= scale;
        max = max.max(*v);
    }
    let nv = vec_len(n, n_row);
    let vmax = _mm256_set1_ps(max);
    let mut sum = 0.0f64;
    let mut i = 0;
    while i < nv {
        if i + 8 <= n {
            let v = v_expf(_mm256_sub_ps(load_ps(&x[i..]), vmax));
            store_ps(&mut x[i..], v);
            sum += hsum_ps(v) as f64;
        } else {
            let mut t = [f32::NEG_INFINITY; 8];
            t[..n - i].copy_from_slice(&x[i..n]);
            let v = v_expf(_mm256_sub_ps(load_ps(&t), vmax));
            store_ps(&mut t, v);
            x[i..n].copy_from_slice(&t[..n - i]);
            sum += hsum_ps(v) as f64;
        }
        i += 8;
    }
    for v in x[nv.min(n)..].iter_mut() {
        *v = crate::math::expf(*v - max);
        sum += *v as f64;
    }
    let inv = _mm256_set1_ps((1.0 / sum) as f32);
    let mut i = 0;
    while i + 8 <= n {
        let v = _mm256_mul_ps(load_ps(&x[i..]), inv);
        store_ps(&mut x[i..], v);
        i += 8;
    }
    let inv = (1.0 / sum) as f32;
    for v in x[i..].iter_mut() {
        *v *= inv;
    }
}

/// SwiGLU `out = silu(gate) * up` with `ggml_v_silu` over groups of 8 and libm for the tail
/// (ggml `ggml_vec_swiglu_f32`). Bit-identical to `reference::silu::swiglu`.
#[target_feature(enable = "avx2,fma,f16c")]
pub(super) fn swiglu(gate: &[f32], up: &[f32], out: &mut [f32]) {
    let n = gate.len().min(up.len()).min(out.len());
    let one = _mm256_set1_ps(1.0);
    let mut i = 0;
    while i + 8 <= n {
        let x = load_ps(&gate[i..]);
        let e = v_expf(_mm256_sub_ps(_mm256_setzero_ps(), x));
        let s = _mm256_div_ps(x, _mm256_add_ps(one, e));
        store_ps(&mut out[i..], _mm256_mul_ps(s, load_ps(&up[i..])));
        i += 8;
    }
    for j in i..n {
        let g = gate[j];
        out[j] = g / (1.0 + crate::math::expf(-g)) * up[j];
    }
}

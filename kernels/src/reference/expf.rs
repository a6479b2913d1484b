//! ggml's vector exponential, one lane: the constants and the scalar form of `ggml_v_expf`
//! (ggml-cpu `vec.h`, the x86 build), within ~1.5 ulp of the true value. Softmax and SiLU use
//! it over whole groups of 8 and libm `expf` for the rest, as ggml does.

use crate::math::fma;

/// `0x1.8p23`: adding it rounds to an integer.
pub(crate) const R: f32 = f32::from_bits(0x4b40_0000);
/// `log2(e)`.
pub(crate) const LOG2E: f32 = f32::from_bits(0x3fb8_aa3b);
/// `ln 2`, high part.
pub(crate) const LN2_HI: f32 = f32::from_bits(0x3f31_7200);
/// `ln 2`, low part.
pub(crate) const LN2_LO: f32 = f32::from_bits(0x35bf_be8e);
/// Polynomial coefficient of degree 5.
pub(crate) const C5: f32 = f32::from_bits(0x3c07_2010);
/// Degree 4.
pub(crate) const C4: f32 = f32::from_bits(0x3d2b_9f17);
/// Degree 3.
pub(crate) const C3: f32 = f32::from_bits(0x3e2a_af33);
/// Degree 2.
pub(crate) const C2: f32 = f32::from_bits(0x3eff_fedb);
/// Degree 1.
pub(crate) const C1: f32 = f32::from_bits(0x3f7f_fff6);

/// `exp(x)` exactly as one lane of ggml's AVX2 `ggml_v_expf` computes it: `-inf` gives 0,
/// `+inf` gives `+inf`, overflow and underflow saturate as ggml's, NaN stays NaN.
pub(crate) fn expf_ggml(x: f32) -> f32 {
    let z = fma(x, LOG2E, R);
    let n = z - R;
    let b = fma(-n, LN2_LO, fma(-n, LN2_HI, x));
    let e = z.to_bits() << 23;
    let k = f32::from_bits(e.wrapping_add(1.0f32.to_bits()));
    let u = b * b;
    let j = fma(fma(fma(C5, b, C4), u, fma(C3, b, C2)), u, C1 * b);
    // (NaN compares false here, as ggml's ordered compare.)
    let large = n.abs() > 126.0;
    if !large {
        return fma(j, k, k);
    }
    // Large |n|: scale in two steps so that 2^n does not overflow the exponent field.
    let g: u32 = if n <= 0.0 { 0x8200_0000 } else { 0 };
    let s1 = f32::from_bits(g.wrapping_add(0x7f00_0000));
    if n.abs() > 192.0 {
        return s1 * s1;
    }
    let s2 = f32::from_bits(e.wrapping_sub(g));
    fma(s2, j, s2) * s1
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::math::expf;

    #[test]
    fn close_to_libm_and_saturates_as_ggml() {
        let mut x = -110.0f32;
        while x < 88.0 {
            let (a, b) = (expf_ggml(x), expf(x));
            assert!(
                (a - b).abs() <= 4.0 * f32::EPSILON * b + 1e-44,
                "{x}: {a} vs {b}"
            );
            x += 0.0173;
        }
        assert_eq!(expf_ggml(0.0), 1.0);
        assert_eq!(expf_ggml(f32::NEG_INFINITY), 0.0);
        assert_eq!(expf_ggml(-200.0), 0.0);
        assert_eq!(expf_ggml(f32::INFINITY), f32::INFINITY);
        assert!(expf_ggml(f32::NAN).is_nan());
    }
}

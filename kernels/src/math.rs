//! Scalar float math in one place: the platform libm under `std` (the same glibc `expf`,
//! `sqrtf`… that llama.cpp calls on Linux), the `libm` crate (a port of musl) without it.
//! Results agree to ~1 ulp between the two; ggml itself uses the platform libm.

#[cfg(feature = "std")]
mod imp {
    #[inline]
    pub fn expf(x: f32) -> f32 {
        x.exp()
    }
    #[inline]
    pub fn sqrtf(x: f32) -> f32 {
        x.sqrt()
    }
    #[inline]
    pub fn roundf(x: f32) -> f32 {
        x.round()
    }
}

#[cfg(not(feature = "std"))]
mod imp {
    pub use libm::{expf, roundf, sqrtf};
}

pub(crate) use imp::*;

/// Fused multiply-add `a * b + c` with one rounding (exact, as the `vfmadd` / `fmla`
/// instructions ggml's kernels use): the platform's `fmaf` under `std`, the `libm` crate's
/// without it (both correctly rounded).
#[inline(always)]
pub(crate) fn fma(a: f32, b: f32, c: f32) -> f32 {
    #[cfg(feature = "std")]
    {
        a.mul_add(b, c)
    }
    #[cfg(not(feature = "std"))]
    {
        libm::fmaf(a, b, c)
    }
}

/// Round to nearest, ties to even (x86 `roundps` with `_MM_ROUND_NEAREST`), in `core`.
#[inline(always)]
pub(crate) fn round_ties_even(x: f32) -> f32 {
    const BIG: f32 = 8_388_608.0; // 2^23: above it every f32 is an integer
    if x.abs() < BIG {
        let b = BIG.copysign(x);
        (x + b) - b
    } else {
        x
    }
}

/// `_mm256_cvtps_epi32` of an already rounded value: NaN or out of range gives `i32::MIN`.
#[inline(always)]
pub(crate) fn cvtps_epi32(v: f32) -> i32 {
    if (-2_147_483_648.0..2_147_483_648.0).contains(&v) {
        v as i32
    } else {
        i32::MIN
    }
}

/// ggml's `nearest_int`: round to nearest, ties to even, by adding 1.5·2²³ and reading the
/// mantissa bits. Valid (and identical to `round_ties_even`) for |x| ≤ 2²²; outside that range
/// it returns what ggml's bit trick returns (ggml asserts it never happens), NaN included.
#[inline]
pub(crate) fn nearest_int(x: f32) -> i32 {
    let v = x + 12_582_912.0;
    (v.to_bits() & 0x007f_ffff) as i32 - 0x0040_0000
}

/// `(int8_t)(f)` as gcc compiles it on x86: truncate toward zero to i32 (`cvttss2si`, which
/// gives `i32::MIN` for NaN and out-of-range values), then keep the low byte.
#[inline]
pub(crate) fn c_f32_to_i8(f: f32) -> i8 {
    cvtps_epi32(f) as i8
}

/// `(uint8_t)(f)` as gcc compiles it on x86 (truncate to i32, keep the low byte).
#[inline]
pub(crate) fn c_f32_to_u8(f: f32) -> u8 {
    c_f32_to_i8(f) as u8
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_int_is_ties_to_even() {
        for &(x, want) in &[
            (0.5f32, 0),
            (1.5, 2),
            (2.5, 2),
            (-0.5, 0),
            (-1.5, -2),
            (-2.5, -2),
            (126.6, 127),
            (-127.0, -127),
            (3.49, 3),
        ] {
            assert_eq!(nearest_int(x), want, "x = {x}");
            assert_eq!(nearest_int(x), x.round_ties_even() as i32);
            assert_eq!(round_ties_even(x), x.round_ties_even());
        }
    }

    #[test]
    fn c_casts_truncate() {
        assert_eq!(c_f32_to_i8(8.9), 8);
        assert_eq!(c_f32_to_i8(-0.7), 0);
        assert_eq!(c_f32_to_i8(f32::NAN), 0); // low byte of i32::MIN
        assert_eq!(c_f32_to_u8(300.0), 44); // 300 mod 256
    }
}

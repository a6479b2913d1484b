//! x86-64 back end: AVX2 + FMA + F16C (Haswell and later, Zen and later).
//!
//! [`Avx2Fma`] is the capability token. Kernels live in one file per format family; each is
//! an `unsafe fn` with `#[target_feature(enable = "avx2,fma,f16c")]` whose only safety
//! condition is that the CPU has those features, which the token proves.
//!
//! Numerics: integer parts (quant × activation products, per-block / per-sub-block sums,
//! scale × sum products) are exact and equal the scalar reference; the f32 accumulation uses
//! FMA and 8 lanes, so the result differs from the reference only by f32 rounding of the
//! per-block terms (tests bound it; see `tests/common`).

use super::Isa;
#[allow(unused_imports)]
use crate::block::*;

/// Proof that the CPU supports AVX2, FMA and F16C. Only [`Avx2Fma::detect`] makes one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Avx2Fma {
    _private: (),
}

impl Avx2Fma {
    /// `Some` if this CPU has AVX2, FMA and F16C: checked at run time with `std`, from the
    /// compile-time target features without it.
    pub fn detect() -> Option<Self> {
        #[cfg(feature = "std")]
        let ok = std::is_x86_feature_detected!("avx2")
            && std::is_x86_feature_detected!("fma")
            && std::is_x86_feature_detected!("f16c");
        #[cfg(not(feature = "std"))]
        let ok = cfg!(all(
            target_feature = "avx2",
            target_feature = "fma",
            target_feature = "f16c"
        ));
        ok.then_some(Avx2Fma { _private: () })
    }
}

impl Isa for Avx2Fma {
    fn name(self) -> &'static str {
        "avx2"
    }
}

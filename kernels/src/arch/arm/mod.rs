//! Cortex-M back ends: the DSP extension (`SXTB16` / `SMLAD` packed 16-bit multiply-
//! accumulates: Armv7E-M and Armv8-M Mainline cores with DSP, i.e. Cortex-M4F, M7, M33,
//! M35P) and Helium (MVE, Armv8.1-M Mainline: Cortex-M55, M85, 128-bit vectors, `VMLADAV`).
//!
//! Two capability tokens, [`Dsp`] (name `"dsp"`) and [`Mve`] (name `"mve"`; every Helium
//! core has the DSP extension, so an `Mve` holds a `Dsp`). They accelerate the dot products
//! of the formats the MCU models use: Q4_0 · Q8_0 and Q8_0 · Q8_0 (the tiny test models,
//! R1-Distill's heads) and Q4_1 · Q8_1 (SmolLM2-135M); every other kernel is the scalar
//! reference (the `Isa` defaults).
//!
//! # How a board selects them
//!
//! An MCU has no CPUID, so there is no run-time detection: a token exists iff the crate was
//! compiled for a core with the extension. Stable Rust does not report Arm's `dsp` / `mve`
//! target features to `cfg(target_feature)`, so `build.rs` derives `cfg(bague_arm_dsp)` and
//! `cfg(bague_arm_mve)` from the build's target and flags: `thumbv7em-*` (Armv7E-M always has
//! DSP), or `-C target-cpu=cortex-m4 | m7 | m33 | m35p | m55 | m85` (DSP) and
//! `cortex-m55 | m85` (Helium), or `-C target-feature=+dsp` / `+mve`. A board therefore
//! selects the kernels with its `target-cpu` (e.g. `boards/ring/.cargo/config.toml` builds
//! for `cortex-m33`, so it gets `dsp`); `-C target-feature=-dsp,-mve` turns them off.
//! [`Dsp::detect`] / [`Mve::detect`] return `Some` exactly in those builds;
//! `Kernels::detect()` then picks `mve`, else `dsp`, else scalar, and `Kernels::by_name("dsp")`
//! is `Some` in a DSP or Helium build (a board's `BoardSpec::kernels` names the one it
//! prefers). The instructions are emitted with stable `asm!`, which the assembler accepts
//! only when the target CPU has them, so a build without the extension cannot contain them.
//!
//! # Numerics
//!
//! The integer sum of each 32-element block (`Σ q·a`) is exact (packed 16-bit products
//! and 32-bit accumulation cannot overflow for any block bytes), and the f32 terms are the
//! reference's expression added in the reference's order, without fused multiply-add, so
//! every result equals the scalar reference **bit for bit** (NaN and Inf scales included:
//! the f16 scales are converted with `VCVTB.F32.F16`, which like the reference keeps a NaN's
//! payload and sets its quiet bit). `kernels/mcu-test` checks this under qemu.
//!
//! The four-row (`_x4`) and multi-row (`matvec`) entries use the `Isa` defaults, i.e. one
//! `vec_dot` per row: the same bits by construction.

/// A back end's three entry points — Q4_0 · Q8_0, Q4_1 · Q8_1, Q8_0 · Q8_0 — over the
/// integer block sums `sum_q4_0`, `sum_q4_1` and `sum_i8x32` of the module that invokes it
/// (`unsafe fn(x, y) -> i32`, each the exact sum of one 32-element block); the f32 terms are
/// the reference's expression added in the reference's order. A macro, not generic
/// functions over the sums: each back end keeps plain functions, inlined into their callers
/// as before (a generic version changed LLVM's inlining in `kernels/mcu-test`, 2 more
/// instructions per Q4 block on the Cortex-M4 and M33 in `ci/mcu.sh`).
#[cfg(bague_arm_dsp)]
macro_rules! block_loops {
    () => {
        /// Q4_0 · Q8_0, the bits of `BlockQ4_0::vec_dot_ref`.
        pub(super) fn vec_dot_q4_0(w: &[BlockQ4_0], a: &[BlockQ8_0]) -> f32 {
            debug_check_len(w.len(), a.len());
            let mut sum = 0.0f32;
            for (x, y) in w.iter().zip(a) {
                // SAFETY: `qs` arrays of 16 and 32 bytes.
                let sumi = unsafe { sum_q4_0(x.qs.as_ptr(), y.qs.as_ptr()) };
                sum += sumi as f32 * scale_product(x.d, y.d);
            }
            sum
        }

        /// Q4_1 · Q8_1, the bits of `BlockQ4_1::vec_dot_ref`.
        pub(super) fn vec_dot_q4_1(w: &[BlockQ4_1], a: &[BlockQ8_1]) -> f32 {
            debug_check_len(w.len(), a.len());
            let mut sum = 0.0f32;
            for (x, y) in w.iter().zip(a) {
                // SAFETY: `qs` arrays of 16 and 32 bytes.
                let sumi = unsafe { sum_q4_1(x.qs.as_ptr(), y.qs.as_ptr()) };
                sum += scale_product(x.d, y.d) * sumi as f32 + scale_product(x.m, y.s);
            }
            sum
        }

        /// Q8_0 · Q8_0, the bits of `BlockQ8_0::vec_dot_ref`.
        pub(super) fn vec_dot_q8_0(w: &[BlockQ8_0], a: &[BlockQ8_0]) -> f32 {
            debug_check_len(w.len(), a.len());
            let mut sum = 0.0f32;
            for (x, y) in w.iter().zip(a) {
                // SAFETY: `qs` arrays of 32 bytes each.
                let sumi = unsafe { sum_i8x32(x.qs.as_ptr(), y.qs.as_ptr()) };
                sum += sumi as f32 * scale_product(x.d, y.d);
            }
            sum
        }
    };
}

#[cfg(bague_arm_dsp)]
mod dsp;
#[cfg(bague_arm_mve)]
mod mve;

use super::Isa;
use crate::block::*;

/// Proof that the core has the Arm DSP extension (`SXTB16`, `SMLAD`). Only [`Dsp::detect`]
/// makes one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Dsp {
    _private: (),
}

impl Dsp {
    /// `Some` iff this build targets a little-endian core with the DSP extension (module
    /// docs: decided at compile time, the same answer with or without `std`).
    pub fn detect() -> Option<Self> {
        (cfg!(bague_arm_dsp) && cfg!(target_endian = "little")).then_some(Dsp { _private: () })
    }
}

/// Proof that the core has Helium (M-profile Vector Extension, integer) and the DSP
/// extension. Only [`Mve::detect`] makes one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mve {
    dsp: Dsp,
}

impl Mve {
    /// `Some` iff this build targets a little-endian Helium core (module docs).
    pub fn detect() -> Option<Self> {
        let dsp = Dsp::detect()?;
        cfg!(bague_arm_mve).then_some(Mve { dsp })
    }

    /// The DSP token (every Helium core has the DSP extension).
    pub fn dsp(self) -> Dsp {
        self.dsp
    }
}

impl Isa for Dsp {
    fn name(self) -> &'static str {
        "dsp"
    }

    #[inline]
    fn vec_dot_q4_0(self, w: &[BlockQ4_0], a: &[BlockQ8_0]) -> f32 {
        #[cfg(bague_arm_dsp)]
        {
            dsp::vec_dot_q4_0(w, a)
        }
        #[cfg(not(bague_arm_dsp))]
        {
            BlockQ4_0::vec_dot_ref(w, a)
        }
    }

    #[inline]
    fn vec_dot_q4_1(self, w: &[BlockQ4_1], a: &[BlockQ8_1]) -> f32 {
        #[cfg(bague_arm_dsp)]
        {
            dsp::vec_dot_q4_1(w, a)
        }
        #[cfg(not(bague_arm_dsp))]
        {
            BlockQ4_1::vec_dot_ref(w, a)
        }
    }

    #[inline]
    fn vec_dot_q8_0(self, w: &[BlockQ8_0], a: &[BlockQ8_0]) -> f32 {
        #[cfg(bague_arm_dsp)]
        {
            dsp::vec_dot_q8_0(w, a)
        }
        #[cfg(not(bague_arm_dsp))]
        {
            BlockQ8_0::vec_dot_ref(w, a)
        }
    }
}

impl Isa for Mve {
    fn name(self) -> &'static str {
        "mve"
    }

    #[inline]
    fn vec_dot_q4_0(self, w: &[BlockQ4_0], a: &[BlockQ8_0]) -> f32 {
        #[cfg(bague_arm_mve)]
        {
            mve::vec_dot_q4_0(w, a)
        }
        #[cfg(not(bague_arm_mve))]
        {
            self.dsp.vec_dot_q4_0(w, a)
        }
    }

    #[inline]
    fn vec_dot_q4_1(self, w: &[BlockQ4_1], a: &[BlockQ8_1]) -> f32 {
        #[cfg(bague_arm_mve)]
        {
            mve::vec_dot_q4_1(w, a)
        }
        #[cfg(not(bague_arm_mve))]
        {
            self.dsp.vec_dot_q4_1(w, a)
        }
    }

    #[inline]
    fn vec_dot_q8_0(self, w: &[BlockQ8_0], a: &[BlockQ8_0]) -> f32 {
        #[cfg(bague_arm_mve)]
        {
            mve::vec_dot_q8_0(w, a)
        }
        #[cfg(not(bague_arm_mve))]
        {
            self.dsp.vec_dot_q8_0(w, a)
        }
    }
}

/// `f16(hx) * f16(hy)` in f32 (each conversion exact, one rounding for the product: the
/// reference's `x.d() * y.d()`), with `VCVTB.F32.F16` instead of the reference's bit
/// manipulation.
///
/// The Cortex-M4/M33 FPU is single precision, where stable Rust offers no register class
/// for `s` registers (`sreg` needs double-precision `vfp2`), so the asm borrows `s0`/`s1`
/// and restores them (an asm block may use any register it gives back unchanged).
#[cfg(bague_arm_dsp)]
#[inline(always)]
fn scale_product(hx: [u8; 2], hy: [u8; 2]) -> f32 {
    let r: u32;
    // SAFETY: register-only arithmetic; `s0`/`s1` are saved in general registers and
    // restored before the block ends, every other register is declared. eabihf targets
    // have the FPU, whose FPv4/FPv5 has the half-precision conversions.
    unsafe {
        core::arch::asm!(
            "vmov {t0}, s0",
            "vmov {t1}, s1",
            "vmov s0, {hx}",
            "vmov s1, {hy}",
            "vcvtb.f32.f16 s0, s0",
            "vcvtb.f32.f16 s1, s1",
            "vmul.f32 s0, s0, s1",
            "vmov {r}, s0",
            "vmov s0, {t0}",
            "vmov s1, {t1}",
            hx = in(reg) u32::from(u16::from_le_bytes(hx)),
            hy = in(reg) u32::from(u16::from_le_bytes(hy)),
            t0 = out(reg) _,
            t1 = out(reg) _,
            r = lateout(reg) r,
            options(pure, nomem, nostack),
        );
    }
    f32::from_bits(r)
}

//! Small NEON building blocks shared by the kernels of this folder: loads, the signed-byte dot
//! product in its two flavours ([`Mull`] for every AArch64 core, [`Sdot`] for cores with the
//! dotprod extension), nibble / bit unpacking and half-precision conversion.
//!
//! Everything is `#[target_feature(enable = "neon")]` and `#[inline]`: it is inlined into the
//! kernels, which carry the same feature (or a superset). The `sdot` instruction is emitted with
//! `asm!` because `vdotq_s32` is not stable Rust yet.

use core::arch::aarch64::*;
use core::arch::asm;

/// Load 16 bytes (no alignment needed).
#[inline]
#[target_feature(enable = "neon")]
pub(super) fn load_u8<T: bytemuck::Pod>(p: &[T]) -> uint8x16_t {
    let b: &[u8] = bytemuck::cast_slice(p);
    assert!(b.len() >= 16);
    // SAFETY: `b` has at least 16 readable bytes (checked above; the check folds away for the
    // fixed-size arrays the kernels pass); `ld1` has no alignment requirement.
    unsafe { vld1q_u8(b.as_ptr()) }
}

/// Load 16 signed bytes (no alignment needed).
#[inline]
#[target_feature(enable = "neon")]
pub(super) fn load_s8(p: &[i8]) -> int8x16_t {
    assert!(p.len() >= 16);
    // SAFETY: 16 readable bytes (checked above); no alignment requirement.
    unsafe { vld1q_s8(p.as_ptr()) }
}

/// Load the 16 little-endian i16 `bsums` of a Q8_K block as two vectors (lanes are
/// little-endian: the back end is only built for little-endian targets).
#[inline]
#[target_feature(enable = "neon")]
pub(super) fn load_bsums(b: &[[u8; 2]; 16]) -> (int16x8_t, int16x8_t) {
    (
        vreinterpretq_s16_u8(load_u8(&b[..8])),
        vreinterpretq_s16_u8(load_u8(&b[8..])),
    )
}

/// Load 4 f32 (no alignment needed).
#[inline]
#[target_feature(enable = "neon")]
pub(super) fn load_f32(p: &[f32]) -> float32x4_t {
    assert!(p.len() >= 4);
    // SAFETY: 4 readable floats (checked above).
    unsafe { vld1q_f32(p.as_ptr()) }
}

/// Store 16 bytes.
#[inline]
#[target_feature(enable = "neon")]
pub(super) fn store_s8(p: &mut [i8], v: int8x16_t) {
    assert!(p.len() >= 16);
    // SAFETY: 16 writable bytes behind a unique reference (checked above).
    unsafe { vst1q_s8(p.as_mut_ptr(), v) }
}

/// Store 4 f32.
#[inline]
#[target_feature(enable = "neon")]
pub(super) fn store_f32(p: &mut [f32], v: float32x4_t) {
    assert!(p.len() >= 4);
    // SAFETY: 4 writable floats behind a unique reference (checked above).
    unsafe { vst1q_f32(p.as_mut_ptr(), v) }
}

/// A 16-byte constant as a vector.
#[inline]
#[target_feature(enable = "neon")]
pub(super) fn bytes16(b: [u8; 16]) -> uint8x16_t {
    load_u8(&b)
}

/// Signed-byte dot product into four i32 lanes: `Σ lanes(dot(acc, a, b)) = Σ lanes(acc) +
/// Σ_k a[k] b[k]`. How the 16 products are spread over the lanes differs between
/// implementations; kernels only ever use the sum of the four lanes, which is exact.
pub(super) trait DotI8: Copy {
    /// Any `a`, `b`.
    ///
    /// # Safety
    /// The CPU must support NEON, and the extension of the implementation ([`Sdot`]: dotprod).
    unsafe fn dot(acc: int32x4_t, a: int8x16_t, b: int8x16_t) -> int32x4_t;

    /// As [`DotI8::dot`], for operands where `a[k] == b[k] == -128` never happens (one side
    /// is a weight of a format whose quants are above -128: every format but Q8_0). This lets
    /// the baseline add two products in 16 bits.
    ///
    /// # Safety
    /// As [`DotI8::dot`].
    unsafe fn dot_small(acc: int32x4_t, a: int8x16_t, b: int8x16_t) -> int32x4_t;
}

/// Baseline AArch64: widening multiplies (`smull`, `smull2`) and pairwise accumulation
/// (`sadalp`).
#[derive(Clone, Copy)]
pub(super) struct Mull;

/// The dotprod extension (Armv8.2 optional, Armv8.4 mandatory): one `sdot` per 16 products.
#[derive(Clone, Copy)]
pub(super) struct Sdot;

impl DotI8 for Mull {
    #[inline]
    #[target_feature(enable = "neon")]
    unsafe fn dot(acc: int32x4_t, a: int8x16_t, b: int8x16_t) -> int32x4_t {
        // |a b| ≤ 2^14 fits i16; the pairs are summed in 32 bits by `sadalp`.
        let lo = vmull_s8(vget_low_s8(a), vget_low_s8(b));
        let hi = vmull_high_s8(a, b);
        vpadalq_s16(vpadalq_s16(acc, lo), hi)
    }

    #[inline]
    #[target_feature(enable = "neon")]
    unsafe fn dot_small(acc: int32x4_t, a: int8x16_t, b: int8x16_t) -> int32x4_t {
        // Without a -128 × -128 pair each product is ≤ 127 · 128 = 16256, so two of them
        // (≤ 32512) fit the i16 lane of `smlal2`.
        let p = vmlal_high_s8(vmull_s8(vget_low_s8(a), vget_low_s8(b)), a, b);
        vpadalq_s16(acc, p)
    }
}

impl DotI8 for Sdot {
    #[inline]
    #[target_feature(enable = "neon")]
    unsafe fn dot(acc: int32x4_t, a: int8x16_t, b: int8x16_t) -> int32x4_t {
        let mut acc = acc;
        // SAFETY: `sdot` needs the dotprod extension, which the caller guarantees; it reads
        // and writes only the named vector registers. The directive lets the assembler accept
        // `sdot` wherever this ends up (a copy that is not inlined has only `neon` enabled).
        unsafe {
            asm!(
                ".arch_extension dotprod",
                "sdot {acc:v}.4s, {a:v}.16b, {b:v}.16b",
                acc = inout(vreg) acc,
                a = in(vreg) a,
                b = in(vreg) b,
                options(pure, nomem, nostack, preserves_flags)
            );
        }
        acc
    }

    #[inline]
    #[target_feature(enable = "neon")]
    unsafe fn dot_small(acc: int32x4_t, a: int8x16_t, b: int8x16_t) -> int32x4_t {
        // SAFETY: as `dot`, the caller's contract.
        unsafe { Self::dot(acc, a, b) }
    }
}

/// Low and high nibbles of 16 bytes.
#[inline]
#[target_feature(enable = "neon")]
pub(super) fn nibbles(q: uint8x16_t) -> (uint8x16_t, uint8x16_t) {
    (vandq_u8(q, vdupq_n_u8(0x0f)), vshrq_n_u8::<4>(q))
}

/// Spread 32 bits (bit `j` → element `j`) over two byte masks: `0xff` where the bit is set,
/// elements 0..16 in the first vector, 16..32 in the second.
#[inline]
#[target_feature(enable = "neon")]
pub(super) fn bit_masks32(bits: u32) -> (uint8x16_t, uint8x16_t) {
    let v = vreinterpretq_u8_u32(vdupq_n_u32(bits));
    // byte k of `bits` goes to lanes 8k..8k+8 (within each vector), then lane l tests bit l % 8
    let sel_lo = bytes16([0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1]);
    let sel_hi = bytes16([2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3]);
    let bit = bytes16([1, 2, 4, 8, 16, 32, 64, 128, 1, 2, 4, 8, 16, 32, 64, 128]);
    (
        vtstq_u8(vqtbl1q_u8(v, sel_lo), bit),
        vtstq_u8(vqtbl1q_u8(v, sel_hi), bit),
    )
}

/// Reinterpret unsigned bytes as signed.
#[inline]
#[target_feature(enable = "neon")]
pub(super) fn s8(v: uint8x16_t) -> int8x16_t {
    vreinterpretq_s8_u8(v)
}

/// Sum of the four lanes of `p0`, `p1`, `p2`, `p3` as the four lanes of one vector.
#[inline]
#[target_feature(enable = "neon")]
pub(super) fn sums4(p0: int32x4_t, p1: int32x4_t, p2: int32x4_t, p3: int32x4_t) -> int32x4_t {
    vpaddq_s32(vpaddq_s32(p0, p1), vpaddq_s32(p2, p3))
}

/// Widen 8 signed bytes to two vectors of four i32.
#[inline]
#[target_feature(enable = "neon")]
pub(super) fn widen_i8x8(v: int8x8_t) -> (int32x4_t, int32x4_t) {
    let w = vmovl_s8(v);
    (vmovl_s16(vget_low_s16(w)), vmovl_high_s16(w))
}

/// One IEEE half (little-endian bytes) as f32, exact (`fcvt`, base Armv8 FP).
#[inline]
#[target_feature(enable = "neon")]
pub(super) fn f16(b: [u8; 2]) -> f32 {
    let h = u16::from_le_bytes(b);
    let r: f32;
    // SAFETY: `fcvt` between half and single precision is part of the base Armv8 FP unit,
    // present with NEON; it touches only the named registers.
    unsafe {
        asm!(
            "fcvt {r:s}, {h:h}",
            r = lateout(vreg) r,
            h = in(vreg) h,
            options(pure, nomem, nostack, preserves_flags)
        );
    }
    r
}

/// Four halves (bits, lane 0 lowest) as four f32, exact (`fcvtl`).
#[inline]
#[target_feature(enable = "neon")]
pub(super) fn f16x4_to_f32(h: uint16x4_t) -> float32x4_t {
    let r: float32x4_t;
    // SAFETY: `fcvtl` is base AdvSIMD; registers only.
    unsafe {
        asm!(
            "fcvtl {r:v}.4s, {h:v}.4h",
            r = lateout(vreg) r,
            h = in(vreg) h,
            options(pure, nomem, nostack, preserves_flags)
        );
    }
    r
}

/// Four f32 to four halves (bits), rounding as the FPCR says: to nearest, ties to even, in
/// every AArch64 user space (`fcvtn`; NaN stays NaN, quiet, top payload bits kept).
#[inline]
#[target_feature(enable = "neon")]
pub(super) fn f32_to_f16x4(x: float32x4_t) -> uint16x4_t {
    let r: uint16x4_t;
    // SAFETY: `fcvtn` is base AdvSIMD; registers only.
    unsafe {
        asm!(
            "fcvtn {r:v}.4h, {x:v}.4s",
            r = lateout(vreg) r,
            x = in(vreg) x,
            options(pure, nomem, nostack, preserves_flags)
        );
    }
    r
}

/// Cut a weight row and `N` activation rows to their common length (debug builds assert that
/// they are equal, as the reference does), so kernels can index `a[j][i]` for `i < w.len()`.
#[inline]
pub(super) fn trim<'a, W, A, const N: usize>(
    w: &'a [W],
    a: [&'a [A]; N],
) -> (&'a [W], [&'a [A]; N]) {
    for r in &a {
        crate::block::debug_check_len(w.len(), r.len());
    }
    let n = a.iter().fold(w.len(), |m, r| m.min(r.len()));
    (&w[..n], a.map(|r| &r[..n]))
}

/// ggml's horizontal sum of an 8-lane f32 vector held as two halves (lanes `0..4` in `lo`,
/// `4..8` in `hi`): `((l0 + l4) + (l2 + l6)) + ((l1 + l5) + (l3 + l7))`, x86's
/// `hsum_float_8` pairing.
#[inline]
#[target_feature(enable = "neon")]
pub(super) fn hsum8(lo: float32x4_t, hi: float32x4_t) -> f32 {
    let r = vaddq_f32(lo, hi);
    let t = vadd_f32(vget_low_f32(r), vget_high_f32(r));
    vget_lane_f32::<0>(t) + vget_lane_f32::<1>(t)
}

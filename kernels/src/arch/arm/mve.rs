//! Helium (MVE) kernels: each 32-element block's integer sum with 128-bit loads of 16 bytes
//! (`VLDRB`) and `VMLADAV` / `VMLADAVA` (16 byte products summed across the vector into a
//! 32-bit general register), one `asm!` block per block of weights; the f32 part in the
//! reference's expression and order (see the parent module). Nibbles are split with `VAND`
//! / `VSHR`; Q4_0's offset 8 goes with a vector − scalar `VSUB`, Q4_1's nibbles are the
//! unsigned quants already (`VMLADAV.S8` reads them as non-negative bytes). Exact for any
//! bytes: a block's sum is at most 32 · 128 · 128 in magnitude. Vector registers `q0`–`q3`
//! are declared as their `d0`–`d7` halves (stable Rust has no register class for MVE's `q`
//! registers); the sum goes to `r12`, since `VMLADAV` needs an even-numbered destination.

use super::scale_product;
use crate::block::*;

/// Σ x[i]·y[i] over 32 signed bytes.
///
/// # Safety
/// `x` and `y` must be readable for 32 bytes.
#[inline(always)]
unsafe fn sum_i8x32(x: *const i8, y: *const i8) -> i32 {
    let acc: i32;
    // SAFETY: reads 32 bytes from each pointer (caller's contract); the vector registers it
    // writes are declared. Needs MVE (this module exists only in Helium builds).
    unsafe {
        core::arch::asm!(
            "vldrb.s8 q0, [{x}]",
            "vldrb.s8 q1, [{y}]",
            "vldrb.s8 q2, [{x}, #16]",
            "vldrb.s8 q3, [{y}, #16]",
            "vmladav.s8 r12, q0, q1",
            "vmladava.s8 r12, q2, q3",
            x = in(reg) x,
            y = in(reg) y,
            out("r12") acc,
            out("d0") _, out("d1") _, out("d2") _, out("d3") _,
            out("d4") _, out("d5") _, out("d6") _, out("d7") _,
            options(pure, readonly, nostack),
        );
    }
    acc
}

/// Σ (nibble − 8)·y over one Q4_0 block's 16 nibble bytes (`x`: low nibble of byte `j` with
/// `y[j]`, high with `y[j + 16]`) and 32 activation bytes.
///
/// # Safety
/// `x` readable for 16 bytes, `y` for 32.
#[inline(always)]
unsafe fn sum_q4_0(x: *const u8, y: *const i8) -> i32 {
    let acc: i32;
    // SAFETY: reads 16 bytes at `x` and 32 at `y` (caller's contract); the vector registers
    // it writes are declared. Needs MVE (this module exists only in Helium builds).
    unsafe {
        core::arch::asm!(
            "vldrb.u8 q0, [{x}]",
            "vmov.i8 q3, #0xf",
            "vldrb.s8 q1, [{y}]",
            "vand q3, q0, q3",
            "vldrb.s8 q2, [{y}, #16]",
            "vshr.u8 q0, q0, #4",
            "vsub.i8 q3, q3, {eight}",
            "vsub.i8 q0, q0, {eight}",
            "vmladav.s8 r12, q3, q1",
            "vmladava.s8 r12, q0, q2",
            x = in(reg) x,
            y = in(reg) y,
            eight = in(reg) 8u32,
            out("r12") acc,
            out("d0") _, out("d1") _, out("d2") _, out("d3") _,
            out("d4") _, out("d5") _, out("d6") _, out("d7") _,
            options(pure, readonly, nostack),
        );
    }
    acc
}

/// Σ nibble·y over one Q4_1 block (layout as [`sum_q4_0`], nibbles unsigned).
///
/// # Safety
/// `x` readable for 16 bytes, `y` for 32.
#[inline(always)]
unsafe fn sum_q4_1(x: *const u8, y: *const i8) -> i32 {
    let acc: i32;
    // SAFETY: reads 16 bytes at `x` and 32 at `y` (caller's contract); the vector registers
    // it writes are declared. Needs MVE (this module exists only in Helium builds).
    unsafe {
        core::arch::asm!(
            "vldrb.u8 q0, [{x}]",
            "vmov.i8 q3, #0xf",
            "vldrb.s8 q1, [{y}]",
            "vand q3, q0, q3",
            "vldrb.s8 q2, [{y}, #16]",
            "vshr.u8 q0, q0, #4",
            "vmladav.s8 r12, q3, q1",
            "vmladava.s8 r12, q0, q2",
            x = in(reg) x,
            y = in(reg) y,
            out("r12") acc,
            out("d0") _, out("d1") _, out("d2") _, out("d3") _,
            out("d4") _, out("d5") _, out("d6") _, out("d7") _,
            options(pure, readonly, nostack),
        );
    }
    acc
}

block_loops!();

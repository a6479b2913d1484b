//! DSP-extension kernels: each 32-element block's integer sum with `SXTB16` (two signed bytes
//! → two 16-bit lanes) and `SMLAD` (two 16 × 16 products added to a 32-bit accumulator),
//! four elements per word, in one `asm!` block per block of weights (unrolled in the
//! template, not with `.rept`: LLVM sizes inline asm by its lines when it places constant
//! pools); the f32 part in the reference's expression and order (see the parent module).
//!
//! Nibble weights skip the sign extension: `AND` with a shifted operand puts a nibble in the
//! top bits of each 16-bit lane (a Q4_0 nibble `q`, flipped with `q ^ 8`, reads there as
//! `4096 · (q − 8)`; a Q4_1 nibble as `2048 · q`), so one `AND` replaces `UBFX` + `SUB` +
//! `SXTB16`, and the exact block sum is the accumulator shifted right by 12 (11). The
//! scaled products fit: `|4096 · 8 · 128| · 32 < 2³¹`, and every lane value fits 16 bits
//! (`−32768 ..= 28672`, `0 ..= 30720`).
//!
//! Loads are single-word `LDR`s, which Armv7-M / Armv8-M allow at any alignment (blocks are
//! 18, 20, 34 or 36 bytes, so quants are only 2-byte aligned).

use super::scale_product;
use crate::block::*;

/// Four products of `sum_i8x32` (one word of each operand).
macro_rules! q8_word {
    () => {
        concat!(
            "ldr {a}, [{x}], #4\n",
            "ldr {b}, [{y}], #4\n",
            "sxtb16 {c}, {a}\n",
            "sxtb16 {d}, {b}\n",
            "smlad {acc}, {c}, {d}, {acc}\n",
            "sxtb16 {a}, {a}, ror #8\n",
            "sxtb16 {b}, {b}, ror #8\n",
            "smlad {acc}, {a}, {b}, {acc}\n",
        )
    };
}

/// Eight products of `sum_q4_0` (one word of nibbles).
macro_rules! q4_0_word {
    () => {
        concat!(
            "ldr {w}, [{x}], #4\n",
            "ldr {b}, [{y}], #4\n",
            "ldr {a}, [{y}, #12]\n",
            "eor {w}, {w}, #0x88888888\n",
            // lanes: low nibbles of bytes 0 and 2, then 1 and 3; high nibbles likewise
            "and {c}, {k}, {w}, lsl #12\n",
            "sxtb16 {t}, {b}\n",
            "smlad {acc}, {c}, {t}, {acc}\n",
            "and {c}, {k}, {w}, lsl #4\n",
            "sxtb16 {t}, {b}, ror #8\n",
            "smlad {acc}, {c}, {t}, {acc}\n",
            "and {c}, {k}, {w}, lsl #8\n",
            "sxtb16 {t}, {a}\n",
            "smlad {acc}, {c}, {t}, {acc}\n",
            "and {c}, {k}, {w}\n",
            "sxtb16 {t}, {a}, ror #8\n",
            "smlad {acc}, {c}, {t}, {acc}\n",
        )
    };
}

/// Eight products of `sum_q4_1` (one word of nibbles).
macro_rules! q4_1_word {
    () => {
        concat!(
            "ldr {w}, [{x}], #4\n",
            "ldr {b}, [{y}], #4\n",
            "ldr {a}, [{y}, #12]\n",
            // nibbles to bits 11..14 of each lane: 2048 · q, at most 30720
            "and {c}, {k}, {w}, lsl #11\n",
            "sxtb16 {t}, {b}\n",
            "smlad {acc}, {c}, {t}, {acc}\n",
            "and {c}, {k}, {w}, lsl #3\n",
            "sxtb16 {t}, {b}, ror #8\n",
            "smlad {acc}, {c}, {t}, {acc}\n",
            "and {c}, {k}, {w}, lsl #7\n",
            "sxtb16 {t}, {a}\n",
            "smlad {acc}, {c}, {t}, {acc}\n",
            "and {c}, {k}, {w}, lsr #1\n",
            "sxtb16 {t}, {a}, ror #8\n",
            "smlad {acc}, {c}, {t}, {acc}\n",
        )
    };
}

/// Σ x[i]·y[i] over 32 signed bytes.
///
/// # Safety
/// `x` and `y` must be readable for 32 bytes.
#[inline(always)]
unsafe fn sum_i8x32(x: *const i8, y: *const i8) -> i32 {
    let acc: i32;
    // SAFETY: reads 32 bytes from each pointer (the caller's contract); registers only
    // otherwise. Needs the DSP extension (this module exists only in DSP builds).
    unsafe {
        core::arch::asm!(
            concat!(q8_word!(), q8_word!(), q8_word!(), q8_word!()),
            concat!(q8_word!(), q8_word!(), q8_word!(), q8_word!()),
            x = inout(reg) x => _,
            y = inout(reg) y => _,
            a = out(reg) _,
            b = out(reg) _,
            c = out(reg) _,
            d = out(reg) _,
            acc = inout(reg) 0i32 => acc,
            options(pure, readonly, nostack),
        );
    }
    acc
}

/// Σ (nibble − 8)·y over one Q4_0 block's 16 bytes of nibbles (`x`) and 32 activation
/// bytes (`y`): low nibble of byte `j` with `y[j]`, high nibble with `y[j + 16]`.
///
/// # Safety
/// `x` readable for 16 bytes, `y` for 32.
#[inline(always)]
unsafe fn sum_q4_0(x: *const u8, y: *const i8) -> i32 {
    let acc: i32;
    // SAFETY: reads 16 bytes at `x` and 32 at `y` (caller's contract); registers only
    // otherwise. Needs the DSP extension (this module exists only in DSP builds).
    unsafe {
        core::arch::asm!(
            concat!(q4_0_word!(), q4_0_word!(), q4_0_word!(), q4_0_word!()),
            x = inout(reg) x => _,
            y = inout(reg) y => _,
            k = in(reg) 0xf000_f000u32,
            w = out(reg) _,
            a = out(reg) _,
            b = out(reg) _,
            c = out(reg) _,
            t = out(reg) _,
            acc = inout(reg) 0i32 => acc,
            options(pure, readonly, nostack),
        );
    }
    acc >> 12
}

/// Σ nibble·y over one Q4_1 block (layout as [`sum_q4_0`], nibbles unsigned).
///
/// # Safety
/// `x` readable for 16 bytes, `y` for 32.
#[inline(always)]
unsafe fn sum_q4_1(x: *const u8, y: *const i8) -> i32 {
    let acc: i32;
    // SAFETY: reads 16 bytes at `x` and 32 at `y` (caller's contract); registers only
    // otherwise. Needs the DSP extension (this module exists only in DSP builds).
    unsafe {
        core::arch::asm!(
            concat!(q4_1_word!(), q4_1_word!(), q4_1_word!(), q4_1_word!()),
            x = inout(reg) x => _,
            y = inout(reg) y => _,
            k = in(reg) 0x7800_7800u32,
            w = out(reg) _,
            a = out(reg) _,
            b = out(reg) _,
            c = out(reg) _,
            t = out(reg) _,
            acc = inout(reg) 0i32 => acc,
            options(pure, readonly, nostack),
        );
    }
    acc >> 11
}

block_loops!();

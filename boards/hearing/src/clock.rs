//! The hearing aid's clock: SysTick as the audio period and a 64-bit tick counter
//! (`bague_mcu`'s [`SysTickCounter`]). qemu's mps3-an547 clocks SysTick at its 32 MHz
//! system clock (`sysclk_frq` of qemu's mps2-tz model); under `-icount shift=0` one
//! instruction takes one virtual nanosecond, so one tick is 31.25 instructions and 1 ms of
//! virtual time is 1 000 000 instructions (the count is exact to within one tick per
//! reading). SysTick wraps once per audio period ([`PERIOD_TICKS`], 6 ms): frame `k` of the
//! audio task is released at tick `k × PERIOD_TICKS`.

use bague_mcu::SysTickCounter;

/// SysTick input clock of the AN547.
pub const TICKS_PER_SECOND: u64 = 32_000_000;
/// Ticks of one audio period: 6 ms.
pub const PERIOD_TICKS: u64 = TICKS_PER_SECOND * 6 / 1000;

/// The firmware's tick counter: SysTick counting down from one period.
pub const SYSTICK: SysTickCounter = SysTickCounter::new(PERIOD_TICKS as u32 - 1);

/// Ticks since the start of `main`.
pub fn ticks() -> u64 {
    SYSTICK.ticks()
}

/// Instructions in `t` ticks under `-icount shift=0` (1 ns each at 32 ticks per µs).
pub fn insns(t: u64) -> u64 {
    t * 125 / 4
}

/// Checks the instructions-per-tick assumption: a loop of `n` iterations of two
/// instructions (`subs`, `bne`), timed by SysTick. Returns the instructions SysTick saw
/// (≈ 2n when one instruction is one virtual nanosecond and SysTick runs at 32 MHz).
pub fn check(n: u32) -> u64 {
    let t0 = ticks();
    // SAFETY: a register-only countdown loop; no memory access, no stack use.
    unsafe {
        core::arch::asm!(
            "1:",
            "subs {0}, {0}, #1",
            "bne 1b",
            inout(reg) n => _,
            options(nomem, nostack),
        )
    };
    insns(ticks() - t0)
}

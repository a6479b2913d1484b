//! The ring's clock: SysTick wrapping at its full 24 bits, counted by `bague_mcu`'s
//! [`SysTickCounter`]. qemu's mps2-an505 clocks SysTick at the 20 MHz system clock; under
//! `-icount shift=0` one instruction takes one virtual nanosecond, so one tick is 50
//! instructions (the count is exact to within one tick per reading).

use bague_mcu::SysTickCounter;

/// SysTick input clock of the AN505 (`SYSCLK_FRQ` of qemu's mps2-tz model).
pub const TICKS_PER_SECOND: u64 = 20_000_000;
/// Instructions per tick under `-icount shift=0` (1 ns per instruction).
pub const INSNS_PER_TICK: u64 = 1_000_000_000 / TICKS_PER_SECOND;

/// The firmware's tick counter: SysTick counting down from 2^24 - 1.
pub const SYSTICK: SysTickCounter = SysTickCounter::new(0x00FF_FFFF);

/// Ticks since the start of `main`.
pub fn ticks() -> u64 {
    SYSTICK.ticks()
}

//! SysTick as a 64-bit tick counter. qemu's mps2-an505 clocks SysTick at the 20 MHz system
//! clock; under `-icount shift=0` one instruction takes one virtual nanosecond, so one tick
//! is 50 instructions (the count is exact to within one tick per reading).

use core::sync::atomic::{AtomicU32, Ordering};

use cortex_m::peripheral::SYST;
use cortex_m::peripheral::syst::SystClkSource;
use cortex_m_rt::exception;

/// SysTick input clock of the AN505 (`SYSCLK_FRQ` of qemu's mps2-tz model).
pub const TICKS_PER_SECOND: u64 = 20_000_000;
/// Instructions per tick under `-icount shift=0` (1 ns per instruction).
pub const INSNS_PER_TICK: u64 = 1_000_000_000 / TICKS_PER_SECOND;

const RELOAD: u32 = 0x00FF_FFFF;
static WRAPS: AtomicU32 = AtomicU32::new(0);

#[exception]
fn SysTick() {
    WRAPS.fetch_add(1, Ordering::Relaxed);
}

/// Starts SysTick counting down from 2^24 - 1 with its wrap interrupt.
pub fn start(mut syst: SYST) {
    syst.set_clock_source(SystClkSource::Core);
    syst.set_reload(RELOAD);
    syst.clear_current();
    syst.enable_interrupt();
    syst.enable_counter();
}

/// Ticks since [`start`].
pub fn ticks() -> u64 {
    loop {
        let w = WRAPS.load(Ordering::Acquire);
        let cur = SYST::get_current();
        // A wrap between the two reads shows as a changed count: read again.
        if WRAPS.load(Ordering::Acquire) == w {
            return u64::from(w) * (u64::from(RELOAD) + 1) + u64::from(RELOAD - cur);
        }
    }
}

//! SysTick as the audio period and a 64-bit tick counter. qemu's mps3-an547 clocks SysTick
//! at its 32 MHz system clock (`sysclk_frq` of qemu's mps2-tz model); under `-icount
//! shift=0` one instruction takes one virtual nanosecond, so one tick is 31.25 instructions
//! and 1 ms of virtual time is 1 000 000 instructions (the count is exact to within one
//! tick per reading). SysTick wraps once per audio period ([`PERIOD_TICKS`], 6 ms): frame
//! `k` of the audio task is released at tick `k × PERIOD_TICKS`.

use core::sync::atomic::{AtomicU32, Ordering};

use cortex_m::peripheral::SYST;
use cortex_m::peripheral::syst::SystClkSource;
use cortex_m_rt::exception;

/// SysTick input clock of the AN547.
pub const TICKS_PER_SECOND: u64 = 32_000_000;
/// Ticks of one audio period: 6 ms.
pub const PERIOD_TICKS: u64 = TICKS_PER_SECOND * 6 / 1000;

const RELOAD: u32 = PERIOD_TICKS as u32 - 1;
static WRAPS: AtomicU32 = AtomicU32::new(0);

#[exception]
fn SysTick() {
    WRAPS.fetch_add(1, Ordering::Relaxed);
}

/// Starts SysTick counting down from one period with its wrap interrupt.
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

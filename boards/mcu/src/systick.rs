//! SysTick as a 64-bit tick counter: the 24-bit down-counter plus the count of its wraps,
//! kept by the `SysTick` exception handler defined here. Under qemu's `-icount shift=0` one
//! instruction takes one virtual nanosecond, so the ticks count instructions at the board's
//! SysTick clock (exact to within one tick per reading).
//!
//! This crate holds the firmware's one `SysTick` handler: a board that links it must not
//! define another (the link fails on the duplicate symbol), and uses one [`SysTickCounter`].

use core::sync::atomic::{AtomicU32, Ordering};

use cortex_m::peripheral::SYST;
use cortex_m::peripheral::syst::SystClkSource;
use cortex_m_rt::exception;

/// Wraps of the down-counter since [`SysTickCounter::start`].
static WRAPS: AtomicU32 = AtomicU32::new(0);

#[exception]
fn SysTick() {
    WRAPS.fetch_add(1, Ordering::Relaxed);
}

/// SysTick counting down from `reload` (one wrap every `reload + 1` ticks of the core
/// clock) and the ticks since it started. A board has one, as a constant (the reload is
/// then a constant in [`ticks`](Self::ticks)): the wrap count it reads is the firmware's
/// only one.
#[derive(Clone, Copy, Debug)]
pub struct SysTickCounter {
    reload: u32,
}

impl SysTickCounter {
    /// A counter that wraps every `reload + 1` ticks; `reload` is 1 ..= 2^24 − 1 (SysTick's
    /// reload register has 24 bits; a compile-time error otherwise in a constant).
    pub const fn new(reload: u32) -> Self {
        assert!(
            reload >= 1 && reload <= 0x00FF_FFFF,
            "SysTick reload out of range"
        );
        SysTickCounter { reload }
    }

    /// Ticks per wrap.
    const fn period(&self) -> u64 {
        self.reload as u64 + 1
    }

    /// Starts SysTick on the core clock, counting down from the reload with its wrap
    /// interrupt. Call once, at the start of `main`.
    pub fn start(&self, mut syst: SYST) {
        syst.set_clock_source(SystClkSource::Core);
        syst.set_reload(self.reload);
        syst.clear_current();
        syst.enable_interrupt();
        syst.enable_counter();
    }

    /// Ticks since [`start`](Self::start).
    #[inline]
    pub fn ticks(&self) -> u64 {
        loop {
            let w = WRAPS.load(Ordering::Acquire);
            let cur = SYST::get_current();
            // A wrap between the two reads shows as a changed count: read again.
            if WRAPS.load(Ordering::Acquire) == w {
                return u64::from(w) * self.period() + u64::from(self.reload - cur);
            }
        }
    }
}

//! Clocks for the generation timings: microseconds from any source.

use crate::board::Board;

/// A monotonic clock in microseconds (the origin does not matter).
pub trait Clock {
    /// Microseconds since some fixed origin; never decreases.
    fn now_us(&self) -> u64;
}

impl<F: Fn() -> u64> Clock for F {
    fn now_us(&self) -> u64 {
        self()
    }
}

/// A clock that always reads 0 (hosts without a timer): every timing is 0.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoClock;

impl Clock for NoClock {
    fn now_us(&self) -> u64 {
        0
    }
}

/// `std::time::Instant`, counted from the clock's creation.
#[cfg(feature = "std")]
#[derive(Clone, Copy, Debug)]
pub struct StdClock(std::time::Instant);

#[cfg(feature = "std")]
impl StdClock {
    /// A clock starting now.
    pub fn new() -> Self {
        StdClock(std::time::Instant::now())
    }
}

#[cfg(feature = "std")]
impl Default for StdClock {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(feature = "std")]
impl Clock for StdClock {
    fn now_us(&self) -> u64 {
        u64::try_from(self.0.elapsed().as_micros()).unwrap_or(u64::MAX)
    }
}

/// A board's ticks ([`Board::ticks`]) as a [`Clock`] in microseconds (for the
/// generator's timings).
#[derive(Clone, Copy, Debug)]
pub struct BoardClock<'b, B: ?Sized>(pub &'b B);

impl<B: Board + ?Sized> Clock for BoardClock<'_, B> {
    fn now_us(&self) -> u64 {
        let hz = self.0.ticks_per_second().max(1);
        (u128::from(self.0.ticks()) * 1_000_000 / u128::from(hz)) as u64
    }
}

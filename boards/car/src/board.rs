//! [`CarBoard`]: the core's [`Board`] for a car voice unit.

use std::time::Instant;

use bague::board::{Board, BoardSpec, CAR};
use bague::bundle::BundleOptions;
use bague::session::SessionOptions;

/// A car voice unit: the [`CAR`] spec (2 GiB for the assistant, weights mapped, the
/// NEON+dotprod kernels where the CPU has them) with its thread count capped by the CPUs
/// this process may use, and a monotonic clock ([`Instant`], nanosecond ticks) for the
/// deadline and the timings.
#[derive(Clone, Debug)]
pub struct CarBoard {
    spec: BoardSpec,
    origin: Instant,
}

impl Default for CarBoard {
    fn default() -> Self {
        Self::new()
    }
}

impl CarBoard {
    /// [`CAR`], its 4 threads capped by `std::thread::available_parallelism` (1 when that
    /// is unknown).
    pub fn new() -> Self {
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
        Self::with_threads(CAR.threads.min(cpus))
    }

    /// [`CAR`] with `threads` worker threads (at least 1).
    pub fn with_threads(threads: usize) -> Self {
        CarBoard {
            spec: BoardSpec {
                threads: threads.max(1),
                ..CAR
            },
            origin: Instant::now(),
        }
    }

    /// How to load a model on this board: the board's kernels ([`Board::kernels`]: the
    /// spec's if this CPU has them, else the best it has).
    pub fn bundle_options(&self) -> BundleOptions {
        BundleOptions {
            kernels: Some(self.kernels()),
            ..BundleOptions::default()
        }
    }

    /// A session on this board: `n_ctx` positions, the spec's threads and batch, f16 KV
    /// cache, no context shift (a command that does not fit is an error).
    pub fn session_options(&self, n_ctx: usize) -> SessionOptions {
        SessionOptions {
            n_ctx,
            n_batch: self.spec.n_batch,
            n_threads: self.spec.threads,
            ..SessionOptions::default()
        }
    }

    /// Microseconds since the board was made (its clock, as the generator reads it).
    pub fn now_us(&self) -> u64 {
        u64::try_from(self.origin.elapsed().as_micros()).unwrap_or(u64::MAX)
    }
}

impl Board for CarBoard {
    fn spec(&self) -> &BoardSpec {
        &self.spec
    }

    /// Nanoseconds since the board was made.
    fn ticks(&self) -> u64 {
        u64::try_from(self.origin.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }

    fn ticks_per_second(&self) -> u64 {
        1_000_000_000
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bague::generate::{BoardClock, Clock};

    #[test]
    fn spec_is_the_car_class_with_threads_capped() {
        let b = CarBoard::with_threads(0);
        assert_eq!(b.spec().threads, 1);
        assert_eq!(b.spec().ram_bytes, CAR.ram_bytes);
        assert_eq!(b.spec().name, "car");
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
        assert_eq!(CarBoard::new().spec().threads, CAR.threads.min(cpus));
        assert_eq!(CarBoard::with_threads(3).session_options(512).n_threads, 3);
    }

    #[test]
    fn clock_is_monotonic_microseconds() {
        let b = CarBoard::new();
        let c = BoardClock(&b);
        let t0 = c.now_us();
        std::thread::sleep(std::time::Duration::from_millis(5));
        let t1 = c.now_us();
        assert!(t1 >= t0 + 5_000, "{t0} → {t1}");
        assert!(b.now_us() >= t1);
    }
}

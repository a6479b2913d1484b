//! Test firmware for the Cortex-M back ends of `bague-kernels` (`arch::arm`): under qemu
//! (`mps2-an386` Cortex-M4, `mps2-an505` Cortex-M33, `mps3-an547` Cortex-M55) it
//!
//! 1. checks that the kernel door picks what the build promises (`Kernels::detect()` is
//!    `mve` on the Cortex-M55, `dsp` on the others; the tokens exist) — a build without
//!    the extensions fails here instead of testing the scalar code against itself;
//! 2. runs every accelerated dot product (Q4_0 · Q8_0, Q4_1 · Q8_1, Q8_0 · Q8_0) of every
//!    token (`Dsp`, `Mve`) and of `Kernels::detect()` against the scalar reference
//!    (`BlockFormat::vec_dot_ref`) on random rows of 0 to 64 blocks — random quant bytes,
//!    random f16 scales with zeros, subnormals, infinities and NaNs mixed in — and requires
//!    the same f32 bits (a NaN result must be a NaN: Rust does not specify NaN payloads);
//! 3. counts instructions per 32-element block of each kernel with SysTick under
//!    `-icount shift=0` (one instruction per virtual nanosecond; SysTick's rate is
//!    calibrated against a loop of known length), and prints the table with the ratio to
//!    the scalar kernel of the same build.
//!
//! Exit code (semihosting): 0 all equal, 1 a mismatch or a missing back end. Run by
//! `ci/mcu.sh`, which builds one image per machine (features `an386`, `an505`, `an547`).
#![no_std]
#![no_main]

use bague_kernels::Kernels;
use bague_kernels::arch::arm::{Dsp, Mve};
use bague_kernels::arch::{Isa, Scalar, Weight};
use bague_kernels::block::{BlockQ4_0, BlockQ4_1, BlockQ8_0};
use bytemuck::{Pod, Zeroable};
use core::hint::black_box;
use cortex_m::peripheral::SYST;
use cortex_m::peripheral::syst::SystClkSource;
use cortex_m_rt::entry;
use cortex_m_semihosting::{debug, hprintln};

#[cfg(feature = "an386")]
const MACHINE: (&str, &str, &str) = ("Cortex-M4", "mps2-an386", "dsp");
#[cfg(feature = "an505")]
const MACHINE: (&str, &str, &str) = ("Cortex-M33", "mps2-an505", "dsp");
#[cfg(feature = "an547")]
const MACHINE: (&str, &str, &str) = ("Cortex-M55", "mps3-an547", "mve");

/// Longest row tested and timed, in blocks.
const NB: usize = 64;
/// Random rows per format and kernel.
const ROWS: usize = 300;
/// Timed calls per kernel (of `NB` blocks each).
const REPS: u32 = 8;

/// xorshift32: reproducible random bytes.
struct Rng(u32);

impl Rng {
    fn next(&mut self) -> u32 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        self.0 = x;
        x
    }

    /// An f16 scale: mostly finite values of either sign below 1 (subnormals and zero
    /// included), one in 32 an infinity or a NaN (quiet or signalling).
    fn scale(&mut self) -> [u8; 2] {
        let r = self.next();
        let h = match r % 32 {
            0 => [0x7c00, 0xfc00, 0x7e00, 0x7d01][(r >> 5) as usize % 4],
            _ => ((r >> 8) % 0x3c00) as u16 | (r >> 16) as u16 & 0x8000,
        };
        h.to_le_bytes()
    }
}

/// Random blocks: every byte random, then the f16 fields at `scales` (byte offsets in the
/// block) replaced by [`Rng::scale`].
fn fill<B: Pod>(rng: &mut Rng, blocks: &mut [B], scales: &[usize]) {
    let size = core::mem::size_of::<B>();
    let bytes: &mut [u8] = bytemuck::cast_slice_mut(blocks);
    for b in bytes.iter_mut() {
        *b = rng.next() as u8;
    }
    for block in bytes.chunks_exact_mut(size) {
        for &o in scales {
            block[o..o + 2].copy_from_slice(&rng.scale());
        }
    }
}

fn same(a: f32, b: f32) -> bool {
    a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan())
}

/// One format: `isa` (named `name`) against the reference on [`ROWS`] random rows, and
/// through the `Kernels` door (`door`, the same back end) on the same rows. Returns the
/// number of mismatches.
fn check<W: Weight, I: Isa>(
    rng: &mut Rng,
    isa: I,
    door: Option<Kernels>,
    (ws, acts): (&[usize], &[usize]),
) -> u32
where
    W::Act: Pod,
{
    let mut w = [W::zeroed(); NB];
    let mut a = [<W::Act as Zeroable>::zeroed(); NB];
    let mut bad = 0;
    for row in 0..ROWS {
        let nb = match row {
            0 => 0,
            1..16 => row,
            _ => 1 + rng.next() as usize % NB,
        };
        fill(rng, &mut w[..nb], ws);
        fill(rng, &mut a[..nb], acts);
        let want = W::vec_dot_ref(&w[..nb], &a[..nb]);
        let got = W::vec_dot(isa, &w[..nb], &a[..nb]);
        let via_door = door.map(|k| {
            k.vec_dot(
                W::TYPE,
                nb * W::BLOCK,
                bytemuck::cast_slice(&w[..nb]),
                bytemuck::cast_slice(&a[..nb]),
            )
        });
        let door_ok = match via_door {
            None => true,
            Some(Ok(v)) => same(v, want),
            Some(Err(_)) => false,
        };
        if !same(got, want) || !door_ok {
            if bad < 5 {
                hprintln!(
                    "MISMATCH {:?} {}: row {} ({} blocks): reference {:e} ({:#010x}), kernel {:e} ({:#010x}), door {:?}",
                    W::TYPE,
                    isa.name(),
                    row,
                    nb,
                    want,
                    want.to_bits(),
                    got,
                    got.to_bits(),
                    via_door
                );
            }
            bad += 1;
        }
    }
    bad
}

/// Instructions per block of `isa`'s `W` dot product over rows of [`NB`] random blocks
/// (finite scales), as tenths.
fn count<W: Weight, I: Isa>(
    rng: &mut Rng,
    isa: I,
    insns_per_tick_x1000: u64,
    (ws, acts): (&[usize], &[usize]),
) -> u64
where
    W::Act: Pod,
{
    let mut w = [W::zeroed(); NB];
    let mut a = [<W::Act as Zeroable>::zeroed(); NB];
    fill(rng, &mut w, ws);
    fill(rng, &mut a, acts);
    let ticks = timed(|| {
        for _ in 0..REPS {
            black_box(W::vec_dot(isa, black_box(&w[..]), black_box(&a[..])));
        }
    });
    // instructions = ticks · insns_per_tick; per block, in tenths
    ticks * insns_per_tick_x1000 / (u64::from(REPS) * NB as u64) / 100
}

/// SysTick ticks taken by `f` (SysTick free-running from 2²⁴ − 1, no interrupt: `f` must
/// take fewer than 2²⁴ ticks).
fn timed(f: impl FnOnce()) -> u64 {
    let t0 = SYST::get_current();
    f();
    let t1 = SYST::get_current();
    u64::from(t0.wrapping_sub(t1) & 0x00ff_ffff)
}

/// Instructions per SysTick tick, × 1000: a loop of `subs` + `bne` (two instructions per
/// iteration) against SysTick.
fn calibrate() -> u64 {
    const N: u32 = 1_000_000;
    let ticks = timed(|| {
        // SAFETY: a register-only countdown loop.
        unsafe {
            core::arch::asm!(
                "2:",
                "subs {n}, #1",
                "bne 2b",
                n = inout(reg) N => _,
                options(nomem, nostack),
            );
        }
    });
    2 * u64::from(N) * 1000 / ticks.max(1)
}

type Fields = (&'static [usize], &'static [usize]);
const Q4_0: Fields = (&[0], &[0]);
const Q4_1: Fields = (&[0, 2], &[0, 2]);
const Q8_0: Fields = (&[0], &[0]);

#[entry]
fn main() -> ! {
    let mut cp = cortex_m::Peripherals::take().unwrap();
    cp.SYST.set_clock_source(SystClkSource::Core);
    cp.SYST.set_reload(0x00ff_ffff);
    cp.SYST.clear_current();
    cp.SYST.disable_interrupt();
    cp.SYST.enable_counter();

    let (cpu, machine, expect) = MACHINE;
    let detected = Kernels::detect();
    hprintln!(
        "mcu-test: {} ({}): Kernels::detect() = {}, available: {}",
        cpu,
        machine,
        detected.name(),
        Kernels::available()
            .map(|k| k.name())
            .fold(heapless_join::Join::default(), heapless_join::Join::push)
    );
    let mut failed = 0u32;
    if detected.name() != expect {
        hprintln!("FAILED: expected Kernels::detect() = {}", expect);
        failed += 1;
    }
    let dsp = Dsp::detect();
    let mve = Mve::detect();
    let want_mve = expect == "mve";
    if dsp.is_none() || mve.is_some() != want_mve {
        hprintln!(
            "FAILED: tokens dsp {:?} mve {:?} (expected mve: {})",
            dsp.is_some(),
            mve.is_some(),
            want_mve
        );
        finish(false);
    }
    let dsp = dsp.unwrap();
    let door_dsp = Kernels::by_name("dsp");
    let door_mve = Kernels::by_name("mve");
    if door_dsp.is_none() || door_mve.is_some() != want_mve {
        hprintln!("FAILED: Kernels::by_name(\"dsp\" / \"mve\") disagree with the tokens");
        failed += 1;
    }

    let mut rng = Rng(0x2545_f491);
    macro_rules! check_all {
        ($($W:ty, $f:expr);*) => {$(
            failed += check::<$W, _>(&mut rng, dsp, door_dsp, $f);
            if let Some(m) = mve {
                failed += check::<$W, _>(&mut rng, m, door_mve, $f);
            }
        )*};
    }
    check_all!(BlockQ4_0, Q4_0; BlockQ4_1, Q4_1; BlockQ8_0, Q8_0);
    hprintln!(
        "mcu-test: {} dot products (q4_0, q4_1, q8_0 x {} kernels, {} random rows each): {}",
        cpu,
        if want_mve { 2 } else { 1 },
        ROWS,
        if failed == 0 {
            "all equal the scalar reference bit for bit"
        } else {
            "MISMATCHES"
        }
    );

    let ipt = calibrate();
    hprintln!(
        "mcu-test: SysTick: {}.{:03} instructions per tick (-icount shift=0)",
        ipt / 1000,
        ipt % 1000
    );
    hprintln!("| cpu | format | kernel | instructions / 32-element block | vs scalar |");
    hprintln!("|---|---|---|---|---|");
    macro_rules! table {
        ($($name:literal, $W:ty, $f:expr);*) => {$(
            let s = count::<$W, _>(&mut rng, Scalar, ipt, $f);
            hprintln!("| {} | {} | scalar | {}.{} | 1.00x |", cpu, $name, s / 10, s % 10);
            let d = count::<$W, _>(&mut rng, dsp, ipt, $f);
            hprintln!("| {} | {} | dsp | {}.{} | {}.{:02}x |", cpu, $name, d / 10, d % 10,
                s / d.max(1), s * 100 / d.max(1) % 100);
            if let Some(m) = mve {
                let v = count::<$W, _>(&mut rng, m, ipt, $f);
                hprintln!("| {} | {} | mve | {}.{} | {}.{:02}x |", cpu, $name, v / 10, v % 10,
                    s / v.max(1), s * 100 / v.max(1) % 100);
            }
        )*};
    }
    table!("q4_0", BlockQ4_0, Q4_0; "q4_1", BlockQ4_1, Q4_1; "q8_0", BlockQ8_0, Q8_0);

    finish(failed == 0)
}

/// Ends the qemu run with exit code 0 (`ok`) or 1.
fn finish(ok: bool) -> ! {
    debug::exit(if ok {
        debug::EXIT_SUCCESS
    } else {
        debug::EXIT_FAILURE
    });
    // semihosting is always on under qemu; without a debugger, sleep
    loop {
        cortex_m::asm::wfi();
    }
}

/// A comma-separated list of names without allocation.
mod heapless_join {
    use core::fmt;

    #[derive(Default)]
    pub struct Join {
        names: [&'static str; 8],
        len: usize,
    }

    impl Join {
        pub fn push(mut self, name: &'static str) -> Self {
            if self.len < self.names.len() {
                self.names[self.len] = name;
                self.len += 1;
            }
            self
        }
    }

    impl fmt::Display for Join {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            for (i, n) in self.names[..self.len].iter().enumerate() {
                write!(f, "{}{}", if i == 0 { "" } else { ", " }, n)?;
            }
            Ok(())
        }
    }
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    hprintln!("mcu-test: panic: {}", info);
    finish(false)
}

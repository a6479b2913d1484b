//! [`Board`]: what the runtime needs to know about a device class — its RAM budget, where
//! the weights come from, how many threads, which kernels, and a clock for budgets — and
//! [`BoardSpec`], the plain numbers of a board that [`MemoryPlan::fit`] checks a model
//! against before anything is allocated (the plan and its [`Fit`](crate::session::Fit)
//! live in [`session`](crate::session); this module depends on nothing of the runtime).
//!
//! [`MemoryPlan::fit`]: crate::session::MemoryPlan::fit
//!
//! A board crate (`boards/<name>`, crate `bague-board-<name>`) implements [`Board`] for its
//! hardware; it adapts the runtime, it does not fork it. The specs of the four device
//! classes the product names are in [`KNOWN`] so that a host can answer "does this model
//! fit a ring?" (`bague plan MODEL --board ring`) without the board's crate. Today `ring` and
//! `hearing` have crates (`boards/ring`, `boards/hearing`); the `phone` and `car` numbers are
//! class budgets from this table until their crates exist.
//!
//! ```
//! use bague::board::{BoardSpec, RING};
//! assert_eq!(BoardSpec::by_name("ring"), Some(&RING));
//! ```

use bague_kernels::Kernels;

/// Where a board reads tensor data from. Weights are never copied into the heap: a
/// [`MemoryPlan`] counts them apart ([`MemoryPlan::weights_mapped`]).
///
/// [`MemoryPlan`]: crate::session::MemoryPlan
/// [`MemoryPlan::weights_mapped`]: crate::session::MemoryPlan::weights_mapped
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WeightSource {
    /// A file mapped into the address space (mmap): its pages share the board's RAM, so
    /// the mapped weights count against [`BoardSpec::ram_bytes`] together with the heap.
    Mmap,
    /// Execute-in-place memory (internal or memory-mapped QSPI flash, PSRAM): the GGUF file
    /// is a `&'static [u8]` of at most `bytes`, read in place; it does not use RAM.
    Xip {
        /// Bytes of the memory-mapped region that holds the file.
        bytes: u64,
    },
}

/// The numbers of a board (a device class): what [`MemoryPlan::fit`] checks and what
/// a session on it is given.
///
/// [`MemoryPlan::fit`]: crate::session::MemoryPlan::fit
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BoardSpec {
    /// Short name (`"ring"`, `"hearing"`, `"phone"`, `"car"`).
    pub name: &'static str,
    /// One line: the silicon class and where the numbers come from.
    pub about: &'static str,
    /// Bytes of RAM the runtime may use: the static arena on an MCU (heap of the session,
    /// generator and tokenizer), or the memory left to the app on a phone or car SoC
    /// (then the mapped weights come out of it too, see [`WeightSource::Mmap`]).
    pub ram_bytes: u64,
    /// Where the weights are read from.
    pub weights: WeightSource,
    /// Tokens per forward pass ([`SessionOptions::n_batch`](crate::session::SessionOptions::n_batch));
    /// an MCU prefills a few tokens at a time to keep the work buffers small, 0 is the
    /// host default (`min(n_ctx, 512)`).
    pub n_batch: usize,
    /// Worker threads a session should use (performance cores on a phone; 1 on an MCU).
    pub threads: usize,
    /// Preferred kernel back end ([`Kernels::by_name`]); the best available when the CPU
    /// running the code lacks it (a host planning for a phone).
    pub kernels: &'static str,
}

/// The ring: a Cortex-M33 (Armv8-M Mainline, FPU, DSP) as emulated by qemu's
/// `mps2-an505`: 3 MiB of its 4 MiB data SRAM (ssram-1/2) for the arena (the top of the
/// ring class: ~256 KiB–3 MiB), the model in 16 MiB of
/// memory-mapped external memory (the board's RAM at `0x8000_0000`, standing in for a
/// QSPI flash or PSRAM window), one thread, the DSP-extension kernels (`dsp`: the firmware
/// builds for `target-cpu=cortex-m33`; they return the scalar reference's bits).
pub const RING: BoardSpec = BoardSpec {
    name: "ring",
    n_batch: 8,
    about: "Cortex-M33 (qemu mps2-an505): 3 MiB SRAM arena, model XIP from a 16 MiB window",
    ram_bytes: 3 << 20,
    weights: WeightSource::Xip { bytes: 16 << 20 },
    threads: 1,
    kernels: "dsp",
};

/// The hearing aid: a Cortex-M55 (Helium) as emulated by qemu's `mps3-an547`: 4 MiB of
/// SRAM for the arena, the model XIP from a 32 MiB external flash.
pub const HEARING: BoardSpec = BoardSpec {
    name: "hearing",
    n_batch: 8,
    about: "Cortex-M55 (qemu mps3-an547): 4 MiB SRAM arena, model XIP from 32 MiB flash",
    ram_bytes: 4 << 20,
    weights: WeightSource::Xip { bytes: 32 << 20 },
    threads: 1,
    kernels: "mve",
};

/// A phone (class budget until `boards/phone` exists): 3 GiB left to the app on an 8 GB
/// device, weights mmapped, 4 threads (the performance cores only).
pub const PHONE: BoardSpec = BoardSpec {
    name: "phone",
    n_batch: 0,
    about: "Arm big.LITTLE phone (class budget): 3 GiB for the app, mmap, 4 big cores",
    ram_bytes: 3 << 30,
    weights: WeightSource::Mmap,
    threads: 4,
    kernels: "neon+dotprod",
};

/// A car voice unit: an AArch64 SoC with 2 GiB reserved for the assistant, weights
/// mmapped, 4 threads. Its crate is `boards/car` (`bague-board-car`: voice-command mode,
/// a transcript to an intent JSON under a schema, a token cap and a deadline).
pub const CAR: BoardSpec = BoardSpec {
    name: "car",
    n_batch: 0,
    about: "AArch64 automotive SoC (class budget): 2 GiB reserved, mmap, 4 cores",
    ram_bytes: 2 << 30,
    weights: WeightSource::Mmap,
    threads: 4,
    kernels: "neon+dotprod",
};

/// Every board spec the runtime knows, by name.
pub const KNOWN: [&BoardSpec; 4] = [&RING, &HEARING, &PHONE, &CAR];

impl BoardSpec {
    /// The known spec named `name` ([`KNOWN`]).
    pub fn by_name(name: &str) -> Option<&'static BoardSpec> {
        KNOWN.iter().copied().find(|b| b.name == name)
    }

    /// The names of [`KNOWN`], for messages (`"ring, hearing, phone, car"`).
    pub fn names() -> impl Iterator<Item = &'static str> {
        KNOWN.iter().map(|b| b.name)
    }
}

/// A device the runtime runs on. A board crate implements it for its hardware; the
/// runtime asks it for its numbers ([`spec`](Board::spec)), kernels and time.
pub trait Board {
    /// The board's numbers: RAM budget, weight source, threads, preferred kernels.
    fn spec(&self) -> &BoardSpec;

    /// A monotonic tick counter (a SysTick-extended counter on an MCU, a cycle counter, a
    /// clock). Ticks never decrease; the origin does not matter.
    fn ticks(&self) -> u64;

    /// Ticks per second of [`ticks`](Board::ticks) (the core clock for a cycle counter).
    fn ticks_per_second(&self) -> u64;

    /// The kernels to run: the spec's preferred back end if this CPU has it, else the best
    /// one it has.
    fn kernels(&self) -> Kernels {
        Kernels::by_name(self.spec().kernels).unwrap_or_else(Kernels::detect)
    }
}

impl Board for BoardSpec {
    fn spec(&self) -> &BoardSpec {
        self
    }
    /// A spec alone has no clock: always 0.
    fn ticks(&self) -> u64 {
        0
    }
    fn ticks_per_second(&self) -> u64 {
        1
    }
}

//! The hearing firmware: a GGUF model generates on a Cortex-M55 (qemu `mps3-an547`) in the
//! gaps of a hard real-time audio task, with [`Stepper::step`]`(budget)` bounding each slice
//! of model work so that every audio frame meets its deadline.
//!
//! What it does, in order, printing each step over semihosting:
//! 1. parses the GGUF file — read in place from QSPI flash (`.model`), or from DDR in the
//!    DDR build — (a corrupt file: exit 2);
//! 2. computes the [`MemoryPlan`] and checks it against the board (a model that does not
//!    fit: exit 3); the arena's limit becomes the plan's bytes;
//! 3. loads tokenizer and model (exit 4), tokenizes the prompt on the MCU and prefills it
//!    with budget-1 steps, which also calibrates the instructions per work unit;
//! 4. starts the audio task — frame `k` released at `k × 6 ms` of virtual time (SysTick
//!    under `-icount shift=0`), deadline 2 ms after its release — and generates
//!    [`N_TOKENS`] greedy tokens in the gaps: before each step it turns the instructions
//!    left until the next release into a budget of work units (less one unit for the
//!    overrun); a frame that finishes late is a missed deadline;
//! 5. prints the ids, the deadline report (frames, missed, worst slack, worst step overrun
//!    in instructions) and tokens/s of virtual time; exits 6 if any deadline was missed
//!    (5 on a generation error).
//!
//! Build with `BAGUE_HEARING_MODEL=file.gguf cargo build --release` in this folder (see
//! `ci/hearing.sh`, which also compares the ids with the host's `bague run --temp 0`).
#![no_std]
#![no_main]
// The core's `model::Error` (128 bytes on this 32-bit target) is passed up as it is: an
// error ends the run, so its size costs nothing on the path that matters.
#![allow(clippy::result_large_err)]

extern crate alloc;

mod audio;
mod clock;

use alloc::vec::Vec;
use core::fmt::Write as _;

#[cfg(hearing_ddr)]
use bague::board::WeightSource;
use bague::board::{Board, BoardSpec, HEARING};
use bague::bundle::Bundle;
use bague::sampler::{Sampler, SamplerConfig};
use bague::session::{Session, SessionOptions, Stepper, UNIT_WORK};
use bague_mcu::{Arena, LoadError, Loaded, Out, exit, say};
use cortex_m_rt::entry;

include!(concat!(env!("OUT_DIR"), "/config.rs"));

#[global_allocator]
static ARENA: Arena = Arena::empty();

/// The hearing aid with its model in DDR: the AN547's 2 GiB of DDR stands in for the
/// external memory a real board would need for a 100 MB model (and the arena is there too:
/// its KV cache and tokenizer do not fit 4 MiB of SRAM).
#[cfg(hearing_ddr)]
const SPEC: BoardSpec = BoardSpec {
    name: "hearing-ddr",
    about: "Cortex-M55 (qemu mps3-an547): model and a 128 MiB arena in the AN547's DDR",
    ram_bytes: ARENA_CAPACITY as u64,
    weights: WeightSource::Xip { bytes: 256 << 20 },
    ..HEARING
};
#[cfg(not(hearing_ddr))]
const SPEC: BoardSpec = HEARING;

#[cfg(not(hearing_ddr))]
const ARENA_CAPACITY: usize = HEARING.ram_bytes as usize;
#[cfg(hearing_ddr)]
const ARENA_CAPACITY: usize = 128 << 20;

/// The arena's memory: ISRAM (`.arena`, 4 MiB at 0x3100_0000) in the flash build.
#[cfg(not(hearing_ddr))]
fn arena_base() -> usize {
    use core::mem::MaybeUninit;
    #[unsafe(link_section = ".arena")]
    static mut BUF: [MaybeUninit<u8>; ARENA_CAPACITY] = [MaybeUninit::uninit(); ARENA_CAPACITY];
    (&raw mut BUF) as usize
}
/// The arena's memory: 128 MiB of DDR from 0x7800_0000 in the DDR build (above the model).
#[cfg(hearing_ddr)]
fn arena_base() -> usize {
    0x7800_0000
}

#[cfg(not(hearing_ddr))]
const MODEL_FILE_LEN: usize = include_bytes!(env!("BAGUE_HEARING_MODEL_FILE")).len();
/// The GGUF file in QSPI flash (`.model` at 0x3800_0000), read in place.
#[cfg(not(hearing_ddr))]
#[unsafe(link_section = ".model")]
static MODEL: [u8; MODEL_FILE_LEN] = *include_bytes!(env!("BAGUE_HEARING_MODEL_FILE"));

#[cfg(not(hearing_ddr))]
fn model_bytes() -> &'static [u8] {
    &MODEL
}
#[cfg(hearing_ddr)]
fn model_bytes() -> &'static [u8] {
    const _: () = assert!(
        MODEL_DDR_ADDR + MODEL_LEN <= 0x7800_0000,
        "the model overlaps the arena"
    );
    // SAFETY: qemu's `-device loader` put the MODEL_LEN bytes of the file at MODEL_DDR_ADDR
    // (ci/hearing-ddr.sh) before reset; that DDR is never written by the firmware (the
    // arena starts above it) and lives for the whole program.
    unsafe { core::slice::from_raw_parts(MODEL_DDR_ADDR as *const u8, MODEL_LEN) }
}

/// The board: its numbers and SysTick.
struct Hearing;

impl Board for Hearing {
    fn spec(&self) -> &BoardSpec {
        &SPEC
    }
    fn ticks(&self) -> u64 {
        clock::ticks()
    }
    fn ticks_per_second(&self) -> u64 {
        clock::TICKS_PER_SECOND
    }
}

/// Exit codes (semihosting `SYS_EXIT_EXTENDED`).
#[derive(Clone, Copy)]
enum Exit {
    Ok = 0,
    CorruptGguf = 2,
    DoesNotFit = 3,
    Load = 4,
    Generate = 5,
    MissedDeadline = 6,
}

impl From<LoadError> for Exit {
    fn from(e: LoadError) -> Self {
        match e {
            LoadError::CorruptGguf => Exit::CorruptGguf,
            LoadError::DoesNotFit => Exit::DoesNotFit,
            LoadError::NoPlan | LoadError::Load(_) => Exit::Load,
        }
    }
}

/// Deadline of an audio frame after its release: 2 ms (the processing delay of the path
/// must stay well under ~10 ms; the frame itself takes a fraction of a millisecond).
const DEADLINE_TICKS: u64 = clock::TICKS_PER_SECOND * 2 / 1000;

/// The audio task and its record.
struct Rt {
    audio: audio::Audio,
    /// Frames run.
    frames: u64,
    missed: u64,
    /// Smallest `deadline - finish` (ticks; negative when missed).
    worst_slack: i64,
    /// Most instructions of one frame.
    frame_insns: u64,
    /// Instructions per work unit: the most seen per unit of work done (calibrated on the
    /// prefill, kept up to date), an eighth added as margin.
    unit_insns: u64,
    /// Budgeted steps run, and the most instructions one of them ran past its budget's
    /// time (`budget × unit_insns`); negative: all finished early.
    steps: u64,
    worst_overrun: i64,
    /// The most work one step did past `budget × UNIT_WORK`.
    worst_over_work: i64,
    /// Whether the audio task runs (after the prefill).
    on: bool,
    /// The negative check (semihosting argument `unbudgeted`): every pass runs in one
    /// call, whatever the time left — a whole token's work lands on the audio deadlines,
    /// which must then be missed (exit 6).
    unbudgeted: bool,
    /// Semihosting argument `noaudio`: no audio task, each decode pass in one call (the
    /// model's own instructions per token).
    noaudio: bool,
}

impl Rt {
    /// Runs every frame released by now (none before the audio is started).
    fn serve(&mut self) {
        if !self.on || self.noaudio {
            return;
        }
        loop {
            let release = self.frames * clock::PERIOD_TICKS;
            if clock::ticks() < release {
                return;
            }
            let t0 = clock::ticks();
            self.audio.frame();
            let t1 = clock::ticks();
            let slack = (release + DEADLINE_TICKS) as i64 - t1 as i64;
            if slack < 0 {
                self.missed += 1;
            }
            self.worst_slack = self.worst_slack.min(slack);
            self.frame_insns = self.frame_insns.max(clock::insns(t1 - t0));
            self.frames += 1;
        }
    }

    /// The budget (work units) for a step that must end by the next frame's release: the
    /// instructions left, less one unit for the overrun. `None` when the audio is off.
    fn budget(&self) -> Option<u64> {
        if !self.on {
            return None;
        }
        if self.unbudgeted || self.noaudio {
            return Some(u64::MAX);
        }
        let next = self.frames * clock::PERIOD_TICKS;
        let left = clock::insns(next.saturating_sub(clock::ticks()));
        Some((left / self.unit_insns.max(1)).saturating_sub(1))
    }

    /// One step of `st` within the time to the next release (budget 1 before the audio
    /// starts); keeps the calibration and the overrun record. Returns whether the pass is
    /// complete (its logits: `st.step(0)`).
    fn step(&mut self, st: &mut Stepper<'_, '_, '_>) -> Result<bool, bague::model::Error> {
        let budget = match self.budget() {
            Some(0) => {
                // Less than two units left before the release: wait for it (a real board
                // would sleep in WFI; spinning keeps the instruction count deterministic).
                while self.budget() == Some(0) && clock::ticks() < self.frames * clock::PERIOD_TICKS
                {
                }
                return Ok(false);
            }
            Some(b) => b,
            None => 1,
        };
        let t0 = clock::ticks();
        let done = st.step(budget)?.is_some();
        let insns = clock::insns(clock::ticks() - t0);
        let work = st.last_work();
        if self.on && !self.unbudgeted && !self.noaudio {
            self.steps += 1;
            let over = insns as i64 - (budget * self.unit_insns) as i64;
            self.worst_overrun = self.worst_overrun.max(over);
            let over_work = work as i64 - budget.saturating_mul(UNIT_WORK) as i64;
            self.worst_over_work = self.worst_over_work.max(over_work);
        }
        // A call that stops on its budget did at least `budget` units of work: its
        // instructions per unit calibrate the next budgets (the last call of a pass, cut
        // short by the pass's end, does not).
        if !done && work >= UNIT_WORK {
            let per = insns * UNIT_WORK / work;
            self.unit_insns = self.unit_insns.max(per + per / 8);
        }
        Ok(done)
    }
}

#[entry]
fn main() -> ! {
    let cp = cortex_m::Peripherals::take().unwrap();
    clock::SYSTICK.start(cp.SYST);
    let mut out = Out::new();
    let code = run(&mut out);
    out.flush();
    exit(code as u32)
}

fn run(out: &mut Out) -> Exit {
    let board = Hearing;
    let spec = board.spec();
    let model = model_bytes();
    say!(out, "hearing: board {} — {}", spec.name, spec.about);
    say!(
        out,
        "hearing: clock check: a loop of 2000000 instructions took {} by SysTick (32 MHz; 1 instruction = 1 ns of virtual time, 1 ms = 1000000 instructions)",
        clock::check(1_000_000)
    );
    say!(
        out,
        "hearing: model {} ({} bytes at {:#010x}, read in place)",
        MODEL_PATH,
        model.len(),
        model.as_ptr() as usize
    );
    // SAFETY: once, before any allocation; the arena's memory is used by nothing else.
    unsafe { ARENA.init(arena_base(), ARENA_CAPACITY, ARENA_CAPACITY) };
    let Loaded {
        bundle,
        opts,
        load_ticks,
        ..
    } = match bague_mcu::load(out, "hearing", &board, &ARENA, model, N_CTX, None) {
        Ok(l) => l,
        Err(e) => return e.into(),
    };
    say!(
        out,
        "hearing: loaded in {} instructions, kernels {}",
        clock::insns(load_ticks),
        bundle.model.kernels().name()
    );
    let prompt = match bundle.encode(PROMPT, true, N_CTX) {
        Ok(p) => p,
        Err(e) => {
            say!(out, "hearing: error: tokenize: {e}");
            return Exit::Generate;
        }
    };
    let _ = write!(out, "prompt_ids:");
    for id in &prompt {
        let _ = write!(out, " {id}");
    }
    say!(out, "");
    match generate(out, &bundle, opts, &prompt) {
        Ok(code) => code,
        Err(e) => {
            say!(out, "hearing: error: generate: {e}");
            Exit::Generate
        }
    }
}

/// What can fail while generating.
enum GenError {
    Model(bague::model::Error),
    Sampler(bague::sampler::SamplerError),
}

impl From<bague::model::Error> for GenError {
    fn from(e: bague::model::Error) -> Self {
        GenError::Model(e)
    }
}

impl From<bague::sampler::SamplerError> for GenError {
    fn from(e: bague::sampler::SamplerError) -> Self {
        GenError::Sampler(e)
    }
}

impl core::fmt::Display for GenError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            GenError::Model(e) => e.fmt(f),
            GenError::Sampler(e) => e.fmt(f),
        }
    }
}

/// Prefills `prompt` (budget 1, calibrating), then generates with the audio task running.
fn generate(
    out: &mut Out,
    bundle: &Bundle<'_>,
    opts: SessionOptions,
    prompt: &[u32],
) -> Result<Exit, GenError> {
    let model = &bundle.model;
    let mut session = Session::new(model, opts)?;
    let mut sampler = Sampler::new(SamplerConfig::greedy(), model.config.n_vocab)?;
    let mut rt = Rt {
        audio: audio::Audio::new(),
        frames: 0,
        missed: 0,
        worst_slack: i64::MAX,
        frame_insns: 0,
        unit_insns: 0,
        steps: 0,
        worst_overrun: i64::MIN,
        worst_over_work: i64::MIN,
        on: false,
        unbudgeted: cmdline_has("unbudgeted"),
        noaudio: cmdline_has("noaudio"),
    };
    if rt.unbudgeted {
        say!(
            out,
            "hearing: unbudgeted: each pass in one call (the deadlines must be missed)"
        );
    }
    if rt.noaudio {
        say!(
            out,
            "hearing: noaudio: no audio task, each decode pass in one call"
        );
    }
    let mut max_task = 0;
    let mut work = 0u64;
    // Prefill, `n_batch` tokens per pass, one work unit per call: calibration.
    let t_pre = clock::ticks();
    let mut next = 0;
    let mut calls = 0u64;
    for chunk in prompt.chunks(opts.batch_size()) {
        let mut st = session.stepper(chunk)?;
        max_task = max_task.max(st.max_task_work());
        loop {
            calls += 1;
            if rt.step(&mut st)? {
                let l = st.step(0)?.unwrap_or(&[]);
                next = sampler.sample_and_accept(l)?;
                break;
            }
        }
    }
    let t_prefilled = clock::ticks();
    say!(
        out,
        "hearing: prefill {} tokens: {} instructions in {} budget-1 steps; calibrated {} instructions per work unit ({} MACs), largest task {} work ({}.{:02} units)",
        prompt.len(),
        clock::insns(t_prefilled - t_pre),
        calls,
        rt.unit_insns,
        UNIT_WORK,
        max_task,
        max_task / UNIT_WORK,
        max_task % UNIT_WORK * 100 / UNIT_WORK
    );
    // The audio starts at the next period boundary: frame k is released at k × 6 ms.
    let now = clock::ticks();
    rt.frames = now.div_ceil(clock::PERIOD_TICKS);
    let first_frame = rt.frames;
    rt.on = true;
    let t_gen = clock::ticks();
    let mut ids: Vec<u32> = Vec::new();
    ids.try_reserve_exact(N_TOKENS)
        .map_err(|_| bague::model::Error::OutOfMemory {
            what: "output ids",
            bytes: N_TOKENS * 4,
        })?;
    ids.push(next);
    while ids.len() < N_TOKENS {
        let tok = [next];
        let mut st = session.stepper(&tok)?;
        max_task = max_task.max(st.max_task_work());
        loop {
            rt.serve();
            if rt.step(&mut st)? {
                break;
            }
        }
        work += st.work_done();
        next = sampler.sample_and_accept(st.step(0)?.unwrap_or(&[]))?;
        ids.push(next);
    }
    rt.serve();
    let t_end = clock::ticks();
    let _ = write!(out, "output_ids:");
    for id in &ids {
        let _ = write!(out, " {id}");
    }
    say!(out, "");
    let gen_insns = clock::insns(t_end - t_gen);
    let frames = rt.frames - first_frame;
    if !rt.noaudio {
        say!(
            out,
            "hearing: audio: {} frames of {} instructions at most (period 6 ms = 6000000 instructions, deadline 2 ms after release), {} missed, worst slack {} instructions ({} µs)",
            frames,
            rt.frame_insns,
            rt.missed,
            // ticks → instructions (31.25 per tick), signed
            rt.worst_slack * 125 / 4,
            rt.worst_slack * 1_000_000 / clock::TICKS_PER_SECOND as i64
        );
        if rt.steps == 0 {
            say!(out, "hearing: steps: no budgeted calls");
        } else {
            say!(
                out,
                "hearing: steps: {} budgeted calls, {} instructions per work unit, worst overrun past the budget {} instructions ({} % of one unit), {} work ({} % of one unit)",
                rt.steps,
                rt.unit_insns,
                rt.worst_overrun,
                rt.worst_overrun * 100 / rt.unit_insns.max(1) as i64,
                rt.worst_over_work,
                rt.worst_over_work * 100 / UNIT_WORK as i64
            );
        }
    }
    // tokens/s of virtual time (1 instruction = 1 ns), generated tokens after the first
    // (which the prefill gave).
    let n_dec = (ids.len() - 1) as u64;
    let tps_x100 = n_dec * 100_000_000_000 / gen_insns.max(1);
    say!(
        out,
        "hearing: generation{}: {} tokens in {} instructions = {} ms of virtual time: {}.{:02} tok/s, {} instructions per token, {} work units per token",
        if rt.noaudio {
            " without audio"
        } else {
            " with audio"
        },
        n_dec,
        gen_insns,
        gen_insns / 1_000_000,
        tps_x100 / 100,
        tps_x100 % 100,
        gen_insns / n_dec.max(1),
        work / UNIT_WORK / n_dec.max(1)
    );
    let (_, peak, refused) = ARENA.stats();
    say!(
        out,
        "hearing: arena: used {} bytes at peak, {} refused; audio checksum {}",
        peak,
        refused,
        rt.audio.checksum
    );
    if rt.missed > 0 {
        say!(out, "hearing: FAILED: {} missed deadlines", rt.missed);
        return Ok(Exit::MissedDeadline);
    }
    Ok(Exit::Ok)
}

/// Whether the semihosting command line (qemu `-semihosting-config …,arg=…`) has `word`.
fn cmdline_has(word: &str) -> bool {
    let mut buf = [0u8; 256];
    bague_mcu::cmdline(&mut buf).is_some_and(|line| line.split(' ').any(|w| w == word))
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    let mut out = Out::new();
    let _ = writeln!(out, "hearing: panic: {info}");
    out.flush();
    exit(101)
}

//! The ring firmware: a GGUF model runs `no_std` on a Cortex-M33 (qemu `mps2-an505`), read
//! in place from the XIP window, in a static arena no larger than the memory plan says.
//!
//! What it does, in order, printing each step over semihosting:
//! 1. parses the embedded GGUF file (a corrupt file is an error code, exit 2);
//! 2. computes the [`MemoryPlan`] for the ring's session options and checks it against the
//!    board ([`RING`]): a model that does not fit is refused with the numbers (exit 3)
//!    before anything else is allocated; the arena's limit becomes the plan's bytes;
//! 3. loads tokenizer and model (exit 4 on error), tokenizes the prompt on the MCU, and
//!    generates [`N_TOKENS`] greedy tokens (exit 5 on error, `OutOfMemory` included);
//! 4. prints the ids, the text, the arena's peak against the plan, and the instructions
//!    per token counted by SysTick under `-icount shift=0`.
//!
//! Build with `BAGUE_RING_MODEL=file.gguf cargo run --release` in this folder (see
//! `ci/ring.sh`, which also compares the ids with the host's `bague run --temp 0`).
#![no_std]
#![no_main]

extern crate alloc;

mod clock;

use core::fmt::Write as _;
use core::ops::ControlFlow;
use core::sync::atomic::AtomicBool;

use bague::board::{Board, BoardSpec, RING};
use bague::generate::BoardClock;
use bague::generate::{Generator, Piece, Request, Sink};
use bague::sampler::SamplerConfig;
use bague::session::Session;
use bague_mcu::{Arena, LoadError, Loaded, Out, exit, say};
use cortex_m_rt::entry;

include!(concat!(env!("OUT_DIR"), "/config.rs"));

#[global_allocator]
static ARENA: Arena = Arena::empty();

/// Bytes of static RAM reserved for the arena (the most any plan may ask of this board:
/// the ring's RAM budget).
const ARENA_CAPACITY: usize = RING.ram_bytes as usize;

/// Gives the arena its static buffer, open up to its whole capacity until the plan is
/// known.
fn init_arena() {
    use core::mem::MaybeUninit;
    static mut BUF: [MaybeUninit<u8>; ARENA_CAPACITY] = [MaybeUninit::uninit(); ARENA_CAPACITY];
    // SAFETY: called once, from `run`, before any allocation; BUF is used by nothing else,
    // and the heap takes it over for the rest of the program.
    unsafe { ARENA.init(&raw mut BUF as usize, ARENA_CAPACITY, ARENA_CAPACITY) }
}

const MODEL_LEN: usize = include_bytes!(env!("BAGUE_RING_MODEL_FILE")).len();

/// The GGUF file, placed in the XIP window (`.model` at 0x8000_0000, see `memory.x`) and
/// read in place: tensor views point into it, nothing is copied.
#[unsafe(link_section = ".model")]
static MODEL: [u8; MODEL_LEN] = *include_bytes!(env!("BAGUE_RING_MODEL_FILE"));

/// The board: the ring's numbers (its RAM budget replaced by the `budget=N` test knob)
/// and SysTick.
struct Ring {
    spec: BoardSpec,
}

impl Board for Ring {
    fn spec(&self) -> &BoardSpec {
        &self.spec
    }
    fn ticks(&self) -> u64 {
        clock::ticks()
    }
    fn ticks_per_second(&self) -> u64 {
        clock::TICKS_PER_SECOND
    }
}

/// Exit codes (semihosting `SYS_EXIT_EXTENDED`). 101 is a panic and 102 a HardFault:
/// neither may happen on any input.
#[derive(Clone, Copy)]
enum Exit {
    Ok = 0,
    CorruptGguf = 2,
    DoesNotFit = 3,
    Load = 4,
    Generate = 5,
    OutOfMemory = 6,
}

/// A load that stopped: corrupt file 2, does not fit 3, the arena's refusal while loading
/// tokenizer or model 6 (an error value all the way up), any other 4.
fn load_exit(e: &LoadError) -> Exit {
    use bague::bundle::Error as B;
    match e {
        LoadError::CorruptGguf => Exit::CorruptGguf,
        LoadError::DoesNotFit => Exit::DoesNotFit,
        LoadError::Load(
            B::Tokenizer(bague::tokenizer::Error::OutOfMemory { .. })
            | B::Model(bague::model::Error::OutOfMemory { .. }),
        ) => Exit::OutOfMemory,
        LoadError::NoPlan | LoadError::Load(_) => Exit::Load,
    }
}

/// Generation errors: the arena's refusals get their own code (6), any other 5.
fn generate_exit(e: &bague::generate::Error) -> Exit {
    use bague::generate::Error as G;
    match e {
        G::OutOfMemory { .. }
        | G::Tokenizer(bague::tokenizer::Error::OutOfMemory { .. })
        | G::Model(bague::model::Error::OutOfMemory { .. })
        | G::Sampler(bague::sampler::SamplerError::OutOfMemory { .. }) => Exit::OutOfMemory,
        _ => Exit::Generate,
    }
}

/// Test knobs from the semihosting command line (`-semihosting-config
/// …,arg=ring,arg=budget=N,arg=arena=N`): `budget=N` replaces the board's RAM budget (a
/// budget under the plan must be refused by the plan, exit 3); `arena=N` closes the arena
/// at `N` bytes instead of the plan's (a run that needs more must end with an error exit,
/// never a panic or a fault).
#[derive(Clone, Copy, Default)]
struct Args {
    budget: Option<u64>,
    arena: Option<usize>,
}

fn args() -> Args {
    let mut buf = [0u8; 256];
    let mut a = Args::default();
    let Some(line) = bague_mcu::cmdline(&mut buf) else {
        return a;
    };
    for word in line.split(' ') {
        if let Some(v) = word.strip_prefix("budget=") {
            a.budget = v.parse().ok();
        } else if let Some(v) = word.strip_prefix("arena=") {
            a.arena = v.parse().ok();
        }
    }
    a
}

/// Collects the generated ids and the tick count at each one, and prints the text.
struct Collect<'o> {
    out: &'o mut Out,
    n: usize,
    ids: [u32; N_TOKENS as usize],
    ticks: [u64; N_TOKENS as usize],
}

impl Sink for Collect<'_> {
    fn token(&mut self, id: u32) -> ControlFlow<()> {
        if self.n < self.ids.len() {
            self.ticks[self.n] = clock::ticks();
            self.ids[self.n] = id;
            self.n += 1;
        }
        ControlFlow::Continue(())
    }
    fn piece(&mut self, piece: Piece<'_>) -> ControlFlow<()> {
        let _ = write!(self.out, "{}", piece.text);
        ControlFlow::Continue(())
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
    let knobs = args();
    let mut board = Ring { spec: RING };
    if let Some(b) = knobs.budget {
        board.spec.ram_bytes = b;
        say!(out, "ring: test: RAM budget set to {b} bytes");
    }
    let spec = board.spec();
    let model: &'static [u8] = &MODEL;
    say!(out, "ring: board {} — {}", spec.name, spec.about);
    say!(
        out,
        "ring: model {} ({} bytes at {:#010x}, read in place)",
        MODEL_PATH,
        model.len(),
        model.as_ptr() as usize
    );
    // Parsing builds the file's key and tensor index, before the plan can be known: the
    // arena is open up to its capacity until then, then closed to exactly the plan.
    init_arena();
    let Loaded {
        bundle,
        plan,
        opts,
        load_ticks: t_load,
    } = match bague_mcu::load(out, "ring", &board, &ARENA, model, N_CTX, knobs.arena) {
        Ok(l) => l,
        Err(e) => return load_exit(&e),
    };
    let (after_load, load_peak, _) = ARENA.stats();
    say!(
        out,
        "ring: loaded: index, tokenizer and model hold {} bytes (plan {}), peak while loading {} (plan {})",
        after_load,
        plan.tokenizer + plan.index,
        load_peak,
        plan.index + plan.tokenizer + plan.tokenizer_load
    );
    let prompt = match bundle.encode(PROMPT, true, N_CTX) {
        // The encoder's buffer grew by doubling: keep the ids in one of their exact size
        // (the plan counts the prompt's ids, not the encoder's growth).
        Ok(p) => {
            let mut ids = alloc::vec::Vec::new();
            if ids.try_reserve_exact(p.len()).is_err() {
                say!(out, "ring: error: tokenize: out of memory");
                return Exit::OutOfMemory;
            }
            ids.extend_from_slice(&p);
            ids
        }
        Err(e) => {
            say!(out, "ring: error: tokenize: {e}");
            return if matches!(e, bague::tokenizer::Error::OutOfMemory { .. }) {
                Exit::OutOfMemory
            } else {
                Exit::Generate
            };
        }
    };
    let _ = write!(out, "prompt_ids:");
    for id in &prompt {
        let _ = write!(out, " {id}");
    }
    say!(out, "");
    let mut session = match Session::new(&bundle.model, opts) {
        Ok(s) => s,
        Err(e) => {
            say!(out, "ring: error: session: {e}");
            return if matches!(e, bague::model::Error::OutOfMemory { .. }) {
                Exit::OutOfMemory
            } else {
                Exit::Generate
            };
        }
    };
    let mut generator = match Generator::new(&bundle.tokenizer, SamplerConfig::greedy()) {
        Ok(g) => g,
        Err(e) => {
            say!(out, "ring: error: generator: {e}");
            return generate_exit(&e);
        }
    };
    let mut sink = Collect {
        out,
        n: 0,
        ids: [0; N_TOKENS as usize],
        ticks: [0; N_TOKENS as usize],
    };
    let req = Request {
        max_tokens: Some(N_TOKENS),
        ..Request::new(&prompt)
    };
    let cancel = AtomicBool::new(false);
    let clock = BoardClock(&board);
    let t_start = clock::ticks();
    let outcome = generator.generate(&mut session, &req, &cancel, &clock, &mut sink);
    let Collect { out, n, ids, ticks } = sink;
    let (ids, ticks) = (&ids[..n], &ticks[..n]);
    say!(out, "");
    if let Err(e) = outcome {
        say!(out, "ring: error: generate: {e}");
        return generate_exit(&e);
    }
    let _ = write!(out, "output_ids:");
    for id in ids {
        let _ = write!(out, " {id}");
    }
    say!(out, "");
    let (_, peak, refused) = ARENA.stats();
    let used = peak;
    let planned = plan.ram_bytes() as usize;
    say!(
        out,
        "ring: arena: used {} bytes at peak, plan {} bytes ({}.{:01} % of used), {} refused",
        used,
        planned,
        planned * 100 / used.max(1),
        (planned * 1000 / used.max(1)) % 10,
        refused
    );
    let insns = |t: u64| t * clock::INSNS_PER_TICK;
    say!(out, "ring: load {} instructions", insns(t_load));
    if let (Some(&first), Some(&last)) = (ticks.first(), ticks.last()) {
        say!(
            out,
            "ring: prefill {} tokens: {} instructions",
            prompt.len(),
            insns(first - t_start)
        );
        if ids.len() > 1 {
            let per = insns(last - first) / (ids.len() as u64 - 1);
            let tok_s_x10 = 1_500_000_000 / per.max(1);
            say!(
                out,
                "ring: decode {} tokens: {} instructions per token; estimate at 150 MHz and 1 instruction per cycle: {}.{} tok/s",
                ids.len() - 1,
                per,
                tok_s_x10 / 10,
                tok_s_x10 % 10
            );
        }
    }
    Exit::Ok
}

#[cortex_m_rt::exception]
unsafe fn HardFault(_frame: &cortex_m_rt::ExceptionFrame) -> ! {
    let mut out = Out::new();
    let _ = writeln!(out, "ring: HardFault");
    out.flush();
    exit(102)
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    let mut out = Out::new();
    let _ = writeln!(out, "ring: panic: {info}");
    out.flush();
    exit(101)
}

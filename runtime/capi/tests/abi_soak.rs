//! Soak: many sessions created, used and freed through the C ABI, with decode steps and
//! random (seeded) cancellations of every kind the ABI has, on one model reopened now and
//! then. The resident set after all of them must equal the one after the first 10 up to
//! the allocator's noise: a leak of a session's buffers, a thread, a model mapping or a
//! callback's state would grow it with the count.
//!
//! CI runs [`soak_short`] (60 sessions, 600 decode steps, seconds). The full count (1,000
//! sessions, 10,000 decode steps) is [`soak_full`]:
//! `cargo test --release -p bague-capi --test abi_soak -- --ignored --nocapture`.
//!
//! The bound ([`RSS_SLACK`]): glibc keeps freed memory in its arenas (one per thread that
//! allocated) and returns it to the OS only at the top of the heap, so the resident set
//! moves by a few hundred KiB between equal states. 4 MiB is well above that noise (the
//! full run moves by far less, see the test output) and well below what a leak of a tenth
//! of each session's buffers would add over the run — the test checks that second
//! condition against the memory plan, so the bound cannot silently become blind.
//!
//! Linux only: the resident set is read from `/proc/self/status`.
#![cfg(target_os = "linux")]

mod common;
use bague_capi::*;
use common::*;
use std::ffi::{c_char, c_int, c_void};
use std::ptr::null_mut;
use std::sync::Mutex;

/// Allowed growth of the resident set between the first 10 sessions and the end (bytes).
const RSS_SLACK: u64 = 4 << 20;

/// Both soak tests measure the process's resident set: never run them at once.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// The process's resident set (VmRSS), bytes.
fn rss() -> u64 {
    let s = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let kb: u64 = s
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS in /proc/self/status");
    kb * 1024
}

/// splitmix64: a fixed sequence for a fixed seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// What the callbacks do: stop after some pieces or tokens, or cancel from inside.
#[derive(Default)]
struct Soak {
    pieces: usize,
    tokens: usize,
    stop_after_piece: Option<usize>,
    stop_after_token: Option<usize>,
    cancel_at_piece: Option<(usize, *const bague_session)>,
}

unsafe extern "C" fn soak_piece(
    ud: *mut c_void,
    _text: *const c_char,
    _len: usize,
    _kind: bague_piece_kind,
) -> c_int {
    // SAFETY: `ud` is the &mut Soak passed with the callback.
    let s = unsafe { &mut *ud.cast::<Soak>() };
    s.pieces += 1;
    if let Some((at, session)) = s.cancel_at_piece {
        if s.pieces == at {
            // SAFETY: live session; bague_cancel is allowed from callbacks.
            assert_eq!(unsafe { bague_cancel(session) }, BAGUE_OK);
        }
    }
    c_int::from(s.stop_after_piece.is_some_and(|n| s.pieces >= n))
}

unsafe extern "C" fn soak_token(ud: *mut c_void, _token: u32) -> c_int {
    // SAFETY: `ud` is the &mut Soak passed with the callback.
    let s = unsafe { &mut *ud.cast::<Soak>() };
    s.tokens += 1;
    c_int::from(s.stop_after_token.is_some_and(|n| s.tokens >= n))
}

const PROMPTS: [&str; 4] = [
    "Once upon a time",
    "The capital of France is",
    "def fibonacci(n):",
    "Ünïcödé text, 日本語, emoji 🦀 and a long tail of words to prefill a little more",
];

struct Counts {
    steps: u64,
    cancelled: u64,
    generations: u64,
}

/// One session's life: created with varied options, 1–4 generations (plain, chat, after a
/// reset, each possibly cancelled one of five ways), freed. Adds to `c`.
fn one_session(m: &Model, rng: &mut Rng, steps_left: u64, c: &mut Counts) {
    let opts = bague_session_options {
        n_ctx: [128, 256, 512][rng.below(3) as usize],
        n_threads: 1 + rng.below(2) as u32,
        seed: rng.next(),
        ..session_defaults()
    };
    let mut s = null_mut();
    // SAFETY: live model, valid options, writable out.
    let st = unsafe { bague_session_new(m.0, &opts, &mut s) };
    assert_eq!(st, BAGUE_OK, "{}", last_error());
    let s = Session(s);
    let mut budget = steps_left;
    for _ in 0..1 + rng.below(4) {
        if budget == 0 {
            break;
        }
        let max_tokens = (1 + rng.below(24)).min(budget) as u32;
        let mut p = params(m.0);
        p.max_tokens = max_tokens;
        if rng.below(2) == 0 {
            p.temperature = 0.0;
        }
        p.on_token = Some(soak_token);
        let mut soak = Soak::default();
        let mut canceller = None;
        match rng.below(8) {
            // SAFETY: live session, not in use.
            0 => assert_eq!(unsafe { bague_cancel(s.0) }, BAGUE_OK),
            1 => soak.stop_after_piece = Some(1 + rng.below(8) as usize),
            2 => soak.stop_after_token = Some(1 + rng.below(8) as usize),
            3 => soak.cancel_at_piece = Some((1 + rng.below(8) as usize, s.0)),
            4 => {
                // Another thread cancels at some point of the generation (or before it).
                let sp = s.0 as usize;
                let delay = rng.below(300);
                canceller = Some(std::thread::spawn(move || {
                    std::thread::sleep(std::time::Duration::from_micros(delay));
                    // SAFETY: the session outlives this thread (joined before its free).
                    let status = unsafe { bague_cancel(sp as *const bague_session) };
                    assert_eq!(status, BAGUE_OK);
                }));
            }
            5 => {
                // SAFETY: live session, not in use.
                assert_eq!(unsafe { bague_session_reset(s.0) }, BAGUE_OK);
            }
            _ => {}
        }
        let mut res = std::mem::MaybeUninit::uninit();
        let ud = (&mut soak as *mut Soak).cast::<c_void>();
        let st = if rng.below(3) == 0 {
            let text = PROMPTS[rng.below(PROMPTS.len() as u64) as usize];
            let msgs = [bague_message {
                role: bague_role::BAGUE_ROLE_USER as u32,
                content: text.as_ptr().cast(),
                content_len: text.len(),
            }];
            // SAFETY: live session, valid messages and params, `soak` outlives the call.
            unsafe {
                bague_generate_chat(
                    s.0,
                    msgs.as_ptr(),
                    1,
                    &p,
                    Some(soak_piece),
                    ud,
                    res.as_mut_ptr(),
                )
            }
        } else {
            let text = PROMPTS[rng.below(PROMPTS.len() as u64) as usize];
            // SAFETY: as above.
            unsafe {
                bague_generate(
                    s.0,
                    text.as_ptr().cast(),
                    text.len(),
                    &p,
                    Some(soak_piece),
                    ud,
                    res.as_mut_ptr(),
                )
            }
        };
        if let Some(t) = canceller {
            t.join().unwrap();
        }
        assert_eq!(st, BAGUE_OK, "{}", last_error());
        // SAFETY: written on OK.
        let res = unsafe { res.assume_init() };
        assert!(res.n_generated_tokens <= max_tokens);
        let steps = u64::from(res.n_generated_tokens);
        c.steps += steps;
        c.generations += 1;
        budget -= steps.min(budget);
        if res.stop_reason == BAGUE_STOP_CANCELLED {
            c.cancelled += 1;
        }
        // A cancel that came after the generation ended is still pending: the next one
        // would stop at once. Drop it, as a host that reuses the session would.
        // SAFETY: live session, not in use.
        assert_eq!(unsafe { bague_session_reset(s.0) }, BAGUE_OK);
    }
    drop(s);
}

fn soak(n_sessions: u64, n_steps: u64) {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let mut rng = Rng(0x5eed_0013);
    let mut m = Model::open(SMOL);
    let mut c = Counts {
        steps: 0,
        cancelled: 0,
        generations: 0,
    };
    let mut baseline = 0;
    let mut peak = 0;
    let per_session = n_steps.div_ceil(n_sessions);
    for i in 0..n_sessions {
        if i > 0 && i % 100 == 0 {
            // The model too is freed and opened again.
            m = Model::open(SMOL);
        }
        // Sessions that were cancelled early leave steps for the later ones.
        let want = (per_session * (i + 1)).min(n_steps);
        let left = want.saturating_sub(c.steps).max(1);
        one_session(&m, &mut rng, left, &mut c);
        if i + 1 == 10 {
            baseline = rss();
        }
        peak = peak.max(rss());
    }
    // Measured with the model still open, as it was after the 10th session.
    let end = rss();
    drop(m);
    let growth = end.saturating_sub(baseline);
    eprintln!(
        "soak: {n_sessions} sessions, {} generations ({} cancelled), {} decode steps; \
         RSS after 10 sessions {} KiB, at the end {} KiB (growth {} KiB, slack {} KiB), peak {} KiB",
        c.generations,
        c.cancelled,
        c.steps,
        baseline / 1024,
        end / 1024,
        growth / 1024,
        RSS_SLACK / 1024,
        peak / 1024,
    );
    assert!(
        c.steps >= n_steps * 9 / 10,
        "ran {} of {n_steps} decode steps",
        c.steps
    );
    assert!(
        c.cancelled * 10 >= c.generations,
        "too few cancellations to mean anything"
    );
    // The bound can see a leak of a tenth of the smallest session's heap per session.
    let m = Model::open(SMOL);
    let opts = bague_session_options {
        n_ctx: 128,
        ..session_defaults()
    };
    let mut plan = std::mem::MaybeUninit::uninit();
    // SAFETY: live model, valid options, writable out.
    let status = unsafe { bague_model_plan_memory(m.0, &opts, plan.as_mut_ptr()) };
    assert_eq!(status, BAGUE_OK);
    // SAFETY: written on OK.
    let heap = unsafe { plan.assume_init() }.heap_bytes;
    assert!(
        (n_sessions - 10) * heap / 10 > RSS_SLACK,
        "{n_sessions} sessions of {heap} bytes: the slack would hide a leak"
    );
    assert!(
        growth <= RSS_SLACK,
        "RSS grew by {growth} bytes from the 10th to the {n_sessions}th session"
    );
}

#[test]
fn soak_short() {
    soak(60, 600);
}

#[test]
#[ignore = "about 30 s in release: 1,000 sessions and 10,000 decode steps; run with --ignored"]
fn soak_full() {
    soak(1000, 10_000);
}

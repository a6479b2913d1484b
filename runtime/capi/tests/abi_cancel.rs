//! Cancellation (before, during prefill from another thread, from a callback), callbacks
//! that stop, re-entrant use refused, and one model shared by sessions on several threads.

mod common;
use bague_capi::*;
use common::*;
use std::ptr::null_mut;
use std::sync::{Arc, Barrier};

/// A prompt of a few hundred tokens, so that prefill runs many layers.
fn long_prompt() -> String {
    "The quick brown fox jumps over the lazy dog. ".repeat(40)
}

#[test]
fn cancel_before_generate_stops_in_prefill_and_keeps_the_session() {
    let m = Model::open(R1);
    let s = m.session(512, 1);
    // SAFETY: live session.
    assert_eq!(unsafe { bague_cancel(s.0) }, BAGUE_OK);
    let mut c = Collector::default();
    let (st, res) = run(&s, long_prompt().as_bytes(), greedy(8), &mut c);
    assert_eq!((st, res.stop_reason), (BAGUE_OK, BAGUE_STOP_CANCELLED));
    assert_eq!(res.n_generated_tokens, 0);
    assert!(c.ids.is_empty() && c.pieces.is_empty());
    // The request was consumed: the next generation runs, with nothing cached.
    let (st, res) = run(&s, b"Hello", greedy(3), &mut c);
    assert_eq!(
        (st, res.stop_reason, res.n_reused_tokens),
        (BAGUE_OK, BAGUE_STOP_MAX_TOKENS, 0)
    );
    // A pending cancel is also dropped by reset.
    // SAFETY: live session, not in use.
    unsafe {
        assert_eq!(bague_cancel(s.0), BAGUE_OK);
        assert_eq!(bague_session_reset(s.0), BAGUE_OK);
    }
    let (_, res) = run(&s, b"Hello", greedy(3), &mut c);
    assert_eq!(res.stop_reason, BAGUE_STOP_MAX_TOKENS);
}

/// Another thread cancels while the generation may be anywhere (prefill of a long
/// prompt, or decoding with no token limit): it always ends CANCELLED, whatever the
/// timing, because the request is kept until a generation returns.
#[test]
fn cancel_from_another_thread() {
    let m = Model::open(R1);
    let s = Arc::new(m.session(1024, 2));
    let go = Arc::new(Barrier::new(2));
    let canceller = {
        let (s, go) = (Arc::clone(&s), Arc::clone(&go));
        std::thread::spawn(move || {
            go.wait();
            // SAFETY: the session is alive until this thread is joined.
            assert_eq!(unsafe { bague_cancel(s.0) }, BAGUE_OK);
        })
    };
    go.wait();
    let mut c = Collector::default();
    let (st, res) = run(&s, long_prompt().as_bytes(), greedy(0), &mut c);
    canceller.join().unwrap();
    assert_eq!(
        (st, res.stop_reason),
        (BAGUE_OK, BAGUE_STOP_CANCELLED),
        "{}",
        last_error()
    );
    assert!(res.n_generated_tokens < 1024);
}

#[test]
fn cancel_from_the_callback_stops_at_the_next_step() {
    let m = Model::open(SMOL);
    let s = m.session(256, 1);
    let mut c = Collector {
        cancel_from_callback: Some(s.0),
        ..Default::default()
    };
    let (st, res) = run(&s, b"Once upon a time", greedy(0), &mut c);
    assert_eq!((st, res.stop_reason), (BAGUE_OK, BAGUE_STOP_CANCELLED));
    // The token whose piece triggered the cancel is not decoded: generation ends there
    // (a few tokens may precede the first non-empty piece).
    assert_eq!(res.n_generated_tokens as usize, c.ids.len());
    assert!(c.ids.len() < 16, "{:?}", c.ids);
}

#[test]
fn a_callback_returning_non_zero_stops() {
    let m = Model::open(SMOL);
    let s = m.session(256, 1);
    let mut c = Collector {
        stop_after_pieces: Some(2),
        ..Default::default()
    };
    let (st, res) = run(&s, b"Once upon a time", greedy(0), &mut c);
    assert_eq!((st, res.stop_reason), (BAGUE_OK, BAGUE_STOP_CANCELLED));
    assert_eq!(c.pieces.len(), 2, "no piece after the stop");
}

#[test]
fn reentrant_use_is_refused_not_raced() {
    let m = Model::open(SMOL);
    let s = m.session(256, 1);
    let mut c = Collector {
        reenter: Some(s.0),
        ..Default::default()
    };
    let (st, res) = run(&s, b"Once upon a time", greedy(6), &mut c);
    assert_eq!((st, res.stop_reason), (BAGUE_OK, BAGUE_STOP_MAX_TOKENS));
    assert_eq!(c.reenter_status, Some(BAGUE_ERR_INVALID_ARGUMENT));
    // After the outer call the session is free again.
    // SAFETY: live session, not in use.
    assert_eq!(unsafe { bague_session_reset(s.0) }, BAGUE_OK);
}

#[test]
fn one_model_many_threads() {
    let m = Arc::new(Model::open(SMOL));
    let prompts = [
        "Hello",
        "The capital of France is",
        "def f(x):",
        "Once upon a time",
    ];
    let solo: Vec<Vec<u32>> = prompts
        .iter()
        .map(|p| {
            let s = m.session(128, 1);
            let mut c = Collector::default();
            run(&s, p.as_bytes(), greedy(10), &mut c);
            c.ids
        })
        .collect();
    let handles: Vec<_> = prompts
        .iter()
        .map(|p| {
            let m = Arc::clone(&m);
            let p = p.to_string();
            std::thread::spawn(move || {
                let s = m.session(128, 1);
                let mut c = Collector::default();
                let (st, _) = run(&s, p.as_bytes(), greedy(10), &mut c);
                assert_eq!(st, BAGUE_OK);
                // Tokenize concurrently too (a const model function).
                assert!(!m.tokenize(&p, false, false).is_empty());
                c.ids
            })
        })
        .collect();
    for (h, want) in handles.into_iter().zip(solo) {
        assert_eq!(h.join().unwrap(), want);
    }
    // Sessions move between threads (one user at a time).
    let s = m.session(128, 1);
    let s = std::thread::spawn(move || {
        let (st, _) = run(&s, b"Hello", greedy(2), &mut Collector::default());
        assert_eq!(st, BAGUE_OK);
        s
    })
    .join()
    .unwrap();
    let (st, _) = run(&s, b"Hello", greedy(2), &mut Collector::default());
    assert_eq!(st, BAGUE_OK);
    let _ = null_mut::<u8>();
}

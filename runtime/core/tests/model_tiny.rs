//! Whole-model tests on the two tiny random-weight models of `testdata/models/` against
//! llama.cpp's greedy tokens and logits (`testdata/reference/*-tiny-random-q4_0/`).

mod model_util;
use bague_testkit::{ids, reference};
use model_util::*;

const MODELS: [&str; 2] = ["r1-tiny-random-q4_0", "smol-tiny-random-q4_0"];

fn load(id: &str) -> Vec<u8> {
    bague_testkit::tiny_bytes(id)
}

/// With the scalar reference kernels (per block: exact integer sum, then one f32 scale and
/// add, as ggml's repacked Q4_0 kernels that made the reference) the forward pass reproduces
/// llama.cpp to float rounding: all 192 greedy ids, logits within 1e-5.
#[test]
fn tiny_scalar_kernels_reproduce_llama_cpp() {
    for id in MODELS {
        let bytes = load(id);
        let m = model_scalar(&bytes);
        check_greedy(&m, id, f64::NEG_INFINITY, true, 1);
        let worst = check_logits(&m, id, 1e-5, 1e-3, 1);
        eprintln!("{id} (scalar kernels): max |Δlogit| = {worst:.3e}");
    }
}

/// With the kernels detected for this CPU, beyond the levels (greedy ids equal before
/// the first step whose llama.cpp margin is below 0.25, logits within 0.25): all 192 greedy
/// ids, and logits equal to llama.cpp's bit for bit with the AVX2 kernels (ggml's x86 order,
/// which made the reference) and the AVX-512 ones (the same bits), within 1e-5 with others (which follow the scalar references).
#[test]
fn tiny_detected_kernels_match_llama_cpp() {
    for id in MODELS {
        let bytes = load(id);
        let m = model(&bytes);
        // AVX-512 returns the AVX2 kernels' bits (kernels `tests/avx512.rs`)
        let tol = if matches!(m.kernels().name(), "avx2" | "avx512") {
            0.0
        } else {
            1e-5
        };
        for n_threads in [1, 2] {
            check_greedy(&m, id, f64::NEG_INFINITY, true, n_threads);
            let worst = check_logits(&m, id, tol, 1e-3, n_threads);
            eprintln!(
                "{id} ({}, {n_threads} threads): max |Δlogit| = {worst:.3e}",
                m.kernels().name()
            );
        }
    }
}

#[test]
fn tiny_threads_are_bit_identical() {
    for id in MODELS {
        let bytes = load(id);
        let m = model(&bytes);
        let g = reference(id, "logits.json");
        let prompt = ids(&g["cases"][0]["prompt_ids"]);
        let run = |threads| {
            let mut s = bague::session::Session::new(&m, opts(threads)).unwrap();
            let mut v = s.prefill(&prompt).unwrap().to_vec();
            v.extend_from_slice(s.decode(argmax(&v)).unwrap());
            v
        };
        let (a, b) = (run(1), run(2));
        assert!(
            a.iter().zip(&b).all(|(x, y)| x.to_bits() == y.to_bits()),
            "{id}: 1 and 2 threads differ"
        );
    }
}

#[test]
fn stepper_equals_prefill_and_decode() {
    let bytes = load("r1-tiny-random-q4_0");
    let m = model(&bytes);
    let prompt = ids(&reference("r1-tiny-random-q4_0", "logits.json")["cases"][0]["prompt_ids"]);
    let mut a = bague::session::Session::new(&m, opts(1)).unwrap();
    let want = a.prefill(&prompt).unwrap().to_vec();
    let want2 = a.decode(argmax(&want)).unwrap().to_vec();

    let mut b = bague::session::Session::new(&m, opts(1)).unwrap();
    let mut st = b.stepper(&prompt).unwrap();
    assert_eq!(st.n_stages(), m.config.n_layer + 2);
    // A budget of 0 runs nothing.
    assert!(st.step(0).unwrap().is_none());
    assert_eq!((st.work_done(), st.stages_done()), (0, 0));
    let mut calls = 0;
    let got = loop {
        calls += 1;
        if let Some(l) = st.step(1).unwrap() {
            break l.to_vec();
        }
    };
    assert!(
        calls > 1,
        "one unit of work per call must take several calls"
    );
    assert!(st.is_done());
    assert_eq!(st.step(1).unwrap().unwrap(), &got[..]);
    assert_eq!(st.last_work(), 0);
    assert_eq!(got, want);
    assert_eq!(b.position(), prompt.len());
    // An abandoned stepper leaves the session where it was.
    let next = [argmax(&got)];
    {
        let mut st = b.stepper(&next).unwrap();
        st.step(1).unwrap();
        st.step(1).unwrap();
        assert!(!st.is_done());
    }
    assert_eq!(b.position(), prompt.len());
    assert_eq!(b.decode(next[0]).unwrap(), &want2[..]);
}

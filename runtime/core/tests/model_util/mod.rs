//! Shared helpers of the model tests: load a GGUF, run greedy decoding and compare logits
//! with llama.cpp's reference JSON (model files, reference data and the skip policy for
//! absent models: `bague_testkit`).
#![allow(dead_code)]

use bague::gguf::File;
use bague::model::Model;
use bague::session::{Session, SessionOptions};
use bague_testkit::{ids, reference};
use serde_json::Value;

/// Index of the largest logit (the first one on ties, as llama.cpp's greedy sampler).
pub fn argmax(l: &[f32]) -> u32 {
    let mut best = 0;
    for (i, &v) in l.iter().enumerate() {
        if v > l[best] {
            best = i;
        }
    }
    best as u32
}

/// Session options used for every reference comparison (llama.cpp: n_ctx 512).
pub fn opts(n_threads: usize) -> SessionOptions {
    SessionOptions {
        n_ctx: 512,
        n_threads,
        ..Default::default()
    }
}

/// Greedy decoding of `n` tokens after `prompt`.
pub fn greedy(model: &Model<'_>, prompt: &[u32], n: usize, n_threads: usize) -> Vec<u32> {
    let mut s = Session::new(model, opts(n_threads)).unwrap();
    let mut out = Vec::new();
    let mut next = argmax(s.prefill(prompt).unwrap());
    out.push(next);
    while out.len() < n {
        next = argmax(s.decode(next).unwrap());
        out.push(next);
    }
    out
}

/// Checks greedy.json: ids must equal llama.cpp's up to the first step whose llama.cpp
/// top-2 margin is below `fragile`, that step included when `inclusive` (every step when
/// `fragile` is -inf).
pub fn check_greedy(
    model: &Model<'_>,
    model_id: &str,
    fragile: f64,
    inclusive: bool,
    n_threads: usize,
) {
    let g = reference(model_id, "greedy.json");
    for case in g["cases"].as_array().unwrap() {
        let id = case["id"].as_str().unwrap();
        let prompt = ids(&case["prompt_ids"]);
        let want = ids(&case["output_ids"]);
        let margins: Vec<f64> = case["top2_margins"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m.as_f64().unwrap())
            .collect();
        let got = greedy(model, &prompt, want.len(), n_threads);
        let agree = got.iter().zip(&want).take_while(|(a, b)| a == b).count();
        // Must agree through the first fragile step (inclusive).
        let must = margins
            .iter()
            .position(|&m| m < fragile)
            .map_or(want.len(), |i| if inclusive { i + 1 } else { i });
        eprintln!(
            "{model_id} {id}: {agree}/{} ids equal (must: {must}, first fragile margin at {:?})",
            want.len(),
            margins.iter().position(|&m| m < fragile)
        );
        assert!(
            agree >= must,
            "{model_id} {id}: diverged at step {agree} (needed {must})\n got  {got:?}\n want {want:?}"
        );
    }
}

/// llama.cpp's own spread at each step of logits.json: the largest top-20 logit difference
/// between its flash-attention-off (reference) and -on runs, `[case][step]`.
pub fn flash_attn_spread(model_id: &str) -> Vec<Vec<f32>> {
    let r = reference(model_id, "logits.json");
    let top = |s: &Value| -> Vec<(u64, f64)> {
        s["top"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| (p[0].as_u64().unwrap(), p[1].as_f64().unwrap()))
            .collect()
    };
    let fa = r["variant_flash_attn_enabled"]["cases"].as_array().unwrap();
    r["cases"]
        .as_array()
        .unwrap()
        .iter()
        .zip(fa)
        .map(|(c, f)| {
            let steps = c["steps"].as_array().unwrap();
            let fsteps = f["steps"].as_array().unwrap();
            steps
                .iter()
                .zip(fsteps)
                .map(|(a, b)| {
                    let (a, b) = (top(a), top(b));
                    let mut d = 0f64;
                    for (id, la) in &a {
                        if let Some((_, lb)) = b.iter().find(|(i, _)| i == id) {
                            d = d.max((la - lb).abs());
                        }
                    }
                    d as f32
                })
                .collect()
        })
        .collect()
}

/// Checks logits.json: top-10 ids in the same order (swaps of logits within `tie` allowed)
/// and every reference top-20 logit within `tol`. Returns the largest absolute difference.
pub fn check_logits(
    model: &Model<'_>,
    model_id: &str,
    tol: f32,
    tie: f32,
    n_threads: usize,
) -> f32 {
    check_logits_with(model, model_id, &|_, _| (tol, tie), n_threads)
}

/// [`check_logits`] with `(tol, tie)` per (case index, step).
pub fn check_logits_with(
    model: &Model<'_>,
    model_id: &str,
    tol_tie: &dyn Fn(usize, usize) -> (f32, f32),
    n_threads: usize,
) -> f32 {
    let r = reference(model_id, "logits.json");
    let mut worst = 0f32;
    for (ci, case) in r["cases"].as_array().unwrap().iter().enumerate() {
        let id = case["id"].as_str().unwrap();
        let prompt = ids(&case["prompt_ids"]);
        let mut s = Session::new(model, opts(n_threads)).unwrap();
        let mut logits = s.prefill(&prompt).unwrap().to_vec();
        for step in case["steps"].as_array().unwrap() {
            let k = step["step"].as_u64().unwrap();
            if k > 0 {
                let input = step["input_token"].as_u64().unwrap() as u32;
                assert_eq!(s.position() + 1, step["n_past"].as_u64().unwrap() as usize);
                logits = s.decode(input).unwrap().to_vec();
            }
            let top: Vec<(u32, f32)> = step["top"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| (p[0].as_u64().unwrap() as u32, p[1].as_f64().unwrap() as f32))
                .collect();
            let (tol, tie) = tol_tie(ci, k as usize);
            let mut step_worst = 0f32;
            for &(tid, tl) in &top {
                step_worst = step_worst.max((logits[tid as usize] - tl).abs());
            }
            // our top-10, ties broken by lower id
            let mut order: Vec<u32> = (0..logits.len() as u32).collect();
            order.sort_by(|&a, &b| {
                logits[b as usize]
                    .total_cmp(&logits[a as usize])
                    .then(a.cmp(&b))
            });
            for i in 0..10 {
                let (want_id, want_l) = top[i];
                let got_id = order[i];
                if got_id != want_id && std::env::var_os("BAGUE_TEST_NO_ASSERT").is_none() {
                    let gl = logits[got_id as usize];
                    assert!(
                        (gl - want_l).abs() <= tie,
                        "{model_id} {id} step {k}: top-10 rank {i} is {got_id} ({gl}), llama.cpp {want_id} ({want_l})"
                    );
                }
            }
            eprintln!("{model_id} {id} step {k}: max |Δlogit| top-20 = {step_worst:.2e}");
            worst = worst.max(step_worst);
            if std::env::var_os("BAGUE_TEST_NO_ASSERT").is_some() {
                continue;
            }
            assert!(
                step_worst <= tol,
                "{model_id} {id} step {k}: logit difference {step_worst} > {tol}"
            );
        }
    }
    worst
}

/// Reads a whole model file.
pub fn read(path: &std::path::Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Parses and binds a model from bytes, with the kernels detected for this CPU.
pub fn model(bytes: &[u8]) -> Model<'_> {
    let f = File::parse(bytes).unwrap();
    Model::from_gguf(&f).unwrap()
}

/// Parses and binds a model with the scalar reference kernels.
pub fn model_scalar(bytes: &[u8]) -> Model<'_> {
    let f = File::parse(bytes).unwrap();
    Model::with_kernels(&f, bague::model::Kernels::scalar()).unwrap()
}

//! Greedy generation through `bague::generate::Generator` against llama.cpp's greedy.json.
//!
//! For every case: the chat prompt rendered from `messages` with the file's own template
//! (BOS once, earlier thinking dropped) equals llama.cpp's; our prompt ids equal its; the
//! generator's ids equal a plain prefill/decode/argmax loop over the same session API
//! (exactly: the loop adds nothing to the numbers); and they equal llama.cpp's ids
//! - always: up to the first step whose llama.cpp top-2 margin is below 0.25 (tiny) or
//!   0.5 (real models; the reference README's "fragile" level), that step excluded;
//! - `*_exact` (kernels summing in ggml's order, see model_real.rs): every step (tiny) /
//!   through the first step with margin < 0.02, that step included (real).

mod generate_util;

use bague::gguf::File;
use bague::model::Model;
use bague::session::{Session, SessionOptions};
use bague::tokenizer::{EncodeOptions, Tokenizer};
use bague_testkit::{floats, ids, reference, tiny_bytes as tiny};
use generate_util::*;

/// Greedy ids from prefill / decode / argmax (first index on ties), stopping after an EOG.
fn direct(model: &Model<'_>, tok: &Tokenizer<'_>, prompt: &[u32], n: usize) -> Vec<u32> {
    let mut s = Session::new(
        model,
        SessionOptions {
            n_ctx: 512,
            n_threads: 2,
            ..Default::default()
        },
    )
    .unwrap();
    let argmax = |l: &[f32]| {
        let mut best = 0;
        for (i, &v) in l.iter().enumerate() {
            if v > l[best] {
                best = i;
            }
        }
        best as u32
    };
    let mut out = vec![argmax(s.prefill(prompt).unwrap())];
    while out.len() < n && !tok.is_eog(*out.last().unwrap()) {
        let next = argmax(s.decode(*out.last().unwrap()).unwrap());
        out.push(next);
    }
    out
}

fn check(model_id: &str, bytes: &[u8], fragile: f64, inclusive: bool) {
    let f = File::parse(bytes).unwrap();
    let tok = Tokenizer::from_gguf(&f).unwrap();
    let model = Model::from_gguf(&f).unwrap();
    let tmpl = template(&f, &tok);
    let g = reference(model_id, "greedy.json");
    let cases = g["cases"].as_array().unwrap();
    assert!(!cases.is_empty());
    for case in cases {
        let id = case["id"].as_str().unwrap();
        let text = case["prompt_text"].as_str().unwrap();
        let want_prompt = ids(&case["prompt_ids"]);
        if case["kind"] == "chat" {
            let rendered = tmpl.apply(&messages(&case["messages"]), true).unwrap();
            assert_eq!(rendered, text, "{model_id} {id}: rendered chat prompt");
        }
        let prompt = tok.encode(text, EncodeOptions::PROMPT).unwrap();
        assert_eq!(prompt, want_prompt, "{model_id} {id}: prompt ids");

        let want = ids(&case["output_ids"]);
        let margins = floats(&case["top2_margins"]);
        let n = case["n_predict"].as_u64().unwrap() as u32;
        let out = greedy(&model, &tok, &prompt, n, 2);
        let got = &out.output_ids;
        if model_id.contains("tiny") {
            // (Real models: the same code path; skipped to halve the run time.)
            let plain = direct(&model, &tok, &prompt, n as usize);
            assert_eq!(got, &plain, "{model_id} {id}: generator vs plain loop");
        }
        let same = agree(got, &want);
        let must = must_agree(&margins, want.len(), fragile, inclusive);
        eprintln!(
            "{model_id} {id}: {same}/{} ids equal (must {must}), stop {}",
            want.len(),
            out.stop_reason
        );
        assert!(
            same >= must,
            "{model_id} {id}: diverged at step {same} (must agree through {must})\n got  {got:?}\n want {want:?}"
        );
        if same == want.len() {
            // Same ids: same length and the same reason to stop.
            assert_eq!(got.len(), want.len(), "{model_id} {id}: output length");
            let eog = case["stopped_at_eog"].as_bool().unwrap();
            assert_eq!(
                out.stop_reason.as_str(),
                if eog { "eog" } else { "max_tokens" },
                "{model_id} {id}: stop reason"
            );
        }
    }
}

#[test]
fn tiny_r1_greedy_tracks_llama_cpp() {
    check(
        "r1-tiny-random-q4_0",
        &tiny("r1-tiny-random-q4_0"),
        0.25,
        false,
    );
}

#[test]
fn tiny_smol_greedy_tracks_llama_cpp() {
    check(
        "smol-tiny-random-q4_0",
        &tiny("smol-tiny-random-q4_0"),
        0.25,
        false,
    );
}

#[test]
fn smollm2_greedy_tracks_llama_cpp() {
    let id = "smollm2-135m-instruct-q4_1";
    if let Some(b) = real(id) {
        check(id, b.bytes(), 0.5, false);
    }
}

#[test]
fn qwen_greedy_tracks_llama_cpp() {
    let id = "qwen2.5-coder-0.5b-instruct-q4_k_m";
    if let Some(b) = real(id) {
        check(id, b.bytes(), 0.5, false);
    }
}

#[test]
fn tiny_greedy_exact() {
    // Every step, R1's 0.018-margin step included: the numbers are llama.cpp's bit for bit.
    check(
        "r1-tiny-random-q4_0",
        &tiny("r1-tiny-random-q4_0"),
        f64::NEG_INFINITY,
        true,
    );
    check(
        "smol-tiny-random-q4_0",
        &tiny("smol-tiny-random-q4_0"),
        f64::NEG_INFINITY,
        true,
    );
}

#[test]
fn real_greedy_exact() {
    for id in [
        "smollm2-135m-instruct-q4_1",
        "qwen2.5-coder-0.5b-instruct-q4_k_m",
    ] {
        if let Some(b) = real(id) {
            check(id, b.bytes(), 0.02, true);
        }
    }
}

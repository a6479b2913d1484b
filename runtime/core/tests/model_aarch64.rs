//! Whole models against llama.cpp's own **aarch64** build (`testdata/reference-aarch64/`,
//! made by `ci/aarch64-oracle.sh`): for every reference prompt of the four runnable models,
//! the logits of the first 15 steps must be bit-identical (64-bit FNV-1a of the whole vector)
//! and the greedy ids of all 32 steps (or through llama.cpp's end-of-generation token)
//! equal, for both builds: `dotprod` (`armv8.2-a+dotprod`) and `armv8` (plain `armv8-a`).
//!
//! Which kernels run:
//! - on aarch64 (CI runs this under `qemu-aarch64`): the NEON back ends, `neon+dotprod`
//!   against the dotprod references and `neon` against the armv8 ones. A back end the CPU
//!   lacks is skipped with a note, unless `BAGUE_EXPECT_KERNELS` (set by `ci/aarch64.sh`)
//!   names it, which makes its absence a failure;
//! - on other hosts: the scalar models of the same arithmetic (`Kernels::scalar_aarch64`), so
//!   the orders are checked without an Arm CPU. `BAGUE_AARCH64_MODELS` (comma-separated ids)
//!   limits the models there; by default the two tiny ones and SmolLM2 (Qwen2.5-Coder adds
//!   ~4 min on 2 cores: `BAGUE_AARCH64_MODELS=qwen2.5-coder-0.5b-instruct-q4_k_m`).
//!
//! `BAGUE_AARCH64_CASES` (comma-separated case ids, e.g. `chat-translate`) limits the prompts
//! (`ci/aarch64.sh` runs SmolLM2 under qemu on one; the host runs them all).
//!
//! A real model absent from the cache is skipped (or fails under `BAGUE_REQUIRE_MODELS=1`),
//! as everywhere: `bague_testkit::model`.

mod model_util;
use bague::gguf::File;
use bague::model::{Kernels, Model};
use bague::session::Session;
use bague_testkit::{ids, testdata};
use model_util::*;
use serde_json::Value;

fn fnv1a(x: &[f32]) -> u64 {
    let mut h = 0xcbf2_9ce4_8422_2325u64;
    for v in x {
        for b in v.to_le_bytes() {
            h ^= b as u64;
            h = h.wrapping_mul(0x100_0000_01b3);
        }
    }
    h
}

/// The kernels that reproduce `variant` here, or `None` (skip) with a note.
fn kernels(variant: &str) -> Option<Kernels> {
    let dotprod = variant == "dotprod";
    if cfg!(target_arch = "aarch64") {
        let name = if dotprod { "neon+dotprod" } else { "neon" };
        let k = Kernels::by_name(name);
        let expected = std::env::var("BAGUE_EXPECT_KERNELS").unwrap_or_default();
        if k.is_none() {
            assert!(
                !(dotprod && expected == "neon+dotprod"),
                "BAGUE_EXPECT_KERNELS={expected} but {name} is not available"
            );
            bague_testkit::skip(&format!("{name} is not available on this CPU"));
        }
        k
    } else {
        Some(Kernels::scalar_aarch64(dotprod))
    }
}

fn wanted_on_host(id: &str) -> bool {
    if cfg!(target_arch = "aarch64") {
        return true;
    }
    match std::env::var("BAGUE_AARCH64_MODELS") {
        Ok(list) => list.split(',').any(|m| m.trim() == id),
        Err(_) => id.contains("tiny") || id.starts_with("smollm2"),
    }
}

fn model_path(id: &str) -> Option<std::path::PathBuf> {
    if bague_testkit::TINY_MODELS.contains(&id) {
        Some(bague_testkit::tiny_path(id))
    } else {
        bague_testkit::model(id)
    }
}

/// Runs every case of `testdata/reference-aarch64/{id}/{variant}.json`; panics with a
/// summary unless every logit step is bit-identical and every greedy id equal.
fn check(id: &str, variant: &str) {
    if !wanted_on_host(id) {
        bague_testkit::skip(&format!("{id} is not in BAGUE_AARCH64_MODELS on this host"));
        return;
    }
    let Some(k) = kernels(variant) else { return };
    let Some(path) = model_path(id) else { return };
    let refp = testdata()
        .join("reference-aarch64")
        .join(id)
        .join(format!("{variant}.json"));
    let text = std::fs::read_to_string(&refp).unwrap_or_else(|e| panic!("{}: {e}", refp.display()));
    let r: Value = serde_json::from_str(&text).unwrap();
    let bytes = read(&path);
    let f = File::parse(&bytes).unwrap();
    let m = Model::with_kernels(&f, k).unwrap();
    let mut report = Vec::new();
    let (mut steps_ok, mut steps, mut ids_ok, mut n_ids) = (0, 0, 0, 0);
    let only = std::env::var("BAGUE_AARCH64_CASES").ok();
    let mut n_cases = 0;
    for case in r["cases"].as_array().unwrap() {
        let cid = case["id"].as_str().unwrap();
        if only
            .as_ref()
            .is_some_and(|l| !l.split(',').any(|c| c.trim() == cid))
        {
            continue;
        }
        n_cases += 1;
        let prompt = ids(&case["prompt_ids"]);
        let want_ids = ids(&case["output_ids"]);
        let lsteps = case["steps"].as_array().unwrap();
        let mut s = Session::new(&m, opts(2)).unwrap();
        let mut logits = s.prefill(&prompt).unwrap().to_vec();
        let mut first_bad: Option<String> = None;
        for (step, &want) in want_ids.iter().enumerate() {
            if let Some(ls) = lsteps.get(step) {
                steps += 1;
                let want_h = ls["fnv1a64"].as_str().unwrap();
                let got_h = format!("{:016x}", fnv1a(&logits));
                if got_h == want_h {
                    steps_ok += 1;
                } else if first_bad.is_none() {
                    let worst = ls["top"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|p| {
                            let i = p[0].as_u64().unwrap() as usize;
                            (logits[i] - p[1].as_f64().unwrap() as f32).abs()
                        })
                        .fold(0f32, f32::max);
                    first_bad = Some(format!(
                        "logits differ at step {step} (top-20 max |Δ| {worst:.3e})"
                    ));
                }
            }
            let got = argmax(&logits);
            n_ids += 1;
            if got != want {
                first_bad.get_or_insert(format!("id {got} != {want} at step {step}"));
                n_ids += want_ids.len() - step - 1;
                break;
            }
            ids_ok += 1;
            if step + 1 < want_ids.len() {
                logits = s.decode(got).unwrap().to_vec();
            }
        }
        if let Some(b) = first_bad {
            report.push(format!("{cid}: {b}"));
        }
    }
    assert!(
        n_cases > 0,
        "{id}: BAGUE_AARCH64_CASES={only:?} names none of its cases"
    );
    eprintln!(
        "{id} [{variant}, {}]: {n_cases} prompts, bit-identical logit steps {steps_ok}/{steps}, greedy ids {ids_ok}/{n_ids}",
        k.name()
    );
    assert!(
        report.is_empty(),
        "{id} [{variant}, {}]: {}",
        k.name(),
        report.join("; ")
    );
}

macro_rules! cases {
    ($($(#[$attr:meta])* $name:ident: $id:literal, $variant:literal;)*) => {$(
        #[test]
        $(#[$attr])*
        fn $name() {
            check($id, $variant);
        }
    )*};
}

cases! {
    smol_tiny_dotprod: "smol-tiny-random-q4_0", "dotprod";
    smol_tiny_armv8: "smol-tiny-random-q4_0", "armv8";
    r1_tiny_dotprod: "r1-tiny-random-q4_0", "dotprod";
    r1_tiny_armv8: "r1-tiny-random-q4_0", "armv8";
    smollm2_dotprod: "smollm2-135m-instruct-q4_1", "dotprod";
    smollm2_armv8: "smollm2-135m-instruct-q4_1", "armv8";
    // Under qemu Qwen takes ~10 min of CPU per variant, the whole aarch64 CI step's budget:
    // ci/aarch64.sh leaves it out; on other hosts it runs with the scalar models (which
    // check the same sums) when BAGUE_AARCH64_MODELS names it.
    qwen25_coder_dotprod: "qwen2.5-coder-0.5b-instruct-q4_k_m", "dotprod";
    qwen25_coder_armv8: "qwen2.5-coder-0.5b-instruct-q4_k_m", "armv8";
}

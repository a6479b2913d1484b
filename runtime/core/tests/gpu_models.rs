//! Whole models on the GPU against the CPU path (`bague::session::Session`, same file):
//! - tiny models (`testdata/models`): every greedy token equal to the CPU's for 32 steps;
//! - SmolLM2-135M (Q4_1) and Qwen2.5-Coder-0.5B (Q4_K_M mix): greedy tokens equal to the
//!   CPU's before the first fragile step — whose CPU top-2 logit margin is below 0.1, or
//!   below twice the top-10 |Δlogit| between the CPU's scalar and SIMD paths at that step
//!   (see below) — and on 15 steps
//!   (all paths fed the CPU's greedy token) the top-10 logits close to the CPU's: the mean
//!   and the max over the steps of the largest |Δlogit| on the CPU's top 10 within 0.05 —
//!   or within 1.5 times the same distance of the CPU path with its own scalar reference
//!   kernels, when that is larger — and the same top-10 set (unless the CPU's 10th and 11th
//!   logits are closer than twice the step's |Δ|).
//!
//!   Why the scalar path calibrates "close": the GPU does the CPU's integer arithmetic
//!   (activations quantized to Q8_0/Q8_1/Q8_K on the device, integer dot products per
//!   sub-block) and differs only in f32 summation order — as the CPU's scalar and SIMD
//!   kernels differ from each other. On these models that alone moves top-10 logits by
//!   0.1–0.4 (an activation on the other side of a Q8 rounding boundary changes one quant,
//!   and the change grows through the layers), so a fixed 0.05 would fail the CPU's own
//!   reference kernels; a real error (a wrong block decoder, a RoPE pairing, a mask) moves
//!   logits by whole units. All distances are printed.
//!
//! These tests are `#[ignore]`d in a plain `cargo test` (they need a Vulkan or Metal device
//! and take minutes on llvmpipe); `ci/gpu.sh` runs them with `--include-ignored`.
//! A missing model file fails when `BAGUE_REQUIRE_MODELS=1`; no device fails when
//! `BAGUE_REQUIRE_GPU=1` (CI sets both).

mod gpu_util;

use bague::gguf::File;
use bague::model::{Kernels, Model};
use bague::session::{Session, SessionOptions};
use bague_gpu::{GpuModel, GpuSession, Readback, SessionOptions as GpuOptions};
use gpu_util::*;

const N_CTX: usize = 512;
/// |Δlogit| on the CPU's top 10 that always passes.
const TOL: f32 = 0.05;
/// How much farther from the CPU's SIMD path than the CPU's own scalar path the GPU may be.
const SPREAD: f32 = 1.5;
/// Steps compared.
const STEPS: usize = 15;
/// Top-2 margin below which a greedy token may differ.
const MARGIN: f32 = 0.1;

fn cpu_session<'m, 'a>(m: &'m Model<'a>) -> Session<'m, 'a> {
    Session::new(
        m,
        SessionOptions {
            n_ctx: N_CTX,
            n_threads: 2,
            ..Default::default()
        },
    )
    .unwrap()
}

fn gpu_session(m: &GpuModel) -> GpuSession<'_> {
    GpuSession::new(
        m,
        GpuOptions {
            n_ctx: N_CTX,
            n_batch: 64,
        },
    )
    .unwrap()
}

/// Greedy decoding of 32 tokens on both paths; every token must agree.
fn tiny(id: &str) {
    let Some(dev) = device() else { return };
    let path = bague_testkit::tiny_path(id);
    let bytes = std::fs::read(&path).unwrap();
    let file = File::parse(&bytes).unwrap();
    let model = Model::from_gguf(&file).unwrap();
    let gm = GpuModel::upload(&dev, &desc(&model)).unwrap();
    for case in 0..2 {
        let prompt = prompt(id, case);
        let mut cpu = cpu_session(&model);
        let mut gpu = gpu_session(&gm);
        let mut want = vec![argmax(cpu.prefill(&prompt).unwrap())];
        let mut got = vec![gpu.prefill(&prompt).unwrap().token];
        while want.len() < 32 {
            let c = argmax(cpu.decode(*want.last().unwrap()).unwrap());
            let g = gpu.decode(*got.last().unwrap()).unwrap();
            assert_eq!(gpu.last_stats().submissions, 1);
            want.push(c);
            got.push(g.token);
        }
        assert_eq!(
            got, want,
            "{id} case {case}: GPU greedy tokens differ from the CPU's"
        );
        eprintln!("{id} case {case}: 32 greedy tokens equal");
    }
}

#[test]
#[ignore = "needs a GPU device (llvmpipe is enough): ci/gpu.sh runs it with --include-ignored"]
fn tiny_r1_greedy_equals_cpu() {
    tiny("r1-tiny-random-q4_0");
}

#[test]
#[ignore = "needs a GPU device (llvmpipe is enough): ci/gpu.sh runs it with --include-ignored"]
fn tiny_smol_greedy_equals_cpu() {
    tiny("smol-tiny-random-q4_0");
}

/// Top-2 margin of a logits row.
fn margin(l: &[f32]) -> f32 {
    let (mut a, mut b) = (f32::NEG_INFINITY, f32::NEG_INFINITY);
    for &v in l {
        if v > a {
            b = a;
            a = v;
        } else if v > b {
            b = v;
        }
    }
    a - b
}

fn top_k(l: &[f32], k: usize) -> Vec<u32> {
    let mut idx: Vec<u32> = (0..l.len() as u32).collect();
    idx.sort_by(|&a, &b| l[b as usize].total_cmp(&l[a as usize]).then(a.cmp(&b)));
    idx.truncate(k);
    idx
}

/// Largest |a - b| over the ids `over`.
fn max_diff(a: &[f32], b: &[f32], over: &[u32]) -> f32 {
    over.iter()
        .map(|&i| (a[i as usize] - b[i as usize]).abs())
        .fold(0f32, f32::max)
}

fn sorted(mut v: Vec<u32>) -> Vec<u32> {
    v.sort_unstable();
    v
}

/// Gap between the 10th and 11th largest logits.
fn boundary_gap(l: &[f32]) -> f32 {
    let t = top_k(l, 11);
    l[t[9] as usize] - l[t[10] as usize]
}

fn real(id: &str) {
    let Some(path) = bague_testkit::model(id) else {
        return;
    };
    let Some(dev) = device() else { return };
    let mapped = bague::loader::MappedFile::open(&path).unwrap();
    let file = mapped.parse().unwrap();
    let model = Model::from_gguf(&file).unwrap();
    // The CPU path with its scalar reference kernels: the same integer arithmetic as the
    // SIMD kernels (and as the GPU's), other f32 summation orders.
    let scalar = Model::with_kernels(&file, Kernels::by_name("scalar").unwrap()).unwrap();
    let gm = GpuModel::upload(&dev, &desc(&model)).unwrap();
    let prompt = prompt(id, 0);
    let mut cpu = cpu_session(&model);
    let mut cpu_s = cpu_session(&scalar);
    let mut gpu = gpu_session(&gm);
    let mut c = cpu.prefill(&prompt).unwrap().to_vec();
    let mut s = cpu_s.prefill(&prompt).unwrap().to_vec();
    let mut g = gpu.prefill_with(&prompt, Readback::Logits).unwrap();
    let mut fragile = None;
    // Per step: top-10 |Δ| GPU–SIMD, scalar–SIMD; whole vocabulary GPU–SIMD, scalar–SIMD.
    let mut d_gpu = Vec::new();
    let mut d_scalar = Vec::new();
    let (mut all_gpu, mut all_scalar) = (0f32, 0f32);
    let mut failures = Vec::new();
    let all: Vec<u32> = (0..c.len() as u32).collect();
    for step in 0..STEPS {
        let gl = g.logits.as_ref().unwrap();
        let want = argmax(&c);
        let m = margin(&c);
        let ct = top_k(&c, 10);
        let (dg, ds) = (max_diff(gl, &c, &ct), max_diff(&s, &c, &ct));
        // A step is fragile when the CPU's margin is below 0.1, or below twice what the
        // CPU's own two kernel sets disagree by there.
        if fragile.is_none() && m < MARGIN.max(2.0 * ds) {
            fragile = Some(step);
        }
        if fragile.is_none() && g.token != want {
            failures.push(format!(
                "step {step}: greedy token {} vs CPU {want} (CPU margin {m:.3})",
                g.token
            ));
        }
        d_gpu.push(dg);
        d_scalar.push(ds);
        all_gpu = all_gpu.max(max_diff(gl, &c, &all));
        all_scalar = all_scalar.max(max_diff(&s, &c, &all));
        let same = sorted(top_k(gl, 10)) == sorted(ct.clone());
        let gap = boundary_gap(&c);
        eprintln!(
            "{id} step {step}: CPU margin {m:.3}; top-10 |Δlogit| GPU–CPU {dg:.4} (same set {same}), CPU scalar–SIMD {ds:.4}; 10th/11th gap {gap:.3}"
        );
        if !same && gap > 2.0 * dg {
            failures.push(format!(
                "step {step}: top-10 set differs from the CPU's (10th/11th gap {gap:.3}, |Δ| {dg:.4})"
            ));
        }
        // All continue with the CPU's greedy token.
        c = cpu.decode(want).unwrap().to_vec();
        s = cpu_s.decode(want).unwrap().to_vec();
        g = gpu.decode_with(want, Readback::Logits).unwrap();
    }
    let mean = |v: &[f32]| v.iter().sum::<f32>() / v.len() as f32;
    let max = |v: &[f32]| v.iter().fold(0f32, |a, &b| a.max(b));
    let (mg, ms, xg, xs) = (mean(&d_gpu), mean(&d_scalar), max(&d_gpu), max(&d_scalar));
    eprintln!(
        "{id}: {STEPS} steps, first fragile step {fragile:?}; top-10 |Δlogit| vs the CPU (SIMD): GPU mean {mg:.4} max {xg:.4}, CPU scalar mean {ms:.4} max {xs:.4}; whole vocabulary max: GPU {all_gpu:.4}, CPU scalar {all_scalar:.4}"
    );
    if xg > TOL.max(SPREAD * xs) || mg > TOL.max(SPREAD * ms) {
        failures.push(format!(
            "top-10 |Δlogit| GPU mean {mg:.4} / max {xg:.4} exceed max({TOL}, {SPREAD} x the CPU scalar path's {ms:.4} / {xs:.4})"
        ));
    }
    // The shape of a greedy decode step (argmax read back), on the same session: no second
    // prefill of the prompt (llvmpipe runs it on the CI's two cores).
    let st = {
        gpu.decode(g.token).unwrap();
        gpu.last_stats()
    };
    eprintln!(
        "{id}: decode step: {} dispatches ({} layers), {} pass, {} submission, {} bytes read back",
        st.dispatches,
        gm.n_layer(),
        st.passes,
        st.submissions,
        st.bytes_read
    );
    assert!(failures.is_empty(), "{id}: {failures:#?}");
    assert_eq!(st.submissions, 1);
    assert_eq!(st.passes, 1);
    assert_eq!(st.dispatches, gm.decode_dispatches());
    assert!(st.dispatches <= 8 * gm.n_layer() as u64 + 4);
    assert!(st.bytes_read <= 64);
}

#[test]
#[ignore = "needs a GPU device (llvmpipe is enough): ci/gpu.sh runs it with --include-ignored"]
fn smollm2_matches_cpu() {
    real("smollm2-135m-instruct-q4_1");
}

#[test]
#[ignore = "needs a GPU device (llvmpipe is enough): ci/gpu.sh runs it with --include-ignored"]
fn qwen25_coder_matches_cpu() {
    real("qwen2.5-coder-0.5b-instruct-q4_k_m");
}

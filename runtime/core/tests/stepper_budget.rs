//! `Stepper::step(budget)`: every call stays within its budget plus less than one task (at
//! most one work unit on the tiny models), and the budgeted pass gives the unbudgeted
//! pass's logits bit for bit — for every layer of both tiny models, with every kernel back
//! end of this CPU (scalar, AVX2, AVX-512 / NEON where present) and the scalar models of
//! llama.cpp's aarch64 orders (plain and dotprod), budgets 1, 7, 1000 and
//! unbounded, at 1 and 2 threads, over a prompt (a batch) and greedy decode steps; and on
//! SmolLM2-135M (a real model whose head_dim allows a Q8_0 KV cache) with an f16 and a Q8_0
//! cache.

mod model_util;
use bague::model::{KvType, Model};
use bague::session::{Session, SessionOptions, UNIT_WORK};
use bague_testkit::{ids, reference};
use model_util::*;

const MODELS: [&str; 2] = ["r1-tiny-random-q4_0", "smol-tiny-random-q4_0"];
const DECODE: usize = 6;

fn options(n_threads: usize, kv_type: KvType) -> SessionOptions {
    SessionOptions {
        n_ctx: 256,
        n_threads,
        kv_type,
        ..Default::default()
    }
}

/// Logits of the prompt and of `DECODE` greedy steps after it, unbudgeted.
fn whole(m: &Model<'_>, prompt: &[u32], o: SessionOptions) -> Vec<Vec<f32>> {
    let mut s = Session::new(m, o).unwrap();
    let mut out = vec![s.prefill(prompt).unwrap().to_vec()];
    for _ in 0..DECODE {
        let next = argmax(out.last().unwrap());
        out.push(s.decode(next).unwrap().to_vec());
    }
    out
}

/// The same with `step(budget)`; checks every call's work against the budget. Returns the
/// logits and the number of calls.
/// `unit_tasks`: whether every task of every pass must be within one unit (else only of
/// the one-token passes: a batch's 4-token tiles of a wide matrix are larger).
fn budgeted(
    m: &Model<'_>,
    prompt: &[u32],
    o: SessionOptions,
    budget: u64,
    what: &str,
    unit_tasks: bool,
) -> (Vec<Vec<f32>>, usize) {
    let mut s = Session::new(m, o).unwrap();
    let mut out: Vec<Vec<f32>> = Vec::new();
    let mut calls = 0;
    for i in 0..=DECODE {
        let tokens = if i == 0 {
            prompt.to_vec()
        } else {
            vec![argmax(out.last().unwrap())]
        };
        let mut st = s.stepper(&tokens).unwrap();
        let max_task = st.max_task_work();
        if unit_tasks || tokens.len() == 1 {
            assert!(
                max_task <= UNIT_WORK,
                "{what}: a task of {max_task} work is over one unit"
            );
        }
        let limit = budget.saturating_mul(UNIT_WORK);
        let logits = loop {
            calls += 1;
            let r = st.step(budget).unwrap().map(<[f32]>::to_vec);
            let w = st.last_work();
            assert!(
                w < limit.saturating_add(max_task),
                "{what}: a call with budget {budget} did {w} work (limit {limit} + one task {max_task})"
            );
            if let Some(l) = r {
                break l;
            }
            assert!(w > 0, "{what}: a call that completes nothing must work");
        };
        out.push(logits);
    }
    (out, calls)
}

/// Checks `m` at every combination of `kvs`, `threads` and the four budgets.
fn check(
    id: &str,
    kname: &str,
    m: &Model<'_>,
    prompt: &[u32],
    kvs: &[KvType],
    threads: &[usize],
    unit_tasks: bool,
) {
    for &kv in kvs {
        for &t in threads {
            let o = options(t, kv);
            let want = whole(m, prompt, o);
            let mut calls_at = Vec::new();
            for budget in [1, 7, 1000, u64::MAX] {
                let what = format!(
                    "{id} {kname} ({}) {kv:?} {t} threads budget {budget}",
                    m.kernels().name()
                );
                let (got, calls) = budgeted(m, prompt, o, budget, &what, unit_tasks);
                for (step, (g, w)) in got.iter().zip(&want).enumerate() {
                    assert!(
                        g.iter().zip(w).all(|(a, b)| a.to_bits() == b.to_bits()),
                        "{what}: logits of step {step} differ from the whole pass"
                    );
                }
                calls_at.push(calls);
            }
            // Unbounded: one call per pass; fewer calls for larger budgets.
            assert_eq!(calls_at[3], DECODE + 1, "{id}: unbounded budget");
            assert!(
                calls_at.windows(2).all(|w| w[0] >= w[1]),
                "{id}: {calls_at:?}"
            );
            assert!(
                calls_at[0] > calls_at[3],
                "{id}: budget 1 must cut the passes"
            );
            eprintln!("{id} {kname} {kv:?} {t}t: calls at budgets 1/7/1000/∞: {calls_at:?}");
        }
    }
}

#[test]
fn budgeted_steps_stay_in_budget_and_equal_whole_passes() {
    for id in MODELS {
        let bytes = bague_testkit::tiny_bytes(id);
        let prompt = ids(&reference(id, "logits.json")["cases"][0]["prompt_ids"]);
        assert!(
            prompt.len() > 4,
            "{id}: the prompt must make a batch of several token groups"
        );
        let f = bague::gguf::File::parse(&bytes).unwrap();
        // the CPU's back ends, and the scalar models of llama.cpp's aarch64 build (its RoPE,
        // attention kernels and 4-token gemm groups, as NEON computes them) on any host
        let kernels = bague::model::Kernels::available().chain([
            bague::model::Kernels::scalar_aarch64(false),
            bague::model::Kernels::scalar_aarch64(true),
        ]);
        for k in kernels {
            let m = Model::with_kernels(&f, k).unwrap();
            check(id, k.name(), &m, &prompt, &[KvType::F16], &[1, 2], true);
        }
    }
}

/// SmolLM2-135M: an f16 and a Q8_0 KV cache (the tiny models' head_dim is too small for
/// Q8_0 blocks), the detected kernels, 1 thread (2 threads are covered above).
#[test]
fn budgeted_steps_on_smollm2_with_both_caches() {
    let id = "smollm2-135m-instruct-q4_1";
    let Some(bytes) = bague_testkit::model_bytes(id) else {
        return;
    };
    let m = model(&bytes);
    let prompt = [504, 3458, 282, 260, 1345, 30];
    check(
        id,
        "detected",
        &m,
        &prompt,
        &[KvType::F16, KvType::Q8_0],
        &[1],
        false,
    );
}

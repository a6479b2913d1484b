//! After a context shift the text stays coherent. The shift keeps the first `n_keep`
//! positions (the CLI passes the prompt, or a chat's preamble and system message — what
//! llama.cpp keeps) and drops the older half of the rest. Before, `n_keep` was BOS only:
//! nothing at all on vocabularies without BOS (Qwen2.5, SmolLM2), and the output collapsed
//! into repetition right after the first shift.
//!
//! (A continuation after a shift cannot equal a fresh run on the kept tokens: the kept
//! tail's keys and values were computed while the dropped tokens were in context. So the
//! test measures what a user sees: how varied the text after the shift is.)

use bague::model::Model;
use bague::session::{ContextPolicy, Session, SessionOptions};
use bague::tokenizer::{EncodeOptions, Tokenizer};

fn argmax(l: &[f32]) -> u32 {
    let mut best = 0;
    for (i, &v) in l.iter().enumerate() {
        if v > l[best] {
            best = i;
        }
    }
    best as u32
}

/// `n` greedy ids after `prompt` in a context of `n_ctx` that shifts keeping `n_keep`.
fn greedy(m: &Model<'_>, prompt: &[u32], n_ctx: usize, n_keep: usize, n: usize) -> Vec<u32> {
    let opts = SessionOptions {
        n_ctx,
        context_policy: ContextPolicy::Shift { n_keep },
        ..Default::default()
    };
    let mut s = Session::new(m, opts).unwrap();
    let mut out = vec![argmax(s.prefill(prompt).unwrap())];
    while out.len() < n {
        let next = argmax(s.decode(*out.last().unwrap()).unwrap());
        out.push(next);
    }
    out
}

/// Distinct 3-grams / all 3-grams: 1 for varied text, near 0 for a loop.
fn variety(ids: &[u32]) -> f64 {
    let grams: Vec<&[u32]> = ids.windows(3).collect();
    let mut uniq = grams.clone();
    uniq.sort();
    uniq.dedup();
    uniq.len() as f64 / grams.len() as f64
}

/// On both real models without BOS: keeping the prompt keeps the text varied after the
/// shift; keeping nothing (the old default there) loops — which shows the measure tells
/// the two apart.
#[test]
fn text_after_a_shift_stays_varied_when_the_prompt_is_kept() {
    for id in [
        "smollm2-135m-instruct-q4_1",
        "qwen2.5-coder-0.5b-instruct-q4_k_m",
    ] {
        let Some(path) = bague_testkit::model(id) else {
            continue;
        };
        let bytes = std::fs::read(&path).unwrap();
        let f = bague::gguf::File::parse(&bytes).unwrap();
        let tok = Tokenizer::from_gguf(&f).unwrap();
        assert!(!tok.add_bos(), "{id}: a vocabulary without BOS");
        let m = Model::from_gguf(&f).unwrap();
        let prompt = tok
            .encode(
                "The history of the printing press begins in the fifteenth century, when",
                EncodeOptions::PROMPT,
            )
            .unwrap();
        // The context fills after `fill` generated ids; the next decode shifts.
        let (n_ctx, after) = (48, 48);
        let fill = n_ctx - prompt.len();
        let span = |ids: Vec<u32>| variety(&ids[fill..]);
        let kept = span(greedy(&m, &prompt, n_ctx, prompt.len(), fill + after));
        let dropped = span(greedy(&m, &prompt, n_ctx, 0, fill + after));
        // The same span of a run whose context never fills: the model's own variety.
        let free = span(greedy(&m, &prompt, 2 * n_ctx + after, 0, fill + after));
        eprintln!(
            "{id}: variety after the shift: prompt kept {kept:.2}, nothing kept {dropped:.2}, \
             no shift {free:.2}"
        );
        assert!(
            kept >= 0.8 * free,
            "{id}: {kept:.2} vs {free:.2} without a shift"
        );
        assert!(dropped < kept, "{id}: {dropped:.2} vs {kept:.2}");
    }
}

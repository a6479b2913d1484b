//! `bague bench --json-schema`: what constrained decoding costs per token.
//!
//! Measured, for each thread count, over `-r` repetitions run interleaved (the order of the
//! modes rotates each repetition so that machine noise hits all of them):
//! - `free`: unconstrained greedy decoding of the answer to a fixed chat prompt;
//! - `schema`: the same prompt constrained to the schema, masks computed on the worker
//!   thread while the forward pass runs (the default);
//! - `schema-inline`: the same, masks computed after the logits (no overlap), for comparison.
//!
//! Each run is a fresh session: prefill the prompt, then decode until end-of-generation or
//! `-n` tokens. Decode time per token is the generator's (`decode_us / n_decode`: the
//! forward pass, the wait for the mask, the sampling); the overhead is the median
//! constrained time per token over the median free one, minus 1. The same is reported for
//! CPU time (every thread of the process, the mask worker included, from the first sampled
//! token to the end; Linux `schedstat`), which a loaded machine disturbs less than wall
//! time but which counts the worker's mask work as a cost even where a spare core would
//! absorb it. Mask times are llguidance's
//! compute time per mask and the time the loop waited for it (p50, p99, max over every mask
//! of every repetition). Grammar compile time: the median of 10 compiles of the schema
//! (the vocabulary's token trie, built once per model, is timed separately).

use std::ops::ControlFlow;
use std::sync::atomic::AtomicBool;
use std::time::Instant;

use anyhow::{Result, anyhow};
use bague::bundle::Bundle;
use bague::chat::Message;
use bague::constraint::grammar::{Grammar, GrammarSpec, MaskMode, Vocab};
use bague::constraint::MaskTime;
use bague::generate::{Generator, Outcome, Piece, Request, Sink, StdClock};
use bague::sampler::SamplerConfig;
use bague::session::{Session, SessionOptions};

use crate::constraint::pcts;

/// The user message of every run.
pub const PROMPT: &str =
    "Car voice command: \"It's freezing, warm the car to 22 degrees\". Answer with the intent as JSON.";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    Free,
    Background,
    Inline,
}

impl Mode {
    fn name(self) -> &'static str {
        match self {
            Mode::Free => "free",
            Mode::Background => "schema",
            Mode::Inline => "schema-inline",
        }
    }
}

/// Per mode and thread count: per-token decode ms of each repetition, and every mask.
#[derive(Default)]
struct Samples {
    per_token_ms: Vec<f64>,
    cpu_per_token_ms: Vec<f64>,
    tokens: Vec<usize>,
    masks: Vec<MaskTime>,
    text: String,
}

/// Runs the measurement and prints a table (or JSON).
pub fn run(
    bundle: &Bundle<'_>,
    model_name: &str,
    schema: &str,
    threads: &[usize],
    reps: usize,
    n_gen: usize,
    json: bool,
) -> Result<()> {
    let spec = GrammarSpec::JsonSchema(schema.to_string());
    let t = Instant::now();
    let vocab = Vocab::new(&bundle.tokenizer).map_err(|e| anyhow!("{e}"))?;
    let vocab_ms = t.elapsed().as_secs_f64() * 1e3;
    let mut compile_ms = Vec::new();
    let mut grammar = None;
    for _ in 0..10 {
        let t = Instant::now();
        let g = vocab
            .compile(&spec)
            .map_err(|e| anyhow!("--json-schema: {e}"))?;
        compile_ms.push(t.elapsed().as_secs_f64() * 1e3);
        grammar = Some(g);
    }
    let grammar = grammar.expect("compiled 10 times");
    let msgs = [
        Message::system("You are an assistant that answers with JSON only."),
        Message::user(PROMPT),
    ];
    let chat = bundle
        .chat_prompt(&msgs, true, bundle.default_n_ctx())
        .map_err(|e| anyhow!("the benchmark prompt needs the model's chat template: {e}"))?;
    let (text, prompt) = (chat.text, chat.ids);
    let max_tokens = u32::try_from(n_gen.max(1)).unwrap_or(u32::MAX);
    let modes = [Mode::Free, Mode::Background, Mode::Inline];

    let mut rows = Vec::new();
    for &t in threads {
        let mut samples: Vec<Samples> = modes.iter().map(|_| Samples::default()).collect();
        for rep in 0..reps {
            for k in 0..modes.len() {
                let i = (k + rep) % modes.len();
                let out = once(bundle, &grammar, &prompt, &text, modes[i], t, max_tokens)?;
                let s = &mut samples[i];
                let n = out.0.timings.n_decode.max(1) as f64;
                s.per_token_ms.push(out.0.timings.decode_ms() / n);
                if let Some(cpu) = out.2 {
                    s.cpu_per_token_ms.push(cpu * 1e3 / n);
                }
                s.tokens.push(out.0.output_ids.len());
                s.masks.extend_from_slice(&out.0.masks);
                s.text = out.1;
                if !json {
                    eprintln!(
                        "bench: t={t} rep {} {:>13}: {} tokens, {:.2} ms/token",
                        rep + 1,
                        modes[i].name(),
                        out.0.output_ids.len(),
                        s.per_token_ms.last().copied().unwrap_or(0.0)
                    );
                }
            }
        }
        let free = median(&samples[0].per_token_ms);
        let free_cpu = median(&samples[0].cpu_per_token_ms);
        for (i, s) in samples.iter().enumerate() {
            let mut c: Vec<u32> = s.masks.iter().map(|m| m.compute_ns).collect();
            let mut w: Vec<u32> = s.masks.iter().map(|m| m.wait_ns).collect();
            let per = median(&s.per_token_ms);
            let cpu = median(&s.cpu_per_token_ms);
            rows.push(serde_json::json!({
                "threads": t,
                "mode": modes[i].name(),
                "tokens_median": median_usize(&s.tokens),
                "ms_per_token": per,
                "ms_per_token_runs": s.per_token_ms,
                "overhead_pct": (per / free - 1.0) * 100.0,
                "cpu_ms_per_token": cpu,
                "cpu_ms_per_token_runs": s.cpu_per_token_ms,
                "cpu_overhead_pct": (cpu / free_cpu - 1.0) * 100.0,
                "mask_compute_us": pcts(&mut c),
                "mask_wait_us": pcts(&mut w),
                "n_masks": s.masks.len(),
                "n_background": s.masks.iter().filter(|m| m.background).count(),
                "text": s.text,
            }));
        }
    }
    let compile = {
        let mut v = compile_ms.clone();
        v.sort_by(f64::total_cmp);
        serde_json::json!({"median": median(&compile_ms), "min": v[0], "max": v[v.len() - 1]})
    };
    if json {
        let v = serde_json::json!({
            "model": model_name,
            "n_vocab": bundle.tokenizer.n_vocab(),
            "prompt": PROMPT,
            "token_trie_ms": vocab_ms,
            "compile_ms": compile,
            "rows": rows,
        });
        println!("{v}");
        return Ok(());
    }
    println!(
        "{model_name}: {} tokens; token trie {vocab_ms:.1} ms (once per model); schema compile {:.2} ms median of 10 (min {:.2}, max {:.2})",
        bundle.tokenizer.n_vocab(),
        compile["median"].as_f64().unwrap_or(0.0),
        compile["min"].as_f64().unwrap_or(0.0),
        compile["max"].as_f64().unwrap_or(0.0),
    );
    println!();
    println!(
        "| threads | mode | tokens | ms/token (median of {reps}) | overhead | CPU ms/token | CPU overhead | mask µs p50 / p99 / max | wait µs p50 / p99 / max | masks during the forward pass |"
    );
    println!("|--:|---|--:|--:|--:|--:|--:|--:|--:|--:|");
    for r in &rows {
        let f = |k: &str| -> String {
            let a = r[k].as_array().cloned().unwrap_or_default();
            let x: Vec<String> = a
                .iter()
                .map(|v| format!("{:.0}", v.as_f64().unwrap_or(0.0)))
                .collect();
            x.join(" / ")
        };
        let free = r["mode"] == "free";
        let pct = |k: &str| {
            if free {
                "—".to_string()
            } else {
                format!("{:+.1} %", r[k].as_f64().unwrap_or(0.0))
            }
        };
        println!(
            "| {} | {} | {} | {:.2} | {} | {:.2} | {} | {} | {} | {} |",
            r["threads"],
            r["mode"].as_str().unwrap_or(""),
            r["tokens_median"],
            r["ms_per_token"].as_f64().unwrap_or(0.0),
            pct("overhead_pct"),
            r["cpu_ms_per_token"].as_f64().unwrap_or(0.0),
            pct("cpu_overhead_pct"),
            if free { "—".into() } else { f("mask_compute_us") },
            if free { "—".into() } else { f("mask_wait_us") },
            if free {
                "—".to_string()
            } else {
                format!("{} / {}", r["n_background"], r["n_masks"])
            },
        );
    }
    for r in rows.iter().filter(|r| r["threads"] == threads[0]) {
        println!("{}: {}", r["mode"].as_str().unwrap_or(""), r["text"]);
    }
    Ok(())
}

/// One generation in `mode` on a fresh session: the outcome, the answer text, and the
/// process's CPU seconds from the first sampled token to the end (`None` off Linux).
fn once(
    bundle: &Bundle<'_>,
    grammar: &Grammar,
    prompt: &[u32],
    prompt_text: &str,
    mode: Mode,
    threads: usize,
    max_tokens: u32,
) -> Result<(Outcome, String, Option<f64>)> {
    let mut session = Session::new(
        &bundle.model,
        SessionOptions {
            n_ctx: prompt.len() + max_tokens as usize + 8,
            n_threads: threads,
            ..SessionOptions::default()
        },
    )?;
    let mut g = Generator::new(&bundle.tokenizer, SamplerConfig::greedy())?;
    match mode {
        Mode::Free => {}
        Mode::Background => g.set_constraint(Some(Box::new(
            grammar.constraint_with(MaskMode::Background),
        )))?,
        Mode::Inline => g.set_constraint(Some(Box::new(
            grammar.constraint_with(MaskMode::Inline),
        )))?,
    }
    let req = Request {
        max_tokens: Some(max_tokens),
        reasoning: bundle.reasoning(prompt_text, None),
        pin_empty_thinking: true,
        ..Request::new(prompt)
    };
    let mut sink = CpuSink {
        text: String::new(),
        cpu_at_first: None,
    };
    let out = g
        .generate(
            &mut session,
            &req,
            &AtomicBool::new(false),
            &StdClock::new(),
            &mut sink,
        )
        .map_err(|e| crate::output::generate_error(e, &g))?;
    // Read while the generator (and so the mask worker thread) is alive: a thread that has
    // ended is no longer in /proc/self/task.
    let cpu = bague_bench::process_cpu_seconds()
        .zip(sink.cpu_at_first)
        .map(|(b, a)| b - a);
    Ok((out, sink.text, cpu))
}

/// Collects the text and reads the CPU time when the first token is sampled.
struct CpuSink {
    text: String,
    cpu_at_first: Option<f64>,
}

impl Sink for CpuSink {
    fn token(&mut self, _: u32) -> ControlFlow<()> {
        if self.cpu_at_first.is_none() {
            self.cpu_at_first = bague_bench::process_cpu_seconds();
        }
        ControlFlow::Continue(())
    }

    fn piece(&mut self, p: Piece<'_>) -> ControlFlow<()> {
        self.text.push_str(p.text);
        ControlFlow::Continue(())
    }
}

fn median(v: &[f64]) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let n = s.len();
    if n % 2 == 1 {
        s[n / 2]
    } else {
        (s[n / 2 - 1] + s[n / 2]) / 2.0
    }
}

fn median_usize(v: &[usize]) -> usize {
    let mut s = v.to_vec();
    s.sort_unstable();
    s.get(s.len() / 2).copied().unwrap_or(0)
}

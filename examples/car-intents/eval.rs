//! Evaluates the car board's voice-command mode on this folder's set: every utterance run
//! greedily through `bague_board_car::VoiceCommands` (schema-constrained, thinking pinned
//! empty, token cap, deadline), each answer checked against the schema by the `jsonschema`
//! crate (independently of the constraint engine) and scored against the expected intent
//! and slots; latency from the transcript to the complete JSON, p50 / p95, with the system
//! message in the KV cache (warmed up once, as a car unit does at start).
//!
//! ```sh
//! cargo run --release -p bague-board-car --example car-intents -- \
//!     --model smollm2-135m-instruct-q4_1 --model qwen2.5-coder-0.5b-instruct-q4_k_m --threads 2
//! ```
//!
//! Options: `--model ID|PATH` (repeatable; default both models above, from the model
//! cache), `--threads N` (default 2), `--limit N` (the first N utterances), `--deadline-ms MS`
//! (default 60000: the accuracy run must not be cut by a loaded machine; a miss is counted),
//! `--max-tokens N` (default 64), `--verbose` (every answer).

#[path = "set.rs"]
mod set;

use std::ops::ControlFlow;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use bague::bundle::Bundle;
use bague::constraint::grammar::Vocab;
use bague::loader::MappedFile;
use bague_board_car::{CarBoard, CarError, IntentSchema, Progress, VoiceCommands, VoiceConfig};

struct Args {
    models: Vec<String>,
    threads: usize,
    limit: usize,
    deadline_ms: u64,
    max_tokens: u32,
    verbose: bool,
}

fn args() -> Result<Args, String> {
    let mut a = Args {
        models: Vec::new(),
        threads: 2,
        limit: usize::MAX,
        deadline_ms: 60_000,
        max_tokens: 64,
        verbose: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(k) = it.next() {
        let mut val = || it.next().ok_or_else(|| format!("{k} needs a value"));
        let num = |s: String| s.parse::<u64>().map_err(|e| format!("{k}: {e}"));
        match k.as_str() {
            "--model" | "-m" => a.models.push(val()?),
            "--threads" | "-t" => a.threads = num(val()?)? as usize,
            "--limit" => a.limit = num(val()?)? as usize,
            "--deadline-ms" => a.deadline_ms = num(val()?)?,
            "--max-tokens" => a.max_tokens = num(val()?)? as u32,
            "--verbose" | "-v" => a.verbose = true,
            "--help" | "-h" => {
                return Err(
                    "usage: car-intents [--model ID|PATH]... [--threads N] [--limit N] \
                            [--deadline-ms MS] [--max-tokens N] [--verbose]"
                        .into(),
                );
            }
            _ => return Err(format!("unknown argument {k}")),
        }
    }
    if a.models.is_empty() {
        a.models = vec![
            "smollm2-135m-instruct-q4_1".into(),
            "qwen2.5-coder-0.5b-instruct-q4_k_m".into(),
        ];
    }
    Ok(a)
}

fn model_path(m: &str) -> Result<PathBuf, String> {
    let p = PathBuf::from(m);
    if p.extension().is_some_and(|e| e == "gguf") {
        return Ok(p);
    }
    bague_testkit::cache_path(m)
        .filter(|p| p.exists())
        .ok_or_else(|| format!("{m}: not in the model cache (bague pull {m})"))
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into())
}

/// One model's results.
struct Report {
    model: String,
    n: usize,
    valid: usize,
    errors: usize,
    deadline_misses: usize,
    intent_ok: usize,
    slots_ok: usize,
    slots: usize,
    exact: usize,
    latency_ms: Vec<f64>,
    tokens: Vec<f64>,
    by_lang: [(usize, usize); 2],
    warm_up: Duration,
    cached: usize,
    load: (String, String),
}

fn run(
    model: &str,
    a: &Args,
    set: &set::Set,
    validator: &jsonschema::Validator,
) -> Result<Report, String> {
    let path = model_path(model)?;
    let file = MappedFile::open(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let board = CarBoard::with_threads(a.threads);
    let bundle = Bundle::load(file.bytes(), board.bundle_options()).map_err(|e| e.to_string())?;
    let t = Instant::now();
    let vocab = Vocab::new(&bundle.tokenizer).map_err(|e| e.to_string())?;
    let schema = IntentSchema::compile(&vocab, &set.schema).map_err(|e| e.to_string())?;
    eprintln!("{model}: token trie and schema in {:.2?}", t.elapsed());
    let cfg = VoiceConfig {
        max_tokens: a.max_tokens,
        deadline: Duration::from_millis(a.deadline_ms),
        n_ctx: 1024,
    };
    let mut voice =
        VoiceCommands::new(board, &bundle, &schema, &set.system, cfg).map_err(|e| e.to_string())?;
    let t = Instant::now();
    let cached = voice.warm_up().map_err(|e| e.to_string())?;
    let warm_up = t.elapsed();
    let mut r = Report {
        model: model.to_string(),
        n: 0,
        valid: 0,
        errors: 0,
        deadline_misses: 0,
        intent_ok: 0,
        slots_ok: 0,
        slots: 0,
        exact: 0,
        latency_ms: Vec::new(),
        tokens: Vec::new(),
        by_lang: [(0, 0); 2],
        warm_up,
        cached,
        load: (loadavg(), String::new()),
    };
    for u in set.utterances.iter().take(a.limit) {
        r.n += 1;
        r.slots += u.slots.len();
        let lang = usize::from(u.lang == "fr");
        r.by_lang[lang].1 += 1;
        let got = voice.command(&u.text, &mut |_: &Progress| ControlFlow::Continue(()));
        let intent = match got {
            Ok(i) => i,
            Err(e) => {
                if matches!(e, CarError::Deadline { .. }) {
                    r.deadline_misses += 1;
                }
                r.errors += 1;
                eprintln!("#{} {:?}: no intent: {e}", u.id, u.text);
                continue;
            }
        };
        let ok = validator.is_valid(&intent.value);
        r.valid += usize::from(ok);
        if !ok {
            eprintln!("#{} {:?}: NOT VALID: {}", u.id, u.text, intent.json);
        }
        let s = set::score(u, &intent.value);
        r.intent_ok += usize::from(s.intent);
        r.slots_ok += s.slots_ok;
        r.exact += usize::from(s.exact);
        r.by_lang[lang].0 += usize::from(s.intent);
        r.latency_ms.push(intent.latency.as_secs_f64() * 1e3);
        r.tokens.push(f64::from(intent.n_tokens));
        if a.verbose || !s.exact {
            eprintln!(
                "#{} {} {:?} -> {} ({} tok, {} prefilled, {:.0} ms){}",
                u.id,
                u.lang,
                u.text,
                intent.json,
                intent.n_tokens,
                intent.n_prefilled,
                intent.latency.as_secs_f64() * 1e3,
                if s.exact {
                    String::new()
                } else {
                    format!("  expected {}", u.expected())
                }
            );
        }
    }
    r.load.1 = loadavg();
    Ok(r)
}

fn pct(a: usize, b: usize) -> String {
    if b == 0 {
        "—".into()
    } else {
        format!("{:.1} %", 100.0 * a as f64 / b as f64)
    }
}

fn main() -> ExitCode {
    let a = match args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    };
    let set = set::load();
    let schema: serde_json::Value = serde_json::from_str(&set.schema).expect("schema is JSON");
    let validator = jsonschema::validator_for(&schema).expect("schema is a JSON schema");
    let mut reports = Vec::new();
    for m in &a.models {
        match run(m, &a, &set, &validator) {
            Ok(r) => reports.push(r),
            Err(e) => {
                eprintln!("{m}: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    println!(
        "\n{} utterances, greedy, {} threads, cap {} tokens, deadline {} ms\n",
        reports.first().map_or(0, |r| r.n),
        a.threads,
        a.max_tokens,
        a.deadline_ms
    );
    println!(
        "| model | schema-valid | intent accuracy (en / fr) | slot accuracy | exact | no intent (deadline) | tokens p50 | latency p50 / p95 ms | warm-up (cached tokens) | load average before → after |"
    );
    println!("|---|--:|--:|--:|--:|--:|--:|--:|--:|---|");
    for r in &reports {
        println!(
            "| {} | {} / {} | {} ({} / {}) | {} | {} | {} ({}) | {:.0} | {:.0} / {:.0} | {:.1} s ({}) | {} → {} |",
            r.model,
            r.valid,
            r.n - r.errors,
            pct(r.intent_ok, r.n),
            pct(r.by_lang[0].0, r.by_lang[0].1),
            pct(r.by_lang[1].0, r.by_lang[1].1),
            pct(r.slots_ok, r.slots),
            pct(r.exact, r.n),
            r.errors,
            r.deadline_misses,
            set::quantile(&r.tokens, 0.5),
            set::quantile(&r.latency_ms, 0.5),
            set::quantile(&r.latency_ms, 0.95),
            r.warm_up.as_secs_f64(),
            r.cached,
            r.load.0,
            r.load.1,
        );
    }
    let all_valid = reports.iter().all(|r| r.valid == r.n - r.errors);
    if all_valid {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

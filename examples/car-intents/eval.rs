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
//! `--max-tokens N` (default 64), `--forced on|off|both` (feed the schema's forced tokens in
//! batches, `VoiceConfig::batch_forced`; default on; `both` runs every utterance both ways,
//! interleaved — off then on for odd ids, on then off for even ones — each setting on its own
//! warmed-up session, and counts the answers that differ), `--verbose` (every answer).
//!
//! Per command it reports the latency (wall clock, transcript to complete JSON) and the
//! process's CPU time over the command (all threads: the sum of `/proc/self/task/*/schedstat`,
//! in ns), which a shared machine's load does not inflate as much as the wall clock.

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
    /// The `batch_forced` settings to run, in the order of odd utterance ids.
    forced: Vec<bool>,
    verbose: bool,
}

fn args() -> Result<Args, String> {
    let mut a = Args {
        models: Vec::new(),
        threads: 2,
        limit: usize::MAX,
        deadline_ms: 60_000,
        max_tokens: 64,
        forced: vec![true],
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
            "--forced" => {
                a.forced = match val()?.as_str() {
                    "on" => vec![true],
                    "off" => vec![false],
                    "both" => vec![false, true],
                    v => return Err(format!("--forced: on, off or both, not {v}")),
                }
            }
            "--verbose" | "-v" => a.verbose = true,
            "--help" | "-h" => {
                return Err(
                    "usage: car-intents [--model ID|PATH]... [--threads N] [--limit N] \
                            [--deadline-ms MS] [--max-tokens N] [--forced on|off|both] [--verbose]"
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

/// CPU time of this process so far, all threads, ns (None where the kernel does not
/// report it). Threads that ended are not counted: the generator's pool lives as long as
/// the session, and the deadline's alarm thread sleeps.
fn cpu_ns() -> Option<u64> {
    let mut sum = 0u64;
    for e in std::fs::read_dir("/proc/self/task").ok()? {
        let p = e.ok()?.path().join("schedstat");
        let Ok(s) = std::fs::read_to_string(p) else {
            continue; // ended meanwhile
        };
        sum += s.split_whitespace().next()?.parse::<u64>().ok()?;
    }
    Some(sum)
}

/// One model's results with one `batch_forced` setting.
struct Report {
    model: String,
    forced: bool,
    n: usize,
    valid: usize,
    errors: usize,
    deadline_misses: usize,
    intent_ok: usize,
    slots_ok: usize,
    slots: usize,
    exact: usize,
    latency_ms: Vec<f64>,
    cpu_ms: Vec<f64>,
    tokens: Vec<f64>,
    /// Tokens fed in forced batches, per command.
    forced_tokens: Vec<f64>,
    /// Forward passes after the prefill, per command.
    steps: Vec<f64>,
    /// Answers that differ from the first setting's (with `--forced both`).
    differ: usize,
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
) -> Result<Vec<Report>, String> {
    let path = model_path(model)?;
    let file = MappedFile::open(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let board = CarBoard::with_threads(a.threads);
    let bundle = Bundle::load(file.bytes(), board.bundle_options()).map_err(|e| e.to_string())?;
    let t = Instant::now();
    let vocab = Vocab::new(&bundle.tokenizer).map_err(|e| e.to_string())?;
    let schema = IntentSchema::compile(&vocab, &set.schema).map_err(|e| e.to_string())?;
    eprintln!("{model}: token trie and schema in {:.2?}", t.elapsed());
    // One session per setting, each warmed up: a command reuses the KV cache of the system
    // message (and of the last command's prompt, as on a car unit), never of the same
    // utterance run with the other setting.
    let mut voices = Vec::new();
    let (mut warm_up, mut cached) = (Duration::ZERO, 0);
    for &batch_forced in &a.forced {
        let cfg = VoiceConfig {
            max_tokens: a.max_tokens,
            deadline: Duration::from_millis(a.deadline_ms),
            n_ctx: 1024,
            batch_forced,
        };
        let board = CarBoard::with_threads(a.threads);
        let mut voice = VoiceCommands::new(board, &bundle, &schema, &set.system, cfg)
            .map_err(|e| e.to_string())?;
        let t = Instant::now();
        cached = voice.warm_up().map_err(|e| e.to_string())?;
        warm_up = warm_up.max(t.elapsed());
        voices.push(voice);
    }
    let load = loadavg();
    let mut reports: Vec<Report> = a
        .forced
        .iter()
        .map(|&forced| Report {
            model: model.to_string(),
            forced,
            n: 0,
            valid: 0,
            errors: 0,
            deadline_misses: 0,
            intent_ok: 0,
            slots_ok: 0,
            slots: 0,
            exact: 0,
            latency_ms: Vec::new(),
            cpu_ms: Vec::new(),
            tokens: Vec::new(),
            forced_tokens: Vec::new(),
            steps: Vec::new(),
            differ: 0,
            by_lang: [(0, 0); 2],
            warm_up,
            cached,
            load: (load.clone(), String::new()),
        })
        .collect();
    for u in set.utterances.iter().take(a.limit) {
        // Interleaved: the order of the settings alternates from one utterance to the next.
        let mut order: Vec<usize> = (0..reports.len()).collect();
        if u.id % 2 == 0 {
            order.reverse();
        }
        let mut answers: Vec<Option<String>> = vec![None; reports.len()];
        for k in order {
            answers[k] = one(&mut reports[k], &mut voices[k], u, validator, a.verbose);
        }
        for k in 1..reports.len() {
            if answers[k] != answers[0] {
                reports[k].differ += 1;
                eprintln!(
                    "#{} {:?}: batch_forced {} -> {:?}, {} -> {:?}",
                    u.id, u.text, reports[0].forced, answers[0], reports[k].forced, answers[k]
                );
            }
        }
    }
    let load = loadavg();
    for r in &mut reports {
        r.load.1 = load.clone();
    }
    Ok(reports)
}

/// Runs utterance `u`, scores it into `r`; the answer's JSON (None: no intent).
fn one(
    r: &mut Report,
    voice: &mut VoiceCommands<'_, '_>,
    u: &set::Utterance,
    validator: &jsonschema::Validator,
    verbose: bool,
) -> Option<String> {
    r.n += 1;
    r.slots += u.slots.len();
    let lang = usize::from(u.lang == "fr");
    r.by_lang[lang].1 += 1;
    let cpu0 = cpu_ns();
    let got = voice.command(&u.text, &mut |_: &Progress| ControlFlow::Continue(()));
    let cpu = cpu0.zip(cpu_ns()).map(|(a, b)| b.saturating_sub(a));
    let intent = match got {
        Ok(i) => i,
        Err(e) => {
            if matches!(e, CarError::Deadline { .. }) {
                r.deadline_misses += 1;
            }
            r.errors += 1;
            eprintln!("#{} {:?}: no intent: {e}", u.id, u.text);
            return None;
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
    if let Some(ns) = cpu {
        r.cpu_ms.push(ns as f64 / 1e6);
    }
    r.tokens.push(f64::from(intent.n_tokens));
    r.forced_tokens.push(f64::from(intent.n_forced));
    r.steps.push(f64::from(intent.decode_steps));
    if verbose || !s.exact {
        eprintln!(
            "#{} {} {:?} -> {} ({} tok, {} forced, {} steps, {} prefilled, {:.0} ms, {:.0} ms CPU, batch_forced {}){}",
            u.id,
            u.lang,
            u.text,
            intent.json,
            intent.n_tokens,
            intent.n_forced,
            intent.decode_steps,
            intent.n_prefilled,
            intent.latency.as_secs_f64() * 1e3,
            cpu.map_or(f64::NAN, |ns| ns as f64 / 1e6),
            r.forced,
            if s.exact {
                String::new()
            } else {
                format!("  expected {}", u.expected())
            }
        );
    }
    Some(intent.json)
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
            Ok(r) => reports.extend(r),
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
        "| model | batch_forced | schema-valid | intent accuracy (en / fr) | slot accuracy | exact | no intent (deadline) | tokens p50 (mean) | forced tokens mean | decode steps mean | latency p50 / p95 ms | CPU p50 / p95 ms | answers ≠ first setting | warm-up (cached tokens) | load average before → after |"
    );
    println!("|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|");
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;
    for r in &reports {
        println!(
            "| {} | {} | {} / {} | {} ({} / {}) | {} | {} | {} ({}) | {:.0} ({:.1}) | {:.1} | {:.1} | {:.0} / {:.0} | {:.0} / {:.0} | {} | {:.1} s ({}) | {} → {} |",
            r.model,
            if r.forced { "on" } else { "off" },
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
            mean(&r.tokens),
            mean(&r.forced_tokens),
            mean(&r.steps),
            set::quantile(&r.latency_ms, 0.5),
            set::quantile(&r.latency_ms, 0.95),
            set::quantile(&r.cpu_ms, 0.5),
            set::quantile(&r.cpu_ms, 0.95),
            r.differ,
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

//! Shared by the structured-output tests: the schemas and prompts of
//! `testdata/structured/`, a constrained generation over a [`Bundle`], and the check of
//! its output with a JSON-schema validator (the `jsonschema` crate).
#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;

use bague::bundle::Bundle;
use bague::chat::Message;
use bague::constraint::grammar::{Grammar, GrammarSpec, Vocab};
use bague::generate::{Generator, NoClock, Outcome, Piece, Request, StopReason};
use bague::loader::MappedFile;
use bague::sampler::SamplerConfig;
use bague::session::{Session, SessionOptions};
use serde_json::Value;

/// `testdata/` of the repository.
pub fn testdata() -> PathBuf {
    bague_testkit::testdata()
}

/// Bytes of a committed tiny model (`testdata/models/ID.gguf`).
pub fn tiny(id: &str) -> Vec<u8> {
    bague_testkit::tiny_bytes(id)
}

/// A real model from the cache (`$BAGUE_HOME/models`, default `~/.cache/bague/models`),
/// mapped. Absent: `None` after bague-testkit records the test as skipped, or a failure
/// under `BAGUE_REQUIRE_MODELS=1` (`bague_testkit::model`).
pub fn real(id: &str) -> Option<MappedFile> {
    let p = bague_testkit::model(id)?;
    Some(MappedFile::open(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display())))
}

/// The schemas of `testdata/structured/schemas.json`, by name, in file order.
pub fn schemas() -> Vec<(String, Value)> {
    let p = testdata().join("structured/schemas.json");
    let s = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    let v: serde_json::Map<String, Value> = serde_json::from_str(&s).unwrap();
    v.into_iter().collect()
}

/// The prompts of `testdata/structured/prompts.json` for `schema`.
pub fn prompts(schema: &str) -> Vec<String> {
    let p = testdata().join("structured/prompts.json");
    let s = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    let v: Value = serde_json::from_str(&s).unwrap();
    v[schema]
        .as_array()
        .unwrap_or_else(|| panic!("no prompts for {schema}"))
        .iter()
        .map(|x| x.as_str().unwrap().to_string())
        .collect()
}

/// Compiles a schema for a vocabulary.
pub fn compile(vocab: &Vocab, schema: &Value) -> Grammar {
    vocab
        .compile(&GrammarSpec::JsonSchema(schema.to_string()))
        .unwrap_or_else(|e| panic!("{e}"))
}

/// What one constrained generation gave.
#[derive(Debug)]
pub struct Run {
    /// The answer text.
    pub text: String,
    /// Thinking text.
    pub thinking: String,
    /// The outcome.
    pub outcome: Outcome,
}

/// Generates an answer to `user` (the model's chat template, "JSON only" system message)
/// under `grammar`, at most `max_tokens`, with `sampling`.
pub fn generate(
    b: &Bundle<'_>,
    grammar: &Grammar,
    user: &str,
    sampling: SamplerConfig,
    max_tokens: u32,
    pin: bool,
) -> Run {
    let mut g = Generator::new(&b.tokenizer, sampling).unwrap();
    g.set_constraint(Some(Box::new(grammar.constraint())))
        .unwrap();
    let mut s = Session::new(
        &b.model,
        SessionOptions {
            n_ctx: 1024,
            n_threads: threads(),
            ..Default::default()
        },
    )
    .unwrap();
    let msgs = [
        Message::system("You are an assistant that answers with JSON only."),
        Message::user(user),
    ];
    let chat = b.chat_prompt(&msgs, true, 1024).unwrap();
    let (text, prompt) = (chat.text, chat.ids);
    let req = Request {
        max_tokens: Some(max_tokens),
        reasoning: b.reasoning(&text, None),
        pin_empty_thinking: pin,
        ..Request::new(&prompt)
    };
    let (mut answer, mut thinking) = (String::new(), String::new());
    let outcome = g
        .generate(
            &mut s,
            &req,
            &AtomicBool::new(false),
            &NoClock,
            &mut |p: Piece<'_>| {
                if p.thinking {
                    thinking.push_str(p.text)
                } else {
                    answer.push_str(p.text)
                }
            },
        )
        .unwrap_or_else(|e| {
            panic!(
                "generation failed: {e} ({:?})",
                g.constraint().and_then(|c| c.last_error())
            )
        });
    Run {
        text: answer,
        thinking,
        outcome,
    }
}

/// Threads for the model runs: 2 at most (the CI machine has 2 cores).
pub fn threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get().min(2))
}

/// `None` when `text` is one JSON value that `schema` accepts and the generation ended
/// at end-of-generation; else why not.
pub fn check(schema: &Value, run: &Run) -> Option<String> {
    if run.outcome.stop_reason != StopReason::Eog {
        return Some(format!(
            "stopped by {} after {} tokens: {:?}",
            run.outcome.stop_reason,
            run.outcome.output_ids.len(),
            run.text
        ));
    }
    let v: Value = match serde_json::from_str(&run.text) {
        Ok(v) => v,
        Err(e) => return Some(format!("not JSON ({e}): {:?}", run.text)),
    };
    let validator = jsonschema::validator_for(schema).expect("schema compiles");
    let errors: Vec<String> = validator.iter_errors(&v).map(|e| e.to_string()).collect();
    (!errors.is_empty()).then(|| format!("{}: {:?}", errors.join("; "), run.text))
}

/// Sampled settings: llama.cpp's defaults with this seed.
pub fn sampled(seed: u64) -> SamplerConfig {
    SamplerConfig {
        seed,
        ..SamplerConfig::LLAMA_DEFAULTS
    }
}

//! Shared helpers of the generate / perplexity tests: a real model mapped, the chat
//! template, a greedy run through [`Generator`], and the agreement rule (model files and
//! reference JSON: `bague_testkit`).
#![allow(dead_code)]

use std::sync::atomic::AtomicBool;

use bague::chat::{ChatTemplate, Message, Role, SpecialTokens};
use bague::generate::{Generator, NoClock, Outcome, Piece, Request};
use bague::gguf::File;
use bague::loader::MappedFile;
use bague::model::Model;
use bague::sampler::SamplerConfig;
use bague::session::{Session, SessionOptions};
use bague::tokenizer::Tokenizer;
use serde_json::Value;

/// A real model from the cache, mapped; `None` when it is absent and the test is skipped
/// (under `BAGUE_REQUIRE_MODELS=1` an absent model fails the test: [`bague_testkit::model`]).
pub fn real(id: &str) -> Option<MappedFile> {
    let p = bague_testkit::model(id)?;
    Some(MappedFile::open(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display())))
}

/// The file's chat template with the vocabulary's BOS/EOS texts.
pub fn template(f: &File<'_>, tok: &Tokenizer<'_>) -> ChatTemplate {
    let tokens = SpecialTokens::from_tokenizer(tok);
    ChatTemplate::new(f.get_str("tokenizer.chat_template").unwrap(), tokens).unwrap()
}

/// The `messages` of a reference case.
pub fn messages(v: &Value) -> Vec<Message> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|m| {
            Message::new(
                Role::parse(m["role"].as_str().unwrap()).unwrap(),
                m["content"].as_str().unwrap(),
            )
        })
        .collect()
}

/// Greedy generation of at most `n` tokens through the [`Generator`] (fresh session,
/// n_ctx 512 as the reference).
pub fn greedy(
    model: &Model<'_>,
    tok: &Tokenizer<'_>,
    prompt: &[u32],
    n: u32,
    threads: usize,
) -> Outcome {
    let mut s = Session::new(
        model,
        SessionOptions {
            n_ctx: 512,
            n_threads: threads,
            ..Default::default()
        },
    )
    .unwrap();
    let mut g = Generator::new(tok, SamplerConfig::greedy()).unwrap();
    let req = Request {
        max_tokens: Some(n),
        ..Request::new(prompt)
    };
    g.generate(
        &mut s,
        &req,
        &AtomicBool::new(false),
        &NoClock,
        &mut |_: Piece<'_>| {},
    )
    .unwrap()
}

/// Steps that must agree: up to the first step whose margin is below `fragile` (that step
/// included when `inclusive`), else all.
pub fn must_agree(margins: &[f64], n: usize, fragile: f64, inclusive: bool) -> usize {
    margins
        .iter()
        .position(|&m| m < fragile)
        .map_or(n, |i| i + usize::from(inclusive))
        .min(n)
}

/// Length of the common prefix.
pub fn agree(a: &[u32], b: &[u32]) -> usize {
    a.iter().zip(b).take_while(|(x, y)| x == y).count()
}

//! Shared helpers of the generate / perplexity tests: model files, reference JSON, a
//! greedy run through [`Generator`], and the agreement rule.
#![allow(dead_code)]

use std::path::PathBuf;
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

/// `testdata/` of the repository.
pub fn testdata() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata")
}

/// Bytes of a committed tiny model (`testdata/models/ID.gguf`).
pub fn tiny(id: &str) -> Vec<u8> {
    let p = testdata().join("models").join(format!("{id}.gguf"));
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// A real model from the cache (`$BAGUE_HOME/models` or `~/.cache/bague/models`), mapped,
/// or `None` with a printed skip note.
pub fn real(id: &str) -> Option<MappedFile> {
    let home = std::env::var_os("BAGUE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/bague")))?;
    let p = home.join("models").join(format!("{id}.gguf"));
    match MappedFile::open(&p) {
        Ok(m) => Some(m),
        Err(_) => {
            eprintln!("SKIP: {} not found (run `bague pull {id}`)", p.display());
            None
        }
    }
}

/// `testdata/reference/{model}/{file}` as JSON.
pub fn reference(model: &str, file: &str) -> Value {
    let p = testdata().join("reference").join(model).join(file);
    let s = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    serde_json::from_str(&s).unwrap()
}

/// A JSON array of ids.
pub fn ids(v: &Value) -> Vec<u32> {
    v.as_array()
        .expect("id array")
        .iter()
        .map(|x| x.as_u64().unwrap() as u32)
        .collect()
}

/// A JSON array of numbers.
pub fn floats(v: &Value) -> Vec<f64> {
    v.as_array()
        .expect("number array")
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
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

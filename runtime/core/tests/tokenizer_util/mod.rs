//! Shared helpers of the tokenizer tests: test data paths, model files, JSON byte strings.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use serde_json::Value;

/// `testdata/` of the repository.
pub fn testdata() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata")
}

/// Reference JSON `testdata/reference/<model>/<file>`.
pub fn reference(model: &str, file: &str) -> Value {
    let p = testdata().join("reference").join(model).join(file);
    let text = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    serde_json::from_str(&text).unwrap()
}

/// A tiny test model `testdata/models/<name>` (always present).
pub fn tiny_model(name: &str) -> Vec<u8> {
    let p = testdata().join("models").join(name);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// A real model `<BAGUE_HOME or ~/.cache/bague>/models/<id>.gguf`, if it is there.
pub fn real_model(id: &str) -> Option<Vec<u8>> {
    let home = std::env::var_os("BAGUE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/bague")))?;
    let p = home.join("models").join(format!("{id}.gguf"));
    match std::fs::read(&p) {
        Ok(b) => Some(b),
        Err(_) => {
            eprintln!("skipping {}: not present", p.display());
            None
        }
    }
}

/// A reference byte string: a JSON string, or `{"bytes": [..]}` for invalid UTF-8.
pub fn bytes_of(v: &Value) -> Vec<u8> {
    match v {
        Value::String(s) => s.as_bytes().to_vec(),
        Value::Object(o) => o["bytes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b.as_u64().unwrap() as u8)
            .collect(),
        _ => panic!("not a byte string: {v}"),
    }
}

/// Token ids of a JSON array.
pub fn ids_of(v: &Value) -> Vec<u32> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap() as u32)
        .collect()
}

/// The tokenizer of a tiny test model, loaded once per test binary.
fn tiny_tokenizer(
    cell: &'static std::sync::OnceLock<bague::tokenizer::Tokenizer<'static>>,
    name: &str,
) -> &'static bague::tokenizer::Tokenizer<'static> {
    cell.get_or_init(|| {
        let bytes: &'static [u8] = Box::leak(tiny_model(name).into_boxed_slice());
        let file = bague::gguf::File::parse(bytes).unwrap();
        bague::tokenizer::Tokenizer::from_gguf(&file).unwrap()
    })
}

/// R1-Distill-Qwen's tokenizer (from the tiny R1-shaped model).
pub fn r1() -> &'static bague::tokenizer::Tokenizer<'static> {
    static CELL: std::sync::OnceLock<bague::tokenizer::Tokenizer<'static>> =
        std::sync::OnceLock::new();
    tiny_tokenizer(&CELL, "r1-tiny-random-q4_0.gguf")
}

/// SmolLM2's tokenizer (from the tiny SmolLM2-vocab model).
pub fn smol() -> &'static bague::tokenizer::Tokenizer<'static> {
    static CELL: std::sync::OnceLock<bague::tokenizer::Tokenizer<'static>> =
        std::sync::OnceLock::new();
    tiny_tokenizer(&CELL, "smol-tiny-random-q4_0.gguf")
}

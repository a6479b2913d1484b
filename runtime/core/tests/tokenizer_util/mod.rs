//! Shared helpers of the tokenizer tests: the tokenizers of the tiny test models, loaded once
//! per test binary (test data and model files: `bague_testkit`).
#![allow(dead_code)]

/// The tokenizer of a tiny test model, loaded once per test binary.
fn tiny_tokenizer(
    cell: &'static std::sync::OnceLock<bague::tokenizer::Tokenizer<'static>>,
    id: &str,
) -> &'static bague::tokenizer::Tokenizer<'static> {
    cell.get_or_init(|| {
        let bytes: &'static [u8] = Box::leak(bague_testkit::tiny_bytes(id).into_boxed_slice());
        let file = bague::gguf::File::parse(bytes).unwrap();
        bague::tokenizer::Tokenizer::from_gguf(&file).unwrap()
    })
}

/// R1-Distill-Qwen's tokenizer (from the tiny R1-shaped model).
pub fn r1() -> &'static bague::tokenizer::Tokenizer<'static> {
    static CELL: std::sync::OnceLock<bague::tokenizer::Tokenizer<'static>> =
        std::sync::OnceLock::new();
    tiny_tokenizer(&CELL, "r1-tiny-random-q4_0")
}

/// SmolLM2's tokenizer (from the tiny SmolLM2-vocab model).
pub fn smol() -> &'static bague::tokenizer::Tokenizer<'static> {
    static CELL: std::sync::OnceLock<bague::tokenizer::Tokenizer<'static>> =
        std::sync::OnceLock::new();
    tiny_tokenizer(&CELL, "smol-tiny-random-q4_0")
}

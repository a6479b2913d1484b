//! The ~1 MB mixed text of the tokenizer benchmarks, shared by `runtime/core/benches/tokenizer.rs`
//! and the oracle's `tokenizer_vs_llama` bench and `tokenizer_diff` test (included there with
//! `#[path]`), so that every number is measured on the same bytes.
//!
//! Built from `testdata/reference/texts/kjv-genesis-1-11.txt` and every text of the reference
//! `tokenize.json` / `chat.json` files of the three real models (English, code, CJK, emoji,
//! digits, whitespace runs, chat markup with special-token text), each followed by `\n`,
//! repeated in that order until the text reaches `target` bytes.

use std::path::Path;

/// Model ids whose reference files feed the text.
const MODELS: [&str; 3] = [
    "r1-distill-qwen-7b-head",
    "qwen2.5-coder-0.5b-instruct-q4_k_m",
    "smollm2-135m-instruct-q4_1",
];

/// The mixed text, at least `target` bytes (a whole number of rounds). `testdata`: the
/// repository's `testdata/` folder. Panics if a reference file is missing or malformed.
pub fn mixed_text(testdata: &Path, target: usize) -> String {
    let refdir = testdata.join("reference");
    let read =
        |p: &Path| std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    let mut parts = vec![read(&refdir.join("texts/kjv-genesis-1-11.txt"))];
    for model in MODELS {
        for (file, key) in [("tokenize.json", "text"), ("chat.json", "formatted_text")] {
            let v: serde_json::Value =
                serde_json::from_str(&read(&refdir.join(model).join(file))).unwrap();
            for case in v["cases"].as_array().unwrap() {
                parts.push(case[key].as_str().unwrap().to_string());
            }
        }
    }
    let mut text = String::new();
    while text.len() < target {
        for p in &parts {
            text.push_str(p);
            text.push('\n');
        }
    }
    text
}

/// `text` cut into pieces of at most `max` bytes (`max` >= 4), at char boundaries: the
/// prompt-sized calls of the benchmarks.
#[allow(dead_code)] // not every includer uses it
pub fn chunks(text: &str, max: usize) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        let mut end = max.min(rest.len());
        while !rest.is_char_boundary(end) {
            end -= 1;
        }
        let (a, b) = rest.split_at(end);
        out.push(a);
        rest = b;
    }
    out
}

//! llama.cpp's reference data, `testdata/reference/MODEL/FILE` (how it was made:
//! `testdata/reference/README.md`), and readers for the values in it.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::testdata;

/// Model ids whose reference files feed [`mixed_text`].
const MIXED_TEXT_MODELS: [&str; 3] = [
    "r1-distill-qwen-7b-head",
    "qwen2.5-coder-0.5b-instruct-q4_k_m",
    "smollm2-135m-instruct-q4_1",
];

/// `testdata/reference/MODEL/FILE` (`MODEL` may also be `texts`).
pub fn reference_path(model: &str, file: &str) -> PathBuf {
    testdata().join("reference").join(model).join(file)
}

/// The JSON file `testdata/reference/MODEL/FILE`. Panics (naming the file) if it is missing
/// or not JSON: the reference data is part of the checkout.
pub fn reference(model: &str, file: &str) -> Value {
    let p = reference_path(model, file);
    serde_json::from_str(&read_text(&p)).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// A JSON array of token ids. Panics if `v` is not an array of integers below 2^32.
pub fn ids(v: &Value) -> Vec<u32> {
    v.as_array()
        .unwrap_or_else(|| panic!("not an id array: {v}"))
        .iter()
        .map(|x| {
            x.as_u64()
                .and_then(|n| u32::try_from(n).ok())
                .unwrap_or_else(|| panic!("not a token id: {x}"))
        })
        .collect()
}

/// A JSON array of numbers. Panics if `v` is not one.
pub fn floats(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap_or_else(|| panic!("not a number array: {v}"))
        .iter()
        .map(|x| x.as_f64().unwrap_or_else(|| panic!("not a number: {x}")))
        .collect()
}

/// A reference byte string: a JSON string, or `{"bytes": [..]}` for bytes that are not
/// UTF-8. Panics on anything else.
pub fn bytes_of(v: &Value) -> Vec<u8> {
    match v {
        Value::String(s) => s.as_bytes().to_vec(),
        Value::Object(o) => o["bytes"]
            .as_array()
            .unwrap_or_else(|| panic!("not a byte array: {v}"))
            .iter()
            .map(|b| {
                b.as_u64()
                    .and_then(|n| u8::try_from(n).ok())
                    .unwrap_or_else(|| panic!("not a byte: {b}"))
            })
            .collect(),
        _ => panic!("not a byte string: {v}"),
    }
}

/// The mixed text of the tokenizer benchmarks and of the oracle's tokenizer test, at least
/// `target` bytes, so that every number is measured on the same bytes.
///
/// Built from `testdata/reference/texts/kjv-genesis-1-11.txt` and every text of the
/// reference `tokenize.json` / `chat.json` files of the three real models (English, code,
/// CJK, emoji, digits, whitespace runs, chat markup with special-token text), each followed
/// by `\n`, repeated in that order until the text reaches `target` bytes (a whole number of
/// rounds). Panics if a reference file is missing or malformed.
pub fn mixed_text(target: usize) -> String {
    let mut parts = vec![read_text(&reference_path("texts", "kjv-genesis-1-11.txt"))];
    for model in MIXED_TEXT_MODELS {
        for (file, key) in [("tokenize.json", "text"), ("chat.json", "formatted_text")] {
            let v = reference(model, file);
            for case in v["cases"].as_array().expect("cases") {
                parts.push(case[key].as_str().expect("text").to_string());
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
/// prompt-sized calls of the tokenizer benchmarks.
pub fn chunks(text: &str, max: usize) -> Vec<&str> {
    assert!(max >= 4, "chunks of {max} bytes cannot hold every char");
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

fn read_text(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn readers() {
        assert_eq!(ids(&json!([0, 7, 151_643])), [0, 7, 151_643]);
        assert_eq!(floats(&json!([0.5, -1, 2])), [0.5, -1.0, 2.0]);
        assert_eq!(bytes_of(&json!("é")), "é".as_bytes());
        assert_eq!(bytes_of(&json!({"bytes": [0xff, 0]})), [0xff, 0]);
        for bad in [
            json!([1.5]),
            json!([-1]),
            json!([4_294_967_296u64]),
            json!("1"),
        ] {
            assert!(std::panic::catch_unwind(|| ids(&bad)).is_err(), "{bad}");
        }
        assert!(std::panic::catch_unwind(|| bytes_of(&json!({"bytes": [256]}))).is_err());
    }

    #[test]
    fn reference_files_are_found() {
        let g = reference("smol-tiny-random-q4_0", "greedy.json");
        assert!(!ids(&g["cases"][0]["output_ids"]).is_empty());
        let text = mixed_text(1000);
        assert!(
            text.len() >= 1000 && text.starts_with("Genesis, Chapter 1\n"),
            "{}",
            &text[..40]
        );
        let parts = chunks("aé€😀b", 4);
        assert_eq!(parts, ["aé", "€", "😀", "b"]);
    }
}

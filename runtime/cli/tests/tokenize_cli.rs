//! `bague tokenize` / `bague detokenize` on the tiny models (R1's and SmolLM2's tokenizers)
//! against the llama.cpp reference data.

use assert_cmd::Command;
use serde_json::Value;
use std::path::Path;

/// `bague` with an empty cache, so ids resolve to the repository's files only.
fn bague(home: &Path) -> Command {
    let mut c = Command::cargo_bin("bague").unwrap();
    c.env("BAGUE_HOME", home).env_remove("BAGUE_REGISTRY");
    c
}

fn reference(model: &str) -> Value {
    bague_testkit::reference(model, "tokenize.json")
}

#[test]
fn json_output_equals_reference() {
    let home = tempfile::tempdir().unwrap();
    for (model, file) in [
        ("r1-distill-qwen-7b-head", "r1-tiny-random-q4_0"),
        ("smollm2-135m-instruct-q4_1", "smol-tiny-random-q4_0"),
    ] {
        let path = bague_testkit::tiny_path(file);
        let cases = reference(model)["cases"].as_array().unwrap().clone();
        for case in cases.iter().filter(|c| c["add_special"] == true) {
            let mut cmd = bague(home.path());
            cmd.arg("tokenize")
                .arg("--model")
                .arg(&path)
                .arg("--json")
                .arg("-");
            if case["parse_special"] == true {
                cmd.arg("--parse-special");
            }
            let out = cmd
                .write_stdin(case["text"].as_str().unwrap())
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            let got: Value = serde_json::from_slice(&out.stdout).unwrap();
            assert_eq!(got["ids"], case["ids"], "{model} {}", case["text"]);
            assert_eq!(got["pieces"], case["pieces"], "{model} {}", case["text"]);
        }
    }
}

#[test]
fn detokenize_and_errors() {
    let home = tempfile::tempdir().unwrap();
    let r1 = bague_testkit::tiny_path("r1-tiny-random-q4_0");
    let out = bague(home.path())
        .args(["detokenize", "--model"])
        .arg(&r1)
        .args(["151646", "9707,", "1879", "151648"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(
        out.stdout,
        "<｜begin▁of▁sentence｜>Hello world<think>".as_bytes()
    );

    let out = bague(home.path())
        .args(["detokenize", "-m"])
        .arg(&r1)
        .arg("[151644, 9707]")
        .arg("--no-special")
        .output()
        .unwrap();
    assert_eq!(out.stdout, b"Hello");

    let out = bague(home.path())
        .args(["detokenize", "-m"])
        .arg(&r1)
        .arg("152064")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("out of range"));

    // Text output: one line per token, id then the quoted piece.
    let out = bague(home.path())
        .args(["tokenize", "-m"])
        .arg(&r1)
        .arg("Hello world")
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        " 151646 \"<｜begin▁of▁sentence｜>\"\n   9707 \"Hello\"\n   1879 \" world\"\n"
    );
}

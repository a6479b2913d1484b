//! `bague bench` through the binary, on the tiny random model: the JSON rows and their keys,
//! the table, and bad input. No timing is asserted (only that figures are positive numbers).

use assert_cmd::Command;
use serde_json::Value;
fn tiny() -> String {
    bague_testkit::tiny_path("smol-tiny-random-q4_0")
        .display()
        .to_string()
}

fn bague() -> Command {
    Command::cargo_bin("bague").unwrap()
}

#[test]
fn json_rows_have_the_right_keys() {
    let out = bague()
        .args(["bench", "--model", &tiny()])
        .args(["-p", "8", "-n", "4", "-r", "1", "-t", "1,2", "--json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows: Value = serde_json::from_slice(&out.stdout).expect("stdout is JSON");
    let rows = rows.as_array().expect("a JSON array");
    let got: Vec<(u64, &str)> = rows
        .iter()
        .map(|r| (r["threads"].as_u64().unwrap(), r["test"].as_str().unwrap()))
        .collect();
    assert_eq!(got, [(1, "pp8"), (1, "tg4"), (2, "pp8"), (2, "tg4")]);
    for r in rows {
        for key in ["engine", "model", "test", "threads", "tok_s", "stddev"] {
            assert!(r.get(key).is_some(), "row lacks {key}: {r}");
        }
        assert_eq!(r["engine"], "bague");
        assert_eq!(r["model"], "smol-tiny-random-q4_0");
        let tok_s = r["tok_s"].as_f64().unwrap();
        assert!(tok_s.is_finite() && tok_s > 0.0, "{r}");
        // One repetition: no spread, one sample equal to the mean.
        assert_eq!(r["stddev"].as_f64(), Some(0.0));
        assert_eq!(r["samples"].as_array().unwrap().len(), 1);
        assert_eq!(r["samples"][0].as_f64(), Some(tok_s));
        assert!(!r["backend"].as_str().unwrap().is_empty());
        assert!(r["params"].as_u64().unwrap() > 0);
        assert!(r["model_bytes"].as_u64().unwrap() > 0);
    }
}

#[test]
fn table_names_both_tests() {
    let out = bague()
        .args(["bench", "--model", &tiny(), "-p", "4", "-n", "2", "-r", "2"])
        .args(["-t", "1"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        text.lines().filter(|l| l.starts_with("| bague ")).count(),
        2
    );
    assert!(
        text.contains("| pp4 |") && text.contains("| tg2 |"),
        "{text}"
    );
}

#[test]
fn one_test_alone() {
    let out = bague()
        .args(["bench", "--model", &tiny(), "-p", "0", "-n", "3", "-r", "1"])
        .args(["-t", "1", "--json"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let rows: Value = serde_json::from_slice(&out.stdout).unwrap();
    let tests: Vec<&str> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["test"].as_str().unwrap())
        .collect();
    assert_eq!(tests, ["tg3"]);
}

#[test]
fn bad_input_is_an_error() {
    for args in [
        &["-p", "0", "-n", "0"][..],
        &["-t", "0"],
        &["-t", "1,0"],
        &["-r", "0"],
    ] {
        let out = bague()
            .args(["bench", "--model", &tiny()])
            .args(args)
            .output()
            .unwrap();
        assert!(!out.status.success(), "{args:?} should fail");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.starts_with("bague: error: "), "{args:?}: {err}");
    }
    let out = bague()
        .args(["bench", "--model", "no/such/file.gguf"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no such file"));
}

#[test]
fn vs_llama_cpp_without_the_runner_says_how_to_build_it() {
    let exe = assert_cmd::cargo::cargo_bin("bague");
    let vs = exe.with_file_name(format!("bague-bench-vs{}", std::env::consts::EXE_SUFFIX));
    if vs.exists() {
        bague_testkit::skip(&format!("{} exists (built with the oracle)", vs.display()));
        return;
    }
    let out = bague()
        .args(["bench", "--model", &tiny(), "--vs-llama-cpp", "-r", "1"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("cargo build --release -p bague-oracle --bin bague-bench-vs"),
        "{err}"
    );
}

/// `--flash-attn` sets llama.cpp's flash attention: it means nothing without
/// `--vs-llama-cpp`, and only off / on / best are values.
#[test]
fn flash_attn_needs_the_peer_and_a_known_value() {
    for args in [
        &["bench", "--model", "m.gguf", "--flash-attn", "on"][..],
        &[
            "bench",
            "--model",
            "m.gguf",
            "--vs-llama-cpp",
            "--flash-attn",
            "maybe",
        ],
    ] {
        let out = bague().args(args).output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(2),
            "{args:?} should be a usage error"
        );
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("--flash-attn")
                || String::from_utf8_lossy(&out.stderr).contains("--vs-llama-cpp"),
            "{args:?}"
        );
    }
}

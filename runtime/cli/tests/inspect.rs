//! `bague inspect` on the committed tiny models (testdata/models), on truncated and bogus
//! copies of them, and on the R1 head file when it is in the cache.
//! Expected counts come from testdata/reference/README.md ("Tiny random-weight models").

use assert_cmd::Command;
use bague_testkit::tiny_path as tiny;
use serde_json::Value;
use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

/// `bague` with an empty cache, so ids resolve to the repository's files only.
fn bague(home: &Path) -> Command {
    let mut c = Command::cargo_bin("bague").unwrap();
    c.env("BAGUE_HOME", home).env_remove("BAGUE_REGISTRY");
    c
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn run(cmd: &mut Command) -> Run {
    let o = cmd.output().unwrap();
    Run {
        code: o.status.code().unwrap_or(-1),
        stdout: String::from_utf8(o.stdout).unwrap(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
}

fn json_of(args: &[&str]) -> (Run, Value) {
    let home = tempfile::tempdir().unwrap();
    let r = run(bague(home.path()).args(args));
    let v: Value =
        serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {}", r.stdout));
    (r, v)
}

fn type_counts(v: &Value) -> BTreeMap<String, u64> {
    let mut m = BTreeMap::new();
    for t in v["tensors"].as_array().unwrap() {
        *m.entry(t["type"].as_str().unwrap().to_string())
            .or_insert(0) += 1;
    }
    m
}

#[test]
fn r1_tiny_json() {
    let path = tiny("r1-tiny-random-q4_0");
    let (r, v) = json_of(&["inspect", path.to_str().unwrap(), "--json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(v["version"], 3);
    assert_eq!(v["error"], Value::Null);
    assert_eq!(v["architecture"], "qwen2");
    assert_eq!(v["file_size"], 16_927_872);
    let tensors = v["tensors"].as_array().unwrap();
    assert_eq!(tensors.len(), 27);
    let want: BTreeMap<String, u64> = [("F32".into(), 11), ("Q4_0".into(), 16)].into();
    assert_eq!(type_counts(&v), want);
    assert_eq!(v["bytes_per_type"]["Q4_0"]["count"], 16);
    // llama.cpp's size and parameter count for this file.
    assert_eq!(v["total_weight_bytes"], 10_992_384);
    assert_eq!(v["n_params"], 19_538_496);
    let md = &v["metadata"];
    assert_eq!(md["qwen2.block_count"], 2);
    assert_eq!(md["qwen2.rope.freq_base"], 10000.0);
    assert_eq!(md["qwen2.attention.layer_norm_rms_epsilon"], 1e-6);
    assert_eq!(md["tokenizer.ggml.pre"], "deepseek-r1-qwen");
    assert_eq!(md["tokenizer.ggml.add_bos_token"], true);
    assert_eq!(md["tokenizer.ggml.tokens"]["len"], 152_064);
    assert_eq!(md["tokenizer.ggml.tokens"]["head"][0], "!");
    assert_eq!(
        md["tokenizer.ggml.tokens"]["head"]
            .as_array()
            .unwrap()
            .len(),
        8
    );
    let out = tensors
        .iter()
        .find(|t| t["name"] == "output.weight")
        .unwrap();
    assert_eq!(out["shape"], serde_json::json!([64, 152064]));
    assert_eq!(out["n_bytes"], 5_474_304);
    // Offsets are relative to data_offset and every tensor fits in the file.
    let data = v["data_offset"].as_u64().unwrap();
    for t in tensors {
        let end = data + t["offset"].as_u64().unwrap() + t["n_bytes"].as_u64().unwrap();
        assert!(end <= 16_927_872);
    }
}

#[test]
fn smol_tiny_by_id_text_and_json() {
    let (r, v) = json_of(&["inspect", "smol-tiny-random-q4_0", "--json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let want: BTreeMap<String, u64> =
        [("F32".into(), 5), ("Q4_0".into(), 14), ("Q8_0".into(), 1)].into();
    assert_eq!(type_counts(&v), want);
    assert_eq!(v["architecture"], "llama");
    assert!(
        v["tensors"]
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t["name"] != "output.weight"),
        "tied embeddings: no output.weight"
    );
    assert_eq!(v["total_weight_bytes"], 3_382_784);

    let home = tempfile::tempdir().unwrap();
    let r = run(bague(home.path()).args(["inspect", "smol-tiny-random-q4_0"]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("architecture  llama"), "{}", r.stdout);
    assert!(r.stdout.contains("tensors (20)"));
    assert!(r.stdout.contains("[string; 49152]"));
    assert!(r.stdout.contains("token_embd.weight"));
    assert!(!r.stdout.contains("past end of file"));
}

#[test]
fn truncated_copy_names_first_missing_tensor() {
    let src = tiny("smol-tiny-random-q4_0");
    let (_, full) = json_of(&["inspect", src.to_str().unwrap(), "--json"]);
    let bytes = fs::read(&src).unwrap();
    let cut = bytes.len() - 3000;
    let dir = tempfile::tempdir().unwrap();
    let short = dir.path().join("short.gguf");
    fs::write(&short, &bytes[..cut]).unwrap();

    // The first tensor, in file order, whose data ends past `cut`.
    let data = full["data_offset"].as_u64().unwrap();
    let first = full["tensors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| {
            data + t["offset"].as_u64().unwrap() + t["n_bytes"].as_u64().unwrap() > cut as u64
        })
        .unwrap();
    let name = first["name"].as_str().unwrap();
    let end = data + first["offset"].as_u64().unwrap() + first["n_bytes"].as_u64().unwrap();

    let (r, v) = json_of(&["inspect", short.to_str().unwrap(), "--json"]);
    assert_eq!(r.code, 1);
    let err = v["error"].as_str().expect("error is a string");
    assert!(err.contains(&format!("tensor {name} ")), "{err}");
    assert!(
        err.contains(&format!("short by {} bytes", end - cut as u64)),
        "{err}"
    );
    assert_eq!(v["tensors"].as_array().unwrap().len(), 20);
    assert!(r.stderr.contains(name), "{}", r.stderr);
    assert_eq!(r.stderr.trim_end().lines().count(), 1);

    let home = tempfile::tempdir().unwrap();
    let r = run(bague(home.path()).args(["inspect", short.to_str().unwrap()]));
    assert_eq!(r.code, 1);
    assert!(r.stdout.contains("past end of file"));
}

#[test]
fn not_gguf_is_an_error_with_json() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("x.gguf");
    fs::write(&p, b"PK\x03\x04 not a model").unwrap();
    let (r, v) = json_of(&["inspect", p.to_str().unwrap(), "--json"]);
    assert_eq!(r.code, 1);
    assert_eq!(v["version"], Value::Null);
    assert!(v["error"].as_str().unwrap().contains("not a GGUF file"));
    assert!(r.stderr.contains("not a GGUF file"));
}

#[test]
fn unknown_model_is_a_clear_error() {
    let home = tempfile::tempdir().unwrap();
    let r = run(bague(home.path()).args(["inspect", "no-such-model"]));
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains("neither a file nor a known model id"),
        "{}",
        r.stderr
    );
    let r = run(bague(home.path()).args(["inspect", "qwen2.5-coder-0.5b-instruct-q4_k_m"]));
    assert_eq!(r.code, 1);
    assert!(
        r.stderr
            .contains("run `bague pull qwen2.5-coder-0.5b-instruct-q4_k_m`"),
        "{}",
        r.stderr
    );
}

/// Rows of F32 and Q4_0 tensors, checked against bytes read here from the file.
#[test]
fn tensor_rows_match_the_file() {
    let path = tiny("r1-tiny-random-q4_0");
    let p = path.to_str().unwrap();
    let (_, info) = json_of(&["inspect", p, "--json"]);
    let bytes = fs::read(&path).unwrap();
    let data = info["data_offset"].as_u64().unwrap() as usize;
    let offset_of = |name: &str| {
        info["tensors"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["name"] == name)
            .unwrap()["offset"]
            .as_u64()
            .unwrap() as usize
    };

    let (r, v) = json_of(&["inspect", p, "--tensor", "blk.1.attn_k.bias"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(v["type"], "F32");
    assert_eq!(v["shape"], serde_json::json!([32]));
    let row = v["rows"][0].as_array().unwrap();
    assert_eq!(row.len(), 32);
    let at = data + offset_of("blk.1.attn_k.bias");
    for (i, x) in row.iter().enumerate() {
        let b = &bytes[at + 4 * i..at + 4 * i + 4];
        let want = f32::from_le_bytes(b.try_into().unwrap());
        assert_eq!(x.as_f64().unwrap() as f32, want, "element {i}");
    }

    // Q4_0: 18-byte blocks, f16 scale d then 16 bytes of nibbles; x = d * (q - 8), low
    // nibbles are elements 0..16 of the block, high nibbles 16..32.
    let (r, v) = json_of(&[
        "inspect",
        p,
        "--tensor",
        "blk.0.ffn_up.weight",
        "--rows",
        "5..7",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(v["row_range"], serde_json::json!([5, 7]));
    assert_eq!(v["n_rows"], 128);
    let rows = v["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 2);
    let base = data + offset_of("blk.0.ffn_up.weight");
    for (k, row) in rows.iter().enumerate() {
        let row = row.as_array().unwrap();
        assert_eq!(row.len(), 64);
        let row_at = base + (5 + k) * 2 * 18;
        for (i, x) in row.iter().enumerate() {
            let blk = &bytes[row_at + (i / 32) * 18..][..18];
            let d = half::f16::from_le_bytes([blk[0], blk[1]]).to_f32();
            let j = i % 32;
            let q = if j < 16 {
                blk[2 + j] & 15
            } else {
                blk[2 + j - 16] >> 4
            };
            let want = d * (q as f32 - 8.0);
            assert_eq!(x.as_f64().unwrap() as f32, want, "row {k} element {i}");
        }
    }
}

#[test]
fn tensor_errors_are_clear() {
    let p = tiny("r1-tiny-random-q4_0");
    let p = p.to_str().unwrap();
    let home = tempfile::tempdir().unwrap();
    let r = run(bague(home.path()).args(["inspect", p, "--tensor", "blk.0.attn_q.wieght"]));
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains("did you mean blk.0.attn_q.weight"),
        "{}",
        r.stderr
    );
    let r =
        run(bague(home.path()).args(["inspect", p, "--tensor", "output.weight", "--rows", "5..2"]));
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("152064 rows"), "{}", r.stderr);
    let r = run(bague(home.path()).args([
        "inspect",
        p,
        "--tensor",
        "output.weight",
        "--rows",
        "152064",
    ]));
    assert_eq!(r.code, 1);
    assert!(r.stdout.is_empty());
}

/// The real R1-Distill-Qwen-7B head (header + tokenizer, tensor data cut), pulled by
/// `bague pull r1-distill-qwen-7b-head` (which checks its sha256); skipped when absent.
#[test]
fn r1_head_reports_truncation() {
    let Some(path) = bague_testkit::model("r1-distill-qwen-7b-head") else {
        return;
    };
    let mut c = Command::cargo_bin("bague").unwrap();
    let r = run(c.args(["inspect", path.to_str().unwrap(), "--json"]));
    assert_eq!(r.code, 1);
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["tensors"].as_array().unwrap().len(), 339);
    let want: BTreeMap<String, u64> = [
        ("F32".into(), 141),
        ("Q4_K".into(), 169),
        ("Q6_K".into(), 29),
    ]
    .into();
    assert_eq!(type_counts(&v), want);
    let err = v["error"].as_str().expect("error is set");
    assert!(err.contains("output.weight"), "{err}");
    assert!(r.stderr.contains("output.weight"), "{}", r.stderr);
    assert_eq!(v["metadata"]["qwen2.rope.freq_base"], 10000.0);
    assert_eq!(v["metadata"]["tokenizer.ggml.eos_token_id"], 151_643);
}

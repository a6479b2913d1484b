//! Shared helpers of the GPU tests: the device (llvmpipe unless `BAGUE_GPU_ADAPTER` names
//! another), model files, and a [`ModelDesc`] filled from the runtime's `Model`.
#![allow(dead_code)]

use bague::model::{Model, RopeKind as CpuRope, Tensor};
use bague_gpu::{AdapterChoice, Device, LayerDesc, ModelDesc, RopeKind, TensorDesc};
use std::path::PathBuf;

fn env_is(name: &str) -> bool {
    std::env::var(name).is_ok_and(|v| v == "1")
}

/// The device of this test binary (opened once: shader compilation is paid once), see
/// [`fresh_device`].
pub fn device() -> Option<Device> {
    static DEV: std::sync::OnceLock<Option<Device>> = std::sync::OnceLock::new();
    DEV.get_or_init(fresh_device).clone()
}

/// A new device: `BAGUE_GPU_ADAPTER` (a name), else the best hardware adapter, else
/// llvmpipe. `None` (with a note) when there is none, unless `BAGUE_REQUIRE_GPU=1`, which
/// makes a missing device a failure (CI sets it).
pub fn fresh_device() -> Option<Device> {
    let r = match std::env::var("BAGUE_GPU_ADAPTER") {
        Ok(name) => Device::new(&AdapterChoice::Named(name)),
        Err(_) => Device::new(&AdapterChoice::Auto)
            .or_else(|_| Device::new(&AdapterChoice::Named("llvmpipe".into()))),
    };
    match r {
        Ok(d) => Some(d),
        Err(e) => {
            assert!(!env_is("BAGUE_REQUIRE_GPU"), "BAGUE_REQUIRE_GPU=1: {e}");
            eprintln!("SKIP: no GPU device: {e}");
            None
        }
    }
}

/// `testdata/` of the repository.
pub fn testdata() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata")
}

/// A model of the cache (`$BAGUE_HOME/models`, default `~/.cache/bague/models`). Missing:
/// `None` with a note, or a failure when `BAGUE_REQUIRE_MODELS=1` (CI).
pub fn real_model(id: &str) -> Option<PathBuf> {
    let home = std::env::var_os("BAGUE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/bague")))?;
    let p = home.join("models").join(format!("{id}.gguf"));
    if p.exists() {
        return Some(p);
    }
    assert!(
        !env_is("BAGUE_REQUIRE_MODELS"),
        "BAGUE_REQUIRE_MODELS=1 and {} is missing (bague pull {id})",
        p.display()
    );
    eprintln!("SKIP: {} not found", p.display());
    None
}

pub fn tensor<'a>(t: &Tensor<'a>) -> TensorDesc<'a> {
    TensorDesc {
        name: t.name,
        ty: t.ty,
        rows: t.n_rows(),
        cols: t.n_cols(),
        bytes: t.data,
    }
}

/// The GPU description of a runtime model (what the runtime will do in its GPU wiring).
pub fn desc<'a>(m: &Model<'a>) -> ModelDesc<'a> {
    let c = &m.config;
    let w = &m.weights;
    let tied = core::ptr::eq(w.output.data, w.token_embd.data);
    ModelDesc {
        n_embd: c.n_embd,
        n_ff: c.n_ff,
        n_head: c.n_head,
        n_head_kv: c.n_head_kv,
        head_dim: c.head_dim,
        n_vocab: c.n_vocab,
        rms_eps: c.rms_eps,
        rope_kind: match c.rope_kind {
            CpuRope::Normal => RopeKind::Normal,
            CpuRope::Neox => RopeKind::Neox,
        },
        rope_freq_base: c.rope_freq_base,
        rope_freq_scale: c.rope_freq_scale,
        rope_freqs: w.rope_freqs.as_ref().map(tensor),
        token_embd: tensor(&w.token_embd),
        output_norm: tensor(&w.output_norm),
        output: (!tied).then(|| tensor(&w.output)),
        layers: w
            .layers
            .iter()
            .map(|l| LayerDesc {
                attn_norm: tensor(&l.attn_norm),
                wq: tensor(&l.wq),
                wk: tensor(&l.wk),
                wv: tensor(&l.wv),
                bq: l.bq.as_ref().map(tensor),
                bk: l.bk.as_ref().map(tensor),
                bv: l.bv.as_ref().map(tensor),
                wo: tensor(&l.wo),
                bo: l.bo.as_ref().map(tensor),
                ffn_norm: tensor(&l.ffn_norm),
                w_gate: tensor(&l.w_gate),
                w_up: tensor(&l.w_up),
                w_down: tensor(&l.w_down),
            })
            .collect(),
    }
}

/// Prompt ids of case `i` of `testdata/reference/<model>/greedy.json`.
pub fn prompt(model: &str, i: usize) -> Vec<u32> {
    let p = testdata().join("reference").join(model).join("greedy.json");
    let s = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    let v: serde_json::Value = serde_json::from_str(&s).unwrap();
    v["cases"][i]["prompt_ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap() as u32)
        .collect()
}

/// Index of the largest value (the first on ties).
pub fn argmax(l: &[f32]) -> u32 {
    let mut best = 0;
    for (i, &v) in l.iter().enumerate() {
        if v > l[best] {
            best = i;
        }
    }
    best as u32
}

//! Shared helpers of the GPU tests: the device (llvmpipe unless `BAGUE_GPU_ADAPTER` names
//! another), model files, and a [`ModelDesc`] filled from the runtime's `Model`.
#![allow(dead_code)]

use bague::model::{Model, RopeKind as CpuRope, Tensor};
use bague_gpu::{AdapterChoice, Device, LayerDesc, ModelDesc, RopeKind, TensorDesc};

fn env_is(name: &str) -> bool {
    std::env::var(name).is_ok_and(|v| v == "1")
}

/// The device of this test binary (opened once: shader compilation is paid once), see
/// [`fresh_device`]; `None` records the calling test as skipped.
pub fn device() -> Option<Device> {
    static DEV: std::sync::OnceLock<Option<Device>> = std::sync::OnceLock::new();
    let dev = DEV.get_or_init(fresh_device).clone();
    if dev.is_none() {
        bague_testkit::skip("no GPU device");
    }
    dev
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
            bague_testkit::skip(&format!("no GPU device: {e}"));
            None
        }
    }
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
    bague_testkit::ids(&bague_testkit::reference(model, "greedy.json")["cases"][i]["prompt_ids"])
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

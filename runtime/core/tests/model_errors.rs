//! Bad input to model loading and sessions: clear errors, never panics, state unchanged.

mod model_util;
use bague::gguf::writer::Val;
use bague::gguf::{File, GgmlType, Writer};
use bague::model::{Error, Model};
use bague::session::{ContextPolicy, Session, SessionOptions};
use model_util::*;
use std::sync::atomic::AtomicBool;

/// A small synthetic llama model with F32 weights: 1 layer, n_embd 32, 2 heads, 1 KV head,
/// n_ff 64, 40 tokens. `edit` may drop or reshape tensors and metadata.
fn synthetic(edit: impl Fn(&str, &mut Vec<u64>) -> bool, arch: &str) -> Vec<u8> {
    let (e, ff, v, hd) = (32u64, 64u64, 40u64, 16u64);
    let mut w = Writer::new();
    let key = |k: &str| format!("{arch}.{k}");
    w.kv("general.architecture", Val::Str(arch))
        .kv(&key("block_count"), Val::U32(1))
        .kv(&key("embedding_length"), Val::U32(e as u32))
        .kv(&key("feed_forward_length"), Val::U32(ff as u32))
        .kv(&key("attention.head_count"), Val::U32(2))
        .kv(&key("attention.head_count_kv"), Val::U32(1))
        .kv(&key("context_length"), Val::U32(64))
        .kv(&key("attention.layer_norm_rms_epsilon"), Val::F32(1e-5));
    let mut seed = 12345u32;
    let mut tensor = |w: &mut Writer, name: &str, dims: &[u64]| {
        let mut dims = dims.to_vec();
        if !edit(name, &mut dims) {
            return;
        }
        let n: u64 = dims.iter().product();
        let mut data = Vec::with_capacity(n as usize * 4);
        for _ in 0..n {
            seed = seed.wrapping_mul(1664525).wrapping_add(1013904223);
            let x = ((seed >> 8) as f32 / (1u32 << 24) as f32 - 0.5) * 0.5;
            data.extend_from_slice(&x.to_le_bytes());
        }
        w.tensor(name, GgmlType::F32, &dims, &data);
    };
    tensor(&mut w, "token_embd.weight", &[e, v]);
    tensor(&mut w, "output_norm.weight", &[e]);
    tensor(&mut w, "blk.0.attn_norm.weight", &[e]);
    tensor(&mut w, "blk.0.attn_q.weight", &[e, 2 * hd]);
    tensor(&mut w, "blk.0.attn_k.weight", &[e, hd]);
    tensor(&mut w, "blk.0.attn_v.weight", &[e, hd]);
    tensor(&mut w, "blk.0.attn_output.weight", &[2 * hd, e]);
    tensor(&mut w, "blk.0.ffn_norm.weight", &[e]);
    tensor(&mut w, "blk.0.ffn_gate.weight", &[e, ff]);
    tensor(&mut w, "blk.0.ffn_up.weight", &[e, ff]);
    tensor(&mut w, "blk.0.ffn_down.weight", &[ff, e]);
    w.finish()
}

fn load_err(bytes: &[u8]) -> Error {
    let f = File::parse(bytes).unwrap();
    Model::from_gguf(&f).unwrap_err()
}

#[test]
fn synthetic_model_runs() {
    let bytes = synthetic(|_, _| true, "llama");
    let m = model(&bytes);
    assert_eq!(m.config.n_vocab, 40);
    let mut s = Session::new(&m, opts(1)).unwrap();
    let l = s.prefill(&[1, 2, 3]).unwrap();
    assert_eq!(l.len(), 40);
    assert!(l.iter().all(|v| v.is_finite()));
}

#[test]
fn truncated_r1_head_names_the_tensor() {
    let Some(path) = bague_testkit::model("r1-distill-qwen-7b-head") else {
        return;
    };
    let bytes = read(&path);
    let e = load_err(&bytes);
    let msg = e.to_string();
    eprintln!("{msg}");
    assert!(
        msg.starts_with("truncated: tensor output.weight needs bytes "),
        "{msg}"
    );
    assert!(msg.ends_with(&format!("file has {}", bytes.len())), "{msg}");
}

#[test]
fn missing_tensor_is_named() {
    let bytes = synthetic(|n, _| n != "blk.0.attn_k.weight", "llama");
    let e = load_err(&bytes);
    assert_eq!(e.to_string(), "missing tensor blk.0.attn_k.weight");
}

#[test]
fn qwen2_requires_qkv_biases() {
    let bytes = synthetic(|_, _| true, "qwen2");
    assert_eq!(
        load_err(&bytes).to_string(),
        "missing tensor blk.0.attn_q.bias"
    );
}

#[test]
fn wrong_shape_is_reported() {
    let bytes = synthetic(
        |n, d| {
            if n == "blk.0.ffn_up.weight" {
                d[1] = 96;
            }
            true
        },
        "llama",
    );
    assert_eq!(
        load_err(&bytes).to_string(),
        "tensor blk.0.ffn_up.weight has shape [32, 96], expected [32, 64]"
    );
}

#[test]
fn unknown_arch_is_an_error() {
    let bytes = synthetic(|_, _| true, "gpt2");
    assert!(matches!(load_err(&bytes), Error::UnknownArch(_)));
    assert!(load_err(&bytes).to_string().contains("\"gpt2\""));
}

#[test]
fn zero_threads_is_an_error() {
    let bytes = synthetic(|_, _| true, "llama");
    let m = model(&bytes);
    let e = Session::new(&m, opts(0)).unwrap_err();
    assert_eq!(e.to_string(), "thread count must be at least 1, got 0");
}

#[test]
fn bad_tokens_and_empty_input() {
    let bytes = synthetic(|_, _| true, "llama");
    let m = model(&bytes);
    let mut s = Session::new(&m, opts(1)).unwrap();
    assert_eq!(
        s.prefill(&[1, 40]).unwrap_err(),
        Error::TokenOutOfRange {
            token: 40,
            n_vocab: 40
        }
    );
    assert_eq!(s.prefill(&[]).unwrap_err(), Error::EmptyInput);
    assert_eq!(s.position(), 0);
}

#[test]
fn context_full_changes_nothing() {
    let bytes = synthetic(|_, _| true, "llama");
    let m = model(&bytes);
    let o = SessionOptions {
        n_ctx: 8,
        ..Default::default()
    };
    let mut s = Session::new(&m, o).unwrap();
    let long: Vec<u32> = (0..9).collect();
    assert_eq!(
        s.prefill(&long).unwrap_err(),
        Error::ContextFull {
            n_ctx: 8,
            position: 0,
            n_tokens: 9
        }
    );
    assert_eq!(s.position(), 0);
    let before = s.prefill(&[1, 2, 3, 4, 5, 6]).unwrap().to_vec();
    assert!(matches!(
        s.prefill(&[7, 8, 9]).unwrap_err(),
        Error::ContextFull { .. }
    ));
    assert_eq!(s.position(), 6);
    assert_eq!(s.logits(), &before[..]);
    // The session still works and gives what a fresh one gives for the same steps (one
    // token alone takes other attention kernels than a batch, as in llama.cpp, so the
    // comparison is with a fresh prefill + decode, not one 7-token prefill).
    let a = s.decode(7).unwrap().to_vec();
    let mut fresh = Session::new(&m, o).unwrap();
    fresh.prefill(&[1, 2, 3, 4, 5, 6]).unwrap();
    let b = fresh.decode(7).unwrap().to_vec();
    assert_eq!(a, b);
}

#[test]
fn cancelled_step_leaves_session_usable() {
    let bytes = synthetic(|_, _| true, "llama");
    let m = model(&bytes);
    let mut s = Session::new(&m, opts(1)).unwrap();
    s.prefill(&[1, 2, 3]).unwrap();
    let stop = AtomicBool::new(true);
    assert_eq!(
        s.prefill_cancellable(&[4, 5], &stop).unwrap_err(),
        Error::Cancelled
    );
    assert_eq!(s.position(), 3);
    let a = s.prefill(&[4, 5]).unwrap().to_vec();
    let mut fresh = Session::new(&m, opts(1)).unwrap();
    assert_eq!(fresh.prefill(&[1, 2, 3, 4, 5]).unwrap(), &a[..]);
}

#[test]
fn context_shift_keeps_generating() {
    let bytes = synthetic(|_, _| true, "llama");
    let m = model(&bytes);
    let o = SessionOptions {
        n_ctx: 16,
        context_policy: ContextPolicy::Shift { n_keep: 4 },
        ..Default::default()
    };
    let mut s = Session::new(&m, o).unwrap();
    let prompt: Vec<u32> = (0..16).collect();
    s.prefill(&prompt).unwrap();
    assert_eq!(s.position(), 16);
    // 16 full: keep 4, drop (16 - 4) / 2 = 6, then add one.
    let l = s.decode(3).unwrap();
    assert!(l.iter().all(|v| v.is_finite()));
    assert_eq!(s.position(), 11);
}

#[test]
fn memory_plan_from_the_header_alone() {
    use bague::session::MemoryPlan;
    // Works on the truncated R1 head: only the header is read.
    if let Some(path) = bague_testkit::model("r1-distill-qwen-7b-head") {
        let bytes = read(&path);
        let f = File::parse(&bytes).unwrap();
        let o = SessionOptions {
            n_ctx: 4096,
            n_threads: 4,
            ..Default::default()
        };
        let p = MemoryPlan::new(&f, &o).unwrap();
        // 28 layers × 4096 positions × 512 (4 KV heads × 128) × 2 bytes × (K and V)
        assert_eq!(p.kv_cache, 28 * 4096 * 512 * 2 * 2);
        // Tensor bytes (without alignment padding) of the 4.68 GB file.
        assert!(p.weights_mapped <= f.tensor_data_end() - f.data_offset());
        assert!(p.weights_mapped > 4_600_000_000);
        assert!(p.scratch > 0);
        // Q8_0 KV: 34 bytes per 32 values instead of 64.
        let q8 = SessionOptions {
            kv_type: bague::model::KvType::Q8_0,
            ..o
        };
        assert_eq!(
            MemoryPlan::new(&f, &q8).unwrap().kv_cache * 64,
            p.kv_cache * 34
        );
    }
}

#[test]
fn memory_plan_equals_what_a_session_allocates() {
    use bague::session::MemoryPlan;
    // The header's plan equals the bound model's, and what a session allocates.
    let bytes = synthetic(|_, _| true, "llama");
    let f = File::parse(&bytes).unwrap();
    let m = Model::from_gguf(&f).unwrap();
    let o = SessionOptions {
        n_ctx: 32,
        ..Default::default()
    };
    let p = MemoryPlan::new(&f, &o).unwrap();
    // Only the header's plan counts the parsed file's index and the layer table (a bound
    // model's file was parsed before).
    let bound = MemoryPlan::for_model(&m, &o).unwrap();
    assert_eq!(bound.index, 0);
    assert!(p.index > f.index_bytes());
    assert_eq!(MemoryPlan { index: 0, ..p }, bound);
    let bad = SessionOptions { n_ctx: 0, ..o };
    assert!(MemoryPlan::new(&f, &bad).is_err());
}

/// A session too big for the heap, or for its budget, is an error before anything is
/// allocated (or when the heap refuses), never an abort.
#[test]
fn memory_over_the_heap_or_the_budget_is_an_error() {
    use bague::session::MemoryPlan;
    let bytes = synthetic(|_, _| true, "llama");
    let f = File::parse(&bytes).unwrap();
    let m = Model::from_gguf(&f).unwrap();
    let o = SessionOptions {
        n_ctx: 64,
        ..Default::default()
    };
    let need = MemoryPlan::for_model(&m, &o).unwrap().session();
    let tight = SessionOptions {
        memory_budget: Some(need - 1),
        ..o
    };
    assert!(matches!(
        Session::new(&m, tight),
        Err(Error::OverBudget { need: n, budget }) if n == need && budget == need - 1
    ));
    assert!(
        Session::new(
            &m,
            SessionOptions {
                memory_budget: Some(need),
                ..o
            }
        )
        .is_ok()
    );
    // A context whose KV cache no heap holds (petabytes): refused, not an abort.
    let huge = SessionOptions {
        n_ctx: 1 << 40,
        ..o
    };
    match Session::new(&m, huge) {
        Err(Error::OutOfMemory { what, bytes }) => {
            assert_eq!(what, "KV cache");
            assert!(bytes > 1 << 40);
        }
        Err(Error::BadOption { .. }) => {} // the sizes overflow on 32-bit targets
        other => panic!("expected an allocation error, got {:?}", other.map(|_| ())),
    }
    // A thread count that is a typo.
    let threads = SessionOptions {
        n_threads: 1_000_000,
        ..o
    };
    assert!(matches!(
        Session::new(&m, threads),
        Err(Error::BadOption {
            option: "n_threads",
            ..
        })
    ));
}

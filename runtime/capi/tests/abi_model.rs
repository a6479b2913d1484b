//! Opening models (path, fd range at odd offsets, caller buffer), what they report, the
//! memory plan, refusals of bad files, and the model/session lifetime rule.

mod common;
use bague_capi::*;
use common::*;
use std::ffi::{CStr, CString};
use std::io::Write;
use std::os::fd::AsRawFd;
use std::ptr::{null, null_mut};

fn greedy_ids(m: &Model, prompt: &str, n: u32) -> Vec<u32> {
    let s = m.session(128, 1);
    let mut c = Collector::default();
    let (st, _) = run(&s, prompt.as_bytes(), greedy(n), &mut c);
    assert_eq!(st, BAGUE_OK, "{}", last_error());
    c.ids
}

#[test]
fn info_matches_the_file() {
    for (id, arch) in [(R1, "qwen2"), (SMOL, "llama")] {
        let m = Model::open(id);
        let info = m.info();
        let g = reference(id, "greedy.json");
        let tok = &reference(id, "chat.json")["vocab"];
        // SAFETY: static / model-owned NUL-terminated strings.
        let (a, _name) = unsafe { (CStr::from_ptr(info.arch), CStr::from_ptr(info.name)) };
        assert_eq!(a.to_str().unwrap(), arch);
        // SAFETY: model-owned NUL-terminated string.
        let k = unsafe { CStr::from_ptr(info.kernels) }.to_str().unwrap();
        assert!(
            ["scalar", "avx2", "avx512", "neon", "neon+dotprod"].contains(&k),
            "{k}"
        );
        assert_eq!(
            info.n_params,
            g["llama_cpp_model_info"]["model_n_params"]
                .as_u64()
                .unwrap()
        );
        assert_eq!(
            info.file_bytes,
            std::fs::metadata(model_path(id)).unwrap().len()
        );
        assert!(info.weight_bytes > 0 && info.weight_bytes < info.file_bytes);
        assert_eq!(info.n_vocab as u64, tok["n_vocab"].as_u64().unwrap());
        assert_eq!(info.bos as i64, tok["bos"].as_i64().unwrap());
        assert_eq!(info.eos as i64, tok["eos"].as_i64().unwrap());
        assert!(info.has_chat_template);
        assert!(info.n_layer > 0 && info.n_head % info.n_head_kv == 0);
        assert_eq!(info.has_thinking, id == R1);
    }
}

#[test]
fn path_fd_and_buffer_give_the_same_model() {
    let path = model_path(SMOL);
    let bytes = std::fs::read(&path).unwrap();
    let by_path = Model::open(SMOL);
    let want = greedy_ids(&by_path, "Once upon a time", 8);
    assert_eq!(want.len(), 8);

    // A container: 13 bytes of junk (an odd offset), the model, 7 bytes of junk.
    let dir = std::env::temp_dir().join(format!("bague-capi-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cpath = dir.join("container.bin");
    let mut f = std::fs::File::create(&cpath).unwrap();
    f.write_all(&[0xAB; 13]).unwrap();
    f.write_all(&bytes).unwrap();
    f.write_all(&[0xCD; 7]).unwrap();
    drop(f);
    let file = std::fs::File::open(&cpath).unwrap();
    let mut h = null_mut();
    // SAFETY: an open fd, a writable out.
    let st =
        unsafe { bague_model_open_fd(file.as_raw_fd(), 13, bytes.len() as u64, null(), &mut h) };
    assert_eq!(st, BAGUE_OK, "{}", last_error());
    drop(file); // the model does not need the fd
    let by_fd = Model(h);
    assert_eq!(by_fd.info().file_bytes, bytes.len() as u64);
    assert_eq!(greedy_ids(&by_fd, "Once upon a time", 8), want);

    // A range that is not inside the file.
    let file = std::fs::File::open(&cpath).unwrap();
    let mut h = null_mut();
    // SAFETY: as above.
    let st = unsafe {
        bague_model_open_fd(file.as_raw_fd(), 13, bytes.len() as u64 + 8, null(), &mut h)
    };
    expect_err(st, BAGUE_ERR_INVALID_ARGUMENT, "not inside the file");
    // Offset at the junk: not GGUF.
    // SAFETY: as above.
    let st = unsafe { bague_model_open_fd(file.as_raw_fd(), 0, 0, null(), &mut h) };
    expect_err(st, BAGUE_ERR_BAD_MODEL, "fd");
    assert!(h.is_null());
    std::fs::remove_dir_all(&dir).unwrap();

    // Caller memory at an odd address, with prefetch asked (ignored for buffers).
    let mut buf = vec![0u8; bytes.len() + 1];
    buf[1..].copy_from_slice(&bytes);
    let opts = bague_model_options {
        prefetch: true,
        builtin_template: false,
    };
    let mut h = null_mut();
    // SAFETY: `buf` outlives the model and its sessions (both dropped in this scope first).
    let st = unsafe { bague_model_open_buffer(buf[1..].as_ptr(), bytes.len(), &opts, &mut h) };
    assert_eq!(st, BAGUE_OK, "{}", last_error());
    let by_buf = Model(h);
    assert_eq!(greedy_ids(&by_buf, "Once upon a time", 8), want);
    drop(by_buf);
    drop(buf);
}

#[test]
fn bad_files_are_clear_errors() {
    let mut h = null_mut();
    let missing = CString::new("/nonexistent/bague/model.gguf").unwrap();
    // SAFETY: valid strings and out.
    let st = unsafe { bague_model_open_path(missing.as_ptr(), null(), &mut h) };
    expect_err(st, BAGUE_ERR_IO, "/nonexistent/bague/model.gguf");

    let bytes = std::fs::read(model_path(R1)).unwrap();
    // Cut inside the tensor data: the header parses, a tensor does not fit.
    let cut = &bytes[..bytes.len() - 1000];
    // SAFETY: `cut` outlives the failed call.
    let st = unsafe { bague_model_open_buffer(cut.as_ptr(), cut.len(), null(), &mut h) };
    expect_err(st, BAGUE_ERR_BAD_MODEL, "truncated");
    // Cut inside the header.
    // SAFETY: as above.
    let st = unsafe { bague_model_open_buffer(bytes.as_ptr(), 100, null(), &mut h) };
    expect_err(st, BAGUE_ERR_BAD_MODEL, "GGUF");
    let junk = [0x47u8; 64];
    // SAFETY: as above.
    let st = unsafe { bague_model_open_buffer(junk.as_ptr(), junk.len(), null(), &mut h) };
    expect_err(st, BAGUE_ERR_BAD_MODEL, "GGUF");
    assert!(h.is_null());
}

/// `BAGUE_KV_Q8_0` on SmolLM2 (head size 64; needs it pulled: `bague_testkit::model`): the plan's KV
/// cache is 34/64 of the f16 one, and greedy generation gives the f16 cache's tokens (the
/// core measures SmolLM2's top logits within 1 of f16's: `model_kv_q8.rs`).
#[test]
fn q8_0_kv_cache_on_smollm2() {
    let Some(path) = bague_testkit::model("smollm2-135m-instruct-q4_1") else {
        return;
    };
    let m = Model::open_path(&path);
    let opts = |kv_type| bague_session_options {
        n_ctx: 128,
        n_threads: 1,
        kv_type,
        ..session_defaults()
    };
    let f16 = opts(bague_kv_type::BAGUE_KV_F16 as u32);
    let q8 = opts(bague_kv_type::BAGUE_KV_Q8_0 as u32);
    let (mut pf, mut pq) = (bague_memory_plan::default(), bague_memory_plan::default());
    // SAFETY: live model, valid options, writable outs.
    unsafe {
        assert_eq!(bague_model_plan_memory(m.0, &f16, &mut pf), BAGUE_OK);
        assert_eq!(bague_model_plan_memory(m.0, &q8, &mut pq), BAGUE_OK);
    }
    assert_eq!(pq.kv_bytes * 64, pf.kv_bytes * 34);
    let ids = |o: &bague_session_options| {
        let mut s = null_mut();
        // SAFETY: live model, valid options, writable out.
        let st = unsafe { bague_session_new(m.0, o, &mut s) };
        assert_eq!(st, BAGUE_OK, "{}", last_error());
        let s = Session(s);
        let mut c = Collector::default();
        let (st, r) = run(&s, b"The capital of France is", greedy(16), &mut c);
        assert_eq!(st, BAGUE_OK, "{}", last_error());
        assert_eq!(r.n_generated_tokens as usize, c.ids.len());
        c.ids
    };
    let (a, b) = (ids(&f16), ids(&q8));
    assert_eq!(a.len(), 16);
    assert_eq!(a, b, "q8_0 KV changed SmolLM2's greedy tokens");
}

#[test]
fn memory_plan_is_exact_and_scales_with_the_context() {
    let m = Model::open(R1);
    let info = m.info();
    let plan = |n_ctx: u32, n_threads: u32| {
        let o = bague_session_options {
            n_ctx,
            n_threads,
            ..session_defaults()
        };
        let mut p = bague_memory_plan::default();
        // SAFETY: live model, valid options, writable out.
        let st = unsafe { bague_model_plan_memory(m.0, &o, &mut p) };
        assert_eq!(st, BAGUE_OK, "{}", last_error());
        p
    };
    let p = plan(256, 1);
    let kv_dim = (info.n_embd / info.n_head * info.n_head_kv) as u64;
    // K and V, f16, every layer and position.
    assert_eq!(p.kv_bytes, 2 * 2 * info.n_layer as u64 * 256 * kv_dim);
    assert_eq!(p.weights_bytes, info.weight_bytes);
    assert_eq!(p.heap_bytes, p.kv_bytes + p.scratch_bytes + p.state_bytes);
    assert_eq!(p.total_bytes, p.weights_bytes + p.heap_bytes);
    assert_eq!((p.n_ctx, p.n_threads), (256, 1));
    assert!(
        p.scratch_bytes >= 4 * info.n_vocab as u64,
        "logits are part of the scratch"
    );
    assert_eq!(plan(512, 1).kv_bytes, 2 * p.kv_bytes);
    // 0 resolves to the training context (at most 4096) and the CPUs available.
    let d = plan(0, 0);
    assert_eq!(d.n_ctx, info.n_ctx_train.min(4096));
    assert!(d.n_threads >= 1);
}

/// A session the memory cannot hold is OUT_OF_MEMORY before anything is allocated: over
/// its budget, or over what the system has (a context of 10⁹); never an abort.
#[test]
fn sessions_over_memory_are_refused() {
    let m = Model::open(R1);
    let new = |o: bague_session_options| {
        let mut s = std::ptr::null_mut();
        // SAFETY: live model, valid options, writable out.
        let st = unsafe { bague_session_new(m.0, &o, &mut s) };
        let _owned = Session(s); // freed if made
        st
    };
    let o = bague_session_options {
        n_ctx: 256,
        n_threads: 1,
        ..session_defaults()
    };
    let mut p = bague_memory_plan::default();
    // SAFETY: live model, valid options, writable out.
    let st = unsafe { bague_model_plan_memory(m.0, &o, &mut p) };
    assert_eq!(st, BAGUE_OK);
    let need = p.kv_bytes + p.scratch_bytes;
    let tight = bague_session_options {
        memory_budget: need - 1,
        ..o
    };
    expect_err(new(tight), BAGUE_ERR_OUT_OF_MEMORY, "budget");
    assert_eq!(
        new(bague_session_options {
            memory_budget: need,
            ..o
        }),
        BAGUE_OK
    );
    let huge = bague_session_options {
        n_ctx: 1_000_000_000,
        ..o
    };
    expect_err(new(huge), BAGUE_ERR_OUT_OF_MEMORY, "bytes");
}

#[test]
fn a_session_outlives_its_freed_model() {
    let mut m = Model::open(SMOL);
    let want = greedy_ids(&m, "Hello", 6);
    let s = m.session(64, 1);
    // SAFETY: freed once; the wrapper's pointer is cleared so its Drop is a no-op.
    unsafe { bague_model_free(m.0) };
    m.0 = null_mut();
    let mut c = Collector::default();
    let (st, res) = run(&s, b"Hello", greedy(6), &mut c);
    assert_eq!(st, BAGUE_OK, "{}", last_error());
    assert_eq!(res.stop_reason, BAGUE_STOP_MAX_TOKENS);
    assert_eq!(c.ids, want);
}

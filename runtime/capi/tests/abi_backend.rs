//! `bague_session_options.backend` and `.gpu_adapter`: out-of-range values, the CPU-only
//! library (the default build: `BAGUE_BACKEND_GPU` is UNSUPPORTED, `AUTO` runs on the CPU),
//! and, built with the `gpu` feature, a session on a named adapter whose greedy ids equal
//! the CPU's (`#[ignore]`d: it needs a device; `ci/gpu.sh` runs it on llvmpipe).

mod common;

use bague_capi::*;
use common::*;
use std::ffi::CString;
use std::ptr::null_mut;

/// A session on `m` with `o`, or its status.
fn open(m: &Model, o: &bague_session_options) -> Result<Session, bague_status> {
    let mut s = null_mut();
    // SAFETY: live model, valid options, writable out.
    match unsafe { bague_session_new(m.0, o, &mut s) } {
        BAGUE_OK => Ok(Session(s)),
        st => Err(st),
    }
}

/// The ids of 16 greedy tokens after a fixed prompt.
fn greedy_ids(s: &Session) -> Vec<u32> {
    let mut c = Collector::default();
    let (st, _) = run(s, b"The quick brown fox", greedy(16), &mut c);
    assert_eq!(st, BAGUE_OK, "{}", last_error());
    c.ids
}

#[test]
fn backend_defaults_to_the_cpu_and_bad_values_are_refused() {
    let o = session_defaults();
    assert_eq!(o.backend, bague_backend::BAGUE_BACKEND_CPU as u32);
    assert!(o.gpu_adapter.is_null());
    let m = Model::open(R1);
    let bad = bague_session_options {
        backend: 3,
        ..session_defaults()
    };
    assert_eq!(open(&m, &bad).err(), Some(BAGUE_ERR_INVALID_ARGUMENT));
    assert!(last_error().contains("backend 3"), "{}", last_error());
    let mut plan = std::mem::MaybeUninit::uninit();
    // SAFETY: live model, valid options, writable out.
    let st = unsafe { bague_model_plan_memory(m.0, &bad, plan.as_mut_ptr()) };
    expect_err(st, BAGUE_ERR_INVALID_ARGUMENT, "backend 3");

    let not_utf8 = [0xffu8, 0xfe, 0];
    let o = bague_session_options {
        backend: bague_backend::BAGUE_BACKEND_GPU as u32,
        gpu_adapter: not_utf8.as_ptr().cast(),
        ..session_defaults()
    };
    assert_eq!(open(&m, &o).err(), Some(BAGUE_ERR_INVALID_UTF8));
    let empty = CString::new("").unwrap();
    let o = bague_session_options {
        backend: bague_backend::BAGUE_BACKEND_GPU as u32,
        gpu_adapter: empty.as_ptr(),
        ..session_defaults()
    };
    assert_eq!(open(&m, &o).err(), Some(BAGUE_ERR_INVALID_ARGUMENT));
}

/// `AUTO` in the CPU-only library is the CPU session: same ids. (With the `gpu` feature it
/// may take a hardware GPU, whose ids can differ; it never takes llvmpipe.)
#[test]
fn auto_runs_and_matches_the_cpu_without_the_gpu_backend() {
    let m = Model::open(SMOL);
    let cpu = open(&m, &session_defaults()).unwrap();
    let o = bague_session_options {
        backend: bague_backend::BAGUE_BACKEND_AUTO as u32,
        ..session_defaults()
    };
    let auto = open(&m, &o).unwrap_or_else(|st| panic!("{st:?}: {}", last_error()));
    let (a, c) = (greedy_ids(&auto), greedy_ids(&cpu));
    assert_eq!(a.len(), 16);
    if cfg!(not(feature = "gpu")) {
        assert_eq!(a, c);
    }
}

#[cfg(not(feature = "gpu"))]
#[test]
fn gpu_is_unsupported_in_the_cpu_only_library() {
    let m = Model::open(R1);
    let o = bague_session_options {
        backend: bague_backend::BAGUE_BACKEND_GPU as u32,
        ..session_defaults()
    };
    assert_eq!(open(&m, &o).err(), Some(BAGUE_ERR_UNSUPPORTED));
    assert!(
        last_error().contains("built without the GPU backend"),
        "{}",
        last_error()
    );
}

/// Built with `--features gpu`: a session on the named adapter (`BAGUE_GPU_ADAPTER`, default
/// llvmpipe) gives the CPU's greedy ids on both tiny models; an unknown name is UNSUPPORTED
/// naming it; a Q8_0 KV cache is refused.
#[cfg(feature = "gpu")]
#[test]
#[ignore = "needs a GPU adapter (ci/gpu.sh runs it on llvmpipe)"]
fn gpu_session_on_a_named_adapter_equals_the_cpu() {
    let name = std::env::var("BAGUE_GPU_ADAPTER").unwrap_or_else(|_| "llvmpipe".into());
    let cname = CString::new(name.clone()).unwrap();
    let on_gpu = bague_session_options {
        backend: bague_backend::BAGUE_BACKEND_GPU as u32,
        gpu_adapter: cname.as_ptr(),
        n_ctx: 256,
        ..session_defaults()
    };
    for id in [R1, SMOL] {
        let m = Model::open(id);
        let g = match open(&m, &on_gpu) {
            Ok(s) => s,
            Err(st) => {
                assert_eq!(st, BAGUE_ERR_UNSUPPORTED, "{}", last_error());
                assert!(
                    std::env::var("BAGUE_REQUIRE_GPU").as_deref() != Ok("1"),
                    "BAGUE_REQUIRE_GPU=1: {}",
                    last_error()
                );
                bague_testkit::skip(&format!("no GPU adapter named {name:?}"));
                return;
            }
        };
        let c = open(
            &m,
            &bague_session_options {
                n_ctx: 256,
                ..session_defaults()
            },
        )
        .unwrap();
        assert_eq!(greedy_ids(&g), greedy_ids(&c), "{id}");
    }
    let m = Model::open(R1);
    let missing = CString::new("no-such-adapter-7f3a").unwrap();
    let o = bague_session_options {
        gpu_adapter: missing.as_ptr(),
        ..on_gpu
    };
    expect_err(
        open(&m, &o).err().unwrap(),
        BAGUE_ERR_UNSUPPORTED,
        "no-such-adapter-7f3a",
    );
    let o = bague_session_options {
        kv_type: bague_kv_type::BAGUE_KV_Q8_0 as u32,
        ..on_gpu
    };
    // The tiny models' head size refuses Q8_0 before the backend is asked.
    assert_eq!(open(&m, &o).err(), Some(BAGUE_ERR_INVALID_ARGUMENT));
}

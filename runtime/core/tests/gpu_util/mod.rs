//! Shared helpers of the GPU tests: the device (llvmpipe unless `BAGUE_GPU_ADAPTER` names
//! another), model files, and a [`ModelDesc`] filled from the runtime's `Model`.
#![allow(dead_code)]

use bague_gpu::{AdapterChoice, Device};

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

// Shared by several test binaries: not every one uses each item.
#[allow(unused_imports)]
pub use bague::session::gpu::{model_desc as desc, tensor_desc as tensor};

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

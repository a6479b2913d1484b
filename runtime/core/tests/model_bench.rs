//! Speed report (not a test of speed: nothing is asserted about time). Run with
//! `cargo test --release -p bague --test model_bench -- --ignored --nocapture`.
//! Prefill: one 128-token prompt; decode: 64 tokens after it; 1 and 2 threads.

mod model_util;
use bague::session::{Session, SessionOptions};
use bague_testkit::{ids, reference};
use model_util::*;
use std::time::Instant;

fn bench(id: &str) {
    let Some(path) = bague_testkit::model(id) else {
        return;
    };
    let bytes = read(&path);
    let m = model(&bytes);
    // A real prompt from the reference data, repeated to 128 tokens.
    let base = ids(&reference(id, "greedy.json")["cases"][3]["prompt_ids"]);
    let prompt: Vec<u32> = base.iter().cycle().take(128).copied().collect();
    for threads in [1, 2] {
        let o = SessionOptions {
            n_ctx: 512,
            n_threads: threads,
            ..Default::default()
        };
        let mut s = Session::new(&m, o).unwrap();
        s.prefill(&prompt[..8]).unwrap(); // warm up pages and the pool
        s.reset();
        let t = Instant::now();
        let mut next = argmax(s.prefill(&prompt).unwrap());
        let pp = t.elapsed().as_secs_f64();
        let n_gen = 64;
        let t = Instant::now();
        for _ in 0..n_gen {
            next = argmax(s.decode(next).unwrap());
        }
        let tg = t.elapsed().as_secs_f64();
        eprintln!(
            "{id} threads={threads} kernels={}: prefill {:.1} tok/s (128 tokens), decode {:.1} tok/s",
            m.kernels().name(),
            128.0 / pp,
            n_gen as f64 / tg
        );
    }
}

#[test]
#[ignore = "speed report; run with --release --ignored --nocapture"]
fn speed_report() {
    bench("smollm2-135m-instruct-q4_1");
    bench("qwen2.5-coder-0.5b-instruct-q4_k_m");
}

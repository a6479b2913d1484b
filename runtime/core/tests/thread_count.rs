//! Same answer at any thread count: the logits of a prompt are bit-identical whether the
//! forward pass runs on 1, 2 or 3 threads, for every batch size (kernels pick their path
//! from the batch size, so a per-thread share of another size must not change the sum).

use bague::gguf::File;
use bague::model::Model;
use bague::session::{Session, SessionOptions};

fn logits(m: &Model<'_>, prompt: &[u32], n_threads: usize) -> Vec<f32> {
    let opts = SessionOptions {
        n_ctx: 256,
        n_threads,
        ..Default::default()
    };
    let mut s = Session::new(m, opts).unwrap();
    s.prefill(prompt).unwrap().to_vec()
}

fn check(id: &str, bytes: &[u8], lens: impl Iterator<Item = usize>) {
    let f = File::parse(bytes).unwrap();
    let m = Model::from_gguf(&f).unwrap();
    let n_vocab = m.config.n_vocab as u32;
    for n in lens {
        let prompt: Vec<u32> = (0..n as u32).map(|i| (i * 7919 + 13) % n_vocab).collect();
        let one = logits(&m, &prompt, 1);
        for t in [2, 3] {
            let other = logits(&m, &prompt, t);
            let first = one
                .iter()
                .zip(&other)
                .position(|(a, b)| a.to_bits() != b.to_bits());
            assert!(
                first.is_none(),
                "{id}: {n}-token prompt, {t} threads: logit {} differs ({} vs {})",
                first.unwrap(),
                one[first.unwrap()],
                other[first.unwrap()]
            );
        }
    }
}

#[test]
fn tiny_models_same_logits_at_1_2_3_threads() {
    for id in ["smol-tiny-random-q4_0", "r1-tiny-random-q4_0"] {
        check(
            id,
            &bague_testkit::tiny_bytes(id),
            (1..=24).chain([31, 40, 64]),
        );
    }
}

#[test]
fn real_models_same_logits_at_1_2_3_threads() {
    for id in [
        "qwen2.5-coder-0.5b-instruct-q4_k_m",
        "smollm2-135m-instruct-q4_1",
    ] {
        let Some(p) = bague_testkit::model(id) else {
            continue;
        };
        check(
            id,
            &std::fs::read(p).unwrap(),
            [1, 2, 5, 9, 10, 12, 17, 23, 39].into_iter(),
        );
    }
}

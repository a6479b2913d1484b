//! Whole-model tests on the two tiny random-weight models of `testdata/models/` against
//! llama.cpp's greedy tokens and logits (`testdata/reference/*-tiny-random-q4_0/`).

mod model_util;
use model_util::*;

const MODELS: [&str; 2] = ["r1-tiny-random-q4_0", "smol-tiny-random-q4_0"];

fn load(id: &str) -> Vec<u8> {
    read(&testdata().join("models").join(format!("{id}.gguf")))
}

#[test]
fn tiny_greedy_matches_llama_cpp() {
    for id in MODELS {
        let bytes = load(id);
        let m = model(&bytes);
        check_greedy(&m, id, 0.25, 1);
    }
}

#[test]
fn tiny_logits_match_llama_cpp() {
    for id in MODELS {
        let bytes = load(id);
        let m = model(&bytes);
        let worst = check_logits(&m, id, 0.25, 1e-3, 1);
        eprintln!("{id}: max |Δlogit| over all steps = {worst:.3e}");
    }
}

#[test]
fn tiny_threads_are_bit_identical() {
    for id in MODELS {
        let bytes = load(id);
        let m = model(&bytes);
        let g = reference(id, "logits.json");
        let prompt = ids(&g["cases"][0]["prompt_ids"]);
        let run = |threads| {
            let mut s = bague::session::Session::new(&m, opts(threads)).unwrap();
            let mut v = s.prefill(&prompt).unwrap().to_vec();
            v.extend_from_slice(s.decode(argmax(&v)).unwrap());
            v
        };
        let (a, b) = (run(1), run(2));
        assert!(
            a.iter().zip(&b).all(|(x, y)| x.to_bits() == y.to_bits()),
            "{id}: 1 and 2 threads differ"
        );
    }
}

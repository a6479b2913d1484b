//! Perplexity of the KJV Genesis text against llama-perplexity (perplexity.json, the
//! flash-attention-off runs): same token count, same chunk count, PPL within 1%, its error
//! within 5%, the first chunk's running PPL within 5%. Also the method on the tiny model.
//!
//! The whole text through the real models takes a while; set BAGUE_PPL_CTX=128 (or 512)
//! to run one context only.

mod generate_util;

use bague::generate::Error;
use bague::generate::perplexity::perplexity;
use bague::gguf::File;
use bague::model::Model;
use bague::session::{Session, SessionOptions};
use bague::tokenizer::{EncodeOptions, Tokenizer};
use bague_testkit::{reference, testdata, tiny_bytes as tiny};
use generate_util::*;

const TEXT_OPTS: EncodeOptions = EncodeOptions {
    add_special: true,
    parse_special: false,
};

fn text() -> String {
    std::fs::read_to_string(testdata().join("reference/texts/kjv-genesis-1-11.txt")).unwrap()
}

fn check(model_id: &str, bytes: &[u8]) {
    let f = File::parse(bytes).unwrap();
    let tok = Tokenizer::from_gguf(&f).unwrap();
    let model = Model::from_gguf(&f).unwrap();
    let r = reference(model_id, "perplexity.json");
    let tokens = tok.encode(&text(), TEXT_OPTS).unwrap();
    assert_eq!(
        tokens.len() as u64,
        r["text"]["n_tokens_add_special"].as_u64().unwrap(),
        "{model_id}: text tokens"
    );
    let only: Option<usize> = std::env::var("BAGUE_PPL_CTX")
        .ok()
        .and_then(|s| s.parse().ok());
    let bos = tok.add_bos().then(|| tok.bos_id()).flatten();
    for run in r["runs"].as_array().unwrap() {
        if run["flash_attn"] != "disabled" {
            continue;
        }
        let n_ctx = run["n_ctx"].as_u64().unwrap() as usize;
        if only.is_some_and(|c| c != n_ctx) {
            continue;
        }
        let mut s = Session::new(
            &model,
            SessionOptions {
                n_ctx,
                n_batch: run["batch_size"].as_u64().unwrap() as usize,
                n_threads: 2,
                ..Default::default()
            },
        )
        .unwrap();
        let rows = 64.min(n_ctx / 2);
        let mut buf = vec![0f32; rows * model.config.n_vocab];
        let t0 = std::time::Instant::now();
        let p = perplexity(&mut s, &tokens, bos, &mut buf, None, &mut |_, _| {}).unwrap();
        let want = run["ppl"].as_f64().unwrap();
        let want_err = run["ppl_stderr"].as_f64().unwrap();
        let first = run["running_ppl_per_chunk"][0].as_f64().unwrap();
        eprintln!(
            "{model_id} ctx {n_ctx}: ppl {:.4} ± {:.5} (llama.cpp {want} ± {want_err}), chunk 1 {:.4} (llama.cpp {first}), {} chunks, {:.1} s",
            p.ppl,
            p.ppl_stderr,
            p.running[0],
            p.n_chunks,
            t0.elapsed().as_secs_f64()
        );
        assert_eq!(p.n_chunks as u64, run["n_chunks"].as_u64().unwrap());
        assert_eq!(p.n_scored, p.n_chunks * (n_ctx - n_ctx / 2 - 1));
        assert!(
            (p.ppl / want - 1.0).abs() < 0.01,
            "{model_id} ctx {n_ctx}: ppl {} vs {want}",
            p.ppl
        );
        // One chunk is few scored tokens: llama.cpp's own flash-attention run is 2.4% off.
        assert!(
            (p.running[0] / first - 1.0).abs() < 0.05,
            "chunk 1: {} vs {first}",
            p.running[0]
        );
        assert!(
            (p.ppl_stderr / want_err - 1.0).abs() < 0.05,
            "stderr {} vs {want_err}",
            p.ppl_stderr
        );
    }
}

#[test]
fn smollm2_perplexity_equals_llama_cpp() {
    let id = "smollm2-135m-instruct-q4_1";
    if let Some(m) = real(id) {
        check(id, m.bytes());
    }
}

#[test]
fn qwen_perplexity_equals_llama_cpp() {
    let id = "qwen2.5-coder-0.5b-instruct-q4_k_m";
    if let Some(m) = real(id) {
        check(id, m.bytes());
    }
}

/// The method on the tiny R1 model (add_bos vocab): all-position logits equal those of
/// step-by-step decoding, BOS replaces each chunk's first token, and too short a text is
/// refused.
#[test]
fn tiny_perplexity_matches_token_by_token_scoring() {
    let bytes = tiny("r1-tiny-random-q4_0");
    let f = File::parse(&bytes).unwrap();
    let tok = Tokenizer::from_gguf(&f).unwrap();
    let model = Model::from_gguf(&f).unwrap();
    assert!(tok.add_bos());
    let bos = tok.bos_id();
    let tokens = tok.encode(&text()[..1600], TEXT_OPTS).unwrap();
    let n_ctx = 32;
    let opts = SessionOptions {
        n_ctx,
        n_threads: 1,
        ..Default::default()
    };
    let mut s = Session::new(&model, opts).unwrap();
    let n_vocab = model.config.n_vocab;
    // Two rows at a time, so groups straddle nothing and calls are counted.
    let mut buf = vec![0f32; 2 * n_vocab];
    let mut chunks_seen = 0;
    let p = perplexity(&mut s, &tokens, bos, &mut buf, None, &mut |i, _| {
        assert_eq!(i, chunks_seen);
        chunks_seen += 1;
    })
    .unwrap();
    assert_eq!(p.n_chunks, tokens.len() / n_ctx);
    assert_eq!(chunks_seen, p.n_chunks);

    // The same numbers, token by token with decode.
    let (mut nll, mut count) = (0f64, 0usize);
    let mut d = Session::new(&model, opts).unwrap();
    for c in 0..p.n_chunks {
        let mut chunk = tokens[c * n_ctx..(c + 1) * n_ctx].to_vec();
        chunk[0] = bos.unwrap();
        d.reset();
        d.prefill(&chunk[..1]).unwrap();
        for j in 1..n_ctx - 1 {
            let logits = d.decode(chunk[j]).unwrap();
            if j >= n_ctx / 2 {
                nll += bague::generate::perplexity::nll_of(logits, chunk[j + 1] as usize);
                count += 1;
            }
        }
    }
    let want = (nll / count as f64).exp();
    eprintln!("tiny: ppl {} (token by token {want})", p.ppl);
    assert_eq!(count, p.n_scored);
    assert!((p.ppl / want - 1.0).abs() < 1e-3, "{} vs {want}", p.ppl);

    // Too short: fewer than two chunks.
    let short = &tokens[..2 * n_ctx - 1];
    assert!(matches!(
        perplexity(&mut s, short, bos, &mut buf, None, &mut |_, _| {}),
        Err(Error::TextTooShort { .. })
    ));
}

//! The generation loop's behaviour on the tiny R1-shaped model (real R1 tokenizer and
//! template, random weights: gibberish text, but the structure is checkable): think
//! budget, stop strings, KV reuse, context and cancellation errors, allocation.

mod generate_util;

use std::sync::atomic::AtomicBool;

use bague::chat::{Message, ReasoningConfig};
use bague::generate::{Error, Generator, NoClock, Outcome, Piece, Request, StopReason};
use bague::gguf::File;
use bague::model::{self, Model};
use bague::sampler::SamplerConfig;
use bague::session::{Session, SessionOptions};
use bague::tokenizer::{EncodeOptions, Tokenizer};
use bague_testkit::tiny_bytes as tiny;
use generate_util::*;

const THINK_CLOSE: u32 = 151649;

struct Tiny {
    bytes: Vec<u8>,
}

impl Tiny {
    fn r1() -> Self {
        Tiny {
            bytes: tiny("r1-tiny-random-q4_0"),
        }
    }
}

fn session<'m, 'a>(m: &'m Model<'a>, n_ctx: usize) -> Session<'m, 'a> {
    Session::new(
        m,
        SessionOptions {
            n_ctx,
            n_threads: 1,
            ..Default::default()
        },
    )
    .unwrap()
}

/// Runs a request, collecting the pieces as (text, thinking).
fn run(
    g: &mut Generator<'_, '_>,
    s: &mut Session<'_, '_>,
    req: &Request<'_>,
) -> (Result<Outcome, Error>, Vec<(String, bool)>) {
    let mut pieces = Vec::new();
    let r = g.generate(
        s,
        req,
        &AtomicBool::new(false),
        &NoClock,
        &mut |p: Piece<'_>| pieces.push((p.text.to_string(), p.thinking)),
    );
    (r, pieces)
}

fn joined(pieces: &[(String, bool)], thinking: bool) -> String {
    pieces
        .iter()
        .filter(|p| p.1 == thinking)
        .map(|p| p.0.as_str())
        .collect()
}

/// The R1 chat prompt for "hi", ending inside an open thinking block (newer template).
fn thinking_prompt(f: &File<'_>, tok: &Tokenizer<'_>) -> Vec<u32> {
    let t = template(f, tok);
    let mut text = t.apply(&[Message::user("hi")], true).unwrap();
    assert!(text.ends_with("<｜Assistant｜>"));
    text.push_str("<think>\n");
    tok.encode(&text, EncodeOptions::PROMPT).unwrap()
}

#[test]
fn think_budget_injects_close_tag_then_answers() {
    let t = Tiny::r1();
    let f = File::parse(&t.bytes).unwrap();
    let tok = Tokenizer::from_gguf(&f).unwrap();
    let m = Model::from_gguf(&f).unwrap();
    assert_eq!(tok.token_id("</think>"), Some(THINK_CLOSE));
    let prompt = thinking_prompt(&f, &tok);
    for budget in [0u32, 1, 3, 5] {
        let mut s = session(&m, 512);
        let mut g = Generator::new(&tok, SamplerConfig::greedy()).unwrap();
        let req = Request {
            max_tokens: Some(12),
            reasoning: Some(
                ReasoningConfig::r1()
                    .starts_in_thinking(true)
                    .budget(Some(budget)),
            ),
            ..Request::new(&prompt)
        };
        let (out, pieces) = run(&mut g, &mut s, &req);
        let out = out.unwrap();
        let ids = &out.output_ids;
        eprintln!("budget {budget}: {ids:?} {:?}", out.stop_reason);
        assert_eq!(
            ids[budget as usize], THINK_CLOSE,
            "close tag after {budget} tokens"
        );
        assert!(out.thinking_forced_end);
        assert_eq!(out.thinking_tokens, budget);
        // 12 sampled + 1 injected.
        assert_eq!(ids.len(), 13);
        assert_eq!(out.stop_reason, StopReason::MaxTokens);
        // Thinking pieces first, then only answer pieces.
        let first_answer = pieces.iter().position(|p| !p.1).unwrap_or(pieces.len());
        assert!(pieces[first_answer..].iter().all(|p| !p.1), "{pieces:?}");
        if budget == 0 {
            assert!(joined(&pieces, true).is_empty());
        }
        // The cache holds prompt + everything but the last sampled id.
        assert_eq!(g.cached().len(), prompt.len() + ids.len() - 1);
        assert_eq!(&g.cached()[prompt.len()..], &ids[..ids.len() - 1]);

        // The token after the close tag is greedy over the logits after it: replay.
        let mut r = session(&m, 512);
        let mut logits = r.prefill(&prompt).unwrap().to_vec();
        for &id in &ids[..=budget as usize] {
            logits = r.decode(id).unwrap().to_vec();
        }
        let best = (0..logits.len())
            .max_by(|&a, &b| logits[a].total_cmp(&logits[b]).then(b.cmp(&a)))
            .unwrap() as u32;
        assert_eq!(ids[budget as usize + 1], best);
    }
}

#[test]
fn no_budget_and_no_open_block_means_all_answer() {
    let t = Tiny::r1();
    let f = File::parse(&t.bytes).unwrap();
    let tok = Tokenizer::from_gguf(&f).unwrap();
    let m = Model::from_gguf(&f).unwrap();
    let prompt = tok
        .encode("The capital of France is", EncodeOptions::PROMPT)
        .unwrap();
    let mut s = session(&m, 512);
    let mut g = Generator::new(&tok, SamplerConfig::greedy()).unwrap();
    let plain = Request {
        max_tokens: Some(16),
        ..Request::new(&prompt)
    };
    let (a, pa) = run(&mut g, &mut s, &plain);
    let a = a.unwrap();
    let mut s = session(&m, 512);
    let mut g = Generator::new(&tok, SamplerConfig::greedy()).unwrap();
    let split = Request {
        reasoning: Some(ReasoningConfig::r1().budget(Some(2))),
        ..plain.clone()
    };
    let (b, pb) = run(&mut g, &mut s, &split);
    let b = b.unwrap();
    // The model does not open a block: nothing injected, same ids, all answer text.
    if !a.output_ids.contains(&tok.token_id("<think>").unwrap()) {
        assert_eq!(a.output_ids, b.output_ids);
        assert!(!b.thinking_forced_end);
        assert_eq!(joined(&pa, false), joined(&pb, false));
        assert!(pb.iter().all(|p| !p.1));
    }
}

#[test]
fn stop_string_ends_generation_across_tokens() {
    let t = Tiny::r1();
    let f = File::parse(&t.bytes).unwrap();
    let tok = Tokenizer::from_gguf(&f).unwrap();
    let m = Model::from_gguf(&f).unwrap();
    let prompt = tok
        .encode("Once upon a time", EncodeOptions::PROMPT)
        .unwrap();
    let full_req = Request {
        max_tokens: Some(32),
        ..Request::new(&prompt)
    };
    let mut g = Generator::new(&tok, SamplerConfig::greedy()).unwrap();
    let (full, pieces) = run(&mut g, &mut session(&m, 512), &full_req);
    let full = full.unwrap();
    let text = joined(&pieces, false);
    // A stop string that spans the boundary between the 10th and 11th tokens' text.
    let pre: String = tok
        .decode(&full.output_ids[..10])
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap();
    assert!(text.starts_with(&pre), "decoded prefix");
    let at = pre.char_indices().rev().nth(1).map_or(0, |(i, _)| i);
    let stop: String = text[at..].chars().take(4).collect();
    let cut = text.find(&stop).unwrap();
    let stops = [stop.as_str()];
    let req = Request {
        stop: &stops,
        ..full_req.clone()
    };
    let (out, pieces) = run(&mut g, &mut session(&m, 512), &req);
    g.forget();
    let out = out.unwrap();
    assert_eq!(out.stop_reason, StopReason::StopString);
    assert_eq!(
        joined(&pieces, false),
        text[..cut],
        "text before the stop string {stop:?}"
    );
    assert!(full.output_ids.starts_with(&out.output_ids));
    assert!(out.output_ids.len() < full.output_ids.len());
}

#[test]
fn kv_reuse_prefills_only_the_new_suffix() {
    let t = Tiny::r1();
    let f = File::parse(&t.bytes).unwrap();
    let tok = Tokenizer::from_gguf(&f).unwrap();
    let m = Model::from_gguf(&f).unwrap();
    let a = tok.encode("What is 2+2?", EncodeOptions::PROMPT).unwrap();
    let mut s = session(&m, 512);
    let mut g = Generator::new(&tok, SamplerConfig::greedy()).unwrap();
    let (first, _) = run(
        &mut g,
        &mut s,
        &Request {
            max_tokens: Some(8),
            ..Request::new(&a)
        },
    );
    let first = first.unwrap();
    assert_eq!(first.n_reused, 0);
    assert_eq!(first.timings.n_prefill, a.len());

    // Next turn: the old prompt, 7 fed ids, then new text.
    let mut b = a.clone();
    b.extend_from_slice(&first.output_ids[..7]);
    b.extend(tok.encode(" And 3+3?", EncodeOptions::TEXT).unwrap());
    let req = Request {
        max_tokens: Some(8),
        ..Request::new(&b)
    };
    let (second, _) = run(&mut g, &mut s, &req);
    let second = second.unwrap();
    assert_eq!(second.n_reused, a.len() + 7);
    assert_eq!(second.timings.n_prefill, b.len() - a.len() - 7);

    // A prompt that leaves the cached history part way: the cache is cut back.
    let mut c = a[..3].to_vec();
    c.extend(tok.encode(" something else", EncodeOptions::TEXT).unwrap());
    let (third, _) = run(
        &mut g,
        &mut s,
        &Request {
            max_tokens: Some(8),
            ..Request::new(&c)
        },
    );
    let third = third.unwrap();
    assert_eq!(third.n_reused, 3);
    // Same ids as a fresh session prefilling the whole prompt.
    let mut g2 = Generator::new(&tok, SamplerConfig::greedy()).unwrap();
    let (fresh, _) = run(
        &mut g2,
        &mut session(&m, 512),
        &Request {
            max_tokens: Some(8),
            ..Request::new(&c)
        },
    );
    assert_eq!(third.output_ids, fresh.unwrap().output_ids);

    // The same prompt twice: everything but its last token is reused.
    let (again, _) = run(
        &mut g,
        &mut s,
        &Request {
            max_tokens: Some(8),
            ..Request::new(&c)
        },
    );
    let again = again.unwrap();
    assert_eq!(again.n_reused, c.len() - 1);
    assert_eq!(again.output_ids, third.output_ids);

    // After the session was reset elsewhere, the position mismatch forces a full prefill.
    s.reset();
    let (after, _) = run(
        &mut g,
        &mut s,
        &Request {
            max_tokens: Some(8),
            ..Request::new(&c)
        },
    );
    assert_eq!(after.unwrap().n_reused, 0);
}

#[test]
fn prompt_longer_than_context_is_an_error_before_output() {
    let t = Tiny::r1();
    let f = File::parse(&t.bytes).unwrap();
    let tok = Tokenizer::from_gguf(&f).unwrap();
    let m = Model::from_gguf(&f).unwrap();
    let prompt = tok
        .encode(&"one two three ".repeat(20), EncodeOptions::PROMPT)
        .unwrap();
    assert!(prompt.len() > 32);
    let mut s = session(&m, 32);
    let mut g = Generator::new(&tok, SamplerConfig::greedy()).unwrap();
    let (r, pieces) = run(&mut g, &mut s, &Request::new(&prompt));
    match r {
        Err(Error::Model(model::Error::ContextFull {
            n_ctx: 32,
            n_tokens,
            ..
        })) => {
            assert_eq!(n_tokens, prompt.len())
        }
        other => panic!("expected ContextFull, got {other:?}"),
    }
    assert!(pieces.is_empty());
    assert_eq!(s.position(), 0);
    // An empty prompt is refused too.
    assert!(matches!(
        run(&mut g, &mut s, &Request::new(&[])).0,
        Err(Error::Model(model::Error::EmptyInput))
    ));

    // A prompt that fits, with generation running into the end of the context.
    let short = &prompt[..30];
    let (r, _) = run(&mut g, &mut s, &Request::new(short));
    let r = r.unwrap();
    assert_eq!(r.stop_reason, StopReason::ContextFull);
    assert_eq!(
        r.output_ids.len(),
        3,
        "positions 30, 31 fed; the 3rd sample has no room"
    );
}

#[test]
fn cancel_and_zero_tokens() {
    let t = Tiny::r1();
    let f = File::parse(&t.bytes).unwrap();
    let tok = Tokenizer::from_gguf(&f).unwrap();
    let m = Model::from_gguf(&f).unwrap();
    let prompt = tok.encode("hello", EncodeOptions::PROMPT).unwrap();
    let mut s = session(&m, 64);
    let mut g = Generator::new(&tok, SamplerConfig::greedy()).unwrap();
    let cancel = AtomicBool::new(true);
    let out = g
        .generate(
            &mut s,
            &Request::new(&prompt),
            &cancel,
            &NoClock,
            &mut |_: Piece<'_>| panic!("no output after cancel"),
        )
        .unwrap();
    assert_eq!(out.stop_reason, StopReason::Cancelled);
    assert!(out.output_ids.is_empty());
    assert_eq!(s.position(), 0);

    let (out, pieces) = run(
        &mut g,
        &mut s,
        &Request {
            max_tokens: Some(0),
            ..Request::new(&prompt)
        },
    );
    let out = out.unwrap();
    assert!(out.output_ids.is_empty() && pieces.is_empty());
    assert_eq!(out.stop_reason, StopReason::MaxTokens);
}

#[test]
fn token_loop_does_not_allocate_per_token() {
    let t = Tiny::r1();
    let f = File::parse(&t.bytes).unwrap();
    let tok = Tokenizer::from_gguf(&f).unwrap();
    let m = Model::from_gguf(&f).unwrap();
    let prompt = tok
        .encode("Once upon a time", EncodeOptions::PROMPT)
        .unwrap();
    let mut s = session(&m, 256);
    let mut g = Generator::new(&tok, SamplerConfig::LLAMA_DEFAULTS).unwrap();
    let mut count = |n: u32| {
        g.forget();
        let req = Request {
            max_tokens: Some(n),
            ..Request::new(&prompt)
        };
        let mut n_out = 0;
        let info = allocation_counter::measure(|| {
            let o = g
                .generate(
                    &mut s,
                    &req,
                    &AtomicBool::new(false),
                    &NoClock,
                    &mut |_: Piece<'_>| {},
                )
                .unwrap();
            n_out = o.output_ids.len();
        });
        (info.count_total, n_out)
    };
    let (few, n_few) = count(8);
    let (many, n_many) = count(96);
    eprintln!("allocations: {few} for {n_few} tokens, {many} for {n_many} tokens");
    assert!(n_many > n_few);
    // Buffers grow to the longest piece seen at most a few times; not once per token.
    assert!(
        many.saturating_sub(few) <= 8,
        "{few} allocations for {n_few} tokens, {many} for {n_many}"
    );
}

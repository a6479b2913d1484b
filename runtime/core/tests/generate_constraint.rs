//! The generator's constraint hooks, with scripted constraints (no grammar engine) on the
//! tiny random-weight models: every sampled token comes from the mask, end-of-generation
//! only where the constraint is complete, the next mask is started before the forward pass
//! (and the first before the prefill), an empty mask is a stop reason, a constraint error is
//! an error, thinking is free and the answer constrained, a pinned empty thinking block
//! is prefilled, and forced runs go in one batch when the request asks for it.

use std::ops::ControlFlow;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};

use bague::chat::{Message, ReasoningConfig};
use bague::constraint::{Constraint, ConstraintError, MaskStep, TokenMask};
use bague::generate::{Error, Generator, NoClock, Outcome, Piece, Request, Sink, StopReason};
use bague::gguf::File;
use bague::model::Model;
use bague::sampler::SamplerConfig;
use bague::session::{Session, SessionOptions};
use bague::tokenizer::{EncodeOptions, Tokenizer};

fn tiny(id: &str) -> Vec<u8> {
    bague_testkit::tiny_bytes(id)
}

/// Allows exactly `ids`, one after the other, then only end-of-generation (complete).
/// Logs its calls.
struct Script {
    n_vocab: usize,
    ids: Vec<u32>,
    pos: usize,
    started: bool,
    /// After this many tokens the mask is empty.
    dead_after: Option<usize>,
    /// `accept` fails with `TooComplex` at this position.
    fail_at: Option<usize>,
    /// Positions of `ids` whose tokens are forced ([`Constraint::forced_tokens`]): asked at
    /// a position inside one, the rest of the range is returned.
    forced: Vec<std::ops::Range<usize>>,
    log: Arc<Mutex<Vec<String>>>,
}

impl Script {
    fn new(n_vocab: usize, ids: &[u32]) -> (Self, Arc<Mutex<Vec<String>>>) {
        let log = Arc::new(Mutex::new(Vec::new()));
        (
            Script {
                n_vocab,
                ids: ids.to_vec(),
                pos: 0,
                started: false,
                dead_after: None,
                fail_at: None,
                forced: Vec::new(),
                log: log.clone(),
            },
            log,
        )
    }
    fn note(&self, s: String) {
        self.log.lock().unwrap().push(s);
    }
}

impl Constraint for Script {
    fn n_vocab(&self) -> usize {
        self.n_vocab
    }
    fn reset(&mut self) -> Result<(), ConstraintError> {
        self.pos = 0;
        self.started = false;
        self.note("reset".into());
        Ok(())
    }
    fn start_mask(&mut self) {
        self.started = true;
        self.note("start".into());
    }
    fn take_mask(&mut self, mask: &mut TokenMask) -> Result<MaskStep, ConstraintError> {
        self.note("take".into());
        mask.clear();
        let background = std::mem::take(&mut self.started);
        if self.dead_after == Some(self.pos) {
            return Ok(MaskStep::default());
        }
        if let Some(&id) = self.ids.get(self.pos) {
            mask.allow(id);
        }
        Ok(MaskStep {
            complete: self.pos == self.ids.len(),
            background,
            ..MaskStep::default()
        })
    }
    fn accept(&mut self, id: u32) -> Result<(), ConstraintError> {
        self.note(format!("accept {id}"));
        if self.fail_at == Some(self.pos) {
            return Err(ConstraintError::TooComplex);
        }
        if self.ids.get(self.pos) != Some(&id) {
            return Err(ConstraintError::Rejected { id });
        }
        self.pos += 1;
        Ok(())
    }
    fn forced_tokens(
        &mut self,
        _tok: &Tokenizer<'_>,
        out: &mut Vec<u32>,
    ) -> Result<(), ConstraintError> {
        out.clear();
        if let Some(r) = self.forced.iter().find(|r| r.contains(&self.pos)) {
            out.extend_from_slice(&self.ids[self.pos..r.end]);
        }
        self.note(format!("forced {}", out.len()));
        Ok(())
    }
}

fn session<'m, 'a>(m: &'m Model<'a>) -> Session<'m, 'a> {
    session_with(m, 256, 1)
}

fn session_with<'m, 'a>(m: &'m Model<'a>, n_ctx: usize, n_threads: usize) -> Session<'m, 'a> {
    Session::new(
        m,
        SessionOptions {
            n_ctx,
            n_threads,
            ..Default::default()
        },
    )
    .unwrap()
}

fn run(
    g: &mut Generator<'_, '_>,
    s: &mut Session<'_, '_>,
    req: &Request<'_>,
) -> (Result<Outcome, Error>, String, String) {
    let (mut answer, mut thinking) = (String::new(), String::new());
    let r = g.generate(
        s,
        req,
        &AtomicBool::new(false),
        &NoClock,
        &mut |p: Piece<'_>| {
            if p.thinking {
                thinking.push_str(p.text)
            } else {
                answer.push_str(p.text)
            }
        },
    );
    (r, answer, thinking)
}

/// Token ids of `text` (no BOS).
fn ids(tok: &Tokenizer<'_>, text: &str) -> Vec<u32> {
    tok.encode(
        text,
        EncodeOptions {
            add_special: false,
            parse_special: false,
        },
    )
    .unwrap()
}

#[test]
fn every_token_comes_from_the_mask_and_eog_only_when_complete() {
    let bytes = tiny("smol-tiny-random-q4_0");
    let f = File::parse(&bytes).unwrap();
    let tok = Tokenizer::from_gguf(&f).unwrap();
    let m = Model::from_gguf(&f).unwrap();
    let want = ids(&tok, r#"{"intent":"climate.set","value":21}"#);
    let prompt = tok.encode("Set it to 21", EncodeOptions::PROMPT).unwrap();
    for cfg in [
        SamplerConfig::greedy(),
        SamplerConfig {
            seed: 5,
            ..SamplerConfig::LLAMA_DEFAULTS
        },
    ] {
        let mut g = Generator::new(&tok, cfg).unwrap();
        let (c, log) = Script::new(tok.n_vocab(), &want);
        g.set_constraint(Some(Box::new(c))).unwrap();
        let req = Request {
            max_tokens: Some(100),
            ..Request::new(&prompt)
        };
        for round in 0..2 {
            log.lock().unwrap().clear();
            let (out, text, _) = run(&mut g, &mut session(&m), &req);
            let out = out.unwrap();
            // The random model would never write this; the mask makes it.
            assert_eq!(out.stop_reason, StopReason::Eog, "round {round}");
            assert_eq!(&out.output_ids[..want.len()], &want[..]);
            assert_eq!(out.output_ids.len(), want.len() + 1);
            assert!(tok.is_eog(out.output_ids[want.len()]));
            assert_eq!(text, r#"{"intent":"climate.set","value":21}"#);
            // One mask per sampled token, each started before the forward pass (the first
            // before the prefill).
            assert_eq!(out.masks.len(), want.len() + 1);
            assert!(out.masks.iter().all(|m| m.background), "{:?}", out.masks);
            let log = log.lock().unwrap();
            assert_eq!(log[0], "reset");
            assert_eq!(log[1], "start");
            assert_eq!(log[2], "take");
            for w in log.windows(2) {
                if w[1] == "take" {
                    assert_eq!(w[0], "start", "{log:?}");
                }
            }
            let accepted = log.iter().filter(|l| l.starts_with("accept")).count();
            assert_eq!(accepted, want.len(), "EOG is not fed to the constraint");
        }
    }
}

#[test]
fn an_empty_mask_stops_and_errors_propagate() {
    let bytes = tiny("smol-tiny-random-q4_0");
    let f = File::parse(&bytes).unwrap();
    let tok = Tokenizer::from_gguf(&f).unwrap();
    let m = Model::from_gguf(&f).unwrap();
    let want = ids(&tok, "abc def ghi");
    let prompt = tok.encode("x", EncodeOptions::PROMPT).unwrap();
    let req = Request {
        max_tokens: Some(50),
        ..Request::new(&prompt)
    };

    let mut g = Generator::new(&tok, SamplerConfig::greedy()).unwrap();
    let (mut c, _) = Script::new(tok.n_vocab(), &want);
    c.dead_after = Some(2);
    g.set_constraint(Some(Box::new(c))).unwrap();
    let (out, text, _) = run(&mut g, &mut session(&m), &req);
    let out = out.unwrap();
    assert_eq!(out.stop_reason, StopReason::NoAllowedToken);
    assert_eq!(out.stop_reason.as_str(), "no_allowed_token");
    assert_eq!(out.output_ids, want[..2]);
    assert_eq!(text.as_bytes(), &tok.decode(&want[..2]).unwrap()[..]);

    let (mut c, _) = Script::new(tok.n_vocab(), &want);
    c.fail_at = Some(1);
    g.set_constraint(Some(Box::new(c))).unwrap();
    let (out, _, _) = run(&mut g, &mut session(&m), &req);
    assert_eq!(
        out.unwrap_err(),
        Error::Constraint(ConstraintError::TooComplex)
    );

    // Made for another vocabulary: refused up front.
    let (c, _) = Script::new(tok.n_vocab() + 1, &want);
    assert!(matches!(
        g.set_constraint(Some(Box::new(c))),
        Err(Error::Constraint(ConstraintError::VocabMismatch { .. }))
    ));
    // Lifted: the model's own greedy choice again.
    g.set_constraint(None).unwrap();
    let (out, _, _) = run(&mut g, &mut session(&m), &req);
    assert!(out.unwrap().masks.is_empty());
}

/// The R1 chat prompt for "hi"; `open`: ending inside an open thinking block.
fn r1_prompt(f: &File<'_>, tok: &Tokenizer<'_>, open: bool) -> (String, Vec<u32>) {
    let t = bague::chat::ChatTemplate::new(
        f.get_str("tokenizer.chat_template").unwrap(),
        bague::chat::SpecialTokens::from_tokenizer(tok),
    )
    .unwrap();
    let mut text = t.apply(&[Message::user("hi")], true).unwrap();
    if open && !text.trim_end().ends_with("<think>") {
        text.push_str("<think>\n");
    }
    let ids = tok.encode(&text, EncodeOptions::PROMPT).unwrap();
    (text, ids)
}

#[test]
fn thinking_is_free_and_the_answer_is_constrained() {
    let bytes = tiny("r1-tiny-random-q4_0");
    let f = File::parse(&bytes).unwrap();
    let tok = Tokenizer::from_gguf(&f).unwrap();
    let m = Model::from_gguf(&f).unwrap();
    let close = tok.token_id("</think>").unwrap();
    let want = ids(&tok, r#"{"ok":true}"#);
    let (_, prompt) = r1_prompt(&f, &tok, true);
    let mut g = Generator::new(&tok, SamplerConfig::greedy()).unwrap();
    let (c, log) = Script::new(tok.n_vocab(), &want);
    g.set_constraint(Some(Box::new(c))).unwrap();
    let req = Request {
        max_tokens: Some(60),
        reasoning: Some(
            ReasoningConfig::r1()
                .starts_in_thinking(true)
                .budget(Some(4)),
        ),
        ..Request::new(&prompt)
    };
    let (out, answer, thinking) = run(&mut g, &mut session(&m), &req);
    let out = out.unwrap();
    // 4 free thinking tokens, the injected close tag, then the constrained answer.
    assert_eq!(out.output_ids[4], close);
    assert_eq!(&out.output_ids[5..5 + want.len()], &want[..]);
    assert!(tok.is_eog(*out.output_ids.last().unwrap()));
    assert_eq!(out.stop_reason, StopReason::Eog);
    assert_eq!(answer.trim_start(), r#"{"ok":true}"#);
    assert!(!thinking.is_empty());
    assert_eq!(out.masks.len(), want.len() + 1);
    // No mask was taken while thinking: the first "take" comes after the budget closed it.
    let log = log.lock().unwrap();
    assert_eq!(log.iter().filter(|l| *l == "take").count(), want.len() + 1);
}

#[test]
fn pinned_empty_thinking_is_prefilled() {
    let bytes = tiny("r1-tiny-random-q4_0");
    let f = File::parse(&bytes).unwrap();
    let tok = Tokenizer::from_gguf(&f).unwrap();
    let m = Model::from_gguf(&f).unwrap();
    let want = ids(&tok, r#"{"ok":false}"#);
    for open in [false, true] {
        let (text, prompt) = r1_prompt(&f, &tok, open);
        let mut g = Generator::new(&tok, SamplerConfig::greedy()).unwrap();
        let (c, _) = Script::new(tok.n_vocab(), &want);
        g.set_constraint(Some(Box::new(c))).unwrap();
        let req = Request {
            max_tokens: Some(40),
            reasoning: Some(ReasoningConfig::r1().starts_in_thinking(open)),
            pin_empty_thinking: true,
            ..Request::new(&prompt)
        };
        let _ = text;
        let (out, answer, thinking) = run(&mut g, &mut session(&m), &req);
        let out = out.unwrap();
        assert!(thinking.is_empty());
        assert_eq!(out.thinking_tokens, 0);
        assert_eq!(answer, r#"{"ok":false}"#);
        assert_eq!(&out.output_ids[..want.len()], &want[..]);
        // The prompt as prefilled: the caller's, then the empty block.
        let full = &g.cached()[..out.n_prompt];
        assert_eq!(&full[..prompt.len()], &prompt[..]);
        let all = String::from_utf8(tok.decode(full).unwrap()).unwrap();
        assert!(all.ends_with("<think>\n\n</think>"), "{all:?}");
        assert_eq!(all.matches("<think>").count(), 1, "{all:?}");

        // Without a constraint too: everything generated is answer.
        g.set_constraint(None).unwrap();
        let (out, _, thinking) = run(&mut g, &mut session(&m), &req);
        let out = out.unwrap();
        assert!(thinking.is_empty());
        assert_eq!(out.thinking_tokens, 0);
    }
}

/// A generation with forced runs: (outcome, text, ids streamed to the sink, session
/// position after it, the constraint's log).
#[allow(clippy::too_many_arguments)]
fn run_forced(
    g: &mut Generator<'_, '_>,
    tok: &Tokenizer<'_>,
    m: &Model<'_>,
    want: &[u32],
    forced: &[std::ops::Range<usize>],
    req: &Request<'_>,
    n_ctx: usize,
    break_at: Option<usize>,
) -> (Outcome, String, Vec<u32>, usize, Vec<String>) {
    struct Collect {
        text: String,
        ids: Vec<u32>,
        break_at: Option<usize>,
    }
    impl Sink for Collect {
        fn token(&mut self, id: u32) -> ControlFlow<()> {
            self.ids.push(id);
            if Some(self.ids.len()) == self.break_at {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        }
        fn piece(&mut self, p: Piece<'_>) -> ControlFlow<()> {
            self.text.push_str(p.text);
            ControlFlow::Continue(())
        }
    }
    let (mut c, log) = Script::new(tok.n_vocab(), want);
    c.forced = forced.to_vec();
    g.set_constraint(Some(Box::new(c))).unwrap();
    g.forget();
    let mut s = session_with(m, n_ctx, 1);
    let mut sink = Collect {
        text: String::new(),
        ids: Vec::new(),
        break_at,
    };
    let out = g
        .generate(&mut s, req, &AtomicBool::new(false), &NoClock, &mut sink)
        .unwrap();
    let log = log.lock().unwrap().clone();
    (out, sink.text, sink.ids, s.position(), log)
}

#[test]
fn forced_runs_go_in_one_batch() {
    let bytes = tiny("smol-tiny-random-q4_0");
    let f = File::parse(&bytes).unwrap();
    let tok = Tokenizer::from_gguf(&f).unwrap();
    let m = Model::from_gguf(&f).unwrap();
    let json = r#"{"intent":"climate.set","value":21}"#;
    let want = ids(&tok, json);
    assert!(want.len() >= 10, "{want:?}");
    let prompt = tok.encode("Set it to 21", EncodeOptions::PROMPT).unwrap();
    // Forced: the first three tokens (fed with the prompt), then four after two sampled ones.
    let forced = [0..3, 5..9];
    let mut g = Generator::new(&tok, SamplerConfig::greedy()).unwrap();
    let off = Request {
        max_tokens: Some(100),
        ..Request::new(&prompt)
    };
    let on = Request {
        batch_forced: true,
        ..off.clone()
    };

    // Off (the default): every token sampled and decoded one by one; forced_tokens is
    // never asked.
    let (o, text, streamed, pos, log) =
        run_forced(&mut g, &tok, &m, &want, &forced, &off, 256, None);
    assert_eq!(o.stop_reason, StopReason::Eog);
    assert_eq!(&o.output_ids[..want.len()], &want[..]);
    assert_eq!(text, json);
    assert_eq!(o.n_forced, 0);
    assert_eq!(o.timings.n_decode, want.len());
    assert_eq!(o.timings.decode_steps, want.len());
    assert_eq!(o.masks.len(), want.len() + 1);
    assert_eq!(pos, prompt.len() + want.len());
    assert_eq!(streamed, o.output_ids);
    assert!(!log.iter().any(|l| l.starts_with("forced")), "{log:?}");

    // On: the same output, streamed and counted, with 3 + 4 tokens never sampled.
    let (b, text, streamed, pos, log) =
        run_forced(&mut g, &tok, &m, &want, &forced, &on, 256, None);
    assert_eq!(b.stop_reason, StopReason::Eog);
    assert_eq!(b.output_ids, o.output_ids);
    assert_eq!(text, json);
    assert_eq!(
        streamed, b.output_ids,
        "every forced token reaches the sink"
    );
    assert_eq!(b.n_forced, 7);
    let sampled = want.len() + 1 - 7;
    assert_eq!(b.masks.len(), sampled, "one mask per sampled token");
    // The start's run went with the prompt's prefill; the second with the token before it:
    // one forward pass per sampled token fed back (the EOG is not fed).
    assert_eq!(b.timings.n_prefill, o.timings.n_prefill);
    assert_eq!(b.timings.decode_steps, sampled - 1);
    assert_eq!(b.timings.n_decode, want.len() - 3);
    assert_eq!(
        pos,
        prompt.len() + want.len(),
        "every output token is in the KV cache"
    );
    assert_eq!(g.cached().len(), pos);
    // Every forced token was accepted in order, and the next mask started after them.
    let accepted: Vec<&String> = log.iter().filter(|l| l.starts_with("accept")).collect();
    assert_eq!(accepted.len(), want.len());
    let i = log
        .iter()
        .position(|l| l == "forced 4")
        .expect("the second run");
    assert_eq!(log[i + 1], format!("accept {}", want[5]));
    assert_eq!(log[i + 4], format!("accept {}", want[8]));
    assert_eq!(log[i + 5], "start");
    assert_eq!(
        log[..3],
        ["reset", "forced 3", &format!("accept {}", want[0])]
    );

    // Stopped inside a run, by the token limit or the sink: the same output and stop as
    // token by token, and the tokens before the stop are in the KV cache.
    for (max, brk) in [(6, None), (2, None), (100, Some(7)), (100, Some(2))] {
        let off = Request {
            max_tokens: Some(max),
            ..off.clone()
        };
        let on = Request {
            batch_forced: true,
            ..off.clone()
        };
        let a = run_forced(&mut g, &tok, &m, &want, &forced, &off, 256, brk);
        let b = run_forced(&mut g, &tok, &m, &want, &forced, &on, 256, brk);
        assert_eq!(a.0.output_ids, b.0.output_ids, "max {max} break {brk:?}");
        assert_eq!(a.0.stop_reason, b.0.stop_reason, "max {max} break {brk:?}");
        assert_eq!(a.1, b.1);
        assert_eq!(a.2, b.2);
        assert_eq!(a.3, b.3, "max {max} break {brk:?}: KV cache");
    }

    // A run that does not fit in the context is sampled instead.
    let n_ctx = prompt.len() + 2;
    let a = run_forced(&mut g, &tok, &m, &want, &forced, &off, n_ctx, None);
    let b = run_forced(&mut g, &tok, &m, &want, &forced, &on, n_ctx, None);
    assert_eq!(b.0.stop_reason, StopReason::ContextFull);
    assert_eq!(a.0.output_ids, b.0.output_ids);
    assert_eq!(b.0.n_forced, 0);
}

//! The generator's constraint hooks, with scripted constraints (no grammar engine) on the
//! tiny random-weight models: every sampled token comes from the mask, end-of-generation
//! only where the constraint is complete, the next mask is started before the forward pass
//! (and the first before the prefill), an empty mask is a stop reason, a constraint error is
//! an error, thinking is free and the answer constrained, and a pinned empty thinking block
//! is prefilled.

use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};

use bague::chat::{Message, ReasoningConfig};
use bague::constraint::{Constraint, ConstraintError, MaskStep, TokenMask};
use bague::generate::{Error, Generator, NoClock, Outcome, Piece, Request, StopReason};
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
}

fn session<'m, 'a>(m: &'m Model<'a>) -> Session<'m, 'a> {
    Session::new(
        m,
        SessionOptions {
            n_ctx: 256,
            n_threads: 1,
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

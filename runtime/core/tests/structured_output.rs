//! Structured output on llguidance (feature `grammar`): outputs valid against their JSON
//! schema (checked by the `jsonschema` crate), greedy and sampled, on the tiny random-weight
//! models (the mask does all the work there) and a representative subset on SmolLM2 and
//! Qwen2.5-Coder; the full set of `testdata/structured` (6 schemas × 40 prompts = 240,
//! × both models × greedy and sampled = 960 outputs) is `full_validity_set`, ignored in CI:
//!
//! ```sh
//! cargo test --release -p bague --features grammar --test structured_output -- --ignored --nocapture
//! ```
//!
//! `BAGUE_STRUCTURED_SET=WORD[,WORD…]` runs only the parts (model × schema × mode) whose
//! line, `MODEL SCHEMA greedy|sampled`, contains every word (`qwen,sentiment,sampled`).
//!
//! Also: bad schemas and grammars are clear errors (position and reason), GBNF is refused,
//! masks in the background give the same tokens as masks computed inline and at any thread
//! count, and the token trie's special-token convention.

mod structured_util;

use bague::bundle::{Bundle, BundleOptions};
use bague::constraint::grammar::{GrammarErrorKind, GrammarSpec, MaskMode, Vocab};
use bague::constraint::{Constraint, TokenMask};
use bague::sampler::SamplerConfig;
use bague::tokenizer::EncodeOptions;
use structured_util::*;

/// Runs `prompts` of every schema on one model, greedy and sampled; panics with every
/// invalid output. Returns (valid, total).
fn validate_model(b: &Bundle<'_>, per_schema: usize, sampled_too: bool) -> (usize, usize) {
    let vocab = Vocab::new(&b.tokenizer).unwrap();
    let mut bad = Vec::new();
    let mut total = 0;
    for (name, schema) in schemas() {
        let g = compile(&vocab, &schema);
        for (i, p) in prompts(&name).iter().take(per_schema).enumerate() {
            let mut modes = vec![SamplerConfig::greedy()];
            if sampled_too {
                modes.push(sampled(1000 + i as u64));
            }
            for cfg in modes {
                let r = generate(b, &g, p, cfg, 300, true);
                total += 1;
                if let Some(why) = check(&schema, &r) {
                    bad.push(format!("{name} #{i} temp {}: {why}", cfg.temp));
                }
            }
        }
    }
    assert!(
        bad.is_empty(),
        "{} of {total} invalid:\n{}",
        bad.len(),
        bad.join("\n")
    );
    (total - bad.len(), total)
}

#[test]
fn tiny_models_always_valid() {
    for id in ["smol-tiny-random-q4_0", "r1-tiny-random-q4_0"] {
        let bytes = tiny(id);
        let b = Bundle::load(&bytes, BundleOptions::default()).unwrap();
        let (ok, n) = validate_model(&b, 2, true);
        eprintln!("{id}: {ok}/{n} valid");
    }
}

#[test]
fn smollm2_subset_valid() {
    let Some(m) = real("smollm2-135m-instruct-q4_1") else {
        return;
    };
    let b = Bundle::load(m.bytes(), BundleOptions::default()).unwrap();
    let (ok, n) = validate_model(&b, 1, true);
    eprintln!("smollm2: {ok}/{n} valid");
}

#[test]
fn qwen_subset_valid() {
    let Some(m) = real("qwen2.5-coder-0.5b-instruct-q4_k_m") else {
        return;
    };
    let b = Bundle::load(m.bytes(), BundleOptions::default()).unwrap();
    let vocab = Vocab::new(&b.tokenizer).unwrap();
    assert_eq!(vocab.n_vocab(), 151_936);
    let all = schemas();
    let mut n = 0;
    for (k, (name, schema)) in all.iter().enumerate().filter(|(k, _)| k % 2 == 0) {
        let g = compile(&vocab, schema);
        let p = &prompts(name)[k];
        let cfg = if k % 4 == 0 {
            SamplerConfig::greedy()
        } else {
            sampled(k as u64)
        };
        let r = generate(&b, &g, p, cfg, 300, true);
        assert_eq!(check(schema, &r), None, "{name}");
        n += 1;
    }
    eprintln!("qwen: {n}/{n} valid");
}

/// The whole test set: every prompt of every schema, SmolLM2 and Qwen2.5-Coder, greedy
/// and sampled. Prints the counts per model, schema and mode.
#[test]
#[ignore = "the full validity set (~1 h on 2 cores); see the module docs"]
fn full_validity_set() {
    let mut grand = (0, 0);
    for id in [
        "smollm2-135m-instruct-q4_1",
        "qwen2.5-coder-0.5b-instruct-q4_k_m",
    ] {
        let m = real(id).expect("the full set needs both models");
        let b = Bundle::load(m.bytes(), BundleOptions::default()).unwrap();
        let vocab = Vocab::new(&b.tokenizer).unwrap();
        for (name, schema) in schemas() {
            let g = compile(&vocab, &schema);
            for greedy in [true, false] {
                let mode = if greedy { "greedy" } else { "sampled" };
                if !selected(&format!("{id} {name} {mode}")) {
                    continue;
                }
                let (mut ok, mut n, mut tokens) = (0, 0, 0);
                for (i, p) in prompts(&name).iter().enumerate() {
                    let cfg = if greedy {
                        SamplerConfig::greedy()
                    } else {
                        sampled(7 + i as u64)
                    };
                    let r = generate(&b, &g, p, cfg, 300, true);
                    n += 1;
                    tokens += r.outcome.output_ids.len();
                    match check(&schema, &r) {
                        None => ok += 1,
                        Some(why) => eprintln!("INVALID {id} {name} #{i}: {why}"),
                    }
                }
                eprintln!(
                    "{id} {name:<12} {mode:<7}: {ok}/{n} valid, {:.1} tokens per output",
                    tokens as f64 / n as f64
                );
                grand.0 += ok;
                grand.1 += n;
            }
        }
    }
    eprintln!("total: {}/{} valid", grand.0, grand.1);
    assert_eq!(grand.0, grand.1);
}

/// Whether `BAGUE_STRUCTURED_SET` (comma-separated words; unset or empty: everything)
/// selects the part named `line`: it contains every word.
fn selected(line: &str) -> bool {
    let set = std::env::var("BAGUE_STRUCTURED_SET").unwrap_or_default();
    set.split(',')
        .map(str::trim)
        .filter(|w| !w.is_empty())
        .all(|w| line.contains(w))
}

#[test]
fn background_inline_and_threads_give_the_same_tokens() {
    let bytes = tiny("r1-tiny-random-q4_0");
    let b = Bundle::load(&bytes, BundleOptions::default()).unwrap();
    let vocab = Vocab::new(&b.tokenizer).unwrap();
    let (name, schema) = schemas().into_iter().nth(2).unwrap();
    let g = compile(&vocab, &schema);
    let p = &prompts(&name)[0];
    let a = generate(&b, &g, p, sampled(9), 300, true);
    assert_eq!(check(&schema, &a), None);
    assert!(a.outcome.masks.iter().all(|m| m.background));
    // Inline: the same ids, masks computed in take_mask.
    let mut gtr = bague::generate::Generator::new(&b.tokenizer, sampled(9)).unwrap();
    gtr.set_constraint(Some(Box::new(g.constraint_with(MaskMode::Inline))))
        .unwrap();
    let inline = run_with(&b, &mut gtr, p, 1);
    assert_eq!(inline.output_ids, a.outcome.output_ids);
    assert!(inline.masks.iter().all(|m| !m.background));
    let two = run_with(&b, &mut gtr, p, 2);
    assert_eq!(two.output_ids, a.outcome.output_ids);
    // The grammar accepts the whole output, end-of-generation included.
    assert!(g.accepts(&a.outcome.output_ids));
    let cut = &a.outcome.output_ids[..a.outcome.output_ids.len() / 2];
    assert!(!g.accepts(cut), "half an object is not complete");
}

fn run_with(
    b: &Bundle<'_>,
    gtr: &mut bague::generate::Generator<'_, '_>,
    user: &str,
    threads: usize,
) -> bague::generate::Outcome {
    let mut s = bague::session::Session::new(
        &b.model,
        bague::session::SessionOptions {
            n_ctx: 1024,
            n_threads: threads,
            ..Default::default()
        },
    )
    .unwrap();
    let msgs = [
        bague::chat::Message::system("You are an assistant that answers with JSON only."),
        bague::chat::Message::user(user),
    ];
    let chat = b.chat_prompt(&msgs, true, 1024).unwrap();
    let (text, prompt) = (chat.text, chat.ids);
    let req = bague::generate::Request {
        max_tokens: Some(300),
        reasoning: b.reasoning(&text, None),
        pin_empty_thinking: true,
        ..bague::generate::Request::new(&prompt)
    };
    gtr.forget();
    gtr.reset();
    gtr.generate(
        &mut s,
        &req,
        &std::sync::atomic::AtomicBool::new(false),
        &bague::generate::NoClock,
        &mut |_: bague::generate::Piece<'_>| {},
    )
    .unwrap()
}

#[test]
fn bad_schemas_and_grammars_are_clear_errors() {
    let bytes = tiny("smol-tiny-random-q4_0");
    let b = Bundle::load(&bytes, BundleOptions::default()).unwrap();
    let vocab = Vocab::new(&b.tokenizer).unwrap();
    let err = |spec: GrammarSpec| {
        let e = vocab.compile(&spec).unwrap_err();
        eprintln!("{e}");
        e
    };

    let e = err(GrammarSpec::JsonSchema(
        "{\"type\": \"object\",\n \"properties\": }".into(),
    ));
    assert_eq!(e.kind(), GrammarErrorKind::Json);
    assert!(e.to_string().contains("line 2, column 16"), "{e}");

    let e = err(GrammarSpec::JsonSchema(r#"{"type": "strnig"}"#.into()));
    assert_eq!(e.kind(), GrammarErrorKind::Schema);
    assert!(e.to_string().contains("strnig"), "{e}");

    let e = err(GrammarSpec::JsonSchema(r#"[1, 2]"#.into()));
    assert_eq!(e.kind(), GrammarErrorKind::Schema);

    let e = err(GrammarSpec::JsonSchema(
        r#"{"type": "integer", "minimum": 5, "maximum": 1}"#.into(),
    ));
    assert_eq!(e.kind(), GrammarErrorKind::Schema);

    let e = err(GrammarSpec::Regex("[a-z]+(".into()));
    assert_eq!(e.kind(), GrammarErrorKind::Regex);
    assert!(e.to_string().contains("offset 6"), "{e}");

    let e = err(GrammarSpec::Lark(
        "start: item+\nitem: \"a\" | \n  | missing_rule\n".into(),
    ));
    assert_eq!(e.kind(), GrammarErrorKind::Lark);
    assert!(e.to_string().contains("missing_rule"), "{e}");
    assert!(e.message().starts_with("line 2, column "), "{e}");

    let e = err(GrammarSpec::Lark("start: (\"a\"\n".into()));
    assert_eq!(e.kind(), GrammarErrorKind::Lark);
    assert!(e.message().starts_with("line 1, column "), "{e}");

    let e =
        GrammarSpec::from_grammar_text("# a GBNF file\nroot ::= \"yes\" | \"no\"\n").unwrap_err();
    assert_eq!(e.kind(), GrammarErrorKind::Gbnf);
    assert!(e.to_string().contains("line 2"), "{e}");
    for e in [
        err(GrammarSpec::JsonSchema(String::new())),
        err(GrammarSpec::Lark("  \n".into())),
    ] {
        assert!(!e.to_string().is_empty());
    }
}

#[test]
fn lark_and_regex_constrain_too() {
    let bytes = tiny("smol-tiny-random-q4_0");
    let b = Bundle::load(&bytes, BundleOptions::default()).unwrap();
    let vocab = Vocab::new(&b.tokenizer).unwrap();
    let g = vocab
        .compile(&GrammarSpec::Regex(r"(yes|no), [0-9]{2}".into()))
        .unwrap();
    for seed in 0..4 {
        let r = generate(&b, &g, "Answer", sampled(seed), 40, false);
        assert!(regex_check(&r.text), "{:?}", r.text);
    }
    let lark = GrammarSpec::from_grammar_text(
        "start: cmd (\" \" cmd)*\ncmd: \"up\" | \"down\" | NUMBER\nNUMBER: /[1-9][0-9]?/\n",
    )
    .unwrap();
    let g = vocab.compile(&lark).unwrap();
    for seed in 0..4 {
        let r = generate(&b, &g, "Moves", sampled(seed), 40, false);
        assert!(!r.text.is_empty());
        assert!(
            r.text.split(' ').all(|w| w == "up"
                || w == "down"
                || (w.len() <= 2 && w.parse::<u32>().is_ok_and(|n| n >= 1))),
            "{:?} ({:?})",
            r.text,
            r.outcome.stop_reason
        );
    }
}

/// `(yes|no), [0-9]{2}` by hand.
fn regex_check(s: &str) -> bool {
    let rest = s.strip_prefix("yes, ").or_else(|| s.strip_prefix("no, "));
    rest.is_some_and(|r| r.len() == 2 && r.bytes().all(|c| c.is_ascii_digit()))
}

#[test]
fn special_tokens_are_never_text() {
    // Control tokens (<|im_end|>, <|im_start|>) cannot be produced by a grammar's text;
    // end-of-generation only at the end.
    let bytes = tiny("smol-tiny-random-q4_0");
    let b = Bundle::load(&bytes, BundleOptions::default()).unwrap();
    let tok = &b.tokenizer;
    let vocab = Vocab::new(tok).unwrap();
    let g = vocab
        .compile(&GrammarSpec::Regex(r"[<|a-z_>]{1,30}".into()))
        .unwrap();
    let mut c = g.constraint();
    let mut mask = TokenMask::new(tok.n_vocab()).unwrap();
    c.reset().unwrap();
    let step = c.take_mask(&mut mask).unwrap();
    assert!(!step.complete);
    let im_start = tok.token_id("<|im_start|>").unwrap();
    assert!(!mask.allows(im_start));
    for &e in tok.eog_ids() {
        assert!(!mask.allows(e));
    }
    let lt = tok.token_id("<").unwrap();
    assert!(mask.allows(lt));
    c.accept(lt).unwrap();
    let step = c.take_mask(&mut mask).unwrap();
    assert!(step.complete);
    // A token the mask does not allow is refused.
    let mut c = g.constraint_with(MaskMode::Inline);
    c.reset().unwrap();
    c.take_mask(&mut mask).unwrap();
    let digit = tok.token_id("7").unwrap();
    assert!(!mask.allows(digit));
    assert!(c.accept(digit).is_err());
    assert!(c.last_error().is_some());
}

/// A scripted chooser in place of a model, that loops on digits as a sampled small model
/// can: among the allowed tokens it takes a digit token if there is one, else `.`, else it
/// stops where the output is complete, else the first non-whitespace token. Returns the
/// text, whether it completed within `limit` tokens, and whether any mask went uncapped.
fn digit_loop(
    tok: &bague::tokenizer::Tokenizer<'_>,
    g: &bague::constraint::grammar::Grammar,
    mode: MaskMode,
    limit: usize,
) -> (String, bool, bool) {
    let text_of = |id: u32| {
        let mut b = Vec::new();
        let _ = tok.piece_into(id, false, &mut b);
        String::from_utf8_lossy(&b).into_owned()
    };
    let is_digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
    let mut c = g.constraint_with(mode);
    c.reset().unwrap();
    let mut mask = TokenMask::new(tok.n_vocab()).unwrap();
    let (mut out, mut uncapped) = (String::new(), false);
    for _ in 0..limit {
        c.start_mask();
        let step = c.take_mask(&mut mask).unwrap();
        uncapped |= step.digits_uncapped;
        let mut allowed = Vec::new();
        mask.for_each_allowed(|id| {
            if !tok.eog_ids().contains(&id) {
                allowed.push((id, text_of(id)))
            }
        });
        let pick = allowed
            .iter()
            .find(|(_, t)| is_digits(t))
            .or_else(|| allowed.iter().find(|(_, t)| t == "."));
        let pick = match pick {
            Some(p) => p,
            None if step.complete => return (out, true, uncapped),
            None => allowed
                .iter()
                .find(|(_, t)| !t.trim().is_empty())
                .unwrap_or_else(|| panic!("nothing allowed after {out:?}")),
        };
        out.push_str(&pick.1);
        c.accept(pick.0).unwrap();
    }
    (out, false, uncapped)
}

/// The longest run of ASCII digits in `s`.
fn longest_digit_run(s: &str) -> usize {
    s.split(|c: char| !c.is_ascii_digit())
        .map(str::len)
        .max()
        .unwrap_or(0)
}

#[test]
fn number_digits_stop_at_the_cap() {
    use bague::constraint::json_number::MAX_DIGITS;
    let bytes = tiny("smol-tiny-random-q4_0");
    let b = Bundle::load(&bytes, BundleOptions::default()).unwrap();
    let tok = &b.tokenizer;
    let vocab = Vocab::new(tok).unwrap();
    // The sentiment schema's number, where Qwen2.5-Coder looped on `1.0000…`.
    let schema = serde_json::json!({
        "type": "object",
        "properties": {"confidence": {"type": "number", "minimum": 0, "maximum": 1}},
        "required": ["confidence"],
        "additionalProperties": false
    });
    let g = compile(&vocab, &schema);
    assert!(g.digit_cap());
    let validator = jsonschema::validator_for(&schema).unwrap();
    for mode in [MaskMode::Background, MaskMode::Inline] {
        let (text, done, uncapped) = digit_loop(tok, &g, mode, 200);
        assert!(done, "{mode:?}: no end within 200 tokens: {text:?}");
        assert!(!uncapped);
        let v: serde_json::Value =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text:?}"));
        assert!(validator.is_valid(&v), "{text}");
        assert_eq!(longest_digit_run(&text), MAX_DIGITS as usize, "{text}");
    }
    // The same choices without the cap never end: the cap is what stops them.
    let raw = g.clone().with_digit_cap(false);
    assert!(!raw.digit_cap());
    let (text, done, _) = digit_loop(tok, &raw, MaskMode::Inline, 200);
    assert!(!done && longest_digit_run(&text) > 100, "{text:?}");
    // Regexes and grammars are not JSON: no cap.
    let rx = vocab
        .compile(&GrammarSpec::Regex("[0-9]{20}".into()))
        .unwrap();
    assert!(!rx.digit_cap() && !rx.with_digit_cap(true).digit_cap());
    let (text, done, _) = digit_loop(
        tok,
        &vocab
            .compile(&GrammarSpec::Regex("[0-9]{20}".into()))
            .unwrap(),
        MaskMode::Inline,
        100,
    );
    assert!(done && text.len() == 20, "{text:?}");
}

#[test]
fn schemas_that_need_more_digits_keep_the_engine_mask() {
    // 10^16 has 17 integral digits: at 16 the cap would leave nothing, so llguidance's mask
    // is used as it is (and the step says so); past that, the cap holds again and the
    // number ends at its first complete length.
    let bytes = tiny("smol-tiny-random-q4_0");
    let b = Bundle::load(&bytes, BundleOptions::default()).unwrap();
    let vocab = Vocab::new(&b.tokenizer).unwrap();
    let schema = serde_json::json!({"type": "integer", "minimum": 10_000_000_000_000_000u64});
    let g = compile(&vocab, &schema);
    let (text, done, uncapped) = digit_loop(&b.tokenizer, &g, MaskMode::Background, 100);
    assert!(done && uncapped, "{text:?}");
    assert_eq!(text.len(), 17, "{text:?}");
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert!(jsonschema::validator_for(&schema).unwrap().is_valid(&v));
}

#[test]
fn forced_tokens_are_the_grammars_fixed_text() {
    let bytes = tiny("smol-tiny-random-q4_0");
    let b = Bundle::load(&bytes, BundleOptions::default()).unwrap();
    let tok = &b.tokenizer;
    let vocab = Vocab::new(tok).unwrap();
    let plain = EncodeOptions {
        add_special: false,
        parse_special: false,
    };
    let mut mask = TokenMask::new(tok.n_vocab()).unwrap();
    let mut f = Vec::new();
    for mode in [MaskMode::Background, MaskMode::Inline] {
        // One possible output: all of it is forced, tokenized canonically (nothing can
        // follow it, so no final token is left to the model), and accepted as it is.
        let g = vocab
            .compile(&GrammarSpec::Regex("hello world, 42".into()))
            .unwrap();
        let mut c = g.constraint_with(mode);
        c.reset().unwrap();
        c.forced_tokens(tok, &mut f).unwrap();
        assert_eq!(f, tok.encode("hello world, 42", plain).unwrap(), "{mode:?}");
        for &id in &f {
            c.accept(id).unwrap();
        }
        assert!(c.take_mask(&mut mask).unwrap().complete);
        c.forced_tokens(tok, &mut f).unwrap();
        assert!(f.is_empty(), "{mode:?}: {f:?}");

        // A choice first: nothing forced until the model makes it, then the rest.
        let g = vocab
            .compile(&GrammarSpec::Regex("(yes|no) thanks".into()))
            .unwrap();
        let mut c = g.constraint_with(mode);
        c.reset().unwrap();
        c.forced_tokens(tok, &mut f).unwrap();
        assert!(f.is_empty(), "{mode:?}: {f:?}");
        for id in tok.encode("no", plain).unwrap() {
            c.take_mask(&mut mask).unwrap();
            assert!(mask.allows(id));
            c.accept(id).unwrap();
        }
        c.forced_tokens(tok, &mut f).unwrap();
        assert_eq!(f, tok.encode(" thanks", plain).unwrap(), "{mode:?}");

        // Text before a free value: forced up to where a token could also spell the start
        // of the value (`":"` may be one token with the string's first letters, or `"a`
        // may follow): a prefix of `{"name":"`, at least `{"name`.
        let schema = r#"{"type":"object","properties":{"name":{"type":"string"}},
            "required":["name"],"additionalProperties":false,
            "x-guidance":{"whitespace_flexible":false}}"#;
        let g = vocab
            .compile(&GrammarSpec::JsonSchema(schema.into()))
            .unwrap();
        let mut c = g.constraint_with(mode);
        c.reset().unwrap();
        c.forced_tokens(tok, &mut f).unwrap();
        let text = String::from_utf8(tok.decode(&f).unwrap()).unwrap();
        assert!(
            r#"{"name":""#.starts_with(&text) && text.len() >= r#"{"name"#.len(),
            "{mode:?}: {text:?}"
        );
        for &id in &f {
            c.accept(id).unwrap();
        }
        // The model's choice goes on from there.
        c.take_mask(&mut mask).unwrap();
        assert!(mask.count() > 1, "{mode:?}");
    }
}

//! Chat templates against llama.cpp: for every case of the five reference chat.json files,
//! our rendering of (messages, add_generation_prompt) with the file's own template equals
//! llama.cpp's `formatted_text` byte for byte, through jinja and through the built-ins.

mod chat_data;

use bague::chat::{Builtin, ChatTemplate};

/// Jinja path (the model's template rendered by minijinja), BOS rule included.
#[cfg(feature = "std")]
#[test]
fn jinja_matches_llama_cpp_formatted_text() {
    let mut n = 0;
    for m in chat_data::all() {
        let t = ChatTemplate::new(&m.template, m.tokens.clone()).unwrap();
        assert!(t.builtin().is_none(), "std build renders with jinja");
        for (i, c) in m.cases.iter().enumerate() {
            let got = t.apply(&c.messages, c.add_generation_prompt).unwrap();
            assert_eq!(got, c.formatted_text, "{} case {i}", m.model);
            n += 1;
        }
    }
    assert_eq!(n, 15);
}

/// The R1 template writes `{{bos_token}}`; the vocab adds BOS; the prompt has it once.
#[cfg(feature = "std")]
#[test]
fn r1_bos_emitted_exactly_once() {
    for (model, vocab) in [
        ("r1-distill-qwen-7b-head", "r1-distill-qwen-7b-head"),
        ("r1-tiny-random-q4_0", "r1-distill-qwen-7b-head"),
    ] {
        let m = chat_data::load(model, vocab);
        assert!(m.tokens.add_bos);
        let t = ChatTemplate::new(&m.template, m.tokens.clone()).unwrap();
        for c in &m.cases {
            let raw = t.render_raw(&c.messages, c.add_generation_prompt).unwrap();
            assert!(raw.starts_with(&m.tokens.bos), "template writes BOS");
            let prompt = t.apply(&c.messages, c.add_generation_prompt).unwrap();
            assert!(
                !prompt.starts_with(&m.tokens.bos),
                "stripped: tokenizer adds it"
            );
            // llama.cpp's ids start with exactly one BOS.
            assert_eq!(c.first_id, Some(m.bos_id));
        }
    }
}

#[test]
fn builtins_detected_and_match_llama_cpp_formatted_text() {
    let mut n = 0;
    for m in chat_data::all() {
        let b = Builtin::detect(&m.template).unwrap_or_else(|| panic!("{}: no built-in", m.model));
        let expect = if m.model.starts_with("r1") {
            Builtin::r1()
        } else if m.model.starts_with("qwen") {
            Builtin::qwen()
        } else {
            Builtin::smollm()
        };
        assert_eq!(b, expect, "{}", m.model);
        let t = ChatTemplate::new_builtin(&m.template, m.tokens.clone()).unwrap();
        for (i, c) in m.cases.iter().enumerate() {
            let got = t.apply(&c.messages, c.add_generation_prompt).unwrap();
            assert_eq!(got, c.formatted_text, "{} case {i}", m.model);
            n += 1;
        }
    }
    assert_eq!(n, 15);
}

#[test]
fn unknown_template_has_no_builtin() {
    assert_eq!(Builtin::detect("{{ messages[0].content }}"), None);
    assert_eq!(
        Builtin::detect("[INST] {{ m }} [/INST]"),
        None,
        "llama-2 style is not built in"
    );
}

//! Built-in renderers against the jinja rendering of the same template, on conversations
//! beyond the reference cases: empty, system in the middle, several systems, tool outputs,
//! several `</think>`, braces and newlines in content, with and without generation prompt.
//! Also the newer R1 template (generation prompt `<｜Assistant｜><think>\n`).
#![cfg(feature = "std")]

mod chat_data;

use bague::chat::reasoning::prompt_opens_thinking;
use bague::chat::{Builtin, ChatTemplate, Message};

fn conversations() -> Vec<Vec<Message>> {
    vec![
        vec![],
        vec![Message::user("Hi")],
        vec![Message::system("Be brief."), Message::user("Hi")],
        vec![
            Message::user("What is 2+2?"),
            Message::assistant("<think>\nadd\n</think>\n\n4"),
            Message::user("And 3+3?"),
        ],
        vec![
            Message::system("S"),
            Message::user("a"),
            Message::assistant("b"),
            Message::user("c"),
            Message::assistant("<think>x</think>y</think>z"),
        ],
        vec![
            Message::user("u1"),
            Message::system("mid system"),
            Message::user("u2"),
        ],
        vec![
            Message::system("first"),
            Message::user("u"),
            Message::system("second"),
            Message::user("v"),
        ],
        vec![
            Message::user("weather?"),
            Message::tool("{\"t\": 21}"),
            Message::tool("{\"t\": 22}"),
            Message::assistant("21 or 22"),
            Message::user("thanks"),
        ],
        vec![Message::tool("out"), Message::user("next")],
        vec![
            Message::user("  {{ not a tag }} {% raw %}\n\ttabs\n"),
            Message::assistant("<think>unclosed"),
            Message::user("café 😀 中文 <|im_end|>"),
        ],
    ]
}

/// (name, template source, tokens) for R1 original, R1 newer, Qwen2.5, SmolLM2.
fn templates() -> Vec<(String, String, bague::chat::SpecialTokens)> {
    let r1 = chat_data::load("r1-distill-qwen-7b-head", "r1-distill-qwen-7b-head");
    let old_gen = "{{'<｜Assistant｜>'}}{% endif %}";
    assert!(r1.template.ends_with(old_gen));
    // The newer R1 template differs only in its generation prompt.
    let newer = r1
        .template
        .replace(old_gen, "{{'<｜Assistant｜><think>\\n'}}{% endif %}");
    let qwen = chat_data::load(
        "qwen2.5-coder-0.5b-instruct-q4_k_m",
        "qwen2.5-coder-0.5b-instruct-q4_k_m",
    );
    let smol = chat_data::load("smollm2-135m-instruct-q4_1", "smollm2-135m-instruct-q4_1");
    vec![
        ("r1".into(), r1.template.clone(), r1.tokens.clone()),
        ("r1-newer".into(), newer, r1.tokens.clone()),
        ("qwen".into(), qwen.template, qwen.tokens),
        ("smollm".into(), smol.template, smol.tokens),
    ]
}

#[test]
fn builtins_equal_jinja_on_more_conversations() {
    let mut compared = 0;
    let mut jinja_errors = Vec::new();
    for (name, src, tokens) in templates() {
        let jinja = ChatTemplate::new(&src, tokens.clone()).unwrap();
        let builtin = ChatTemplate::new_builtin(&src, tokens.clone()).unwrap();
        for (i, conv) in conversations().iter().enumerate() {
            for add_gen in [true, false] {
                let want = match jinja.apply(conv, add_gen) {
                    Ok(s) => s,
                    Err(e) => {
                        jinja_errors.push(format!("{name} conv {i}: {e}"));
                        continue;
                    }
                };
                let got = builtin.apply(conv, add_gen).unwrap();
                assert_eq!(got, want, "{name} conversation {i} add_gen {add_gen}");
                compared += 1;
            }
        }
    }
    // Qwen's template reads messages[0] and fails on an empty conversation (in HF too).
    assert!(jinja_errors.len() <= 2, "{jinja_errors:?}");
    assert!(compared >= 78, "compared {compared}");
}

#[test]
fn newer_r1_template_opens_thinking() {
    let t = templates();
    let (_, newer, tokens) = &t[1];
    assert_eq!(
        Builtin::detect(newer),
        Some(Builtin::R1 {
            think_in_prompt: true
        })
    );
    let prompt = ChatTemplate::new(newer, tokens.clone())
        .unwrap()
        .apply(&[Message::user("Bonjour")], true)
        .unwrap();
    assert_eq!(prompt, "<｜User｜>Bonjour<｜Assistant｜><think>\n");
    assert!(prompt_opens_thinking(&prompt));
    let (_, original, tokens) = &t[0];
    let prompt = ChatTemplate::new(original, tokens.clone())
        .unwrap()
        .apply(&[Message::user("Bonjour")], true)
        .unwrap();
    assert!(!prompt_opens_thinking(&prompt));
}

//! Loads the llama.cpp chat references (`testdata/reference/*/chat.json`) for the chat tests.

#![allow(dead_code)]

use bague::chat::{Message, Role, SpecialTokens};
use bague_testkit::reference;
use serde_json::Value;

/// The five models whose chat.json the tests check, and the folder whose tokenize.json
/// has the same vocabulary (for the BOS / EOS texts, which chat.json gives only as ids).
pub const MODELS: [(&str, &str); 5] = [
    ("r1-distill-qwen-7b-head", "r1-distill-qwen-7b-head"),
    (
        "qwen2.5-coder-0.5b-instruct-q4_k_m",
        "qwen2.5-coder-0.5b-instruct-q4_k_m",
    ),
    ("smollm2-135m-instruct-q4_1", "smollm2-135m-instruct-q4_1"),
    ("r1-tiny-random-q4_0", "r1-distill-qwen-7b-head"),
    ("smol-tiny-random-q4_0", "smollm2-135m-instruct-q4_1"),
];

pub struct Case {
    pub messages: Vec<Message>,
    pub add_generation_prompt: bool,
    pub formatted_text: String,
    pub first_id: Option<u64>,
}

pub struct ModelChat {
    pub model: &'static str,
    pub template: String,
    pub tokens: SpecialTokens,
    pub bos_id: u64,
    pub cases: Vec<Case>,
}

/// The piece of token `id` as llama.cpp printed it in some tokenize.json case.
fn piece_of(tokenize: &Value, id: u64) -> String {
    for case in tokenize["cases"].as_array().unwrap() {
        let ids = case["ids"].as_array().unwrap();
        let pieces = case["pieces"].as_array().unwrap();
        for (i, p) in ids.iter().zip(pieces) {
            if i.as_u64() == Some(id) {
                return p.as_str().expect("special token piece is text").to_string();
            }
        }
    }
    panic!("token {id} not found in tokenize.json");
}

pub fn message(v: &Value) -> Message {
    let role = Role::parse(v["role"].as_str().unwrap()).expect("known role");
    Message::new(role, v["content"].as_str().unwrap())
}

pub fn load(model: &'static str, vocab_from: &str) -> ModelChat {
    let chat = reference(model, "chat.json");
    let tok = reference(vocab_from, "tokenize.json");
    let v = &chat["vocab"];
    let (bos_id, eos_id) = (v["bos"].as_u64().unwrap(), v["eos"].as_u64().unwrap());
    let tokens = SpecialTokens {
        bos: piece_of(&tok, bos_id),
        eos: piece_of(&tok, eos_id),
        add_bos: v["add_bos"].as_bool().unwrap(),
        add_eos: v["add_eos"].as_bool().unwrap(),
    };
    let cases = chat["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| Case {
            messages: c["messages"]
                .as_array()
                .unwrap()
                .iter()
                .map(message)
                .collect(),
            add_generation_prompt: c["add_generation_prompt"].as_bool().unwrap(),
            formatted_text: c["formatted_text"].as_str().unwrap().to_string(),
            first_id: c["ids"]
                .as_array()
                .and_then(|a| a.first())
                .and_then(Value::as_u64),
        })
        .collect();
    ModelChat {
        model,
        template: chat["chat_template"].as_str().unwrap().to_string(),
        tokens,
        bos_id,
        cases,
    }
}

pub fn all() -> Vec<ModelChat> {
    MODELS.iter().map(|(m, v)| load(m, v)).collect()
}

//! The car-intents evaluation set (this folder): the schema, the system message, the
//! utterances with their expected intents and slots, and how an answer is scored. Shared by
//! the evaluation program (`eval.rs`) and the car board's tests.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

/// This folder.
pub fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/car-intents")
}

/// One utterance of `utterances.jsonl`.
#[derive(Clone, Debug)]
pub struct Utterance {
    /// 1-based line number.
    pub id: u64,
    /// `en` or `fr`.
    pub lang: String,
    /// The transcript.
    pub text: String,
    /// The expected intent name.
    pub intent: String,
    /// The expected slots (only those the driver said, and required ones).
    pub slots: Map<String, Value>,
}

impl Utterance {
    /// The expected answer as the schema writes it.
    pub fn expected(&self) -> Value {
        serde_json::json!({ "intent": self.intent, "slots": self.slots })
    }
}

/// The set: schema text, system message, utterances.
pub struct Set {
    /// `intents.schema.json`.
    pub schema: String,
    /// `prompt.txt`.
    pub system: String,
    /// `utterances.jsonl`, in file order.
    pub utterances: Vec<Utterance>,
}

fn read(name: &str) -> String {
    let p = dir().join(name);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// Reads the set. Panics (with the line) on a malformed file.
pub fn load() -> Set {
    let utterances = read("utterances.jsonl")
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            let v: Value = serde_json::from_str(l)
                .unwrap_or_else(|e| panic!("utterances.jsonl:{}: {e}", i + 1));
            let s = |k: &str| {
                v[k].as_str()
                    .unwrap_or_else(|| panic!("utterances.jsonl:{}: no {k}", i + 1))
                    .to_string()
            };
            Utterance {
                id: v["id"].as_u64().unwrap_or(i as u64 + 1),
                lang: s("lang"),
                text: s("text"),
                intent: s("intent"),
                slots: v["slots"].as_object().cloned().unwrap_or_default(),
            }
        })
        .collect();
    Set {
        schema: read("intents.schema.json"),
        system: read("prompt.txt").trim_end().to_string(),
        utterances,
    }
}

/// How one answer scored against its utterance.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Score {
    /// The intent name is the expected one.
    pub intent: bool,
    /// Expected slots the answer has with the expected value (0 when the intent is wrong).
    pub slots_ok: usize,
    /// Expected slots.
    pub slots: usize,
    /// Intent right, every expected slot right, no other slot.
    pub exact: bool,
}

/// Scores `got` (a parsed answer) against `u`: strings equal ignoring case, surrounding
/// whitespace and final punctuation; numbers equal as numbers.
pub fn score(u: &Utterance, got: &Value) -> Score {
    let intent = got.get("intent").and_then(Value::as_str) == Some(u.intent.as_str());
    let empty = Map::new();
    let got_slots = got
        .get("slots")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    let slots_ok = if intent {
        u.slots
            .iter()
            .filter(|(k, want)| got_slots.get(*k).is_some_and(|v| same(want, v)))
            .count()
    } else {
        0
    };
    Score {
        intent,
        slots_ok,
        slots: u.slots.len(),
        exact: intent && slots_ok == u.slots.len() && got_slots.len() == u.slots.len(),
    }
}

fn same(want: &Value, got: &Value) -> bool {
    match (want, got) {
        (Value::Number(a), Value::Number(b)) => match (a.as_f64(), b.as_f64()) {
            (Some(a), Some(b)) => (a - b).abs() < 1e-9,
            _ => false,
        },
        (Value::String(a), Value::String(b)) => norm(a) == norm(b),
        _ => want == got,
    }
}

fn norm(s: &str) -> String {
    s.trim()
        .trim_end_matches(['.', '!', '?', ',', ';'])
        .trim()
        .to_lowercase()
}

/// The `q`-quantile (0..=1) of `xs` by nearest rank; 0 when empty.
pub fn quantile(xs: &[f64], q: f64) -> f64 {
    if xs.is_empty() {
        return 0.0;
    }
    let mut v = xs.to_vec();
    v.sort_by(f64::total_cmp);
    let rank = (q * v.len() as f64).ceil().max(1.0) as usize;
    v[rank.min(v.len()) - 1]
}

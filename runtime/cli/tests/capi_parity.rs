//! One generation loop for every host: the C ABI and the CLI give the same tokens for the
//! same seed over three chat turns with sampling, a repetition penalty and a think budget
//! (`bague chat --json` against `bague_chat_prompt` + `bague_generate`, as a C program
//! would call them). Both tiny models: R1's tags with the newer R1 template (the generation
//! prompt opens `<think>`, so every turn's thinking is closed by the budget), and SmolLM2's
//! ChatML without tags.

#[path = "../../capi/tests/common/mod.rs"]
mod capi;

use assert_cmd::Command;
use bague_capi::*;
use capi::*;
use std::path::Path;
use std::ptr;

const TURNS: [&str; 3] = [
    "hello there",
    "why is the sky blue?",
    "tell me more about it",
];
const SEED: u64 = 1234;
const TEMP: f32 = 1.2;
const PENALTY: f32 = 1.3;
const MAX_TOKENS: u32 = 20;
const BUDGET: i32 = 3;

/// Each turn's (ids, answer text, stop reason) through `bague chat --json`; every turn
/// closed its thinking by the budget when `forced` (and never otherwise).
fn via_cli(path: &Path, forced: bool) -> Vec<(Vec<u32>, String, String)> {
    let input: String = TURNS.iter().map(|t| format!("{t}\n")).collect();
    let out = Command::cargo_bin("bague")
        .unwrap()
        .args(["chat", "-m", path.to_str().unwrap(), "--json"])
        .args(["--seed", &SEED.to_string(), "--temp", &TEMP.to_string()])
        .args(["--repeat-penalty", &PENALTY.to_string()])
        .args([
            "-n",
            &MAX_TOKENS.to_string(),
            "--think-budget",
            &BUDGET.to_string(),
        ])
        .args(["--ctx", "512", "-t", "1"])
        .write_stdin(input)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    String::from_utf8(out)
        .unwrap()
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            let text = v["text"].as_str().unwrap().to_string();
            let stop = v["stop_reason"].as_str().unwrap().to_string();
            assert_eq!(v["thinking_forced_end"].as_bool(), Some(forced), "{l}");
            (ids(&v["output_ids"]), text, stop)
        })
        .collect()
}

/// The same conversation through the C ABI.
fn via_capi(path: &Path) -> Vec<(Vec<u32>, String, String)> {
    let m = Model::open_path(path);
    let opts = bague_session_options {
        n_ctx: 512,
        n_threads: 1,
        seed: SEED,
        ..session_defaults()
    };
    let mut s = ptr::null_mut();
    // SAFETY: live model, valid options, writable out.
    let st = unsafe { bague_session_new(m.0, &opts, &mut s) };
    assert_eq!(st, BAGUE_OK, "{}", last_error());
    let s = Session(s);
    let p = bague_generate_params {
        temperature: TEMP,
        repeat_penalty: PENALTY,
        max_tokens: MAX_TOKENS,
        think_budget: BUDGET,
        ..params(m.0)
    };
    let mut history: Vec<(u32, String)> = Vec::new();
    let mut turns = Vec::new();
    for t in TURNS {
        history.push((bague_role::BAGUE_ROLE_USER as u32, t.to_string()));
        let pairs: Vec<(u32, &str)> = history.iter().map(|(r, t)| (*r, t.as_str())).collect();
        let prompt = m.chat_prompt(&pairs, true);
        let mut c = Collector::default();
        let (st, res) = run(&s, prompt.as_bytes(), p, &mut c);
        assert_eq!(st, BAGUE_OK, "{}", last_error());
        let answer = c.text(Some(BAGUE_PIECE_ANSWER));
        history.push((bague_role::BAGUE_ROLE_ASSISTANT as u32, answer.clone()));
        let stop = match res.stop_reason {
            BAGUE_STOP_EOG => "eog",
            BAGUE_STOP_MAX_TOKENS => "max_tokens",
            r => panic!("unexpected stop reason {r:?}"),
        };
        turns.push((c.ids, answer, stop.to_string()));
    }
    turns
}

fn same_tokens(path: &Path, forced: bool) {
    let cli = via_cli(path, forced);
    let abi = via_capi(path);
    assert_eq!(cli.len(), TURNS.len(), "one JSON line per turn");
    for (turn, (c, a)) in cli.iter().zip(&abi).enumerate() {
        assert!(!c.0.is_empty(), "turn {turn}: generated something");
        assert_eq!(
            c,
            a,
            "{}, turn {turn}: CLI and C ABI differ",
            path.display()
        );
    }
}

/// `bytes` (a GGUF file) with its `tokenizer.chat_template` replaced by `template`: the
/// string is rewritten in the header and the tensor data moved to the next aligned offset
/// (tensor offsets are relative to the data section, so they stay valid).
fn with_template(bytes: &[u8], template: &str) -> Vec<u8> {
    let f = bague::gguf::File::parse(bytes).unwrap();
    let old = f.get_str("tokenizer.chat_template").unwrap();
    let at = old.as_ptr() as usize - bytes.as_ptr() as usize;
    let mut out = bytes[..at - 8].to_vec();
    out.extend_from_slice(&(template.len() as u64).to_le_bytes());
    out.extend_from_slice(template.as_bytes());
    out.extend_from_slice(&bytes[at + old.len()..f.header_len() as usize]);
    out.resize(out.len().next_multiple_of(f.alignment() as usize), 0);
    out.extend_from_slice(&bytes[f.data_offset() as usize..]);
    out
}

#[test]
fn r1_chat_with_think_budget_same_tokens_through_cli_and_c_abi() {
    // The newer R1 template: the generation prompt ends inside `<think>\n`.
    let bytes = std::fs::read(model_path(R1)).unwrap();
    let old = bague::gguf::File::parse(&bytes)
        .unwrap()
        .get_str("tokenizer.chat_template")
        .unwrap()
        .to_string();
    let tail = "{{'<｜Assistant｜>'}}{% endif %}";
    assert!(
        old.ends_with(tail),
        "the tiny model has the older R1 template"
    );
    let new = format!(
        "{}{{{{'<｜Assistant｜><think>\\n'}}}}{{% endif %}}",
        &old[..old.len() - tail.len()]
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("r1-tiny-think.gguf");
    std::fs::write(&path, with_template(&bytes, &new)).unwrap();
    same_tokens(&path, true);
}

#[test]
fn chatml_chat_same_tokens_through_cli_and_c_abi() {
    same_tokens(&model_path(SMOL), false);
}

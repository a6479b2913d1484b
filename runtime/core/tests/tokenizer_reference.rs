//! Token ids, pieces and detokenized text equal llama.cpp's on every reference case
//! (`testdata/reference/*/tokenize.json` and `chat.json`), with the tokenizers of the tiny
//! test models (byte-identical to R1's and SmolLM2's) and of the real model files when present.

use bague::gguf;
use bague::tokenizer::{EncodeOptions, Tokenizer};
use bague_testkit::{bytes_of, ids, model_bytes, reference, reference_path, tiny_bytes};
use serde_json::Value;

/// Checks the `vocab` object of a reference file against the tokenizer.
fn check_vocab(tok: &Tokenizer<'_>, vocab: &Value) {
    assert_eq!(
        tok.n_vocab() as u64,
        vocab["n_vocab"].as_u64().unwrap(),
        "n_vocab"
    );
    assert_eq!(tok.bos_id().map(u64::from), vocab["bos"].as_u64(), "bos");
    assert_eq!(tok.eos_id().map(u64::from), vocab["eos"].as_u64(), "eos");
    assert_eq!(
        tok.add_bos(),
        vocab["add_bos"].as_bool().unwrap(),
        "add_bos"
    );
    assert_eq!(
        tok.add_eos(),
        vocab["add_eos"].as_bool().unwrap(),
        "add_eos"
    );
    assert_eq!(tok.eog_ids(), ids(&vocab["eog_ids"]).as_slice(), "eog_ids");
}

/// Runs every case of a tokenize.json; returns (passed, total) and prints each failure.
fn run_tokenize(tok: &Tokenizer<'_>, reference: &Value) -> (usize, usize) {
    check_vocab(tok, &reference["vocab"]);
    let cases = reference["cases"].as_array().unwrap();
    let mut passed = 0;
    for (i, case) in cases.iter().enumerate() {
        let text = case["text"].as_str().unwrap();
        let opts = EncodeOptions {
            add_special: case["add_special"].as_bool().unwrap(),
            parse_special: case["parse_special"].as_bool().unwrap(),
        };
        let want = ids(&case["ids"]);
        let got = tok.encode(text, opts).unwrap();
        let mut ok = got == want;
        if !ok {
            eprintln!("case {i} {text:?} {opts:?}\n  want {want:?}\n  got  {got:?}");
        }
        for (j, (id, piece)) in want
            .iter()
            .zip(case["pieces"].as_array().unwrap())
            .enumerate()
        {
            let p = tok.piece(*id).unwrap();
            if p != bytes_of(piece) {
                eprintln!(
                    "case {i} piece {j} of id {id}: want {piece}, got {:?}",
                    String::from_utf8_lossy(&p)
                );
                ok = false;
            }
        }
        let detok = tok.decode(&want).unwrap();
        if detok != bytes_of(&case["detok"]) {
            eprintln!(
                "case {i} detok: want {}, got {:?}",
                case["detok"],
                String::from_utf8_lossy(&detok)
            );
            ok = false;
        }
        passed += ok as usize;
    }
    (passed, cases.len())
}

/// Runs every case of a chat.json (formatted text with add_special and parse_special).
fn run_chat(tok: &Tokenizer<'_>, reference: &Value) -> (usize, usize) {
    let cases = reference["cases"].as_array().unwrap();
    let mut passed = 0;
    for (i, case) in cases.iter().enumerate() {
        let text = case["formatted_text"].as_str().unwrap();
        let want = ids(&case["ids"]);
        let got = tok.encode(text, EncodeOptions::PROMPT).unwrap();
        if got == want {
            passed += 1;
        } else {
            eprintln!("chat case {i}\n  want {want:?}\n  got  {got:?}");
        }
    }
    (passed, cases.len())
}

fn check(model: &str, what: &str, (passed, total): (usize, usize)) {
    println!("{model} {what}: {passed}/{total} cases equal llama.cpp");
    assert!(total > 0);
    assert_eq!(
        passed,
        total,
        "{model} {what}: {} cases differ (see stderr)",
        total - passed
    );
}

fn with_tokenizer(bytes: &[u8], f: impl FnOnce(&Tokenizer<'_>)) {
    let file = gguf::File::parse(bytes).unwrap();
    let tok = Tokenizer::from_gguf(&file).unwrap();
    f(&tok);
}

#[test]
fn r1_tiny_model_tokenizer() {
    let bytes = tiny_bytes("r1-tiny-random-q4_0");
    with_tokenizer(&bytes, |tok| {
        check(
            "r1 (tiny)",
            "tokenize.json",
            run_tokenize(tok, &reference("r1-distill-qwen-7b-head", "tokenize.json")),
        );
        check(
            "r1 (tiny)",
            "chat.json",
            run_chat(tok, &reference("r1-tiny-random-q4_0", "chat.json")),
        );
        check(
            "r1 (tiny)",
            "head chat.json",
            run_chat(tok, &reference("r1-distill-qwen-7b-head", "chat.json")),
        );
    });
}

#[test]
fn smollm2_tiny_model_tokenizer() {
    let bytes = tiny_bytes("smol-tiny-random-q4_0");
    with_tokenizer(&bytes, |tok| {
        check(
            "smollm2 (tiny)",
            "tokenize.json",
            run_tokenize(
                tok,
                &reference("smollm2-135m-instruct-q4_1", "tokenize.json"),
            ),
        );
        check(
            "smollm2 (tiny)",
            "chat.json",
            run_chat(tok, &reference("smol-tiny-random-q4_0", "chat.json")),
        );
        check(
            "smollm2 (tiny)",
            "real chat.json",
            run_chat(tok, &reference("smollm2-135m-instruct-q4_1", "chat.json")),
        );
    });
}

#[test]
fn r1_head_file() {
    let Some(bytes) = model_bytes("r1-distill-qwen-7b-head") else {
        return;
    };
    with_tokenizer(&bytes, |tok| {
        check(
            "r1-distill-qwen-7b-head",
            "tokenize.json",
            run_tokenize(tok, &reference("r1-distill-qwen-7b-head", "tokenize.json")),
        );
        check(
            "r1-distill-qwen-7b-head",
            "chat.json",
            run_chat(tok, &reference("r1-distill-qwen-7b-head", "chat.json")),
        );
    });
}

#[test]
fn qwen25_coder_file() {
    let id = "qwen2.5-coder-0.5b-instruct-q4_k_m";
    let Some(bytes) = model_bytes(id) else { return };
    with_tokenizer(&bytes, |tok| {
        check(
            id,
            "tokenize.json",
            run_tokenize(tok, &reference(id, "tokenize.json")),
        );
        check(id, "chat.json", run_chat(tok, &reference(id, "chat.json")));
    });
}

#[test]
fn smollm2_file() {
    let id = "smollm2-135m-instruct-q4_1";
    let Some(bytes) = model_bytes(id) else { return };
    with_tokenizer(&bytes, |tok| {
        check(
            id,
            "tokenize.json",
            run_tokenize(tok, &reference(id, "tokenize.json")),
        );
        check(id, "chat.json", run_chat(tok, &reference(id, "chat.json")));
    });
}

/// greedy.json / logits.json: prompt ids (prompt_text with add_special and parse_special),
/// and greedy output text (output_ids detokenized with every token rendered).
fn run_greedy(tok: &Tokenizer<'_>, model: &str) -> usize {
    let mut n = 0;
    for file in ["greedy.json", "logits.json"] {
        for case in reference(model, file)["cases"].as_array().unwrap() {
            let got = tok
                .encode(case["prompt_text"].as_str().unwrap(), EncodeOptions::PROMPT)
                .unwrap();
            assert_eq!(
                got,
                ids(&case["prompt_ids"]),
                "{model} {file} {}",
                case["id"]
            );
            if let Some(out) = case.get("output_ids") {
                let text = tok.decode(&ids(out)).unwrap();
                assert_eq!(
                    text,
                    bytes_of(&case["output_text"]),
                    "{model} {file} {}",
                    case["id"]
                );
            }
            n += 1;
        }
    }
    println!("{model} greedy/logits: {n}/{n} prompts (and outputs) equal llama.cpp");
    n
}

/// perplexity.json: the KJV text tokenized with add_special, without parse_special.
fn run_perplexity_count(tok: &Tokenizer<'_>, model: &str) {
    let want = reference(model, "perplexity.json")["text"]["n_tokens_add_special"]
        .as_u64()
        .unwrap();
    let text = std::fs::read_to_string(reference_path("texts", "kjv-genesis-1-11.txt")).unwrap();
    let opts = EncodeOptions {
        add_special: true,
        parse_special: false,
    };
    let n = tok.encode(&text, opts).unwrap().len() as u64;
    println!("{model} kjv-genesis-1-11.txt: {n} tokens (llama.cpp {want})");
    assert_eq!(n, want);
}

#[test]
fn tiny_models_greedy_logits_and_perplexity_text() {
    with_tokenizer(&tiny_bytes("r1-tiny-random-q4_0"), |tok| {
        run_greedy(tok, "r1-tiny-random-q4_0");
    });
    with_tokenizer(&tiny_bytes("smol-tiny-random-q4_0"), |tok| {
        run_greedy(tok, "smol-tiny-random-q4_0");
        // Same tokenizer as SmolLM2-135M-Instruct.
        run_perplexity_count(tok, "smollm2-135m-instruct-q4_1");
    });
}

#[test]
fn real_models_greedy_logits_and_perplexity_text() {
    for id in [
        "qwen2.5-coder-0.5b-instruct-q4_k_m",
        "smollm2-135m-instruct-q4_1",
    ] {
        let Some(bytes) = model_bytes(id) else {
            continue;
        };
        with_tokenizer(&bytes, |tok| {
            run_greedy(tok, id);
            run_perplexity_count(tok, id);
        });
    }
}

/// The general merge table (used when a vocabulary is not in rank order or has duplicate
/// texts) gives the same ids as the positional one on every reference text: R1's vocabulary
/// plus one duplicated unused token, which forces the general table.
#[test]
fn general_merge_table_agrees() {
    use bague::tokenizer::{SpecialIds, TokenizerMetadata};
    let bytes = tiny_bytes("r1-tiny-random-q4_0");
    let file = gguf::File::parse(&bytes).unwrap();
    let positional = Tokenizer::from_gguf(&file).unwrap();
    let mut tokens: Vec<&str> = file
        .get_str_array("tokenizer.ggml.tokens")
        .unwrap()
        .collect();
    let mut types: Vec<i32> = file
        .get_array("tokenizer.ggml.token_type")
        .unwrap()
        .iter_i32()
        .unwrap()
        .collect();
    tokens.push("[PAD151665]");
    types.push(5);
    let general = Tokenizer::from_metadata(TokenizerMetadata {
        model: "gpt2",
        pre: Some("deepseek-r1-qwen"),
        tokens,
        token_types: types,
        merges: file.get_str_array("tokenizer.ggml.merges").unwrap(),
        ids: SpecialIds {
            bos: Some(151646),
            eos: Some(151643),
            pad: Some(151654),
            ..Default::default()
        },
        add_bos: Some(true),
        add_eos: Some(false),
        add_space_prefix: None,
    })
    .unwrap();
    assert_eq!(general.n_vocab(), positional.n_vocab() + 1);
    assert_eq!(general.eog_ids(), positional.eog_ids());
    let mut n = 0;
    for model in [
        "r1-distill-qwen-7b-head",
        "qwen2.5-coder-0.5b-instruct-q4_k_m",
        "smollm2-135m-instruct-q4_1",
    ] {
        for case in reference(model, "tokenize.json")["cases"]
            .as_array()
            .unwrap()
        {
            let text = case["text"].as_str().unwrap();
            for opts in [EncodeOptions::TEXT, EncodeOptions::PROMPT] {
                let (mut a, mut b) = (Vec::new(), Vec::new());
                let sa = positional.encode_into(text, opts, &mut a).unwrap();
                let sb = general.encode_into(text, opts, &mut b).unwrap();
                assert_eq!(a, b, "{text:?}");
                assert_eq!(sa, sb, "same merges in the same order: {text:?}");
                n += 1;
            }
        }
    }
    let kjv = std::fs::read_to_string(reference_path("texts", "kjv-genesis-1-11.txt")).unwrap();
    assert_eq!(
        positional.encode(&kjv, EncodeOptions::TEXT).unwrap(),
        general.encode(&kjv, EncodeOptions::TEXT).unwrap()
    );
    println!("general vs positional merge table: {n} encodings + KJV text agree");
}

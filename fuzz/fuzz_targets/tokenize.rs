//! Fuzz the tokenizer on the two committed tiny models' vocabularies (SmolLM2's `smollm`
//! pre-tokenizer and R1-Distill-Qwen's `deepseek-r1-qwen`, both byte-level BPE): arbitrary
//! bytes as text (lossy UTF-8), with and without BOS/EOS and special-token parsing, with a
//! token cap and with text-only spans. Nothing may panic, and:
//!
//! * every id is in the vocabulary;
//! * plain-text encoding is lossless (but for bytes the vocabulary cannot spell, dropped
//!   as llama.cpp drops them): the pieces give the bytes back, the streaming decoder the text;
//! * `encode_capped` agrees with `encode` (same ids when they fit, `TooManyTokens` when not);
//! * a text-only span covering the whole text gives the plain-text ids (no control token).
//!
//! Input layout: byte 0 flags (bit 0 model, bit 1 add_special, bit 2 parse_special),
//! byte 1 token cap, bytes 2..4 one text-only span (start, length in bytes, scaled to the
//! text), the rest the text.
#![no_main]

use std::sync::OnceLock;

use bague::gguf::File;
use bague::tokenizer::{EncodeOptions, Error, Tokenizer};
use libfuzzer_sys::fuzz_target;

const MODELS: [&str; 2] = ["smol-tiny-random-q4_0.gguf", "r1-tiny-random-q4_0.gguf"];

fn tokenizers() -> &'static [Tokenizer<'static>] {
    static T: OnceLock<Vec<Tokenizer<'static>>> = OnceLock::new();
    T.get_or_init(|| {
        MODELS
            .iter()
            .map(|name| {
                let path = format!("{}/../testdata/models/{name}", env!("CARGO_MANIFEST_DIR"));
                let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
                // Lives as long as the fuzzing process: the tokenizer borrows its texts.
                let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
                let file = File::parse(bytes).expect("committed tiny model parses");
                Tokenizer::from_gguf(&file).expect("committed tiny model has a tokenizer")
            })
            .collect()
    })
}

/// GPT-2's byte-level alphabet: the character that stands for byte `b` in token texts.
fn byte_char(b: u8) -> char {
    let printable = |b: u8| matches!(b, b'!'..=b'~' | 0xA1..=0xAC | 0xAE..=0xFF);
    if printable(b) {
        return char::from(b);
    }
    let n = (0..b).filter(|&x| !printable(x)).count() as u32;
    char::from_u32(256 + n).unwrap()
}

/// For each model, which bytes have their byte-level character in the vocabulary.
fn byte_known(model: usize) -> &'static [bool; 256] {
    static K: OnceLock<Vec<[bool; 256]>> = OnceLock::new();
    &K.get_or_init(|| {
        tokenizers()
            .iter()
            .map(|t| std::array::from_fn(|b| t.token_id(&byte_char(b as u8).to_string()).is_some()))
            .collect()
    })[model]
}

fuzz_target!(|data: &[u8]| {
    if data.len() < 4 {
        return;
    }
    let (head, body) = data.split_at(4);
    let model = usize::from(head[0] & 1);
    let tok = &tokenizers()[model];
    let opts = EncodeOptions {
        add_special: head[0] & 2 != 0,
        parse_special: head[0] & 4 != 0,
    };
    let cap = usize::from(head[1]);
    let text = String::from_utf8_lossy(body);
    let n_vocab = tok.n_vocab();

    let ids = tok
        .encode(&text, opts)
        .expect("both vocabularies have BOS/EOS");
    assert!(ids.iter().all(|&id| (id as usize) < n_vocab));

    // Capped: the same ids when they fit, else TooManyTokens.
    match tok.encode_capped(&text, opts, &[], cap) {
        Ok(c) => assert_eq!(c, ids),
        Err(Error::TooManyTokens { .. }) => assert!(ids.len() > cap),
        Err(e) => panic!("encode_capped: {e}"),
    }

    // Plain text round-trips: the pieces give back the text's bytes, except bytes whose
    // byte-level character is not in the vocabulary, which llama.cpp drops too (SmolLM2
    // lacks 21 of the 256: 0x04, 0x06, 0x13, 0x14, 0x16, 0x1d, 0xc0, 0xc1, 0xf1, 0xf2,
    // 0xf5..=0xff). When none was dropped, the streaming decoder gives the text back.
    let plain = tok.encode(&text, EncodeOptions::TEXT).unwrap();
    let mut bytes = Vec::with_capacity(text.len());
    for &id in &plain {
        tok.piece_into(id, true, &mut bytes).unwrap();
    }
    let known = byte_known(model);
    let expected: Vec<u8> = text.bytes().filter(|&b| known[usize::from(b)]).collect();
    assert_eq!(bytes, expected, "plain-text encoding must be lossless");
    if expected.len() == text.len() {
        let mut dec = tok.decoder();
        let mut back = String::with_capacity(text.len());
        for &id in &plain {
            back.push_str(dec.push(id).unwrap());
        }
        back.push_str(dec.finish());
        assert_eq!(back, text, "the streaming decoder must give the text back");
    }

    // A text-only span over all of the text parses nothing as a special token.
    let all = tok
        .encode_with_text_spans(&text, EncodeOptions::TEXT, &[0..text.len()])
        .unwrap();
    let none = tok
        .encode_with_text_spans(&text, EncodeOptions::TEXT, &[])
        .unwrap();
    if tok.special_tokens_in(&text).is_empty() {
        assert_eq!(all, none);
    }
    // An arbitrary span (possibly inside a character): no panic, ids in range.
    let len = text.len();
    let start = usize::from(head[2]) * len / 255;
    let end = (start + usize::from(head[3]) * len / 255).min(len);
    let spanned = tok
        .encode_with_text_spans(&text, opts, &[start..end, end..start])
        .unwrap();
    assert!(spanned.iter().all(|&id| (id as usize) < n_vocab));
});

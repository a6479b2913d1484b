//! Property tests: decoding undoes encoding for any text, and the streaming decoder's output
//! equals the one-shot decode for any ids.

mod tokenizer_util;

use bague::tokenizer::{EncodeOptions, Tokenizer};
use proptest::prelude::*;
use tokenizer_util::{r1, smol};

/// Text built from pieces that stress the pre-tokenizers, BPE and special-token matching.
fn tricky_text() -> impl Strategy<Value = String> {
    let pieces = prop::sample::select(vec![
        " ",
        "  ",
        "\t",
        "\n",
        "\r\n",
        "\r",
        "\u{a0}",
        "\u{3000}",
        "a",
        "Hello",
        "DON'T",
        "'s",
        "'ll",
        "1",
        "234",
        ".",
        "...",
        "!?",
        "é",
        "e\u{301}",
        "你好",
        "🦀",
        "👨\u{200d}👩",
        "<think>",
        "</think>",
        "</s>",
        "<|im_end|>",
        "<｜User｜>",
        "\u{378}",
        "\u{10ffff}",
        "\u{0}",
        "ſ",
        "İ",
        "२",
        "\u{1c89}",
    ]);
    prop::collection::vec(pieces, 0..40).prop_map(|v| v.concat())
}

fn any_text() -> impl Strategy<Value = String> {
    prop_oneof![any::<String>(), tricky_text(), "\\PC{0,64}"]
}

fn stream(tok: &Tokenizer<'_>, ids: &[u32]) -> String {
    let mut d = tok.decoder();
    let mut out = String::new();
    for &id in ids {
        out.push_str(d.push(id).unwrap());
    }
    out.push_str(d.finish());
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn decode_undoes_encode(s in any_text()) {
        for tok in [r1(), smol()] {
            let ids = tok.encode(&s, EncodeOptions::TEXT).unwrap();
            prop_assert_eq!(tok.decode(&ids).unwrap(), s.as_bytes());
        }
    }

    #[test]
    fn streaming_equals_one_shot_on_encoded_text(s in any_text()) {
        for tok in [r1(), smol()] {
            let ids = tok.encode(&s, EncodeOptions::PROMPT).unwrap();
            let one_shot = tok.decode(&ids).unwrap();
            prop_assert_eq!(stream(tok, &ids), String::from_utf8_lossy(&one_shot));
        }
    }

    /// Any id sequence, so pieces are cut anywhere inside characters and may never complete.
    #[test]
    fn streaming_equals_one_shot_on_any_ids(ids in prop::collection::vec(0u32..152_064, 0..24)) {
        let tok = r1();
        let one_shot = tok.decode(&ids).unwrap();
        prop_assert_eq!(stream(tok, &ids), String::from_utf8_lossy(&one_shot));
    }

    /// Byte-token ids only (the 256 byte-level characters): mostly partial UTF-8.
    #[test]
    fn streaming_equals_one_shot_on_byte_tokens(bytes in prop::collection::vec(any::<u8>(), 0..32)) {
        let tok = r1();
        let ids: Vec<u32> = bytes.iter().map(|&b| {
            let c = char::from_u32(byte_char(b)).unwrap();
            tok.token_id(c.encode_utf8(&mut [0; 4])).unwrap()
        }).collect();
        prop_assert_eq!(tok.decode(&ids).unwrap(), bytes.clone());
        prop_assert_eq!(stream(tok, &ids), String::from_utf8_lossy(&bytes));
    }
}

/// GPT-2 byte-level character of byte `b` (independent of the crate's table).
fn byte_char(b: u8) -> u32 {
    let printable = |x: u8| matches!(x, 0x21..=0x7E | 0xA1..=0xAC | 0xAE..=0xFF);
    if printable(b) {
        return u32::from(b);
    }
    0x100 + (0..b).filter(|&x| !printable(x)).count() as u32
}

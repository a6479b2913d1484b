//! Edge cases of the tokenizer: empty and whitespace-only text, line-break runs, long runs
//! of one character (linear work), invalid ids, special-token text, metadata errors.

mod tokenizer_util;

use bague::tokenizer::{
    DecodeOptions, EncodeOptions, Error, SpecialIds, TokenType, Tokenizer, TokenizerMetadata,
};
use tokenizer_util::{r1, smol};

const TEXT: EncodeOptions = EncodeOptions::TEXT;
const PROMPT: EncodeOptions = EncodeOptions::PROMPT;

fn round_trip(tok: &Tokenizer<'_>, s: &str) -> Vec<u32> {
    let ids = tok.encode(s, TEXT).unwrap();
    assert_eq!(tok.decode(&ids).unwrap(), s.as_bytes(), "{s:?}");
    ids
}

#[test]
fn empty_text() {
    assert_eq!(r1().encode("", TEXT).unwrap(), Vec::<u32>::new());
    assert_eq!(r1().encode("", PROMPT).unwrap(), [151646], "R1 adds BOS");
    assert_eq!(
        smol().encode("", PROMPT).unwrap(),
        Vec::<u32>::new(),
        "SmolLM2 add_bos is false"
    );
    assert_eq!(r1().decode(&[]).unwrap(), b"");
}

#[test]
fn whitespace_only() {
    for tok in [r1(), smol()] {
        for s in [
            " ",
            "  ",
            "     ",
            "\t",
            " \t \t",
            "\u{3000}\u{a0} ",
            "\n",
            "\n\n\n",
        ] {
            round_trip(tok, s);
        }
    }
    // Qwen-style vocabularies have tokens for space runs.
    assert_eq!(round_trip(r1(), "    ").len(), 1);
}

#[test]
fn crlf_runs() {
    for tok in [r1(), smol()] {
        for n in [1, 2, 3, 10, 100] {
            round_trip(tok, &"\r\n".repeat(n));
            round_trip(tok, &format!("a{}b", "\r\n".repeat(n)));
        }
    }
    assert_eq!(
        r1().encode("x\r\ny", TEXT).unwrap().len(),
        3,
        "R1: x, \\r\\n, y"
    );
    // SmolLM2's split keeps the last whitespace of a run for the next word: \r, \n.
    assert_eq!(
        smol().encode("x\r\ny", TEXT).unwrap().len(),
        4,
        "SmolLM2: x, \\r, \\n, y"
    );
}

#[test]
fn long_runs_of_one_character_take_linear_work() {
    for tok in [r1(), smol()] {
        for unit in ["a", " ", "\n", "é", "🦀", "ab", "1", "."] {
            let s = unit.repeat(10_000);
            let mut ids = Vec::new();
            let stats = tok.encode_into(&s, TEXT, &mut ids).unwrap();
            assert_eq!(tok.decode(&ids).unwrap(), s.as_bytes());
            // Each merge pushes at most two candidates on top of the n - 1 initial ones.
            let bytes = s.len() as u64;
            assert!(
                stats.merge_steps <= 3 * bytes,
                "{unit:?}: {} steps for {bytes} bytes",
                stats.merge_steps
            );
            assert!(stats.merges < bytes);
        }
    }
}

#[test]
fn invalid_ids() {
    let tok = r1();
    let n = tok.n_vocab() as u32;
    let e = tok.decode(&[1, n]).unwrap_err();
    assert_eq!(e, Error::InvalidToken { id: n, n_vocab: n });
    assert!(e.to_string().contains("152064"), "{e}");
    assert!(tok.piece(u32::MAX).is_err());
    assert_eq!(tok.token_text(n), None);
    assert_eq!(tok.token_type(n), None);

    let mut d = tok.decoder();
    let crab = tok.encode("𒀀", TEXT).unwrap();
    assert!(
        crab.len() > 1,
        "a rare character is split into byte tokens: {crab:?}"
    );
    assert_eq!(d.push(crab[0]).unwrap(), "");
    assert!(d.push(n).is_err());
    let mut s = String::new();
    for &id in &crab[1..] {
        s.push_str(d.push(id).unwrap());
    }
    assert_eq!(s, "𒀀", "an invalid id leaves the decoder as it was");
    assert_eq!(d.finish(), "");
}

#[test]
fn special_token_text() {
    let tok = r1();
    let eos = "<｜end▁of▁sentence｜>";
    assert_eq!(tok.encode(eos, PROMPT).unwrap(), [151646, 151643]);
    let plain = tok.encode(eos, TEXT).unwrap();
    assert!(
        plain.len() > 1
            && !plain
                .iter()
                .any(|&id| tok.token_attrs(id).unwrap().is_control())
    );
    assert_eq!(tok.decode(&plain).unwrap(), eos.as_bytes());
    // User-defined tokens match with or without parse_special.
    assert_eq!(tok.encode("<think>", TEXT).unwrap(), [151648]);
    assert_eq!(
        tok.encode("<think></think>", PROMPT).unwrap(),
        [151646, 151648, 151649]
    );
    // BOS written in the text with add_special: two BOS, as llama.cpp.
    let bos = "<｜begin▁of▁sentence｜>";
    assert_eq!(
        tok.encode(&format!("{bos}hi"), PROMPT).unwrap()[..2],
        [151646, 151646]
    );
    // </s> is re-typed: control and end of generation.
    assert_eq!(
        tok.encode(
            "</s>",
            EncodeOptions {
                add_special: false,
                parse_special: true
            }
        )
        .unwrap(),
        [128247]
    );
    assert!(tok.is_eog(128247) && tok.token_attrs(128247).unwrap().is_control());
    assert_eq!(tok.token_type(128247), Some(TokenType::Normal));
    // Control tokens render only on request.
    let opts = DecodeOptions {
        remove_special: false,
        render_special: false,
    };
    assert_eq!(
        tok.decode_with(&[151644, 9707, 151648], opts).unwrap(),
        "Hello<think>".as_bytes()
    );
    let opts = DecodeOptions {
        remove_special: true,
        render_special: true,
    };
    assert_eq!(
        tok.decode_with(&[151646, 9707], opts).unwrap(),
        b"Hello",
        "leading BOS removed"
    );

    let smol = smol();
    assert_eq!(
        smol.encode(
            "<|im_start|>",
            EncodeOptions {
                add_special: false,
                parse_special: true
            }
        )
        .unwrap(),
        [1]
    );
    assert_ne!(smol.encode("<|im_start|>", TEXT).unwrap(), [1]);
    assert_eq!(smol.eog_ids(), [0, 2, 4]);
}

#[test]
fn lookups() {
    let tok = r1();
    assert_eq!(tok.token_id("<think>"), Some(151648));
    assert_eq!(tok.token_id("</think>"), Some(151649));
    assert_eq!(tok.token_id("no such token"), None);
    assert_eq!(tok.token_text(151648), Some("<think>"));
    assert_eq!(tok.token_type(151648), Some(TokenType::UserDefined));
    assert_eq!(tok.bos_id(), Some(151646));
    assert_eq!(tok.eos_id(), Some(151643));
    assert!(tok.add_bos() && !tok.add_eos());
    assert_eq!(tok.special_ids().fim_pad, Some(151662));
}

fn meta<'a>(
    model: &'a str,
    pre: Option<&'a str>,
    types: Vec<i32>,
) -> TokenizerMetadata<'a, Vec<&'a str>> {
    TokenizerMetadata {
        model,
        pre,
        tokens: vec!["a", "b", "ab", "Ġ"],
        token_types: types,
        merges: vec!["a b"],
        ids: SpecialIds::default(),
        add_bos: None,
        add_eos: None,
        add_space_prefix: None,
    }
}

#[test]
fn metadata_errors() {
    let e = Tokenizer::from_metadata(meta("llama", Some("default"), vec![]))
        .err()
        .unwrap();
    assert!(
        e.to_string().contains("SentencePiece") && e.to_string().contains("not supported yet"),
        "{e}"
    );
    let e = Tokenizer::from_metadata(meta("gpt2", Some("tekken"), vec![]))
        .err()
        .unwrap();
    let msg = e.to_string();
    assert!(
        msg.contains("tekken")
            && msg.contains("qwen2")
            && msg.contains("llama-bpe")
            && msg.contains("smollm"),
        "{msg}"
    );
    let e = Tokenizer::from_metadata(meta("gpt2", None, vec![]))
        .err()
        .unwrap();
    assert!(
        matches!(e, Error::UnknownPreTokenizer(_)),
        "no pre: llama.cpp's 'default', unsupported"
    );
    let e = Tokenizer::from_metadata(meta("gpt2", Some("qwen2"), vec![1, 1]))
        .err()
        .unwrap();
    assert!(
        matches!(
            e,
            Error::LengthMismatch {
                len: 2,
                n_vocab: 4,
                ..
            }
        ),
        "{e:?}"
    );
    let mut m = meta("gpt2", Some("qwen2"), vec![]);
    m.tokens.clear();
    assert!(matches!(
        Tokenizer::from_metadata(m).err().unwrap(),
        Error::BadVocabSize(0)
    ));
}

#[test]
fn hand_made_vocabulary() {
    // gpt2 defaults: BOS = EOS = 11 when in range, so a 4-token vocab has none.
    let mut m = meta("gpt2", Some("gpt-2"), vec![]);
    m.add_bos = Some(true);
    let tok = Tokenizer::from_metadata(m).unwrap();
    assert_eq!(tok.encode("ab a", TEXT).unwrap(), [2, 3, 0]);
    assert_eq!(tok.encode("x", PROMPT).unwrap_err(), Error::MissingBos);
    assert_eq!(tok.bos_id(), None);
}

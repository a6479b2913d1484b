//! Our tokenizer against llama.cpp's, id for id, on the three real vocabularies (R1 head's
//! `deepseek-r1-qwen`, Qwen2.5's `qwen2`, SmolLM2's `smollm`): the ~1 MB mixed text of the
//! tokenizer bench whole and cut into chunks at random places, and random strings built from
//! the pieces pre-tokenizers care about (letters of many scripts, digits, contractions,
//! whitespace runs, special-token text, code points unassigned in llama.cpp's Unicode tables).
//! Flags (`add_special`, `parse_special`) vary per case. A model file that is absent is
//! skipped (`bague_testkit::model`: a failure under `BAGUE_REQUIRE_MODELS=1`). Takes a few
//! seconds in release.

mod common;

use bague::loader::MappedFile;
use bague::tokenizer::{EncodeOptions, Tokenizer};
use bague_oracle::llama::Model;
use common::Rng;

const MODELS: [&str; 3] = [
    "r1-distill-qwen-7b-head",
    "qwen2.5-coder-0.5b-instruct-q4_k_m",
    "smollm2-135m-instruct-q4_1",
];

/// Pieces random strings are made of.
#[rustfmt::skip]
const PIECES: &[&str] = &[
    " ", "  ", "   ", "\n", "\n\n", "\r\n", "\t", " \n ", "\u{a0}", "\u{3000}", "\u{2028}",
    "a", "the", " the", "Hello", "WORLD", "ÉTÉ", "naïve", "straße", "İ", "ǅ", "x\u{301}",
    "'s", "'t", "'re", "'ve", "'m", "'ll", "'d", "'S", "'LL", "'", "\"", "`",
    "0", "7", "42", "123", "2024", "3.14", "1,000", "٣", "Ⅻ", "²", "½", "१२",
    ".", ",", "!", "?", "...", "-", "--", "_", "__init__", "(", ")", "{", "}", "[", "]", "<",
    ">", "/", "\\", "#", "@", "$", "%", "^", "&", "*", "+", "=", "|", "~", ";", ":",
    "fn main() {", "    return x;", "if (a < b) {", "//", "/*", "*/", "=>", "->", "::",
    "中文", "日本語", "한국어", "ひらがな", "カタカナ", "ไทย", "עברית", "العربية", "Ελληνικά",
    "Русский", "हिन्दी", "😀", "👍🏽", "👨\u{200d}👩\u{200d}👧", "🇫🇷", "\u{fe0f}", "\u{200d}",
    "<think>", "</think>", "<｜User｜>", "<｜Assistant｜>", "<｜end▁of▁sentence｜>",
    "<|im_start|>", "<|im_end|>", "<|endoftext|>", "</s>", "<tool_call>", "<|fim_prefix|>",
    "<|", "|>", "<｜", "｜>", "\r", "\u{0}", "\u{feff}", "        ", " \t \n\n  \r\n ",
    "0123456789", "9999999", "ａｂｃ１２３",
];

fn ours_eq(ours: &[u32], theirs: &[i32]) -> bool {
    ours.len() == theirs.len() && ours.iter().zip(theirs).all(|(&a, &b)| a as i32 == b)
}

/// A random `char`: any scalar value, from all planes, assigned or not.
fn random_char(rng: &mut Rng) -> char {
    loop {
        let cp = match rng.below(4) {
            0 => rng.below(0x80) as u32,
            1 => rng.below(0x800) as u32,
            2 => rng.below(0x10000) as u32,
            _ => rng.below(0x110000) as u32,
        };
        if let Some(c) = char::from_u32(cp) {
            return c;
        }
    }
}

fn random_string(rng: &mut Rng) -> String {
    let n = 1 + rng.below(24) as usize;
    let mut s = String::new();
    for _ in 0..n {
        if rng.below(5) == 0 {
            s.push(random_char(rng));
        } else {
            s.push_str(PIECES[rng.below(PIECES.len() as u64) as usize]);
        }
    }
    s
}

/// Byte offsets cutting `text` into chunks of 1..=`max` bytes at char boundaries.
fn chunks(text: &str, max: usize, rng: &mut Rng) -> Vec<std::ops::Range<usize>> {
    let mut out = Vec::new();
    let mut at = 0;
    while at < text.len() {
        let mut end = (at + 1 + rng.below(max as u64) as usize).min(text.len());
        while !text.is_char_boundary(end) {
            end += 1;
        }
        out.push(at..end);
        at = end;
    }
    out
}

struct Checker<'a> {
    id: &'static str,
    ours: &'a Tokenizer<'a>,
    llama: &'a Model,
    cases: usize,
    differ: usize,
    failures: Vec<String>,
}

impl Checker<'_> {
    fn check(&mut self, what: &str, text: &str, add_special: bool, parse_special: bool) {
        self.cases += 1;
        let opts = EncodeOptions {
            add_special,
            parse_special,
        };
        let a = self.ours.encode(text, opts).unwrap();
        let b = self
            .llama
            .tokenize(text, add_special, parse_special)
            .unwrap();
        if ours_eq(&a, &b) {
            return;
        }
        self.differ += 1;
        if self.failures.len() < 10 {
            let at = a
                .iter()
                .zip(&b)
                .position(|(&x, &y)| x as i32 != y)
                .unwrap_or(a.len().min(b.len()));
            let window = at.saturating_sub(4)..at + 8;
            let shown: String = text.chars().take(300).collect();
            self.failures.push(format!(
                "{}: {what} (add_special {add_special}, parse_special {parse_special}) \
                 {shown:?}\n  {} vs {} tokens, first difference at {at}; from {}:\n  ours  \
                 {:?}\n  llama {:?}",
                self.id,
                a.len(),
                b.len(),
                window.start,
                &a[window.start.min(a.len())..window.end.min(a.len())],
                &b[window.start.min(b.len())..window.end.min(b.len())],
            ));
        }
    }
}

#[test]
fn ids_equal_llama_cpp() {
    let text = bague_testkit::mixed_text(1 << 20);
    let mut failures = Vec::new();
    let mut tested = 0;
    for id in MODELS {
        let Some(path) = bague_testkit::model(id) else {
            continue;
        };
        let map = MappedFile::open(&path).unwrap();
        let file = map.parse().unwrap();
        let ours = Tokenizer::from_gguf(&file).unwrap();
        let (llama, padded) = Model::load_vocab(&path).unwrap();
        if padded {
            eprintln!("note: {id}: llama.cpp refuses the file vocab-only; loaded a padded copy");
        }
        assert_eq!(ours.n_vocab(), llama.n_vocab(), "{id}: n_vocab");
        let mut c = Checker {
            id,
            ours: &ours,
            llama: &llama,
            cases: 0,
            differ: 0,
            failures: Vec::new(),
        };
        let seed = 0x5EED_0000 + tested as u64;
        let mut rng = Rng::new(seed);
        c.check("whole mixed text", &text, false, false);
        for r in chunks(&text, 4096, &mut rng) {
            let (add, parse) = (rng.below(2) == 0, rng.below(2) == 0);
            c.check(&format!("chunk {r:?}"), &text[r], add, parse);
        }
        for i in 0..3000 {
            let s = random_string(&mut rng);
            let (add, parse) = (rng.below(4) == 0, rng.below(2) == 0);
            c.check(
                &format!("random string {i} (seed {seed:#x})"),
                &s,
                add,
                parse,
            );
        }
        eprintln!("{id}: {} cases, {} differ", c.cases, c.differ);
        failures.extend(c.failures);
        tested += 1;
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

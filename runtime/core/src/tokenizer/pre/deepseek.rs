//! Stages that llama.cpp runs through `std::regex` rather than a hand-written matcher:
//! SmolLM's `\p{N}` and DeepSeek-LLM's six stages
//! `[\r\n]`, `\s?[cased letters]+`, `\s?[ASCII and full-width punctuation]+`, `\s+$`,
//! `[CJK]+`, `\p{N}+`.
//!
//! Each stage finds its matches left to right inside one piece; the matches and the gaps
//! between them all become pieces. Quirks of the `std::regex` route that we reproduce:
//! `\s` covers the Unicode whitespace set (llama.cpp swaps non-ASCII whitespace for U+000B
//! before matching), which also means a non-ASCII whitespace code point never falls inside
//! a character range of the pattern; `$` is the end of the piece.

use alloc::vec::Vec;

use super::{Ends, Stage};
use crate::tokenizer::unicode::Flags;

/// DeepSeek-LLM's stages, in order.
pub(super) const DEEPSEEK_LLM: &[Stage] = &[
    |c, f, lo, hi, out| isolate(c, f, lo, hi, out, |c, _| matches!(c, '\r' | '\n')),
    |c, f, lo, hi, out| {
        runs(c, f, lo, hi, out, true, |c, f| {
            in_class(c, f, CASED_LETTERS)
        })
    },
    |c, f, lo, hi, out| runs(c, f, lo, hi, out, true, |c, f| in_class(c, f, PUNCTUATION)),
    trailing_whitespace,
    |c, f, lo, hi, out| runs(c, f, lo, hi, out, false, |c, f| in_class(c, f, CJK)),
    |c, f, lo, hi, out| runs(c, f, lo, hi, out, false, |_, f| f.is_number()),
];

/// SmolLM's first stage: `\p{N}`, every number code point alone.
pub(super) fn isolate_numbers(
    cps: &[char],
    fl: &[Flags],
    lo: usize,
    hi: usize,
    out: &mut Vec<usize>,
) {
    isolate(cps, fl, lo, hi, out, |_, f| f.is_number())
}

/// Each code point matching `is` becomes its own piece.
fn isolate(
    cps: &[char],
    fl: &[Flags],
    lo: usize,
    hi: usize,
    out: &mut Vec<usize>,
    is: impl Fn(char, Flags) -> bool,
) {
    let mut ends = Ends::new(out, lo);
    for p in lo..hi {
        if is(cps[p], fl[p]) {
            ends.cut(p);
            ends.cut(p + 1);
        }
    }
    ends.cut(hi);
}

/// Pieces `\s?[class]+` (with `opt_space`) or `[class]+`, leftmost first, greedy.
fn runs(
    cps: &[char],
    fl: &[Flags],
    lo: usize,
    hi: usize,
    out: &mut Vec<usize>,
    opt_space: bool,
    is: impl Fn(char, Flags) -> bool,
) {
    let at = |p: usize| p < hi && is(cps[p], fl[p]);
    let mut ends = Ends::new(out, lo);
    let mut p = lo;
    while p < hi {
        let start = p;
        let body = if opt_space && fl[p].is_whitespace() && at(p + 1) {
            p + 1
        } else if at(p) {
            p
        } else {
            p += 1;
            continue;
        };
        let mut end = body;
        while at(end) {
            end += 1;
        }
        ends.cut(start);
        ends.cut(end);
        p = end;
    }
    ends.cut(hi);
}

/// `\s+$`: the whitespace run that ends the piece, if any.
fn trailing_whitespace(_: &[char], fl: &[Flags], lo: usize, hi: usize, out: &mut Vec<usize>) {
    let mut start = hi;
    while start > lo && fl[start - 1].is_whitespace() {
        start -= 1;
    }
    let mut ends = Ends::new(out, lo);
    ends.cut(start);
    ends.cut(hi);
}

/// Membership in a character class of the pattern, as `std::wregex` sees the code point:
/// non-ASCII whitespace has been replaced by U+000B, which no class below contains.
fn in_class(c: char, f: Flags, ranges: &[(u32, u32)]) -> bool {
    let u = c as u32;
    if u > 0x7F && f.is_whitespace() {
        return false;
    }
    match ranges.binary_search_by(|&(lo, _)| lo.cmp(&u)) {
        Ok(_) => true,
        Err(0) => false,
        Err(i) => u <= ranges[i - 1].1,
    }
}

/// DeepSeek-LLM's letter class (cased letters: Latin, Greek, Cyrillic, Armenian, Georgian,
/// Cherokee, Glagolitic, Coptic, Deseret, Osage, Old Hungarian, Warang Citi, Adlam, letterlike
/// symbols, full-width Latin), from its tokenizer.json, as sorted inclusive ranges.
const CASED_LETTERS: &[(u32, u32)] = &[
    (0x41, 0x5A),
    (0x61, 0x7A),
    (0xB5, 0xB5),
    (0xC0, 0xD6),
    (0xD8, 0xF6),
    (0xF8, 0x1BA),
    (0x1BC, 0x1BF),
    (0x1C4, 0x293),
    (0x295, 0x2AF),
    (0x370, 0x373),
    (0x376, 0x377),
    (0x37B, 0x37D),
    (0x37F, 0x37F),
    (0x386, 0x386),
    (0x388, 0x38A),
    (0x38C, 0x38C),
    (0x38E, 0x3A1),
    (0x3A3, 0x3F5),
    (0x3F7, 0x481),
    (0x48A, 0x52F),
    (0x531, 0x556),
    (0x10A0, 0x10C5),
    (0x13A0, 0x13F5),
    (0x13F8, 0x13FD),
    (0x1C90, 0x1CBA),
    (0x1CBD, 0x1CBF),
    (0x1D00, 0x1D2B),
    (0x1D6B, 0x1D77),
    (0x1D79, 0x1D9A),
    (0x1E00, 0x1F15),
    (0x1F18, 0x1F1D),
    (0x1F20, 0x1F45),
    (0x1F48, 0x1F4D),
    (0x1F50, 0x1F57),
    (0x1F59, 0x1F59),
    (0x1F5B, 0x1F5B),
    (0x1F5D, 0x1F5D),
    (0x1F5F, 0x1F7D),
    (0x1F80, 0x1FB4),
    (0x1FB6, 0x1FBC),
    (0x1FBE, 0x1FBE),
    (0x1FC2, 0x1FC4),
    (0x1FC6, 0x1FCC),
    (0x1FD0, 0x1FD3),
    (0x1FD6, 0x1FDB),
    (0x1FE0, 0x1FEC),
    (0x1FF2, 0x1FF4),
    (0x1FF6, 0x1FFC),
    (0x2102, 0x2102),
    (0x2107, 0x2107),
    (0x210A, 0x2113),
    (0x2115, 0x2115),
    (0x2119, 0x211D),
    (0x2124, 0x2124),
    (0x2126, 0x2126),
    (0x2128, 0x2128),
    (0x212A, 0x212D),
    (0x212F, 0x2134),
    (0x2139, 0x2139),
    (0x213C, 0x213F),
    (0x2145, 0x2149),
    (0x214E, 0x214E),
    (0x2183, 0x2184),
    (0x2C00, 0x2C7B),
    (0x2C7E, 0x2CE4),
    (0x2CEB, 0x2CEE),
    (0x2CF2, 0x2CF3),
    (0xA640, 0xA66D),
    (0xA680, 0xA69B),
    (0xA722, 0xA76F),
    (0xA771, 0xA787),
    (0xA78B, 0xA78E),
    (0xAB70, 0xABBF),
    (0xFB00, 0xFB06),
    (0xFB13, 0xFB17),
    (0xFF21, 0xFF3A),
    (0xFF41, 0xFF5A),
    (0x10400, 0x1044F),
    (0x104B0, 0x104D3),
    (0x104D8, 0x104FB),
    (0x10C80, 0x10CB2),
    (0x10CC0, 0x10CF2),
    (0x118A0, 0x118DF),
    (0x1E900, 0x1E943),
];

/// DeepSeek-LLM's punctuation class: `!`..`/`, `:`..`~` (which also spans `@`, `A`..`Z`,
/// `[`..`` ` ``, `a`..`z`), full-width `！`..`／` and `：`..`～`, quotation marks U+2018..U+201F
/// and U+3000..U+3002 (the ideographic space itself is whitespace, so never in the class).
const PUNCTUATION: &[(u32, u32)] = &[
    (0x21, 0x2F),
    (0x3A, 0x7E),
    (0x2018, 0x201F),
    (0x3000, 0x3002),
    (0xFF01, 0xFF0F),
    (0xFF1A, 0xFF5E),
];

/// DeepSeek-LLM's CJK class: U+0800..U+4E00 (sic, from the pattern `ࠀ-一`), U+4E00..U+9FA5
/// and Hangul U+AC00..U+D7FF.
const CJK: &[(u32, u32)] = &[(0x0800, 0x9FA5), (0xAC00, 0xD7FF)];

#[cfg(test)]
mod tests {
    use super::super::PreTokenizer::DeepseekLlm;
    use super::super::tests::words;
    use super::*;

    #[test]
    fn tables_sorted() {
        for t in [CASED_LETTERS, PUNCTUATION, CJK] {
            for w in t.windows(2) {
                assert!(w[0].0 <= w[0].1 && w[0].1 < w[1].0);
            }
        }
    }

    #[test]
    fn stages() {
        assert_eq!(words(DeepseekLlm, "Hello world"), ["Hello", " world"]);
        assert_eq!(words(DeepseekLlm, "a\r\nb"), ["a", "\r", "\n", "b"]);
        assert_eq!(words(DeepseekLlm, "x 123"), ["x", " ", "123"]);
        assert_eq!(
            words(DeepseekLlm, "你好, world!  "),
            ["你好", ",", " world", "!", "  "]
        );
        // The punctuation stage's `:-~` spans ASCII letters, so it re-splits a letter run
        // around non-ASCII letters.
        assert_eq!(words(DeepseekLlm, "héllo"), ["h", "é", "llo"]);
    }
}

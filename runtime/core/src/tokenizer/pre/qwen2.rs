//! The Qwen2 and Llama 3 splits, as llama.cpp applies them:
//! `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,K}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
//! with K = 1 (Qwen2, R1-Distill-Qwen) or 3 (Llama 3).
//!
//! Contractions match in any case (`'T`, `'Ll`), a letter run takes one leading non-letter
//! that is not a digit or a line break (` word`, `¿Qué`, `"hello`), and a whitespace run
//! that contains a line break ends at its last line break.

use alloc::vec::Vec;

use super::Ends;
use crate::tokenizer::unicode::Flags;

/// Qwen2 split (single digits).
pub(super) fn split_qwen2(cps: &[char], fl: &[Flags], lo: usize, hi: usize, out: &mut Vec<usize>) {
    split(cps, fl, lo, hi, 1, out)
}

/// Llama 3 split (digits in groups of up to three).
pub(super) fn split_llama3(cps: &[char], fl: &[Flags], lo: usize, hi: usize, out: &mut Vec<usize>) {
    split(cps, fl, lo, hi, 3, out)
}

fn is_line_break(c: Option<char>) -> bool {
    matches!(c, Some('\r' | '\n'))
}

fn split(
    cps: &[char],
    fl: &[Flags],
    lo: usize,
    hi: usize,
    max_digits: usize,
    out: &mut Vec<usize>,
) {
    let cp = |p: usize| if p < hi { Some(cps[p]) } else { None };
    let f = |p: usize| if p < hi { fl[p] } else { Flags::OUT };
    let lower = |p: usize| cp(p).map(|c| c.to_ascii_lowercase());
    let mut ends = Ends::new(out, lo);
    let mut pos = lo;
    while pos < hi {
        let c = cps[pos];
        let fc = fl[pos];

        // (?i:'s|'t|'re|'ve|'m|'ll|'d)
        if c == '\'' && pos + 1 < hi {
            let n1 = lower(pos + 1);
            if matches!(n1, Some('s' | 't' | 'm' | 'd')) {
                pos += 2;
                ends.cut(pos);
                continue;
            }
            if pos + 2 < hi {
                let n2 = lower(pos + 2);
                if matches!(
                    (n1, n2),
                    (Some('r'), Some('e')) | (Some('v'), Some('e')) | (Some('l'), Some('l'))
                ) {
                    pos += 3;
                    ends.cut(pos);
                    continue;
                }
            }
        }

        // [^\r\n\p{L}\p{N}]?\p{L}+
        if !(c == '\r' || c == '\n' || fc.is_number()) && (fc.is_letter() || f(pos + 1).is_letter())
        {
            pos += 1;
            while f(pos).is_letter() {
                pos += 1;
            }
            ends.cut(pos);
            continue;
        }

        // \p{N}{1,K}
        if fc.is_number() {
            let mut start = pos;
            while f(pos).is_number() {
                pos += 1;
                if pos - start >= max_digits {
                    ends.cut(pos);
                    start = pos;
                }
            }
            ends.cut(pos);
            continue;
        }

        // ' ?[^\s\p{L}\p{N}]+[\r\n]*' — the class is judged on the code point after a space.
        let lead = if c == ' ' { f(pos + 1) } else { fc };
        if lead.is_other() || (c == ' ' && !lead.in_range()) {
            pos += (c == ' ') as usize;
            while f(pos).is_other() {
                pos += 1;
            }
            while is_line_break(cp(pos)) {
                pos += 1;
            }
            ends.cut(pos);
            continue;
        }

        // \s*[\r\n]+ ends at the last line break of the whitespace run; else \s+(?!\S), \s+.
        let mut n = 0;
        let mut after_break = None;
        while f(pos + n).is_whitespace() {
            if is_line_break(cp(pos + n)) {
                after_break = Some(pos + n + 1);
            }
            n += 1;
        }
        if let Some(end) = after_break {
            pos = end;
        } else if n > 1 && cp(pos + n).is_some() {
            pos += n - 1;
        } else if n > 0 {
            pos += n;
        } else {
            pos += 1;
        }
        ends.cut(pos);
    }
}

#[cfg(test)]
mod tests {
    use super::super::PreTokenizer::{Llama3, Qwen2};
    use super::super::tests::words;

    #[test]
    fn contractions_any_case() {
        assert_eq!(words(Qwen2, "DON'T"), ["DON", "'T"]);
        assert_eq!(words(Qwen2, "YOU'LL"), ["YOU", "'LL"]);
        assert_eq!(words(Qwen2, "it's"), ["it", "'s"]);
    }

    #[test]
    fn letters_take_one_leading_non_letter() {
        assert_eq!(words(Qwen2, "Hello world"), ["Hello", " world"]);
        assert_eq!(words(Qwen2, "\"quoted\""), ["\"quoted", "\""]);
        assert_eq!(words(Qwen2, "\tx"), ["\tx"]);
        assert_eq!(words(Qwen2, "\nx"), ["\n", "x"]);
        assert_eq!(words(Qwen2, "1x"), ["1", "x"]);
    }

    #[test]
    fn digits() {
        assert_eq!(words(Qwen2, "12345"), ["1", "2", "3", "4", "5"]);
        assert_eq!(words(Llama3, "1234567"), ["123", "456", "7"]);
        assert_eq!(words(Llama3, "12 345"), ["12", " ", "345"]);
    }

    #[test]
    fn whitespace_and_line_breaks() {
        assert_eq!(words(Qwen2, "a    b"), ["a", "   ", " b"]);
        assert_eq!(
            words(Qwen2, "line1\n\nline2"),
            ["line", "1", "\n\n", "line", "2"]
        );
        assert_eq!(words(Qwen2, "a\r\nb"), ["a", "\r\n", "b"]);
        assert_eq!(words(Qwen2, "\t\t  \n  \t"), ["\t\t  \n", "  \t"]);
        assert_eq!(words(Qwen2, "x  \n  y"), ["x", "  \n", " ", " y"]);
        assert_eq!(words(Qwen2, "  "), ["  "]);
    }

    #[test]
    fn punctuation_takes_trailing_line_breaks() {
        assert_eq!(words(Qwen2, "a.\n\nb"), ["a", ".\n\n", "b"]);
        assert_eq!(words(Qwen2, "x ...!"), ["x", " ...!"]);
        assert_eq!(words(Qwen2, "x "), ["x", " "]);
        assert_eq!(words(Qwen2, "🦀🐍"), ["🦀🐍"]);
    }
}

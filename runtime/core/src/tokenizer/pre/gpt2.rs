//! The GPT-2 split, as llama.cpp applies it:
//! `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`.
//!
//! Contractions are lower-case only (`DON'T` is `DON`, `'`, `T`), and a whitespace run
//! followed by more text gives its last whitespace to the next word.

use alloc::vec::Vec;

use super::Ends;
use crate::tokenizer::unicode::Flags;

/// Splits code points `lo..hi`; see the module docs.
pub(super) fn split(cps: &[char], fl: &[Flags], lo: usize, hi: usize, out: &mut Vec<usize>) {
    let cp = |p: usize| if p < hi { Some(cps[p]) } else { None };
    let f = |p: usize| if p < hi { fl[p] } else { Flags::OUT };
    let mut ends = Ends::new(out, lo);
    let mut pos = lo;
    while pos < hi {
        let c = cps[pos];

        // 's 't 're 've 'm 'll 'd
        if c == '\'' && pos + 1 < hi {
            let n1 = cps[pos + 1];
            if matches!(n1, 's' | 't' | 'm' | 'd') {
                pos += 2;
                ends.cut(pos);
                continue;
            }
            if pos + 2 < hi {
                let n2 = cps[pos + 2];
                if matches!((n1, n2), ('r', 'e') | ('v', 'e') | ('l', 'l')) {
                    pos += 3;
                    ends.cut(pos);
                    continue;
                }
            }
        }

        // An optional leading space, then a run of one class, judged by the code point
        // after the space.
        let space = c == ' ';
        let lead = if space { f(pos + 1) } else { fl[pos] };
        let class: Option<fn(Flags) -> bool> = if lead.is_letter() {
            Some(Flags::is_letter)
        } else if lead.is_number() {
            Some(Flags::is_number)
        } else if lead.is_other() {
            Some(Flags::is_other)
        } else {
            None
        };
        if let Some(is_class) = class {
            pos += space as usize;
            while is_class(f(pos)) {
                pos += 1;
            }
            ends.cut(pos);
            continue;
        }

        // Whitespace: \s+(?!\S) keeps the last one back when text follows, else \s+.
        let mut n = 0;
        while f(pos + n).is_whitespace() {
            n += 1;
        }
        if n > 1 && cp(pos + n).is_some() {
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
    use super::super::PreTokenizer::{Gpt2, Smollm};
    use super::super::tests::words;

    #[test]
    fn contractions_lower_case_only() {
        assert_eq!(words(Gpt2, "DON'T don't"), ["DON", "'", "T", " don", "'t"]);
        assert_eq!(
            words(Gpt2, "we'll YOU'LL"),
            ["we", "'ll", " YOU", "'", "LL"]
        );
    }

    #[test]
    fn whitespace_runs() {
        assert_eq!(words(Gpt2, "a    b"), ["a", "   ", " b"]);
        assert_eq!(words(Gpt2, "a  "), ["a", "  "]);
        assert_eq!(words(Gpt2, "\n\n\nx"), ["\n\n", "\n", "x"]);
        assert_eq!(words(Gpt2, "\r\n"), ["\r\n"]);
        assert_eq!(words(Gpt2, " "), [" "]);
    }

    #[test]
    fn classes() {
        assert_eq!(
            words(Gpt2, "Hello, world!!"),
            ["Hello", ",", " world", "!!"]
        );
        assert_eq!(words(Gpt2, "x 12345 y"), ["x", " 12345", " y"]);
        assert_eq!(words(Gpt2, "café"), ["café"]);
        assert_eq!(words(Gpt2, "cafe\u{301}"), ["cafe", "\u{301}"]);
    }

    #[test]
    fn smollm_isolates_digits_first() {
        assert_eq!(words(Smollm, "x 12 y"), ["x", " ", "1", "2", " y"]);
        assert_eq!(words(Smollm, "\n\n"), ["\n\n"]);
        assert_eq!(words(Smollm, "\n\n\n\nword"), ["\n\n\n", "\n", "word"]);
        assert_eq!(words(Smollm, "DON'T"), ["DON", "'", "T"]);
    }
}

//! Pre-tokenizers: split text into words before BPE, one per GGUF `tokenizer.ggml.pre` name.
//!
//! Each model's tokenizer.json defines its split as a regex. llama.cpp does not run those
//! regexes as written: for the common ones it runs hand-written matchers, and for the rest
//! `std::regex` over a text where every non-ASCII code point is first replaced by one byte of
//! its class. The two differ from the regexes at the edges (what `\s` covers, where a
//! look-ahead may look, contractions before non-ASCII letters), and we must equal llama.cpp,
//! so the splitters here follow llama.cpp's behaviour, written from its description:
//!
//! * every stage works on the code points of one fragment and never looks past its ends;
//! * several stages run in turn, each splitting the pieces of the one before;
//! * a `\s+(?!\S)` run keeps its last whitespace for the next word unless it ends the fragment.
//!
//! Words come out as byte ranges of the input, in order, covering it exactly.

mod deepseek;
mod gpt2;
pub(super) mod names;
mod qwen2;

use alloc::vec::Vec;
use core::ops::Range;

use super::Error;
use super::error::grow;
use super::unicode::{Flags, flags};
pub use names::SUPPORTED_PRE_TOKENIZERS;

/// Pre-tokenizer kinds, named as in GGUF `tokenizer.ggml.pre`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum PreTokenizer {
    /// `qwen2`, `deepseek-r1-qwen`: contractions (any case), letter runs with one leading
    /// non-letter, single digits, punctuation runs with trailing newlines, newline runs.
    Qwen2,
    /// `llama-bpe`, `llama3`, `llama-v3` (Llama 3, R1-Distill-Llama): as `Qwen2` but digits
    /// in groups of up to three; whole words found in the vocab skip BPE.
    Llama3,
    /// `smollm`: every digit alone, then the GPT-2 split.
    Smollm,
    /// `gpt-2`: lower-case contractions, ` ?` letter / digit / other runs, whitespace runs.
    Gpt2,
    /// `deepseek-llm`: newlines alone, then cased-letter runs, punctuation runs, trailing
    /// whitespace, CJK runs and digit runs, each a separate stage.
    DeepseekLlm,
}

/// What a `tokenizer.ggml.pre` name selects: the split and the flags llama.cpp ties to it.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct PreConfig {
    pub kind: PreTokenizer,
    /// Detokenizing removes spaces before `?!.,` and some contractions (llama.cpp `clean_spaces`).
    pub clean_spaces: bool,
    /// A word that is a vocab token is emitted without BPE (llama.cpp `ignore_merges`).
    pub ignore_merges: bool,
    /// `add_bos` when the GGUF has no `tokenizer.ggml.add_bos_token`.
    pub default_add_bos: bool,
}

impl PreConfig {
    /// Looks up a GGUF `tokenizer.ggml.pre` name. Errors: `UnknownPreTokenizer`.
    pub fn from_name(name: &str) -> Result<Self, Error> {
        use PreTokenizer::*;
        let (kind, clean_spaces, ignore_merges, default_add_bos) = match name {
            "qwen2" | "deepseek-r1-qwen" => (Qwen2, false, false, false),
            "llama-bpe" | "llama3" | "llama-v3" => (Llama3, true, true, true),
            "smollm" => (Smollm, false, false, false),
            "gpt-2" => (Gpt2, true, false, false),
            "deepseek-llm" => (DeepseekLlm, false, false, false),
            _ => return Err(Error::UnknownPreTokenizer(crate::gguf::Name::new(name))),
        };
        Ok(PreConfig {
            kind,
            clean_spaces,
            ignore_merges,
            default_add_bos,
        })
    }
}

/// Reusable buffers of [`split`].
#[derive(Default)]
pub(crate) struct SplitScratch {
    cps: Vec<char>,
    flags: Vec<Flags>,
    /// Byte offset of each code point, plus the text length at the end.
    offsets: Vec<usize>,
    ends: Vec<usize>,
    next: Vec<usize>,
}

/// One stage: splits code points `lo..hi` and pushes the end index of each piece.
type Stage = fn(&[char], &[Flags], usize, usize, &mut Vec<usize>);

/// Splits `text` into words (byte ranges), appended to `out`.
///
/// Every buffer is reserved fallibly before it is written: a piece of `n` code points
/// has at most `n` words (each stage cuts a range into non-empty pieces), so the stages'
/// pushes never grow a buffer. Errors: `OutOfMemory` (`out` may hold some words then).
pub(crate) fn split(
    kind: PreTokenizer,
    text: &str,
    s: &mut SplitScratch,
    out: &mut Vec<Range<usize>>,
) -> Result<(), Error> {
    s.cps.clear();
    s.flags.clear();
    s.offsets.clear();
    s.ends.clear();
    s.next.clear();
    // Code points: at most one per byte; counted first so that every reserve is exact
    // to the piece (the scratch keeps its room for the next piece).
    let n = text.chars().count();
    if n == 0 {
        return Ok(());
    }
    grow::reserve(&mut s.cps, n)?;
    grow::reserve(&mut s.flags, n)?;
    grow::reserve(&mut s.offsets, n + 1)?;
    grow::reserve(&mut s.ends, n)?;
    grow::reserve(&mut s.next, n)?;
    for (i, c) in text.char_indices() {
        s.cps.push(c);
        s.flags.push(flags(c));
        s.offsets.push(i);
    }
    s.offsets.push(text.len());

    let stages: &[Stage] = match kind {
        PreTokenizer::Qwen2 => &[qwen2::split_qwen2],
        PreTokenizer::Llama3 => &[qwen2::split_llama3],
        PreTokenizer::Smollm => &[deepseek::isolate_numbers, gpt2::split],
        PreTokenizer::Gpt2 => &[gpt2::split],
        PreTokenizer::DeepseekLlm => deepseek::DEEPSEEK_LLM,
    };

    s.ends.push(n);
    for stage in stages {
        s.next.clear();
        let mut lo = 0;
        for &hi in &s.ends {
            stage(&s.cps, &s.flags, lo, hi, &mut s.next);
            lo = hi;
        }
        debug_assert!(
            s.next.len() <= n,
            "a stage made more pieces than code points"
        );
        core::mem::swap(&mut s.ends, &mut s.next);
    }

    grow::reserve(out, s.ends.len())?;
    let mut lo = 0;
    for &hi in &s.ends {
        debug_assert!(lo < hi);
        out.push(s.offsets[lo]..s.offsets[hi]);
        lo = hi;
    }
    Ok(())
}

/// Piece-end collector shared by the stages: pushes an end only when the piece is non-empty.
pub(super) struct Ends<'o> {
    out: &'o mut Vec<usize>,
    prev: usize,
}

impl<'o> Ends<'o> {
    pub(super) fn new(out: &'o mut Vec<usize>, lo: usize) -> Self {
        Ends { out, prev: lo }
    }
    /// Ends the current piece at `end`.
    #[inline]
    pub(super) fn cut(&mut self, end: usize) {
        if end > self.prev {
            self.out.push(end);
            self.prev = end;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::String;

    /// Splits `text` with `kind` and returns the words.
    pub(crate) fn words(kind: PreTokenizer, text: &str) -> Vec<String> {
        let mut s = SplitScratch::default();
        let mut out = Vec::new();
        split(kind, text, &mut s, &mut out).unwrap();
        let mut end = 0;
        for r in &out {
            assert_eq!(r.start, end, "words cover the text in order");
            end = r.end;
        }
        assert_eq!(end, text.len());
        out.into_iter().map(|r| String::from(&text[r])).collect()
    }

    #[test]
    fn names() {
        for name in SUPPORTED_PRE_TOKENIZERS {
            PreConfig::from_name(name).unwrap();
        }
        let e = PreConfig::from_name("tekken").unwrap_err();
        let msg = alloc::format!("{e}");
        assert!(
            msg.contains("tekken") && msg.contains("deepseek-r1-qwen"),
            "{msg}"
        );
        assert_eq!(
            PreConfig::from_name("deepseek-r1-qwen").unwrap(),
            PreConfig::from_name("qwen2").unwrap()
        );
    }

    #[test]
    fn empty() {
        for kind in [
            PreTokenizer::Qwen2,
            PreTokenizer::Llama3,
            PreTokenizer::Smollm,
            PreTokenizer::Gpt2,
            PreTokenizer::DeepseekLlm,
        ] {
            assert!(words(kind, "").is_empty());
        }
    }
}

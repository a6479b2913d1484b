//! Splitting text at special tokens before BPE, as llama.cpp does.
//!
//! Special tokens are taken one at a time, longest text first; each one cuts every text
//! fragment left at all its non-overlapping occurrences, leftmost first. Control and unknown
//! tokens take part only with `parse_special`; user-defined tokens (`<think>`) always do.
//! So with overlapping candidates the longer token wins even when it starts later.
//! Occurrences that overlap a protected span (a chat message's content) are never matched,
//! whatever the token's kind: that text is tokenized as text.

use alloc::vec::Vec;

use super::Error;
use super::error::grow;
use core::ops::Range;

use super::vocab::Vocab;

/// A piece of the input: text for BPE, or a special token matched whole.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Fragment {
    /// Byte range of the input.
    Text(Range<usize>),
    /// A special token.
    Token(u32),
}

/// Splits `text` into fragments at special tokens. `order` is the match order (longest
/// first); `protected`: byte ranges (sorted, disjoint) where no token may match.
pub(crate) fn partition(
    vocab: &Vocab<'_>,
    order: &[u32],
    text: &str,
    parse_special: bool,
    protected: &[Range<usize>],
    out: &mut Vec<Fragment>,
) -> Result<(), Error> {
    out.clear();
    if text.is_empty() {
        return Ok(());
    }
    grow::push(out, Fragment::Text(0..text.len()))?;
    let mut next = Vec::new();
    for &id in order {
        let attrs = vocab.attrs[id as usize];
        if !parse_special && (attrs.is_control() || attrs.is_unknown()) {
            continue;
        }
        let pattern = vocab.strings.get(id);
        if pattern.is_empty()
            || !out
                .iter()
                .any(|f| matches!(f, Fragment::Text(r) if text[r.clone()].contains(pattern)))
        {
            continue;
        }
        next.clear();
        for f in out.drain(..) {
            let Fragment::Text(r) = f else {
                grow::push(&mut next, f)?;
                continue;
            };
            let (mut start, mut from) = (r.start, r.start);
            while let Some(pos) = text[from..r.end].find(pattern) {
                let m = from + pos;
                let end = m + pattern.len();
                if overlaps(protected, m..end) {
                    // Look again one character further on.
                    from = m + text[m..].chars().next().map_or(1, char::len_utf8);
                    continue;
                }
                if m > start {
                    grow::push(&mut next, Fragment::Text(start..m))?;
                }
                grow::push(&mut next, Fragment::Token(id))?;
                start = end;
                from = end;
            }
            if start < r.end {
                grow::push(&mut next, Fragment::Text(start..r.end))?;
            }
        }
        core::mem::swap(out, &mut next);
    }
    Ok(())
}

/// Whether `r` shares a byte with one of the sorted, disjoint `spans`.
fn overlaps(spans: &[Range<usize>], r: Range<usize>) -> bool {
    // The first span that ends after `r` starts is the only candidate.
    let i = spans.partition_point(|s| s.end <= r.start);
    spans.get(i).is_some_and(|s| s.start < r.end)
}

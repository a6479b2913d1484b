//! Byte-level BPE over one word: start from one symbol per byte, repeatedly merge the
//! adjacent pair with the lowest merge rank (leftmost first among equal ranks), until no
//! adjacent pair has a merge.
//!
//! Symbols form a doubly linked list over a vector; candidate pairs wait in a binary heap
//! keyed by (rank, left position). A merge invalidates the candidates that touched either
//! symbol; they are recognised when popped (a symbol is gone or its id changed) and dropped.
//! Every merge pushes at most two candidates, so a word of n bytes costs at most 3n heap
//! operations (O(n log n)), whatever its content: 10,000 identical characters included.
//! Words of at most 16 bytes (nearly all words) skip the heap: each step scans their few
//! symbols for the lowest-ranked pair, which makes the same merges with less bookkeeping
//! (~1.3x faster encoding of prompt-sized texts; a test checks both paths agree).
//! Source of the method: GPT-2's `bpe()`; the tie-break is llama.cpp's.

use alloc::collections::BinaryHeap;
use alloc::string::String;
use alloc::vec::Vec;

use super::Error;
use super::error::grow;
use core::cmp::Ordering;

use super::byte_level;
use super::vocab::{Merge, Vocab};

const NONE: u32 = u32::MAX;

#[derive(Clone, Copy)]
struct Sym {
    /// Symbol id (a token id, or synthetic from `n_vocab` on).
    id: u32,
    /// Byte range of its text in the byte-level encoded word.
    start: u32,
    end: u32,
    prev: u32,
    next: u32,
    alive: bool,
}

/// A candidate merge of the symbols at positions `left` and `right`.
#[derive(Clone, Copy, PartialEq, Eq)]
struct Candidate {
    rank: u32,
    left: u32,
    right: u32,
    /// Symbol ids when the candidate was made; a mismatch later means it is stale.
    left_id: u32,
    right_id: u32,
    result: u32,
}

impl Ord for Candidate {
    fn cmp(&self, other: &Self) -> Ordering {
        // BinaryHeap pops the greatest: lowest rank, then leftmost, is the greatest.
        (other.rank, other.left).cmp(&(self.rank, self.left))
    }
}

impl PartialOrd for Candidate {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Work counters of an encode call (for tests of complexity, and for benchmarks).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EncodeStats {
    /// Words given to BPE (after the pre-tokenizer; a word seen before in the same call
    /// reuses its ids and is not counted).
    pub words: u64,
    /// Candidate pairs popped from the heap, stale ones included: the merge engine's steps.
    pub merge_steps: u64,
    /// Merges applied.
    pub merges: u64,
}

/// Reusable buffers for [`bpe_word`].
#[derive(Default)]
pub(crate) struct BpeScratch {
    syms: Vec<Sym>,
    heap: BinaryHeap<Candidate>,
    text: String,
    /// Merge every word with the heap, short ones included (tests compare the two paths).
    heap_only: bool,
}

fn push_candidate(
    vocab: &Vocab<'_>,
    text: &str,
    syms: &[Sym],
    heap: &mut BinaryHeap<Candidate>,
    left: u32,
    right: u32,
) -> Result<(), Error> {
    if left == NONE || right == NONE {
        return Ok(());
    }
    let (l, r) = (syms[left as usize], syms[right as usize]);
    let (start, mid, end) = (l.start as usize, l.end as usize, r.end as usize);
    if let Some(m) = vocab.merge(l.id, r.id, &text[start..end], mid - start) {
        heap.try_reserve(1)
            .map_err(|_| Error::oom::<Candidate>(heap.len() + 1))?;
        heap.push(Candidate {
            rank: m.rank,
            left,
            right,
            left_id: l.id,
            right_id: r.id,
            result: m.result,
        });
    }
    Ok(())
}

/// Appends the token ids of `word` (raw bytes of one pre-tokenizer word) to `out`.
///
/// `ignore_merges`: emit the whole word as one token when its byte-level text is a token.
pub(crate) fn bpe_word(
    vocab: &Vocab<'_>,
    word: &[u8],
    ignore_merges: bool,
    s: &mut BpeScratch,
    stats: &mut EncodeStats,
    out: &mut Vec<u32>,
) -> Result<(), Error> {
    stats.words += 1;
    s.text.clear();
    // A byte-level character is at most 2 bytes of UTF-8.
    s.text
        .try_reserve(word.len().saturating_mul(2))
        .map_err(|_| Error::oom::<u8>(word.len().saturating_mul(2)))?;
    byte_level::encode_into(word, &mut s.text);
    if ignore_merges {
        if let Some(id) = vocab.token_id(&s.text) {
            return grow::push(out, id);
        }
    }
    if s.text.len() > u32::MAX as usize / 2 {
        // Not reachable from `encode` in practice (a 2 GiB word); stay correct anyway by
        // splitting, which only changes merges across the cut.
        let (a, b) = word.split_at(word.len() / 2);
        bpe_word(vocab, a, false, s, stats, out)?;
        return bpe_word(vocab, b, false, s, stats, out);
    }

    let n = word.len() as u32;
    s.syms.clear();
    s.heap.clear();
    grow::reserve(&mut s.syms, word.len())?;
    let mut at = 0u32;
    s.syms.extend(word.iter().enumerate().map(|(i, &b)| {
        let i = i as u32;
        let start = at;
        at += byte_level::BYTE_TO_CHAR[b as usize].len_utf8() as u32;
        Sym {
            id: vocab.byte_sym[b as usize],
            start,
            end: at,
            prev: if i == 0 { NONE } else { i - 1 },
            next: if i + 1 == n { NONE } else { i + 1 },
            alive: true,
        }
    }));
    let text = s.text.as_str();
    if n as usize <= SHORT_WORD && !s.heap_only {
        merge_short(vocab, text, &mut s.syms, stats);
    } else {
        merge_long(vocab, text, &mut s.syms, &mut s.heap, stats)?;
    }

    // Position 0 is never merged away (merges absorb the right symbol).
    let mut i = 0;
    while i != NONE {
        let sym = s.syms[i as usize];
        emit_symbol(vocab, sym.id, out)?;
        i = sym.next;
    }
    Ok(())
}

/// Words of at most this many bytes (nearly all) are merged by [`merge_short`].
const SHORT_WORD: usize = 16;

/// Merge of the symbols at `left` and its successor, if both exist and the vocabulary has one.
#[inline]
fn pair_merge(vocab: &Vocab<'_>, text: &str, syms: &[Sym], left: u32) -> Option<Merge> {
    if left == NONE {
        return None;
    }
    let l = syms[left as usize];
    if l.next == NONE {
        return None;
    }
    let r = syms[l.next as usize];
    let (start, mid, end) = (l.start as usize, l.end as usize, r.end as usize);
    vocab.merge(l.id, r.id, &text[start..end], mid - start)
}

/// Joins the symbol at `left` with its successor into `result`.
#[inline]
fn join(syms: &mut [Sym], left: u32, result: u32) {
    let right = syms[left as usize].next;
    let r = syms[right as usize];
    let l = &mut syms[left as usize];
    l.id = result;
    l.end = r.end;
    l.next = r.next;
    syms[right as usize].alive = false;
    if r.next != NONE {
        syms[r.next as usize].prev = left;
    }
}

/// The same merges as [`merge_long`] for a short word, without a heap: each adjacent pair's
/// merge is kept beside its left symbol, and every step scans the (at most [`SHORT_WORD`])
/// symbols for the lowest rank, leftmost first. Vocabulary lookups are the same in number
/// (one per new adjacent pair); the heap's pushes, pops and stale entries are gone.
fn merge_short(vocab: &Vocab<'_>, text: &str, syms: &mut [Sym], stats: &mut EncodeStats) {
    let mut pair = [None::<Merge>; SHORT_WORD];
    for (i, p) in pair.iter_mut().enumerate().take(syms.len()) {
        *p = pair_merge(vocab, text, syms, i as u32);
    }
    loop {
        stats.merge_steps += 1;
        let mut best: Option<(u32, Merge)> = None;
        let mut i = 0;
        while i != NONE {
            if let Some(m) = pair[i as usize] {
                if best.is_none_or(|(_, b)| m.rank < b.rank) {
                    best = Some((i, m));
                }
            }
            i = syms[i as usize].next;
        }
        let Some((left, m)) = best else { break };
        stats.merges += 1;
        join(syms, left, m.result);
        pair[left as usize] = pair_merge(vocab, text, syms, left);
        let prev = syms[left as usize].prev;
        if prev != NONE {
            pair[prev as usize] = pair_merge(vocab, text, syms, prev);
        }
    }
}

/// Merges by a heap of candidate pairs (see the module docs): O(n log n) for any word.
fn merge_long(
    vocab: &Vocab<'_>,
    text: &str,
    syms: &mut [Sym],
    heap: &mut BinaryHeap<Candidate>,
    stats: &mut EncodeStats,
) -> Result<(), Error> {
    let n = syms.len() as u32;
    for i in 1..n {
        push_candidate(vocab, text, syms, heap, i - 1, i)?;
    }

    while let Some(c) = heap.pop() {
        stats.merge_steps += 1;
        let (l, r) = (syms[c.left as usize], syms[c.right as usize]);
        if !l.alive || !r.alive || l.id != c.left_id || r.id != c.right_id {
            continue; // stale
        }
        stats.merges += 1;
        join(syms, c.left, c.result);
        push_candidate(vocab, text, syms, heap, l.prev, c.left)?;
        push_candidate(vocab, text, syms, heap, c.left, r.next)?;
    }
    Ok(())
}

/// Pushes a symbol's token id; a synthetic symbol (not a token) falls back to the tokens of
/// its single-byte characters, as llama.cpp does, dropping those that are not tokens.
fn emit_symbol(vocab: &Vocab<'_>, id: u32, out: &mut Vec<u32>) -> Result<(), Error> {
    if (id as usize) < vocab.n_vocab() {
        return grow::push(out, id);
    }
    let text = vocab.strings.get(id);
    let mut buf = [0u8; 4];
    for c in text.chars().filter(|c| c.is_ascii()) {
        if let Some(t) = vocab.token_id(c.encode_utf8(&mut buf)) {
            grow::push(out, t)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tokenizer::vocab::Vocab;
    use alloc::vec;

    fn run(v: &Vocab<'_>, word: &str) -> (Vec<u32>, EncodeStats) {
        let mut s = BpeScratch::default();
        let mut st = EncodeStats::default();
        let mut out = Vec::new();
        bpe_word(v, word.as_bytes(), false, &mut s, &mut st, &mut out).unwrap();
        (out, st)
    }

    #[test]
    fn lowest_rank_then_leftmost() {
        //            0    1    2     3     4      5
        let v = Vocab::new(
            vec!["a", "b", "ab", "aa", "aab", "aaa"],
            vec![],
            ["a b", "a a", "aa b", "aa a"].into_iter(),
        );
        assert_eq!(run(&v, "ab").0, [2]);
        // "aab": a+b (rank 0) beats a+a (rank 1): a, ab.
        assert_eq!(run(&v, "aab").0, [0, 2]);
        // "aaa": a+a at 0 first (leftmost), then aa+a.
        assert_eq!(run(&v, "aaa").0, [5]);
        assert_eq!(run(&v, "aaaa").0, [3, 3]);
        assert_eq!(run(&v, "ba").0, [1, 0]);
    }

    #[test]
    fn short_words_merge_as_the_heap_does() {
        // Overlapping merges, equal concatenations from different splits, a result that is
        // not a token: ties and stale candidates everywhere.
        let v = Vocab::new(
            vec![
                "a", "b", "c", "ab", "ba", "aa", "bb", "aba", "aab", "ca", "abc", "abab",
            ],
            vec![],
            [
                "a b", "b a", "a a", "b b", "ab a", "aa b", "c a", "ab c", "ab ab", "a ba", "ca b",
                "bb a",
            ]
            .into_iter(),
        );
        let mut seed = 0x1234_5678_u32;
        let mut s = BpeScratch::default();
        for _ in 0..5000 {
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;
            let len = 1 + (seed % SHORT_WORD as u32) as usize;
            let word: Vec<u8> = (0..len)
                .map(|i| b"abc"[((seed >> (2 * (i % 15))) % 3) as usize])
                .collect();
            let mut ids = [Vec::new(), Vec::new()];
            for (heap_only, out) in [false, true].into_iter().zip(&mut ids) {
                s.heap_only = heap_only;
                bpe_word(&v, &word, false, &mut s, &mut EncodeStats::default(), out).unwrap();
            }
            assert_eq!(ids[0], ids[1], "{:?}", core::str::from_utf8(&word));
        }
    }

    #[test]
    fn synthetic_symbols_fall_back_to_bytes() {
        // "xy" is a merge result but not a token: emitted as its characters' tokens.
        let v = Vocab::new(vec!["x", "y", "z"], vec![], ["x y"].into_iter());
        assert_eq!(run(&v, "xyz").0, [0, 1, 2]);
    }

    #[test]
    fn linear_work_on_long_runs() {
        let v = Vocab::new(
            vec!["a", "aa", "aaaa", "aaaaaaaa"],
            vec![],
            ["a a", "aa aa", "aaaa aaaa"].into_iter(),
        );
        for n in [1000usize, 10_000] {
            let word = "a".repeat(n);
            let (ids, st) = run(&v, &word);
            assert_eq!(ids.len(), n / 8 + (n % 8).count_ones() as usize);
            assert!(
                st.merge_steps <= 3 * n as u64,
                "{n}: {} steps",
                st.merge_steps
            );
        }
    }
}

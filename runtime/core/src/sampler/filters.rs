//! The stages of the sampler chain, each over a slice of [`Candidate`]s, in place.
//!
//! Semantics follow llama.cpp's samplers (`src/llama-sampler.cpp`), re-derived here:
//! a stage that shrinks the set returns the new length (the kept candidates are the slice's
//! prefix); `sorted` means the slice is in [`cmp_desc`] order. No stage allocates.
//! Ties are broken by the lower token id everywhere, so results never depend on the sort
//! algorithm (llama.cpp's partial sort leaves tie order unspecified).

use core::cmp::Ordering;

use super::{expf, logf};

/// One token's entry in the candidate set.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Candidate {
    /// Token id (vocabulary index).
    pub id: u32,
    /// Logit after the stages applied so far.
    pub logit: f32,
    /// Probability, filled by [`softmax`] (and by the stages that call it).
    pub p: f32,
}

/// Total order used for every sort: higher logit first, then lower id first.
/// Logits are never NaN here (the sampler maps NaN to −∞ on entry).
#[inline]
pub fn cmp_desc(a: &Candidate, b: &Candidate) -> Ordering {
    b.logit.total_cmp(&a.logit).then(a.id.cmp(&b.id))
}

/// Sorts `c` by [`cmp_desc`] in place (unstable sort: no allocation; the order is total,
/// so the result is unique).
pub fn sort_desc(c: &mut [Candidate]) {
    c.sort_unstable_by(cmp_desc);
}

/// Index of the largest logit, the first (lowest index) winning an exact tie, as
/// llama.cpp's greedy and temperature-0 samplers pick. `None` when `c` is empty.
pub fn argmax(c: &[Candidate]) -> Option<usize> {
    let mut best: Option<(usize, f32)> = None;
    for (i, x) in c.iter().enumerate() {
        match best {
            Some((_, l)) if x.logit <= l => {}
            _ => best = Some((i, x.logit)),
        }
    }
    best.map(|(i, _)| i)
}

/// Repetition penalties for one token seen `count` (> 0) times in the window:
/// a positive logit is divided by `repeat`, a non-positive one multiplied by it, then
/// `count × freq + present` is subtracted. Source: llama.cpp `llama_sampler_penalties`.
#[inline]
pub fn penalize(logit: f32, count: u32, repeat: f32, freq: f32, present: f32) -> f32 {
    let l = if logit <= 0.0 {
        logit * repeat
    } else {
        logit / repeat
    };
    l - count as f32 * freq - if count > 0 { present } else { 0.0 }
}

/// Calls `f(id, count)` once per distinct id of a **sorted** slice of ids.
pub fn for_each_run(sorted_ids: &[u32], mut f: impl FnMut(u32, u32)) {
    let mut i = 0;
    while i < sorted_ids.len() {
        let id = sorted_ids[i];
        let mut j = i + 1;
        while j < sorted_ids.len() && sorted_ids[j] == id {
            j += 1;
        }
        f(id, (j - i) as u32);
        i = j;
    }
}

/// Top-k: keeps the `k` best candidates, sorted. `k == 0` is a no-op; `k ≥ len` keeps all
/// but still sorts (as llama.cpp does). Returns (new length, sorted).
pub fn top_k(c: &mut [Candidate], sorted: bool, k: u32) -> (usize, bool) {
    if k == 0 || c.is_empty() {
        return (c.len(), sorted);
    }
    let k = (k as usize).min(c.len());
    if !sorted {
        if k < c.len() {
            c.select_nth_unstable_by(k - 1, cmp_desc);
        }
        sort_desc(&mut c[..k]);
    }
    (k, true)
}

/// Softmax of the logits into `p` (max-subtracted, f32 like llama.cpp). Returns the sum of
/// the unnormalised terms (≥ 1 when the max is finite).
pub fn softmax(c: &mut [Candidate]) -> f32 {
    let max = c.iter().fold(f32::NEG_INFINITY, |m, x| m.max(x.logit));
    let mut sum = 0.0f32;
    for x in c.iter_mut() {
        x.p = expf(x.logit - max);
        sum += x.p;
    }
    for x in c.iter_mut() {
        x.p /= sum;
    }
    sum
}

/// Top-p (nucleus): keeps the shortest prefix of the sorted distribution whose probability
/// sum reaches `p` (and at least `min_keep` tokens). `p ≥ 1` is a no-op. Probabilities are
/// those of the current logits (llama.cpp applies temperature after this stage).
/// Sorts only the top 256 first when the set is large, the whole set if that is not enough.
/// Returns (new length, sorted).
pub fn top_p(c: &mut [Candidate], sorted: bool, p: f32, min_keep: u32) -> (usize, bool) {
    if p >= 1.0 || c.is_empty() {
        return (c.len(), sorted);
    }
    softmax(c);
    let n = c.len();
    let min_keep = min_keep as usize;
    let scan = |c: &[Candidate], upto: usize| -> Option<usize> {
        let mut cum = 0.0f32;
        for (i, x) in c[..upto].iter().enumerate() {
            cum += x.p;
            if cum >= p && i + 1 >= min_keep {
                return Some(i + 1);
            }
        }
        None
    };
    if !sorted {
        const FIRST: usize = 256;
        if n > 4 * FIRST {
            c.select_nth_unstable_by(FIRST - 1, cmp_desc);
            sort_desc(&mut c[..FIRST]);
            if let Some(len) = scan(c, FIRST) {
                return (len, true);
            }
        }
        sort_desc(c);
    }
    (scan(c, n).unwrap_or(n), true)
}

/// Min-p: keeps tokens whose probability is at least `p` × the top probability, i.e.
/// `logit ≥ max_logit + ln p`, and at least `min_keep` (and always the best one).
/// `p ≤ 0` is a no-op. An unsorted set keeps its order (compacted in place).
/// Returns (new length, sorted).
pub fn min_p(c: &mut [Candidate], sorted: bool, p: f32, min_keep: u32) -> (usize, bool) {
    if p <= 0.0 || c.is_empty() {
        return (c.len(), sorted);
    }
    let min_keep = min_keep as usize;
    if sorted {
        let threshold = c[0].logit + logf(p);
        let mut i = 1;
        while i < c.len() && (c[i].logit >= threshold || i < min_keep) {
            i += 1;
        }
        return (i, true);
    }
    let max = c.iter().fold(f32::NEG_INFINITY, |m, x| m.max(x.logit));
    let threshold = max + logf(p);
    let kept = c.iter().filter(|x| x.logit >= threshold).count();
    if kept == 0 || kept < min_keep {
        sort_desc(c);
        return min_p(c, true, p, min_keep as u32);
    }
    let mut w = 0;
    for r in 0..c.len() {
        if c[r].logit >= threshold {
            c[w] = c[r];
            w += 1;
        }
    }
    (w, false)
}

/// Temperature: divides every logit by `t` (> 0; the sampler handles t ≤ 0 as greedy).
pub fn temperature(c: &mut [Candidate], t: f32) {
    for x in c.iter_mut() {
        // A masked logit (−∞) stays masked whatever `t` is (−∞/+∞ would be NaN), and a
        // finite logit stays finite: a quotient past ±f32::MAX (a tiny `t`) is capped, so
        // the draw never meets NaN nor an unmasked candidate turned −∞. Neither changes a
        // finite quotient.
        if x.logit != f32::NEG_INFINITY {
            x.logit = (x.logit / t).clamp(-f32::MAX, f32::MAX);
        }
    }
}

/// Draws one index from the softmax of `c` given a uniform `u` in [0, 1): the first index
/// whose running sum of unnormalised probabilities reaches `u ×` their total (sums in f64,
/// as llama.cpp's `dist`). Fills `p` with the normalised probabilities.
/// Only a candidate of non-zero probability is drawn (a −∞ logit never is, even for
/// `u` = 0). `c` must be non-empty; returns the last index of non-zero probability if
/// rounding leaves the target unreached (the last index if there is none).
pub fn draw(c: &mut [Candidate], u: f64) -> usize {
    let max = c.iter().fold(f32::NEG_INFINITY, |m, x| m.max(x.logit));
    let mut total = 0.0f64;
    for x in c.iter_mut() {
        x.p = expf(x.logit - max);
        total += x.p as f64;
    }
    let target = total * u;
    let mut run = 0.0f64;
    let mut chosen = None;
    let mut last_possible = None;
    for (i, x) in c.iter_mut().enumerate() {
        run += x.p as f64;
        if x.p > 0.0 {
            last_possible = Some(i);
            if chosen.is_none() && run >= target {
                chosen = Some(i);
            }
        }
        x.p = (x.p as f64 / total) as f32;
    }
    chosen
        .or(last_possible)
        .unwrap_or(c.len().saturating_sub(1))
}

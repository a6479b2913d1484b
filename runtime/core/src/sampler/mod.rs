//! Token sampler: logits → next token id, deterministic for a given seed.
//!
//! The chain is llama.cpp's default order: repetition penalties → top-k → top-p → min-p →
//! temperature → random draw ([`filters`] has each stage and its exact semantics).
//! Temperature ≤ 0 is greedy: argmax of the penalised logits, the lowest id winning an
//! exact tie (llama.cpp's temperature-0 behaviour; the filters never drop the argmax).
//!
//! Random numbers come from our own xoshiro256** ([`Rng`]), one draw per sampled token
//! (none when greedy), so the same seed and logits give the same ids on every target.
//!
//! All buffers (the candidate set, sized for the vocabulary, and the repetition window) are
//! allocated once in [`Sampler::new`]; [`Sampler::sample`], [`Sampler::sample_masked`] and
//! [`Sampler::accept`] never allocate.
//!
//! Constrained decoding ([`Sampler::sample_masked`]): the candidate set is built from the
//! allowed ids only, before every stage of the chain, so a masked token is never a candidate
//! (no penalty, filter or temperature can bring it back) and greedy is the argmax over the
//! allowed ids.
//!
//! ```
//! use bague::sampler::{Sampler, SamplerConfig};
//! let mut s = Sampler::new(SamplerConfig { seed: 7, ..SamplerConfig::LLAMA_DEFAULTS }, 4).unwrap();
//! let id = s.sample(&[0.1, 2.0, 0.3, -1.0]).unwrap();
//! s.accept(id);
//! assert!(id < 4);
//! ```

mod config;
pub mod filters;
mod rng;

use alloc::vec::Vec;
use core::fmt;

use crate::constraint::TokenMask;

pub use config::{
    FileSampling, KEY_MIN_P, KEY_PENALTY_LAST_N, KEY_PENALTY_REPEAT, KEY_TEMP, KEY_TOP_K,
    KEY_TOP_P, MAX_PENALTY_LAST_N, MetadataLookup, ModelHints, SamplerConfig,
};
pub use filters::Candidate;
pub use rng::Rng;

#[cfg(feature = "std")]
#[inline]
pub(crate) fn expf(x: f32) -> f32 {
    x.exp()
}
#[cfg(feature = "std")]
#[inline]
pub(crate) fn logf(x: f32) -> f32 {
    x.ln()
}
#[cfg(not(feature = "std"))]
pub(crate) use libm::{expf, logf};

/// Why sampling failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SamplerError {
    /// A configuration field is out of range or NaN (see [`SamplerConfig::validate`]).
    BadConfig {
        /// Name of the field.
        field: &'static str,
    },
    /// The vocabulary size is 0 or does not fit a u32 token id.
    BadVocabSize {
        /// The size given.
        n_vocab: usize,
    },
    /// `logits.len()` differs from the vocabulary size the sampler was built for.
    LogitsLen {
        /// n_vocab.
        expected: usize,
        /// logits.len().
        got: usize,
    },
    /// Every logit is −∞ or NaN, or the token mask allows nothing: there is nothing to
    /// sample.
    AllMasked,
    /// The token mask is for another vocabulary size than the sampler's.
    MaskLen {
        /// n_vocab.
        expected: usize,
        /// The mask's vocabulary size.
        got: usize,
    },
    /// The candidate buffer could not be allocated.
    OutOfMemory {
        /// Bytes requested.
        bytes: usize,
    },
}

impl fmt::Display for SamplerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SamplerError::BadConfig { field } => write!(f, "sampler: invalid setting `{field}`"),
            SamplerError::BadVocabSize { n_vocab } => {
                write!(f, "sampler: vocabulary size {n_vocab} is not in 1..=2^32")
            }
            SamplerError::LogitsLen { expected, got } => {
                write!(f, "sampler: got {got} logits, vocabulary has {expected}")
            }
            SamplerError::AllMasked => {
                write!(f, "sampler: every allowed logit is -inf or NaN")
            }
            SamplerError::MaskLen { expected, got } => {
                write!(
                    f,
                    "sampler: the token mask covers {got} tokens, vocabulary has {expected}"
                )
            }
            SamplerError::OutOfMemory { bytes } => {
                write!(f, "sampler: cannot allocate {bytes} bytes of candidates")
            }
        }
    }
}

impl core::error::Error for SamplerError {}

/// The sampler: settings, RNG, repetition window and scratch buffers.
#[derive(Clone, Debug)]
pub struct Sampler {
    cfg: SamplerConfig,
    rng: Rng,
    n_vocab: usize,
    /// `[n_vocab]` candidates; after `sample` the first `n_kept` are the final set.
    cands: Vec<Candidate>,
    n_kept: usize,
    /// Ring of the last `penalty_last_n` accepted ids; `head` is the next slot to overwrite.
    window: Vec<u32>,
    head: usize,
    /// `[penalty_last_n]` scratch for counting ids in the window.
    scratch: Vec<u32>,
}

impl Sampler {
    /// A sampler for a vocabulary of `n_vocab` tokens.
    /// Allocates n_vocab × 12 bytes of candidates and 2 × penalty_last_n × 4 bytes.
    /// Errors: `BadConfig`, `BadVocabSize`, `OutOfMemory`.
    pub fn new(cfg: SamplerConfig, n_vocab: usize) -> Result<Self, SamplerError> {
        cfg.validate()?;
        if n_vocab == 0 || u32::try_from(n_vocab - 1).is_err() {
            return Err(SamplerError::BadVocabSize { n_vocab });
        }
        let mut cands = Vec::new();
        cands
            .try_reserve_exact(n_vocab)
            .map_err(|_| SamplerError::OutOfMemory {
                bytes: n_vocab.saturating_mul(core::mem::size_of::<Candidate>()),
            })?;
        let w = cfg.penalty_last_n as usize;
        let (mut window, mut scratch) = (Vec::new(), Vec::new());
        if window.try_reserve_exact(w).is_err() || scratch.try_reserve_exact(w).is_err() {
            return Err(SamplerError::OutOfMemory {
                bytes: w.saturating_mul(2 * core::mem::size_of::<u32>()),
            });
        }
        Ok(Sampler {
            cfg,
            rng: Rng::new(cfg.seed),
            n_vocab,
            cands,
            n_kept: 0,
            window,
            head: 0,
            scratch,
        })
    }

    /// The settings in use.
    pub fn config(&self) -> &SamplerConfig {
        &self.cfg
    }

    /// Vocabulary size the sampler was built for.
    pub fn n_vocab(&self) -> usize {
        self.n_vocab
    }

    /// Changes the settings between generations, keeping what a conversation carries: the
    /// RNG state (unless the seed changes: then it restarts from the new seed) and the
    /// repetition window (its most recent `penalty_last_n` ids). A no-op when `cfg` equals
    /// the current settings.
    /// Errors: `BadConfig`, `OutOfMemory` (a larger window); the sampler is unchanged then.
    pub fn set_config(&mut self, cfg: SamplerConfig) -> Result<(), SamplerError> {
        if cfg == self.cfg {
            return Ok(());
        }
        cfg.validate()?;
        let (old, new) = (
            self.cfg.penalty_last_n as usize,
            cfg.penalty_last_n as usize,
        );
        if new != old {
            // Oldest to newest, then keep the newest `new`.
            let mut ids = Vec::new();
            self.scratch.clear();
            if ids.try_reserve_exact(new.max(self.window.len())).is_err()
                || self.scratch.try_reserve_exact(new).is_err()
            {
                return Err(SamplerError::OutOfMemory {
                    bytes: new.saturating_mul(2 * core::mem::size_of::<u32>()),
                });
            }
            ids.extend_from_slice(&self.window[self.head..]);
            ids.extend_from_slice(&self.window[..self.head]);
            let drop = ids.len().saturating_sub(new);
            ids.drain(..drop);
            self.window = ids;
            self.head = 0;
        }
        if cfg.seed != self.cfg.seed {
            self.rng = Rng::new(cfg.seed);
        }
        self.cfg = cfg;
        Ok(())
    }

    /// Forgets the repetition window and reseeds the RNG with the configured seed.
    pub fn reset(&mut self) {
        self.window.clear();
        self.head = 0;
        self.n_kept = 0;
        self.rng = Rng::new(self.cfg.seed);
    }

    /// Records a token as part of the history that penalties look at (the generated token
    /// after each `sample`; llama-cli also feeds the prompt tokens). No allocation.
    pub fn accept(&mut self, id: u32) {
        let cap = self.cfg.penalty_last_n as usize;
        if cap == 0 {
            return;
        }
        if self.window.len() < cap {
            self.window.push(id);
        } else {
            self.window[self.head] = id;
            self.head = (self.head + 1) % cap;
        }
    }

    /// The repetition window (at most `penalty_last_n` ids, in ring order once full).
    pub fn window(&self) -> &[u32] {
        &self.window
    }

    /// Picks the next token from `logits` (`[n_vocab]` f32, the model's output at the last
    /// position). Does not [`accept`](Self::accept) it. NaN logits count as −∞, +∞ as f32::MAX.
    /// Errors: `LogitsLen`, `AllMasked`. No allocation.
    pub fn sample(&mut self, logits: &[f32]) -> Result<u32, SamplerError> {
        if logits.len() != self.n_vocab {
            return Err(SamplerError::LogitsLen {
                expected: self.n_vocab,
                got: logits.len(),
            });
        }
        self.cands.clear();
        self.cands
            .extend(logits.iter().enumerate().map(|(i, &l)| Candidate {
                id: i as u32,
                logit: clean(l),
                p: 0.0,
            }));
        self.choose()
    }

    /// [`sample`](Self::sample) over the ids `mask` allows: the candidate set holds only
    /// them from the start, so every stage (penalties included) sees the allowed ids alone.
    /// Errors: `LogitsLen`, `MaskLen`, `AllMasked` (the mask is empty, or every allowed logit
    /// is −∞ or NaN). No allocation.
    pub fn sample_masked(&mut self, logits: &[f32], mask: &TokenMask) -> Result<u32, SamplerError> {
        if logits.len() != self.n_vocab {
            return Err(SamplerError::LogitsLen {
                expected: self.n_vocab,
                got: logits.len(),
            });
        }
        if mask.n_vocab() != self.n_vocab {
            return Err(SamplerError::MaskLen {
                expected: self.n_vocab,
                got: mask.n_vocab(),
            });
        }
        self.cands.clear();
        let cands = &mut self.cands;
        mask.for_each_allowed(|id| {
            cands.push(Candidate {
                id,
                logit: clean(logits[id as usize]),
                p: 0.0,
            })
        });
        self.choose()
    }

    /// The chain over `self.cands` (in id order): penalties, then greedy or the filters
    /// and a draw.
    fn choose(&mut self) -> Result<u32, SamplerError> {
        self.apply_penalties();

        let best = filters::argmax(&self.cands).ok_or(SamplerError::AllMasked)?;
        if self.cands[best].logit == f32::NEG_INFINITY {
            return Err(SamplerError::AllMasked);
        }
        let cfg = self.cfg;
        if cfg.is_greedy() {
            self.cands.swap(0, best);
            self.cands[0].p = 1.0;
            self.n_kept = 1;
            return Ok(self.cands[0].id);
        }

        let c = &mut self.cands[..];
        let (n, sorted) = filters::top_k(c, false, cfg.top_k);
        let (n, sorted) = filters::top_p(&mut c[..n], sorted, cfg.top_p, cfg.min_keep);
        let (n, _) = filters::min_p(&mut c[..n], sorted, cfg.min_p, cfg.min_keep);
        filters::temperature(&mut c[..n], cfg.temp);
        let u = self.rng.next_f64();
        let i = filters::draw(&mut c[..n], u);
        self.n_kept = n;
        Ok(c[i].id)
    }

    /// [`sample`](Self::sample) then [`accept`](Self::accept).
    pub fn sample_and_accept(&mut self, logits: &[f32]) -> Result<u32, SamplerError> {
        let id = self.sample(logits)?;
        self.accept(id);
        Ok(id)
    }

    /// The candidate set that the last `sample` drew from (after every filter, with `p`
    /// normalised over it; greedy: the one chosen token). Empty before the first call.
    pub fn last_candidates(&self) -> &[Candidate] {
        &self.cands[..self.n_kept]
    }

    /// Penalties over the window, applied to `cands` while it is still in id order (every
    /// id, or the allowed ids of a mask: then found by binary search).
    fn apply_penalties(&mut self) {
        if !self.cfg.penalties_active() || self.window.is_empty() {
            return;
        }
        self.scratch.clear();
        self.scratch.extend_from_slice(&self.window);
        self.scratch.sort_unstable();
        let (r, f, p) = (
            self.cfg.penalty_repeat,
            self.cfg.penalty_freq,
            self.cfg.penalty_present,
        );
        let cands = &mut self.cands;
        let full = cands.len() == self.n_vocab;
        filters::for_each_run(&self.scratch, |id, count| {
            let c = if full {
                cands.get_mut(id as usize)
            } else {
                cands
                    .binary_search_by_key(&id, |c| c.id)
                    .ok()
                    .map(|i| &mut cands[i])
            };
            if let Some(c) = c {
                // Huge penalties can overflow: a finite logit stays finite (capped at
                // ±f32::MAX; 0 × ∞ or ∞ − ∞ gives NaN, read as the most penalized finite
                // value), a masked one (−∞) stays masked.
                let v = filters::penalize(c.logit, count, r, f, p);
                c.logit = if c.logit.is_finite() {
                    if v.is_nan() {
                        -f32::MAX
                    } else {
                        v.clamp(-f32::MAX, f32::MAX)
                    }
                } else {
                    clean(v)
                };
            }
        });
    }
}

/// A logit as the chain takes it: NaN counts as −∞, +∞ as f32::MAX.
#[inline]
fn clean(l: f32) -> f32 {
    if l.is_nan() {
        f32::NEG_INFINITY
    } else {
        l.min(f32::MAX)
    }
}

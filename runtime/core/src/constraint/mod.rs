//! Constrained decoding: which tokens may come next.
//!
//! A [`Constraint`] follows the output one token at a time and, before each sampling step,
//! writes the set of allowed next tokens into a [`TokenMask`] (one bit per vocabulary entry).
//! The sampler drops every token the mask does not allow *before* penalties, top-k, top-p,
//! min-p and temperature ([`Sampler::sample_masked`](crate::sampler::Sampler::sample_masked)),
//! so no later stage can bring a masked token back. End-of-generation ids are allowed only
//! where the constraint says the output is complete ([`MaskStep::complete`]); a mask that
//! allows nothing ends the generation with
//! [`StopReason::NoAllowedToken`](crate::generate::StopReason::NoAllowedToken).
//!
//! The interface is split so that an implementation can compute the next mask while the
//! forward pass computes the logits (the [`Generator`](crate::generate::Generator) drives it):
//!
//! ```text
//! take_mask ─▶ sample ─▶ accept(id) ─▶ start_mask ─┬─▶ Session::decode(id) ─▶ logits ─┐
//!    ▲                                            └─▶ (worker) next mask ──────────────┤
//!    └────────────────────────────────────────────────────────────────────────────────┘
//! ```
//!
//! `start_mask` returns at once; `take_mask` blocks until the mask is ready (and computes it
//! then if nothing started it). Where the grammar fixes the next text whatever the model
//! would pick (`","slots":{"` between two JSON values), [`Constraint::forced_tokens`] gives
//! its tokens, and a generator that is asked to
//! ([`Request::batch_forced`](crate::generate::Request::batch_forced)) feeds them in one
//! batch instead of one decode step each. An implementation without threads (this module is `no_std`)
//! does all the work in `take_mask`. The std implementation on llguidance is the module
//! `constraint::grammar` (feature `grammar`): JSON schema, regular expressions and Lark-like
//! grammars, with a worker thread.
//!
//! JSON numbers are bounded as in llama.cpp's JSON-schema grammars: a JSON-schema
//! constraint allows at most 16 digits ([`json_number::MAX_DIGITS`]) in a number's integral
//! part, fraction and exponent each, so that a model that repeats digits (`0.95542548…`)
//! must end the number. The rule is applied on top of the engine's mask, from the text
//! emitted so far ([`json_number`]); where it would leave no token at all (a schema whose
//! values need more digits), the engine's mask is used as it is and
//! [`MaskStep::digits_uncapped`] says so.

use alloc::vec::Vec;
use core::fmt;

use crate::tokenizer::Tokenizer;

#[cfg(feature = "grammar")]
pub mod grammar;
pub mod json_number;

/// A set of token ids, one bit each: bit `id % 32` of word `id / 32` (llguidance's and
/// llama.cpp's layout). Bits at and past `n_vocab` are always 0.
#[derive(Clone, PartialEq, Eq)]
pub struct TokenMask {
    /// `[ceil(n_vocab / 32)]` words.
    words: Vec<u32>,
    n_vocab: usize,
}

impl fmt::Debug for TokenMask {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenMask")
            .field("n_vocab", &self.n_vocab)
            .field("allowed", &self.count())
            .finish()
    }
}

impl TokenMask {
    /// An empty set (nothing allowed) over `n_vocab` ids: `ceil(n_vocab / 32) × 4` bytes.
    /// Errors: `OutOfMemory`.
    pub fn new(n_vocab: usize) -> Result<Self, ConstraintError> {
        let n = n_vocab.div_ceil(32);
        let mut words = Vec::new();
        words
            .try_reserve_exact(n)
            .map_err(|_| ConstraintError::OutOfMemory {
                bytes: n.saturating_mul(4),
            })?;
        words.resize(n, 0);
        Ok(TokenMask { words, n_vocab })
    }

    /// Vocabulary size.
    pub fn n_vocab(&self) -> usize {
        self.n_vocab
    }

    /// The words (read-only).
    pub fn words(&self) -> &[u32] {
        &self.words
    }

    /// Overwrites the set from words in the same layout: `src` shorter than the mask leaves
    /// the rest empty, longer is cut; bits past `n_vocab` are dropped.
    pub fn copy_from_words(&mut self, src: &[u32]) {
        let n = src.len().min(self.words.len());
        self.words[..n].copy_from_slice(&src[..n]);
        self.words[n..].fill(0);
        self.trim();
    }

    /// Whether `id` is allowed (false past the vocabulary).
    #[inline]
    pub fn allows(&self, id: u32) -> bool {
        (id as usize) < self.n_vocab && self.words[id as usize / 32] & (1 << (id % 32)) != 0
    }

    /// Allows `id` (ignored past the vocabulary).
    #[inline]
    pub fn allow(&mut self, id: u32) {
        if (id as usize) < self.n_vocab {
            self.words[id as usize / 32] |= 1 << (id % 32);
        }
    }

    /// Forbids `id`.
    #[inline]
    pub fn forbid(&mut self, id: u32) {
        if (id as usize) < self.n_vocab {
            self.words[id as usize / 32] &= !(1 << (id % 32));
        }
    }

    /// Nothing allowed.
    pub fn clear(&mut self) {
        self.words.fill(0);
    }

    /// Everything allowed.
    pub fn allow_all(&mut self) {
        self.words.fill(u32::MAX);
        self.trim();
    }

    /// Number of allowed ids.
    pub fn count(&self) -> usize {
        self.words.iter().map(|w| w.count_ones() as usize).sum()
    }

    /// True when nothing is allowed.
    pub fn is_empty(&self) -> bool {
        self.words.iter().all(|&w| w == 0)
    }

    /// Calls `f(id)` for each allowed id, in increasing order.
    #[inline]
    pub fn for_each_allowed(&self, mut f: impl FnMut(u32)) {
        for (i, &w) in self.words.iter().enumerate() {
            let mut b = w;
            while b != 0 {
                f(i as u32 * 32 + b.trailing_zeros());
                b &= b - 1;
            }
        }
    }

    /// Clears the bits past `n_vocab` in the last word.
    fn trim(&mut self) {
        let r = self.n_vocab % 32;
        if r != 0 {
            if let Some(last) = self.words.last_mut() {
                *last &= (1u32 << r) - 1;
            }
        }
    }
}

/// Why a constraint could not go on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConstraintError {
    /// The constraint was made for another vocabulary than the generator's tokenizer.
    VocabMismatch {
        /// Entries the constraint knows.
        constraint: usize,
        /// Entries in the tokenizer.
        tokenizer: usize,
    },
    /// `accept` got a token that the last mask did not allow.
    Rejected {
        /// The token.
        id: u32,
    },
    /// The engine reached one of its limits at this step (lexer or parser work per token):
    /// the grammar is too ambiguous or too large for it.
    TooComplex,
    /// The engine failed (an internal error, or its worker thread is gone); see
    /// [`Constraint::last_error`].
    Internal,
    /// The mask could not be allocated.
    OutOfMemory {
        /// Bytes requested.
        bytes: usize,
    },
}

impl fmt::Display for ConstraintError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConstraintError::VocabMismatch {
                constraint,
                tokenizer,
            } => write!(
                f,
                "constraint: made for a vocabulary of {constraint} tokens, the tokenizer has {tokenizer}"
            ),
            ConstraintError::Rejected { id } => {
                write!(f, "constraint: token {id} is not allowed here")
            }
            ConstraintError::TooComplex => write!(
                f,
                "constraint: the grammar needs more work per token than the engine's limits allow"
            ),
            ConstraintError::Internal => write!(f, "constraint: the engine failed"),
            ConstraintError::OutOfMemory { bytes } => {
                write!(f, "constraint: cannot allocate a {bytes}-byte token mask")
            }
        }
    }
}

impl core::error::Error for ConstraintError {}

/// What [`Constraint::take_mask`] reports with a mask.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MaskStep {
    /// The output so far is complete: end-of-generation is allowed here (the generator
    /// adds or removes the end-of-generation ids accordingly).
    pub complete: bool,
    /// The mask was computed in the background (begun by `start_mask`), not in
    /// `take_mask` itself.
    pub background: bool,
    /// Time spent computing the mask, ns (0 when the implementation has no clock).
    pub compute_ns: u32,
    /// Time `take_mask` blocked waiting for it, ns (0 when it was ready, or no clock).
    pub wait_ns: u32,
    /// The JSON-number digit cap ([`json_number`]) would have forbidden every token the
    /// engine allows here, so the engine's mask was used without it: the schema needs a
    /// number with more than [`json_number::MAX_DIGITS`] digits in one part.
    pub digits_uncapped: bool,
}

/// A constraint on the output: see the [module docs](self).
///
/// Call order for one output: [`reset`](Self::reset), then per token
/// [`start_mask`](Self::start_mask) (optional), [`take_mask`](Self::take_mask), and
/// [`accept`](Self::accept) with the token sampled from that mask.
pub trait Constraint {
    /// Vocabulary size the masks are for.
    fn n_vocab(&self) -> usize;

    /// Back to the start: the next mask is for the first token of a new output.
    /// Errors: `Internal`.
    fn reset(&mut self) -> Result<(), ConstraintError>;

    /// Begins computing the next mask where the implementation can do it in the
    /// background; returns at once. A no-op when a mask is already under way or ready.
    fn start_mask(&mut self) {}

    /// Writes the allowed next tokens into `mask` (every bit), blocking until they are
    /// known. An empty mask means no token can continue the output.
    /// Errors: `TooComplex`, `Internal`, `VocabMismatch` (`mask` has another size).
    fn take_mask(&mut self, mask: &mut TokenMask) -> Result<MaskStep, ConstraintError>;

    /// Records the token sampled from the last mask. Errors: `Rejected`, `Internal`
    /// (an implementation working in the background may report them from the next
    /// `take_mask` instead).
    fn accept(&mut self, id: u32) -> Result<(), ConstraintError>;

    /// Details of the last error, when the implementation keeps them (the engine's message).
    fn last_error(&self) -> Option<&str> {
        None
    }

    /// The tokens that every output must continue with from here, whatever the model's
    /// logits: text the grammar fixes (`{"intent":"`, `","slots":{"`), as `tok` tokenizes
    /// it. Written into `out` (cleared first); empty when nothing is forced, which is the
    /// default.
    ///
    /// The generator asks for them after an [`accept`](Self::accept), before
    /// [`start_mask`](Self::start_mask), when the request allows it
    /// ([`Request::batch_forced`](crate::generate::Request::batch_forced)); it then
    /// [`accept`](Self::accept)s each of them in turn, streams and counts them as output,
    /// and runs them through the model in one batch instead of sampling each. So an
    /// implementation must return only tokens that `accept` takes in that order, and
    /// should leave out a final token that a longer token could replace (one that would
    /// also spell text after the forced text): the model keeps that choice.
    /// Errors: `Internal`, `TooComplex`.
    fn forced_tokens(
        &mut self,
        tok: &Tokenizer<'_>,
        out: &mut Vec<u32>,
    ) -> Result<(), ConstraintError> {
        let _ = tok;
        out.clear();
        Ok(())
    }
}

/// Timing of one mask, as the generator records it ([`Outcome::masks`](crate::generate::Outcome::masks)).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MaskTime {
    /// Time spent computing the mask, ns.
    pub compute_ns: u32,
    /// Time the generator waited for it after the logits were ready, ns.
    pub wait_ns: u32,
    /// It was computed while the forward pass ran.
    pub background: bool,
}

impl From<MaskStep> for MaskTime {
    fn from(s: MaskStep) -> Self {
        MaskTime {
            compute_ns: s.compute_ns,
            wait_ns: s.wait_ns,
            background: s.background,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mask_bits() {
        let mut m = TokenMask::new(70).unwrap();
        assert_eq!(m.words().len(), 3);
        assert!(m.is_empty());
        m.allow(0);
        m.allow(33);
        m.allow(69);
        m.allow(70); // past the vocabulary: ignored
        assert_eq!(m.count(), 3);
        assert!(m.allows(33) && !m.allows(34) && !m.allows(70) && !m.allows(u32::MAX));
        let mut seen = Vec::new();
        m.for_each_allowed(|id| seen.push(id));
        assert_eq!(seen, [0, 33, 69]);
        m.forbid(33);
        assert!(!m.allows(33));
        m.allow_all();
        assert_eq!(m.count(), 70);
        m.copy_from_words(&[1, 0, u32::MAX, 7]);
        assert_eq!(m.count(), 1 + 6);
        m.copy_from_words(&[2]);
        assert_eq!(m.count(), 1);
        m.clear();
        assert!(m.is_empty());
    }
}

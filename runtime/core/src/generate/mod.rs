//! The generation loop: prompt ids in, streamed text out.
//!
//! A [`Generator`] runs prefill, then samples and decodes one token at a time until an
//! end-of-generation token, the token limit, a stop string, a full context or the cancel
//! flag. Per token it composes the pieces as the [`chat`](crate::chat) module describes:
//!
//! ```text
//! logits ─▶ Sampler ─▶ id ─▶ Decoder (complete UTF-8) ─▶ StopDetector ─▶ Reasoning ─▶ Piece { text, thinking }
//!                       └──────────────▶ Session::decode ─▶ logits          │ budget spent
//!                                              ▲                               ▼
//!                                              └──────── </think> ids fed as if generated
//! ```
//!
//! - **KV reuse.** The generator remembers the ids in the session's KV cache. A prompt that
//!   shares a prefix with them (the next turn of a chat) only prefills the rest; the cache
//!   is truncated to the common prefix first. Pass the same session every time, or call
//!   [`Generator::forget`] after using it elsewhere (a position mismatch is detected and
//!   handled by a full reset).
//! - **Errors before output.** A prompt longer than the context is
//!   [`model::Error::ContextFull`] before anything runs; a full context *during* generation
//!   ends it with [`StopReason::ContextFull`].
//! - **Think budget.** With a [`ReasoningConfig`] budget, after N thinking tokens the close
//!   tag's ids are decoded into the model (and appear in `output_ids`), and generation goes
//!   on with the answer. Injected ids do not count towards `max_tokens`.
//! - **Allocation.** Buffers are made per call (sampler once per generator); the output id
//!   vector is reserved up front for the token limit (capped by the context room), and the
//!   decoder, stop detector and splitter reuse their buffers, so the token loop does not
//!   allocate in the steady state.
//! - **Time.** A [`Clock`] gives microseconds: any `Fn() -> u64`, [`NoClock`], or
//!   [`StdClock`] (`std`).
//!
//! ```no_run
//! # fn demo(model: &bague::model::Model<'_>, tok: &bague::tokenizer::Tokenizer<'_>) -> Result<(), bague::generate::Error> {
//! use bague::generate::{Generator, Request, StdClock};
//! use bague::sampler::SamplerConfig;
//! use bague::session::{Session, SessionOptions};
//! use core::sync::atomic::AtomicBool;
//! let mut session = Session::new(model, SessionOptions::default())?;
//! let mut g = Generator::new(tok, SamplerConfig::greedy())?;
//! let prompt = tok.encode("The capital of France is", bague::tokenizer::EncodeOptions::PROMPT)?;
//! let req = Request { max_tokens: Some(16), ..Request::new(&prompt) };
//! let out = g.generate(&mut session, &req, &AtomicBool::new(false), &StdClock::new(), &mut |p| {
//!     print!("{}", p.text);
//! })?;
//! println!("\n{} tokens, {:.1} tok/s", out.output_ids.len(), out.timings.decode_tok_s());
//! # Ok(()) }
//! ```

// `Error` wraps `model::Error` (names of keys and tensors inline, no allocation, `Copy`),
// so it is a little over clippy's size limit; it is returned once per generation.
#![allow(clippy::result_large_err)]

use alloc::vec::Vec;
use core::fmt;
use core::sync::atomic::{AtomicBool, Ordering};

use crate::chat::{Reasoning, ReasoningConfig, StopDetector, StopReason};
use crate::model;
use crate::sampler::{Sampler, SamplerConfig, SamplerError};
use crate::session::Session;
use crate::tokenizer::{self, EncodeOptions, Tokenizer};

mod clock;
pub mod perplexity;

#[cfg(feature = "std")]
pub use clock::StdClock;
pub use clock::{Clock, NoClock};

/// Why generation could not run.
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub enum Error {
    /// The session refused: `ContextFull` (the prompt does not fit; nothing ran),
    /// `EmptyInput`, `TokenOutOfRange`, a thread-pool failure.
    Model(model::Error),
    /// Decoding a generated id, or tokenizing the close tag, failed.
    Tokenizer(tokenizer::Error),
    /// Bad sampler settings, or every logit masked.
    Sampler(SamplerError),
    /// Perplexity needs at least `needed` tokens (two chunks), the text has `n_tokens`.
    TextTooShort {
        /// Tokens in the text.
        n_tokens: usize,
        /// Tokens needed.
        needed: usize,
    },
    /// The sampler was made for another vocabulary size than the session's model.
    VocabMismatch {
        /// Tokenizer vocabulary size.
        tokenizer: usize,
        /// Model vocabulary size (rows of the output matrix).
        model: usize,
    },
}

impl From<model::Error> for Error {
    fn from(e: model::Error) -> Self {
        Error::Model(e)
    }
}
impl From<tokenizer::Error> for Error {
    fn from(e: tokenizer::Error) -> Self {
        Error::Tokenizer(e)
    }
}
impl From<SamplerError> for Error {
    fn from(e: SamplerError) -> Self {
        Error::Sampler(e)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Model(model::Error::ContextFull {
                n_ctx, n_tokens, ..
            }) => write!(
                f,
                "the prompt has {n_tokens} tokens, more than the context of {n_ctx} (raise --ctx or shorten the prompt)"
            ),
            Error::Model(e) => fmt::Display::fmt(e, f),
            Error::Tokenizer(e) => fmt::Display::fmt(e, f),
            Error::Sampler(e) => fmt::Display::fmt(e, f),
            Error::TextTooShort { n_tokens, needed } => write!(
                f,
                "the text has {n_tokens} tokens; perplexity at this context needs at least {needed}"
            ),
            Error::VocabMismatch { tokenizer, model } => write!(
                f,
                "the tokenizer has {tokenizer} tokens but the model's output has {model} rows"
            ),
        }
    }
}

impl core::error::Error for Error {}

/// One streamed piece of output text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Piece<'a> {
    /// Complete UTF-8 text (never part of a character; may be several tokens' worth).
    pub text: &'a str,
    /// Inside the `<think>` block (tags removed) rather than the answer.
    pub thinking: bool,
}

/// What to generate from a prompt.
#[derive(Clone, Debug)]
pub struct Request<'r> {
    /// The prompt ids (BOS included when the vocabulary adds it). Must not be empty.
    pub prompt: &'r [u32],
    /// Most tokens to sample; `None` = until EOG, a stop string or a full context.
    pub max_tokens: Option<u32>,
    /// Texts that end generation (not emitted themselves).
    pub stop: &'r [&'r str],
    /// Split thinking from answer (and apply a think budget); `None` = everything is answer.
    pub reasoning: Option<ReasoningConfig>,
}

impl<'r> Request<'r> {
    /// `prompt`, no limit, no stop strings, no reasoning split.
    pub fn new(prompt: &'r [u32]) -> Self {
        Request {
            prompt,
            max_tokens: None,
            stop: &[],
            reasoning: None,
        }
    }
}

/// Times of one generation, in microseconds of the [`Clock`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Timings {
    /// Prompt tokens run through prefill (the prompt minus the reused KV prefix).
    pub n_prefill: usize,
    /// Prefill time.
    pub prefill_us: u64,
    /// From the start of [`Generator::generate`] to the first sampled token.
    pub ttft_us: u64,
    /// Tokens run through decode (sampled tokens fed back, injected close-tag ids).
    pub n_decode: usize,
    /// Decode time: every decode step and the sampling that follows it.
    pub decode_us: u64,
}

impl Timings {
    /// Prefill milliseconds.
    pub fn prefill_ms(&self) -> f64 {
        self.prefill_us as f64 / 1e3
    }
    /// Decode milliseconds.
    pub fn decode_ms(&self) -> f64 {
        self.decode_us as f64 / 1e3
    }
    /// Time to first token, milliseconds.
    pub fn ttft_ms(&self) -> f64 {
        self.ttft_us as f64 / 1e3
    }
    /// Prefill tokens per second (0 when nothing was timed).
    pub fn prefill_tok_s(&self) -> f64 {
        rate(self.n_prefill, self.prefill_us)
    }
    /// Decode tokens per second (0 when nothing was timed).
    pub fn decode_tok_s(&self) -> f64 {
        rate(self.n_decode, self.decode_us)
    }
}

fn rate(n: usize, us: u64) -> f64 {
    if us == 0 {
        0.0
    } else {
        n as f64 * 1e6 / us as f64
    }
}

/// The result of one generation.
#[derive(Clone, Debug, PartialEq)]
pub struct Outcome {
    /// Every generated id in order: sampled ids (the final EOG included, as llama.cpp
    /// reports it) and injected close-tag ids.
    pub output_ids: Vec<u32>,
    /// Why it ended.
    pub stop_reason: StopReason,
    /// Prompt tokens.
    pub n_prompt: usize,
    /// Prompt tokens found already in the KV cache (not prefilled again).
    pub n_reused: usize,
    /// Tokens counted as thinking.
    pub thinking_tokens: u32,
    /// Whether the thinking block was closed by the budget.
    pub thinking_forced_end: bool,
    /// Times.
    pub timings: Timings,
}

/// Runs generations over a session, remembering what its KV cache holds.
pub struct Generator<'t, 'a> {
    tok: &'t Tokenizer<'a>,
    sampler: Sampler,
    /// Ids in the session's KV cache, position order (what the next prompt may reuse).
    cached: Vec<u32>,
}

impl fmt::Debug for Generator<'_, '_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Generator")
            .field("sampler", self.sampler.config())
            .field("cached", &self.cached.len())
            .finish()
    }
}

impl<'t, 'a> Generator<'t, 'a> {
    /// A generator sampling with `cfg` over `tok`'s vocabulary.
    /// Errors: `Sampler` (bad settings, vocabulary too large to allocate).
    pub fn new(tok: &'t Tokenizer<'a>, cfg: SamplerConfig) -> Result<Self, Error> {
        Ok(Generator {
            tok,
            sampler: Sampler::new(cfg, tok.n_vocab())?,
            cached: Vec::new(),
        })
    }

    /// The sampler (its settings, repetition window).
    pub fn sampler(&self) -> &Sampler {
        &self.sampler
    }

    /// Ids the session's KV cache holds according to this generator.
    pub fn cached(&self) -> &[u32] {
        &self.cached
    }

    /// Forgets the cached ids: the next call prefills its whole prompt from position 0.
    pub fn forget(&mut self) {
        self.cached.clear();
    }

    /// Generates from `req.prompt`, calling `on_piece` with text as soon as it is complete
    /// (and not held back by a possible stop string or tag). `cancel` is polled between
    /// layers and tokens; raising it ends with [`StopReason::Cancelled`].
    ///
    /// Errors (nothing was generated): `Model(ContextFull)` when the prompt is longer than
    /// the context, `Model(EmptyInput)`, `Model(TokenOutOfRange)`, `VocabMismatch`.
    /// Errors after output began: `Sampler(AllMasked)`, `Tokenizer` — the text streamed so
    /// far stays valid.
    pub fn generate(
        &mut self,
        session: &mut Session<'_, '_>,
        req: &Request<'_>,
        cancel: &AtomicBool,
        clock: &dyn Clock,
        on_piece: &mut dyn FnMut(Piece<'_>),
    ) -> Result<Outcome, Error> {
        let t_start = clock.now_us();
        let prompt = req.prompt;
        let n_ctx = session.n_ctx();
        let n_vocab = session.model().config.n_vocab;
        if n_vocab != self.tok.n_vocab() {
            return Err(Error::VocabMismatch {
                tokenizer: self.tok.n_vocab(),
                model: n_vocab,
            });
        }
        if prompt.is_empty() {
            return Err(model::Error::EmptyInput.into());
        }
        if prompt.len() > n_ctx {
            return Err(model::Error::ContextFull {
                n_ctx,
                position: 0,
                n_tokens: prompt.len(),
            }
            .into());
        }
        if let Some(&bad) = prompt.iter().find(|&&t| t as usize >= n_vocab) {
            return Err(model::Error::TokenOutOfRange {
                token: bad,
                n_vocab,
            }
            .into());
        }

        // --- KV reuse: keep the common prefix, prefill at least one token ---
        if session.position() != self.cached.len() {
            session.reset();
            self.cached.clear();
        }
        let common = self
            .cached
            .iter()
            .zip(prompt)
            .take_while(|(a, b)| a == b)
            .count();
        let keep = common.min(prompt.len() - 1);
        session.truncate(keep);
        self.cached.truncate(keep);
        let suffix = &prompt[keep..];
        // Room for the prompt and the output: the reserve is the only per-run allocation
        // that grows with the output.
        let room = n_ctx.saturating_sub(prompt.len()) + 1;
        let limit = req.max_tokens.map_or(room, |m| (m as usize).min(room));
        self.cached.reserve(prompt.len() + limit);
        let mut out = Outcome {
            output_ids: Vec::with_capacity(limit + 4),
            stop_reason: StopReason::MaxTokens,
            n_prompt: prompt.len(),
            n_reused: keep,
            thinking_tokens: 0,
            thinking_forced_end: false,
            timings: Timings::default(),
        };

        // --- per-run state ---
        let mut reasoning = req
            .reasoning
            .clone()
            .map(|cfg| Reasoning::new(cfg, |t| self.tok.token_id(t)));
        let close_ids = match &reasoning {
            Some(r) if r.close_ids().is_empty() => self.tok.encode(
                r.close_tag(),
                EncodeOptions {
                    add_special: false,
                    parse_special: true,
                },
            )?,
            Some(r) => r.close_ids().to_vec(),
            None => Vec::new(),
        };
        let eog = self.tok.eog_ids();
        let mut stop = StopDetector::new(eog, req.max_tokens, req.stop);
        let mut decoder = self.tok.decoder();
        for &id in suffix {
            self.sampler.accept(id);
        }

        // --- prefill ---
        let t0 = clock.now_us();
        let r = session.prefill_cancellable(suffix, cancel);
        let t1 = clock.now_us();
        out.timings.n_prefill = suffix.len();
        out.timings.prefill_us = t1.saturating_sub(t0);
        match r {
            Ok(_) => self.cached.extend_from_slice(suffix),
            Err(model::Error::Cancelled) => {
                out.stop_reason = StopReason::Cancelled;
                out.timings.ttft_us = t1.saturating_sub(t_start);
                return Ok(out);
            }
            Err(e) => return Err(e.into()),
        }

        if req.max_tokens == Some(0) {
            return Ok(self.finish(out, &mut stop, &mut decoder, reasoning, on_piece));
        }

        // A budget of 0 with a prompt that opened the block: close it before sampling.
        if let Some(r) = reasoning.as_mut().filter(|r| r.force_due()) {
            emit(r.force_end(), on_piece);
            out.thinking_forced_end = true;
            let t = clock.now_us();
            let res = self.inject(session, &close_ids, &mut out, cancel);
            out.timings.decode_us += clock.now_us().saturating_sub(t);
            if let Some(reason) = res? {
                out.stop_reason = reason;
                return Ok(self.finish(out, &mut stop, &mut decoder, reasoning, on_piece));
            }
        }

        // --- decode loop ---
        let mut t_step = clock.now_us();
        loop {
            if cancel.load(Ordering::Relaxed) {
                out.stop_reason = StopReason::Cancelled;
                break;
            }
            let id = self.sampler.sample(session.logits())?;
            self.sampler.accept(id);
            let t = clock.now_us();
            if out.output_ids.is_empty() {
                out.timings.ttft_us = t.saturating_sub(t_start);
            } else {
                out.timings.decode_us += t.saturating_sub(t_step);
            }
            out.output_ids.push(id);

            let text = decoder.push(id)?;
            let step = stop.on_token(id, text);
            let (stopped, forced) = match reasoning.as_mut() {
                None => {
                    if !step.text.is_empty() {
                        on_piece(Piece {
                            text: step.text,
                            thinking: false,
                        });
                    }
                    (step.stop, false)
                }
                Some(r) => {
                    let stopped = step.stop;
                    let s = r.on_token(id, step.text, decoder.pending_bytes() > 0);
                    let forced = s.force_end_thinking;
                    emit(s, on_piece);
                    (stopped, forced)
                }
            };
            if let Some(reason) = stopped {
                out.stop_reason = reason;
                break;
            }

            // Feed the token back (then the close tag, when the budget ran out).
            t_step = clock.now_us();
            match session.decode_cancellable(id, cancel) {
                Ok(_) => {
                    self.cached.push(id);
                    out.timings.n_decode += 1;
                }
                Err(e) => {
                    out.stop_reason = stop_reason_of(e)?;
                    break;
                }
            }
            if forced {
                out.thinking_forced_end = true;
                if let Some(reason) = self.inject(session, &close_ids, &mut out, cancel)? {
                    out.stop_reason = reason;
                    break;
                }
            }
        }
        Ok(self.finish(out, &mut stop, &mut decoder, reasoning, on_piece))
    }

    /// Decodes the close-tag ids as if generated. `Some(reason)` when the session stopped.
    fn inject(
        &mut self,
        session: &mut Session<'_, '_>,
        ids: &[u32],
        out: &mut Outcome,
        cancel: &AtomicBool,
    ) -> Result<Option<StopReason>, Error> {
        for &c in ids {
            match session.decode_cancellable(c, cancel) {
                Ok(_) => {
                    self.sampler.accept(c);
                    self.cached.push(c);
                    out.output_ids.push(c);
                    out.timings.n_decode += 1;
                }
                Err(e) => return Ok(Some(stop_reason_of(e)?)),
            }
        }
        Ok(None)
    }

    /// Releases held-back text and fills in the counters.
    fn finish(
        &self,
        mut out: Outcome,
        stop: &mut StopDetector,
        decoder: &mut tokenizer::Decoder<'_, '_>,
        mut reasoning: Option<Reasoning>,
        on_piece: &mut dyn FnMut(Piece<'_>),
    ) -> Outcome {
        let held = stop.finish(out.stop_reason);
        match reasoning.as_mut() {
            None => {
                if !held.is_empty() {
                    on_piece(Piece {
                        text: held,
                        thinking: false,
                    });
                }
                if out.stop_reason != StopReason::StopString {
                    let tail = decoder.finish();
                    if !tail.is_empty() {
                        on_piece(Piece {
                            text: tail,
                            thinking: false,
                        });
                    }
                }
            }
            Some(r) => {
                emit(r.on_text(held), on_piece);
                if out.stop_reason != StopReason::StopString {
                    emit(r.on_text(decoder.finish()), on_piece);
                }
                emit(r.finish(), on_piece);
                out.thinking_tokens = r.thinking_tokens();
            }
        }
        out
    }
}

/// A session error during generation: the ones that end it normally become a reason.
fn stop_reason_of(e: model::Error) -> Result<StopReason, Error> {
    match e {
        model::Error::ContextFull { .. } => Ok(StopReason::ContextFull),
        model::Error::Cancelled => Ok(StopReason::Cancelled),
        e => Err(e.into()),
    }
}

/// Sends a splitter step's thinking, then answer text.
fn emit(s: crate::chat::reasoning::Step<'_>, on_piece: &mut dyn FnMut(Piece<'_>)) {
    if !s.thinking.is_empty() {
        on_piece(Piece {
            text: s.thinking,
            thinking: true,
        });
    }
    if !s.answer.is_empty() {
        on_piece(Piece {
            text: s.answer,
            thinking: false,
        });
    }
}

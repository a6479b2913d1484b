//! The generation loop: prompt ids in, streamed text out.
//!
//! A [`Generator`] runs prefill, then samples and decodes one token at a time until an
//! end-of-generation token, the token limit, a stop string, a full context or the cancel
//! flag. Per token it composes the sampler, the streaming decoder, the [`StopDetector`] and
//! the [`chat`](crate::chat) module's reasoning splitter:
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
//! - **One place validates a request.** An empty prompt, an id outside the vocabulary, a
//!   prompt longer than the context, or a tokenizer that does not match the model is an
//!   error before anything runs; a full context *during* generation ends it with
//!   [`StopReason::ContextFull`].
//! - **Output goes to a [`Sink`]**: each token id, then its text as complete UTF-8
//!   [`Piece`]s marked thinking or answer. A sink may stop the generation
//!   ([`StopReason::Cancelled`]). Any `FnMut(Piece)` closure is a sink.
//! - **Sampling state is the conversation's**: one sampler per generator, so RNG state and
//!   the repetition window carry over from turn to turn (prompt tokens that were not in the
//!   KV cache are added to the window, as llama-cli does); [`Generator::set_sampling`]
//!   changes the settings between calls without losing them.
//! - **Think budget.** With a [`ReasoningConfig`] budget, after N thinking tokens the close
//!   tag's ids are decoded into the model (and appear in `output_ids`), and generation goes
//!   on with the answer. Injected ids do not count towards `max_tokens`.
//! - **Allocation.** Buffers are made per call (sampler once per generator); the output id
//!   vector is reserved up front for the token limit (capped by the context room), and the
//!   decoder, stop detector and splitter reuse their buffers, so the token loop does not
//!   allocate in the steady state — except with [`Request::batch_forced`], whose forced-run
//!   buffers grow to the longest run and whose constraint may allocate to find the run
//!   (the llguidance one does: the forced bytes and their tokens).
//! - **Time.** A [`Clock`] gives microseconds: any `Fn() -> u64`, [`NoClock`], or
//!   [`StdClock`] (`std`).
//! - **Constrained output.** With a [`Constraint`] set ([`Generator::set_constraint`]), each
//!   sampled token comes from the constraint's mask (end-of-generation only where it says
//!   the output is complete). Its next mask is started right after a token is accepted, so an
//!   implementation with a worker thread computes it while the forward pass runs; the first
//!   one is started before the prefill. With a reasoning split the constraint applies to the
//!   answer: a thinking block is free, and the first token may also be the open tag.
//!   `Request::pin_empty_thinking` prefills an empty block (`<think>\n\n</think>`) after the
//!   prompt so the answer starts at once. A mask that allows nothing ends the generation
//!   with [`StopReason::NoAllowedToken`]. Each mask's timing is in [`Outcome::masks`].
//! - **Forced tokens in one batch.** With [`Request::batch_forced`], where the constraint
//!   fixes the next text whatever the model would pick ([`Constraint::forced_tokens`]: the
//!   `","slots":{"` between two JSON values), its tokens are not sampled one decode step at a
//!   time: they are accepted into the constraint, streamed to the sink and counted as output
//!   as usual, and fed to the model in one batch with the sampled token before them (at the
//!   start of the output, with the prompt's prefill). A run that would not fit in the
//!   context is sampled as usual. The logits after a batch are those of the prefill path,
//!   which differ in the last bits from one decode step per token, so a greedy output may
//!   differ from the one without it (the same at any thread count); off by default.
//!
//! ```no_run
//! # fn demo(model: &bague::model::Model<'_>, tok: &bague::tokenizer::Tokenizer<'_>) -> Result<(), bague::generate::Error> {
//! use bague::generate::{Generator, Piece, Request, StdClock};
//! use bague::sampler::SamplerConfig;
//! use bague::session::{Session, SessionOptions};
//! use core::sync::atomic::AtomicBool;
//! let mut session = Session::new(model, SessionOptions::default())?;
//! let mut g = Generator::new(tok, SamplerConfig::greedy())?;
//! let prompt = tok.encode("The capital of France is", bague::tokenizer::EncodeOptions::PROMPT)?;
//! let req = Request { max_tokens: Some(16), ..Request::new(&prompt) };
//! let out = g.generate(&mut session, &req, &AtomicBool::new(false), &StdClock::new(), &mut |p: Piece<'_>| {
//!     print!("{}", p.text);
//! })?;
//! println!("\n{} tokens, {:.1} tok/s", out.output_ids.len(), out.timings.decode_tok_s());
//! # Ok(()) }
//! ```

// `Error` wraps `model::Error` (names of keys and tensors inline, no allocation, `Copy`),
// so it is a little over clippy's size limit; it is returned once per generation.
#![allow(clippy::result_large_err)]

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::fmt;
use core::ops::ControlFlow;
use core::sync::atomic::{AtomicBool, Ordering};

use crate::chat::reasoning::Phase;
use crate::chat::{Reasoning, ReasoningConfig};
use crate::constraint::{Constraint, ConstraintError, MaskTime, TokenMask};
use crate::model;
use crate::sampler::{Sampler, SamplerConfig, SamplerError};
use crate::session::Session;
use crate::tokenizer::{self, EncodeOptions, Tokenizer};

mod clock;
pub mod perplexity;
pub mod stop;

#[cfg(feature = "std")]
pub use clock::StdClock;
pub use clock::{BoardClock, Clock, NoClock};
pub use stop::{StopDetector, StopReason};

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
    /// The output constraint failed (its engine's limits, an internal error), or was made
    /// for another vocabulary.
    Constraint(ConstraintError),
    /// Perplexity needs at least `needed` tokens (two chunks), the text has `n_tokens`.
    TextTooShort {
        /// Tokens in the text.
        n_tokens: usize,
        /// Tokens needed.
        needed: usize,
    },
    /// The heap refused one of the generation's buffers (a board's arena is exhausted):
    /// nothing was generated when it happens before the first token.
    OutOfMemory {
        /// Bytes requested.
        bytes: usize,
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
impl From<ConstraintError> for Error {
    fn from(e: ConstraintError) -> Self {
        Error::Constraint(e)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Model(model::Error::ContextFull {
                n_ctx, n_tokens, ..
            }) => write!(
                f,
                "the prompt has {n_tokens} tokens, more than the context of {n_ctx}"
            ),
            Error::Model(e) => fmt::Display::fmt(e, f),
            Error::Tokenizer(e) => fmt::Display::fmt(e, f),
            Error::Sampler(e) => fmt::Display::fmt(e, f),
            Error::Constraint(e) => fmt::Display::fmt(e, f),
            Error::TextTooShort { n_tokens, needed } => write!(
                f,
                "the text has {n_tokens} tokens; perplexity at this context needs at least {needed}"
            ),
            Error::OutOfMemory { bytes } => write!(
                f,
                "out of memory: the generation's buffers ({bytes} bytes) were refused"
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

/// Where a generation's output goes: every generated id, then the text it completes.
///
/// Returning [`ControlFlow::Break`] from either method stops the generation before the
/// token is fed back to the model, with [`StopReason::Cancelled`]; nothing more is sent.
/// Any `FnMut(Piece<'_>)` closure is a sink that only takes text and never stops.
pub trait Sink {
    /// A generated id (sampled, or a close-tag id fed by the think budget), before its
    /// text. Default: ignored.
    fn token(&mut self, id: u32) -> ControlFlow<()> {
        let _ = id;
        ControlFlow::Continue(())
    }

    /// Complete UTF-8 text, thinking or answer.
    fn piece(&mut self, piece: Piece<'_>) -> ControlFlow<()>;
}

impl<F: FnMut(Piece<'_>)> Sink for F {
    fn piece(&mut self, piece: Piece<'_>) -> ControlFlow<()> {
        self(piece);
        ControlFlow::Continue(())
    }
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
    /// With `reasoning`: skip thinking. An empty block, `<think>\n\n</think>` (or the rest
    /// of it after a prompt that opened it), is prefilled with the prompt (and counted in
    /// [`Outcome::n_prompt`]); everything generated is answer. For latency-bound callers,
    /// with or without a constraint. Ignored without `reasoning`.
    pub pin_empty_thinking: bool,
    /// With a constraint: feed the tokens it forces ([`Constraint::forced_tokens`]) to the
    /// model in one batch with the token before them, instead of one decode step each (see
    /// the [module docs](self)). Off by default: the logits after a batch differ in the
    /// last bits from token-by-token decode, so outputs may differ. Only where the
    /// constraint applies (not in a thinking block).
    pub batch_forced: bool,
}

impl<'r> Request<'r> {
    /// `prompt`, no limit, no stop strings, no reasoning split.
    pub fn new(prompt: &'r [u32]) -> Self {
        Request {
            prompt,
            max_tokens: None,
            stop: &[],
            reasoning: None,
            pin_empty_thinking: false,
            batch_forced: false,
        }
    }
}

/// Times of one generation, in microseconds of the [`Clock`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Timings {
    /// Prompt tokens run through prefill (the prompt minus the reused KV prefix).
    pub n_prefill: usize,
    /// Prefill time (with forced output tokens fed in the same batch, see
    /// [`Outcome::n_forced`]).
    pub prefill_us: u64,
    /// From the start of [`Generator::generate`] to the first sampled token.
    pub ttft_us: u64,
    /// Tokens run through decode (sampled tokens fed back, forced tokens fed with them,
    /// injected close-tag ids).
    pub n_decode: usize,
    /// Forward passes after the prefill: one per token fed back, or per batch of a sampled
    /// token and the forced tokens after it ([`Request::batch_forced`]). Equal to
    /// `n_decode` without forced batches.
    pub decode_steps: usize,
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
    /// Prompt tokens (with a pinned empty thinking block, when asked for).
    pub n_prompt: usize,
    /// Prompt tokens found already in the KV cache (not prefilled again).
    pub n_reused: usize,
    /// Of `output_ids`, the tokens the constraint forced and that were fed in batches
    /// without sampling ([`Request::batch_forced`]); those at the start of the output were
    /// fed in the prompt's prefill batch.
    pub n_forced: usize,
    /// Tokens counted as thinking.
    pub thinking_tokens: u32,
    /// Whether the thinking block was closed by the budget.
    pub thinking_forced_end: bool,
    /// Times.
    pub timings: Timings,
    /// One entry per constrained sampling step (empty without a constraint): how long the
    /// mask took, how long the generator waited for it, whether it was computed while the
    /// forward pass ran.
    pub masks: Vec<MaskTime>,
}

/// Runs generations over a session, remembering what its KV cache holds.
pub struct Generator<'t, 'a> {
    tok: &'t Tokenizer<'a>,
    sampler: Sampler,
    /// Ids in the session's KV cache, position order (what the next prompt may reuse).
    cached: Vec<u32>,
    /// The output constraint, reset at the start of every generation.
    constraint: Option<Box<dyn Constraint + Send + 't>>,
    /// `[n_vocab]` bits: the allowed next tokens (allocated with the constraint).
    mask: Option<TokenMask>,
}

impl fmt::Debug for Generator<'_, '_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Generator")
            .field("sampler", self.sampler.config())
            .field("cached", &self.cached.len())
            .field("constrained", &self.constraint.is_some())
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
            constraint: None,
            mask: None,
        })
    }

    /// Constrains every following generation to `constraint` (reset at the start of each);
    /// `None` lifts it. Errors: `Constraint(VocabMismatch)` when it was made for another
    /// vocabulary size, `Constraint(OutOfMemory)` for the mask (`n_vocab / 8` bytes).
    pub fn set_constraint(
        &mut self,
        constraint: Option<Box<dyn Constraint + Send + 't>>,
    ) -> Result<(), Error> {
        if let Some(c) = &constraint {
            if c.n_vocab() != self.tok.n_vocab() {
                return Err(ConstraintError::VocabMismatch {
                    constraint: c.n_vocab(),
                    tokenizer: self.tok.n_vocab(),
                }
                .into());
            }
            if self.mask.is_none() {
                self.mask = Some(TokenMask::new(self.tok.n_vocab())?);
            }
        }
        self.constraint = constraint;
        Ok(())
    }

    /// The constraint in use, if any (for [`Constraint::last_error`] after an error).
    pub fn constraint(&self) -> Option<&(dyn Constraint + Send + 't)> {
        self.constraint.as_deref()
    }

    /// The sampler (its settings, repetition window).
    pub fn sampler(&self) -> &Sampler {
        &self.sampler
    }

    /// Changes the sampling settings for the next generations, keeping the RNG state and
    /// the repetition window (see [`Sampler::set_config`]). Errors: `Sampler`.
    pub fn set_sampling(&mut self, cfg: SamplerConfig) -> Result<(), Error> {
        Ok(self.sampler.set_config(cfg)?)
    }

    /// Ids the session's KV cache holds according to this generator.
    pub fn cached(&self) -> &[u32] {
        &self.cached
    }

    /// Forgets the cached ids: the next call prefills its whole prompt from position 0.
    pub fn forget(&mut self) {
        self.cached.clear();
    }

    /// Starts a new conversation: forgets the cached ids and resets the sampler (RNG
    /// reseeded, repetition window emptied). Pair it with [`Session::reset`].
    pub fn reset(&mut self) {
        self.cached.clear();
        self.sampler.reset();
    }

    /// Checks a request against a session before anything runs: the tokenizer matches the
    /// model, the prompt is not empty, every id is in the vocabulary, the prompt fits the
    /// context. The one validation of a generation request (the session checks its own
    /// calls too, for callers that use it directly).
    pub fn validate(&self, session: &Session<'_, '_>, prompt: &[u32]) -> Result<(), Error> {
        let n_vocab = session.model().config.n_vocab;
        if n_vocab != self.tok.n_vocab() {
            return Err(Error::VocabMismatch {
                tokenizer: self.tok.n_vocab(),
                model: n_vocab,
            });
        }
        Ok(session.validate(prompt, 0)?)
    }

    /// Generates from `req.prompt`, sending each id and the text as soon as it is complete
    /// (and not held back by a possible stop string or tag) to `sink`. `cancel` is polled
    /// between layers and tokens; raising it ends with [`StopReason::Cancelled`], as does a
    /// sink that breaks.
    ///
    /// Errors (nothing was generated): `Model(ContextFull)` when the prompt is longer than
    /// the context, `Model(EmptyInput)`, `Model(TokenOutOfRange)`, `VocabMismatch`.
    /// `OutOfMemory` (the heap refused a buffer; every buffer of a run is allocated before
    /// the prefill). Errors after output began: `Sampler(AllMasked)`, `Tokenizer`,
    /// `Constraint` — the text streamed so far stays valid.
    pub fn generate(
        &mut self,
        session: &mut Session<'_, '_>,
        req: &Request<'_>,
        cancel: &AtomicBool,
        clock: &dyn Clock,
        sink: &mut dyn Sink,
    ) -> Result<Outcome, Error> {
        let t_start = clock.now_us();
        // An empty thinking block pinned after the prompt: prefilled with it, no split.
        let pinned;
        let (prompt, reasoning_cfg) = match &req.reasoning {
            Some(cfg) if req.pin_empty_thinking => {
                pinned = self.pin_empty_thinking(req.prompt, cfg)?;
                (&pinned[..], None)
            }
            cfg => (req.prompt, cfg.clone()),
        };
        self.validate(session, prompt)?;
        let n_ctx = session.n_ctx();

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
        // Fallible, as every buffer below: on a board whose heap is a fixed arena an
        // exhausted heap is an error value.
        let oom = |n: usize| Error::OutOfMemory {
            bytes: n.saturating_mul(4),
        };
        self.cached
            .try_reserve(prompt.len() + limit)
            .map_err(|_| oom(prompt.len() + limit))?;
        let mut output_ids = Vec::new();
        output_ids
            .try_reserve_exact(limit + 4)
            .map_err(|_| oom(limit + 4))?;
        let mut out = Outcome {
            output_ids,
            stop_reason: StopReason::MaxTokens,
            n_prompt: prompt.len(),
            n_reused: keep,
            n_forced: 0,
            thinking_tokens: 0,
            thinking_forced_end: false,
            timings: Timings::default(),
            masks: Vec::new(),
        };

        // --- per-run state ---
        let open_id = reasoning_cfg
            .as_ref()
            .and_then(|cfg| self.tok.token_id(&cfg.open_tag));
        let mut reasoning = reasoning_cfg.map(|cfg| Reasoning::new(cfg, |t| self.tok.token_id(t)));
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
        let mut decoder = self.tok.try_decoder()?;
        let max_text = self.tok.decoder_bytes().out;
        let mut stop = StopDetector::try_new(eog, req.max_tokens, req.stop, max_text)
            .map_err(|bytes| Error::OutOfMemory { bytes })?;
        let mut out_sink = Out { sink, open: true };
        for &id in suffix {
            self.sampler.accept(id);
        }

        // --- constraint: where it applies; its first mask is computed during the prefill ---
        let mut gate = Gate::Off;
        if let Some(c) = self.constraint.as_mut() {
            c.reset()?;
            out.masks.reserve(limit + 4);
            gate = match (&reasoning, open_id) {
                (Some(r), _) if r.phase() == Phase::Thinking => Gate::Free,
                (Some(r), Some(open)) if r.phase() == Phase::Start => Gate::First(open),
                _ => Gate::On,
            };
        }
        // Forced tokens at the start of the output go with the prompt's prefill batch.
        let batch_forced = req.batch_forced && self.constraint.is_some();
        let mut forced = Vec::new();
        let mut batch = Vec::new();
        let mut start_stop = None;
        if batch_forced && gate == Gate::On && in_answer(&reasoning) && req.max_tokens != Some(0) {
            self.forced_run(&mut forced, n_ctx.saturating_sub(prompt.len()))?;
            let (n, reason) = self.stream_forced(
                &forced,
                &mut out,
                &mut decoder,
                &mut stop,
                &mut reasoning,
                &mut out_sink,
            )?;
            if n > 0 {
                batch
                    .try_reserve_exact(suffix.len() + n)
                    .map_err(|_| oom(suffix.len() + n))?;
                batch.extend_from_slice(suffix);
                batch.extend_from_slice(&forced[..n]);
            }
            start_stop = reason;
        }
        if gate != Gate::Free {
            if let Some(c) = self.constraint.as_mut() {
                c.start_mask();
            }
        }
        let to_prefill = if batch.is_empty() { suffix } else { &batch[..] };

        // --- prefill ---
        let t0 = clock.now_us();
        let r = session.prefill_cancellable(to_prefill, cancel);
        let t1 = clock.now_us();
        out.timings.n_prefill = suffix.len();
        out.timings.prefill_us = t1.saturating_sub(t0);
        match r {
            Ok(_) => self.cached.extend_from_slice(to_prefill),
            Err(model::Error::Cancelled) => {
                // Nothing was prefilled (the session is back where it was).
                out.stop_reason = StopReason::Cancelled;
                out.timings.n_prefill = 0;
                return Ok(out);
            }
            Err(e) => return Err(e.into()),
        }

        if req.max_tokens == Some(0) {
            return Ok(self.finish(out, &mut stop, &mut decoder, reasoning, &mut out_sink));
        }
        if let Some(reason) = start_stop {
            out.stop_reason = reason;
            return Ok(self.finish(out, &mut stop, &mut decoder, reasoning, &mut out_sink));
        }

        // A budget of 0 with a prompt that opened the block: close it before sampling.
        if let Some(r) = reasoning.as_mut().filter(|r| r.force_due()) {
            out_sink.step(r.force_end());
            out.thinking_forced_end = true;
            self.open_gate(&mut gate);
            let t = clock.now_us();
            let res = self.inject(session, &close_ids, &mut out, cancel, &mut out_sink);
            out.timings.decode_us += clock.now_us().saturating_sub(t);
            if let Some(reason) = res? {
                out.stop_reason = reason;
                return Ok(self.finish(out, &mut stop, &mut decoder, reasoning, &mut out_sink));
            }
        }

        // --- decode loop ---
        let mut t_step = clock.now_us();
        loop {
            if cancel.load(Ordering::Relaxed) {
                out.stop_reason = StopReason::Cancelled;
                break;
            }
            let id = match gate {
                Gate::Off | Gate::Free => self.sampler.sample(session.logits())?,
                Gate::First(_) | Gate::On => match self.sample_masked(session, gate, &mut out)? {
                    Some(id) => id,
                    None => {
                        out.stop_reason = StopReason::NoAllowedToken;
                        break;
                    }
                },
            };
            self.sampler.accept(id);
            let t = clock.now_us();
            // (Forced tokens at the start of the output were not sampled.)
            if out.output_ids.len() == out.n_forced {
                out.timings.ttft_us = t.saturating_sub(t_start);
            } else {
                out.timings.decode_us += t.saturating_sub(t_step);
            }
            out.output_ids.push(id);
            if !out_sink.token(id) {
                out.stop_reason = StopReason::Cancelled;
                break;
            }

            let text = decoder.push(id)?;
            let step = stop.on_token(id, text);
            let (stopped, forced_end) = match reasoning.as_mut() {
                None => {
                    out_sink.piece(step.text, false);
                    (step.stop, false)
                }
                Some(r) => {
                    let stopped = step.stop;
                    let s = r.on_token(id, step.text, decoder.pending_bytes() > 0);
                    let forced = s.force_end_thinking;
                    out_sink.step(s);
                    (stopped, forced)
                }
            };
            if let Some(reason) = stopped {
                out.stop_reason = reason;
                break;
            }
            if !out_sink.open {
                out.stop_reason = StopReason::Cancelled;
                break;
            }

            // The constraint follows the answer: accept the token (and the tokens it forces
            // after it, when they go in one batch) and start the next mask, which a worker
            // computes while the forward pass below runs.
            let mut n_fed = 0;
            let mut run_stop = None;
            match gate {
                Gate::First(open) if id == open => gate = Gate::Free,
                Gate::First(_) | Gate::On => {
                    gate = Gate::On;
                    if let Some(c) = self.constraint.as_mut() {
                        c.accept(id)?;
                    }
                    if batch_forced && !forced_end && in_answer(&reasoning) {
                        let room = n_ctx.saturating_sub(session.position() + 1);
                        self.forced_run(&mut forced, room)?;
                        (n_fed, run_stop) = self.stream_forced(
                            &forced,
                            &mut out,
                            &mut decoder,
                            &mut stop,
                            &mut reasoning,
                            &mut out_sink,
                        )?;
                    }
                    if let Some(c) = self.constraint.as_mut() {
                        c.start_mask();
                    }
                }
                Gate::Free
                    if forced_end
                        || reasoning
                            .as_ref()
                            .is_some_and(|r| r.phase() == Phase::Answer) =>
                {
                    self.open_gate(&mut gate)
                }
                Gate::Free | Gate::Off => {}
            }

            // Feed the token back, with the forced tokens after it in one batch (then the
            // close tag, when the budget ran out).
            t_step = clock.now_us();
            let fed = if n_fed == 0 {
                session.decode_cancellable(id, cancel).map(|_| 1)
            } else {
                batch.clear();
                batch.push(id);
                batch.extend_from_slice(&forced[..n_fed]);
                session
                    .prefill_cancellable(&batch, cancel)
                    .map(|_| batch.len())
            };
            match fed {
                Ok(n) => {
                    if n_fed == 0 {
                        self.cached.push(id);
                    } else {
                        self.cached.extend_from_slice(&batch);
                    }
                    out.timings.n_decode += n;
                    out.timings.decode_steps += 1;
                }
                Err(e) => {
                    out.stop_reason = stop_reason_of(e)?;
                    break;
                }
            }
            if let Some(reason) = run_stop {
                out.stop_reason = reason;
                break;
            }
            if forced_end {
                out.thinking_forced_end = true;
                let res = self.inject(session, &close_ids, &mut out, cancel, &mut out_sink)?;
                if let Some(reason) = res {
                    out.stop_reason = reason;
                    break;
                }
            }
        }
        Ok(self.finish(out, &mut stop, &mut decoder, reasoning, &mut out_sink))
    }

    /// The ids of `prompt` followed by an empty thinking block: `open \n\n close`, or the
    /// rest of it when the prompt already opened the block (`<think>\n`, the newer R1
    /// template). Errors: `Tokenizer`.
    fn pin_empty_thinking(&self, prompt: &[u32], cfg: &ReasoningConfig) -> Result<Vec<u32>, Error> {
        const EMPTY: &str = "\n\n";
        let mut text = alloc::string::String::new();
        let open = self.tok.token_id(&cfg.open_tag);
        let after_open = open.and_then(|o| prompt.iter().rposition(|&id| id == o));
        match after_open {
            Some(i) if cfg.starts_in_thinking => {
                let tail = self.tok.decode(&prompt[i + 1..])?;
                let ws = core::str::from_utf8(&tail).unwrap_or("");
                text.push_str(EMPTY.strip_prefix(ws).unwrap_or(""));
            }
            _ => {
                text.push_str(&cfg.open_tag);
                text.push_str(EMPTY);
            }
        }
        text.push_str(&cfg.close_tag);
        let ids = self.tok.encode(
            &text,
            EncodeOptions {
                add_special: false,
                parse_special: true,
            },
        )?;
        let mut all = Vec::with_capacity(prompt.len() + ids.len());
        all.extend_from_slice(prompt);
        all.extend_from_slice(&ids);
        Ok(all)
    }

    /// Thinking is over: the constraint applies from the next token; its first mask is
    /// started now.
    fn open_gate(&mut self, gate: &mut Gate) {
        if *gate == Gate::Free {
            *gate = Gate::On;
            if let Some(c) = self.constraint.as_mut() {
                c.start_mask();
            }
        }
    }

    /// Takes the constraint's mask (waiting for it when the worker is not done), allows
    /// end-of-generation only where the output is complete (and the open tag where thinking
    /// may still begin), and samples from it. `None` when the mask allows nothing.
    fn sample_masked(
        &mut self,
        session: &Session<'_, '_>,
        gate: Gate,
        out: &mut Outcome,
    ) -> Result<Option<u32>, Error> {
        let (Some(c), Some(mask)) = (self.constraint.as_mut(), self.mask.as_mut()) else {
            return Ok(Some(self.sampler.sample(session.logits())?));
        };
        let step = c.take_mask(mask)?;
        for &e in self.tok.eog_ids() {
            if step.complete {
                mask.allow(e);
            } else {
                mask.forbid(e);
            }
        }
        if let Gate::First(open) = gate {
            mask.allow(open);
        }
        out.masks.push(step.into());
        if mask.is_empty() {
            return Ok(None);
        }
        Ok(Some(self.sampler.sample_masked(session.logits(), mask)?))
    }

    /// The constraint's forced tokens from here into `forced` (none when they would not fit
    /// in `room` more positions of the context: then they are sampled as usual).
    /// Errors: `Constraint`.
    fn forced_run(&mut self, forced: &mut Vec<u32>, room: usize) -> Result<(), Error> {
        forced.clear();
        let tok = self.tok;
        if let Some(c) = self.constraint.as_mut() {
            c.forced_tokens(tok, forced)?;
            if forced.len() > room {
                forced.clear();
            }
        }
        Ok(())
    }

    /// Sends a run of forced tokens through what a sampled token goes through (the
    /// sampler's window, the output, the sink, the stop detector, the splitter) and accepts
    /// each into the constraint. Returns how many of them are to be fed to the model (all,
    /// or those before the one that ended the generation) and why it ended, if it did.
    fn stream_forced(
        &mut self,
        forced: &[u32],
        out: &mut Outcome,
        decoder: &mut tokenizer::Decoder<'_, '_>,
        stop: &mut StopDetector,
        reasoning: &mut Option<Reasoning>,
        sink: &mut Out<'_>,
    ) -> Result<(usize, Option<StopReason>), Error> {
        for (i, &f) in forced.iter().enumerate() {
            self.sampler.accept(f);
            out.output_ids.push(f);
            if !sink.token(f) {
                return Ok((i, Some(StopReason::Cancelled)));
            }
            let text = decoder.push(f)?;
            let step = stop.on_token(f, text);
            match reasoning.as_mut() {
                None => sink.piece(step.text, false),
                Some(r) => {
                    let s = r.on_token(f, step.text, decoder.pending_bytes() > 0);
                    sink.step(s);
                }
            }
            if let Some(reason) = step.stop {
                return Ok((i, Some(reason)));
            }
            if !sink.open {
                return Ok((i, Some(StopReason::Cancelled)));
            }
            if let Some(c) = self.constraint.as_mut() {
                c.accept(f)?;
            }
            out.n_forced += 1;
        }
        Ok((forced.len(), None))
    }

    /// Decodes the close-tag ids as if generated. `Some(reason)` when the session stopped
    /// or the sink asked to.
    fn inject(
        &mut self,
        session: &mut Session<'_, '_>,
        ids: &[u32],
        out: &mut Outcome,
        cancel: &AtomicBool,
        sink: &mut Out<'_>,
    ) -> Result<Option<StopReason>, Error> {
        for &c in ids {
            if !sink.token(c) {
                return Ok(Some(StopReason::Cancelled));
            }
            match session.decode_cancellable(c, cancel) {
                Ok(_) => {
                    self.sampler.accept(c);
                    self.cached.push(c);
                    out.output_ids.push(c);
                    out.timings.n_decode += 1;
                    out.timings.decode_steps += 1;
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
        sink: &mut Out<'_>,
    ) -> Outcome {
        let held = stop.finish(out.stop_reason);
        match reasoning.as_mut() {
            None => {
                sink.piece(held, false);
                if out.stop_reason != StopReason::StopString {
                    sink.piece(decoder.finish(), false);
                }
            }
            Some(r) => {
                sink.step(r.on_text(held));
                if out.stop_reason != StopReason::StopString {
                    sink.step(r.on_text(decoder.finish()));
                }
                sink.step(r.finish());
                out.thinking_tokens = r.thinking_tokens();
            }
        }
        out
    }
}

/// The output is answer, not thinking (or there is no split): where forced tokens may go
/// in a batch.
fn in_answer(reasoning: &Option<Reasoning>) -> bool {
    reasoning
        .as_ref()
        .is_none_or(|r| r.phase() == Phase::Answer)
}

/// A session error during generation: the ones that end it normally become a reason.
fn stop_reason_of(e: model::Error) -> Result<StopReason, Error> {
    match e {
        model::Error::ContextFull { .. } => Ok(StopReason::ContextFull),
        model::Error::Cancelled => Ok(StopReason::Cancelled),
        e => Err(e.into()),
    }
}

/// The caller's sink, closed for good once it asks to stop.
struct Out<'s> {
    sink: &'s mut dyn Sink,
    open: bool,
}

impl Out<'_> {
    /// Sends an id; false once the sink has asked to stop.
    fn token(&mut self, id: u32) -> bool {
        if self.open && self.sink.token(id).is_break() {
            self.open = false;
        }
        self.open
    }

    /// Sends non-empty text while the sink is open.
    fn piece(&mut self, text: &str, thinking: bool) {
        if self.open && !text.is_empty() && self.sink.piece(Piece { text, thinking }).is_break() {
            self.open = false;
        }
    }

    /// A splitter step: its thinking, then its answer text.
    fn step(&mut self, s: crate::chat::reasoning::Step<'_>) {
        self.piece(s.thinking, true);
        self.piece(s.answer, false);
    }
}

/// Where the output constraint stands in one generation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Gate {
    /// No constraint.
    Off,
    /// Inside a thinking block: unconstrained until it closes.
    Free,
    /// The first token of a reasoning model's output: the constraint's mask or the open tag
    /// (this id).
    First(u32),
    /// Every token from the constraint's mask.
    On,
}

//! [`GrammarConstraint`]: llguidance's matcher behind the [`Constraint`] interface, with
//! the masks computed on a worker thread.
//!
//! The matcher lives on the worker. `accept` and `start_mask` only send it a message, so
//! the generator goes straight on to the forward pass while the worker applies the token
//! and computes the next mask; `take_mask` waits for the reply (not at all when the forward
//! pass took longer than the mask) and copies the bits. A mask is computed in `take_mask`
//! itself ("inline") only when nothing started it, or always with [`MaskMode::Inline`] or
//! when no thread could be started. [`MaskStep`] says which happened and how long it took.
//!
//! For a JSON schema the matcher's mask is narrowed by the JSON-number digit cap
//! ([`json_number`](crate::constraint::json_number)) where the mask is computed (on the
//! worker, in the background), and the cap's lexer follows each accepted token there too.
//!
//! **Forced tokens** ([`Constraint::forced_tokens`]): the matcher gives the bytes that the
//! grammar fixes next (llguidance's fast-forward bytes, which it computes for any token
//! trie); they are tokenized here with the generator's tokenizer, canonically, as the
//! model saw such text in training (llguidance's own forced *tokens* need a canonical
//! tokenizer in its trie, which ours is not: the trie tokenizes greedily). The worker then
//! keeps the leading tokens that the model could not have spelled otherwise at a token
//! boundary: it stops before the first token whose forced text (that token's and the rest)
//! is the start of a longer token the grammar allows there — a token that would run past
//! the forced text (`":"` before a free value may be one token with what follows). Two
//! round trips to the worker, before the forward pass.

use std::string::String;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, Sender, channel};
use std::thread::JoinHandle;
use std::time::Instant;

use llguidance::Matcher;
use llguidance::api::StopReason as LlgStop;
use llguidance::toktrie::{SimpleVob, TokEnv};

use crate::constraint::json_number::{DigitTable, NumberLexer};
use crate::constraint::{Constraint, ConstraintError, MaskStep, TokenMask};
use crate::tokenizer::{EncodeOptions, Tokenizer};

/// Where masks are computed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MaskMode {
    /// On a worker thread, while the forward pass runs (the default).
    Background,
    /// In the calling thread, when the mask is taken (for comparison, or hosts without
    /// threads to spare).
    Inline,
}

/// What the worker sends back.
enum Answer {
    /// For `Cmd::Compute`.
    Mask(Reply),
    /// For `Cmd::Forced`: the bytes the grammar fixes next.
    Forced(Vec<u8>),
    /// For `Cmd::Keep`: the forced tokens the generator may feed (a prefix of them).
    Kept(Vec<u32>),
}

/// One mask as the matcher computed it (and the digit cap narrowed it).
struct Reply {
    result: Result<Mask, (ConstraintError, String)>,
    compute_ns: u32,
}

struct Mask {
    vob: SimpleVob,
    /// End-of-generation is allowed.
    complete: bool,
    /// The digit cap would have left nothing, so it was not applied.
    digits_uncapped: bool,
}

/// The JSON-number digit cap for one output: the lexer state of the text accepted so far
/// and the per-token table (see [`json_number`](crate::constraint::json_number)).
#[derive(Clone)]
pub(super) struct DigitCap {
    table: Arc<DigitTable>,
    env: TokEnv,
    state: NumberLexer,
    /// Ids the cap removed from the last mask (kept to undo it; reused).
    removed: Vec<u32>,
}

impl DigitCap {
    /// The cap for outputs of `start` (None when the matcher has no token environment:
    /// it failed, and every mask will say so).
    pub(super) fn new(table: Arc<DigitTable>, start: &Matcher) -> Option<Self> {
        Some(DigitCap {
            table,
            env: start.tok_env().ok()?,
            state: NumberLexer::Outside,
            removed: Vec::new(),
        })
    }

    fn reset(&mut self) {
        self.state = NumberLexer::Outside;
    }

    fn accepted(&mut self, id: u32) {
        self.state = self.state.feed_all(self.env.tok_trie().token(id));
    }

    /// Removes from `v` the tokens that would push a number part past the cap. Returns true
    /// when that would have left nothing: then `v` is left as it was.
    fn narrow(&mut self, v: &mut SimpleVob) -> bool {
        let removed = &mut self.removed;
        removed.clear();
        let n = v.len();
        self.table.for_each_over_cap(self.state, |id| {
            if (id as usize) < n && v.is_allowed(id) {
                v.disallow_token(id);
                removed.push(id);
            }
        });
        if removed.is_empty() || !v.is_zero() {
            return false;
        }
        for &id in removed.iter() {
            v.allow_token(id);
        }
        true
    }
}

/// The matcher and what goes with it, on whichever thread computes the masks.
struct State {
    matcher: Box<Matcher>,
    cap: Option<DigitCap>,
    /// An `accept` that failed, reported by the next mask.
    failed: Option<(ConstraintError, String)>,
}

impl State {
    fn new(start: &Matcher, cap: &Option<DigitCap>) -> Self {
        State {
            matcher: Box::new(start.clone()),
            cap: cap.clone(),
            failed: None,
        }
    }

    fn reset(&mut self, start: Box<Matcher>) {
        self.matcher = start;
        self.failed = None;
        if let Some(c) = &mut self.cap {
            c.reset();
        }
    }

    fn accept(&mut self, id: u32) -> Result<(), (ConstraintError, String)> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        let r = accept(&mut self.matcher, id);
        match &r {
            Ok(()) => {
                if let Some(c) = &mut self.cap {
                    c.accepted(id);
                }
            }
            Err(e) => self.failed = Some(e.clone()),
        }
        r
    }

    /// The bytes every continuation starts with (empty after a failed `accept`: the next
    /// mask reports it).
    fn forced_bytes(&mut self) -> Vec<u8> {
        if self.failed.is_some() || self.matcher.is_stopped() {
            return Vec::new();
        }
        let b = self.matcher.compute_ff_bytes();
        if self.matcher.is_error() {
            return Vec::new();
        }
        b
    }

    /// The leading tokens of `toks` (the forced bytes, tokenized) that every output takes
    /// as they are: see the module docs.
    fn keep_forced(&self, mut toks: Vec<u32>) -> Vec<u32> {
        let n = keep_forced(&self.matcher, &toks);
        toks.truncate(n);
        toks
    }

    fn compute(&mut self) -> Reply {
        match self.failed.take() {
            Some(e) => Reply {
                result: Err(e),
                compute_ns: 0,
            },
            None => compute(&mut self.matcher, self.cap.as_mut()),
        }
    }
}

enum Cmd {
    /// Start over from this matcher state.
    Reset(Box<Matcher>),
    /// Apply a sampled token.
    Accept(u32),
    /// Compute the next mask and send it back.
    Compute,
    /// Send back the forced bytes.
    Forced,
    /// Send back the forced tokens the generator may feed, of these.
    Keep(Vec<u32>),
}

struct Worker {
    tx: Sender<Cmd>,
    rx: Receiver<Answer>,
    handle: Option<JoinHandle<()>>,
}

enum Engine {
    Worker(Worker),
    Inline(State),
}

/// The output constraint of a compiled [`Grammar`](super::Grammar): see the module docs.
pub struct GrammarConstraint {
    start: Matcher,
    /// Whether the JSON-number digit cap applies.
    capped: bool,
    n_vocab: usize,
    engine: Engine,
    /// A `Compute` was sent and its reply not yet received.
    pending: bool,
    last_error: Option<String>,
}

impl core::fmt::Debug for GrammarConstraint {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("GrammarConstraint")
            .field("n_vocab", &self.n_vocab)
            .field("background", &matches!(self.engine, Engine::Worker(_)))
            .finish()
    }
}

impl GrammarConstraint {
    pub(super) fn new(
        start: Matcher,
        cap: Option<DigitCap>,
        n_vocab: usize,
        mode: MaskMode,
    ) -> Self {
        let engine = match mode {
            MaskMode::Background => spawn(State::new(&start, &cap)),
            MaskMode::Inline => None,
        }
        .map_or_else(|| Engine::Inline(State::new(&start, &cap)), Engine::Worker);
        GrammarConstraint {
            start,
            capped: cap.is_some(),
            n_vocab,
            engine,
            pending: false,
            last_error: None,
        }
    }

    /// Whether masks are computed on a worker thread.
    pub fn is_background(&self) -> bool {
        matches!(self.engine, Engine::Worker(_))
    }

    /// Whether the JSON-number digit cap applies (JSON schemas, unless
    /// [`Grammar::with_digit_cap`](super::Grammar::with_digit_cap) turned it off).
    pub fn digit_cap(&self) -> bool {
        self.capped
    }

    fn fail(&mut self, (e, msg): (ConstraintError, String)) -> ConstraintError {
        self.last_error = Some(msg);
        e
    }
}

/// The worker thread serving `state` (None when no thread can be started).
fn spawn(state: State) -> Option<Worker> {
    let (tx, cmd_rx) = channel::<Cmd>();
    let (reply_tx, rx) = channel::<Answer>();
    let handle = std::thread::Builder::new()
        .name("bague-grammar".into())
        .spawn(move || serve(state, cmd_rx, reply_tx))
        .ok()?;
    Some(Worker {
        tx,
        rx,
        handle: Some(handle),
    })
}

/// The worker's loop: ends when the constraint is dropped.
fn serve(mut state: State, rx: Receiver<Cmd>, tx: Sender<Answer>) {
    while let Ok(cmd) = rx.recv() {
        let answer = match cmd {
            Cmd::Reset(s) => {
                state.reset(s);
                continue;
            }
            Cmd::Accept(id) => {
                // An error is kept in the state and sent with the next mask.
                let _ = state.accept(id);
                continue;
            }
            Cmd::Compute => Answer::Mask(state.compute()),
            Cmd::Forced => Answer::Forced(state.forced_bytes()),
            Cmd::Keep(toks) => Answer::Kept(state.keep_forced(toks)),
        };
        if tx.send(answer).is_err() {
            return;
        }
    }
}

/// How many of `toks` (the forced bytes, tokenized) to feed: stops before the first one
/// that the grammar does not accept there, or whose forced text from there on could be the
/// start of a longer token the grammar allows there (the model may cross the end of the
/// forced text with one token). Works on a copy of `m`; 0 when anything fails.
fn keep_forced(m: &Matcher, toks: &[u32]) -> usize {
    let Ok(env) = m.tok_env() else {
        return 0;
    };
    let trie = env.tok_trie();
    let mut text = Vec::new();
    for &t in toks {
        if t as usize >= trie.vocab_size() {
            return 0;
        }
        text.extend_from_slice(trie.token(t));
    }
    let mut m = m.clone();
    let mut at = 0;
    for (k, &t) in toks.iter().enumerate() {
        let rest = &text[at..];
        // Cheap test first: does any token of the vocabulary spell `rest` and more?
        if trie.has_extensions(rest) {
            let Ok(allowed) = m.compute_mask() else {
                return k;
            };
            let mut crossing = false;
            allowed.iter_set_entries(|id| {
                let b = trie.token(id as u32);
                crossing |= b.len() > rest.len() && b.starts_with(rest);
            });
            if crossing || !allowed.is_allowed(t) {
                return k;
            }
        }
        if m.validate_tokens(&[t]).ok() != Some(1) || m.consume_token(t).is_err() {
            return k;
        }
        at += trie.token(t).len();
    }
    toks.len()
}

fn accept(m: &mut Matcher, id: u32) -> Result<(), (ConstraintError, String)> {
    m.consume_token(id).map_err(|e| {
        let kind = match m.stop_reason() {
            LlgStop::LexerTooComplex | LlgStop::ParserTooComplex | LlgStop::MaxTokensTotal => {
                ConstraintError::TooComplex
            }
            _ => ConstraintError::Rejected { id },
        };
        (kind, e.to_string())
    })
}

/// The next mask (narrowed by the digit cap, if any) and whether end-of-generation is in it
/// (the output is complete). A state where no token can follow is an empty mask, not an
/// error.
fn compute(m: &mut Matcher, cap: Option<&mut DigitCap>) -> Reply {
    let t = Instant::now();
    let r = m.compute_mask_or_eos().map(|mut vob| {
        let complete = m
            .tok_env()
            .is_ok_and(|env| vob.is_allowed(env.tok_trie().eos_token()));
        let digits_uncapped = cap.is_some_and(|c| c.narrow(&mut vob));
        Mask {
            vob,
            complete,
            digits_uncapped,
        }
    });
    let compute_ns = u32::try_from(t.elapsed().as_nanos()).unwrap_or(u32::MAX);
    let result = match r {
        Ok(mask) => Ok(mask),
        Err(e) => match m.stop_reason() {
            LlgStop::NoExtensionBias => Ok(Mask {
                vob: SimpleVob::new(),
                complete: false,
                digits_uncapped: false,
            }),
            LlgStop::LexerTooComplex | LlgStop::ParserTooComplex | LlgStop::MaxTokensTotal => {
                Err((ConstraintError::TooComplex, e.to_string()))
            }
            _ => Err((ConstraintError::Internal, e.to_string())),
        },
    };
    Reply { result, compute_ns }
}

impl Drop for GrammarConstraint {
    fn drop(&mut self) {
        if let Engine::Worker(w) = &mut self.engine {
            // Closing the channel ends the worker's loop after the mask it is computing.
            let (tx, _) = channel();
            drop(std::mem::replace(&mut w.tx, tx));
            if let Some(h) = w.handle.take() {
                let _ = h.join();
            }
        }
    }
}

impl Constraint for GrammarConstraint {
    fn n_vocab(&self) -> usize {
        self.n_vocab
    }

    fn reset(&mut self) -> Result<(), ConstraintError> {
        self.last_error = None;
        match &mut self.engine {
            Engine::Worker(w) => {
                if self.pending {
                    // A stale mask from the last output: drop it.
                    let _ = w.rx.recv();
                    self.pending = false;
                }
                if w.tx.send(Cmd::Reset(Box::new(self.start.clone()))).is_err() {
                    self.last_error = Some("the grammar worker thread has stopped".into());
                    return Err(ConstraintError::Internal);
                }
            }
            Engine::Inline(state) => state.reset(Box::new(self.start.clone())),
        }
        Ok(())
    }

    fn start_mask(&mut self) {
        if let Engine::Worker(w) = &self.engine {
            if !self.pending && w.tx.send(Cmd::Compute).is_ok() {
                self.pending = true;
            }
        }
    }

    fn take_mask(&mut self, mask: &mut TokenMask) -> Result<MaskStep, ConstraintError> {
        if mask.n_vocab() != self.n_vocab {
            return Err(ConstraintError::VocabMismatch {
                constraint: self.n_vocab,
                tokenizer: mask.n_vocab(),
            });
        }
        let background = self.pending;
        let t = Instant::now();
        let reply = match &mut self.engine {
            Engine::Worker(w) => {
                if !self.pending && w.tx.send(Cmd::Compute).is_err() {
                    self.last_error = Some("the grammar worker thread has stopped".into());
                    return Err(ConstraintError::Internal);
                }
                self.pending = false;
                match w.rx.recv() {
                    Ok(Answer::Mask(r)) => r,
                    _ => {
                        self.last_error = Some("the grammar worker thread has stopped".into());
                        return Err(ConstraintError::Internal);
                    }
                }
            }
            Engine::Inline(state) => state.compute(),
        };
        let waited = u32::try_from(t.elapsed().as_nanos()).unwrap_or(u32::MAX);
        let m = reply.result.map_err(|e| self.fail(e))?;
        mask.copy_from_words(m.vob.as_slice());
        Ok(MaskStep {
            complete: m.complete,
            background,
            compute_ns: reply.compute_ns,
            wait_ns: waited,
            digits_uncapped: m.digits_uncapped,
        })
    }

    fn accept(&mut self, id: u32) -> Result<(), ConstraintError> {
        match &mut self.engine {
            Engine::Worker(w) => {
                if self.pending {
                    // A mask was started before this token: it is for the old state.
                    let _ = w.rx.recv();
                    self.pending = false;
                }
                if w.tx.send(Cmd::Accept(id)).is_err() {
                    self.last_error = Some("the grammar worker thread has stopped".into());
                    return Err(ConstraintError::Internal);
                }
                Ok(())
            }
            Engine::Inline(state) => {
                if state.failed.is_none() {
                    if let Err(e) = state.accept(id) {
                        // Reported now; the next mask does not repeat it.
                        state.failed = None;
                        return Err(self.fail(e));
                    }
                }
                Ok(())
            }
        }
    }

    fn last_error(&self) -> Option<&str> {
        self.last_error.as_deref()
    }

    fn forced_tokens(
        &mut self,
        tok: &Tokenizer<'_>,
        out: &mut Vec<u32>,
    ) -> Result<(), ConstraintError> {
        out.clear();
        let bytes = match &mut self.engine {
            Engine::Worker(w) => {
                if self.pending {
                    // A mask started before the last token: it is for the old state.
                    let _ = w.rx.recv();
                    self.pending = false;
                }
                match ask(w, Cmd::Forced) {
                    Some(Answer::Forced(b)) => b,
                    _ => return Err(self.stopped()),
                }
            }
            Engine::Inline(state) => state.forced_bytes(),
        };
        // Whole characters only: the rest is left to the model.
        let text = match std::str::from_utf8(&bytes) {
            Ok(t) => t,
            Err(e) => std::str::from_utf8(&bytes[..e.valid_up_to()]).unwrap_or(""),
        };
        if text.is_empty() {
            return Ok(());
        }
        let opts = EncodeOptions {
            add_special: false,
            parse_special: false,
        };
        let toks = tok.encode(text, opts).map_err(|e| {
            self.fail((
                ConstraintError::Internal,
                format!("tokenizing the forced text: {e}"),
            ))
        })?;
        let kept = match &mut self.engine {
            Engine::Worker(w) => match ask(w, Cmd::Keep(toks)) {
                Some(Answer::Kept(t)) => t,
                _ => return Err(self.stopped()),
            },
            Engine::Inline(state) => state.keep_forced(toks),
        };
        out.extend_from_slice(&kept);
        Ok(())
    }
}

/// Sends `cmd` to the worker and waits for its answer (None when the worker is gone).
fn ask(w: &Worker, cmd: Cmd) -> Option<Answer> {
    w.tx.send(cmd).ok()?;
    w.rx.recv().ok()
}

impl GrammarConstraint {
    /// The worker thread is gone: `Internal`, with the message kept.
    fn stopped(&mut self) -> ConstraintError {
        self.last_error = Some("the grammar worker thread has stopped".into());
        ConstraintError::Internal
    }
}

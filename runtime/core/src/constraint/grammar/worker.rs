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

/// Where masks are computed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MaskMode {
    /// On a worker thread, while the forward pass runs (the default).
    Background,
    /// In the calling thread, when the mask is taken (for comparison, or hosts without
    /// threads to spare).
    Inline,
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
}

struct Worker {
    tx: Sender<Cmd>,
    rx: Receiver<Reply>,
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
    let (reply_tx, rx) = channel::<Reply>();
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
fn serve(mut state: State, rx: Receiver<Cmd>, tx: Sender<Reply>) {
    while let Ok(cmd) = rx.recv() {
        match cmd {
            Cmd::Reset(s) => state.reset(s),
            Cmd::Accept(id) => {
                // An error is kept in the state and sent with the next mask.
                let _ = state.accept(id);
            }
            Cmd::Compute => {
                if tx.send(state.compute()).is_err() {
                    return;
                }
            }
        }
    }
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
                    Ok(r) => r,
                    Err(_) => {
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
}

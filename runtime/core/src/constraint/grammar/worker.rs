//! [`GrammarConstraint`]: llguidance's matcher behind the [`Constraint`] interface, with
//! the masks computed on a worker thread.
//!
//! The matcher lives on the worker. `accept` and `start_mask` only send it a message, so
//! the generator goes straight on to the forward pass while the worker applies the token
//! and computes the next mask; `take_mask` waits for the reply (not at all when the forward
//! pass took longer than the mask) and copies the bits. A mask is computed in `take_mask`
//! itself ("inline") only when nothing started it, or always with [`MaskMode::Inline`] or
//! when no thread could be started. [`MaskStep`] says which happened and how long it took.

use std::string::String;
use std::sync::mpsc::{Receiver, Sender, channel};
use std::thread::JoinHandle;
use std::time::Instant;

use llguidance::Matcher;
use llguidance::api::StopReason as LlgStop;
use llguidance::toktrie::SimpleVob;

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

/// One mask as the matcher computed it.
struct Reply {
    result: Result<(SimpleVob, bool), (ConstraintError, String)>,
    compute_ns: u32,
}

enum Cmd {
    /// Start over from this state.
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
    Inline {
        matcher: Box<Matcher>,
        /// An `accept` that failed, reported by the next `take_mask`.
        failed: Option<(ConstraintError, String)>,
    },
}

/// The output constraint of a compiled [`Grammar`](super::Grammar): see the module docs.
pub struct GrammarConstraint {
    start: Matcher,
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
    pub(super) fn new(start: Matcher, n_vocab: usize, mode: MaskMode) -> Self {
        let engine = match mode {
            MaskMode::Background => spawn(start.clone()),
            MaskMode::Inline => None,
        }
        .map_or_else(
            || Engine::Inline {
                matcher: Box::new(start.clone()),
                failed: None,
            },
            Engine::Worker,
        );
        GrammarConstraint {
            start,
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

    fn fail(&mut self, (e, msg): (ConstraintError, String)) -> ConstraintError {
        self.last_error = Some(msg);
        e
    }
}

fn spawn(start: Matcher) -> Option<Worker> {
    let (tx, cmd_rx) = channel::<Cmd>();
    let (reply_tx, rx) = channel::<Reply>();
    let handle = std::thread::Builder::new()
        .name("bague-grammar".into())
        .spawn(move || serve(start, cmd_rx, reply_tx))
        .ok()?;
    Some(Worker {
        tx,
        rx,
        handle: Some(handle),
    })
}

/// The worker's loop: ends when the constraint is dropped.
fn serve(start: Matcher, rx: Receiver<Cmd>, tx: Sender<Reply>) {
    let mut m = Box::new(start);
    let mut failed = None;
    while let Ok(cmd) = rx.recv() {
        match cmd {
            Cmd::Reset(s) => {
                m = s;
                failed = None;
            }
            Cmd::Accept(id) => {
                if failed.is_none() {
                    failed = accept(&mut m, id).err();
                }
            }
            Cmd::Compute => {
                let reply = match failed.take() {
                    Some(e) => Reply {
                        result: Err(e),
                        compute_ns: 0,
                    },
                    None => compute(&mut m),
                };
                if tx.send(reply).is_err() {
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

/// The next mask and whether end-of-generation is in it (the output is complete). A state
/// where no token can follow is an empty mask, not an error.
fn compute(m: &mut Matcher) -> Reply {
    let t = Instant::now();
    let r = m.compute_mask_or_eos();
    let compute_ns = u32::try_from(t.elapsed().as_nanos()).unwrap_or(u32::MAX);
    let result = match r {
        Ok(v) => {
            let complete = m
                .tok_env()
                .is_ok_and(|env| v.is_allowed(env.tok_trie().eos_token()));
            Ok((v, complete))
        }
        Err(e) => match m.stop_reason() {
            LlgStop::NoExtensionBias => Ok((SimpleVob::new(), false)),
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
            Engine::Inline { matcher, failed } => {
                **matcher = self.start.clone();
                *failed = None;
            }
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
            Engine::Inline { matcher, failed } => match failed.take() {
                Some(e) => Reply {
                    result: Err(e),
                    compute_ns: 0,
                },
                None => compute(matcher),
            },
        };
        let waited = u32::try_from(t.elapsed().as_nanos()).unwrap_or(u32::MAX);
        let (vob, complete) = reply.result.map_err(|e| self.fail(e))?;
        mask.copy_from_words(vob.as_slice());
        Ok(MaskStep {
            complete,
            background,
            compute_ns: reply.compute_ns,
            wait_ns: waited,
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
            Engine::Inline { matcher, failed } => {
                if failed.is_none() {
                    if let Err(e) = accept(matcher, id) {
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

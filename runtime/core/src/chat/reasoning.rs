//! [`Reasoning`]: splits streamed output into thinking and answer text.
//!
//! R1-style models write `<think>…</think>` before the answer. With the original R1
//! template the model writes `<think>` itself; the newer template ends the prompt with
//! `<think>\n`, so generation starts inside the block (`starts_in_thinking`, see
//! [`prompt_opens_thinking`]). Tags may be split across pieces: text that could be the
//! start of a tag is held back until it is decided. Only one block is recognised, at the
//! start of the output (leading whitespace allowed); later tags are answer text. With no
//! `</think>` everything after `<think>` is thinking.
//!
//! Thinking budget: after `budget` thinking tokens, [`Step::force_end_thinking`] tells
//! the caller to feed [`Reasoning::close_ids`] (the `</think>` token ids) to the model as if
//! generated; the splitter has then already switched to answer, and ignores the injected
//! close tag if the caller passes it back in.
//!
//! ```
//! use bague::chat::{Reasoning, ReasoningConfig};
//! let mut r = Reasoning::new(ReasoningConfig::r1(), |_| None);
//! let mut thinking = String::new();
//! let mut answer = String::new();
//! for piece in ["<th", "ink>\nHmm.", "\n</th", "ink>\n\n4"] {
//!     let s = r.on_text(piece);
//!     thinking.push_str(s.thinking);
//!     answer.push_str(s.answer);
//! }
//! answer.push_str(r.finish().answer);
//! assert_eq!((thinking.as_str(), answer.as_str()), ("\nHmm.\n", "\n\n4"));
//! ```

use alloc::string::String;
use alloc::vec::Vec;

use super::builtin::{THINK_CLOSE, THINK_OPEN, strip_thinking};
use super::{Message, Role};

/// Settings of a [`Reasoning`] splitter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReasoningConfig {
    /// Opening tag, `<think>`.
    pub open_tag: String,
    /// Closing tag, `</think>`.
    pub close_tag: String,
    /// The prompt already opened the block (newer R1 template): output starts as thinking.
    pub starts_in_thinking: bool,
    /// Maximum thinking tokens before the caller must close the block; `None` = no limit.
    pub budget: Option<u32>,
}

impl ReasoningConfig {
    /// `<think>` / `</think>`, starting outside the block, no budget.
    pub fn r1() -> Self {
        ReasoningConfig {
            open_tag: THINK_OPEN.into(),
            close_tag: THINK_CLOSE.into(),
            starts_in_thinking: false,
            budget: None,
        }
    }

    /// The same, with generation starting inside the block.
    pub fn starts_in_thinking(mut self, yes: bool) -> Self {
        self.starts_in_thinking = yes;
        self
    }

    /// The same, with a thinking budget in tokens.
    pub fn budget(mut self, tokens: Option<u32>) -> Self {
        self.budget = tokens;
        self
    }
}

/// Where the splitter is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Nothing decided yet (only whitespace or a partial `<think>` seen).
    Start,
    /// Inside the thinking block.
    Thinking,
    /// After the block, or no block at all.
    Answer,
}

/// What one piece produced. Thinking text, when both are set, comes before answer text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Step<'a> {
    /// Thinking text (tags removed).
    pub thinking: &'a str,
    /// Answer text.
    pub answer: &'a str,
    /// The thinking block ended in this step (`</think>` seen, or forced).
    pub ended_thinking: bool,
    /// The budget is spent: feed [`Reasoning::close_ids`] to the model now.
    pub force_end_thinking: bool,
}

/// Streaming thinking/answer splitter.
#[derive(Clone, Debug)]
pub struct Reasoning {
    cfg: ReasoningConfig,
    phase: Phase,
    held: String,
    thinking: String,
    answer: String,
    ended: bool,
    n_thinking: u32,
    open_id: Option<u32>,
    close_id: Option<u32>,
    close_ids: Vec<u32>,
    /// After a forced close: drop the injected close tag if it is passed back in.
    swallow_close: bool,
}

impl Reasoning {
    /// A splitter. `token_id` looks up a token's id by its text (the tokenizer's
    /// `token_id`); it is asked for the open and close tags, to recognise them by id and to
    /// know what to inject. In the R1 vocab both are single tokens. When the close tag is
    /// not one token, [`Self::close_ids`] is empty and the caller must tokenize
    /// [`Self::close_tag`] itself.
    pub fn new(cfg: ReasoningConfig, token_id: impl Fn(&str) -> Option<u32>) -> Self {
        let open_id = token_id(&cfg.open_tag);
        let close_id = token_id(&cfg.close_tag);
        let phase = if cfg.starts_in_thinking {
            Phase::Thinking
        } else {
            Phase::Start
        };
        let cap = cfg.open_tag.len().max(cfg.close_tag.len()) + 64;
        Reasoning {
            open_id,
            close_id,
            close_ids: close_id.into_iter().collect(),
            phase,
            held: String::with_capacity(cap),
            thinking: String::with_capacity(cap),
            answer: String::with_capacity(cap),
            ended: false,
            n_thinking: 0,
            swallow_close: false,
            cfg,
        }
    }

    /// Current phase.
    pub fn phase(&self) -> Phase {
        self.phase
    }

    /// Thinking tokens counted so far (tokens fed while in the thinking phase).
    pub fn thinking_tokens(&self) -> u32 {
        self.n_thinking
    }

    /// Token ids to inject to close the block (empty if `</think>` is not a single token).
    pub fn close_ids(&self) -> &[u32] {
        &self.close_ids
    }

    /// The closing tag text.
    pub fn close_tag(&self) -> &str {
        &self.cfg.close_tag
    }

    /// True when the block is open and the budget is spent, e.g. a budget of 0 with
    /// `starts_in_thinking` before the first token: call [`Self::force_end`] and inject.
    pub fn force_due(&self) -> bool {
        self.phase == Phase::Thinking && self.cfg.budget.is_some_and(|b| self.n_thinking >= b)
    }

    /// Feeds one generated token: its id and decoded text (possibly empty).
    /// `utf8_pending`: the decoder holds an incomplete UTF-8 sequence, so the budget
    /// cut-off waits for the character to complete. A tag token with empty text (a
    /// decoder that hides special tokens) is recognised by id.
    pub fn on_token(&mut self, id: u32, text: &str, utf8_pending: bool) -> Step<'_> {
        self.begin();
        let counted = self.phase == Phase::Thinking;
        if self.swallow_close && Some(id) == self.close_id {
            self.swallow_close = false;
            self.held.clear();
            return self.step(false);
        }
        if text.is_empty() && Some(id) == self.close_id {
            self.held.push_str(&self.cfg.close_tag);
        } else if text.is_empty() && Some(id) == self.open_id {
            self.held.push_str(&self.cfg.open_tag);
        } else {
            self.held.push_str(text);
        }
        self.process();
        if counted {
            self.n_thinking = self.n_thinking.saturating_add(1);
        }
        if !utf8_pending && self.force_due() {
            self.close_now();
            return self.step(true);
        }
        self.step(false)
    }

    /// Feeds decoded text without token ids (no budget counting).
    pub fn on_text(&mut self, text: &str) -> Step<'_> {
        self.begin();
        self.held.push_str(text);
        self.process();
        self.step(false)
    }

    /// Closes the block now (the caller decided, or [`Self::force_due`] before any token):
    /// held text goes out as thinking; the caller injects [`Self::close_ids`].
    /// `force_end_thinking` is set when the block was open.
    pub fn force_end(&mut self) -> Step<'_> {
        self.begin();
        if self.phase == Phase::Thinking {
            self.close_now();
            return self.step(true);
        }
        self.step(false)
    }

    /// End of output: releases held-back text to the current phase (a partial tag is text).
    pub fn finish(&mut self) -> Step<'_> {
        self.begin();
        match self.phase {
            Phase::Thinking => self.thinking.push_str(&self.held),
            Phase::Start | Phase::Answer => {
                if !(self.swallow_close && self.cfg.close_tag.starts_with(self.held.as_str())) {
                    self.answer.push_str(&self.held);
                }
            }
        }
        self.held.clear();
        self.step(false)
    }

    fn begin(&mut self) {
        self.thinking.clear();
        self.answer.clear();
        self.ended = false;
    }

    fn step(&self, forced: bool) -> Step<'_> {
        Step {
            thinking: &self.thinking,
            answer: &self.answer,
            ended_thinking: self.ended,
            force_end_thinking: forced,
        }
    }

    fn close_now(&mut self) {
        self.thinking.push_str(&self.held);
        self.held.clear();
        self.phase = Phase::Answer;
        self.ended = true;
        self.swallow_close = true;
    }

    /// Classifies the held text as far as it can be decided.
    fn process(&mut self) {
        let (open, close) = (self.cfg.open_tag.as_str(), self.cfg.close_tag.as_str());
        loop {
            match self.phase {
                Phase::Start => {
                    let t = self.held.trim_start();
                    if t.is_empty() {
                        return;
                    }
                    if t.starts_with(open) {
                        let skip = self.held.len() - t.len() + open.len();
                        self.held.drain(..skip);
                        self.phase = Phase::Thinking;
                    } else if open.starts_with(t) {
                        return;
                    } else {
                        self.phase = Phase::Answer;
                    }
                }
                Phase::Thinking => {
                    if let Some(k) = self.held.find(close) {
                        self.thinking.push_str(&self.held[..k]);
                        self.held.drain(..k + close.len());
                        self.phase = Phase::Answer;
                        self.ended = true;
                        continue;
                    }
                    let cut = self.held.len() - suffix_prefix_len(&self.held, close);
                    self.thinking.push_str(&self.held[..cut]);
                    self.held.drain(..cut);
                    return;
                }
                Phase::Answer => {
                    if self.swallow_close && !self.held.is_empty() {
                        if self.held.starts_with(close) {
                            self.held.drain(..close.len());
                            self.swallow_close = false;
                            continue;
                        }
                        if close.starts_with(self.held.as_str()) {
                            return;
                        }
                        self.swallow_close = false;
                    }
                    self.answer.push_str(&self.held);
                    self.held.clear();
                    return;
                }
            }
        }
    }
}

/// Length of the longest suffix of `s` that is a proper prefix of `tag` (it begins with
/// the tag's first byte, so on a char boundary).
fn suffix_prefix_len(s: &str, tag: &str) -> usize {
    let (s, t) = (s.as_bytes(), tag.as_bytes());
    (1..t.len().min(s.len() + 1))
        .rev()
        .find(|&k| s.ends_with(&t[..k]))
        .unwrap_or(0)
}

/// True when a rendered prompt ends inside an open thinking block (it ends with `<think>`
/// plus whitespace, as the newer R1 template's generation prompt does).
pub fn prompt_opens_thinking(prompt: &str) -> bool {
    prompt.trim_end().ends_with(THINK_OPEN)
}

/// Earlier assistant turns without their thinking, as the R1 template renders them: each
/// assistant message keeps the text after its last `</think>`.
pub fn drop_thinking(messages: &mut [Message]) {
    for m in messages.iter_mut().filter(|m| m.role == Role::Assistant) {
        let kept = strip_thinking(&m.content);
        if kept.len() != m.content.len() {
            m.content = String::from(kept);
        }
    }
}

/// Appends the finished assistant turn (its answer only; the thinking is not kept) and the
/// next user message to `history`, ready for the next prompt.
pub fn push_turn(history: &mut Vec<Message>, answer: &str, next_user: &str) {
    history.push(Message::assistant(answer));
    history.push(Message::user(next_user));
}

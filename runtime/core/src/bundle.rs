//! [`Bundle`]: everything a host needs from one GGUF file, assembled once — the parsed
//! header, the tokenizer, the transformer (config, weights bound in place, kernels), the chat
//! template, the model's sampling defaults and its reasoning (`<think>`) tags.
//!
//! The CLI, the C ABI and the boards all load a model through [`Bundle::load`], so a model
//! behaves the same wherever it runs. Nothing is copied: every part borrows the file's bytes
//! (a memory map, XIP flash, `include_bytes!`).
//!
//! ```no_run
//! # fn demo(bytes: &[u8]) -> Result<(), bague::bundle::Error> {
//! use bague::bundle::{Bundle, BundleOptions};
//! let b = Bundle::load(bytes, BundleOptions::default())?;
//! println!("{} layers, {} tokens", b.model.config.n_layer, b.tokenizer.n_vocab());
//! # Ok(()) }
//! ```

// `Error` wraps `model::Error` (names of keys and tensors inline, no allocation, `Copy`),
// a little over clippy's size limit; it is returned once per load.
#![allow(clippy::result_large_err)]

use core::fmt;

use crate::chat::{ChatError, ChatTemplate, Message, ReasoningConfig, SpecialTokens};
use crate::gguf;
use crate::model::{self, Kernels, Model};
use crate::sampler::{ModelHints, SamplerConfig};
use crate::tokenizer::{self, EncodeOptions, Tokenizer};
use alloc::string::String;
use alloc::vec::Vec;

/// Largest context a session gets by default (tokens): the model's training context, capped
/// here so that a 128k-context model does not allocate a 128k KV cache unasked.
pub const DEFAULT_N_CTX_CAP: usize = 4096;

/// How to load a [`Bundle`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BundleOptions {
    /// The kernel table; `None` picks the best for this CPU, or the one `BAGUE_KERNELS`
    /// names ([`Kernels::from_env`], which refuses an unknown name).
    pub kernels: Option<Kernels>,
    /// Render chat prompts with the built-in R1 / ChatML renderer instead of the file's
    /// jinja template (only for templates it recognises; always the case without `std`).
    pub builtin_template: bool,
}

/// Why a model file could not be loaded.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Error {
    /// The bytes are not a valid GGUF file (message names the offset or key).
    Gguf(gguf::Error),
    /// The vocabulary is missing, malformed or of an unsupported kind.
    Tokenizer(tokenizer::Error),
    /// The transformer could not be built: unknown architecture, bad hyperparameters,
    /// missing or truncated tensors, unsupported tensor types.
    Model(model::Error),
    /// `BAGUE_KERNELS` names no kernels of this CPU.
    Kernels(bague_kernels::UnknownKernels),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Gguf(e) => write!(f, "not a valid GGUF file: {e}"),
            Error::Tokenizer(e) => write!(f, "tokenizer: {e}"),
            Error::Model(e) => write!(f, "cannot load the model: {e}"),
            Error::Kernels(e) => fmt::Display::fmt(e, f),
        }
    }
}

impl core::error::Error for Error {}

/// A conversation rendered and tokenized by [`Bundle::chat_prompt`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChatPrompt {
    /// The prompt text (to detect an opened thinking block, to show the user).
    pub text: String,
    /// The prompt ids: BOS as the vocabulary asks, markup as control tokens, contents as
    /// text.
    pub ids: Vec<u32>,
}

/// Why a chat prompt could not be built.
#[derive(Clone, Debug, PartialEq)]
pub enum PromptError {
    /// No template, or it failed (its message).
    Template(ChatError),
    /// Tokenizing the rendered prompt failed.
    Tokenizer(tokenizer::Error),
}

impl fmt::Display for PromptError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PromptError::Template(e) => fmt::Display::fmt(e, f),
            PromptError::Tokenizer(e) => write!(f, "tokenizer: {e}"),
        }
    }
}

impl core::error::Error for PromptError {}

/// A model file ready to run: see the [module docs](self).
pub struct Bundle<'a> {
    /// The parsed header (metadata and tensor table), borrowing the bytes.
    pub file: gguf::File<'a>,
    /// The vocabulary.
    pub tokenizer: Tokenizer<'a>,
    /// Config, weights and kernels.
    pub model: Model<'a>,
    /// The model's sampling defaults (llama.cpp's, DeepSeek's advice for R1 distills, then
    /// the file's `general.sampling.*` keys); seed 0.
    pub sampling: SamplerConfig,
    template: Result<ChatTemplate, ChatError>,
    /// The `<think>` tags, when the vocabulary has both as tokens.
    reasoning: Option<ReasoningConfig>,
}

impl fmt::Debug for Bundle<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Bundle")
            .field("arch", &self.model.config.arch)
            .field("n_vocab", &self.tokenizer.n_vocab())
            .field("kernels", &self.model.kernels().name())
            .field("has_template", &self.has_template())
            .field("has_thinking", &self.has_thinking())
            .finish()
    }
}

impl<'a> Bundle<'a> {
    /// Parses `bytes` and builds every part. Reads the header and the vocabulary; tensor
    /// data is only bound (its bounds checked), not read.
    /// Errors: [`Error::Gguf`], [`Error::Tokenizer`], [`Error::Model`] (e.g. "truncated:
    /// tensor output.weight needs bytes A..B, file has N").
    pub fn load(bytes: &'a [u8], opts: BundleOptions) -> Result<Self, Error> {
        Self::from_file(gguf::File::parse(bytes).map_err(Error::Gguf)?, opts)
    }

    /// [`load`](Self::load) from an already parsed header.
    pub fn from_file(file: gguf::File<'a>, opts: BundleOptions) -> Result<Self, Error> {
        let tokenizer = Tokenizer::from_gguf(&file).map_err(Error::Tokenizer)?;
        let kernels = match opts.kernels {
            Some(k) => k,
            None => Kernels::from_env().map_err(Error::Kernels)?,
        };
        let model = Model::with_kernels(&file, kernels).map_err(Error::Model)?;
        let sampling = SamplerConfig::defaults_for(&ModelHints::from_metadata(&file));
        let tokens = SpecialTokens::from_tokenizer(&tokenizer);
        let template = match file.get_str("tokenizer.chat_template") {
            Err(_) => Err(ChatError::NoTemplate),
            Ok(src) if opts.builtin_template => ChatTemplate::new_builtin(src, tokens),
            Ok(src) => ChatTemplate::new(src, tokens),
        };
        let r1 = ReasoningConfig::r1();
        let reasoning = (tokenizer.token_id(&r1.open_tag).is_some()
            && tokenizer.token_id(&r1.close_tag).is_some())
        .then_some(r1);
        Ok(Bundle {
            file,
            tokenizer,
            model,
            sampling,
            template,
            reasoning,
        })
    }

    /// The chat template, or why there is none (no `tokenizer.chat_template`, or it does not
    /// compile).
    pub fn template(&self) -> Result<&ChatTemplate, ChatError> {
        self.template.as_ref().map_err(Clone::clone)
    }

    /// Whether the file has a chat template (that compiled or not).
    pub fn has_template(&self) -> bool {
        !matches!(self.template, Err(ChatError::NoTemplate))
    }

    /// Whether the vocabulary has `<think>` and `</think>` tokens: generated text is split
    /// into thinking and answer.
    pub fn has_thinking(&self) -> bool {
        self.reasoning.is_some()
    }

    /// The reasoning splitter for a generation from `prompt_text` (which may already open
    /// the thinking block, as the newer R1 template does), closing thinking after `budget`
    /// tokens when given. `None` when the vocabulary has no thinking tags.
    pub fn reasoning(&self, prompt_text: &str, budget: Option<u32>) -> Option<ReasoningConfig> {
        self.reasoning.clone().map(|cfg| {
            cfg.starts_in_thinking(crate::chat::reasoning::prompt_opens_thinking(prompt_text))
                .budget(budget)
        })
    }

    /// The prompt ids of `text`: BOS/EOS as the vocabulary asks, control-token text parsed
    /// into control tokens when `parse_special`. Stops early past `max_tokens` (pass the
    /// context length: a longer prompt cannot run anyway).
    /// Errors: `TooManyTokens`; `MissingBos`/`MissingEos` for a broken vocabulary.
    pub fn encode(
        &self,
        text: &str,
        parse_special: bool,
        max_tokens: usize,
    ) -> Result<Vec<u32>, tokenizer::Error> {
        let opts = EncodeOptions {
            add_special: true,
            parse_special,
        };
        self.tokenizer.encode_capped(text, opts, &[], max_tokens)
    }

    /// The prompt for a conversation: `messages` rendered with the chat template (a
    /// generation prompt appended when asked) and tokenized so that the template's markup
    /// becomes control tokens and the messages' contents stay text — a message that writes
    /// `<|im_start|>` or `<｜Assistant｜>` cannot forge a turn. Where the template
    /// transforms contents beyond recognition ([`ChatTemplate::apply_with_spans`]), every
    /// occurrence in the prompt of a control-token text that some message contains is
    /// tokenized as text (safe, and such a prompt is an attack or an accident anyway).
    /// Tokenizing stops early past `max_tokens` (pass the context length).
    /// Errors: the template's ([`ChatError`]), the tokenizer's (`TooManyTokens`).
    pub fn chat_prompt(
        &self,
        messages: &[Message],
        add_generation_prompt: bool,
        max_tokens: usize,
    ) -> Result<ChatPrompt, PromptError> {
        let r = self
            .template()
            .and_then(|t| t.apply_with_spans(messages, add_generation_prompt))
            .map_err(PromptError::Template)?;
        let spans = match r.content_spans {
            Some(spans) => spans,
            None => {
                let mut spans = Vec::new();
                for m in messages {
                    for id in self.tokenizer.special_tokens_in(&m.content) {
                        let Some(t) = self.tokenizer.token_text(id).filter(|t| !t.is_empty())
                        else {
                            continue;
                        };
                        spans.extend(r.text.match_indices(t).map(|(at, _)| at..at + t.len()));
                    }
                }
                spans
            }
        };
        let ids = self
            .tokenizer
            .encode_capped(&r.text, EncodeOptions::PROMPT, &spans, max_tokens)
            .map_err(PromptError::Tokenizer)?;
        Ok(ChatPrompt { text: r.text, ids })
    }

    /// Prompt tokens a conversation starts with before its first user message: the
    /// template's preamble and the system messages `before` — what a context shift should
    /// keep in a chat (llama.cpp keeps its `n_keep` tokens). Found as the common token
    /// prefix of two renders that differ only in the user's text. Falls back to
    /// [`default_n_keep`](Self::default_n_keep) without a usable template.
    pub fn chat_preamble_len(&self, before: &[Message]) -> usize {
        let probe = |text: &str| {
            let mut msgs = before.to_vec();
            msgs.push(Message::user(text));
            self.chat_prompt(&msgs, true, usize::MAX).map(|p| p.ids)
        };
        match (probe("\u{1}"), probe("\u{2}")) {
            (Ok(a), Ok(b)) => a.iter().zip(&b).take_while(|(x, y)| x == y).count(),
            _ => self.default_n_keep(),
        }
    }

    /// The context length a session gets when none is asked for: the training context,
    /// at most [`DEFAULT_N_CTX_CAP`].
    pub fn default_n_ctx(&self) -> usize {
        self.model.config.n_ctx_train.clamp(1, DEFAULT_N_CTX_CAP)
    }

    /// Positions a context shift keeps by default: BOS when the vocabulary adds it.
    pub fn default_n_keep(&self) -> usize {
        usize::from(self.tokenizer.add_bos())
    }

    /// Weights in the file (the sum of every tensor's element count).
    pub fn n_params(&self) -> u64 {
        self.file
            .tensors()
            .fold(0u64, |n, t| n.saturating_add(t.n_elements()))
    }
}

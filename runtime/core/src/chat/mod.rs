//! Chat: prompt templates and reasoning (`<think>`) splitting.
//!
//! - [`ChatTemplate`] turns a conversation into prompt text. With `std` it renders the
//!   model's own `tokenizer.chat_template` with minijinja, as llama.cpp's jinja path does;
//!   without `std` (or on request) it uses a [`Builtin`] renderer (R1, ChatML) that produces
//!   the same bytes for the templates it recognises.
//! - [`Reasoning`] splits streamed output text into thinking and answer, and tells the
//!   caller when a thinking budget is spent.
//!
//! The generation loop ([`crate::generate`]) composes them per token with its stop
//! detector: sampler → id → stop conditions → the text they release →
//! [`Reasoning::on_token`] → thinking / answer text. When a step says `force_end_thinking`,
//! it decodes [`Reasoning::close_ids`] into the model before sampling on.

use alloc::string::String;
use core::fmt;

pub mod builtin;
#[cfg(feature = "std")]
mod jinja;
pub mod reasoning;
mod template;

pub use builtin::Builtin;
#[cfg(feature = "std")]
pub use jinja::{FUEL, JinjaTemplate, MAX_OUTPUT_BYTES, MAX_RECURSION, MAX_SOURCE_BYTES};
pub use reasoning::{Reasoning, ReasoningConfig, Step};
pub use template::{
    ChatTemplate, RenderedPrompt, SpecialTokens, strip_leading_bos, strip_trailing_eos,
};

/// Who wrote a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    /// Instructions for the model (`system`).
    System,
    /// The person (`user`).
    User,
    /// The model (`assistant`).
    Assistant,
    /// A tool's output (`tool`).
    Tool,
}

impl Role {
    /// The role name templates compare against: "system", "user", "assistant", "tool".
    pub fn as_str(self) -> &'static str {
        match self {
            Role::System => "system",
            Role::User => "user",
            Role::Assistant => "assistant",
            Role::Tool => "tool",
        }
    }

    /// Parses a role name (exact, lower case). `None` for anything else.
    pub fn parse(s: &str) -> Option<Role> {
        Some(match s {
            "system" => Role::System,
            "user" => Role::User,
            "assistant" => Role::Assistant,
            "tool" => Role::Tool,
            _ => return None,
        })
    }
}

/// One message of a conversation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    /// Who wrote it.
    pub role: Role,
    /// Its text (for an assistant turn, possibly with a `<think>…</think>` block).
    pub content: String,
}

impl Message {
    /// A message with the given role and text.
    pub fn new(role: Role, content: impl Into<String>) -> Self {
        Message {
            role,
            content: content.into(),
        }
    }
    /// A `system` message.
    pub fn system(content: impl Into<String>) -> Self {
        Self::new(Role::System, content)
    }
    /// A `user` message.
    pub fn user(content: impl Into<String>) -> Self {
        Self::new(Role::User, content)
    }
    /// An `assistant` message.
    pub fn assistant(content: impl Into<String>) -> Self {
        Self::new(Role::Assistant, content)
    }
    /// A `tool` message (a tool's output).
    pub fn tool(content: impl Into<String>) -> Self {
        Self::new(Role::Tool, content)
    }
}

/// Why a prompt could not be built.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChatError {
    /// The template source does not compile (minijinja's message, with line).
    TemplateSyntax(String),
    /// Rendering failed, including `raise_exception(...)` called by the template
    /// (minijinja's message).
    TemplateRender(String),
    /// No jinja engine (built without `std`) and no built-in renderer matches the template.
    UnsupportedTemplate,
    /// The file has no `tokenizer.chat_template`.
    NoTemplate,
}

impl fmt::Display for ChatError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ChatError::TemplateSyntax(m) => write!(f, "chat template does not compile: {m}"),
            ChatError::TemplateRender(m) => write!(f, "chat template failed: {m}"),
            ChatError::UnsupportedTemplate => write!(
                f,
                "chat template is not one of the built-in formats (R1, ChatML) and this build has no jinja engine"
            ),
            ChatError::NoTemplate => write!(f, "the model file has no tokenizer.chat_template"),
        }
    }
}

impl core::error::Error for ChatError {}

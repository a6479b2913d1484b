//! Built-in chat formats, written in Rust, for builds without a jinja engine.
//!
//! Each renderer reproduces, byte for byte, what the model's own jinja template renders for
//! conversations of plain `system` / `user` / `assistant` / `tool` messages (no tool calls,
//! no tools list); `tests/chat_builtin.rs` checks this against the jinja rendering.
//!
//! - [`Builtin::R1`]: DeepSeek-R1 and its distills.
//!   `{bos}{last system message}<｜User｜>…<｜Assistant｜>…<｜end▁of▁sentence｜>…`;
//!   an earlier assistant turn keeps only what follows its last `</think>`. The original
//!   template ends the generation prompt at `<｜Assistant｜>`, the newer one appends
//!   `<think>\n` (`think_in_prompt`).
//! - [`Builtin::ChatMl`]: `<|im_start|>{role}\n{content}<|im_end|>\n` (Qwen2.5, SmolLM2),
//!   with the template's default system prompt when the conversation has none.

use alloc::string::String;

use super::{Message, Role};

/// R1 user turn marker.
pub const R1_USER: &str = "<｜User｜>";
/// R1 assistant turn marker.
pub const R1_ASSISTANT: &str = "<｜Assistant｜>";
/// R1 end of an assistant turn, as the template writes it (the vocab's EOS text).
pub const R1_END: &str = "<｜end▁of▁sentence｜>";
/// Thinking block opening tag.
pub const THINK_OPEN: &str = "<think>";
/// Thinking block closing tag.
pub const THINK_CLOSE: &str = "</think>";
const R1_TOOL_OUTPUTS_BEGIN: &str = "<｜tool▁outputs▁begin｜>";
const R1_TOOL_OUTPUT_BEGIN: &str = "<｜tool▁output▁begin｜>";
const R1_TOOL_OUTPUT_END: &str = "<｜tool▁output▁end｜>";
const R1_TOOL_OUTPUTS_END: &str = "<｜tool▁outputs▁end｜>";

/// ChatML turn start.
pub const IM_START: &str = "<|im_start|>";
/// ChatML turn end.
pub const IM_END: &str = "<|im_end|>";

/// Qwen2.5's default system prompt (its template inserts it when there is no system message).
pub const QWEN_DEFAULT_SYSTEM: &str =
    "You are Qwen, created by Alibaba Cloud. You are a helpful assistant.";
/// SmolLM2's default system prompt.
pub const SMOLLM_DEFAULT_SYSTEM: &str =
    "You are a helpful AI assistant named SmolLM, trained by Hugging Face";

/// How a ChatML template treats the system prompt and tool messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChatMlFlavor {
    /// Qwen2.5: a leading system message (or the default) always comes first, even for an
    /// empty conversation; consecutive `tool` messages become one `user` turn of
    /// `<tool_response>` blocks.
    Qwen,
    /// SmolLM2 and plain ChatML: every message is a block with its own role; the default
    /// system prompt is inserted before the first message when that is not `system`.
    Plain,
}

/// A built-in chat format.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Builtin {
    /// DeepSeek-R1 format.
    R1 {
        /// The generation prompt is `<｜Assistant｜><think>\n` (newer template) rather than
        /// `<｜Assistant｜>` (original).
        think_in_prompt: bool,
    },
    /// ChatML format.
    ChatMl {
        /// Inserted as a system turn when the conversation has no system message first.
        default_system: Option<String>,
        /// Qwen or plain handling.
        flavor: ChatMlFlavor,
    },
}

impl Builtin {
    /// The built-in format that renders `template` (a `tokenizer.chat_template` source)
    /// identically, if any. R1: the template uses `<｜User｜>` and `<｜Assistant｜>`
    /// (newer variant when it writes `<｜Assistant｜><think>`); the R1-0528 style, which
    /// closes each user turn with `<｜Assistant｜>`, is not recognised. ChatML: the template
    /// uses `<|im_start|>` / `<|im_end|>`; its default system prompt is read from a literal
    /// `<|im_start|>system\n…<|im_end|>` in the source.
    pub fn detect(template: &str) -> Option<Builtin> {
        if template.contains(R1_USER) && template.contains(R1_ASSISTANT) {
            if template.contains("is_last_user") {
                return None;
            }
            let think_in_prompt = template.contains("<｜Assistant｜><think>");
            return Some(Builtin::R1 { think_in_prompt });
        }
        if template.contains(IM_START) && template.contains(IM_END) {
            let flavor = if template.contains("messages[0]['role'] == 'system'")
                || template.contains("messages[0].role == 'system'")
                || template.contains("messages[0]['role'] == \"system\"")
                || template.contains("messages[0].role == \"system\"")
            {
                ChatMlFlavor::Qwen
            } else {
                ChatMlFlavor::Plain
            };
            return Some(Builtin::ChatMl {
                default_system: default_system_prompt(template),
                flavor,
            });
        }
        None
    }

    /// R1 original template.
    pub fn r1() -> Builtin {
        Builtin::R1 {
            think_in_prompt: false,
        }
    }

    /// Qwen2.5 ChatML with its default system prompt.
    pub fn qwen() -> Builtin {
        Builtin::ChatMl {
            default_system: Some(QWEN_DEFAULT_SYSTEM.into()),
            flavor: ChatMlFlavor::Qwen,
        }
    }

    /// SmolLM2 ChatML with its default system prompt.
    pub fn smollm() -> Builtin {
        Builtin::ChatMl {
            default_system: Some(SMOLLM_DEFAULT_SYSTEM.into()),
            flavor: ChatMlFlavor::Plain,
        }
    }

    /// Appends the rendering of `messages` to `out`, as the jinja template would render it
    /// (so including `bos_token` where the template writes it; BOS stripping is the
    /// caller's, see [`super::strip_leading_bos`]).
    pub fn render(
        &self,
        messages: &[Message],
        add_generation_prompt: bool,
        bos_token: &str,
        out: &mut String,
    ) {
        match self {
            Builtin::R1 { think_in_prompt } => render_r1(
                messages,
                add_generation_prompt,
                *think_in_prompt,
                bos_token,
                out,
            ),
            Builtin::ChatMl {
                default_system,
                flavor,
            } => render_chatml(
                messages,
                add_generation_prompt,
                default_system.as_deref(),
                *flavor,
                out,
            ),
        }
    }

    /// The text the generation prompt ends with when the model starts inside a thinking
    /// block (`Some("<think>\n")` for the newer R1 template), else `None`.
    pub fn opens_thinking(&self) -> Option<&'static str> {
        match self {
            Builtin::R1 {
                think_in_prompt: true,
            } => Some("<think>\n"),
            _ => None,
        }
    }
}

/// What an assistant turn keeps in R1 history: the text after its last `</think>`
/// (all of it when there is none), as the R1 template's `content.split('</think>')[-1]`.
pub fn strip_thinking(content: &str) -> &str {
    match content.rfind(THINK_CLOSE) {
        Some(i) => &content[i + THINK_CLOSE.len()..],
        None => content,
    }
}

fn render_r1(
    messages: &[Message],
    add_generation_prompt: bool,
    think_in_prompt: bool,
    bos_token: &str,
    out: &mut String,
) {
    out.push_str(bos_token);
    // The template keeps the last system message (each one overwrites the previous).
    if let Some(m) = messages.iter().rev().find(|m| m.role == Role::System) {
        out.push_str(&m.content);
    }
    let mut in_tool_outputs = false;
    let mut first_output = true;
    for m in messages {
        match m.role {
            Role::System => {}
            Role::User => {
                in_tool_outputs = false;
                out.push_str(R1_USER);
                out.push_str(&m.content);
            }
            Role::Assistant if in_tool_outputs => {
                out.push_str(R1_TOOL_OUTPUTS_END);
                out.push_str(&m.content);
                out.push_str(R1_END);
                in_tool_outputs = false;
            }
            Role::Assistant => {
                out.push_str(R1_ASSISTANT);
                out.push_str(strip_thinking(&m.content));
                out.push_str(R1_END);
            }
            Role::Tool => {
                in_tool_outputs = true;
                if first_output {
                    out.push_str(R1_TOOL_OUTPUTS_BEGIN);
                    first_output = false;
                } else {
                    out.push('\n');
                }
                out.push_str(R1_TOOL_OUTPUT_BEGIN);
                out.push_str(&m.content);
                out.push_str(R1_TOOL_OUTPUT_END);
            }
        }
    }
    if in_tool_outputs {
        out.push_str(R1_TOOL_OUTPUTS_END);
    } else if add_generation_prompt {
        out.push_str(R1_ASSISTANT);
        if think_in_prompt {
            out.push_str("<think>\n");
        }
    }
}

fn chatml_block(out: &mut String, role: &str, content: &str) {
    out.push_str(IM_START);
    out.push_str(role);
    out.push('\n');
    out.push_str(content);
    out.push_str(IM_END);
    out.push('\n');
}

fn render_chatml(
    messages: &[Message],
    add_generation_prompt: bool,
    default_system: Option<&str>,
    flavor: ChatMlFlavor,
    out: &mut String,
) {
    let first_is_system = messages.first().is_some_and(|m| m.role == Role::System);
    match flavor {
        ChatMlFlavor::Qwen => {
            if first_is_system {
                chatml_block(out, "system", &messages[0].content);
            } else if let Some(s) = default_system {
                chatml_block(out, "system", s);
            }
            for (i, m) in messages.iter().enumerate() {
                match m.role {
                    Role::System if i == 0 => {}
                    Role::Tool => {
                        if i == 0 || messages[i - 1].role != Role::Tool {
                            out.push_str(IM_START);
                            out.push_str("user");
                        }
                        out.push_str("\n<tool_response>\n");
                        out.push_str(&m.content);
                        out.push_str("\n</tool_response>");
                        if messages.get(i + 1).is_none_or(|n| n.role != Role::Tool) {
                            out.push_str(IM_END);
                            out.push('\n');
                        }
                    }
                    _ => chatml_block(out, m.role.as_str(), &m.content),
                }
            }
        }
        ChatMlFlavor::Plain => {
            if !messages.is_empty() && !first_is_system {
                if let Some(s) = default_system {
                    chatml_block(out, "system", s);
                }
            }
            for m in messages {
                chatml_block(out, m.role.as_str(), &m.content);
            }
        }
    }
    if add_generation_prompt {
        out.push_str(IM_START);
        out.push_str("assistant\n");
    }
}

/// The literal default system prompt of a ChatML template: the text of a jinja string
/// literal `<|im_start|>system\n TEXT <|im_end|>` (newline written as `\n` or literally)
/// in which TEXT is plain (no quote, brace or `+`). Simple escapes in TEXT are undone.
pub fn default_system_prompt(template: &str) -> Option<String> {
    let marker = "<|im_start|>system";
    let mut rest = template;
    while let Some(at) = rest.find(marker) {
        let after = &rest[at + marker.len()..];
        rest = after;
        let body = if let Some(b) = after.strip_prefix("\\n") {
            b
        } else if let Some(b) = after.strip_prefix('\n') {
            b
        } else {
            continue;
        };
        let Some(end) = body.find(IM_END) else {
            continue;
        };
        if let Some(text) = unescape_literal(&body[..end]) {
            if !text.is_empty() {
                return Some(text);
            }
        }
    }
    None
}

/// Undoes `\n`, `\t`, `\\`, `\'`, `\"` escapes; `None` if the text has an unescaped quote,
/// a brace or `+` (so it is not the inside of one string literal).
fn unescape_literal(s: &str) -> Option<String> {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next()? {
                'n' => out.push('\n'),
                't' => out.push('\t'),
                c @ ('\\' | '\'' | '"') => out.push(c),
                _ => return None,
            },
            '\'' | '"' | '{' | '}' | '+' => return None,
            c => out.push(c),
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    #[test]
    fn strip_thinking_keeps_after_last_close() {
        assert_eq!(strip_thinking("<think>\na\n</think>\n\nb"), "\n\nb");
        assert_eq!(strip_thinking("x</think>y</think>z"), "z");
        assert_eq!(strip_thinking("plain"), "plain");
    }

    #[test]
    fn default_system_from_escaped_and_literal_newline() {
        let q =
            "{{- '<|im_start|>system\\n' }}{{- '<|im_start|>system\\nYou are Q.<|im_end|>\\n' }}";
        assert_eq!(default_system_prompt(q).as_deref(), Some("You are Q."));
        let s = "{{ '<|im_start|>system\nHello there<|im_end|>\n' }}";
        assert_eq!(default_system_prompt(s).as_deref(), Some("Hello there"));
        assert_eq!(
            default_system_prompt("{{'<|im_start|>system\\n' + x + '<|im_end|>'}}"),
            None
        );
    }

    #[test]
    fn r1_tool_outputs() {
        let msgs = vec![
            Message::user("q"),
            Message::tool("a"),
            Message::tool("b"),
            Message::assistant("r"),
        ];
        let mut out = String::new();
        Builtin::r1().render(&msgs, true, "<B>", &mut out);
        assert_eq!(
            out,
            "<B><｜User｜>q<｜tool▁outputs▁begin｜><｜tool▁output▁begin｜>a<｜tool▁output▁end｜>\n\
             <｜tool▁output▁begin｜>b<｜tool▁output▁end｜><｜tool▁outputs▁end｜>r<｜end▁of▁sentence｜>\
             <｜Assistant｜>"
        );
    }
}

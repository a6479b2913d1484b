//! [`ChatTemplate`]: a conversation → prompt text, with BOS emitted exactly once.
//!
//! R1's template starts with `{{bos_token}}` and its vocab also has `add_bos = true`, so the
//! tokenizer adds BOS too. llama.cpp (and we) strip one leading BOS text from the rendered
//! prompt when the vocab adds BOS ([`strip_leading_bos`]), and one trailing EOS text when it
//! adds EOS; the prompt is then tokenized with `add_special = true, parse_special = true`.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::ops::Range;

use super::{Builtin, ChatError, Message, Role};

/// The vocabulary facts a template needs: the BOS/EOS texts (the tokens' pieces, special
/// tokens rendered; empty when the vocab has none) and whether the tokenizer adds them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SpecialTokens {
    /// BOS text, e.g. `<｜begin▁of▁sentence｜>`; the template's `bos_token`.
    pub bos: String,
    /// EOS text, e.g. `<｜end▁of▁sentence｜>`; the template's `eos_token`.
    pub eos: String,
    /// `tokenizer.ggml.add_bos_token` as llama.cpp resolves it.
    pub add_bos: bool,
    /// `tokenizer.ggml.add_eos_token` as llama.cpp resolves it.
    pub add_eos: bool,
}

impl SpecialTokens {
    /// The facts of `tok`'s vocabulary: its BOS/EOS pieces as text (lossy UTF-8; empty when
    /// the vocabulary has none) and its `add_bos` / `add_eos` flags.
    pub fn from_tokenizer(tok: &crate::tokenizer::Tokenizer<'_>) -> SpecialTokens {
        let text = |id: Option<u32>| {
            id.and_then(|id| tok.piece(id).ok())
                .map(|b| String::from_utf8_lossy(&b).into_owned())
                .unwrap_or_default()
        };
        SpecialTokens {
            bos: text(tok.bos_id()),
            eos: text(tok.eos_id()),
            add_bos: tok.add_bos(),
            add_eos: tok.add_eos(),
        }
    }
}

/// Removes one leading `bos` from `text` when `add_bos` (the tokenizer will add BOS, so the
/// template's copy would make two). Does nothing when `bos` is empty or absent at the start.
pub fn strip_leading_bos<'t>(text: &'t str, add_bos: bool, bos: &str) -> &'t str {
    if add_bos && !bos.is_empty() {
        text.strip_prefix(bos).unwrap_or(text)
    } else {
        text
    }
}

/// Removes one trailing `eos` from `text` when `add_eos` (llama.cpp does the same).
pub fn strip_trailing_eos<'t>(text: &'t str, add_eos: bool, eos: &str) -> &'t str {
    if add_eos && !eos.is_empty() {
        text.strip_suffix(eos).unwrap_or(text)
    } else {
        text
    }
}

#[derive(Debug)]
enum Engine {
    Builtin(Builtin),
    #[cfg(feature = "std")]
    Jinja(super::JinjaTemplate),
}

/// A model's chat format, ready to render prompts.
#[derive(Debug)]
pub struct ChatTemplate {
    engine: Engine,
    tokens: SpecialTokens,
}

impl ChatTemplate {
    /// The template for a `tokenizer.chat_template` source: with `std`, compiled with
    /// minijinja (exact for any template); without, the matching [`Builtin`].
    /// Errors: `TemplateSyntax` (std), `UnsupportedTemplate` (no_std, no built-in matches).
    pub fn new(source: &str, tokens: SpecialTokens) -> Result<Self, ChatError> {
        #[cfg(feature = "std")]
        {
            let j = super::JinjaTemplate::new(source)?;
            Ok(ChatTemplate {
                engine: Engine::Jinja(j),
                tokens,
            })
        }
        #[cfg(not(feature = "std"))]
        {
            Self::new_builtin(source, tokens)
        }
    }

    /// The built-in renderer matching `source` ([`Builtin::detect`]), even with `std`.
    /// Errors: `UnsupportedTemplate`.
    pub fn new_builtin(source: &str, tokens: SpecialTokens) -> Result<Self, ChatError> {
        let b = Builtin::detect(source).ok_or(ChatError::UnsupportedTemplate)?;
        Ok(Self::from_builtin(b, tokens))
    }

    /// A given built-in format (for a file without a template, or to force one).
    pub fn from_builtin(builtin: Builtin, tokens: SpecialTokens) -> Self {
        ChatTemplate {
            engine: Engine::Builtin(builtin),
            tokens,
        }
    }

    /// The built-in format in use, `None` when rendering with jinja.
    pub fn builtin(&self) -> Option<&Builtin> {
        match &self.engine {
            Engine::Builtin(b) => Some(b),
            #[cfg(feature = "std")]
            Engine::Jinja(_) => None,
        }
    }

    /// The special tokens this template renders with.
    pub fn tokens(&self) -> &SpecialTokens {
        &self.tokens
    }

    /// The prompt text for `messages` (a generation prompt appended when asked), with the
    /// template's leading BOS / trailing EOS text removed when the tokenizer adds them.
    /// Tokenize it with `add_special = true, parse_special = true`.
    /// Errors: `TemplateRender` (jinja only).
    pub fn apply(
        &self,
        messages: &[Message],
        add_generation_prompt: bool,
    ) -> Result<String, ChatError> {
        let raw = self.render_raw(messages, add_generation_prompt)?;
        let t = &self.tokens;
        let s = strip_leading_bos(&raw, t.add_bos, &t.bos);
        let s = strip_trailing_eos(s, t.add_eos, &t.eos);
        if s.len() == raw.len() {
            Ok(raw)
        } else {
            Ok(String::from(s))
        }
    }

    /// [`apply`](Self::apply), and where each message's content lies in the text, so that
    /// the caller can tokenize contents as plain text (a message must not forge a turn by
    /// writing `<|im_start|>`). The spans are found by rendering once more with each content
    /// replaced by a marker and checking that putting the contents back gives exactly the
    /// same text — as they are, trimmed, or (for assistant turns) after their last
    /// `</think>`, the transformations real templates apply. `content_spans` is `None` when
    /// the template does something else with the contents; the caller must then fall back
    /// to a conservative rule. Errors: as `apply`.
    pub fn apply_with_spans(
        &self,
        messages: &[Message],
        add_generation_prompt: bool,
    ) -> Result<RenderedPrompt, ChatError> {
        let text = self.apply(messages, add_generation_prompt)?;
        let marked: Vec<Message> = (0..messages.len())
            .map(|i| Message {
                role: messages[i].role,
                content: format!("{MARK_OPEN}{i}{MARK_CLOSE}"),
            })
            .collect();
        let skeleton = self.apply(&marked, add_generation_prompt)?;
        let Some(parts) = split_marks(&skeleton, messages.len()) else {
            return Ok(RenderedPrompt {
                text,
                content_spans: None,
            });
        };
        let variants: [fn(&Message) -> &str; 4] = [
            |m| &m.content,
            |m| m.content.trim(),
            |m| after_think(m),
            |m| after_think(m).trim(),
        ];
        for content in variants {
            let mut rebuilt = String::with_capacity(text.len());
            let mut spans = Vec::new();
            for p in &parts {
                match p {
                    Part::Text(t) => rebuilt.push_str(t),
                    Part::Content(i) => {
                        let c = content(&messages[*i]);
                        spans.push(rebuilt.len()..rebuilt.len() + c.len());
                        rebuilt.push_str(c);
                    }
                }
            }
            if rebuilt == text {
                return Ok(RenderedPrompt {
                    text,
                    content_spans: Some(spans),
                });
            }
        }
        Ok(RenderedPrompt {
            text,
            content_spans: None,
        })
    }

    /// The template's own output, before BOS/EOS stripping.
    pub fn render_raw(
        &self,
        messages: &[Message],
        add_generation_prompt: bool,
    ) -> Result<String, ChatError> {
        match &self.engine {
            Engine::Builtin(b) => {
                let mut out = String::new();
                b.render(messages, add_generation_prompt, &self.tokens.bos, &mut out);
                Ok(out)
            }
            #[cfg(feature = "std")]
            Engine::Jinja(j) => j.render(
                messages,
                add_generation_prompt,
                &self.tokens.bos,
                &self.tokens.eos,
            ),
        }
    }
}

/// A rendered chat prompt with the byte spans of the messages' contents in it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RenderedPrompt {
    /// The prompt text, as [`ChatTemplate::apply`] gives it.
    pub text: String,
    /// Where contents were placed (byte ranges of `text`, in output order); `None` when the
    /// template transforms contents in a way that could not be traced.
    pub content_spans: Option<Vec<Range<usize>>>,
}

/// Marker brackets: private-use code points of plane 16, never in a vocabulary's special
/// tokens, left alone by case and whitespace filters.
const MARK_OPEN: char = '\u{10FFFC}';
const MARK_CLOSE: char = '\u{10FFFD}';

enum Part<'s> {
    Text(&'s str),
    Content(usize),
}

/// `skeleton` cut into template text and content markers of `0..n`; `None` if a marker is
/// malformed (the template cut or changed one).
fn split_marks(skeleton: &str, n: usize) -> Option<Vec<Part<'_>>> {
    let mut parts = Vec::new();
    let mut rest = skeleton;
    while let Some(at) = rest.find(MARK_OPEN) {
        parts.push(Part::Text(&rest[..at]));
        let after = &rest[at + MARK_OPEN.len_utf8()..];
        let close = after.find(MARK_CLOSE)?;
        let i: usize = after[..close].parse().ok()?;
        if i >= n {
            return None;
        }
        parts.push(Part::Content(i));
        rest = &after[close + MARK_CLOSE.len_utf8()..];
    }
    if rest.contains(MARK_CLOSE) {
        return None;
    }
    parts.push(Part::Text(rest));
    Some(parts)
}

/// An assistant message's text after its last `</think>` (what R1's template keeps).
fn after_think(m: &Message) -> &str {
    match m.role {
        Role::Assistant => m.content.rsplit("</think>").next().unwrap_or(&m.content),
        _ => &m.content,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bos_stripped_once_only_when_added() {
        let b = "<｜begin▁of▁sentence｜>";
        let two = "<｜begin▁of▁sentence｜><｜begin▁of▁sentence｜>x";
        assert_eq!(strip_leading_bos(two, true, b), "<｜begin▁of▁sentence｜>x");
        assert_eq!(strip_leading_bos(two, false, b), two);
        assert_eq!(strip_leading_bos("x", true, b), "x");
        assert_eq!(strip_leading_bos("x", true, ""), "x");
        assert_eq!(strip_trailing_eos("a</s>", true, "</s>"), "a");
        assert_eq!(strip_trailing_eos("a</s>", false, "</s>"), "a</s>");
    }
}

//! [`ChatTemplate`]: a conversation → prompt text, with BOS emitted exactly once.
//!
//! R1's template starts with `{{bos_token}}` and its vocab also has `add_bos = true`, so the
//! tokenizer adds BOS too. llama.cpp (and we) strip one leading BOS text from the rendered
//! prompt when the vocab adds BOS ([`strip_leading_bos`]), and one trailing EOS text when it
//! adds EOS; the prompt is then tokenized with `add_special = true, parse_special = true`.

use alloc::string::String;

use super::{Builtin, ChatError, Message};

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

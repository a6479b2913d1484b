//! Fuzz the chat template renderer: an arbitrary template source (compiled with minijinja,
//! or matched to a built-in format) over arbitrary messages. Templates come from model
//! files, so they are untrusted: a render must end with a prompt or a clear error, within
//! the fuel, recursion and output limits (`-timeout` and `-rss_limit_mb` catch a hang or
//! a memory blow-up), never a panic. When it renders:
//!
//! * the prompt is within `MAX_OUTPUT_BYTES`;
//! * the content spans (what the caller tokenizes as plain text) lie inside the prompt, in
//!   order, on character boundaries, and hold the contents (as they are, trimmed, or the
//!   answer after `</think>`).
//!
//! Input layout: byte 0 flags (bit 0 add_generation_prompt, bit 1 add_bos, bit 2 add_eos,
//! bit 3 built-in renderer, bit 4 R1 vs ChatML BOS/EOS texts); the rest, split at NUL
//! bytes: the template source, then messages (first byte the role, the rest the content).
#![no_main]

use bague::chat::{ChatTemplate, MAX_OUTPUT_BYTES, Message, Role, SpecialTokens};
use libfuzzer_sys::fuzz_target;

const ROLES: [Role; 4] = [Role::System, Role::User, Role::Assistant, Role::Tool];

fuzz_target!(|data: &[u8]| {
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let mut parts = rest.split(|&b| b == 0);
    let source = String::from_utf8_lossy(parts.next().unwrap_or_default());
    let messages: Vec<Message> = parts
        .map(|p| {
            let (role, content) = p.split_first().map_or((0, &[][..]), |(r, c)| (*r, c));
            Message::new(
                ROLES[usize::from(role & 3)],
                String::from_utf8_lossy(content).into_owned(),
            )
        })
        .collect();
    let (bos, eos) = if flags & 16 != 0 {
        ("<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>")
    } else {
        ("<|im_start|>", "<|im_end|>")
    };
    let tokens = SpecialTokens {
        bos: bos.into(),
        eos: eos.into(),
        add_bos: flags & 2 != 0,
        add_eos: flags & 4 != 0,
    };
    let tmpl = if flags & 8 != 0 {
        ChatTemplate::new_builtin(&source, tokens)
    } else {
        ChatTemplate::new(&source, tokens)
    };
    let Ok(tmpl) = tmpl else { return };
    let Ok(r) = tmpl.apply_with_spans(&messages, flags & 1 != 0) else {
        return;
    };
    assert!(r.text.len() <= MAX_OUTPUT_BYTES);
    let Some(spans) = r.content_spans else { return };
    let mut last = 0;
    for s in &spans {
        assert!(s.start >= last && s.start <= s.end && s.end <= r.text.len());
        assert!(r.text.is_char_boundary(s.start) && r.text.is_char_boundary(s.end));
        last = s.end;
    }
    // Each span holds text of some message (a template may repeat or skip messages).
    for s in &spans {
        let t = &r.text[s.clone()];
        assert!(
            messages.iter().any(|m| m.content.contains(t)),
            "span {s:?} = {t:?} is no message's content"
        );
    }
});

//! Text ↔ tokens and chat prompts, into caller buffers. Each function writes the length it
//! produced (or needs) to its length out-parameter; a short buffer gives
//! `BAGUE_ERR_BUFFER_TOO_SMALL` and nothing else written, so the caller can allocate and
//! call again (or pass NULL and 0 first to ask for the length).

use crate::args;
use crate::errors::tokenizer_error;
use crate::model::bague_model;
use crate::status::{Error, Result, bague_status, guard};
use bague::chat::{Message, Role};
use bague::tokenizer::{DecodeOptions, EncodeOptions};
use std::ffi::c_char;

use bague_status::*;

/// Who wrote a chat message (`bague_message.role`).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum bague_role {
    /// Instructions for the model.
    BAGUE_ROLE_SYSTEM = 0,
    /// The person.
    BAGUE_ROLE_USER = 1,
    /// The model.
    BAGUE_ROLE_ASSISTANT = 2,
    /// A tool's output.
    BAGUE_ROLE_TOOL = 3,
}

/// One chat message.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct bague_message {
    /// A `bague_role` value.
    pub role: u32,
    /// `content_len` bytes of UTF-8 (may be NULL when `content_len` is 0).
    pub content: *const c_char,
    /// Length of `content` in bytes.
    pub content_len: usize,
}

fn role(r: u32) -> Result<Role> {
    Ok(match r {
        0 => Role::System,
        1 => Role::User,
        2 => Role::Assistant,
        3 => Role::Tool,
        _ => return Err(Error::invalid(format!("role {r} is not a bague_role"))),
    })
}

/// Token ids of `text_len` bytes of UTF-8 at `text`, as llama.cpp's `llama_tokenize`:
/// `add_special` adds BOS/EOS where the vocabulary asks for them, `parse_special` turns
/// control-token text into control tokens. Writes up to `cap` ids to `ids` and their number
/// to `*n_ids`.
///
/// Errors: INVALID_ARGUMENT (NULL), INVALID_UTF8, BUFFER_TOO_SMALL (`*n_ids` = ids
/// needed; `ids` may be NULL when `cap` is 0). Thread-safe.
///
/// # Safety
/// `model` NULL or live; `text` NULL or `text_len` readable bytes; `ids` NULL or `cap`
/// writable `uint32_t`; `n_ids` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bague_tokenize(
    model: *const bague_model,
    text: *const c_char,
    text_len: usize,
    add_special: bool,
    parse_special: bool,
    ids: *mut u32,
    cap: usize,
    n_ids: *mut usize,
) -> bague_status {
    guard(|| {
        // SAFETY: caller's contract for every pointer.
        let m = unsafe { args::arg(model, "model") }?;
        args::out(n_ids, "n_ids")?;
        // SAFETY: caller's contract.
        let text = unsafe { args::text(text, text_len, "text") }?;
        let opts = EncodeOptions {
            add_special,
            parse_special,
        };
        let out = m
            .inner
            .bundle()
            .tokenizer
            .encode(text, opts)
            .map_err(tokenizer_error)?;
        // SAFETY: caller's contract.
        unsafe { args::copy_out(&out, false, ids, cap, n_ids, "ids") }
    })
}

/// The text of `n_ids` token ids, as llama.cpp's `llama_detokenize` (special tokens kept):
/// bytes that are UTF-8 except where the ids split a character. `render_special` false
/// renders control tokens as nothing. Writes the bytes and a NUL to `text` and the number
/// of bytes (without the NUL) to `*n_text`.
///
/// Errors: INVALID_ARGUMENT (NULL, a token id not in the vocabulary), BUFFER_TOO_SMALL
/// (`*n_text` = the text's length without the NUL: the buffer needs one byte more).
/// Thread-safe.
///
/// # Safety
/// `model` NULL or live; `ids` NULL or `n_ids` readable ids; `text` NULL or `cap` writable
/// bytes; `n_text` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bague_detokenize(
    model: *const bague_model,
    ids: *const u32,
    n_ids: usize,
    render_special: bool,
    text: *mut c_char,
    cap: usize,
    n_text: *mut usize,
) -> bague_status {
    guard(|| {
        // SAFETY: caller's contract for every pointer.
        let m = unsafe { args::arg(model, "model") }?;
        args::out(n_text, "n_text")?;
        // SAFETY: caller's contract.
        let ids = unsafe { args::slice(ids, n_ids, "ids") }?;
        let opts = DecodeOptions {
            remove_special: false,
            render_special,
        };
        let bytes = m
            .inner
            .bundle()
            .tokenizer
            .decode_with(ids, opts)
            .map_err(tokenizer_error)?;
        // SAFETY: caller's contract.
        unsafe { args::copy_out(&bytes, true, text.cast::<u8>(), cap, n_text, "text") }
    })
}

/// The caller's messages as the core's.
///
/// # Safety
/// `messages` NULL or `n_messages` valid `bague_message`s, each with `content_len`
/// readable bytes at `content`.
pub(crate) unsafe fn read_messages(
    messages: *const bague_message,
    n_messages: usize,
) -> Result<Vec<Message>> {
    // SAFETY: caller's contract.
    let list = unsafe { args::slice(messages, n_messages, "messages") }?;
    list.iter()
        .enumerate()
        .map(|(i, msg)| {
            let name = format!("messages[{i}].content");
            // SAFETY: each message's content is `content_len` readable bytes (contract).
            let content = unsafe { args::text(msg.content, msg.content_len, &name) }?;
            Ok(Message::new(role(msg.role)?, content))
        })
        .collect()
}

/// Renders `n_messages` messages with the model's chat template (its own jinja template,
/// as llama.cpp does; the template's leading BOS text is removed when the tokenizer adds
/// BOS, so it is emitted once). With `add_generation_prompt` the text ends where the
/// assistant's reply begins (for the newer R1 template, inside `<think>\n`). Writes the
/// UTF-8 text and a NUL to `text`, its length (without the NUL) to `*n_text`.
///
/// To generate from a conversation, prefer `bague_generate_chat`: it tokenizes the
/// messages' contents as plain text. Passing this text to `bague_generate` with
/// `parse_special` (the default) turns control-token text *inside a message* into control
/// tokens too, so a message could forge a turn: do that only with trusted contents.
///
/// Errors: INVALID_ARGUMENT (NULL, bad role), INVALID_UTF8, TEMPLATE (no template in the
/// file, or it failed), BUFFER_TOO_SMALL (`*n_text` = the text's length without
/// the NUL: the buffer needs one byte more).
/// Thread-safe.
///
/// # Safety
/// `model` NULL or live; `messages` NULL or `n_messages` valid messages; `text` NULL or
/// `cap` writable bytes; `n_text` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bague_chat_prompt(
    model: *const bague_model,
    messages: *const bague_message,
    n_messages: usize,
    add_generation_prompt: bool,
    text: *mut c_char,
    cap: usize,
    n_text: *mut usize,
) -> bague_status {
    guard(|| {
        // SAFETY: caller's contract for every pointer.
        let m = unsafe { args::arg(model, "model") }?;
        args::out(n_text, "n_text")?;
        // SAFETY: caller's contract.
        let msgs = unsafe { read_messages(messages, n_messages) }?;
        let rendered = m
            .inner
            .template()?
            .apply(&msgs, add_generation_prompt)
            .map_err(|e| Error::with(BAGUE_ERR_TEMPLATE, "chat template", e))?;
        // SAFETY: caller's contract.
        unsafe {
            args::copy_out(
                rendered.as_bytes(),
                true,
                text.cast::<u8>(),
                cap,
                n_text,
                "text",
            )
        }
    })
}

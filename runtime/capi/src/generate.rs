//! `bague_generate`: prompt text in, streamed pieces of complete UTF-8 out.
//!
//! The loop is the core's `bague::generate::Generator`, the one the CLI runs: per token,
//! sample (seeded chain or greedy, the sampler kept for the session's whole conversation) →
//! streaming decoder (complete UTF-8 only) → stop detector (end-of-generation ids, token
//! limit, stop strings matched across tokens) → reasoning splitter (thinking / answer, think
//! budget) → callbacks → decode the token. The prompt is tokenized with BOS as the vocabulary asks and control tokens parsed, as
//! llama.cpp evaluates a prompt; greedy decoding equals llama.cpp's `--temp 0`.
//!
//! Structured output (feature `grammar`, off by default: with it libbague.so also exports
//! llguidance's `llg_*` functions, see Cargo.toml): `params->json_schema` or
//! `params->grammar` constrain the answer (the core's `constraint::grammar`, llguidance).
//! The model's token trie is built on first use and kept with the model; a session keeps
//! its last compiled schema or grammar and compiles again only when the text changes.

use crate::args;
use crate::errors::{generate_error, prompt_error, sampler_error, tokenizer_error};
use crate::session::{State, bague_session};
use crate::status::{Error, Result, bague_status, guard};
use crate::text::{bague_message, read_messages};
use bague::bundle::PromptError;
use bague::chat::Message;
use bague::generate::{Error as GenError, NoClock, Piece, Request, Sink, StopReason};
use bague::model::Error as ModelError;
use bague::sampler::SamplerConfig;
use bague::tokenizer::EncodeOptions;
use std::ffi::{c_char, c_int, c_void};
use std::ops::ControlFlow;
use std::sync::atomic::{AtomicBool, Ordering};

use bague_status::*;

/// Why a generation ended.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum bague_stop_reason {
    /// The model produced an end-of-generation token (EOS, `<|im_end|>`, …); its text is
    /// not streamed.
    BAGUE_STOP_EOG = 0,
    /// `max_tokens` tokens were generated.
    BAGUE_STOP_MAX_TOKENS = 1,
    /// A stop string appeared; the text before it was streamed, the stop string was not.
    BAGUE_STOP_STOP_STRING = 2,
    /// `bague_cancel` was called, or a callback returned non-zero.
    BAGUE_STOP_CANCELLED = 3,
    /// The session's context is full.
    BAGUE_STOP_CONTEXT_FULL = 4,
    /// A failure; the status says which.
    BAGUE_STOP_ERROR = 5,
    /// The schema or grammar allows no next token (the output cannot be continued and is
    /// not complete).
    BAGUE_STOP_NO_ALLOWED_TOKEN = 6,
}

/// What a streamed piece is.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum bague_piece_kind {
    /// Part of the answer.
    BAGUE_PIECE_ANSWER = 0,
    /// Part of the model's reasoning (between `<think>` and `</think>`, tags removed).
    BAGUE_PIECE_THINKING = 1,
}

/// A string with an explicit length (not necessarily NUL-terminated), UTF-8.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct bague_str {
    /// The bytes (may be NULL when `len` is 0).
    pub ptr: *const c_char,
    /// Their number.
    pub len: usize,
}

/// Receives a piece of generated text: `len` bytes of complete UTF-8 at `text`, followed
/// by a NUL (the text itself may contain NUL if the model produced one). Valid only during
/// the call. Return 0 to continue, anything else to stop (stop reason CANCELLED).
/// Must not call bague functions on the same session except `bague_cancel`.
pub type bague_piece_fn = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        text: *const c_char,
        len: usize,
        kind: bague_piece_kind,
    ) -> c_int,
>;

/// Receives each generated token id (before its text is streamed), for callers that need
/// the ids. Return 0 to continue, anything else to stop (stop reason CANCELLED).
pub type bague_token_fn = Option<unsafe extern "C" fn(user_data: *mut c_void, token: u32) -> c_int>;

/// Settings of one generation. Get them from `bague_generate_params_default`, then change
/// fields.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct bague_generate_params {
    /// Most tokens to generate; 0: until end-of-generation or a full context.
    pub max_tokens: u32,
    /// Temperature; <= 0 is greedy (argmax, lowest id on ties).
    pub temperature: f32,
    /// Keep the k most likely tokens; 0: off.
    pub top_k: u32,
    /// Nucleus sampling threshold; >= 1: off.
    pub top_p: f32,
    /// Drop tokens below min_p × the top probability; 0: off.
    pub min_p: f32,
    /// Repetition penalty (1: off).
    pub repeat_penalty: f32,
    /// Tokens the repetition penalty looks back at (at most 4096); 0: off.
    pub repeat_last_n: u32,
    /// `n_stop` stop strings (may be NULL when `n_stop` is 0). Copied during the call.
    pub stop: *const bague_str,
    /// Number of stop strings.
    pub n_stop: usize,
    /// Add BOS/EOS to the prompt as the vocabulary asks. Default true.
    pub add_special: bool,
    /// Control-token text in the prompt (`<|im_start|>`) becomes control tokens, as in a
    /// prompt rendered by `bague_chat_prompt`. Default true. Set false for untrusted raw
    /// text.
    pub parse_special: bool,
    /// Optional: called with every generated token id (NULL: not called).
    pub on_token: bague_token_fn,
    /// Thinking budget for models with `<think>` tags: after this many thinking tokens the
    /// block is closed (`</think>` is fed to the model, and its id reported like a
    /// generated one) and the answer follows. Negative: no budget. Default -1.
    pub think_budget: i32,
    /// A JSON schema (UTF-8 JSON text, copied during the call): the answer is one JSON
    /// value it accepts. `{NULL, 0}`: none (the default). An invalid schema is
    /// INVALID_ARGUMENT, with the position and reason in `bague_last_error()`, before
    /// anything runs. At most one of `json_schema` and `grammar`.
    pub json_schema: bague_str,
    /// A grammar in llguidance's Lark-like syntax (UTF-8; GBNF is not supported and is
    /// INVALID_ARGUMENT): the answer matches it. `{NULL, 0}`: none (the default).
    pub grammar: bague_str,
    /// Models with `<think>` tags: skip thinking. An empty block (`<think>\n\n</think>`)
    /// is added after the prompt and everything generated is answer. Default false.
    pub skip_thinking: bool,
}

/// Counts of one generation.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct bague_generate_result {
    /// Why it ended.
    pub stop_reason: bague_stop_reason,
    /// Tokens in the prompt.
    pub n_prompt_tokens: u32,
    /// Prompt tokens whose KV cache entries were kept from earlier calls (the common
    /// prefix with what the session had processed) and not computed again.
    pub n_reused_tokens: u32,
    /// Tokens generated (the end-of-generation token included).
    pub n_generated_tokens: u32,
}

impl bague_generate_result {
    fn failed() -> Self {
        bague_generate_result {
            stop_reason: bague_stop_reason::BAGUE_STOP_ERROR,
            n_prompt_tokens: 0,
            n_reused_tokens: 0,
            n_generated_tokens: 0,
        }
    }
}

fn params_from(cfg: &SamplerConfig) -> bague_generate_params {
    bague_generate_params {
        max_tokens: 0,
        temperature: cfg.temp,
        top_k: cfg.top_k,
        top_p: cfg.top_p,
        min_p: cfg.min_p,
        repeat_penalty: cfg.penalty_repeat,
        repeat_last_n: cfg.penalty_last_n,
        stop: std::ptr::null(),
        n_stop: 0,
        add_special: true,
        parse_special: true,
        on_token: None,
        think_budget: -1,
        json_schema: bague_str {
            ptr: std::ptr::null(),
            len: 0,
        },
        grammar: bague_str {
            ptr: std::ptr::null(),
            len: 0,
        },
        skip_thinking: false,
    }
}

/// Writes default generation parameters to `*out`: the model's recommended sampling
/// (llama.cpp's defaults, DeepSeek's temperature 0.6 for R1 distills, then the file's
/// `general.sampling.*` keys) when `model` is not NULL, llama.cpp's defaults otherwise;
/// no token limit, no stop strings, add_special and parse_special true, no think budget, no
/// schema or grammar, thinking not skipped.
///
/// Errors: INVALID_ARGUMENT (`out` NULL). Thread-safe.
///
/// # Safety
/// `model` NULL or live; `out` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bague_generate_params_default(
    model: *const crate::model::bague_model,
    out: *mut bague_generate_params,
) -> bague_status {
    guard(|| {
        let out = args::out(out, "out")?;
        // SAFETY: caller's contract.
        let cfg = match unsafe { model.as_ref() } {
            Some(m) => m.inner.bundle().sampling,
            None => SamplerConfig::LLAMA_DEFAULTS,
        };
        // SAFETY: checked non-NULL; writable by contract.
        unsafe { out.write(params_from(&cfg)) };
        Ok(())
    })
}

/// Runs the model on `prompt` (`prompt_len` bytes of UTF-8) and streams the generated
/// text to `on_piece` (may be NULL) as complete UTF-8 pieces marked thinking or answer.
///
/// The prompt is the whole text the model should see (for a chat, the conversation
/// rendered by `bague_chat_prompt`). The session keeps the KV cache of the longest common
/// token prefix with what it processed before, so re-sending a growing conversation only
/// computes the new part; call `bague_session_reset` to start from nothing. `params` NULL
/// means `bague_generate_params_default(model)`.
///
/// Returns BAGUE_OK when the generation ended for any reason but an error (see
/// `result->stop_reason`: end-of-generation, token limit, stop string, cancel, context
/// full). `result` (may be NULL) is written on every return except INTERNAL.
///
/// Errors: INVALID_ARGUMENT (NULL session, empty prompt, bad parameter, session in use, a
/// schema or grammar that does not compile), INVALID_UTF8 (prompt, a stop string, the
/// schema or grammar), CONTEXT_FULL (the prompt alone does not fit), UNSUPPORTED (a schema
/// or grammar in a build without the `grammar` feature, or one too complex for the engine).
/// One thread at a time per session; `bague_cancel` from any thread.
///
/// # Safety
/// `session` NULL or live; `prompt` NULL or `prompt_len` readable bytes; `params` NULL or
/// valid, with `n_stop` valid `bague_str` at `params->stop` and `json_schema` / `grammar`
/// each NULL or `len` readable bytes; `result` NULL or writable.
/// `on_piece` / `params->on_token`, when not NULL, must be safe to call with `user_data`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bague_generate(
    session: *mut bague_session,
    prompt: *const c_char,
    prompt_len: usize,
    params: *const bague_generate_params,
    on_piece: bague_piece_fn,
    user_data: *mut c_void,
    result: *mut bague_generate_result,
) -> bague_status {
    guard(|| {
        let mut res = bague_generate_result::failed();
        let text = || {
            // SAFETY: `prompt_len` readable bytes at `prompt` (contract), valid for the call;
            // the `'static` borrow does not outlive it.
            unsafe { args::text(prompt, prompt_len, "prompt") }.map(Prompt::Text)
        };
        // SAFETY: the caller's contract covers every pointer.
        let r = unsafe { generate(session, text, params, on_piece, user_data, &mut res) };
        if !result.is_null() {
            // SAFETY: non-NULL and writable by contract.
            unsafe { result.write(res) };
        }
        r
    })
}

/// Generates the assistant's reply to a conversation: `n_messages` messages are rendered
/// with the model's chat template (as `bague_chat_prompt` does, with a generation prompt)
/// and tokenized so that the template's markup becomes control tokens while the messages'
/// contents stay plain text — a message containing `<|im_start|>` or `<｜Assistant｜>` is
/// text, it cannot forge a turn. Otherwise exactly `bague_generate` (KV reuse across turns,
/// callbacks, result); `params->add_special` and `params->parse_special` do not apply.
///
/// Errors: as `bague_generate`, and TEMPLATE (no template in the file, or it failed),
/// INVALID_ARGUMENT (bad role), INVALID_UTF8 (a content).
///
/// # Safety
/// `session` NULL or live; `messages` NULL or `n_messages` valid messages; `params`,
/// `on_piece`, `user_data`, `result` as for `bague_generate`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bague_generate_chat(
    session: *mut bague_session,
    messages: *const bague_message,
    n_messages: usize,
    params: *const bague_generate_params,
    on_piece: bague_piece_fn,
    user_data: *mut c_void,
    result: *mut bague_generate_result,
) -> bague_status {
    guard(|| {
        let mut res = bague_generate_result::failed();
        // SAFETY: the caller's contract covers the messages.
        let chat = || unsafe { read_messages(messages, n_messages) }.map(Prompt::Chat);
        // SAFETY: the caller's contract covers every pointer.
        let r = unsafe { generate(session, chat, params, on_piece, user_data, &mut res) };
        if !result.is_null() {
            // SAFETY: non-NULL and writable by contract.
            unsafe { result.write(res) };
        }
        r
    })
}

/// What a generation starts from.
enum Prompt<'p> {
    /// Raw text, tokenized with the params' `add_special` / `parse_special`.
    Text(&'p str),
    /// A conversation, rendered with the model's template; contents stay text.
    Chat(Vec<Message>),
}

/// # Safety
/// As `bague_generate`, with `prompt` made from the caller's valid pointers.
unsafe fn generate(
    session: *mut bague_session,
    prompt: impl FnOnce() -> Result<Prompt<'static>>,
    params: *const bague_generate_params,
    on_piece: bague_piece_fn,
    user_data: *mut c_void,
    res: &mut bague_generate_result,
) -> Result<()> {
    // SAFETY: caller's contract.
    let s = unsafe { args::arg(session.cast_const(), "session") }?;
    let lock = s.lock()?;
    // Lowered on every way out, so a later generation starts clean (bague_cancel docs).
    struct Lower<'a>(&'a AtomicBool);
    impl Drop for Lower<'_> {
        fn drop(&mut self) {
            self.0.store(false, Ordering::Release);
        }
    }
    let _lower = Lower(&s.cancel);
    let prompt = prompt()?;
    let p = match params.is_null() {
        // SAFETY: non-NULL and valid by contract.
        false => unsafe { *params },
        true => params_from(&lock.state.model.bundle().sampling),
    };
    // SAFETY: `p.stop` holds `p.n_stop` strings by contract.
    let stops = unsafe { stop_strings(&p) }?;
    let stops: Vec<&str> = stops.iter().map(String::as_str).collect();
    // SAFETY: `json_schema` / `grammar` are readable by contract.
    let spec = unsafe { constraint_spec(&p) }?;
    let state = &mut *lock.state;
    set_constraint(state, spec)?;
    let mut piece = std::mem::take(&mut state.piece);
    let mut sink = Callbacks {
        on_piece,
        on_token: p.on_token,
        user_data,
        buf: &mut piece,
    };
    let r = run(state, &s.cancel, prompt, &p, &stops, &mut sink, res);
    state.piece = piece;
    r
}

/// # Safety
/// `p.stop` must hold `p.n_stop` valid `bague_str`.
unsafe fn stop_strings(p: &bague_generate_params) -> Result<Vec<String>> {
    // SAFETY: forwarded contract.
    let list = unsafe { args::slice(p.stop, p.n_stop, "params->stop") }?;
    list.iter()
        .enumerate()
        .map(|(i, s)| {
            // SAFETY: each entry points to `len` readable bytes (contract).
            unsafe { args::text(s.ptr, s.len, &format!("params->stop[{i}]")) }.map(String::from)
        })
        .collect()
}

/// What `json_schema` / `grammar` ask for: (is a schema, text), or `None`.
///
/// # Safety
/// Each is NULL or `len` readable bytes.
unsafe fn constraint_spec(p: &bague_generate_params) -> Result<Option<(bool, String)>> {
    let read = |s: &bague_str, what: &str| -> Result<Option<String>> {
        if s.ptr.is_null() && s.len == 0 {
            return Ok(None);
        }
        // SAFETY: forwarded contract.
        unsafe { args::text(s.ptr, s.len, what) }.map(|t| Some(t.to_string()))
    };
    match (
        read(&p.json_schema, "params->json_schema")?,
        read(&p.grammar, "params->grammar")?,
    ) {
        (Some(_), Some(_)) => Err(Error::invalid(
            "params->json_schema and params->grammar are both set: give one",
        )),
        (Some(s), None) => Ok(Some((true, s))),
        (None, Some(g)) => Ok(Some((false, g))),
        (None, None) => Ok(None),
    }
}

/// Puts the asked-for constraint on the session's generator, compiling it unless it is the
/// one already there. Errors: INVALID_ARGUMENT (does not compile), UNSUPPORTED (no
/// `grammar` feature).
pub(crate) fn set_constraint(st: &mut State, spec: Option<(bool, String)>) -> Result<()> {
    if spec == st.constraint {
        return Ok(());
    }
    match &spec {
        None => st.generator.set_constraint(None).map_err(generate_error)?,
        Some((is_schema, text)) => compile_into(st, *is_schema, text)?,
    }
    st.constraint = spec;
    Ok(())
}

#[cfg(feature = "grammar")]
fn compile_into(st: &mut State, is_schema: bool, text: &str) -> Result<()> {
    use bague::constraint::grammar::GrammarSpec;
    let (what, spec) = if is_schema {
        (
            "params->json_schema",
            Ok(GrammarSpec::JsonSchema(text.into())),
        )
    } else {
        ("params->grammar", GrammarSpec::from_grammar_text(text))
    };
    let grammar = spec
        .and_then(|s| st.model.vocab()?.compile(&s))
        .map_err(|e| Error::with(BAGUE_ERR_INVALID_ARGUMENT, what, e))?;
    st.generator
        .set_constraint(Some(Box::new(grammar.constraint())))
        .map_err(generate_error)
}

#[cfg(not(feature = "grammar"))]
fn compile_into(_: &mut State, _: bool, _: &str) -> Result<()> {
    Err(Error::new(
        BAGUE_ERR_UNSUPPORTED,
        "json_schema / grammar: this libbague was built without the `grammar` feature",
    ))
}

fn sampler_config(p: &bague_generate_params, seed: u64) -> Result<SamplerConfig> {
    let cfg = SamplerConfig {
        seed,
        temp: p.temperature,
        top_k: p.top_k,
        top_p: p.top_p,
        min_p: p.min_p,
        min_keep: 0,
        penalty_last_n: p.repeat_last_n,
        penalty_repeat: p.repeat_penalty,
        penalty_freq: 0.0,
        penalty_present: 0.0,
    };
    cfg.validate().map_err(sampler_error)?;
    Ok(cfg)
}

/// [`generate_error`], with the constraint engine's own message when it has one.
fn generate_error_with(e: GenError, g: &bague::generate::Generator<'_, '_>) -> Error {
    let mut err = generate_error(e);
    if let (GenError::Constraint(_), Some(detail)) =
        (e, g.constraint().and_then(|c| c.last_error()))
    {
        err.message = format!("{}: {detail}", err.message);
    }
    err
}

/// The caller's callbacks, as the core generation loop's sink.
struct Callbacks<'b> {
    on_piece: bague_piece_fn,
    on_token: bague_token_fn,
    user_data: *mut c_void,
    /// The NUL-terminated copy of a piece handed to `on_piece`.
    buf: &'b mut Vec<u8>,
}

impl Sink for Callbacks<'_> {
    fn token(&mut self, id: u32) -> ControlFlow<()> {
        match self.on_token {
            // SAFETY: the caller of bague_generate vouched for `f` with `user_data`.
            Some(f) if unsafe { f(self.user_data, id) } != 0 => ControlFlow::Break(()),
            _ => ControlFlow::Continue(()),
        }
    }

    fn piece(&mut self, p: Piece<'_>) -> ControlFlow<()> {
        let Some(f) = self.on_piece else {
            return ControlFlow::Continue(());
        };
        self.buf.clear();
        self.buf.extend_from_slice(p.text.as_bytes());
        self.buf.push(0);
        let kind = if p.thinking {
            bague_piece_kind::BAGUE_PIECE_THINKING
        } else {
            bague_piece_kind::BAGUE_PIECE_ANSWER
        };
        // SAFETY: as in `token`; the text is `len` bytes plus a NUL, alive for the call.
        match unsafe { f(self.user_data, self.buf.as_ptr().cast(), p.text.len(), kind) } {
            0 => ControlFlow::Continue(()),
            _ => ControlFlow::Break(()),
        }
    }
}

fn stop_code(r: StopReason) -> bague_stop_reason {
    use bague_stop_reason::*;
    match r {
        StopReason::Eog => BAGUE_STOP_EOG,
        StopReason::MaxTokens => BAGUE_STOP_MAX_TOKENS,
        StopReason::StopString => BAGUE_STOP_STOP_STRING,
        StopReason::Cancelled => BAGUE_STOP_CANCELLED,
        StopReason::ContextFull => BAGUE_STOP_CONTEXT_FULL,
        StopReason::Error => BAGUE_STOP_ERROR,
        StopReason::NoAllowedToken => BAGUE_STOP_NO_ALLOWED_TOKEN,
    }
}

/// The generation proper, on the locked state: the core's `Generator`, as the CLI runs it.
fn run(
    st: &mut State,
    cancel: &AtomicBool,
    prompt: Prompt<'_>,
    p: &bague_generate_params,
    stops: &[&str],
    sink: &mut Callbacks<'_>,
    res: &mut bague_generate_result,
) -> Result<()> {
    let State {
        session,
        generator,
        seed,
        model,
        thermal,
        ..
    } = st;
    let b = model.bundle();
    let n_ctx = session.n_ctx();
    let (prompt, ids) = match prompt {
        Prompt::Text(text) => {
            let opts = EncodeOptions {
                add_special: p.add_special,
                parse_special: p.parse_special,
            };
            let ids = b.tokenizer.encode_capped(text, opts, &[], n_ctx);
            (std::borrow::Cow::Borrowed(text), ids)
        }
        Prompt::Chat(msgs) => match b.chat_prompt(&msgs, true, n_ctx) {
            Ok(c) => (std::borrow::Cow::Owned(c.text), Ok(c.ids)),
            Err(PromptError::Tokenizer(e)) => (std::borrow::Cow::Borrowed(""), Err(e)),
            Err(e) => return Err(prompt_error(e)),
        },
    };
    let ids = match ids {
        Ok(ids) => ids,
        // Tokenizing stopped past the context: refused like a prompt that does not fit.
        Err(bague::tokenizer::Error::TooManyTokens { .. }) => {
            res.stop_reason = bague_stop_reason::BAGUE_STOP_CONTEXT_FULL;
            return Err(Error::new(
                BAGUE_ERR_CONTEXT_FULL,
                format!("the prompt has more than {n_ctx} tokens, the context holds {n_ctx}"),
            ));
        }
        Err(e) => return Err(tokenizer_error(e)),
    };
    res.n_prompt_tokens = u32::try_from(ids.len()).unwrap_or(u32::MAX);
    if let Err(e) = generator.validate(session, &ids) {
        if let GenError::Model(ModelError::ContextFull { .. }) = e {
            res.stop_reason = bague_stop_reason::BAGUE_STOP_CONTEXT_FULL;
        }
        return Err(generate_error(e));
    }
    generator
        .set_sampling(sampler_config(p, *seed)?)
        .map_err(generate_error)?;
    let req = Request {
        prompt: &ids,
        max_tokens: (p.max_tokens > 0).then_some(p.max_tokens),
        stop: stops,
        reasoning: b.reasoning(&prompt, u32::try_from(p.think_budget).ok()),
        pin_empty_thinking: p.skip_thinking,
        batch_forced: false,
    };
    let out = match thermal.as_mut() {
        // `n_threads` 0: the phone board's thermal back-off runs between tokens.
        Some(t) => {
            let mut sink = bague_board_phone::ThermalSink::new(sink, t);
            generator.generate(session, &req, cancel, &NoClock, &mut sink)
        }
        None => generator.generate(session, &req, cancel, &NoClock, sink),
    }
    .map_err(|e| generate_error_with(e, generator))?;
    res.stop_reason = stop_code(out.stop_reason);
    res.n_reused_tokens = u32::try_from(out.n_reused).unwrap_or(u32::MAX);
    res.n_generated_tokens = u32::try_from(out.output_ids.len()).unwrap_or(u32::MAX);
    Ok(())
}

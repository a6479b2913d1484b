//! `bague_generate`: prompt text in, streamed pieces of complete UTF-8 out.
//!
//! The loop, per token: sample (seeded chain or greedy) → streaming decoder (complete
//! UTF-8 only) → stop detector (end-of-generation ids, token limit, stop strings matched
//! across tokens) → reasoning splitter (thinking / answer) → callback → decode the token.
//! The prompt is tokenized with BOS as the vocabulary asks and control tokens parsed, as
//! llama.cpp evaluates a prompt; greedy decoding equals llama.cpp's `--temp 0`.

use crate::args;
use crate::model::{model_error, tokenizer_error};
use crate::session::{State, bague_session};
use crate::status::{Error, Result, bague_status, guard};
use bague::chat::reasoning::prompt_opens_thinking;
use bague::chat::{Reasoning, ReasoningConfig, StopDetector, StopReason};
use bague::model::Error as ModelError;
use bague::sampler::{Sampler, SamplerConfig, SamplerError};
use bague::tokenizer::EncodeOptions;
use std::ffi::{c_char, c_int, c_void};
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
    }
}

/// Writes default generation parameters to `*out`: the model's recommended sampling
/// (llama.cpp's defaults, DeepSeek's temperature 0.6 for R1 distills, then the file's
/// `general.sampling.*` keys) when `model` is not NULL, llama.cpp's defaults otherwise;
/// no token limit, no stop strings, add_special and parse_special true.
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
            Some(m) => m.inner.sampling,
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
/// Errors: INVALID_ARGUMENT (NULL session, empty prompt, bad parameter, session in use),
/// INVALID_UTF8 (prompt or a stop string), CONTEXT_FULL (the prompt alone does not fit).
/// One thread at a time per session; `bague_cancel` from any thread.
///
/// # Safety
/// `session` NULL or live; `prompt` NULL or `prompt_len` readable bytes; `params` NULL or
/// valid, with `n_stop` valid `bague_str` at `params->stop`; `result` NULL or writable.
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
        // SAFETY: the caller's contract covers every pointer.
        let r = unsafe {
            generate(
                session, prompt, prompt_len, params, on_piece, user_data, &mut res,
            )
        };
        if !result.is_null() {
            // SAFETY: non-NULL and writable by contract.
            unsafe { result.write(res) };
        }
        r
    })
}

/// # Safety
/// As `bague_generate`.
unsafe fn generate(
    session: *mut bague_session,
    prompt: *const c_char,
    prompt_len: usize,
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
    // SAFETY: caller's contract.
    let prompt = unsafe { args::text(prompt, prompt_len, "prompt") }?;
    let p = match params.is_null() {
        // SAFETY: non-NULL and valid by contract.
        false => unsafe { *params },
        true => params_from(&lock.state.model.sampling),
    };
    // SAFETY: `p.stop` holds `p.n_stop` strings by contract.
    let stops = unsafe { stop_strings(&p) }?;
    let stops: Vec<&str> = stops.iter().map(String::as_str).collect();
    let cb = Callbacks {
        on_piece,
        on_token: p.on_token,
        user_data,
    };
    run(lock.state, &s.cancel, prompt, &p, &stops, &cb, res)
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

fn sampler_error(e: SamplerError) -> Error {
    let status = match e {
        SamplerError::OutOfMemory { .. } => BAGUE_ERR_OUT_OF_MEMORY,
        SamplerError::BadConfig { .. } => BAGUE_ERR_INVALID_ARGUMENT,
        _ => BAGUE_ERR_INTERNAL,
    };
    Error::with(status, "generation parameters", e)
}

/// The caller's callbacks.
struct Callbacks {
    on_piece: bague_piece_fn,
    on_token: bague_token_fn,
    user_data: *mut c_void,
}

impl Callbacks {
    /// Streams `text` as `kind` (nothing for empty text). False: the callback asked to stop.
    fn piece(&self, buf: &mut Vec<u8>, text: &str, kind: bague_piece_kind) -> bool {
        let Some(f) = self.on_piece else { return true };
        if text.is_empty() {
            return true;
        }
        buf.clear();
        buf.extend_from_slice(text.as_bytes());
        buf.push(0);
        // SAFETY: the caller of bague_generate vouched for `f` with `user_data`; the text
        // is `len` bytes plus a NUL, alive for the call.
        unsafe { f(self.user_data, buf.as_ptr().cast(), text.len(), kind) == 0 }
    }

    /// Thinking then answer text of one step. False: stop.
    fn step(&self, buf: &mut Vec<u8>, thinking: &str, answer: &str) -> bool {
        self.piece(buf, thinking, bague_piece_kind::BAGUE_PIECE_THINKING)
            && self.piece(buf, answer, bague_piece_kind::BAGUE_PIECE_ANSWER)
    }

    fn token(&self, id: u32) -> bool {
        match self.on_token {
            // SAFETY: as in `piece`.
            Some(f) => unsafe { f(self.user_data, id) == 0 },
            None => true,
        }
    }
}

/// The text stages after the decoder: thinking/answer split when the vocabulary has the
/// tags, everything answer otherwise.
struct Splitter(Option<Reasoning>);

impl Splitter {
    fn feed(&mut self, cb: &Callbacks, buf: &mut Vec<u8>, text: &str) -> bool {
        match &mut self.0 {
            Some(r) => {
                let s = r.on_text(text);
                cb.step(buf, s.thinking, s.answer)
            }
            None => cb.step(buf, "", text),
        }
    }

    fn finish(&mut self, cb: &Callbacks, buf: &mut Vec<u8>) -> bool {
        match &mut self.0 {
            Some(r) => {
                let s = r.finish();
                cb.step(buf, s.thinking, s.answer)
            }
            None => true,
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
    }
}

/// The generation proper, on the locked state.
fn run(
    st: &mut State,
    cancel: &AtomicBool,
    prompt: &str,
    p: &bague_generate_params,
    stops: &[&str],
    cb: &Callbacks,
    res: &mut bague_generate_result,
) -> Result<()> {
    let State {
        session,
        history,
        seed,
        piece,
        model,
    } = st;
    let tok = model.tokenizer();
    let opts = EncodeOptions {
        add_special: p.add_special,
        parse_special: p.parse_special,
    };
    let ids = tok.encode(prompt, opts).map_err(tokenizer_error)?;
    res.n_prompt_tokens = u32::try_from(ids.len()).unwrap_or(u32::MAX);
    if ids.is_empty() {
        return Err(Error::invalid("the prompt has no tokens"));
    }
    if ids.len() > session.n_ctx() {
        res.stop_reason = bague_stop_reason::BAGUE_STOP_CONTEXT_FULL;
        return Err(Error::new(
            BAGUE_ERR_CONTEXT_FULL,
            format!(
                "the prompt has {} tokens, the context holds {}",
                ids.len(),
                session.n_ctx()
            ),
        ));
    }
    let cfg = sampler_config(p, *seed)?;
    let mut sampler = Sampler::new(cfg, model.model().config.n_vocab).map_err(sampler_error)?;

    // Reuse the cached prefix; at least one token must run to get logits.
    let common = history.iter().zip(&ids).take_while(|(a, b)| a == b).count();
    let common = common.min(ids.len() - 1);
    session.truncate(common);
    history.truncate(common);
    res.n_reused_tokens = common as u32;
    // Penalties look at the prompt too, as llama.cpp's samplers do.
    let window = cfg.penalty_last_n as usize;
    for &id in &ids[ids.len().saturating_sub(window)..] {
        sampler.accept(id);
    }
    match session.prefill_cancellable(&ids[common..], cancel) {
        Ok(_) => history.extend_from_slice(&ids[common..]),
        Err(ModelError::Cancelled) => {
            res.stop_reason = bague_stop_reason::BAGUE_STOP_CANCELLED;
            return Ok(());
        }
        Err(e) => return Err(model_error(e)),
    }

    let mut decoder = tok.decoder();
    let mut stop = StopDetector::new(
        tok.eog_ids(),
        (p.max_tokens > 0).then_some(p.max_tokens),
        stops,
    );
    let mut split = Splitter(model.has_thinking.then(|| {
        let cfg = ReasoningConfig::r1().starts_in_thinking(prompt_opens_thinking(prompt));
        Reasoning::new(cfg, |t| tok.token_id(t))
    }));
    let mut n_generated = 0u32;
    let reason = loop {
        let id = sampler.sample(session.logits()).map_err(sampler_error)?;
        sampler.accept(id);
        n_generated += 1;
        res.n_generated_tokens = n_generated;
        if !cb.token(id) {
            res.stop_reason = bague_stop_reason::BAGUE_STOP_CANCELLED;
            return Ok(());
        }
        let text = decoder.push(id).map_err(tokenizer_error)?;
        let step = stop.on_token(id, text);
        if !split.feed(cb, piece, step.text) {
            res.stop_reason = bague_stop_reason::BAGUE_STOP_CANCELLED;
            return Ok(());
        }
        if let Some(r) = step.stop {
            break r;
        }
        match session.decode_cancellable(id, cancel) {
            Ok(_) => history.push(id),
            Err(ModelError::Cancelled) => break StopReason::Cancelled,
            Err(ModelError::ContextFull { .. }) => break StopReason::ContextFull,
            Err(e) => return Err(model_error(e)),
        }
    };
    res.stop_reason = stop_code(reason);
    // Release held-back text (not after a stop string: what follows it is dropped).
    if reason != StopReason::StopString {
        let held = stop.finish(reason);
        if !split.feed(cb, piece, held) {
            return Ok(());
        }
        if reason != StopReason::Eog && !split.feed(cb, piece, decoder.finish()) {
            return Ok(());
        }
    }
    split.finish(cb, piece);
    Ok(())
}

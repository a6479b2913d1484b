//! `bague_car_command`: the car board's voice-command mode (crate `bague-board-car`) for a
//! product that links `libbague.a` only. The board picks the options: greedy, thinking
//! pinned empty, the answer constrained to the intent schema, a token cap, a wall-clock
//! deadline, a watchdog callback per token. The caller gives the schema, the system message
//! and the transcript; it gets one complete intent JSON, or an error status and nothing.
//!
//! Feature `car` (implies `grammar`, with its caveat for libbague.so): without it the
//! function is BAGUE_ERR_UNSUPPORTED.

use crate::args;
use crate::generate::bague_str;
use crate::session::bague_session;
use crate::status::{Error, Result, bague_status, guard};
use std::ffi::{c_char, c_int, c_void};

#[cfg(feature = "car")]
use bague_status::*;

/// Called by `bague_car_command` after each generated token, before it is fed back to the
/// model: `n_tokens` generated so far (this one included), its id, microseconds since the
/// call began. Return 0 to continue, anything else to abort the command
/// (BAGUE_ERR_INCOMPLETE, outcome BAGUE_CAR_ABORTED). Must not call bague functions on the
/// same session except `bague_cancel`.
pub type bague_car_watchdog_fn = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        n_tokens: u32,
        token: u32,
        elapsed_us: u64,
    ) -> c_int,
>;

/// Settings of the car's voice-command mode. Get them from `bague_car_options_default`,
/// then set `intent_schema` and `system`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct bague_car_options {
    /// The intent schema (JSON Schema, UTF-8, copied during the call; the session keeps it
    /// compiled and compiles again only when the text changes). Required.
    pub intent_schema: bague_str,
    /// The system message that tells the model the intents (UTF-8). `{NULL, 0}` or empty:
    /// none (the template's default system message, if it has one).
    /// Keep it the same from command to command: its KV cache is reused.
    pub system: bague_str,
    /// Most tokens generated (end-of-generation included); reaching it before the intent is
    /// complete is BAGUE_ERR_INCOMPLETE with outcome BAGUE_CAR_TOKEN_CAP. 0 is
    /// INVALID_ARGUMENT. Default 64.
    pub max_tokens: u32,
    /// Milliseconds from the call to the complete intent; passing it is
    /// BAGUE_ERR_DEADLINE. Checked at every token and by an alarm that cancels the forward
    /// pass between layers. 0 is INVALID_ARGUMENT. Default 1000.
    pub deadline_ms: u32,
    /// Optional: called per generated token (NULL: not called).
    pub watchdog: bague_car_watchdog_fn,
    /// Passed to `watchdog`.
    pub user_data: *mut c_void,
}

/// How a voice command ended.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum bague_car_outcome {
    /// A complete intent was written (BAGUE_OK).
    BAGUE_CAR_INTENT = 0,
    /// The deadline passed (BAGUE_ERR_DEADLINE).
    BAGUE_CAR_DEADLINE = 1,
    /// The token cap was reached (BAGUE_ERR_INCOMPLETE).
    BAGUE_CAR_TOKEN_CAP = 2,
    /// The watchdog returned non-zero, or `bague_cancel` was called (BAGUE_ERR_INCOMPLETE).
    BAGUE_CAR_ABORTED = 3,
    /// The schema allowed no next token, or the context filled (BAGUE_ERR_INCOMPLETE).
    BAGUE_CAR_INCOMPLETE = 4,
    /// Another failure; the status says which.
    BAGUE_CAR_ERROR = 5,
}

/// Counts of one voice command.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct bague_car_result {
    /// How it ended.
    pub outcome: bague_car_outcome,
    /// Tokens generated (end-of-generation included).
    pub n_tokens: u32,
    /// Tokens of the prompt (system message, transcript's turn).
    pub n_prompt_tokens: u32,
    /// Of which prefilled by this command (the rest was in the KV cache).
    pub n_prefilled_tokens: u32,
    /// Microseconds from the call to the complete intent, or to when it stopped.
    pub latency_us: u64,
}

/// Writes the default car options to `*out`: no schema or system message yet, 64 tokens,
/// 1000 ms, no watchdog.
///
/// Errors: INVALID_ARGUMENT (`out` NULL). Thread-safe.
///
/// # Safety
/// `out` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bague_car_options_default(out: *mut bague_car_options) -> bague_status {
    guard(|| {
        let out = args::out(out, "out")?;
        let none = bague_str {
            ptr: std::ptr::null(),
            len: 0,
        };
        // SAFETY: checked non-NULL; writable by contract.
        unsafe {
            out.write(bague_car_options {
                intent_schema: none,
                system: none,
                max_tokens: 64,
                deadline_ms: 1000,
                watchdog: None,
                user_data: std::ptr::null_mut(),
            })
        };
        Ok(())
    })
}

/// Turns a voice command's transcript (`transcript_len` bytes of UTF-8) into one intent:
/// the JSON text the schema accepts, written to `json` (`json_cap` bytes) followed by a
/// NUL, its length (without the NUL) to `*json_len`.
///
/// The prompt is the model's chat template with `options->system` and the transcript as
/// the user's turn; decoding is greedy, constrained to `options->intent_schema`, with an
/// empty thinking block pinned for reasoning models, at most `options->max_tokens` tokens
/// and `options->deadline_ms` milliseconds. The session's KV cache keeps the system
/// message between commands (only the transcript's turn is prefilled). The session's
/// threads and context are the ones it was made with.
///
/// Returns BAGUE_OK only with a complete intent. Otherwise nothing is written to `json`:
/// BAGUE_ERR_DEADLINE (the deadline passed), BAGUE_ERR_INCOMPLETE (token cap, watchdog or
/// `bague_cancel`, no allowed token, full context: `result->outcome` says which),
/// BAGUE_ERR_BUFFER_TOO_SMALL (`*json_len` has the length; the command must be run again),
/// INVALID_ARGUMENT (NULL session / options / json_len, empty transcript, no schema, a
/// schema that does not compile, a zero cap or deadline, the session in use),
/// INVALID_UTF8, CONTEXT_FULL (the prompt alone does not fit), TEMPLATE (no chat template),
/// UNSUPPORTED (a library built without the `car` feature). `result` (may be NULL) is
/// written on every return except INTERNAL.
///
/// # Safety
/// `session` NULL or live; `transcript` NULL or `transcript_len` readable bytes; `options`
/// NULL or valid, its `intent_schema` / `system` each NULL or `len` readable bytes; `json`
/// NULL or `json_cap` writable bytes; `json_len` NULL or writable; `result` NULL or
/// writable; `options->watchdog`, when not NULL, safe to call with `options->user_data`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bague_car_command(
    session: *mut bague_session,
    transcript: *const c_char,
    transcript_len: usize,
    options: *const bague_car_options,
    json: *mut c_char,
    json_cap: usize,
    json_len: *mut usize,
    result: *mut bague_car_result,
) -> bague_status {
    guard(|| {
        let mut res = bague_car_result {
            outcome: bague_car_outcome::BAGUE_CAR_ERROR,
            n_tokens: 0,
            n_prompt_tokens: 0,
            n_prefilled_tokens: 0,
            latency_us: 0,
        };
        // SAFETY: the caller's contract covers every pointer.
        let r = unsafe {
            command(
                session,
                transcript,
                transcript_len,
                options,
                json,
                json_cap,
                json_len,
                &mut res,
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
/// As `bague_car_command`.
#[cfg(feature = "car")]
#[allow(clippy::too_many_arguments)]
unsafe fn command(
    session: *mut bague_session,
    transcript: *const c_char,
    transcript_len: usize,
    options: *const bague_car_options,
    json: *mut c_char,
    json_cap: usize,
    json_len: *mut usize,
    res: &mut bague_car_result,
) -> Result<()> {
    use bague_board_car::{CarBoard, CarError, Progress, VoiceConfig};
    use std::ops::ControlFlow;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::time::Duration;

    // SAFETY: caller's contract.
    let s = unsafe { args::arg(session.cast_const(), "session") }?;
    // SAFETY: caller's contract.
    let o = unsafe { args::arg(options, "options") }?;
    let json_len = args::out(json_len, "json_len")?;
    // SAFETY: `transcript_len` readable bytes (contract).
    let transcript = unsafe { args::text(transcript, transcript_len, "transcript") }?;
    let read = |t: &bague_str, what: &str| {
        // SAFETY: `len` readable bytes at `ptr` (contract).
        unsafe { args::text(t.ptr, t.len, what) }
    };
    let schema = read(&o.intent_schema, "options->intent_schema")?;
    let system = read(&o.system, "options->system")?;
    if schema.trim().is_empty() {
        return Err(Error::invalid("options->intent_schema is empty"));
    }
    if o.max_tokens == 0 || o.deadline_ms == 0 {
        return Err(Error::invalid(
            "options->max_tokens and options->deadline_ms must not be 0",
        ));
    }
    let lock = s.lock()?;
    struct Lower<'a>(&'a AtomicBool);
    impl Drop for Lower<'_> {
        fn drop(&mut self) {
            self.0.store(false, Ordering::Release);
        }
    }
    let _lower = Lower(&s.cancel);
    let state = &mut *lock.state;
    crate::generate::set_constraint(state, Some((true, schema.to_string())))?;
    let cfg = VoiceConfig {
        max_tokens: o.max_tokens,
        deadline: Duration::from_millis(u64::from(o.deadline_ms)),
        ..VoiceConfig::default()
    };
    // The clock of the deadline; the session keeps the threads it was made with.
    let board = CarBoard::new();
    let (watchdog, user_data) = (o.watchdog, o.user_data);
    let mut dog = |p: &Progress| {
        let Some(f) = watchdog else {
            return ControlFlow::Continue(());
        };
        let us = u64::try_from(p.elapsed.as_micros()).unwrap_or(u64::MAX);
        // SAFETY: the caller vouched for `f` with `user_data`.
        match unsafe { f(user_data, p.n_tokens, p.token, us) } {
            0 => ControlFlow::Continue(()),
            _ => ControlFlow::Break(()),
        }
    };
    let crate::session::State {
        session: sess,
        generator,
        model,
        ..
    } = state;
    let r = bague_board_car::command(
        &board,
        model.bundle(),
        generator,
        sess,
        system,
        transcript,
        &cfg,
        &s.cancel,
        &mut dog,
    );
    use bague_car_outcome::*;
    let intent = match r {
        Ok(i) => i,
        Err(e) => {
            let (outcome, status, n) = match &e {
                CarError::Deadline {
                    n_tokens, elapsed, ..
                } => {
                    res.latency_us = elapsed.as_micros() as u64;
                    (BAGUE_CAR_DEADLINE, BAGUE_ERR_DEADLINE, *n_tokens)
                }
                CarError::TokenCap { max_tokens } => {
                    (BAGUE_CAR_TOKEN_CAP, BAGUE_ERR_INCOMPLETE, *max_tokens)
                }
                CarError::Aborted { n_tokens } => {
                    (BAGUE_CAR_ABORTED, BAGUE_ERR_INCOMPLETE, *n_tokens)
                }
                CarError::Incomplete { n_tokens, .. } => {
                    (BAGUE_CAR_INCOMPLETE, BAGUE_ERR_INCOMPLETE, *n_tokens)
                }
                CarError::EmptyTranscript => (BAGUE_CAR_ERROR, BAGUE_ERR_INVALID_ARGUMENT, 0),
                CarError::Prompt(p) => {
                    return Err(crate::errors::prompt_error(p.clone()));
                }
                CarError::Generate(g) => return Err(crate::errors::generate_error(*g)),
                _ => (BAGUE_CAR_ERROR, BAGUE_ERR_INTERNAL, 0),
            };
            res.outcome = outcome;
            res.n_tokens = n;
            return Err(Error::new(status, e.to_string()));
        }
    };
    res.n_tokens = intent.n_tokens;
    res.n_prompt_tokens = u32::try_from(intent.n_prompt).unwrap_or(u32::MAX);
    res.n_prefilled_tokens = u32::try_from(intent.n_prefilled).unwrap_or(u32::MAX);
    res.latency_us = intent.latency.as_micros() as u64;
    let text = intent.json.as_bytes();
    // SAFETY: checked non-NULL; writable by contract.
    unsafe { json_len.write(text.len()) };
    if json.is_null() || json_cap <= text.len() {
        res.outcome = BAGUE_CAR_ERROR;
        return Err(Error::new(
            BAGUE_ERR_BUFFER_TOO_SMALL,
            format!(
                "json: the intent has {} bytes and its NUL, the buffer {json_cap}",
                text.len()
            ),
        ));
    }
    // SAFETY: `json_cap` writable bytes at `json` (contract), more than `text.len()`.
    unsafe {
        std::ptr::copy_nonoverlapping(text.as_ptr(), json.cast::<u8>(), text.len());
        json.add(text.len()).write(0);
    }
    res.outcome = BAGUE_CAR_INTENT;
    Ok(())
}

/// # Safety
/// As `bague_car_command`.
#[cfg(not(feature = "car"))]
#[allow(clippy::too_many_arguments)]
unsafe fn command(
    _: *mut bague_session,
    _: *const c_char,
    _: usize,
    _: *const bague_car_options,
    _: *mut c_char,
    _: usize,
    _: *mut usize,
    _: &mut bague_car_result,
) -> Result<()> {
    Err(Error::new(
        bague_status::BAGUE_ERR_UNSUPPORTED,
        "bague_car_command: this libbague was built without the `car` feature",
    ))
}

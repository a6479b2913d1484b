//! Helpers of the ABI tests: RAII wrappers over the handles, a generation that records
//! pieces and ids through the C callbacks (model files and reference data: `bague_testkit`).
//! Everything goes through the exported `extern "C"` functions, as a C caller would.

#![allow(dead_code, unused_imports)]

use bague_capi::*;
use std::ffi::{CStr, CString, c_char, c_int, c_void};
use std::path::Path;
use std::ptr;

pub use bague_capi::bague_piece_kind::*;
pub use bague_capi::bague_status::*;
pub use bague_capi::bague_stop_reason::*;

pub const R1: &str = "r1-tiny-random-q4_0";
pub const SMOL: &str = "smol-tiny-random-q4_0";

/// `testdata/models/ID.gguf`: a committed tiny model.
pub use bague_testkit::tiny_path as model_path;
pub use bague_testkit::{ids, reference, testdata};

/// The calling thread's last error message.
pub fn last_error() -> String {
    // SAFETY: bague_last_error never returns NULL and the string is NUL-terminated.
    unsafe { CStr::from_ptr(bague_last_error()) }
        .to_str()
        .unwrap()
        .to_owned()
}

/// Asserts `st == want` and that the last error mentions `needle`.
pub fn expect_err(st: bague_status, want: bague_status, needle: &str) {
    assert_eq!(st, want, "last error: {}", last_error());
    let msg = last_error();
    assert!(msg.contains(needle), "{msg:?} should mention {needle:?}");
}

/// A model handle, freed on drop.
pub struct Model(pub *mut bague_model);

// SAFETY: a bague_model is thread-safe by the ABI's contract (that is under test).
unsafe impl Send for Model {}
// SAFETY: as above.
unsafe impl Sync for Model {}

impl Model {
    pub fn open(id: &str) -> Model {
        Model::open_path(&model_path(id))
    }

    pub fn open_path(path: &Path) -> Model {
        let path = CString::new(path.to_str().unwrap()).unwrap();
        let mut m = ptr::null_mut();
        // SAFETY: valid path, NULL options, writable out.
        let st = unsafe { bague_model_open_path(path.as_ptr(), ptr::null(), &mut m) };
        assert_eq!(st, BAGUE_OK, "{}", last_error());
        Model(m)
    }

    pub fn info(&self) -> bague_model_info {
        let mut info = std::mem::MaybeUninit::uninit();
        // SAFETY: live model, writable out.
        let st = unsafe { bague_model_get_info(self.0, info.as_mut_ptr()) };
        assert_eq!(st, BAGUE_OK);
        // SAFETY: written on BAGUE_OK.
        unsafe { info.assume_init() }
    }

    pub fn session(&self, n_ctx: u32, n_threads: u32) -> Session {
        let opts = bague_session_options {
            n_ctx,
            n_threads,
            ..session_defaults()
        };
        let mut s = ptr::null_mut();
        // SAFETY: live model, valid options, writable out.
        let st = unsafe { bague_session_new(self.0, &opts, &mut s) };
        assert_eq!(st, BAGUE_OK, "{}", last_error());
        Session(s)
    }

    pub fn tokenize(&self, text: &str, add_special: bool, parse_special: bool) -> Vec<u32> {
        let mut n = 0usize;
        // SAFETY: valid text; NULL/0 buffer asks for the length.
        let st = unsafe {
            bague_tokenize(
                self.0,
                text.as_ptr().cast(),
                text.len(),
                add_special,
                parse_special,
                ptr::null_mut(),
                0,
                &mut n,
            )
        };
        assert!(st == BAGUE_OK || st == BAGUE_ERR_BUFFER_TOO_SMALL, "{st:?}");
        let mut out = vec![0u32; n];
        // SAFETY: buffer of n ids.
        let st = unsafe {
            bague_tokenize(
                self.0,
                text.as_ptr().cast(),
                text.len(),
                add_special,
                parse_special,
                out.as_mut_ptr(),
                out.len(),
                &mut n,
            )
        };
        assert_eq!(st, BAGUE_OK, "{}", last_error());
        assert_eq!(n, out.len());
        out
    }

    pub fn detokenize(&self, ids: &[u32]) -> Vec<u8> {
        let mut n = 0usize;
        // SAFETY: valid ids; NULL/0 asks for the length.
        let st = unsafe {
            bague_detokenize(
                self.0,
                ids.as_ptr(),
                ids.len(),
                true,
                ptr::null_mut(),
                0,
                &mut n,
            )
        };
        assert_eq!(st, BAGUE_ERR_BUFFER_TOO_SMALL);
        let mut out = vec![0u8; n + 1];
        // SAFETY: buffer of n + 1 bytes.
        let st = unsafe {
            bague_detokenize(
                self.0,
                ids.as_ptr(),
                ids.len(),
                true,
                out.as_mut_ptr().cast(),
                out.len(),
                &mut n,
            )
        };
        assert_eq!(st, BAGUE_OK, "{}", last_error());
        assert_eq!(out[n], 0, "NUL-terminated");
        out.truncate(n);
        out
    }
}

impl Model {
    /// `bague_chat_prompt` over `(role, content)` messages (the length query, then the
    /// text); checks the NUL.
    pub fn chat_prompt(&self, msgs: &[(u32, &str)], add_generation_prompt: bool) -> String {
        let c_msgs: Vec<bague_message> = msgs
            .iter()
            .map(|(r, t)| bague_message {
                role: *r,
                content: t.as_ptr().cast(),
                content_len: t.len(),
            })
            .collect();
        let mut n = 0usize;
        // SAFETY: valid messages; NULL/0 asks for the length.
        let st = unsafe {
            bague_chat_prompt(
                self.0,
                c_msgs.as_ptr(),
                c_msgs.len(),
                add_generation_prompt,
                ptr::null_mut(),
                0,
                &mut n,
            )
        };
        assert_eq!(st, BAGUE_ERR_BUFFER_TOO_SMALL, "{}", last_error());
        let mut buf = vec![0u8; n + 1];
        // SAFETY: a buffer of n + 1 bytes.
        let st = unsafe {
            bague_chat_prompt(
                self.0,
                c_msgs.as_ptr(),
                c_msgs.len(),
                add_generation_prompt,
                buf.as_mut_ptr().cast(),
                buf.len(),
                &mut n,
            )
        };
        assert_eq!(st, BAGUE_OK, "{}", last_error());
        assert_eq!(buf[n], 0, "NUL-terminated");
        buf.truncate(n);
        String::from_utf8(buf).unwrap()
    }
}

impl Drop for Model {
    fn drop(&mut self) {
        // SAFETY: opened by this wrapper, freed once (NULL after a manual free).
        unsafe { bague_model_free(self.0) };
    }
}

/// A session handle, freed on drop.
pub struct Session(pub *mut bague_session);

// SAFETY: a session may move between threads (one user at a time) by the ABI's contract.
unsafe impl Send for Session {}
// SAFETY: shared only to call bague_cancel, which is thread-safe.
unsafe impl Sync for Session {}

impl Drop for Session {
    fn drop(&mut self) {
        // SAFETY: created by Model::session, freed once.
        unsafe { bague_session_free(self.0) };
    }
}

pub fn session_defaults() -> bague_session_options {
    let mut o = std::mem::MaybeUninit::uninit();
    // SAFETY: writable out.
    let st = unsafe { bague_session_options_default(o.as_mut_ptr()) };
    assert_eq!(st, BAGUE_OK);
    // SAFETY: written on BAGUE_OK.
    unsafe { o.assume_init() }
}

/// Default parameters of `model` (NULL: llama.cpp's).
pub fn params(model: *const bague_model) -> bague_generate_params {
    let mut p = std::mem::MaybeUninit::uninit();
    // SAFETY: model NULL or live; writable out.
    let st = unsafe { bague_generate_params_default(model, p.as_mut_ptr()) };
    assert_eq!(st, BAGUE_OK);
    // SAFETY: written on BAGUE_OK.
    unsafe { p.assume_init() }
}

/// Greedy parameters with a token limit.
pub fn greedy(max_tokens: u32) -> bague_generate_params {
    bague_generate_params {
        max_tokens,
        temperature: 0.0,
        ..params(ptr::null())
    }
}

/// What the callbacks saw, and what to do from inside them.
#[derive(Default)]
pub struct Collector {
    pub pieces: Vec<(bague_piece_kind, Vec<u8>)>,
    pub ids: Vec<u32>,
    /// Return non-zero from the piece callback once this many pieces were seen.
    pub stop_after_pieces: Option<usize>,
    /// Call bague_cancel on this session from the first piece callback.
    pub cancel_from_callback: Option<*const bague_session>,
    /// Try bague_generate on this session from the first piece callback; the status.
    pub reenter: Option<*mut bague_session>,
    pub reenter_status: Option<bague_status>,
}

impl Collector {
    pub fn text(&self, kind: Option<bague_piece_kind>) -> String {
        let mut s = Vec::new();
        for (k, p) in &self.pieces {
            if kind.is_none_or(|want| want == *k) {
                s.extend_from_slice(p);
            }
        }
        String::from_utf8(s).unwrap()
    }
}

pub unsafe extern "C" fn on_piece(
    ud: *mut c_void,
    text: *const c_char,
    len: usize,
    kind: bague_piece_kind,
) -> c_int {
    // SAFETY: `ud` is the &mut Collector given to bague_generate.
    let c = unsafe { &mut *ud.cast::<Collector>() };
    // SAFETY: the ABI promises `len` bytes plus a NUL.
    let bytes = unsafe { std::slice::from_raw_parts(text.cast::<u8>(), len + 1) };
    assert_eq!(bytes[len], 0, "piece is NUL-terminated");
    assert!(len > 0, "no empty pieces");
    std::str::from_utf8(&bytes[..len]).expect("every piece is complete UTF-8");
    c.pieces.push((kind, bytes[..len].to_vec()));
    if let Some(s) = c.cancel_from_callback.take() {
        // SAFETY: a live session; bague_cancel is allowed from callbacks.
        assert_eq!(unsafe { bague_cancel(s) }, BAGUE_OK);
    }
    if let Some(s) = c.reenter.take() {
        let p = b"x";
        // SAFETY: a live session (in use: this must be refused, not race).
        let st = unsafe {
            bague_generate(
                s,
                p.as_ptr().cast(),
                1,
                ptr::null(),
                None,
                ptr::null_mut(),
                ptr::null_mut(),
            )
        };
        c.reenter_status = Some(st);
    }
    match c.stop_after_pieces {
        Some(n) if c.pieces.len() >= n => 1,
        _ => 0,
    }
}

pub unsafe extern "C" fn on_token(ud: *mut c_void, token: u32) -> c_int {
    // SAFETY: `ud` is the &mut Collector given to bague_generate.
    let c = unsafe { &mut *ud.cast::<Collector>() };
    c.ids.push(token);
    0
}

/// Runs bague_generate with the recording callbacks (`params.on_token` is set here).
pub fn run(
    s: &Session,
    prompt: &[u8],
    mut p: bague_generate_params,
    c: &mut Collector,
) -> (bague_status, bague_generate_result) {
    p.on_token = Some(on_token);
    let mut res = std::mem::MaybeUninit::uninit();
    // SAFETY: live session, valid prompt and params, the collector outlives the call.
    let st = unsafe {
        bague_generate(
            s.0,
            prompt.as_ptr().cast(),
            prompt.len(),
            &p,
            Some(on_piece),
            (c as *mut Collector).cast(),
            res.as_mut_ptr(),
        )
    };
    assert_ne!(st, BAGUE_ERR_INTERNAL, "{}", last_error());
    // SAFETY: written on every return but INTERNAL.
    let res = unsafe { res.assume_init() };
    (st, res)
}

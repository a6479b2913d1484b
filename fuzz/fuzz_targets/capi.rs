//! Fuzz the C ABI from Rust: the input is a little program of `extern "C"` calls on the
//! committed tiny SmolLM2 model (opened once) with arbitrary options, parameters, lengths,
//! NULL pointers and short buffers (never a buffer shorter than the length we pass: that
//! would be our bug, not the library's). Every call must return a status, never
//! `BAGUE_ERR_INTERNAL` (a panic caught at the boundary) nor abort, and keep the ABI's
//! promises: a short buffer gives BUFFER_TOO_SMALL with the needed length and nothing
//! written; an OK text is NUL-terminated; generated pieces are non-empty UTF-8.
//!
//! Costly choices are kept small so that the fuzzer stays fast: at most 8 generated tokens
//! a call, contexts of at most 4096 positions, a memory budget of at most 64 MiB, at most
//! 3 threads (except that a raw 32-bit thread count is tried now and then: the library
//! refuses absurd ones).
#![no_main]

use std::ffi::{c_char, c_int, c_void};
use std::ptr::{null, null_mut};
use std::sync::OnceLock;

use bague_capi::bague_status::*;
use bague_capi::*;
use libfuzzer_sys::fuzz_target;

struct Model(*mut bague_model);
// SAFETY: a bague_model is immutable and thread-safe by the ABI's contract.
unsafe impl Send for Model {}
// SAFETY: as above.
unsafe impl Sync for Model {}

fn model() -> *const bague_model {
    static M: OnceLock<Model> = OnceLock::new();
    M.get_or_init(|| {
        let path = format!(
            "{}/../testdata/models/smol-tiny-random-q4_0.gguf\0",
            env!("CARGO_MANIFEST_DIR")
        );
        let mut m = null_mut();
        // SAFETY: NUL-terminated path, NULL options, writable out.
        let st = unsafe { bague_model_open_path(path.as_ptr().cast(), null(), &mut m) };
        assert_eq!(st, BAGUE_OK, "the committed tiny model opens");
        Model(m)
    })
    .0
}

/// Reads the fuzz input front to back; past the end every value is 0.
struct In<'a>(&'a [u8]);

impl<'a> In<'a> {
    fn u8(&mut self) -> u8 {
        let (b, rest) = self.0.split_first().map_or((0, &[][..]), |(b, r)| (*b, r));
        self.0 = rest;
        b
    }
    fn bytes<const N: usize>(&mut self) -> [u8; N] {
        let mut b = [0u8; N];
        for x in &mut b {
            *x = self.u8();
        }
        b
    }
    fn u32(&mut self) -> u32 {
        u32::from_le_bytes(self.bytes())
    }
    fn f32(&mut self) -> f32 {
        f32::from_le_bytes(self.bytes())
    }
    fn u64(&mut self) -> u64 {
        u64::from_le_bytes(self.bytes())
    }
    fn bool(&mut self) -> bool {
        self.u8() & 1 != 0
    }
    /// A length-prefixed byte string (length byte, then that many bytes or what is left).
    fn blob(&mut self) -> &'a [u8] {
        let n = usize::from(self.u8()).min(self.0.len());
        let (b, rest) = self.0.split_at(n);
        self.0 = rest;
        b
    }
    fn done(&self) -> bool {
        self.0.is_empty()
    }
}

fn ok_or_clear(st: bague_status) {
    assert_ne!(
        st,
        BAGUE_ERR_INTERNAL,
        "a panic crossed into the ABI: {}",
        last_error()
    );
    // SAFETY: returns a static or thread-local NUL-terminated string, never NULL.
    let e = unsafe { std::ffi::CStr::from_ptr(bague_last_error()) };
    if st != BAGUE_OK {
        assert!(!e.to_bytes().is_empty(), "a failure without a message");
    }
}

fn last_error() -> String {
    // SAFETY: as in ok_or_clear.
    unsafe { std::ffi::CStr::from_ptr(bague_last_error()) }
        .to_string_lossy()
        .into_owned()
}

/// A pointer to `s`, NULL when asked (a NULL with a non-zero length must be refused).
fn ptr_or_null(s: &[u8], null_it: bool) -> *const c_char {
    if null_it { null() } else { s.as_ptr().cast() }
}

fn session_options(r: &mut In<'_>) -> bague_session_options {
    let n_threads = match r.u8() {
        x if x & 0x80 != 0 => r.u32(),
        x => u32::from(x % 4),
    };
    let budget = r.u64() % (64 << 20);
    bague_session_options {
        n_ctx: r.u32() % 4097,
        n_batch: match r.u8() {
            x if x & 0x80 != 0 => r.u32(),
            x => u32::from(x),
        },
        n_threads,
        kv_type: u32::from(r.u8() % 3),
        seed: r.u64(),
        // 0 would mean "what the system has"; keep the fuzzer's RSS small instead.
        memory_budget: if budget == 0 { 64 << 20 } else { budget },
        // CPU, GPU (not compiled in here: an error), auto, and unknown values.
        backend: u32::from(r.u8() % 5),
        gpu_adapter: null(),
    }
}

fn generate_params(r: &mut In<'_>) -> bague_generate_params {
    let mut p = std::mem::MaybeUninit::uninit();
    // SAFETY: live model, writable out.
    assert_eq!(
        unsafe { bague_generate_params_default(model(), p.as_mut_ptr()) },
        BAGUE_OK
    );
    // SAFETY: written on OK.
    let mut p = unsafe { p.assume_init() };
    p.max_tokens = 1 + u32::from(r.u8() % 8);
    if r.bool() {
        p.temperature = r.f32();
        p.top_k = r.u32();
        p.top_p = r.f32();
        p.min_p = r.f32();
        p.repeat_penalty = r.f32();
        p.repeat_last_n = r.u32() % 8192;
        p.think_budget = r.u32() as i32;
    }
    p.add_special = r.bool();
    p.parse_special = r.bool();
    p
}

#[derive(Default)]
struct Seen {
    pieces: usize,
    stop_at: usize,
}

unsafe extern "C" fn on_piece(
    ud: *mut c_void,
    text: *const c_char,
    len: usize,
    _kind: bague_piece_kind,
) -> c_int {
    // SAFETY: `ud` is the &mut Seen passed with this callback.
    let seen = unsafe { &mut *ud.cast::<Seen>() };
    // SAFETY: the ABI promises `len` bytes and a NUL at `text`.
    let b = unsafe { std::slice::from_raw_parts(text.cast::<u8>(), len + 1) };
    assert!(
        len > 0 && b[len] == 0,
        "pieces are non-empty and NUL-terminated"
    );
    assert!(std::str::from_utf8(&b[..len]).is_ok(), "pieces are UTF-8");
    seen.pieces += 1;
    c_int::from(seen.stop_at != 0 && seen.pieces >= seen.stop_at)
}

/// Checks a text out-parameter after a call with a buffer of `cap` bytes.
fn check_text(st: bague_status, buf: &[u8], cap: usize, n: usize) {
    match st {
        BAGUE_OK => {
            assert!(n < cap, "OK with {n} bytes in a buffer of {cap}");
            assert_eq!(buf[n], 0, "NUL after the text");
        }
        BAGUE_ERR_BUFFER_TOO_SMALL => {
            assert!(n >= cap, "BUFFER_TOO_SMALL but {n} + NUL fits {cap}");
            assert!(buf[..cap].iter().all(|&b| b == 0xAA), "nothing written");
        }
        _ => {}
    }
}

fn messages<'a>(r: &mut In<'a>) -> (Vec<bague_message>, Vec<&'a [u8]>) {
    let n = usize::from(r.u8() % 5);
    let mut texts = Vec::new();
    let mut msgs = Vec::new();
    for _ in 0..n {
        let role = match r.u8() {
            x if x & 0x80 != 0 => r.u32(),
            x => u32::from(x % 4),
        };
        let null_it = r.u8() == 0xFF;
        let t = r.blob();
        texts.push(t);
        msgs.push(bague_message {
            role,
            content: ptr_or_null(t, null_it),
            content_len: t.len(),
        });
    }
    (msgs, texts)
}

fn run(r: &mut In<'_>) {
    let m = model();
    let mut sessions: Vec<*mut bague_session> = Vec::new();
    let mut steps = 0;
    while !r.done() && steps < 16 {
        steps += 1;
        let op = r.u8();
        let null_model = op & 0x80 != 0;
        let mm = if null_model { null() } else { m };
        match op % 12 {
            0 => {
                let o = session_options(r);
                let mut plan = std::mem::MaybeUninit::uninit();
                let use_opts = r.bool();
                // SAFETY: model NULL or live, options valid or NULL, out writable.
                let st = unsafe {
                    bague_model_plan_memory(
                        mm,
                        if use_opts { &o } else { null() },
                        plan.as_mut_ptr(),
                    )
                };
                ok_or_clear(st);
                if st == BAGUE_OK {
                    // SAFETY: written on OK.
                    let plan = unsafe { plan.assume_init() };
                    assert_eq!(
                        plan.heap_bytes,
                        plan.kv_bytes + plan.scratch_bytes + plan.state_bytes
                    );
                }
            }
            1 => {
                let o = session_options(r);
                let mut s = null_mut();
                if sessions.len() >= 2 {
                    continue;
                }
                // SAFETY: model NULL or live, valid options, writable out.
                let st = unsafe { bague_session_new(mm, &o, &mut s) };
                ok_or_clear(st);
                if st == BAGUE_OK {
                    assert!(!s.is_null());
                    sessions.push(s);
                } else {
                    assert!(s.is_null(), "out written on failure");
                }
            }
            2 | 3 => {
                let s = sessions
                    .get(usize::from(r.u8()) % (sessions.len() + 1))
                    .copied()
                    .unwrap_or(null_mut());
                let mut p = generate_params(r);
                let stop_texts: Vec<&[u8]> = (0..r.u8() % 3).map(|_| r.blob()).collect();
                let stops: Vec<bague_str> = stop_texts
                    .iter()
                    .map(|t| bague_str {
                        ptr: t.as_ptr().cast(),
                        len: t.len(),
                    })
                    .collect();
                p.stop = if stops.is_empty() {
                    null()
                } else {
                    stops.as_ptr()
                };
                p.n_stop = stops.len();
                if r.u8() == 0xFF {
                    // A count with no array.
                    p.stop = null();
                    p.n_stop = 1;
                }
                let mut seen = Seen {
                    stop_at: usize::from(r.u8() % 4),
                    ..Seen::default()
                };
                let with_params = r.u8() != 0xFF;
                let pp = if with_params { &p as *const _ } else { null() };
                let mut res = std::mem::MaybeUninit::uninit();
                let st = if op % 12 == 2 {
                    let null_it = r.u8() == 0xFF;
                    let prompt = r.blob();
                    // SAFETY: session NULL or live and not in use; the prompt readable
                    // for its length (or NULL); params valid; callback safe with `seen`.
                    unsafe {
                        bague_generate(
                            s,
                            ptr_or_null(prompt, null_it),
                            prompt.len(),
                            pp,
                            Some(on_piece),
                            (&mut seen as *mut Seen).cast(),
                            res.as_mut_ptr(),
                        )
                    }
                } else {
                    let (msgs, _texts) = messages(r);
                    let null_msgs = msgs.is_empty() && r.bool();
                    // SAFETY: as above; messages valid for their lengths (or NULL).
                    unsafe {
                        bague_generate_chat(
                            s,
                            if null_msgs { null() } else { msgs.as_ptr() },
                            msgs.len(),
                            pp,
                            Some(on_piece),
                            (&mut seen as *mut Seen).cast(),
                            res.as_mut_ptr(),
                        )
                    }
                };
                ok_or_clear(st);
            }
            4 => {
                let null_it = r.u8() == 0xFF;
                let text = r.blob();
                let (add, parse) = (r.bool(), r.bool());
                let cap = usize::from(r.u8());
                let mut ids = vec![0xAAAA_AAAAu32; cap];
                let mut n = usize::MAX;
                let null_out = r.u8() == 0xFF;
                // SAFETY: text readable (or NULL), `cap` writable ids, `n` writable.
                let st = unsafe {
                    bague_tokenize(
                        mm,
                        ptr_or_null(text, null_it),
                        text.len(),
                        add,
                        parse,
                        if cap == 0 {
                            null_mut()
                        } else {
                            ids.as_mut_ptr()
                        },
                        cap,
                        if null_out { null_mut() } else { &mut n },
                    )
                };
                ok_or_clear(st);
                match st {
                    BAGUE_OK => assert!(n <= cap),
                    BAGUE_ERR_BUFFER_TOO_SMALL => {
                        assert!(n > cap);
                        assert!(ids.iter().all(|&i| i == 0xAAAA_AAAA), "nothing written");
                    }
                    _ => {}
                }
            }
            5 => {
                let n_ids = usize::from(r.u8() % 32);
                let ids: Vec<u32> = (0..n_ids)
                    .map(|_| match r.u8() {
                        x if x & 0x80 != 0 => r.u32(),
                        x => u32::from(x) * 3,
                    })
                    .collect();
                let render = r.bool();
                let cap = usize::from(r.u8());
                let mut buf = vec![0xAAu8; cap];
                let mut n = usize::MAX;
                // SAFETY: ids readable, `cap` writable bytes, `n` writable.
                let st = unsafe {
                    bague_detokenize(
                        mm,
                        if n_ids == 0 && r.bool() {
                            null()
                        } else {
                            ids.as_ptr()
                        },
                        n_ids,
                        render,
                        if cap == 0 {
                            null_mut()
                        } else {
                            buf.as_mut_ptr().cast()
                        },
                        cap,
                        &mut n,
                    )
                };
                ok_or_clear(st);
                check_text(st, &buf, cap, n);
            }
            6 => {
                let (msgs, _texts) = messages(r);
                let agp = r.bool();
                let cap = usize::from(r.u8()) * 4;
                let mut buf = vec![0xAAu8; cap];
                let mut n = usize::MAX;
                // SAFETY: messages valid, `cap` writable bytes, `n` writable.
                let st = unsafe {
                    bague_chat_prompt(
                        mm,
                        msgs.as_ptr(),
                        msgs.len(),
                        agp,
                        if cap == 0 {
                            null_mut()
                        } else {
                            buf.as_mut_ptr().cast()
                        },
                        cap,
                        &mut n,
                    )
                };
                ok_or_clear(st);
                check_text(st, &buf, cap, n);
            }
            7 => {
                let s = sessions
                    .get(usize::from(r.u8()) % (sessions.len() + 1))
                    .copied()
                    .unwrap_or(null_mut());
                // SAFETY: session NULL or live, not in use.
                let st = if r.bool() {
                    unsafe { bague_cancel(s) }
                } else {
                    unsafe { bague_session_reset(s) }
                };
                ok_or_clear(st);
            }
            8 => {
                let mut info = std::mem::MaybeUninit::uninit();
                let null_out = r.bool();
                // SAFETY: model NULL or live, out writable or NULL.
                let st = unsafe {
                    bague_model_get_info(
                        mm,
                        if null_out {
                            null_mut()
                        } else {
                            info.as_mut_ptr()
                        },
                    )
                };
                ok_or_clear(st);
                // SAFETY: any int; a static string back.
                let name = unsafe { std::ffi::CStr::from_ptr(bague_status_name(r.u32() as i32)) };
                assert!(!name.to_bytes().is_empty());
            }
            9 => {
                // A model image from the input (the GGUF reader and the model checks).
                let data = r.0;
                r.0 = &[];
                let mut nm = null_mut();
                // SAFETY: `data` outlives the model, freed below.
                let st =
                    unsafe { bague_model_open_buffer(data.as_ptr(), data.len(), null(), &mut nm) };
                ok_or_clear(st);
                if st == BAGUE_OK {
                    let mut info = std::mem::MaybeUninit::uninit();
                    // SAFETY: live model, writable out.
                    ok_or_clear(unsafe { bague_model_get_info(nm, info.as_mut_ptr()) });
                    // SAFETY: opened above, freed once.
                    unsafe { bague_model_free(nm) };
                }
            }
            10 => {
                if !sessions.is_empty() {
                    let s = sessions.swap_remove(usize::from(r.u8()) % sessions.len());
                    // SAFETY: created above, not in use, freed once.
                    unsafe { bague_session_free(s) };
                }
            }
            _ => {
                let mut o = std::mem::MaybeUninit::uninit();
                // SAFETY: writable out (or NULL).
                let st = unsafe {
                    if r.bool() {
                        bague_session_options_default(null_mut())
                    } else {
                        bague_session_options_default(o.as_mut_ptr())
                    }
                };
                ok_or_clear(st);
                // SAFETY: NULL out must be refused.
                let st = unsafe { bague_generate_params_default(mm, null_mut()) };
                assert_eq!(st, BAGUE_ERR_INVALID_ARGUMENT);
            }
        }
    }
    for s in sessions {
        // SAFETY: created above, not in use, freed once.
        unsafe { bague_session_free(s) };
    }
}

fuzz_target!(|data: &[u8]| {
    run(&mut In(data));
});

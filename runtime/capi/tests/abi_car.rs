//! The car board through the C ABI (feature `car`): `bague_car_command` writes one complete
//! intent JSON or returns an error status and writes nothing — deadline, token cap,
//! watchdog, short buffer —, checks its arguments, and leaves the session usable for plain
//! generation (the intent schema's constraint is lifted again).

mod common;
use bague_capi::bague_car_outcome::*;
use bague_capi::*;
use common::*;
use std::ffi::{c_int, c_void};
use std::ptr;

const SCHEMA: &str = r#"{"type":"object","properties":{"intent":{"enum":["climate.set","nav.go"]},"value":{"type":"integer","minimum":0,"maximum":40}},"required":["intent","value"],"additionalProperties":false}"#;
const SYSTEM: &str = "Answer with the car intent as JSON.";

fn s(text: &str) -> bague_str {
    bague_str {
        ptr: text.as_ptr().cast(),
        len: text.len(),
    }
}

fn options() -> bague_car_options {
    let mut o = std::mem::MaybeUninit::uninit();
    // SAFETY: writable out.
    let st = unsafe { bague_car_options_default(o.as_mut_ptr()) };
    assert_eq!(st, BAGUE_OK);
    // SAFETY: written on BAGUE_OK.
    let o = unsafe { o.assume_init() };
    bague_car_options {
        intent_schema: s(SCHEMA),
        system: s(SYSTEM),
        max_tokens: 200,
        deadline_ms: 600_000,
        ..o
    }
}

/// Runs one command with a 256-byte buffer prefilled with 0xAA; returns the status, the
/// result, the JSON text written (if any) and whether the buffer is untouched.
fn command(
    sess: &Session,
    transcript: &str,
    o: &bague_car_options,
) -> (bague_status, bague_car_result, Option<String>, bool) {
    let mut buf = [0xAAu8; 256];
    let mut len = usize::MAX;
    let mut res = std::mem::MaybeUninit::<bague_car_result>::uninit();
    // SAFETY: live session, valid text, options and buffers.
    let st = unsafe {
        bague_car_command(
            sess.0,
            transcript.as_ptr().cast(),
            transcript.len(),
            o,
            buf.as_mut_ptr().cast(),
            buf.len(),
            &mut len,
            res.as_mut_ptr(),
        )
    };
    // SAFETY: written on every return but INTERNAL.
    let res = unsafe { res.assume_init() };
    let untouched = buf.iter().all(|&b| b == 0xAA);
    let text = (st == BAGUE_OK).then(|| {
        assert_eq!(buf[len], 0, "NUL-terminated");
        String::from_utf8(buf[..len].to_vec()).unwrap()
    });
    (st, res, text, untouched)
}

#[test]
fn defaults() {
    let mut o = std::mem::MaybeUninit::uninit();
    // SAFETY: writable out.
    let st = unsafe { bague_car_options_default(o.as_mut_ptr()) };
    assert_eq!(st, BAGUE_OK);
    // SAFETY: written on BAGUE_OK.
    let o = unsafe { o.assume_init() };
    assert_eq!((o.max_tokens, o.deadline_ms), (64, 1000));
    assert!(o.intent_schema.ptr.is_null() && o.watchdog.is_none());
    // SAFETY: NULL out is refused.
    let st = unsafe { bague_car_options_default(ptr::null_mut()) };
    expect_err(st, BAGUE_ERR_INVALID_ARGUMENT, "out");
}

#[test]
fn a_command_gives_one_complete_intent() {
    for id in [SMOL, R1] {
        let m = Model::open(id);
        let sess = m.session(1024, 1);
        let (st, res, text, _) = command(&sess, "Set it to 21 degrees", &options());
        assert_eq!(st, BAGUE_OK, "{id}: {}", last_error());
        assert_eq!(res.outcome, BAGUE_CAR_INTENT);
        let text = text.unwrap();
        let v: serde_json::Value =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text:?}"));
        assert!(["climate.set", "nav.go"].contains(&v["intent"].as_str().unwrap()));
        assert!((0..=40).contains(&v["value"].as_i64().unwrap()));
        assert!(res.n_tokens >= 2 && res.n_tokens <= 200);
        assert!(res.n_prefilled_tokens <= res.n_prompt_tokens);
        // Greedy: the same again, with the system message from the KV cache.
        let (st, res2, text2, _) = command(&sess, "Set it to 21 degrees", &options());
        assert_eq!(st, BAGUE_OK, "{}", last_error());
        assert_eq!(text2.unwrap(), text);
        assert!(
            res2.n_prefilled_tokens < res.n_prompt_tokens / 2,
            "{res2:?}"
        );
        // The session generates freely again afterwards.
        let mut c = Collector::default();
        let (st, r) = run(&sess, b"Hello", greedy(4), &mut c);
        assert_eq!(st, BAGUE_OK, "{}", last_error());
        assert_eq!(
            r.n_generated_tokens, 4,
            "unconstrained: no early end-of-generation"
        );
    }
}

#[test]
fn limits_are_errors_and_write_nothing() {
    let m = Model::open(SMOL);
    let sess = m.session(1024, 1);
    // Token cap.
    let o = bague_car_options {
        max_tokens: 2,
        ..options()
    };
    let (st, res, _, untouched) = command(&sess, "Take me home", &o);
    expect_err(st, BAGUE_ERR_INCOMPLETE, "token cap");
    assert_eq!(res.outcome, BAGUE_CAR_TOKEN_CAP);
    assert!(untouched);

    // The watchdog aborts at the third token.
    unsafe extern "C" fn stop_at_3(ud: *mut c_void, n: u32, _tok: u32, _us: u64) -> c_int {
        // SAFETY: `ud` is the test's Vec<u32>.
        unsafe { &mut *ud.cast::<Vec<u32>>() }.push(n);
        c_int::from(n == 3)
    }
    let mut seen: Vec<u32> = Vec::new();
    let o = bague_car_options {
        watchdog: Some(stop_at_3),
        user_data: (&mut seen as *mut Vec<u32>).cast(),
        ..options()
    };
    let (st, res, _, untouched) = command(&sess, "Take me home", &o);
    expect_err(st, BAGUE_ERR_INCOMPLETE, "aborted");
    assert_eq!((res.outcome, res.n_tokens), (BAGUE_CAR_ABORTED, 3));
    assert_eq!(seen, [1, 2, 3]);
    assert!(untouched);

    // The deadline passes while the watchdog holds the first token.
    unsafe extern "C" fn slow(_: *mut c_void, _n: u32, _tok: u32, _us: u64) -> c_int {
        std::thread::sleep(std::time::Duration::from_millis(30));
        0
    }
    let o = bague_car_options {
        watchdog: Some(slow),
        deadline_ms: 20,
        ..options()
    };
    let (st, res, _, untouched) = command(&sess, "Take me home", &o);
    expect_err(st, BAGUE_ERR_DEADLINE, "deadline of 20 ms");
    assert_eq!(res.outcome, BAGUE_CAR_DEADLINE);
    assert!(res.latency_us >= 20_000, "{res:?}");
    assert!(untouched);

    // And the session still answers.
    let (st, res, text, _) = command(&sess, "Take me home", &options());
    assert_eq!(st, BAGUE_OK, "{}", last_error());
    assert_eq!(res.outcome, BAGUE_CAR_INTENT);
    assert!(text.unwrap().starts_with('{'));
}

#[test]
fn bad_arguments() {
    let m = Model::open(SMOL);
    let sess = m.session(1024, 1);
    let t = "Take me home";
    let mut len = 0usize;
    let mut buf = [0u8; 8];
    let call = |o: *const bague_car_options, buf: &mut [u8], len: &mut usize| {
        // SAFETY: valid pointers or NULL where tested.
        unsafe {
            bague_car_command(
                sess.0,
                t.as_ptr().cast(),
                t.len(),
                o,
                buf.as_mut_ptr().cast(),
                buf.len(),
                len,
                ptr::null_mut(),
            )
        }
    };
    expect_err(
        call(ptr::null(), &mut buf, &mut len),
        BAGUE_ERR_INVALID_ARGUMENT,
        "options is NULL",
    );
    let o = bague_car_options {
        intent_schema: s(""),
        ..options()
    };
    expect_err(
        call(&o, &mut buf, &mut len),
        BAGUE_ERR_INVALID_ARGUMENT,
        "intent_schema is empty",
    );
    let o = bague_car_options {
        intent_schema: s("{\"type\": \"object\",\n \"properties\": ["),
        ..options()
    };
    expect_err(
        call(&o, &mut buf, &mut len),
        BAGUE_ERR_INVALID_ARGUMENT,
        "line 2",
    );
    let o = bague_car_options {
        deadline_ms: 0,
        ..options()
    };
    expect_err(
        call(&o, &mut buf, &mut len),
        BAGUE_ERR_INVALID_ARGUMENT,
        "deadline_ms",
    );
    // A buffer too short for the intent: its length is written, nothing else.
    let st = call(&options(), &mut buf, &mut len);
    expect_err(st, BAGUE_ERR_BUFFER_TOO_SMALL, "json");
    assert!(len >= buf.len(), "{len}");
    assert_eq!(buf, [0u8; 8]);
    // Empty transcript.
    let mut l = 0usize;
    // SAFETY: valid pointers.
    let st = unsafe {
        bague_car_command(
            sess.0,
            " ".as_ptr().cast(),
            1,
            &options(),
            buf.as_mut_ptr().cast(),
            buf.len(),
            &mut l,
            ptr::null_mut(),
        )
    };
    expect_err(st, BAGUE_ERR_INVALID_ARGUMENT, "transcript is empty");
    // SAFETY: status names are static strings.
    let name = unsafe { std::ffi::CStr::from_ptr(bague_status_name(BAGUE_ERR_DEADLINE as c_int)) };
    assert_eq!(name.to_str().unwrap(), "BAGUE_ERR_DEADLINE");
}

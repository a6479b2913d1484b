//! Argument checking at the boundary: NULL pointers, short buffers, invalid UTF-8, bad
//! options, free(NULL), and the strings every build exposes.

mod common;
use bague_capi::*;
use common::*;
use std::ffi::CStr;
use std::ptr::{null, null_mut};

#[test]
fn null_handles_and_out_pointers_are_invalid_arguments() {
    let m = Model::open(R1);
    let s = m.session(64, 1);
    let mut out_m = null_mut();
    let mut n = 0usize;
    // SAFETY: (whole test) every non-NULL pointer passed is valid; NULLs are the subject.
    unsafe {
        expect_err(
            bague_model_open_path(null(), null(), &mut out_m),
            BAGUE_ERR_INVALID_ARGUMENT,
            "path",
        );
        expect_err(
            bague_model_open_path(c"x".as_ptr(), null(), null_mut()),
            BAGUE_ERR_INVALID_ARGUMENT,
            "out",
        );
        expect_err(
            bague_model_open_buffer(null(), 10, null(), &mut out_m),
            BAGUE_ERR_INVALID_ARGUMENT,
            "data",
        );
        expect_err(
            bague_model_open_buffer(b"x".as_ptr(), 0, null(), &mut out_m),
            BAGUE_ERR_INVALID_ARGUMENT,
            "len",
        );
        expect_err(
            bague_model_open_fd(-1, 0, 0, null(), &mut out_m),
            BAGUE_ERR_INVALID_ARGUMENT,
            "fd",
        );
        assert!(out_m.is_null(), "out untouched on failure");
        expect_err(
            bague_model_get_info(null(), &mut m.info()),
            BAGUE_ERR_INVALID_ARGUMENT,
            "model",
        );
        expect_err(
            bague_model_get_info(m.0, null_mut()),
            BAGUE_ERR_INVALID_ARGUMENT,
            "info",
        );
        expect_err(
            bague_model_plan_memory(null(), null(), null_mut()),
            BAGUE_ERR_INVALID_ARGUMENT,
            "model",
        );
        expect_err(
            bague_model_plan_memory(m.0, null(), null_mut()),
            BAGUE_ERR_INVALID_ARGUMENT,
            "plan",
        );
        expect_err(
            bague_session_new(null(), null(), null_mut()),
            BAGUE_ERR_INVALID_ARGUMENT,
            "model",
        );
        expect_err(
            bague_session_new(m.0, null(), null_mut()),
            BAGUE_ERR_INVALID_ARGUMENT,
            "out",
        );
        expect_err(
            bague_session_reset(null_mut()),
            BAGUE_ERR_INVALID_ARGUMENT,
            "session",
        );
        expect_err(bague_cancel(null()), BAGUE_ERR_INVALID_ARGUMENT, "session");
        expect_err(
            bague_tokenize(null(), c"a".as_ptr(), 1, true, true, null_mut(), 0, &mut n),
            BAGUE_ERR_INVALID_ARGUMENT,
            "model",
        );
        expect_err(
            bague_tokenize(m.0, null(), 3, true, true, null_mut(), 0, &mut n),
            BAGUE_ERR_INVALID_ARGUMENT,
            "text",
        );
        expect_err(
            bague_tokenize(m.0, c"a".as_ptr(), 1, true, true, null_mut(), 0, null_mut()),
            BAGUE_ERR_INVALID_ARGUMENT,
            "n_ids",
        );
        expect_err(
            bague_detokenize(m.0, null(), 2, true, null_mut(), 0, &mut n),
            BAGUE_ERR_INVALID_ARGUMENT,
            "ids",
        );
        expect_err(
            bague_chat_prompt(m.0, null(), 1, true, null_mut(), 0, &mut n),
            BAGUE_ERR_INVALID_ARGUMENT,
            "messages",
        );
        expect_err(
            bague_generate(
                null_mut(),
                c"a".as_ptr(),
                1,
                null(),
                None,
                null_mut(),
                null_mut(),
            ),
            BAGUE_ERR_INVALID_ARGUMENT,
            "session",
        );
        expect_err(
            bague_generate(s.0, null(), 1, null(), None, null_mut(), null_mut()),
            BAGUE_ERR_INVALID_ARGUMENT,
            "prompt",
        );
        expect_err(
            bague_generate_params_default(null(), null_mut()),
            BAGUE_ERR_INVALID_ARGUMENT,
            "out",
        );
        expect_err(
            bague_session_options_default(null_mut()),
            BAGUE_ERR_INVALID_ARGUMENT,
            "out",
        );
        expect_err(
            bague_model_options_default(null_mut()),
            BAGUE_ERR_INVALID_ARGUMENT,
            "out",
        );
    }
}

#[test]
fn free_null_is_a_no_op() {
    // SAFETY: NULL is documented as a no-op.
    unsafe {
        bague_model_free(null_mut());
        bague_session_free(null_mut());
    }
}

#[test]
fn zero_length_text_may_be_null() {
    let m = Model::open(SMOL);
    let mut n = 99usize;
    // SAFETY: NULL with length 0 is allowed; `n` writable.
    let st = unsafe { bague_tokenize(m.0, null(), 0, false, false, null_mut(), 0, &mut n) };
    assert_eq!((st, n), (BAGUE_OK, 0));
}

#[test]
fn short_buffers_report_the_needed_length_and_write_nothing() {
    let m = Model::open(R1);
    let text = "The capital of France is";
    let want = m.tokenize(text, true, true);
    assert!(want.len() > 2);
    let mut buf = vec![7u32; want.len() - 1];
    let mut n = 0usize;
    // SAFETY: buffer of buf.len() ids.
    let st = unsafe {
        bague_tokenize(
            m.0,
            text.as_ptr().cast(),
            text.len(),
            true,
            true,
            buf.as_mut_ptr(),
            buf.len(),
            &mut n,
        )
    };
    expect_err(st, BAGUE_ERR_BUFFER_TOO_SMALL, "needed");
    assert_eq!(n, want.len());
    assert!(buf.iter().all(|&x| x == 7), "nothing written");

    // Text out: the NUL needs one more byte.
    let bytes = m.detokenize(&want);
    let mut buf = vec![b'#'; bytes.len()];
    // SAFETY: buffer of buf.len() bytes.
    let st = unsafe {
        bague_detokenize(
            m.0,
            want.as_ptr(),
            want.len(),
            true,
            buf.as_mut_ptr().cast(),
            buf.len(),
            &mut n,
        )
    };
    expect_err(st, BAGUE_ERR_BUFFER_TOO_SMALL, "NUL");
    assert_eq!(n, bytes.len());
    assert!(buf.iter().all(|&b| b == b'#'));
    assert_eq!(
        String::from_utf8(bytes).unwrap(),
        format!("<｜begin▁of▁sentence｜>{text}")
    );
}

#[test]
fn invalid_utf8_is_refused_everywhere() {
    let m = Model::open(R1);
    let s = m.session(64, 1);
    let bad = b"caf\xe9 au lait";
    let mut n = 0usize;
    // SAFETY: valid pointers and lengths; the bytes are the subject.
    unsafe {
        let st = bague_tokenize(
            m.0,
            bad.as_ptr().cast(),
            bad.len(),
            true,
            true,
            null_mut(),
            0,
            &mut n,
        );
        expect_err(st, BAGUE_ERR_INVALID_UTF8, "offset 3");
        let msg = bague_message {
            role: 1,
            content: bad.as_ptr().cast(),
            content_len: bad.len(),
        };
        let st = bague_chat_prompt(m.0, &msg, 1, true, null_mut(), 0, &mut n);
        expect_err(st, BAGUE_ERR_INVALID_UTF8, "messages[0].content");
    }
    let mut c = Collector::default();
    let (st, res) = run(&s, bad, greedy(4), &mut c);
    expect_err(st, BAGUE_ERR_INVALID_UTF8, "prompt");
    assert_eq!(res.stop_reason, BAGUE_STOP_ERROR);
    assert!(c.pieces.is_empty() && c.ids.is_empty());

    let stop = bague_str {
        ptr: bad.as_ptr().cast(),
        len: bad.len(),
    };
    let p = bague_generate_params {
        stop: &stop,
        n_stop: 1,
        ..greedy(4)
    };
    let (st, _) = run(&s, b"hello", p, &mut c);
    expect_err(st, BAGUE_ERR_INVALID_UTF8, "params->stop[0]");
}

#[test]
fn bad_options_and_parameters() {
    let m = Model::open(R1);
    let mut s = null_mut();
    let o = bague_session_options {
        kv_type: 1,
        ..session_defaults()
    };
    // SAFETY: (whole block) valid pointers.
    unsafe {
        // BAGUE_KV_Q8_0 needs a head size that is a multiple of 32; the tiny models' is 16
        expect_err(
            bague_session_new(m.0, &o, &mut s),
            BAGUE_ERR_INVALID_ARGUMENT,
            "kv_type",
        );
        let o = bague_session_options {
            kv_type: 9,
            ..session_defaults()
        };
        expect_err(
            bague_session_new(m.0, &o, &mut s),
            BAGUE_ERR_INVALID_ARGUMENT,
            "kv_type 9",
        );
        let o = bague_session_options {
            n_ctx: 16,
            n_batch: 32,
            ..session_defaults()
        };
        expect_err(
            bague_session_new(m.0, &o, &mut s),
            BAGUE_ERR_INVALID_ARGUMENT,
            "n_batch",
        );
        let mut plan = bague_memory_plan::default();
        expect_err(
            bague_model_plan_memory(m.0, &o, &mut plan),
            BAGUE_ERR_INVALID_ARGUMENT,
            "n_batch",
        );
        // More than 4 threads per CPU is a typo (the fuzzer asked for 762 on 2 CPUs and
        // got 762 threads), as the CLI's --threads says.
        let limit = bague::session::host_thread_limit() as u32;
        for n in [limit + 1, 1_000_000, u32::MAX] {
            let o = bague_session_options {
                n_threads: n,
                ..session_defaults()
            };
            expect_err(
                bague_session_new(m.0, &o, &mut s),
                BAGUE_ERR_INVALID_ARGUMENT,
                "n_threads",
            );
        }
        let o = bague_session_options {
            n_threads: limit,
            ..session_defaults()
        };
        assert_eq!(bague_session_new(m.0, &o, &mut s), BAGUE_OK);
        bague_session_free(s);
        s = null_mut();
    }
    assert!(s.is_null());
    let sess = m.session(64, 1);
    let mut c = Collector::default();
    let p = bague_generate_params {
        top_p: f32::NAN,
        ..greedy(4)
    };
    let (st, _) = run(&sess, b"hi", p, &mut c);
    expect_err(st, BAGUE_ERR_INVALID_ARGUMENT, "top_p");
    let p = bague_generate_params {
        stop: null(),
        n_stop: 2,
        ..greedy(4)
    };
    let (st, _) = run(&sess, b"hi", p, &mut c);
    expect_err(st, BAGUE_ERR_INVALID_ARGUMENT, "params->stop");
    let msg = bague_message {
        role: 7,
        content: null(),
        content_len: 0,
    };
    let mut n = 0;
    // SAFETY: valid pointers.
    let st = unsafe { bague_chat_prompt(m.0, &msg, 1, true, null_mut(), 0, &mut n) };
    expect_err(st, BAGUE_ERR_INVALID_ARGUMENT, "role 7");
    let bad_id = [u32::MAX];
    // SAFETY: valid pointers.
    let st = unsafe { bague_detokenize(m.0, bad_id.as_ptr(), 1, true, null_mut(), 0, &mut n) };
    expect_err(st, BAGUE_ERR_INVALID_ARGUMENT, "out of range");
}

#[test]
fn defaults_and_names() {
    let o = session_defaults();
    assert_eq!(
        (o.n_ctx, o.n_batch, o.n_threads, o.kv_type, o.seed),
        (0, 0, 0, 0, 0)
    );
    let p = params(null());
    assert_eq!(
        (p.temperature, p.top_k, p.max_tokens, p.n_stop),
        (0.8, 40, 0, 0)
    );
    assert!(p.add_special && p.parse_special && p.on_token.is_none());
    // The R1 template marks an R1 distill: DeepSeek's temperature 0.6.
    let m = Model::open(R1);
    assert_eq!(params(m.0).temperature, 0.6);
    // SAFETY: static NUL-terminated strings.
    unsafe {
        assert_eq!(
            CStr::from_ptr(bague_version()).to_str().unwrap(),
            env!("CARGO_PKG_VERSION")
        );
        assert_eq!(
            CStr::from_ptr(bague_status_name(3)),
            c"BAGUE_ERR_BUFFER_TOO_SMALL"
        );
        assert_eq!(
            CStr::from_ptr(bague_status_name(1000)),
            c"BAGUE_UNKNOWN_STATUS"
        );
    }
}

//! A chat template is untrusted input (it comes from the model file): a hostile one ends in
//! a clear error, quickly, instead of hanging or growing without bound.

use bague::chat::{ChatError, ChatTemplate, Message, SpecialTokens};
use std::time::{Duration, Instant};

fn render(src: &str) -> Result<String, ChatError> {
    let t = ChatTemplate::new(src, SpecialTokens::default())?;
    t.apply(&[Message::user("hi")], true)
}

/// Renders `src`, which must fail with a message containing `needle`, within a second.
fn refused(src: &str, needle: &str) {
    let t0 = Instant::now();
    let e = render(src).expect_err("a hostile template must be refused");
    let msg = e.to_string();
    assert!(msg.contains(needle), "{msg:?} should mention {needle:?}");
    assert!(
        t0.elapsed() < Duration::from_secs(5),
        "refused only after {:?}",
        t0.elapsed()
    );
}

#[test]
fn nested_loops_run_out_of_fuel() {
    refused(
        "{% for a in range(100000) %}{% for b in range(100000) %}{% for c in range(100000) %}x{% endfor %}{% endfor %}{% endfor %}",
        "fuel",
    );
}

#[test]
fn output_past_the_cap_is_refused() {
    // 100,000 × 1,000 bytes = 100 MB of output from few instructions.
    refused(
        "{% set s = 'x' * 1000 %}{% for i in range(100000) %}{{ s }}{% endfor %}",
        "exceed",
    );
}

#[test]
fn deep_recursion_is_refused() {
    refused(
        "{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}",
        "recursion",
    );
    refused(
        "{% for m in [[[]]] recursive %}{{ loop([m]) }}{% endfor %}",
        "recursion",
    );
}

#[test]
fn huge_source_is_refused() {
    let src = "x".repeat(2 << 20);
    match ChatTemplate::new(&src, SpecialTokens::default()) {
        Err(ChatError::TemplateSyntax(m)) => assert!(m.contains("limit"), "{m}"),
        other => panic!("expected a syntax error, got {other:?}"),
    }
}

#[test]
fn real_sized_output_is_fine() {
    let long = "y".repeat(1 << 20);
    let t = ChatTemplate::new(
        "{% for m in messages %}<{{ m.role }}>{{ m.content }}{% endfor %}",
        SpecialTokens::default(),
    )
    .unwrap();
    let out = t.apply(&[Message::user(long.clone())], false).unwrap();
    assert_eq!(out.len(), long.len() + "<user>".len());
}

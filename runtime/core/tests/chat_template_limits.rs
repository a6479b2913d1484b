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

/// Filters and format strings that size a string by a number are checked before they
/// allocate (unchecked, each of these asks for about a terabyte and aborts the process).
#[test]
fn widths_that_would_allocate_without_bound_are_refused() {
    refused("{{ 'x'|indent(1000000000000) }}", "indent width");
    refused("{{ 'x'|indent(width=1000000000000) }}", "indent width");
    refused(
        "{{ 'a\nb'|indent(4000) * 1 }}{{ ('a\n' * 10000)|indent(4000) }}",
        "exceed",
    );
    refused(
        "{{ messages|tojson(indent=1000000000000) }}",
        "tojson indent",
    );
    refused("{{ messages|tojson(1000000000000) }}", "tojson indent");
    refused("{{ '%1000000000000d'|format(1) }}", "format width");
    refused("{{ '%.1000000000000f'|format(1.5) }}", "format width");
    refused("{{ '%*d'|format(1000000000000, 1) }}", "format width");
    refused("{{ '{:>1000000000000}'.format('x') }}", "format width");
    refused("{{ '{0:{1}}'.format('x', 1000000000000) }}", "format width");
    // The sane uses still work, through the builtins.
    let ok = render(
        "{{ 'a\nb'|indent(2, first=true) }}|{{ {'k': 1}|tojson(indent=2) }}|{{ {'k': 1}|tojson }}|{{ '%5.1f'|format(2.25) }}|{{ '{:>4}'.format('x') }}",
    )
    .unwrap();
    assert_eq!(ok, "  a\n  b|{\n  \"k\": 1\n}|{\"k\":1}|  2.2|   x");
}

/// The residual the module docs describe: string concatenation has no size limit that
/// minijinja lets us set, and the fuel does not see sizes. This measures how far a few
/// instructions go (24 doublings: 16 MiB, the output cap; one more, and printing it is
/// refused) and checks that the fuel is nowhere near spent — so that if a future minijinja
/// counts sizes, this test fails and the docs can be updated.
#[test]
fn doubling_growth_is_not_bounded_by_fuel() {
    let src = "{% set ns = namespace(s='x') %}{% for i in range(24) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s|length }}";
    let t0 = Instant::now();
    let out = render(src).unwrap();
    eprintln!(
        "24 doublings: a {out}-byte string in {:?} (fuel {})",
        t0.elapsed(),
        bague::chat::FUEL
    );
    assert_eq!(out, (1u64 << 24).to_string());
    // Printing 32 MiB is refused by the output cap.
    refused(
        "{% set ns = namespace(s='x') %}{% for i in range(25) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s }}",
        "exceed",
    );
}

/// A namespace stored inside itself is a reference cycle minijinja cannot free: the render
/// is an error and the template is refused from then on (so it leaks once per load, not
/// once per render); namespaces used as real templates use them are fine.
#[test]
fn a_namespace_stored_in_itself_is_refused_and_stays_refused() {
    for src in [
        "{% set ns = namespace(x=1) %}{% set ns.me = ns %}{{ ns.x }}",
        "{% set ns = namespace(s='a') %}{% for m in messages %}{% set ns.s = [ns, m.content] %}{% endfor %}x",
        "{% set a = namespace() %}{% set b = namespace(a=a) %}{% set a.b = b %}x",
    ] {
        let t = ChatTemplate::new(src, SpecialTokens::default()).unwrap();
        for _ in 0..2 {
            let e = t
                .apply(&[Message::user("hi")], true)
                .expect_err("a cyclic namespace must be refused");
            assert!(
                e.to_string().contains("namespace inside itself"),
                "{src}: {e}"
            );
        }
    }
    // Deep but acyclic, and the usual flag-carrying namespace: rendered.
    let ok = "{% set ns = namespace(first=true, l=[[[1]]]) %}{% for m in messages %}\
              {% if ns.first %}{% set ns.first = false %}{% endif %}{{ m.content }}\
              {% endfor %}{% set inner = namespace(v=1) %}{% set ns.inner = inner %}{{ ns.inner.v }}";
    assert_eq!(render(ok).unwrap(), "hi1");
}

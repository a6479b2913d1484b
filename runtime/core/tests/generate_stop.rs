//! Stop conditions: stop strings matched across token boundaries at every split, the text
//! before a stop string emitted exactly once, nothing after it; EOG ids; token limit.

use bague::generate::stop::{StopDetector, StopReason};

/// Feeds `pieces` (ids 100, 101, …; none is EOG) and returns (emitted text, reason, the
/// index of the piece that stopped).
fn run(
    pieces: &[&str],
    stops: &[&str],
    max: Option<u32>,
) -> (String, Option<StopReason>, Option<usize>) {
    let mut d = StopDetector::new(&[0, 2], max, stops);
    let mut out = String::new();
    for (i, p) in pieces.iter().enumerate() {
        let s = d.on_token(100 + i as u32, p);
        out.push_str(s.text);
        if let Some(r) = s.stop {
            return (out, Some(r), Some(i));
        }
    }
    out.push_str(d.finish(StopReason::Eog));
    (out, None, None)
}

fn bounds(s: &str) -> Vec<usize> {
    (0..=s.len()).filter(|&i| s.is_char_boundary(i)).collect()
}

/// (text, stop strings, expected emitted text, whether a stop string matches)
const CASES: [(&str, &[&str], &str, bool); 9] = [
    ("Hello world\nUser: next", &["\nUser:"], "Hello world", true),
    ("a\nUs b", &["\nUser:"], "a\nUs b", false),
    ("xx END yy STOP", &["STOP", "END"], "xx ", true),
    ("aaab tail", &["aab"], "a", true),
    ("no stop at all", &["zz"], "no stop at all", false),
    ("prix: 5 € → fin", &["→"], "prix: 5 € ", true),
    (
        "ends with a partial ST",
        &["STOP"],
        "ends with a partial ST",
        false,
    ),
    ("STOP first", &["STOP"], "", true),
    ("x</s>y", &["</s>", "s>y"], "x", true),
];

#[test]
fn stop_strings_across_every_two_and_three_piece_split() {
    let mut runs = 0;
    for (text, stops, want, matches) in CASES {
        let b = bounds(text);
        for (ii, &i) in b.iter().enumerate() {
            for &j in &b[ii..] {
                let pieces = [&text[..i], &text[i..j], &text[j..]];
                let (out, reason, _) = run(&pieces, stops, None);
                assert_eq!(out, want, "{text:?} split {i},{j}");
                let want_reason = matches.then_some(StopReason::StopString);
                assert_eq!(reason, want_reason, "{text:?} split {i},{j}");
                runs += 1;
            }
        }
    }
    assert!(runs > 500, "{runs}");
}

#[test]
fn stop_reported_at_the_completing_token() {
    let (out, reason, at) = run(
        &["Hi", " \nUs", "er", ": more", "never fed"],
        &["\nUser:"],
        None,
    );
    assert_eq!(
        (out.as_str(), reason, at),
        ("Hi ", Some(StopReason::StopString), Some(3))
    );
    let mut d = StopDetector::new(&[], None, &["END", "STOP"]);
    d.on_token(1, "x ST");
    let s = d.on_token(2, "OP");
    assert_eq!(s.matched, Some("STOP"));
}

#[test]
fn safe_text_is_emitted_without_delay_when_no_prefix_matches() {
    let mut d = StopDetector::new(&[], None, &["\nUser:"]);
    assert_eq!(d.on_token(1, "abc").text, "abc");
    assert_eq!(d.on_token(2, "de\n").text, "de");
    assert_eq!(d.on_token(3, "x").text, "\nx");
}

#[test]
fn eog_and_limits() {
    // EOG: its own text is not emitted; held text is released.
    let mut d = StopDetector::new(&[0, 2], Some(10), &["STOP"]);
    assert_eq!(d.on_token(5, "a S").text, "a ");
    let s = d.on_token(2, "<|im_end|>");
    assert_eq!((s.text, s.stop), ("S", Some(StopReason::Eog)));
    assert_eq!(d.n_tokens(), 2);

    // Max tokens: the last token's text is emitted, held text released.
    let (out, reason, at) = run(&["a", "b", "cS", "d"], &["STOP"], Some(3));
    assert_eq!(
        (out.as_str(), reason, at),
        ("abcS", Some(StopReason::MaxTokens), Some(2))
    );
    // A stop string completed by the last allowed token wins over the limit.
    let (out, reason, _) = run(&["a", "ST", "OP"], &["STOP"], Some(3));
    assert_eq!((out.as_str(), reason), ("a", Some(StopReason::StopString)));

    // Outside reasons.
    for r in [
        StopReason::Cancelled,
        StopReason::ContextFull,
        StopReason::Error,
    ] {
        let mut d = StopDetector::new(&[], None, &["STOP"]);
        assert_eq!(d.on_token(1, "x STO").text, "x ");
        assert_eq!(d.finish(r), "STO");
        assert_eq!(d.stopped(), Some(r));
        let s = d.on_token(1, "more");
        assert_eq!((s.text, s.stop), ("", Some(r)));
    }
    assert_eq!(StopReason::ContextFull.to_string(), "context_full");
}

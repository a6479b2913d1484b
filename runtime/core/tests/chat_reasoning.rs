//! Reasoning splitter: every chunking of a few outputs gives the same thinking / answer
//! split as a one-shot reference; tags by id; missing `</think>`; the thinking budget;
//! history without thinking.

use bague::chat::reasoning::{Phase, drop_thinking, push_turn};
use bague::chat::{Builtin, Message, Reasoning, ReasoningConfig};

const OPEN_ID: u32 = 900;
const CLOSE_ID: u32 = 901;

fn lookup(t: &str) -> Option<u32> {
    match t {
        "<think>" => Some(OPEN_ID),
        "</think>" => Some(CLOSE_ID),
        _ => None,
    }
}

/// One-shot reference split of a whole output.
fn reference(s: &str, starts_in_thinking: bool) -> (String, String) {
    let body = if starts_in_thinking {
        s
    } else {
        let t = s.trim_start();
        match t.strip_prefix("<think>") {
            Some(rest) => rest,
            None => return (String::new(), s.to_string()),
        }
    };
    match body.find("</think>") {
        Some(k) => (
            body[..k].to_string(),
            body[k + "</think>".len()..].to_string(),
        ),
        None => (body.to_string(), String::new()),
    }
}

fn run(pieces: &[&str], starts_in_thinking: bool, by_token: bool) -> (String, String, bool) {
    let cfg = ReasoningConfig::r1().starts_in_thinking(starts_in_thinking);
    let mut r = Reasoning::new(cfg, lookup);
    let (mut th, mut an, mut ended) = (String::new(), String::new(), false);
    for p in pieces {
        let s = if by_token {
            r.on_token(7, p, false)
        } else {
            r.on_text(p)
        };
        assert!(!s.force_end_thinking);
        th.push_str(s.thinking);
        an.push_str(s.answer);
        ended |= s.ended_thinking;
    }
    let s = r.finish();
    th.push_str(s.thinking);
    an.push_str(s.answer);
    (th, an, ended)
}

/// Char boundaries of `s` (including 0 and len).
fn bounds(s: &str) -> Vec<usize> {
    (0..=s.len()).filter(|&i| s.is_char_boundary(i)).collect()
}

const OUTPUTS: [&str; 12] = [
    "<think>\nLet me think.\n</think>\n\nThe answer is 4.",
    "\n<think>a</think>b",
    "No thinking here <think>x</think>",
    "<think>never closed...",
    "<thi",
    "<think>\nhmm </thin k> still</think>done</think>",
    "<think>é😀</think>ü",
    "   ",
    "<think></think>",
    "<think>a<</think>b",
    "Thinking...\n</think>\n\nAnswer",
    "<<think>",
];

#[test]
fn every_two_and_three_piece_chunking_matches_reference() {
    let mut runs = 0;
    for s in OUTPUTS {
        for starts in [false, true] {
            let want = reference(s, starts);
            let b = bounds(s);
            for (ii, &i) in b.iter().enumerate() {
                for &j in &b[ii..] {
                    let pieces = [&s[..i], &s[i..j], &s[j..]];
                    for by_token in [false, true] {
                        let (th, an, _) = run(&pieces, starts, by_token);
                        assert_eq!(
                            (th.as_str(), an.as_str()),
                            (want.0.as_str(), want.1.as_str()),
                            "{s:?} split at {i},{j} starts_in_thinking={starts}"
                        );
                        runs += 1;
                    }
                }
            }
            // One char per piece.
            let chars: Vec<String> = s.chars().map(String::from).collect();
            let pieces: Vec<&str> = chars.iter().map(String::as_str).collect();
            let (th, an, _) = run(&pieces, starts, false);
            assert_eq!((th, an), want.clone(), "{s:?} char by char");
        }
    }
    assert!(runs > 5000, "{runs}");
}

#[test]
fn phases_and_end_event() {
    let mut r = Reasoning::new(ReasoningConfig::r1(), lookup);
    assert_eq!(r.phase(), Phase::Start);
    let s = r.on_text("  <thi");
    assert_eq!((s.thinking, s.answer), ("", ""));
    assert_eq!(r.phase(), Phase::Start);
    r.on_text("nk>x");
    assert_eq!(r.phase(), Phase::Thinking);
    let s = r.on_text("y</think>z");
    assert_eq!((s.thinking, s.answer, s.ended_thinking), ("y", "z", true));
    assert_eq!(r.phase(), Phase::Answer);
    // Later tags are answer text.
    let s = r.on_text("<think>w</think>");
    assert_eq!(s.answer, "<think>w</think>");
}

#[test]
fn missing_close_tag_is_all_thinking() {
    let (th, an, ended) = run(&["<think>", "step 1, ", "step 2"], false, true);
    assert_eq!(
        (th.as_str(), an.as_str(), ended),
        ("step 1, step 2", "", false)
    );
}

#[test]
fn tags_recognised_by_id_when_text_is_hidden() {
    let mut r = Reasoning::new(ReasoningConfig::r1(), lookup);
    assert_eq!(r.close_ids(), &[CLOSE_ID]);
    r.on_token(OPEN_ID, "", false);
    assert_eq!(r.phase(), Phase::Thinking);
    let s = r.on_token(5, "hm", false);
    assert_eq!(s.thinking, "hm");
    let s = r.on_token(CLOSE_ID, "", false);
    assert!(s.ended_thinking);
    assert_eq!(r.on_token(6, "ok", false).answer, "ok");
}

#[test]
fn budget_forces_end_after_n_thinking_tokens() {
    let cfg = ReasoningConfig::r1()
        .starts_in_thinking(true)
        .budget(Some(3));
    let mut r = Reasoning::new(cfg, lookup);
    assert!(!r.force_due());
    assert!(!r.on_token(1, "a", false).force_end_thinking);
    assert!(!r.on_token(2, "b", false).force_end_thinking);
    let s = r.on_token(3, "c</th", false);
    assert!(s.force_end_thinking && s.ended_thinking);
    assert_eq!(s.thinking, "c</th"); // held partial tag released as thinking
    assert_eq!(r.phase(), Phase::Answer);
    assert_eq!(r.thinking_tokens(), 3);
    // The caller injects close_ids; if it passes that token back, it is swallowed.
    assert_eq!(r.close_ids(), &[CLOSE_ID]);
    let s = r.on_token(CLOSE_ID, "</think>", false);
    assert_eq!((s.thinking, s.answer), ("", ""));
    assert_eq!(r.on_token(4, "\n\nDone", false).answer, "\n\nDone");

    // Injected close passed back as split text is swallowed too; other text is not.
    let cfg = ReasoningConfig::r1()
        .starts_in_thinking(true)
        .budget(Some(1));
    let mut r = Reasoning::new(cfg, lookup);
    assert!(r.on_token(1, "x", false).force_end_thinking);
    assert_eq!(r.on_text("</thi").answer, "");
    assert_eq!(r.on_text("nk>4").answer, "4");
    let cfg = ReasoningConfig::r1()
        .starts_in_thinking(true)
        .budget(Some(1));
    let mut r = Reasoning::new(cfg, lookup);
    assert!(r.on_token(1, "x", false).force_end_thinking);
    assert_eq!(r.on_token(2, "4", false).answer, "4");
}

#[test]
fn budget_waits_for_utf8_and_counts_only_thinking_tokens() {
    let cfg = ReasoningConfig::r1().budget(Some(2));
    let mut r = Reasoning::new(cfg, lookup);
    assert!(!r.on_token(OPEN_ID, "<think>", false).force_end_thinking); // not counted
    assert!(!r.on_token(1, "x", false).force_end_thinking);
    assert!(!r.on_token(2, "", true).force_end_thinking); // half a character
    assert_eq!(r.thinking_tokens(), 2);
    let s = r.on_token(3, "é", false);
    assert!(s.force_end_thinking);
    assert_eq!(s.thinking, "é");

    // Budget 0 with the block opened by the prompt: due before the first token.
    let cfg = ReasoningConfig::r1()
        .starts_in_thinking(true)
        .budget(Some(0));
    let mut r = Reasoning::new(cfg, lookup);
    assert!(r.force_due());
    assert!(r.force_end().force_end_thinking);
    assert!(!r.force_due());
    assert!(!r.force_end().force_end_thinking);

    // Natural close before the budget: no force.
    let cfg = ReasoningConfig::r1().budget(Some(5));
    let mut r = Reasoning::new(cfg, lookup);
    for (id, t) in [
        (OPEN_ID, "<think>"),
        (1, "a"),
        (CLOSE_ID, "</think>"),
        (2, "b"),
    ] {
        assert!(!r.on_token(id, t, false).force_end_thinking);
    }
    assert!(!r.force_due());
}

#[test]
fn close_ids_empty_when_tag_is_not_one_token() {
    let r = Reasoning::new(ReasoningConfig::r1(), |_| None);
    assert!(r.close_ids().is_empty());
    assert_eq!(r.close_tag(), "</think>");
}

#[test]
fn history_drops_earlier_thinking_like_the_r1_template() {
    let mut history = vec![Message::user("What is 2+2?")];
    push_turn(&mut history, "\n\n2+2 equals 4.", "And 3+3?");
    let mut with_thinking = vec![
        Message::user("What is 2+2?"),
        Message::assistant("<think>\nSimple addition.\n</think>\n\n2+2 equals 4."),
        Message::user("And 3+3?"),
    ];
    drop_thinking(&mut with_thinking);
    assert_eq!(history, with_thinking);
    let mut out = String::new();
    Builtin::r1().render(&history, true, "", &mut out);
    // llama.cpp's formatted_text for this conversation (r1 chat.json case 1).
    assert_eq!(
        out,
        "<｜User｜>What is 2+2?<｜Assistant｜>\n\n2+2 equals 4.<｜end▁of▁sentence｜><｜User｜>And 3+3?<｜Assistant｜>"
    );
}

//! Bounded digits in JSON numbers: at most [`MAX_DIGITS`] digits in a number's integral
//! part, in its fraction and in its exponent, as in llama.cpp's JSON-schema grammars
//! (`json-schema-to-grammar`: integral part `0` or `[1-9]` then at most 15 digits, fraction
//! 1 to 16 digits, exponent an integral part again).
//!
//! A JSON grammar alone lets a number run on forever (`0.95542548…`): a sampled small model
//! can repeat digits until the token limit, and the output never becomes valid JSON. The
//! cap is applied on top of the engine's mask:
//!
//! - [`NumberLexer`] follows the JSON text emitted so far, byte by byte: inside a string or
//!   not (escapes included), and outside strings which number part a digit would extend
//!   and how many digits that part has.
//! - [`DigitTable`], built once per vocabulary, holds what each token needs: the ids of the
//!   tokens whose text starts with a digit, ordered by the length of that leading digit run,
//!   and the (rare) tokens with a run longer than the cap anywhere in their text.
//! - Before sampling, every token that would push the current number part past the cap is
//!   removed ([`DigitTable::for_each_over_cap`]): those whose leading digit run is longer than
//!   the room left, and those long tokens whose text, lexed from the current state, would
//!   overflow a part. A digit run after any other byte in a token starts a new part (a
//!   fraction, an exponent, a new number or string text), so no other token can overflow.
//!
//! The cost per mask is one pass over the tokens that start with a digit run longer than the
//! room left (none until the part is close to the cap), independent of the vocabulary size.
//! Digits inside strings are not counted (a string's own `maxLength`/`pattern` bound them).

use alloc::boxed::Box;
use alloc::vec::Vec;

/// The most digits in each part of a JSON number: integral part, fraction, exponent
/// (llama.cpp's JSON-schema grammars allow 16 in each).
pub const MAX_DIGITS: u32 = 16;

/// Where the JSON text emitted so far stands, as far as number digits are concerned.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum NumberLexer {
    /// Outside strings and numbers (between tokens, in `true`, after `{`…). A digit here
    /// starts a number.
    #[default]
    Outside,
    /// Inside a string.
    InString,
    /// Inside a string, just after a backslash: the next byte is escaped.
    Escape,
    /// In a number's integral part, after the sign (if any) and this many digits.
    Integral(u32),
    /// In a number's fraction, after the point and this many digits.
    Fraction(u32),
    /// Just after a number's `e`/`E`: a sign or a digit may follow.
    ExponentStart,
    /// In a number's exponent, after the sign (if any) and this many digits.
    Exponent(u32),
}

impl NumberLexer {
    /// The state after `b`. Digit counts saturate.
    pub fn feed(self, b: u8) -> Self {
        use NumberLexer::*;
        let digit = b.is_ascii_digit();
        match self {
            InString => match b {
                b'"' => Outside,
                b'\\' => Escape,
                _ => InString,
            },
            Escape => InString,
            Integral(n) if digit => Integral(n.saturating_add(1)),
            Integral(_) if b == b'.' => Fraction(0),
            Integral(_) | Fraction(_) if b == b'e' || b == b'E' => ExponentStart,
            Fraction(n) if digit => Fraction(n.saturating_add(1)),
            ExponentStart if b == b'+' || b == b'-' => Exponent(0),
            ExponentStart if digit => Exponent(1),
            Exponent(n) if digit => Exponent(n.saturating_add(1)),
            // The number (if any) is over: the byte is read as outside one.
            Outside | Integral(_) | Fraction(_) | ExponentStart | Exponent(_) => match b {
                b'"' => InString,
                b'-' => Integral(0),
                _ if digit => Integral(1),
                _ => Outside,
            },
        }
    }

    /// The state after every byte of `text`.
    pub fn feed_all(self, text: &[u8]) -> Self {
        text.iter().fold(self, |s, &b| s.feed(b))
    }

    /// Digits in the current number part (0 outside numbers).
    pub fn digits(self) -> u32 {
        match self {
            NumberLexer::Integral(n) | NumberLexer::Fraction(n) | NumberLexer::Exponent(n) => n,
            _ => 0,
        }
    }

    /// How many more digits may follow at once: the room left in the current number part,
    /// [`MAX_DIGITS`] where a digit would start a new part (outside strings), `None` inside
    /// a string (no cap).
    pub fn digit_room(self) -> Option<u32> {
        match self {
            NumberLexer::InString | NumberLexer::Escape => None,
            s => Some(MAX_DIGITS.saturating_sub(s.digits())),
        }
    }

    /// Whether `text`, emitted from this state, would give some number part more than
    /// [`MAX_DIGITS`] digits (the rule itself; [`DigitTable`] is its fast form).
    pub fn overflows(self, text: &[u8]) -> bool {
        let mut s = self;
        for &b in text {
            s = s.feed(b);
            if s.digits() > MAX_DIGITS {
                return true;
            }
        }
        false
    }
}

/// Per-token digit facts for one vocabulary (see the [module docs](self)); built once per
/// model.
#[derive(Clone, Debug, Default)]
pub struct DigitTable {
    /// Ids of the tokens whose text starts with a digit, longest leading digit run first.
    by_lead: Vec<u32>,
    /// `[MAX_DIGITS + 1]`: `over[r]` = how many entries of `by_lead` have a leading run
    /// longer than `r` (they are `by_lead[..over[r]]`).
    over: Vec<u32>,
    /// Tokens with a digit run longer than [`MAX_DIGITS`] somewhere in their text, with
    /// that text: checked by lexing them.
    long: Vec<(u32, Box<[u8]>)>,
}

impl DigitTable {
    /// The table for a vocabulary whose token `id` has the text `texts[id]` (the bytes the
    /// constraint engine matches).
    pub fn new<T: AsRef<[u8]>>(texts: &[T]) -> Self {
        let mut lead: Vec<(u32, u32)> = Vec::new();
        let mut long = Vec::new();
        for (id, t) in texts.iter().enumerate() {
            let t = t.as_ref();
            let id = id as u32;
            let first = t.iter().take_while(|b| b.is_ascii_digit()).count() as u32;
            if first > 0 {
                lead.push((first, id));
            }
            let longest = t
                .split(|b| !b.is_ascii_digit())
                .map(|run| run.len())
                .max()
                .unwrap_or(0);
            if longest > MAX_DIGITS as usize {
                long.push((id, Box::from(t)));
            }
        }
        // Longest leading run first; ids ascending within a length.
        lead.sort_unstable_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        let over = (0..=MAX_DIGITS)
            .map(|r| lead.iter().take_while(|&&(n, _)| n > r).count() as u32)
            .collect();
        DigitTable {
            by_lead: lead.into_iter().map(|(_, id)| id).collect(),
            over,
            long,
        }
    }

    /// Number of tokens whose text starts with a digit.
    pub fn n_leading_digit(&self) -> usize {
        self.by_lead.len()
    }

    /// Calls `f(id)` for every token whose text, emitted from `state`, would give a number
    /// part more than [`MAX_DIGITS`] digits (an id may come twice).
    pub fn for_each_over_cap(&self, state: NumberLexer, mut f: impl FnMut(u32)) {
        if let Some(room) = state.digit_room() {
            let k = self.over[room.min(MAX_DIGITS) as usize] as usize;
            for &id in &self.by_lead[..k] {
                f(id);
            }
        }
        for (id, text) in &self.long {
            if state.overflows(text) {
                f(*id);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use NumberLexer::*;
    use alloc::string::String;
    use alloc::vec;

    #[test]
    fn lexer_follows_strings_and_number_parts() {
        let s = Outside.feed_all(br#"{"a1":"x\"12"#);
        assert_eq!(s, InString, "digits and an escaped quote inside a string");
        let s = s.feed_all(br#"\\", "n": -12"#);
        assert_eq!(s, Integral(2));
        assert_eq!(s.feed(b'.'), Fraction(0));
        assert_eq!(s.feed_all(b".5e"), ExponentStart);
        assert_eq!(s.feed_all(b".5e+"), Exponent(0));
        assert_eq!(s.feed_all(b".5E-07"), Exponent(2));
        assert_eq!(s.feed_all(b"e9"), Exponent(1));
        assert_eq!(s.feed_all(b".25,"), Outside);
        assert_eq!(s.feed_all(b".25, \"b"), InString);
        assert_eq!(s.feed_all(b"]"), Outside);
        assert_eq!(
            Outside.feed_all(b"[1,22"),
            Integral(2),
            "a new number after ,"
        );
        assert_eq!(Outside.feed_all(b"true"), Outside);
        assert_eq!(Escape.feed(b'"'), InString);
        assert_eq!(Escape.feed(b'\\'), InString);
        assert_eq!(Outside.feed_all(b"\"\\u0031\""), Outside);
    }

    #[test]
    fn room_and_overflow_at_the_cap() {
        let sixteen = [b'7'; 16];
        let s = Outside.feed_all(&sixteen);
        assert_eq!(s, Integral(16));
        assert_eq!(s.digit_room(), Some(0));
        assert!(s.overflows(b"1"));
        assert!(!s.overflows(b".1"));
        assert!(!s.overflows(b"}"));
        let f = s.feed(b'.').feed_all(&sixteen);
        assert_eq!(f, Fraction(16));
        assert!(f.overflows(b"0") && !f.overflows(b"e1") && !f.overflows(b","));
        let e = f.feed_all(b"e-").feed_all(&sixteen);
        assert_eq!(e, Exponent(16));
        assert!(e.overflows(b"3") && !e.overflows(b" "));
        assert_eq!(Outside.digit_room(), Some(MAX_DIGITS));
        assert_eq!(Integral(15).digit_room(), Some(1));
        assert_eq!(InString.digit_room(), None);
        assert!(
            !InString.overflows(&[b'1'; 40]),
            "string digits are not counted"
        );
        assert!(Outside.overflows(&[b'1'; 17]));
        let sat = Integral(u32::MAX).feed(b'1');
        assert_eq!(sat, Integral(u32::MAX));
        assert_eq!(sat.digit_room(), Some(0));
    }

    /// A small vocabulary with every shape of token: digits alone and in runs, digits after
    /// a point or a quote, runs longer than the cap.
    fn vocab() -> Vec<String> {
        let mut v: Vec<String> = [
            "{", "}", "\"", ":", ",", ".", "-", "+", "e", "E", " ", "\\", "\"c\":", "0", "1", "7",
            "12", "123", "0.", "1.5", ".5", "5}", "5,", "e10", "\"12", "a1", "x", "1e", "9\"",
        ]
        .iter()
        .map(|s| String::from(*s))
        .collect();
        v.push("1".repeat(16));
        v.push("2".repeat(17));
        v.push(alloc::format!(".{}", "3".repeat(17)));
        v.push(alloc::format!("\"{}", "4".repeat(20)));
        v.push(alloc::format!("{}.5", "6".repeat(15)));
        v
    }

    #[test]
    fn table_forbids_exactly_what_the_rule_forbids() {
        let v = vocab();
        let t = DigitTable::new(&v);
        assert_eq!(t.long.len(), 3);
        let mut states = vec![Outside, InString, Escape, ExponentStart];
        for n in 0..=MAX_DIGITS + 1 {
            states.extend([Integral(n), Fraction(n), Exponent(n)]);
        }
        for s in states {
            let mut fast = vec![false; v.len()];
            t.for_each_over_cap(s, |id| fast[id as usize] = true);
            for (id, text) in v.iter().enumerate() {
                assert_eq!(
                    fast[id],
                    s.overflows(text.as_bytes()),
                    "state {s:?}, token {text:?}"
                );
            }
        }
        // Far from the cap nothing short is forbidden; at the cap every leading digit is.
        let mut far = Vec::new();
        t.for_each_over_cap(Fraction(0), |id| far.push(v[id as usize].as_str()));
        far.sort_unstable();
        far.dedup();
        assert_eq!(far.len(), 2, "only the 17-digit runs: {far:?}");
        let mut at_cap = Vec::new();
        t.for_each_over_cap(Fraction(16), |id| at_cap.push(v[id as usize].as_str()));
        for d in ["0", "1", "7", "12", "5}", "1e", "9\"", "0."] {
            assert!(at_cap.contains(&d), "{d}");
        }
        for ok in ["e10", ".5", "}", "\"12", "a1"] {
            assert!(!at_cap.contains(&ok), "{ok}");
        }
    }

    #[test]
    fn a_digit_loop_stops_at_the_cap() {
        // A chooser that takes the longest allowed digit token every time: the run ends at
        // exactly MAX_DIGITS digits, however the tokens split it.
        let v = vocab();
        let t = DigitTable::new(&v);
        let digits: Vec<usize> = (0..v.len())
            .filter(|&i| v[i].bytes().all(|b| b.is_ascii_digit()))
            .collect();
        for start in [&b"0."[..], b"-", b"1e+", b"["] {
            let mut s = Outside.feed_all(start);
            let mut text = Vec::from(start);
            loop {
                let mut banned = vec![false; v.len()];
                t.for_each_over_cap(s, |id| banned[id as usize] = true);
                let Some(&id) = digits
                    .iter()
                    .filter(|&&i| !banned[i])
                    .max_by_key(|&&i| v[i].len())
                else {
                    break;
                };
                s = s.feed_all(v[id].as_bytes());
                text.extend_from_slice(v[id].as_bytes());
            }
            assert_eq!(s.digits(), MAX_DIGITS, "{}", String::from_utf8_lossy(&text));
        }
    }
}

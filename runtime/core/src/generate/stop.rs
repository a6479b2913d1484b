//! When to stop generating: end-of-generation ids, a token limit, stop strings.
//!
//! Stop strings are matched on the decoded TEXT, across token boundaries: text that could
//! still become the start of a stop string is held back until it either completes one (the
//! text before it is emitted, generation stops, the stop string itself is not emitted) or
//! stops matching (then it is emitted). So the caller can print every returned piece at once.
//!
//! ```
//! use bague::generate::stop::{StopDetector, StopReason};
//! let mut s = StopDetector::new(&[2], Some(100), &["\nUser:"]);
//! assert_eq!(s.on_token(10, "Hello").text, "Hello");
//! assert_eq!(s.on_token(11, "\nUs").text, "");        // could be "\nUser:": held
//! let step = s.on_token(12, "er: hi");
//! assert_eq!((step.text, step.stop), ("", Some(StopReason::StopString)));
//! ```

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

/// Why generation ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum StopReason {
    /// The model produced an end-of-generation token (`<|im_end|>`, `<｜end▁of▁sentence｜>`…).
    Eog,
    /// The token limit was reached.
    MaxTokens,
    /// A stop string appeared in the text.
    StopString,
    /// The caller cancelled.
    Cancelled,
    /// The KV cache is full (context length reached, no shifting).
    ContextFull,
    /// A failure elsewhere (model, sampler).
    Error,
    /// The output constraint allows no next token: the output cannot be continued (nor is it
    /// complete, else end-of-generation would have been allowed).
    NoAllowedToken,
}

impl StopReason {
    /// Short lower-case name: "eog", "max_tokens", "stop_string", "cancelled",
    /// "context_full", "error", "no_allowed_token".
    pub fn as_str(self) -> &'static str {
        match self {
            StopReason::Eog => "eog",
            StopReason::MaxTokens => "max_tokens",
            StopReason::StopString => "stop_string",
            StopReason::Cancelled => "cancelled",
            StopReason::ContextFull => "context_full",
            StopReason::Error => "error",
            StopReason::NoAllowedToken => "no_allowed_token",
        }
    }
}

impl fmt::Display for StopReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What one token produced.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StopStep<'a> {
    /// Text that is now safe to show (possibly empty while text is held back).
    pub text: &'a str,
    /// Set when generation must end after this token.
    pub stop: Option<StopReason>,
    /// The stop string that matched, for `StopString`.
    pub matched: Option<&'a str>,
}

/// Tracks the stop conditions of one generation.
#[derive(Clone, Debug)]
pub struct StopDetector {
    /// End-of-generation ids, sorted, deduplicated.
    eog: Vec<u32>,
    max_tokens: Option<u32>,
    stops: Vec<String>,
    n_tokens: u32,
    held: String,
    out: String,
    stopped: Option<StopReason>,
    matched: Option<usize>,
}

impl StopDetector {
    /// `eog_ids`: the tokenizer's end-of-generation set; `max_tokens`: limit on generated
    /// tokens (`None` = no limit); `stop_strings`: texts that end generation (empty strings
    /// are ignored). Its text buffers grow as tokens need (see [`try_new`](Self::try_new)).
    pub fn new(eog_ids: &[u32], max_tokens: Option<u32>, stop_strings: &[&str]) -> Self {
        match Self::try_new(eog_ids, max_tokens, stop_strings, 64) {
            Ok(d) => d,
            Err(bytes) => alloc::alloc::handle_alloc_error(
                core::alloc::Layout::from_size_align(bytes.max(1), 1)
                    .unwrap_or(core::alloc::Layout::new::<u8>()),
            ),
        }
    }

    /// [`new`](Self::new) with every buffer allocated now, fallibly: `max_text` is the
    /// most text one token can add (a decoder's [`out`](crate::tokenizer::DecoderBytes::out));
    /// then feeding tokens never allocates ([`bytes_for`](Self::bytes_for) gives the
    /// sizes). Errors: the bytes of the allocation the heap refused.
    pub fn try_new(
        eog_ids: &[u32],
        max_tokens: Option<u32>,
        stop_strings: &[&str],
        max_text: usize,
    ) -> Result<Self, usize> {
        fn room<T>(v: &mut Vec<T>, n: usize) -> Result<(), usize> {
            v.try_reserve_exact(n)
                .map_err(|_| n.saturating_mul(core::mem::size_of::<T>()))
        }
        let mut eog = Vec::new();
        room(&mut eog, eog_ids.len())?;
        eog.extend_from_slice(eog_ids);
        eog.sort_unstable();
        eog.dedup();
        let mut stops: Vec<String> = Vec::new();
        room(
            &mut stops,
            stop_strings.iter().filter(|s| !s.is_empty()).count(),
        )?;
        for s in stop_strings.iter().filter(|s| !s.is_empty()) {
            let mut t = String::new();
            t.try_reserve_exact(s.len()).map_err(|_| s.len())?;
            t.push_str(s);
            stops.push(t);
        }
        let text = Self::text_bytes(stop_strings, max_text);
        let (mut held, mut out) = (String::new(), String::new());
        held.try_reserve_exact(text).map_err(|_| text)?;
        out.try_reserve_exact(text).map_err(|_| text)?;
        Ok(StopDetector {
            eog,
            max_tokens,
            stops,
            n_tokens: 0,
            held,
            out,
            stopped: None,
            matched: None,
        })
    }

    /// Bytes of each of the two text buffers: text held back for a stop string (less
    /// than the longest one) plus one token's text.
    fn text_bytes(stop_strings: &[&str], max_text: usize) -> usize {
        let longest = stop_strings.iter().map(|s| s.len()).max().unwrap_or(0);
        longest.saturating_add(max_text)
    }

    /// Heap bytes [`try_new`](Self::try_new) allocates, for a memory plan: the
    /// end-of-generation ids, the stop-string table, the two text buffers, one entry per
    /// allocation, then the stop strings' bytes together (one allocation each; an empty
    /// entry is not allocated).
    pub fn bytes_for(n_eog: usize, stop_strings: &[&str], max_text: usize) -> [usize; 5] {
        let text = Self::text_bytes(stop_strings, max_text);
        let n_stops = stop_strings.iter().filter(|s| !s.is_empty()).count();
        [
            n_eog * 4,
            n_stops * core::mem::size_of::<String>(),
            text,
            text,
            stop_strings.iter().map(|s| s.len()).sum(),
        ]
    }

    /// True when `id` is an end-of-generation token.
    pub fn is_eog(&self, id: u32) -> bool {
        self.eog.binary_search(&id).is_ok()
    }

    /// Generated tokens counted so far.
    pub fn n_tokens(&self) -> u32 {
        self.n_tokens
    }

    /// The reason generation stopped, once it has.
    pub fn stopped(&self) -> Option<StopReason> {
        self.stopped
    }

    /// Feeds one generated token and its decoded text. An EOG token's text is not emitted;
    /// text held back for a stop string that can no longer complete is released when
    /// generation stops for another reason. After a stop, returns empty text and the reason.
    pub fn on_token(&mut self, id: u32, text: &str) -> StopStep<'_> {
        self.out.clear();
        if self.stopped.is_some() {
            return self.step();
        }
        self.n_tokens = self.n_tokens.saturating_add(1);
        if self.is_eog(id) {
            self.release(StopReason::Eog);
            return self.step();
        }
        self.held.push_str(text);
        if let Some((pos, which)) = self.find_stop() {
            self.out.push_str(&self.held[..pos]);
            self.held.clear();
            self.stopped = Some(StopReason::StopString);
            self.matched = Some(which);
            return self.step();
        }
        if self.max_tokens.is_some_and(|m| self.n_tokens >= m) {
            self.release(StopReason::MaxTokens);
            return self.step();
        }
        let keep = self.held_suffix_len();
        let cut = self.held.len() - keep;
        self.out.push_str(&self.held[..cut]);
        self.held.drain(..cut);
        self.step()
    }

    /// Ends generation for an outside reason (`Cancelled`, `ContextFull`, `Error`, or `Eog`
    /// / `MaxTokens` decided by the caller) and returns the held-back text, which no stop
    /// string can complete any more. A second call returns "" and keeps the first reason.
    pub fn finish(&mut self, reason: StopReason) -> &str {
        self.out.clear();
        if self.stopped.is_none() {
            self.release(reason);
        }
        &self.out
    }

    fn release(&mut self, reason: StopReason) {
        self.out.push_str(&self.held);
        self.held.clear();
        self.stopped = Some(reason);
    }

    fn step(&self) -> StopStep<'_> {
        StopStep {
            text: &self.out,
            stop: self.stopped,
            matched: self.matched.map(|i| self.stops[i].as_str()),
        }
    }

    /// Earliest (position, stop index) of a stop string in the held text.
    fn find_stop(&self) -> Option<(usize, usize)> {
        self.stops
            .iter()
            .enumerate()
            .filter_map(|(i, s)| self.held.find(s.as_str()).map(|p| (p, i)))
            .min()
    }

    /// Length of the longest suffix of the held text that is a proper prefix of a stop
    /// string. Such a suffix starts with a stop string's first byte, so it starts on a
    /// char boundary.
    fn held_suffix_len(&self) -> usize {
        let h = self.held.as_bytes();
        let mut best = 0;
        for s in &self.stops {
            let s = s.as_bytes();
            let max = h.len().min(s.len() - 1);
            for k in (best + 1..=max).rev() {
                if h.ends_with(&s[..k]) {
                    best = k;
                    break;
                }
            }
        }
        best
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eog_and_max_tokens() {
        let mut s = StopDetector::new(&[7, 2, 7], Some(3), &[]);
        assert!(s.is_eog(2) && s.is_eog(7) && !s.is_eog(3));
        assert_eq!(s.on_token(1, "a").stop, None);
        let st = s.on_token(2, "<|im_end|>");
        assert_eq!((st.text, st.stop), ("", Some(StopReason::Eog)));
        let mut s = StopDetector::new(&[], Some(2), &[]);
        assert_eq!(s.on_token(1, "a").stop, None);
        let st = s.on_token(1, "b");
        assert_eq!((st.text, st.stop), ("b", Some(StopReason::MaxTokens)));
        assert_eq!(s.on_token(1, "c").text, "");
    }

    #[test]
    fn held_text_released_on_other_stops() {
        let mut s = StopDetector::new(&[0], None, &["STOP"]);
        assert_eq!(s.on_token(5, "x ST").text, "x ");
        let st = s.on_token(0, "");
        assert_eq!((st.text, st.stop), ("ST", Some(StopReason::Eog)));
        let mut s = StopDetector::new(&[0], None, &["STOP"]);
        s.on_token(5, "ab S");
        assert_eq!(s.finish(StopReason::Cancelled), "S");
        assert_eq!(s.stopped(), Some(StopReason::Cancelled));
        assert_eq!(s.finish(StopReason::Error), "");
    }
}

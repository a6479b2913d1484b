//! Byte-level BPE tokenizer (GPT-2 family) that gives the same token ids as llama.cpp.
//!
//! A [`Tokenizer`] is built from GGUF metadata ([`Tokenizer::from_gguf`]) and borrows the
//! token texts from the file: nothing is copied except small tables (a text -> id hash
//! table of `u32`s, the merge table, attributes).
//!
//! # Encoding, step by step (llama.cpp `llama_tokenize` for BPE vocabularies)
//!
//! 1. With `add_special` and a vocabulary that asks for it (`add_bos`), BOS first — even if
//!    the text already starts with the BOS text and `parse_special` turns it into a second one.
//! 2. The text is cut at special tokens (module `partition`): user-defined tokens (`<think>`)
//!    always, control tokens (`<|im_start|>`) only with `parse_special`; longest first.
//! 3. Each text piece is split into words by the pre-tokenizer named in
//!    `tokenizer.ggml.pre` ([`PreTokenizer`]).
//! 4. Each word goes to byte-level BPE (module `bpe`): merges by rank, leftmost first.
//! 5. With `add_special` and `add_eos`, EOS last.
//!
//! Decoding maps byte-level characters back to bytes ([`Tokenizer::decode`], [`Decoder`]).
//!
//! # Quirks kept on purpose, to equal llama.cpp
//!
//! * Token 128247 `</s>` of Qwen2.5 / R1 is a NORMAL token in the GGUF; llama.cpp makes it a
//!   control token and an end-of-generation token, so it matches only with `parse_special`.
//! * llama.cpp's Unicode tables are version 15.1: code points assigned in 16.0 count as
//!   unassigned (module `unicode`).
//! * Detokenizing with the `gpt-2` / `llama-bpe` pre-tokenizers removes spaces before
//!   punctuation and some contractions (llama.cpp's `clean_spaces`).
//!
//! Not implemented: SentencePiece (`tokenizer.ggml.model = llama`) and other tokenizer
//! models, pre-tokenizers beyond [`SUPPORTED_PRE_TOKENIZERS`], per-model `lstrip`/`rstrip`
//! attributes (llama.cpp sets them only for some embedding and Phi-3 models).

mod bpe;
mod byte_level;
mod decode;
mod error;
mod load;
mod partition;
mod pre;
mod specials;
mod unicode;
mod vocab;

use alloc::vec::Vec;
use core::ops::Range;

use hashbrown::HashMap;
use rustc_hash::FxBuildHasher;

pub use bpe::EncodeStats;
pub use decode::{DecodeOptions, Decoder, DecoderBytes, max_piece_bytes};
pub use error::Error;
pub use load::TokenizerMetadata;
pub use pre::{PreTokenizer, SUPPORTED_PRE_TOKENIZERS};
pub use specials::{MAX_EOG_IDS, SpecialIds};
pub use vocab::{TokenAttrs, TokenType, missing_byte_symbols};

use bpe::BpeScratch;
use error::grow;
use partition::Fragment;
use pre::{PreConfig, SplitScratch};
use vocab::Vocab;

/// Most distinct words whose ids one `encode` call remembers.
const WORD_CACHE_ENTRIES: usize = 1 << 16;

/// Options of [`Tokenizer::encode`] (llama.cpp `llama_tokenize` flags).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EncodeOptions {
    /// Add BOS / EOS where the vocabulary asks for them (`add_bos`, `add_eos`).
    pub add_special: bool,
    /// Match control tokens written in the text (`<|im_start|>`) as single tokens.
    pub parse_special: bool,
}

impl EncodeOptions {
    /// Plain text: no BOS/EOS, control-token text tokenized as text.
    pub const TEXT: EncodeOptions = EncodeOptions {
        add_special: false,
        parse_special: false,
    };
    /// A whole prompt as llama.cpp evaluates it: BOS/EOS as the vocabulary asks, control
    /// tokens parsed (what `llama-cli` does with a rendered chat template).
    pub const PROMPT: EncodeOptions = EncodeOptions {
        add_special: true,
        parse_special: true,
    };
}

/// A byte-level BPE tokenizer over a vocabulary borrowed from a GGUF file (lifetime `'a`).
pub struct Tokenizer<'a> {
    vocab: Vocab<'a>,
    pre: PreConfig,
    ids: SpecialIds,
    /// Sorted ascending.
    eog: Vec<u32>,
    /// Special tokens, longest text first.
    match_order: Vec<u32>,
    add_bos: bool,
    add_eos: bool,
    add_space_prefix: bool,
    /// [`max_piece_bytes`] of the token texts.
    max_piece: usize,
}

impl<'a> Tokenizer<'a> {
    /// Token ids of `text`. Errors: `MissingBos` / `MissingEos` when `add_special` needs a
    /// token the vocabulary lacks; `OutOfMemory` when the heap refuses a buffer (every
    /// buffer of an encode grows fallibly: a board's exhausted arena is an error value).
    pub fn encode(&self, text: &str, opts: EncodeOptions) -> Result<Vec<u32>, Error> {
        let mut out = Vec::new();
        self.encode_into(text, opts, &mut out)?;
        Ok(out)
    }

    /// [`encode`](Self::encode) with spans of `text` that are always tokenized as text: no
    /// special token (control or user-defined) is matched where it would overlap one of
    /// them. For chat prompts: the template's markup is parsed for control tokens, the
    /// messages' contents are not, so a message cannot forge a turn. `text_spans`: byte
    /// ranges of `text`, in any order (overlaps allowed).
    /// Errors: as [`Tokenizer::encode`].
    pub fn encode_with_text_spans(
        &self,
        text: &str,
        opts: EncodeOptions,
        text_spans: &[Range<usize>],
    ) -> Result<Vec<u32>, Error> {
        self.encode_capped(text, opts, text_spans, usize::MAX)
    }

    /// [`encode_with_text_spans`](Self::encode_with_text_spans) that stops as soon as the
    /// ids exceed `max_tokens` (BOS/EOS included) with [`Error::TooManyTokens`]: a prompt
    /// that cannot fit a context is refused after tokenizing about `max_tokens` tokens'
    /// worth of text, not all of it.
    pub fn encode_capped(
        &self,
        text: &str,
        opts: EncodeOptions,
        text_spans: &[Range<usize>],
        max_tokens: usize,
    ) -> Result<Vec<u32>, Error> {
        let mut spans: Vec<Range<usize>> = text_spans
            .iter()
            .filter(|r| r.start < r.end)
            .cloned()
            .collect();
        spans.sort_unstable_by_key(|r| r.start);
        let mut merged: Vec<Range<usize>> = Vec::with_capacity(spans.len());
        for r in spans {
            match merged.last_mut() {
                Some(last) if r.start <= last.end => last.end = last.end.max(r.end),
                _ => merged.push(r),
            }
        }
        let mut out = Vec::new();
        self.encode_spans_into(text, opts, &merged, max_tokens, &mut out)?;
        Ok(out)
    }

    /// The special tokens (control, user-defined, unknown) whose text occurs in `text`, as
    /// `encode` with `parse_special` would match them, in order of first match.
    pub fn special_tokens_in(&self, text: &str) -> Vec<u32> {
        let mut fragments = Vec::new();
        if let Err(e) = partition::partition(
            &self.vocab,
            &self.match_order,
            text,
            true,
            &[],
            &mut fragments,
        ) {
            // An infallible call: out of memory aborts, as any `Vec` growth would.
            abort_oom(e);
        }
        let mut ids: Vec<u32> = Vec::new();
        for f in fragments {
            if let Fragment::Token(id) = f {
                if !ids.contains(&id) {
                    ids.push(id);
                }
            }
        }
        ids
    }

    /// Appends the token ids of `text` to `out`; returns work counters.
    /// Errors: as [`Tokenizer::encode`] (then `out` is unchanged).
    pub fn encode_into(
        &self,
        text: &str,
        opts: EncodeOptions,
        out: &mut Vec<u32>,
    ) -> Result<EncodeStats, Error> {
        self.encode_spans_into(text, opts, &[], usize::MAX, out)
    }

    /// [`encode_into`](Self::encode_into) with sorted, disjoint text-only spans, stopping
    /// with `TooManyTokens` (and `out` as it was) past `max_tokens` new ids.
    fn encode_spans_into(
        &self,
        text: &str,
        opts: EncodeOptions,
        protected: &[Range<usize>],
        max_tokens: usize,
        out: &mut Vec<u32>,
    ) -> Result<EncodeStats, Error> {
        let base = out.len();
        let bos = match (opts.add_special && self.add_bos, self.ids.bos) {
            (false, _) => None,
            (true, Some(id)) => Some(id),
            (true, None) => return Err(Error::MissingBos),
        };
        let eos = match (opts.add_special && self.add_eos, self.ids.eos) {
            (false, _) => None,
            (true, Some(id)) => Some(id),
            (true, None) => return Err(Error::MissingEos),
        };
        let r = self.encode_fragments(text, opts, protected, max_tokens, bos, eos, out);
        if r.is_err() {
            out.truncate(base);
        }
        r
    }

    /// The body of [`encode_spans_into`](Self::encode_spans_into) once BOS/EOS are known:
    /// every buffer grows fallibly (`OutOfMemory`, after which the caller truncates `out`).
    #[allow(clippy::too_many_arguments)]
    fn encode_fragments(
        &self,
        text: &str,
        opts: EncodeOptions,
        protected: &[Range<usize>],
        max_tokens: usize,
        bos: Option<u32>,
        eos: Option<u32>,
        out: &mut Vec<u32>,
    ) -> Result<EncodeStats, Error> {
        let base = out.len();
        let too_many = || Err(Error::TooManyTokens { max: max_tokens });
        if let Some(id) = bos {
            grow::push(out, id)?;
        }
        let mut stats = EncodeStats::default();
        let mut fragments = Vec::new();
        partition::partition(
            &self.vocab,
            &self.match_order,
            text,
            opts.parse_special,
            protected,
            &mut fragments,
        )?;
        let mut split = SplitScratch::default();
        let mut bpe = BpeScratch::default();
        let mut words: Vec<Range<usize>> = Vec::new();
        // Words repeat (" the", "\n"): their ids are kept for the rest of this call.
        let mut cache: HashMap<&[u8], Range<usize>, FxBuildHasher> = HashMap::default();
        let mut cached_ids: Vec<u32> = Vec::new();
        for f in fragments {
            if out.len() - base > max_tokens {
                return too_many();
            }
            match f {
                Fragment::Token(id) => grow::push(out, id)?,
                Fragment::Text(r) => {
                    let piece = &text[r];
                    words.clear();
                    pre::split(self.pre.kind, piece, &mut split, &mut words)?;
                    for w in &words {
                        if out.len() - base > max_tokens {
                            return too_many();
                        }
                        let word = &piece.as_bytes()[w.clone()];
                        if let Some(ids) = cache.get(word) {
                            grow::extend(out, &cached_ids[ids.clone()])?;
                            continue;
                        }
                        let start = out.len();
                        bpe::bpe_word(
                            &self.vocab,
                            word,
                            self.pre.ignore_merges,
                            &mut bpe,
                            &mut stats,
                            out,
                        )?;
                        if word.len() > 1 && cache.len() < WORD_CACHE_ENTRIES {
                            let at = cached_ids.len();
                            grow::extend(&mut cached_ids, &out[start..])?;
                            cache.try_reserve(1).map_err(|_| {
                                Error::oom::<(&[u8], Range<usize>)>(cache.len() + 1)
                            })?;
                            cache.insert(word, at..cached_ids.len());
                        }
                    }
                }
            }
        }
        if let Some(id) = eos {
            grow::push(out, id)?;
        }
        if out.len() - base > max_tokens {
            return too_many();
        }
        Ok(stats)
    }

    /// Number of tokens in the vocabulary (ids are `0..n_vocab`).
    pub fn n_vocab(&self) -> usize {
        self.vocab.n_vocab()
    }

    /// The pre-tokenizer in use.
    pub fn pre_tokenizer(&self) -> PreTokenizer {
        self.pre.kind
    }

    /// Special token ids (given by the GGUF or found by text as llama.cpp does).
    pub fn special_ids(&self) -> &SpecialIds {
        &self.ids
    }

    /// BOS id, if the vocabulary has one.
    pub fn bos_id(&self) -> Option<u32> {
        self.ids.bos
    }

    /// EOS id, if the vocabulary has one.
    pub fn eos_id(&self) -> Option<u32> {
        self.ids.eos
    }

    /// Whether `encode` with `add_special` starts with BOS (GGUF `add_bos_token`).
    pub fn add_bos(&self) -> bool {
        self.add_bos
    }

    /// Whether `encode` with `add_special` ends with EOS (GGUF `add_eos_token`).
    pub fn add_eos(&self) -> bool {
        self.add_eos
    }

    /// End-of-generation token ids, sorted (llama.cpp `special_eog_ids`).
    pub fn eog_ids(&self) -> &[u32] {
        &self.eog
    }

    /// Whether `id` ends generation.
    pub fn is_eog(&self, id: u32) -> bool {
        self.eog.binary_search(&id).is_ok()
    }

    /// Id of the token whose text is exactly `text` (`"<think>"`, `"Ġthe"`), if any.
    pub fn token_id(&self, text: &str) -> Option<u32> {
        self.vocab.token_id(text)
    }

    /// Stored text of token `id` (byte-level characters for normal tokens; the empty
    /// token `i` reads `[EMPTY_i]` as in llama.cpp). `None` if `id` is out of range.
    pub fn token_text(&self, id: u32) -> Option<&str> {
        ((id as usize) < self.n_vocab()).then(|| self.vocab.strings.get(id))
    }

    /// GGUF type of token `id`. `None` if `id` is out of range.
    pub fn token_type(&self, id: u32) -> Option<TokenType> {
        self.vocab.types.get(id as usize).copied()
    }

    /// Effective attributes of token `id` (after llama.cpp's re-typing). `None` if out of range.
    pub fn token_attrs(&self, id: u32) -> Option<TokenAttrs> {
        self.vocab.attrs.get(id as usize).copied()
    }
}

/// Ends the program as an infallible allocation does when the heap refuses (for the
/// infallible conveniences over fallible internals).
fn abort_oom(e: Error) -> ! {
    let bytes = match e {
        Error::OutOfMemory { bytes } => bytes,
        _ => 0,
    };
    let layout = core::alloc::Layout::from_size_align(bytes.max(1), 1)
        .unwrap_or(core::alloc::Layout::new::<u8>());
    alloc::alloc::handle_alloc_error(layout)
}

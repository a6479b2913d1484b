//! Errors of the tokenizer: `Copy`, `no_std`, each with the context a user needs.

use core::fmt;

use super::pre::names::SUPPORTED_PRE_TOKENIZERS;
use crate::gguf::{self, Name};

/// Why a tokenizer could not be built, or why a call on it failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// Reading the GGUF metadata failed (missing key, wrong type, …).
    Gguf(gguf::Error),
    /// `tokenizer.ggml.model` names a tokenizer we do not implement (SentencePiece `llama`,
    /// WordPiece `bert`, …).
    UnsupportedModel(Name),
    /// `tokenizer.ggml.pre` names a pre-tokenizer we do not implement.
    UnknownPreTokenizer(Name),
    /// An array that must have one entry per token (`tokenizer.ggml.token_type`) is shorter.
    LengthMismatch {
        /// The array's key.
        key: &'static str,
        /// Its length.
        len: usize,
        /// The number of tokens.
        n_vocab: usize,
    },
    /// The vocabulary is empty or has more tokens than `i32` ids can name.
    BadVocabSize(usize),
    /// A token id is not below the vocabulary size.
    InvalidToken {
        /// The id given.
        id: u32,
        /// The vocabulary size.
        n_vocab: u32,
    },
    /// BOS must be added (`add_special` with `add_bos`) but the vocabulary has no BOS id.
    MissingBos,
    /// EOS must be added (`add_special` with `add_eos`) but the vocabulary has no EOS id.
    MissingEos,
    /// The text has more tokens than the caller's limit (tokenizing stopped there, so a
    /// huge prompt is refused early and cheaply).
    TooManyTokens {
        /// The limit.
        max: usize,
    },
    /// The heap refused an allocation (a board's arena is exhausted): loading, encoding
    /// or decoding stopped cleanly; what was built so far is dropped.
    OutOfMemory {
        /// Bytes requested when it was refused (the size of the growing table; 0 when the
        /// allocator did not say).
        bytes: usize,
    },
}

impl From<gguf::Error> for Error {
    fn from(e: gguf::Error) -> Self {
        Error::Gguf(e)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Gguf(e) => write!(f, "tokenizer metadata: {e}"),
            Error::UnsupportedModel(m) if *m == "llama" => f.write_str(
                "tokenizer.ggml.model = \"llama\" (SentencePiece) is not supported yet; \
                 supported: \"gpt2\" (byte-level BPE)",
            ),
            Error::UnsupportedModel(m) => write!(
                f,
                "tokenizer.ggml.model = {m:?} is not supported; supported: \"gpt2\" (byte-level BPE)"
            ),
            Error::UnknownPreTokenizer(p) => {
                write!(f, "tokenizer.ggml.pre = {p:?} is not supported; supported:")?;
                for (i, name) in SUPPORTED_PRE_TOKENIZERS.iter().enumerate() {
                    let sep = if i == 0 { " " } else { ", " };
                    write!(f, "{sep}{name}")?;
                }
                Ok(())
            }
            Error::LengthMismatch { key, len, n_vocab } => {
                write!(
                    f,
                    "{key} has {len} entries, the vocabulary has {n_vocab} tokens"
                )
            }
            Error::BadVocabSize(n) => {
                write!(f, "tokenizer.ggml.tokens has {n} tokens (need 1 to 2^31-1)")
            }
            Error::InvalidToken { id, n_vocab } => {
                write!(
                    f,
                    "token id {id} is out of range (vocabulary has {n_vocab} tokens)"
                )
            }
            Error::MissingBos => {
                f.write_str("BOS must be added but the vocabulary has no BOS token")
            }
            Error::MissingEos => {
                f.write_str("EOS must be added but the vocabulary has no EOS token")
            }
            Error::TooManyTokens { max } => {
                write!(f, "the text has more than {max} tokens")
            }
            Error::OutOfMemory { bytes } => {
                write!(f, "out of memory ({bytes} bytes refused)")
            }
        }
    }
}

impl core::error::Error for Error {}

impl Error {
    /// `OutOfMemory` for a table of `n` values of `T`.
    pub(crate) fn oom<T>(n: usize) -> Error {
        Error::OutOfMemory {
            bytes: n.saturating_mul(core::mem::size_of::<T>()),
        }
    }
}

/// Fallible growth for the tables a run builds on a board whose heap is a fixed arena:
/// the same amortized growth as `push`/`reserve`, but a refusal is an error value.
pub(crate) mod grow {
    use alloc::vec::Vec;

    use super::Error;

    /// Room for `n` more values (amortized growth, as `Vec::reserve`).
    #[inline]
    pub fn reserve<T>(v: &mut Vec<T>, n: usize) -> Result<(), Error> {
        v.try_reserve(n)
            .map_err(|_| Error::oom::<T>(v.len().saturating_add(n)))
    }

    /// Room for exactly `n` more values (as `Vec::reserve_exact`).
    #[inline]
    pub fn reserve_exact<T>(v: &mut Vec<T>, n: usize) -> Result<(), Error> {
        v.try_reserve_exact(n)
            .map_err(|_| Error::oom::<T>(v.len().saturating_add(n)))
    }

    /// `v.push(x)`, growing fallibly.
    #[inline]
    pub fn push<T>(v: &mut Vec<T>, x: T) -> Result<(), Error> {
        if v.len() == v.capacity() {
            reserve(v, 1)?;
        }
        v.push(x);
        Ok(())
    }

    /// `v.extend_from_slice(xs)`, growing fallibly.
    #[inline]
    pub fn extend<T: Clone>(v: &mut Vec<T>, xs: &[T]) -> Result<(), Error> {
        reserve(v, xs.len())?;
        v.extend_from_slice(xs);
        Ok(())
    }

    /// A vector of exactly the values of `it` (whose length must be exact), allocated
    /// fallibly.
    pub fn collect<T, I: ExactSizeIterator<Item = T>>(it: I) -> Result<Vec<T>, Error> {
        let mut v = Vec::new();
        reserve_exact(&mut v, it.len())?;
        v.extend(it);
        Ok(v)
    }
}

//! The oracle's error type: every argument check that would otherwise be undefined behaviour
//! inside ggml (short buffers, lengths that are not whole blocks, types without a kernel).

use core::fmt;

/// Why an oracle call was refused. Nothing is passed to ggml when one of these is returned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Error {
    /// `ty` is not a ggml type number this ggml knows (removed, or `>= GGML_TYPE_COUNT`).
    UnknownType(u32),
    /// ggml has no such kernel for this type (e.g. no `to_float` for F32, no CPU `vec_dot` for Q8_1).
    Unsupported {
        /// ggml type number.
        ty: u32,
        /// Which ggml entry point is missing (`to_float`, `from_float_ref`, `from_float`, `vec_dot`).
        what: &'static str,
    },
    /// `n` values are not a whole number of blocks of `block` values.
    NotWholeBlocks {
        /// Number of values asked for.
        n: usize,
        /// Values per block of the type.
        block: usize,
    },
    /// A buffer has the wrong length for `n` values.
    Length {
        /// Which argument (`src`, `out`, `w`, `act`).
        arg: &'static str,
        /// Length the call needs (bytes or values, as the argument is typed).
        expected: usize,
        /// Length given.
        got: usize,
    },
    /// A llama.cpp model-API call failed; the text says which and with what code.
    Llama(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::UnknownType(t) => write!(f, "unknown ggml type number {t}"),
            Error::Unsupported { ty, what } => write!(f, "ggml has no {what} for type {ty}"),
            Error::NotWholeBlocks { n, block } => {
                write!(f, "{n} values are not whole blocks of {block}")
            }
            Error::Length { arg, expected, got } => {
                write!(f, "{arg}: length {got}, expected {expected}")
            }
            Error::Llama(s) => write!(f, "llama.cpp: {s}"),
        }
    }
}

impl std::error::Error for Error {}

/// Result alias of the oracle.
pub type Result<T> = core::result::Result<T, Error>;

//! Errors of the kernel entry points: small `Copy` values, no allocation, no panics.

use crate::GgmlType;

/// What went wrong in a [`crate::Kernels`] call. Every variant carries the numbers a caller
/// needs to find the bad argument.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KernelError {
    /// No kernel exists for this type in this role (`role` is e.g. `"vec_dot"`,
    /// `"dequantize"`, `"activation"`).
    Unsupported {
        /// The type asked for.
        ty: GgmlType,
        /// The operation that lacks it.
        role: &'static str,
    },
    /// `n` elements are not a whole number of `ty` blocks.
    NotBlockMultiple {
        /// The block format.
        ty: GgmlType,
        /// The element count given.
        n: usize,
    },
    /// A buffer has the wrong length.
    Length {
        /// Which argument (`"w"`, `"act"`, `"out"`, `"x"`…).
        what: &'static str,
        /// Bytes or elements needed.
        expected: usize,
        /// Bytes or elements given.
        got: usize,
    },
    /// The activation type is not the one `Kernels::vec_dot_type` gives for the weights.
    ActivationType {
        /// Weight type.
        weight: GgmlType,
        /// Activation type required.
        expected: GgmlType,
    },
    /// A row range is empty-reversed or past the end of the matrix.
    Rows {
        /// First row asked.
        start: usize,
        /// One past the last row asked.
        end: usize,
        /// Rows the matrix has.
        n_rows: usize,
    },
    /// A size computation overflowed `usize`.
    Overflow,
}

impl KernelError {
    /// A short name of the error kind, stable for logs and tests.
    pub const fn kind(&self) -> &'static str {
        match self {
            Self::Unsupported { .. } => "unsupported",
            Self::NotBlockMultiple { .. } => "not_block_multiple",
            Self::Length { .. } => "length",
            Self::ActivationType { .. } => "activation_type",
            Self::Rows { .. } => "rows",
            Self::Overflow => "overflow",
        }
    }
}

impl core::fmt::Display for KernelError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match *self {
            Self::Unsupported { ty, role } => write!(f, "no {role} kernel for type {ty}"),
            Self::NotBlockMultiple { ty, n } => write!(
                f,
                "{n} elements is not a multiple of the {ty} block size {}",
                ty.block_size()
            ),
            Self::Length {
                what,
                expected,
                got,
            } => write!(f, "buffer `{what}` has length {got}, expected {expected}"),
            Self::ActivationType { weight, expected } => {
                write!(f, "weights of type {weight} need {expected} activations")
            }
            Self::Rows { start, end, n_rows } => {
                write!(
                    f,
                    "rows {start}..{end} out of range for a matrix of {n_rows} rows"
                )
            }
            Self::Overflow => f.write_str("size overflow"),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for KernelError {}

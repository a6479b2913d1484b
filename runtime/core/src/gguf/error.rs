//! Errors of the GGUF reader: one variant per way a file can be wrong, `Copy`, `no_std`.
//!
//! Names of keys and tensors are copied into a fixed-size [`Name`] (first
//! [`Name::CAPACITY`] bytes, cut at a character boundary) so that an [`Error`] owns
//! everything it says and outlives the buffer it came from (it can go into `anyhow`).

use core::fmt;

/// A key or tensor name copied into an error: at most [`Name::CAPACITY`] bytes of UTF-8,
/// cut at a character boundary; [`Name::is_truncated`] says whether bytes were dropped.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Name {
    buf: [u8; Name::CAPACITY],
    len: u8,
    truncated: bool,
}

impl Name {
    /// Bytes kept from a name (ggml's own tensor names are below 64 bytes).
    pub const CAPACITY: usize = 64;

    /// Copies up to [`Name::CAPACITY`] bytes of `s`, cut at a character boundary.
    pub fn new(s: &str) -> Self {
        let mut len = s.len().min(Self::CAPACITY);
        while !s.is_char_boundary(len) {
            len -= 1;
        }
        let mut buf = [0u8; Self::CAPACITY];
        buf[..len].copy_from_slice(&s.as_bytes()[..len]);
        Name {
            buf,
            len: len as u8,
            truncated: len < s.len(),
        }
    }

    /// The kept text (valid UTF-8 by construction; empty if that ever failed).
    pub fn as_str(&self) -> &str {
        core::str::from_utf8(&self.buf[..usize::from(self.len)]).unwrap_or("")
    }

    /// Whether the original name was longer than what is kept.
    pub fn is_truncated(&self) -> bool {
        self.truncated
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())?;
        if self.truncated {
            f.write_str("…")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.as_str())?;
        if self.truncated {
            f.write_str("…")?;
        }
        Ok(())
    }
}

impl PartialEq<&str> for Name {
    fn eq(&self, other: &&str) -> bool {
        !self.truncated && self.as_str() == *other
    }
}

/// Why a GGUF buffer was rejected, or why a metadata lookup failed.
///
/// Offsets are byte offsets from the start of the buffer. Each variant's `Display` names
/// the field or item and where it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// The buffer ends inside `what`: `needed` bytes at `offset`, only `available` left.
    Truncated {
        /// The field being read (`"magic"`, `"key length"`, `"tensor dims"`, …).
        what: &'static str,
        /// Where the field starts.
        offset: u64,
        /// Bytes the field needs.
        needed: u64,
        /// Bytes left in the buffer at `offset`.
        available: u64,
    },
    /// The first four bytes are not `GGUF`.
    BadMagic([u8; 4]),
    /// The version is not 2 or 3 (1 used 32-bit counts; a byte-swapped 2 or 3 is a
    /// big-endian file).
    UnsupportedVersion(u32),
    /// A metadata value (or array element) has a type number outside 0..=12.
    UnknownValueType {
        /// Key of the entry.
        key: Name,
        /// The type number read.
        ty: u32,
    },
    /// A tensor's type number is not a known [`GgmlType`](crate::GgmlType).
    UnknownTensorType {
        /// Tensor name.
        name: Name,
        /// The type number read.
        ty: u32,
    },
    /// A size or offset computed from the file does not fit in 64 bits (or in `i64`
    /// for element counts, as ggml requires).
    Overflow {
        /// What was being computed.
        what: &'static str,
    },
    /// A tensor's data `start..end` (absolute offsets) is not inside the buffer.
    TensorOutOfBounds {
        /// Tensor name.
        name: Name,
        /// Absolute offset of its first byte.
        start: u64,
        /// Absolute offset one past its last byte.
        end: u64,
        /// Buffer length.
        file_len: u64,
    },
    /// A tensor offset is not a multiple of the file's alignment.
    MisalignedTensor {
        /// Tensor name.
        name: Name,
        /// Offset relative to the data section.
        offset: u64,
        /// The file's alignment.
        alignment: u64,
    },
    /// Two tensors have the same name.
    DuplicateTensor(Name),
    /// Two metadata entries have the same key.
    DuplicateKey(Name),
    /// A key, string value or tensor name is not UTF-8.
    InvalidUtf8 {
        /// `"key"`, `"string value"` or `"tensor name"`.
        what: &'static str,
        /// Offset of the string's first byte.
        offset: u64,
    },
    /// A tensor has 0 or more than 4 dimensions.
    BadDims {
        /// Tensor name.
        name: Name,
        /// The dimension count read.
        n_dims: u32,
    },
    /// A tensor's row length `ne0` is not a whole number of blocks of its type.
    DimsNotBlockMultiple {
        /// Tensor name.
        name: Name,
        /// Elements per row.
        ne0: u64,
        /// Elements per block of the tensor's type.
        block: u32,
    },
    /// A count is above the reader's cap (see [`limits`](super::limits)).
    TooManyItems {
        /// What is counted.
        what: &'static str,
        /// The count read.
        count: u64,
        /// The cap.
        max: u64,
    },
    /// Arrays are nested deeper than [`limits::MAX_ARRAY_DEPTH`](super::limits::MAX_ARRAY_DEPTH).
    NestingTooDeep {
        /// Key of the entry.
        key: Name,
        /// The depth reached (1 = a plain array).
        depth: u32,
    },
    /// `general.alignment` is 0 or not a power of two.
    BadAlignment(u64),
    /// A requested key is not in the file.
    MissingKey(Name),
    /// A key holds a value of another type than the one asked for.
    WrongType {
        /// The key.
        key: Name,
        /// What the caller asked for (`"u32"`, `"array of string"`, …).
        expected: &'static str,
        /// What the file holds.
        found: &'static str,
    },
    /// A key holds an integer of an accepted type whose value does not fit the asked type.
    ValueOutOfRange {
        /// The key.
        key: Name,
        /// The asked type.
        expected: &'static str,
    },
}

/// Coarse classes of [`Error`], for callers that branch on the cause, not the detail.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The buffer ends early (header field or tensor data).
    Truncated,
    /// The bytes are not a valid GGUF file.
    Malformed,
    /// Valid GGUF that this reader does not support (version, value or tensor type).
    Unsupported,
    /// A count or nesting depth is above the reader's caps.
    LimitExceeded,
    /// A requested key is absent.
    MissingKey,
    /// A requested key has another type, or its value is out of range.
    WrongType,
}

impl Error {
    /// The coarse class of this error.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Truncated { .. } | Error::TensorOutOfBounds { .. } => ErrorKind::Truncated,
            Error::BadMagic(_)
            | Error::Overflow { .. }
            | Error::MisalignedTensor { .. }
            | Error::DuplicateTensor(_)
            | Error::DuplicateKey(_)
            | Error::InvalidUtf8 { .. }
            | Error::BadDims { .. }
            | Error::DimsNotBlockMultiple { .. }
            | Error::BadAlignment(_) => ErrorKind::Malformed,
            Error::UnsupportedVersion(_)
            | Error::UnknownValueType { .. }
            | Error::UnknownTensorType { .. } => ErrorKind::Unsupported,
            Error::TooManyItems { .. } | Error::NestingTooDeep { .. } => ErrorKind::LimitExceeded,
            Error::MissingKey(_) => ErrorKind::MissingKey,
            Error::WrongType { .. } | Error::ValueOutOfRange { .. } => ErrorKind::WrongType,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Truncated {
                what,
                offset,
                needed,
                available,
            } => write!(
                f,
                "truncated GGUF: {what} at offset {offset} needs {needed} bytes, {available} left"
            ),
            Error::BadMagic(m) => write!(
                f,
                "not a GGUF file: magic {:02x} {:02x} {:02x} {:02x}, expected \"GGUF\"",
                m[0], m[1], m[2], m[3]
            ),
            Error::UnsupportedVersion(v) => {
                write!(f, "unsupported GGUF version {v} (2 and 3 are supported)")?;
                if matches!(v.swap_bytes(), 2 | 3) {
                    f.write_str("; this looks like a big-endian file")?;
                }
                Ok(())
            }
            Error::UnknownValueType { key, ty } => {
                write!(f, "key {key}: unknown GGUF value type {ty}")
            }
            Error::UnknownTensorType { name, ty } => {
                write!(f, "tensor {name}: unknown ggml type {ty}")
            }
            Error::Overflow { what } => write!(f, "GGUF {what} overflows"),
            Error::TensorOutOfBounds {
                name,
                start,
                end,
                file_len,
            } => write!(
                f,
                "truncated: tensor {name} needs bytes {start}..{end}, file has {file_len}"
            ),
            Error::MisalignedTensor {
                name,
                offset,
                alignment,
            } => write!(
                f,
                "tensor {name}: data offset {offset} is not a multiple of the alignment {alignment}"
            ),
            Error::DuplicateTensor(name) => write!(f, "duplicate tensor name {name}"),
            Error::DuplicateKey(key) => write!(f, "duplicate metadata key {key}"),
            Error::InvalidUtf8 { what, offset } => {
                write!(f, "{what} at offset {offset} is not valid UTF-8")
            }
            Error::BadDims { name, n_dims } => write!(
                f,
                "tensor {name}: {n_dims} dimensions (1 to 4 are supported)"
            ),
            Error::DimsNotBlockMultiple { name, ne0, block } => write!(
                f,
                "tensor {name}: row length {ne0} is not a multiple of the block size {block}"
            ),
            Error::TooManyItems { what, count, max } => {
                write!(f, "GGUF {what}: {count} is above the limit {max}")
            }
            Error::NestingTooDeep { key, depth } => write!(
                f,
                "key {key}: arrays nested {depth} deep (limit {})",
                super::limits::MAX_ARRAY_DEPTH
            ),
            Error::BadAlignment(a) => {
                write!(f, "general.alignment {a} is not a power of two")
            }
            Error::MissingKey(key) => write!(f, "metadata key {key} is missing"),
            Error::WrongType {
                key,
                expected,
                found,
            } => write!(f, "metadata key {key}: expected {expected}, found {found}"),
            Error::ValueOutOfRange { key, expected } => {
                write!(f, "metadata key {key}: value does not fit in {expected}")
            }
        }
    }
}

impl core::error::Error for Error {}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;

    #[test]
    fn short_names_are_kept_whole() {
        let n = Name::new("blk.0.attn_q.weight");
        assert_eq!(
            (n.as_str(), n.is_truncated()),
            ("blk.0.attn_q.weight", false)
        );
        assert_eq!(n, "blk.0.attn_q.weight");
        assert_eq!(n.to_string(), "blk.0.attn_q.weight");
        let exact = "x".repeat(Name::CAPACITY);
        assert!(!Name::new(&exact).is_truncated());
    }

    #[test]
    fn long_names_are_cut_at_a_char_boundary() {
        // 63 ASCII bytes then a 3-byte char: the char does not fit and is dropped whole.
        let s = alloc::format!("{}€tail", "a".repeat(63));
        let n = Name::new(&s);
        assert_eq!(n.as_str(), "a".repeat(63));
        assert!(n.is_truncated());
        assert_ne!(n, s.as_str());
        assert!(n.to_string().ends_with('…'));
    }

    #[test]
    fn kinds_group_variants() {
        assert_eq!(Error::BadMagic(*b"ABCD").kind(), ErrorKind::Malformed);
        assert_eq!(Error::UnsupportedVersion(1).kind(), ErrorKind::Unsupported);
        let t = Error::Truncated {
            what: "magic",
            offset: 0,
            needed: 4,
            available: 1,
        };
        assert_eq!(t.kind(), ErrorKind::Truncated);
        assert_eq!(
            t.to_string(),
            "truncated GGUF: magic at offset 0 needs 4 bytes, 1 left"
        );
        assert_eq!(
            Error::MissingKey(Name::new("k")).kind(),
            ErrorKind::MissingKey
        );
    }
}

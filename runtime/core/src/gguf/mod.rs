//! Zero-copy GGUF reader (versions 2 and 3) over a byte slice.
//!
//! [`File::parse`] reads and checks the header, the metadata table and the tensor table of a
//! GGUF buffer (an mmap, XIP flash, `include_bytes!`) and keeps only a small index: keys,
//! strings, arrays and tensor data are borrowed from the buffer and decoded on access.
//!
//! Layout (all little-endian): magic `GGUF`, u32 version, u64 tensor count, u64 metadata
//! count, the metadata entries (u64-length key, u32 [`ValueType`], value), the tensor
//! entries (u64-length name, u32 n_dims, n_dims × u64 dims with `ne0` first, u32
//! [`GgmlType`], u64 offset), padding to `general.alignment` (default 32), then the tensor
//! data. Source: ggml `gguf.h` / `gguf.cpp` and the GGUF specification in ggml's docs.
//!
//! # What is checked, and when
//!
//! The reader is a security boundary. Every count, length, offset and dimension is checked
//! with checked arithmetic against the bytes left before it is used, nothing is allocated
//! by a count read from the file before the bytes behind it are known to exist, and
//! failures are [`Error`] values, never panics.
//!
//! [`File::parse`] checks the whole header: magic, version (1 is refused: it used 32-bit
//! counts), every key and string (UTF-8), every value type and array (bounds, nesting depth
//! up to [`limits::MAX_ARRAY_DEPTH`]), duplicate keys and tensor names, `general.alignment`
//! (a power of two), every tensor's dims (1 to 4, element count within `i64`, `ne0` a
//! multiple of the block size), type and offset (a multiple of the alignment, end within
//! `u64`). It does **not** require the tensor data to be present, so a file whose header is
//! complete but whose data is cut (a partial download, the R1 head file) still parses and
//! its metadata can be read; [`File::tensor_data`] and [`File::check_tensor_data`] check
//! data bounds.
//!
//! Decisions where llama.cpp differs: tensors with 0 dims are refused (llama.cpp reads them
//! as scalars; no model uses them); tensor offsets need not be packed in file order
//! (llama.cpp requires it; the format does not); `general.alignment` may be any integer type
//! (llama.cpp wants u32); nested arrays are read (llama.cpp refuses them); a bool byte other
//! than 0 reads as true. As in llama.cpp, the data section starts at the end of the tensor
//! table rounded up to the alignment when there are tensors, and right at the end of the
//! table when there are none.

mod array;
mod error;
mod file;
mod reader;
mod tensor;
mod value;
pub mod writer;

pub use crate::GgmlType;
pub use array::{Array, ArrayIter, Scalar, Scalars, StrArray};
pub use error::{Error, ErrorKind, Name};
pub use file::File;
pub use tensor::TensorInfo;
pub use value::{Value, ValueType};
pub use writer::Writer;

/// Caps on counts read from a file. Values above them are [`Error::TooManyItems`] or
/// [`Error::NestingTooDeep`], so a hostile header cannot make the reader build a large index.
pub mod limits {
    /// Most tensors in one file (the largest published models have a few thousand).
    pub const MAX_TENSORS: u64 = 1 << 16;
    /// Most metadata entries in one file (real files have 20 to 50).
    pub const MAX_KV: u64 = 1 << 16;
    /// Deepest array nesting: 1 is a plain array, 2 an array of arrays, …
    pub const MAX_ARRAY_DEPTH: u32 = 8;
    /// Most dims of a tensor (ggml's `GGML_MAX_DIMS`).
    pub const MAX_DIMS: u32 = 4;
}

/// The default `general.alignment` (ggml's `GGUF_DEFAULT_ALIGNMENT`).
pub const DEFAULT_ALIGNMENT: u64 = 32;

/// The four magic bytes at the start of every GGUF file.
pub const MAGIC: [u8; 4] = *b"GGUF";

/// The metadata key that sets the alignment of tensor data.
pub const ALIGNMENT_KEY: &str = "general.alignment";

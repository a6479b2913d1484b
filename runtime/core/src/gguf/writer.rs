//! A small in-memory GGUF writer, for tests, fuzz seeds and tools that make tiny models.
//!
//! It writes whatever it is told, including files the reader must refuse (raw value and
//! tensor types, wrong counts, misaligned offsets), so tests can build malformed inputs.
//!
//! ```
//! use bague::gguf::{File, GgmlType, Writer, writer::Val};
//! let mut w = Writer::new();
//! w.kv("general.architecture", Val::Str("llama"))
//!     .tensor("t", GgmlType::F32, &[2], &[0u8; 8]);
//! let bytes = w.finish();
//! let f = File::parse(&bytes).unwrap();
//! assert_eq!(f.get_str("general.architecture").unwrap(), "llama");
//! ```

use alloc::vec::Vec;

use super::value::ValueType;
use super::{ALIGNMENT_KEY, DEFAULT_ALIGNMENT, MAGIC};
use crate::GgmlType;

/// A value to write. Arrays give their element type and elements (each element is written
/// without its own type tag, as GGUF stores them; a mismatching element makes a malformed
/// file on purpose).
#[derive(Clone, Copy, Debug)]
pub enum Val<'v> {
    /// `u8`.
    U8(u8),
    /// `i8`.
    I8(i8),
    /// `u16`.
    U16(u16),
    /// `i16`.
    I16(i16),
    /// `u32`.
    U32(u32),
    /// `i32`.
    I32(i32),
    /// `f32`.
    F32(f32),
    /// `bool` (one byte).
    Bool(bool),
    /// UTF-8 string.
    Str(&'v str),
    /// Array of `Val`s with the given element type.
    Array(ValueType, &'v [Val<'v>]),
    /// `u64`.
    U64(u64),
    /// `i64`.
    I64(i64),
    /// `f64`.
    F64(f64),
    /// Array of strings (shorthand).
    StrArray(&'v [&'v str]),
    /// Array of u32 (shorthand).
    U32Array(&'v [u32]),
    /// Array of i32 (shorthand).
    I32Array(&'v [i32]),
    /// Array of f32 (shorthand).
    F32Array(&'v [f32]),
}

impl Val<'_> {
    /// The GGUF type tag written before this value.
    pub fn ty(&self) -> ValueType {
        match self {
            Val::U8(_) => ValueType::U8,
            Val::I8(_) => ValueType::I8,
            Val::U16(_) => ValueType::U16,
            Val::I16(_) => ValueType::I16,
            Val::U32(_) => ValueType::U32,
            Val::I32(_) => ValueType::I32,
            Val::F32(_) => ValueType::F32,
            Val::Bool(_) => ValueType::Bool,
            Val::Str(_) => ValueType::Str,
            Val::U64(_) => ValueType::U64,
            Val::I64(_) => ValueType::I64,
            Val::F64(_) => ValueType::F64,
            Val::Array(..)
            | Val::StrArray(_)
            | Val::U32Array(_)
            | Val::I32Array(_)
            | Val::F32Array(_) => ValueType::Array,
        }
    }

    /// Appends the value's payload (no type tag) to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        match *self {
            Val::U8(v) => out.push(v),
            Val::I8(v) => out.extend_from_slice(&v.to_le_bytes()),
            Val::U16(v) => out.extend_from_slice(&v.to_le_bytes()),
            Val::I16(v) => out.extend_from_slice(&v.to_le_bytes()),
            Val::U32(v) => out.extend_from_slice(&v.to_le_bytes()),
            Val::I32(v) => out.extend_from_slice(&v.to_le_bytes()),
            Val::F32(v) => out.extend_from_slice(&v.to_le_bytes()),
            Val::Bool(v) => out.push(v as u8),
            Val::Str(s) => encode_str(out, s.as_bytes()),
            Val::U64(v) => out.extend_from_slice(&v.to_le_bytes()),
            Val::I64(v) => out.extend_from_slice(&v.to_le_bytes()),
            Val::F64(v) => out.extend_from_slice(&v.to_le_bytes()),
            Val::Array(elem, items) => {
                array_header(out, elem as u32, items.len() as u64);
                for it in items {
                    it.encode(out);
                }
            }
            Val::StrArray(items) => {
                array_header(out, ValueType::Str as u32, items.len() as u64);
                for s in items {
                    encode_str(out, s.as_bytes());
                }
            }
            Val::U32Array(items) => {
                array_header(out, ValueType::U32 as u32, items.len() as u64);
                items
                    .iter()
                    .for_each(|v| out.extend_from_slice(&v.to_le_bytes()));
            }
            Val::I32Array(items) => {
                array_header(out, ValueType::I32 as u32, items.len() as u64);
                items
                    .iter()
                    .for_each(|v| out.extend_from_slice(&v.to_le_bytes()));
            }
            Val::F32Array(items) => {
                array_header(out, ValueType::F32 as u32, items.len() as u64);
                items
                    .iter()
                    .for_each(|v| out.extend_from_slice(&v.to_le_bytes()));
            }
        }
    }
}

/// Appends a GGUF string: u64 length, then the bytes (which need not be UTF-8).
pub fn encode_str(out: &mut Vec<u8>, s: &[u8]) {
    out.extend_from_slice(&(s.len() as u64).to_le_bytes());
    out.extend_from_slice(s);
}

/// Appends an array header: u32 element type, u64 length.
pub fn array_header(out: &mut Vec<u8>, elem_ty: u32, len: u64) {
    out.extend_from_slice(&elem_ty.to_le_bytes());
    out.extend_from_slice(&len.to_le_bytes());
}

/// Builds a GGUF file in memory: `new`, add metadata and tensors, `finish`.
#[derive(Clone, Debug)]
pub struct Writer {
    version: u32,
    alignment: u64,
    kv: Vec<u8>,
    n_kv: u64,
    infos: Vec<u8>,
    n_tensors: u64,
    data: Vec<u8>,
    count_override: (Option<u64>, Option<u64>),
}

impl Default for Writer {
    fn default() -> Self {
        Self::new()
    }
}

impl Writer {
    /// An empty version-3 file with the default alignment (32).
    pub fn new() -> Self {
        Writer {
            version: 3,
            alignment: DEFAULT_ALIGNMENT,
            kv: Vec::new(),
            n_kv: 0,
            infos: Vec::new(),
            n_tensors: 0,
            data: Vec::new(),
            count_override: (None, None),
        }
    }

    /// Sets the version field (2 and 3 are valid; anything else makes a bad file).
    pub fn version(&mut self, v: u32) -> &mut Self {
        self.version = v;
        self
    }

    /// Writes `general.alignment = a` (u32) and pads the data section to `a`. Call before
    /// adding tensors. `a` must be a power of two for the padding to work (for bad
    /// alignments write the key with [`Writer::kv`]).
    pub fn alignment(&mut self, a: u32) -> &mut Self {
        self.kv(ALIGNMENT_KEY, Val::U32(a));
        if a.is_power_of_two() {
            self.alignment = a.into();
        }
        self
    }

    /// Adds a metadata entry.
    pub fn kv(&mut self, key: &str, v: Val<'_>) -> &mut Self {
        encode_str(&mut self.kv, key.as_bytes());
        self.kv.extend_from_slice(&(v.ty() as u32).to_le_bytes());
        v.encode(&mut self.kv);
        self.n_kv += 1;
        self
    }

    /// Adds a metadata entry from raw parts: key bytes (any), type number (any), payload.
    pub fn kv_raw(&mut self, key: &[u8], ty: u32, payload: &[u8]) -> &mut Self {
        encode_str(&mut self.kv, key);
        self.kv.extend_from_slice(&ty.to_le_bytes());
        self.kv.extend_from_slice(payload);
        self.n_kv += 1;
        self
    }

    /// Adds a tensor: its info, and `data` at the next aligned offset of the data section.
    /// `dims` is ne0 first. `data` should be `ty.row_bytes(ne0) * rows` bytes.
    pub fn tensor(&mut self, name: &str, ty: GgmlType, dims: &[u64], data: &[u8]) -> &mut Self {
        let offset = self.data.len() as u64;
        self.tensor_raw(name.as_bytes(), dims.len() as u32, dims, ty as u32, offset);
        self.data.extend_from_slice(data);
        self.pad_data();
        self
    }

    /// Adds a tensor info from raw parts (no data): name bytes, `n_dims` (written as is),
    /// the dims to write, type number and offset.
    pub fn tensor_raw(
        &mut self,
        name: &[u8],
        n_dims: u32,
        dims: &[u64],
        ty: u32,
        offset: u64,
    ) -> &mut Self {
        encode_str(&mut self.infos, name);
        self.infos.extend_from_slice(&n_dims.to_le_bytes());
        for d in dims {
            self.infos.extend_from_slice(&d.to_le_bytes());
        }
        self.infos.extend_from_slice(&ty.to_le_bytes());
        self.infos.extend_from_slice(&offset.to_le_bytes());
        self.n_tensors += 1;
        self
    }

    /// Appends raw bytes to the data section (then pads it to the alignment).
    pub fn data(&mut self, bytes: &[u8]) -> &mut Self {
        self.data.extend_from_slice(bytes);
        self.pad_data();
        self
    }

    /// Writes these counts in the header instead of the real ones.
    pub fn counts(&mut self, n_tensors: Option<u64>, n_kv: Option<u64>) -> &mut Self {
        self.count_override = (n_tensors, n_kv);
        self
    }

    fn pad_data(&mut self) {
        while self.data.len() as u64 % self.alignment != 0 {
            self.data.push(0);
        }
    }

    /// Offset in the finished file where the tensor table starts (after magic, version,
    /// counts and metadata).
    pub fn tensor_table_offset(&self) -> usize {
        24 + self.kv.len()
    }

    /// The file bytes: header, metadata, tensor table, padding, data (padding only when
    /// there are tensors, as ggml writes it).
    pub fn finish(&self) -> Vec<u8> {
        let mut out =
            Vec::with_capacity(24 + self.kv.len() + self.infos.len() + self.data.len() + 64);
        out.extend_from_slice(&MAGIC);
        out.extend_from_slice(&self.version.to_le_bytes());
        let n_tensors = self.count_override.0.unwrap_or(self.n_tensors);
        let n_kv = self.count_override.1.unwrap_or(self.n_kv);
        out.extend_from_slice(&n_tensors.to_le_bytes());
        out.extend_from_slice(&n_kv.to_le_bytes());
        out.extend_from_slice(&self.kv);
        out.extend_from_slice(&self.infos);
        if self.n_tensors > 0 {
            while out.len() as u64 % self.alignment != 0 {
                out.push(0);
            }
        }
        out.extend_from_slice(&self.data);
        out
    }
}

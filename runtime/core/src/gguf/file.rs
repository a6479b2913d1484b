//! [`File`]: parsing the header into a small index, and typed access to metadata and tensors.

use alloc::vec::Vec;

use super::array::{Array, StrArray};
use super::error::{Error, Name};
use super::limits::{MAX_KV, MAX_TENSORS};
use super::reader::Reader;
use super::tensor::{MIN_ENTRY_BYTES, TensorInfo, entry_name, read_tensor_info};
use super::value::{Value, ValueType, read_value};
use super::{ALIGNMENT_KEY, DEFAULT_ALIGNMENT, MAGIC};

/// Minimal bytes of one metadata entry: empty key, type, a one-byte value.
const MIN_KV_BYTES: usize = 8 + 4 + 1;

/// Where one metadata entry lives in the buffer (validated at parse).
#[derive(Clone, Copy, Debug)]
struct KvEntry {
    /// Start of the key bytes (after the length).
    key_pos: usize,
    /// Key length in bytes.
    key_len: usize,
    ty: ValueType,
    /// Start of the value.
    value_pos: usize,
    /// One past the value's last byte.
    value_end: usize,
}

/// A parsed GGUF file: header facts plus an index of the metadata and tensor tables, all
/// borrowing `&'a [u8]`.
///
/// The index holds, per metadata entry, five offsets, and per tensor one offset plus one
/// `u32` for name lookup; everything else is decoded from the buffer on access. Lookups by
/// key or tensor name are binary searches.
#[derive(Clone, Debug)]
pub struct File<'a> {
    bytes: &'a [u8],
    version: u32,
    alignment: u64,
    header_len: u64,
    data_offset: u64,
    data_end: u64,
    /// Metadata entries in file order.
    kvs: Vec<KvEntry>,
    /// Indices into `kvs`, sorted by key bytes.
    kv_sorted: Vec<u32>,
    /// Start of each tensor-table entry, in file order.
    tensors: Vec<usize>,
    /// Indices into `tensors`, sorted by name bytes.
    tensor_sorted: Vec<u32>,
}

impl<'a> File<'a> {
    /// Heap bytes of this parsed file's key and tensor index (what [`File::parse`]
    /// allocated; the memory plan counts them).
    pub fn index_bytes(&self) -> usize {
        use core::mem::size_of;
        self.kvs.capacity() * size_of::<KvEntry>()
            + self.kv_sorted.capacity() * size_of::<u32>()
            + self.tensors.capacity() * size_of::<usize>()
            + self.tensor_sorted.capacity() * size_of::<u32>()
    }

    /// Parses and checks the header, metadata and tensor table of a GGUF buffer.
    ///
    /// Succeeds when the header is complete even if tensor data is missing (see
    /// [`File::check_tensor_data`]). Errors: every [`Error`] variant except
    /// `TensorOutOfBounds`, `MissingKey`; see the module docs for the checks.
    pub fn parse(bytes: &'a [u8]) -> Result<File<'a>, Error> {
        let mut r = Reader::new(bytes, 0);
        let magic = r.array::<4>("magic")?;
        if magic != MAGIC {
            return Err(Error::BadMagic(magic));
        }
        let version = r.u32("version")?;
        if !matches!(version, 2 | 3) {
            return Err(Error::UnsupportedVersion(version));
        }
        let n_tensors = r.u64("tensor count")?;
        if n_tensors > MAX_TENSORS {
            return Err(Error::TooManyItems {
                what: "tensor count",
                count: n_tensors,
                max: MAX_TENSORS,
            });
        }
        let n_kv = r.u64("metadata count")?;
        if n_kv > MAX_KV {
            return Err(Error::TooManyItems {
                what: "metadata count",
                count: n_kv,
                max: MAX_KV,
            });
        }

        // Metadata. The index never reserves more entries than the bytes left could hold.
        let mut kvs = Vec::with_capacity((n_kv as usize).min(r.remaining() / MIN_KV_BYTES));
        for _ in 0..n_kv {
            let key = r.str("key length", "key")?;
            let key_pos = r.pos - key.len();
            let raw_ty = r.u32("value type")?;
            let ty = ValueType::from_u32(raw_ty).ok_or(Error::UnknownValueType {
                key: Name::new(key),
                ty: raw_ty,
            })?;
            let value_pos = r.pos;
            read_value(&mut r, ty, key, 0)?;
            kvs.push(KvEntry {
                key_pos,
                key_len: key.len(),
                ty,
                value_pos,
                value_end: r.pos,
            });
        }
        let mut kv_sorted: Vec<u32> = (0..kvs.len() as u32).collect();
        kv_sorted
            .sort_unstable_by(|&a, &b| key_bytes(bytes, &kvs, a).cmp(key_bytes(bytes, &kvs, b)));
        if let Some(w) = kv_sorted
            .windows(2)
            .find(|w| key_bytes(bytes, &kvs, w[0]) == key_bytes(bytes, &kvs, w[1]))
        {
            let key = core::str::from_utf8(key_bytes(bytes, &kvs, w[0])).unwrap_or("");
            return Err(Error::DuplicateKey(Name::new(key)));
        }

        let mut file = File {
            bytes,
            version,
            alignment: DEFAULT_ALIGNMENT,
            header_len: 0,
            data_offset: 0,
            data_end: 0,
            kvs,
            kv_sorted,
            tensors: Vec::new(),
            tensor_sorted: Vec::new(),
        };
        if file.get(ALIGNMENT_KEY).is_some() {
            let a = file.get_u32(ALIGNMENT_KEY)?;
            if !a.is_power_of_two() {
                return Err(Error::BadAlignment(a.into()));
            }
            file.alignment = a.into();
        }

        // Tensor table.
        let mut tensors =
            Vec::with_capacity((n_tensors as usize).min(r.remaining() / MIN_ENTRY_BYTES));
        let mut rel_end = 0u64;
        for _ in 0..n_tensors {
            let pos = r.pos;
            let (_, end) = read_tensor_info(&mut r, file.alignment)?;
            rel_end = rel_end.max(end);
            tensors.push(pos);
        }
        let mut tensor_sorted: Vec<u32> = (0..tensors.len() as u32).collect();
        let name_of = |i: u32| entry_name(bytes, tensors[i as usize]);
        tensor_sorted.sort_unstable_by(|&a, &b| name_of(a).cmp(name_of(b)));
        if let Some(w) = tensor_sorted
            .windows(2)
            .find(|w| name_of(w[0]) == name_of(w[1]))
        {
            let name = core::str::from_utf8(name_of(w[0])).unwrap_or("");
            return Err(Error::DuplicateTensor(Name::new(name)));
        }

        let header_len = r.pos as u64;
        let data_offset = if n_tensors > 0 {
            align_up(header_len, file.alignment).ok_or(Error::Overflow {
                what: "data offset",
            })?
        } else {
            header_len
        };
        let data_end = data_offset.checked_add(rel_end).ok_or(Error::Overflow {
            what: "tensor data end",
        })?;
        file.header_len = header_len;
        file.data_offset = data_offset;
        file.data_end = data_end;
        file.tensors = tensors;
        file.tensor_sorted = tensor_sorted;
        Ok(file)
    }

    /// The whole buffer the file was parsed from.
    pub fn bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// GGUF version: 2 or 3.
    pub fn version(&self) -> u32 {
        self.version
    }

    /// Alignment of tensor data in bytes: `general.alignment`, default 32; a power of two.
    pub fn alignment(&self) -> u64 {
        self.alignment
    }

    /// Bytes of the header: magic through the end of the tensor table (before padding).
    pub fn header_len(&self) -> u64 {
        self.header_len
    }

    /// Absolute offset where tensor data starts (a multiple of the alignment when the file
    /// has tensors).
    pub fn data_offset(&self) -> u64 {
        self.data_offset
    }

    /// Absolute offset one past the end of the last tensor's data: the file length the
    /// header asks for (a complete file is at least this long).
    pub fn tensor_data_end(&self) -> u64 {
        self.data_end
    }

    /// Number of metadata entries.
    pub fn n_kv(&self) -> usize {
        self.kvs.len()
    }

    /// All metadata entries, in file order.
    pub fn metadata(&self) -> impl Iterator<Item = (&'a str, Value<'a>)> + '_ {
        let bytes = self.bytes;
        self.kvs
            .iter()
            .filter_map(move |e| Some((entry_key(bytes, e)?, entry_value(bytes, e)?)))
    }

    /// The value of `key`, if present.
    pub fn get(&self, key: &str) -> Option<Value<'a>> {
        let i = self
            .kv_sorted
            .binary_search_by(|&i| key_bytes(self.bytes, &self.kvs, i).cmp(key.as_bytes()))
            .ok()?;
        let e = self.kvs.get(*self.kv_sorted.get(i)? as usize)?;
        entry_value(self.bytes, e)
    }

    fn require(&self, key: &str) -> Result<Value<'a>, Error> {
        self.get(key)
            .ok_or_else(|| Error::MissingKey(Name::new(key)))
    }

    fn integer<T: TryFrom<i128>>(&self, key: &str, expected: &'static str) -> Result<T, Error> {
        let v = self.require(key)?;
        let wide = v.as_i128().ok_or_else(|| wrong_type(key, expected, &v))?;
        T::try_from(wide).map_err(|_| Error::ValueOutOfRange {
            key: Name::new(key),
            expected,
        })
    }

    /// `key` as `u32`: any integer type whose value fits (llama.cpp files mix u32 and i32).
    /// Errors: `MissingKey`, `WrongType`, `ValueOutOfRange`.
    pub fn get_u32(&self, key: &str) -> Result<u32, Error> {
        self.integer(key, "u32")
    }

    /// `key` as `u64`: any integer type whose value fits.
    /// Errors: `MissingKey`, `WrongType`, `ValueOutOfRange`.
    pub fn get_u64(&self, key: &str) -> Result<u64, Error> {
        self.integer(key, "u64")
    }

    /// `key` as `i64`: any integer type whose value fits.
    /// Errors: `MissingKey`, `WrongType`, `ValueOutOfRange`.
    pub fn get_i64(&self, key: &str) -> Result<i64, Error> {
        self.integer(key, "i64")
    }

    /// `key` as `f32`: an f32, or an f64 rounded. Errors: `MissingKey`, `WrongType`.
    pub fn get_f32(&self, key: &str) -> Result<f32, Error> {
        let v = self.require(key)?;
        v.as_f32().ok_or_else(|| wrong_type(key, "f32", &v))
    }

    /// `key` as `bool`. Errors: `MissingKey`, `WrongType`.
    pub fn get_bool(&self, key: &str) -> Result<bool, Error> {
        let v = self.require(key)?;
        v.as_bool().ok_or_else(|| wrong_type(key, "bool", &v))
    }

    /// `key` as a string borrowed from the file. Errors: `MissingKey`, `WrongType`.
    pub fn get_str(&self, key: &str) -> Result<&'a str, Error> {
        let v = self.require(key)?;
        v.as_str().ok_or_else(|| wrong_type(key, "string", &v))
    }

    /// `key` as an array of any element type. Errors: `MissingKey`, `WrongType`.
    pub fn get_array(&self, key: &str) -> Result<Array<'a>, Error> {
        let v = self.require(key)?;
        v.as_array().ok_or_else(|| wrong_type(key, "array", &v))
    }

    /// `key` as an array of strings (lazy). Errors: `MissingKey`, `WrongType`.
    pub fn get_str_array(&self, key: &str) -> Result<StrArray<'a>, Error> {
        let v = self.require(key)?;
        v.as_array()
            .and_then(|a| a.as_str_array())
            .ok_or_else(|| wrong_type(key, "array of string", &v))
    }

    /// Number of tensors.
    pub fn n_tensors(&self) -> usize {
        self.tensors.len()
    }

    /// All tensor infos, in file order.
    pub fn tensors(&self) -> impl Iterator<Item = TensorInfo<'a>> + '_ {
        let (bytes, alignment) = (self.bytes, self.alignment);
        self.tensors
            .iter()
            .filter_map(move |&pos| tensor_at(bytes, pos, alignment))
    }

    /// The tensor named `name`, if present.
    pub fn tensor(&self, name: &str) -> Option<TensorInfo<'a>> {
        let i = self
            .tensor_sorted
            .binary_search_by(|&i| {
                let pos = self.tensors.get(i as usize).copied().unwrap_or(usize::MAX);
                entry_name(self.bytes, pos).cmp(name.as_bytes())
            })
            .ok()?;
        let pos = *self.tensors.get(*self.tensor_sorted.get(i)? as usize)?;
        tensor_at(self.bytes, pos, self.alignment)
    }

    /// The data bytes of `t` (`t.n_bytes()` bytes at `data_offset + t.offset`), borrowed
    /// from the buffer. Errors: `TensorOutOfBounds` when the buffer ends before the data
    /// does, `Overflow` for a hand-made info whose end does not fit in 64 bits.
    pub fn tensor_data(&self, t: &TensorInfo<'a>) -> Result<&'a [u8], Error> {
        let overflow = Error::Overflow {
            what: "tensor data end",
        };
        let start = self.data_offset.checked_add(t.offset).ok_or(overflow)?;
        let end = start.checked_add(t.n_bytes()).ok_or(overflow)?;
        let file_len = self.bytes.len() as u64;
        let oob = Error::TensorOutOfBounds {
            name: Name::new(t.name),
            start,
            end,
            file_len,
        };
        if end > file_len {
            return Err(oob);
        }
        // start <= end <= len <= usize::MAX, so both fit.
        let (s, e) = (
            usize::try_from(start).map_err(|_| oob)?,
            usize::try_from(end).map_err(|_| oob)?,
        );
        self.bytes.get(s..e).ok_or(oob)
    }

    /// Checks that every tensor's data lies inside the buffer. Errors: `TensorOutOfBounds`
    /// for the first tensor in file order that does not ("truncated: tensor output.weight
    /// needs bytes A..B, file has N").
    pub fn check_tensor_data(&self) -> Result<(), Error> {
        self.tensors()
            .try_for_each(|t| self.tensor_data(&t).map(|_| ()))
    }
}

fn wrong_type(key: &str, expected: &'static str, found: &Value<'_>) -> Error {
    Error::WrongType {
        key: Name::new(key),
        expected,
        found: found.type_name(),
    }
}

/// `v` rounded up to a multiple of `align` (a power of two), or `None` on overflow.
fn align_up(v: u64, align: u64) -> Option<u64> {
    let mask = align - 1;
    v.checked_add(mask).map(|x| x & !mask)
}

fn key_bytes<'b>(bytes: &'b [u8], kvs: &[KvEntry], i: u32) -> &'b [u8] {
    kvs.get(i as usize)
        .and_then(|e| bytes.get(e.key_pos..e.key_pos + e.key_len))
        .unwrap_or(&[])
}

fn entry_key<'a>(bytes: &'a [u8], e: &KvEntry) -> Option<&'a str> {
    core::str::from_utf8(bytes.get(e.key_pos..e.key_pos + e.key_len)?).ok()
}

/// Decodes an entry's value without walking arrays again (their span is in the index).
fn entry_value<'a>(bytes: &'a [u8], e: &KvEntry) -> Option<Value<'a>> {
    if e.ty == ValueType::Array {
        return Array::trusted(bytes, e.value_pos, e.value_end).map(Value::Array);
    }
    let mut r = Reader::new(bytes.get(..e.value_end)?, e.value_pos);
    read_value(&mut r, e.ty, "", 0).ok()
}

fn tensor_at(bytes: &[u8], pos: usize, alignment: u64) -> Option<TensorInfo<'_>> {
    read_tensor_info(&mut Reader::new(bytes, pos), alignment)
        .ok()
        .map(|(t, _)| t)
}

#[cfg(test)]
mod tests {
    use super::align_up;

    #[test]
    fn align_up_rounds_to_powers_of_two() {
        assert_eq!(align_up(0, 32), Some(0));
        assert_eq!(align_up(1, 32), Some(32));
        assert_eq!(align_up(64, 32), Some(64));
        assert_eq!(align_up(65, 1), Some(65));
        assert_eq!(align_up(u64::MAX - 2, 4), None);
        assert_eq!(align_up(!7, 8), Some(!7));
    }
}

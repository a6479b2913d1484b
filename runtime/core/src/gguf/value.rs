//! Metadata values: the GGUF value types and [`Value`], read and checked in place.
//!
//! A value is read in place: strings borrow the file bytes, arrays keep the byte range of
//! their elements and decode them as they are iterated (nested arrays included).

use core::fmt;

use super::array::Array;
use super::error::{Error, Name};
use super::limits::MAX_ARRAY_DEPTH;
use super::reader::Reader;

/// A GGUF metadata value type, with the file's numbering (`gguf_type` in ggml).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u32)]
pub enum ValueType {
    /// `u8`.
    U8 = 0,
    /// `i8`.
    I8 = 1,
    /// `u16`, little-endian.
    U16 = 2,
    /// `i16`, little-endian.
    I16 = 3,
    /// `u32`, little-endian.
    U32 = 4,
    /// `i32`, little-endian.
    I32 = 5,
    /// IEEE `f32`, little-endian.
    F32 = 6,
    /// One byte, 0 = false (any other value reads as true).
    Bool = 7,
    /// u64 byte length, then UTF-8 bytes (no terminator).
    Str = 8,
    /// u32 element type, u64 element count, then the elements.
    Array = 9,
    /// `u64`, little-endian.
    U64 = 10,
    /// `i64`, little-endian.
    I64 = 11,
    /// IEEE `f64`, little-endian.
    F64 = 12,
}

impl ValueType {
    /// The type with GGUF number `v`, or `None` outside 0..=12.
    pub fn from_u32(v: u32) -> Option<Self> {
        use ValueType::*;
        Some(match v {
            0 => U8,
            1 => I8,
            2 => U16,
            3 => I16,
            4 => U32,
            5 => I32,
            6 => F32,
            7 => Bool,
            8 => Str,
            9 => Array,
            10 => U64,
            11 => I64,
            12 => F64,
            _ => return None,
        })
    }

    /// Bytes of one value of a fixed-size type; `None` for strings and arrays.
    pub const fn fixed_size(self) -> Option<usize> {
        use ValueType::*;
        match self {
            U8 | I8 | Bool => Some(1),
            U16 | I16 => Some(2),
            U32 | I32 | F32 => Some(4),
            U64 | I64 | F64 => Some(8),
            Str | Array => None,
        }
    }

    /// Short name: `"u8"`, …, `"f64"`, `"bool"`, `"string"`, `"array"`.
    pub const fn name(self) -> &'static str {
        use ValueType::*;
        match self {
            U8 => "u8",
            I8 => "i8",
            U16 => "u16",
            I16 => "i16",
            U32 => "u32",
            I32 => "i32",
            F32 => "f32",
            Bool => "bool",
            Str => "string",
            Array => "array",
            U64 => "u64",
            I64 => "i64",
            F64 => "f64",
        }
    }

    /// `"array of <name>"`, for error messages.
    pub const fn array_name(self) -> &'static str {
        use ValueType::*;
        match self {
            U8 => "array of u8",
            I8 => "array of i8",
            U16 => "array of u16",
            I16 => "array of i16",
            U32 => "array of u32",
            I32 => "array of i32",
            F32 => "array of f32",
            Bool => "array of bool",
            Str => "array of string",
            Array => "array of array",
            U64 => "array of u64",
            I64 => "array of i64",
            F64 => "array of f64",
        }
    }

    /// Field name used in truncation errors for a value of this type.
    const fn what(self) -> &'static str {
        use ValueType::*;
        match self {
            U8 => "u8 value",
            I8 => "i8 value",
            U16 => "u16 value",
            I16 => "i16 value",
            U32 => "u32 value",
            I32 => "i32 value",
            F32 => "f32 value",
            Bool => "bool value",
            Str => "string value",
            Array => "array",
            U64 => "u64 value",
            I64 => "i64 value",
            F64 => "f64 value",
        }
    }
}

impl fmt::Display for ValueType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One metadata value, borrowed from the file.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Value<'a> {
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
    /// `bool`.
    Bool(bool),
    /// A UTF-8 string inside the file.
    Str(&'a str),
    /// An array, decoded lazily.
    Array(Array<'a>),
    /// `u64`.
    U64(u64),
    /// `i64`.
    I64(i64),
    /// `f64`.
    F64(f64),
}

impl<'a> Value<'a> {
    /// The value's type.
    pub fn ty(&self) -> ValueType {
        match self {
            Value::U8(_) => ValueType::U8,
            Value::I8(_) => ValueType::I8,
            Value::U16(_) => ValueType::U16,
            Value::I16(_) => ValueType::I16,
            Value::U32(_) => ValueType::U32,
            Value::I32(_) => ValueType::I32,
            Value::F32(_) => ValueType::F32,
            Value::Bool(_) => ValueType::Bool,
            Value::Str(_) => ValueType::Str,
            Value::Array(_) => ValueType::Array,
            Value::U64(_) => ValueType::U64,
            Value::I64(_) => ValueType::I64,
            Value::F64(_) => ValueType::F64,
        }
    }

    /// The type as error messages name it: `"u32"`, `"string"`, `"array of i32"`.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Array(a) => a.elem_type().array_name(),
            v => v.ty().name(),
        }
    }

    /// The value of any integer type, widened.
    pub fn as_i128(&self) -> Option<i128> {
        Some(match *self {
            Value::U8(v) => v.into(),
            Value::I8(v) => v.into(),
            Value::U16(v) => v.into(),
            Value::I16(v) => v.into(),
            Value::U32(v) => v.into(),
            Value::I32(v) => v.into(),
            Value::U64(v) => v.into(),
            Value::I64(v) => v.into(),
            _ => return None,
        })
    }

    /// An integer value that fits in `u32`.
    pub fn as_u32(&self) -> Option<u32> {
        self.as_i128().and_then(|v| u32::try_from(v).ok())
    }

    /// An integer value that fits in `u64`.
    pub fn as_u64(&self) -> Option<u64> {
        self.as_i128().and_then(|v| u64::try_from(v).ok())
    }

    /// An integer value that fits in `i64`.
    pub fn as_i64(&self) -> Option<i64> {
        self.as_i128().and_then(|v| i64::try_from(v).ok())
    }

    /// An `f32`, or an `f64` rounded to `f32`.
    pub fn as_f32(&self) -> Option<f32> {
        match *self {
            Value::F32(v) => Some(v),
            Value::F64(v) => Some(v as f32),
            _ => None,
        }
    }

    /// An `f64`, or an `f32` widened.
    pub fn as_f64(&self) -> Option<f64> {
        match *self {
            Value::F32(v) => Some(v.into()),
            Value::F64(v) => Some(v),
            _ => None,
        }
    }

    /// A `bool` value.
    pub fn as_bool(&self) -> Option<bool> {
        match *self {
            Value::Bool(v) => Some(v),
            _ => None,
        }
    }

    /// A string value.
    pub fn as_str(&self) -> Option<&'a str> {
        match *self {
            Value::Str(v) => Some(v),
            _ => None,
        }
    }

    /// An array value.
    pub fn as_array(&self) -> Option<Array<'a>> {
        match *self {
            Value::Array(v) => Some(v),
            _ => None,
        }
    }
}

/// Reads one value of type `ty` at the cursor, checking everything (bounds, UTF-8, element
/// types, nesting). `depth` is the number of arrays around this value; `key` names errors.
pub(crate) fn read_value<'a>(
    r: &mut Reader<'a>,
    ty: ValueType,
    key: &str,
    depth: u32,
) -> Result<Value<'a>, Error> {
    let what = ty.what();
    Ok(match ty {
        ValueType::U8 => Value::U8(r.u8(what)?),
        ValueType::I8 => Value::I8(r.u8(what)? as i8),
        ValueType::U16 => Value::U16(u16::from_le_bytes(r.array(what)?)),
        ValueType::I16 => Value::I16(i16::from_le_bytes(r.array(what)?)),
        ValueType::U32 => Value::U32(r.u32(what)?),
        ValueType::I32 => Value::I32(i32::from_le_bytes(r.array(what)?)),
        ValueType::F32 => Value::F32(f32::from_le_bytes(r.array(what)?)),
        ValueType::Bool => Value::Bool(r.u8(what)? != 0),
        ValueType::Str => Value::Str(r.str("string length", what)?),
        ValueType::U64 => Value::U64(r.u64(what)?),
        ValueType::I64 => Value::I64(i64::from_le_bytes(r.array(what)?)),
        ValueType::F64 => Value::F64(f64::from_le_bytes(r.array(what)?)),
        ValueType::Array => Value::Array(read_array(r, key, depth + 1)?),
    })
}

/// Reads an array header and walks its elements; `depth` counts this array (1 = outermost).
fn read_array<'a>(r: &mut Reader<'a>, key: &str, depth: u32) -> Result<Array<'a>, Error> {
    if depth > MAX_ARRAY_DEPTH {
        return Err(Error::NestingTooDeep {
            key: Name::new(key),
            depth,
        });
    }
    let raw_ty = r.u32("array element type")?;
    let elem = ValueType::from_u32(raw_ty).ok_or(Error::UnknownValueType {
        key: Name::new(key),
        ty: raw_ty,
    })?;
    let count = r.u64("array length")?;
    let start = r.pos;
    if let Some(size) = elem.fixed_size() {
        let n = count.checked_mul(size as u64).ok_or(Error::Overflow {
            what: "array byte size",
        })?;
        r.take(n, "array data")?;
    } else {
        // Each string or nested array takes at least 8 bytes, so this loop is bounded by
        // the buffer, whatever `count` says.
        for _ in 0..count {
            read_value(r, elem, key, depth)?;
        }
    }
    let data = r.bytes.get(start..r.pos).unwrap_or(&[]);
    // count <= data.len() here (every element takes >= 1 byte), so it fits in usize.
    let len = usize::try_from(count).map_err(|_| Error::Overflow {
        what: "array length",
    })?;
    Ok(Array::new(elem, len, data, depth))
}

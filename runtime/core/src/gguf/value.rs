//! Metadata values: the GGUF value types, typed scalars, and lazy views of arrays.
//!
//! A value is read in place: strings borrow the file bytes, arrays keep the byte range of
//! their elements and decode them as they are iterated (nested arrays included).

use core::fmt;
use core::marker::PhantomData;

use super::error::{Error, Name};
use super::limits::MAX_ARRAY_DEPTH;
use super::reader::{Reader, le};

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
    Ok(Array {
        elem,
        len,
        data,
        depth,
    })
}

/// A metadata array: element type, length and the bytes of its elements, decoded lazily.
///
/// Fixed-size elements can be read at random ([`Array::get`]) or as typed iterators
/// ([`Array::iter_u32`] …); strings and nested arrays are walked in order ([`Array::iter`],
/// [`Array::as_str_array`]).
#[derive(Clone, Copy, PartialEq)]
pub struct Array<'a> {
    elem: ValueType,
    len: usize,
    data: &'a [u8],
    depth: u32,
}

impl fmt::Debug for Array<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Array<{}>[{}]", self.elem, self.len)
    }
}

impl<'a> Array<'a> {
    /// Builds the view of an array already validated by [`read_value`] (trusted input:
    /// header at `pos`, elements up to `end`).
    pub(crate) fn trusted(bytes: &'a [u8], pos: usize, end: usize) -> Option<Self> {
        let mut r = Reader::new(bytes.get(..end)?, pos);
        let elem = ValueType::from_u32(r.u32("").ok()?)?;
        let len = usize::try_from(r.u64("").ok()?).ok()?;
        let data = bytes.get(r.pos..end)?;
        Some(Array {
            elem,
            len,
            data,
            depth: 1,
        })
    }

    /// Element type.
    pub fn elem_type(&self) -> ValueType {
        self.elem
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the array has no elements.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The raw little-endian bytes of the elements (as stored in the file).
    pub fn raw_bytes(&self) -> &'a [u8] {
        self.data
    }

    /// Iterates the elements as [`Value`]s (any element type, nested arrays included).
    pub fn iter(&self) -> ArrayIter<'a> {
        ArrayIter {
            array: *self,
            r: Reader::new(self.data, 0),
            left: self.len,
        }
    }

    /// Element `i` of an array of a fixed-size type; `None` if out of range or if the
    /// elements are strings or arrays.
    pub fn get(&self, i: usize) -> Option<Value<'a>> {
        let size = self.elem.fixed_size()?;
        if i >= self.len {
            return None;
        }
        let start = i.checked_mul(size)?;
        let mut r = Reader::new(self.data.get(start..start.checked_add(size)?)?, 0);
        read_value(&mut r, self.elem, "", self.depth).ok()
    }

    /// The elements as `T`, if the element type is exactly `T`'s.
    pub fn typed<T: Scalar>(&self) -> Option<Scalars<'a, T>> {
        (self.elem == T::TYPE).then_some(Scalars {
            data: self.data,
            _t: PhantomData,
        })
    }

    /// The elements as `u8` (`None` unless the element type is u8).
    pub fn iter_u8(&self) -> Option<Scalars<'a, u8>> {
        self.typed()
    }
    /// The elements as `i8` (`None` unless the element type is i8).
    pub fn iter_i8(&self) -> Option<Scalars<'a, i8>> {
        self.typed()
    }
    /// The elements as `u16` (`None` unless the element type is u16).
    pub fn iter_u16(&self) -> Option<Scalars<'a, u16>> {
        self.typed()
    }
    /// The elements as `i16` (`None` unless the element type is i16).
    pub fn iter_i16(&self) -> Option<Scalars<'a, i16>> {
        self.typed()
    }
    /// The elements as `u32` (`None` unless the element type is u32).
    pub fn iter_u32(&self) -> Option<Scalars<'a, u32>> {
        self.typed()
    }
    /// The elements as `i32` (`None` unless the element type is i32).
    pub fn iter_i32(&self) -> Option<Scalars<'a, i32>> {
        self.typed()
    }
    /// The elements as `f32` (`None` unless the element type is f32).
    pub fn iter_f32(&self) -> Option<Scalars<'a, f32>> {
        self.typed()
    }
    /// The elements as `u64` (`None` unless the element type is u64).
    pub fn iter_u64(&self) -> Option<Scalars<'a, u64>> {
        self.typed()
    }
    /// The elements as `i64` (`None` unless the element type is i64).
    pub fn iter_i64(&self) -> Option<Scalars<'a, i64>> {
        self.typed()
    }
    /// The elements as `f64` (`None` unless the element type is f64).
    pub fn iter_f64(&self) -> Option<Scalars<'a, f64>> {
        self.typed()
    }
    /// The elements as `bool` (`None` unless the element type is bool).
    pub fn iter_bool(&self) -> Option<Scalars<'a, bool>> {
        self.typed()
    }

    /// The elements as strings (`None` unless the element type is string).
    pub fn as_str_array(&self) -> Option<StrArray<'a>> {
        (self.elem == ValueType::Str).then(|| StrArray {
            r: Reader::new(self.data, 0),
            left: self.len,
        })
    }
}

impl<'a> IntoIterator for Array<'a> {
    type Item = Value<'a>;
    type IntoIter = ArrayIter<'a>;
    fn into_iter(self) -> ArrayIter<'a> {
        self.iter()
    }
}

/// Iterator over an [`Array`]'s elements as [`Value`]s, in file order.
#[derive(Clone, Debug)]
pub struct ArrayIter<'a> {
    array: Array<'a>,
    r: Reader<'a>,
    left: usize,
}

impl<'a> Iterator for ArrayIter<'a> {
    type Item = Value<'a>;

    fn next(&mut self) -> Option<Value<'a>> {
        if self.left == 0 {
            return None;
        }
        // Validated when the file was parsed; an error here cannot happen, and ends the walk.
        match read_value(&mut self.r, self.array.elem, "", self.array.depth) {
            Ok(v) => {
                self.left -= 1;
                Some(v)
            }
            Err(_) => {
                self.left = 0;
                None
            }
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left, Some(self.left))
    }
}

impl ExactSizeIterator for ArrayIter<'_> {}

/// Lazy iterator over an array of strings, borrowed from the file, in file order.
///
/// `len()` (from [`ExactSizeIterator`]) is the number of strings left.
#[derive(Clone, Debug)]
pub struct StrArray<'a> {
    r: Reader<'a>,
    left: usize,
}

impl<'a> StrArray<'a> {
    /// A fresh iterator from the current position (a copy; `self` is not advanced).
    pub fn iter(&self) -> StrArray<'a> {
        self.clone()
    }
}

impl<'a> Iterator for StrArray<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        if self.left == 0 {
            return None;
        }
        // UTF-8 and bounds were checked at parse; a failure cannot happen and ends the walk.
        match self
            .r
            .str_bytes("string")
            .ok()
            .and_then(|b| core::str::from_utf8(b).ok())
        {
            Some(s) => {
                self.left -= 1;
                Some(s)
            }
            None => {
                self.left = 0;
                None
            }
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left, Some(self.left))
    }
}

impl ExactSizeIterator for StrArray<'_> {}

mod sealed {
    pub trait Sealed {}
}

/// A fixed-size GGUF scalar type that arrays can be read as (u8 … f64, bool).
pub trait Scalar: sealed::Sealed + Copy {
    /// The matching GGUF value type.
    const TYPE: ValueType;
    /// Bytes per element.
    const SIZE: usize;
    /// Decodes one element from `SIZE` little-endian bytes.
    fn from_le(b: &[u8]) -> Self;
}

macro_rules! scalar {
    ($t:ty, $vt:ident, $n:expr) => {
        impl sealed::Sealed for $t {}
        impl Scalar for $t {
            const TYPE: ValueType = ValueType::$vt;
            const SIZE: usize = $n;
            fn from_le(b: &[u8]) -> Self {
                <$t>::from_le_bytes(le::<$n>(b))
            }
        }
    };
}
scalar!(u8, U8, 1);
scalar!(i8, I8, 1);
scalar!(u16, U16, 2);
scalar!(i16, I16, 2);
scalar!(u32, U32, 4);
scalar!(i32, I32, 4);
scalar!(f32, F32, 4);
scalar!(u64, U64, 8);
scalar!(i64, I64, 8);
scalar!(f64, F64, 8);

impl sealed::Sealed for bool {}
impl Scalar for bool {
    const TYPE: ValueType = ValueType::Bool;
    const SIZE: usize = 1;
    fn from_le(b: &[u8]) -> Self {
        b.first().is_some_and(|&x| x != 0)
    }
}

/// Typed iterator over the elements of a fixed-size array (decoded with `from_le_bytes`,
/// no alignment needed).
#[derive(Clone, Debug)]
pub struct Scalars<'a, T> {
    data: &'a [u8],
    _t: PhantomData<T>,
}

impl<T: Scalar> Iterator for Scalars<'_, T> {
    type Item = T;

    fn next(&mut self) -> Option<T> {
        let (head, tail) = self.data.split_at_checked(T::SIZE)?;
        self.data = tail;
        Some(T::from_le(head))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.data.len() / T::SIZE;
        (n, Some(n))
    }

    fn nth(&mut self, n: usize) -> Option<T> {
        let skip = n.saturating_mul(T::SIZE);
        self.data = self.data.get(skip..).unwrap_or(&[]);
        self.next()
    }
}

impl<T: Scalar> DoubleEndedIterator for Scalars<'_, T> {
    fn next_back(&mut self) -> Option<T> {
        let at = self.data.len().checked_sub(T::SIZE)?;
        let (head, tail) = self.data.split_at(at);
        self.data = head;
        Some(T::from_le(tail))
    }
}

impl<T: Scalar> ExactSizeIterator for Scalars<'_, T> {}

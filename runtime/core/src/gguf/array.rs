//! Lazy views of metadata arrays: [`Array`] (any element type, nested arrays included),
//! [`StrArray`] (strings) and [`Scalars`] (typed fixed-size elements).

use core::fmt;
use core::marker::PhantomData;

use super::reader::{Reader, le};
use super::value::{Value, ValueType, read_value};

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
    /// An array view over already checked element bytes.
    pub(crate) fn new(elem: ValueType, len: usize, data: &'a [u8], depth: u32) -> Self {
        Array {
            elem,
            len,
            data,
            depth,
        }
    }

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

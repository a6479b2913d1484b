//! Tensor infos: name, ggml type, dims and data offset, read and checked from the tensor table.

use super::error::{Error, Name};
use super::limits::MAX_DIMS;
use super::reader::Reader;
use crate::GgmlType;

/// One entry of the tensor table.
///
/// `dims` are ggml's `ne`: `dims[0]` is the innermost (row) length, unused dims are 1. A
/// tensor of shape `[ne0, ne1]` is `ne1` rows of `ne0` elements, each row
/// `ty.row_bytes(ne0)` bytes. For infos returned by [`File`](super::File) every size below
/// is checked not to overflow; for hand-made infos they saturate at `u64::MAX`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TensorInfo<'a> {
    /// Tensor name (`"blk.0.attn_q.weight"`).
    pub name: &'a str,
    /// Element type.
    pub ty: GgmlType,
    /// `[ne0, ne1, ne2, ne3]`, `ne0` innermost; dims past `n_dims` are 1.
    pub dims: [u64; 4],
    /// Number of dims stored in the file (1..=4).
    pub n_dims: u32,
    /// Byte offset of the data, relative to [`File::data_offset`](super::File::data_offset).
    pub offset: u64,
}

impl TensorInfo<'_> {
    /// Product of all dims.
    pub fn n_elements(&self) -> u64 {
        self.dims
            .iter()
            .try_fold(1u64, |acc, &d| acc.checked_mul(d))
            .unwrap_or(u64::MAX)
    }

    /// The stored dims, `ne0` first (`&dims[..n_dims]`).
    pub fn shape(&self) -> &[u64] {
        let n = (self.n_dims as usize).min(self.dims.len());
        &self.dims[..n]
    }

    /// Rows: product of `dims[1..]`.
    pub fn n_rows(&self) -> u64 {
        self.dims[1..]
            .iter()
            .try_fold(1u64, |acc, &d| acc.checked_mul(d))
            .unwrap_or(u64::MAX)
    }

    /// Bytes of one row of `dims[0]` elements.
    pub fn row_bytes(&self) -> u64 {
        self.ty.row_bytes(self.dims[0]).unwrap_or(u64::MAX)
    }

    /// Bytes of the whole tensor data (`row_bytes * n_rows`).
    pub fn n_bytes(&self) -> u64 {
        self.row_bytes().saturating_mul(self.n_rows())
    }
}

/// Minimal bytes of one tensor-table entry: empty name, one dim.
pub(crate) const MIN_ENTRY_BYTES: usize = 8 + 4 + 8 + 4 + 8;

/// Reads and checks one tensor-table entry at the cursor. Returns the info and the end of
/// its data relative to the data section (`offset + n_bytes`).
pub(crate) fn read_tensor_info<'a>(
    r: &mut Reader<'a>,
    alignment: u64,
) -> Result<(TensorInfo<'a>, u64), Error> {
    let name = r.str("tensor name length", "tensor name")?;
    let n_dims = r.u32("tensor n_dims")?;
    if n_dims == 0 || n_dims > MAX_DIMS {
        return Err(Error::BadDims {
            name: Name::new(name),
            n_dims,
        });
    }
    let mut dims = [1u64; 4];
    for d in dims.iter_mut().take(n_dims as usize) {
        *d = r.u64("tensor dims")?;
    }
    // ggml keeps element counts in i64: every dim, the row count and the element count
    // must fit (a zero dim does not excuse an overflowing product of the others).
    let count_overflow = Error::Overflow {
        what: "tensor element count",
    };
    let fits = |v: Option<u64>| v.filter(|&v| v <= i64::MAX as u64).ok_or(count_overflow);
    let mut n_rows: u64 = 1;
    for &d in &dims[1..] {
        n_rows = fits(n_rows.checked_mul(d))?;
    }
    fits(dims[0].checked_mul(n_rows))?;
    let raw_ty = r.u32("tensor type")?;
    let ty = GgmlType::from_u32(raw_ty).ok_or(Error::UnknownTensorType {
        name: Name::new(name),
        ty: raw_ty,
    })?;
    let block = ty.block_size() as u64;
    if dims[0] % block != 0 {
        return Err(Error::DimsNotBlockMultiple {
            name: Name::new(name),
            ne0: dims[0],
            block: block as u32,
        });
    }
    let size_overflow = Error::Overflow {
        what: "tensor byte size",
    };
    let row_bytes = ty.row_bytes(dims[0]).ok_or(size_overflow)?;
    let n_bytes = row_bytes.checked_mul(n_rows).ok_or(size_overflow)?;
    let offset = r.u64("tensor offset")?;
    if offset % alignment != 0 {
        return Err(Error::MisalignedTensor {
            name: Name::new(name),
            offset,
            alignment,
        });
    }
    let end = offset.checked_add(n_bytes).ok_or(Error::Overflow {
        what: "tensor data end",
    })?;
    let info = TensorInfo {
        name,
        ty,
        dims,
        n_dims,
        offset,
    };
    Ok((info, end))
}

/// The name bytes of the entry at `pos` (already validated), for sorting and lookup.
pub(crate) fn entry_name(bytes: &[u8], pos: usize) -> &[u8] {
    let mut r = Reader::new(bytes, pos);
    r.str_bytes("tensor name").unwrap_or(&[])
}

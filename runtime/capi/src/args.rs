//! Checked conversions of C arguments: NULL pointers, lengths, UTF-8, output buffers.
//! Every function here turns a bad argument into `BAGUE_ERR_INVALID_ARGUMENT` (or
//! `BAGUE_ERR_INVALID_UTF8`) naming the parameter, never into undefined behaviour of its own.

use crate::status::{Error, Result, bague_status};
use std::ffi::c_char;

/// `&*p`, or `INVALID_ARGUMENT` naming `name` when `p` is NULL.
///
/// # Safety
/// A non-NULL `p` must point to a valid `T` that stays valid and unmodified (except through
/// interior mutability) for `'a`.
pub(crate) unsafe fn arg<'a, T>(p: *const T, name: &str) -> Result<&'a T> {
    // SAFETY: the caller guarantees that a non-NULL `p` points to a live `T`.
    unsafe { p.as_ref() }.ok_or_else(|| Error::invalid(format!("{name} is NULL")))
}

/// Checks that an out-pointer is not NULL.
pub(crate) fn out<T>(p: *mut T, name: &str) -> Result<*mut T> {
    if p.is_null() {
        Err(Error::invalid(format!("{name} is NULL")))
    } else {
        Ok(p)
    }
}

/// The `len` bytes at `p`. `p` may be NULL only when `len` is 0.
///
/// # Safety
/// A non-NULL `p` must point to `len` readable bytes that stay unmodified for `'a`.
pub(crate) unsafe fn bytes<'a>(p: *const c_char, len: usize, name: &str) -> Result<&'a [u8]> {
    if len == 0 {
        return Ok(&[]);
    }
    if p.is_null() {
        return Err(Error::invalid(format!(
            "{name} is NULL but its length is {len}"
        )));
    }
    if len > isize::MAX as usize {
        return Err(Error::invalid(format!("{name}: length {len} is too large")));
    }
    // SAFETY: non-NULL, length checked against isize::MAX, and the caller guarantees `len`
    // readable bytes that outlive `'a`.
    Ok(unsafe { std::slice::from_raw_parts(p.cast::<u8>(), len) })
}

/// The `len` elements at `p`. `p` may be NULL only when `len` is 0.
///
/// # Safety
/// A non-NULL `p` must point to `len` valid, initialised `T` that stay unmodified for `'a`.
pub(crate) unsafe fn slice<'a, T>(p: *const T, len: usize, name: &str) -> Result<&'a [T]> {
    if len == 0 {
        return Ok(&[]);
    }
    if p.is_null() {
        return Err(Error::invalid(format!(
            "{name} is NULL but its length is {len}"
        )));
    }
    if len > isize::MAX as usize / size_of::<T>().max(1) {
        return Err(Error::invalid(format!("{name}: length {len} is too large")));
    }
    // SAFETY: non-NULL, total size within isize::MAX, validity guaranteed by the caller.
    Ok(unsafe { std::slice::from_raw_parts(p, len) })
}

/// The `len` bytes at `p` as UTF-8 text.
///
/// # Safety
/// As [`bytes`].
pub(crate) unsafe fn text<'a>(p: *const c_char, len: usize, name: &str) -> Result<&'a str> {
    // SAFETY: forwarded contract.
    let b = unsafe { bytes(p, len, name) }?;
    std::str::from_utf8(b).map_err(|e| {
        Error::new(
            bague_status::BAGUE_ERR_INVALID_UTF8,
            format!(
                "{name} is not valid UTF-8 (invalid byte at offset {})",
                e.valid_up_to()
            ),
        )
    })
}

/// Writes `items` to the caller's buffer `buf` of `cap` elements and the count to `*n_out`.
/// With `nul`, a terminating zero follows the items and needs one more element of room
/// (`*n_out` does not count it). When the buffer is short, only `*n_out` is written (the
/// length needed, without the NUL) and the result is `BUFFER_TOO_SMALL`. `buf` may be NULL
/// when `cap` is 0 (a query for the length).
///
/// # Safety
/// A non-NULL `buf` must point to `cap` writable `T`; `n_out` must be writable.
pub(crate) unsafe fn copy_out<T: Copy + Default>(
    items: &[T],
    nul: bool,
    buf: *mut T,
    cap: usize,
    n_out: *mut usize,
    name: &str,
) -> Result<()> {
    let n_out = out(n_out, "length out-parameter")?;
    // SAFETY: checked non-NULL; the caller guarantees it is writable.
    unsafe { n_out.write(items.len()) };
    let need = items.len() + usize::from(nul);
    if cap < need {
        return Err(Error::new(
            bague_status::BAGUE_ERR_BUFFER_TOO_SMALL,
            format!(
                "{name}: buffer of {cap} elements, {need} needed{}",
                if nul { " (with the NUL)" } else { "" }
            ),
        ));
    }
    if need == 0 {
        return Ok(());
    }
    if buf.is_null() {
        return Err(Error::invalid(format!(
            "{name} is NULL but its capacity is {cap}"
        )));
    }
    // SAFETY: `buf` is non-NULL with room for `cap >= need` elements (caller's contract);
    // `items` is a Rust slice and cannot overlap a buffer the caller lent us for writing.
    unsafe {
        std::ptr::copy_nonoverlapping(items.as_ptr(), buf, items.len());
        if nul {
            buf.add(items.len()).write(T::default());
        }
    }
    Ok(())
}

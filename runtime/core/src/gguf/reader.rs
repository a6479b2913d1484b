//! A bounds-checked little-endian cursor over the file bytes.
//!
//! Every read checks the remaining length first and reports [`Error::Truncated`] naming
//! the field; numbers are decoded with `from_le_bytes` (never by casting unaligned bytes).

use super::error::Error;

/// Cursor over `bytes`, at absolute offset `pos`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Reader<'a> {
    pub(crate) bytes: &'a [u8],
    pub(crate) pos: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(bytes: &'a [u8], pos: usize) -> Self {
        Reader { bytes, pos }
    }

    /// Bytes left after the cursor.
    pub(crate) fn remaining(&self) -> usize {
        self.bytes.len().saturating_sub(self.pos)
    }

    /// Takes the next `n` bytes (`n` as read from the file, so `u64`).
    pub(crate) fn take(&mut self, n: u64, what: &'static str) -> Result<&'a [u8], Error> {
        let available = self.remaining();
        let truncated = Error::Truncated {
            what,
            offset: self.pos as u64,
            needed: n,
            available: available as u64,
        };
        let n = usize::try_from(n).map_err(|_| truncated)?;
        if n > available {
            return Err(truncated);
        }
        let end = self.pos + n; // cannot overflow: n <= len - pos
        let out = self.bytes.get(self.pos..end).ok_or(truncated)?;
        self.pos = end;
        Ok(out)
    }

    /// Takes exactly `N` bytes as an array.
    pub(crate) fn array<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N], Error> {
        let s = self.take(N as u64, what)?;
        let mut out = [0u8; N];
        out.copy_from_slice(s);
        Ok(out)
    }

    pub(crate) fn u8(&mut self, what: &'static str) -> Result<u8, Error> {
        Ok(self.array::<1>(what)?[0])
    }

    pub(crate) fn u32(&mut self, what: &'static str) -> Result<u32, Error> {
        Ok(u32::from_le_bytes(self.array(what)?))
    }

    pub(crate) fn u64(&mut self, what: &'static str) -> Result<u64, Error> {
        Ok(u64::from_le_bytes(self.array(what)?))
    }

    /// A GGUF string: u64 length then that many bytes, checked to be UTF-8.
    /// `len_what` and `what` name the two parts for truncation errors.
    pub(crate) fn str(
        &mut self,
        len_what: &'static str,
        what: &'static str,
    ) -> Result<&'a str, Error> {
        let n = self.u64(len_what)?;
        let start = self.pos;
        let b = self.take(n, what)?;
        core::str::from_utf8(b).map_err(|_| Error::InvalidUtf8 {
            what,
            offset: start as u64,
        })
    }

    /// Like [`Reader::str`] but without the UTF-8 check (for skipping already validated data).
    pub(crate) fn str_bytes(&mut self, what: &'static str) -> Result<&'a [u8], Error> {
        let n = self.u64(what)?;
        self.take(n, what)
    }
}

/// Reads a little-endian scalar from exactly `N` leading bytes of `b` (zero-padded if short,
/// which validated callers never are).
pub(crate) fn le<const N: usize>(b: &[u8]) -> [u8; N] {
    let mut out = [0u8; N];
    let n = b.len().min(N);
    out[..n].copy_from_slice(&b[..n]);
    out
}

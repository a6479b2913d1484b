//! Buffers a session sizes from a request: allocated fallibly, so that a heap that cannot
//! give them is an error value instead of an abort (as `vec!` would be).

use super::error::Error;
use alloc::vec::Vec;

/// `n` zeroed values, or `OutOfMemory` naming `what` when the heap refuses them (instead
/// of aborting the process, as `vec!` does).
pub(crate) fn zeroed<T: Clone + Default>(n: usize, what: &'static str) -> Result<Vec<T>, Error> {
    let mut v = Vec::new();
    v.try_reserve_exact(n).map_err(|_| Error::OutOfMemory {
        what,
        bytes: n.saturating_mul(core::mem::size_of::<T>()),
    })?;
    v.resize(n, T::default());
    Ok(v)
}

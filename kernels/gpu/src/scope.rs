//! Error scopes around device work: a validation or out-of-memory error raised by what a
//! closure recorded becomes [`Error::Allocation`] naming it, and a lost device
//! [`Error::DeviceLost`]. Used by the device and by the pipeline builder, which the device
//! owns.

use crate::Error;
use std::sync::{Arc, Mutex};

/// Why the device was lost, once it is (set by wgpu's device-lost callback).
pub(crate) type Lost = Arc<Mutex<Option<String>>>;

/// `Err(DeviceLost)` once the device is lost.
pub(crate) fn check_lost(lost: &Lost) -> Result<(), Error> {
    match lost.lock().ok().and_then(|g| g.clone()) {
        Some(m) => Err(Error::DeviceLost(m)),
        None => Ok(()),
    }
}

/// Runs `f` inside an error scope of `device`: a validation or out-of-memory error becomes
/// [`Error::Allocation`] naming `what` (and `bytes`, 0 when not an allocation).
pub(crate) fn scoped<T>(
    device: &wgpu::Device,
    lost: &Lost,
    what: &str,
    bytes: u64,
    f: impl FnOnce() -> T,
) -> Result<T, Error> {
    let oom = device.push_error_scope(wgpu::ErrorFilter::OutOfMemory);
    let val = device.push_error_scope(wgpu::ErrorFilter::Validation);
    let t = f();
    let e_val = pollster::block_on(val.pop());
    let e_oom = pollster::block_on(oom.pop());
    check_lost(lost)?;
    match e_oom.or(e_val) {
        Some(e) => Err(Error::Allocation {
            what: what.to_string(),
            bytes,
            message: e.to_string(),
        }),
        None => Ok(t),
    }
}

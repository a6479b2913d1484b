//! Status codes, the per-thread last error message, and the guard every entry point runs
//! its body in (panics become `BAGUE_ERR_INTERNAL`, never an unwind into C).

use std::cell::RefCell;
use std::ffi::{CStr, CString, c_char, c_int};
use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};

/// What a bague function did. `BAGUE_OK` is 0; every other value is a failure whose
/// message `bague_last_error()` returns on the same thread.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum bague_status {
    /// Success.
    BAGUE_OK = 0,
    /// A NULL pointer where one is not allowed, a length that does not fit the address
    /// space, an option out of range, a token id not in the vocabulary.
    BAGUE_ERR_INVALID_ARGUMENT = 1,
    /// Text (a prompt, a chat message) is not valid UTF-8.
    BAGUE_ERR_INVALID_UTF8 = 2,
    /// The caller's buffer is too short; the length it needs was written to the length
    /// out-parameter, nothing else was written.
    BAGUE_ERR_BUFFER_TOO_SMALL = 3,
    /// The operating system refused: open, mmap, fstat, starting a thread.
    BAGUE_ERR_IO = 4,
    /// The model file is malformed or truncated, or its hyperparameters are inconsistent.
    BAGUE_ERR_BAD_MODEL = 5,
    /// Well-formed, but not supported by this build: architecture, tensor type, tokenizer
    /// kind, RoPE scaling, KV cache type.
    BAGUE_ERR_UNSUPPORTED = 6,
    /// The model has no chat template, or its template failed to compile or to render.
    BAGUE_ERR_TEMPLATE = 7,
    /// The prompt does not fit in the session's context.
    BAGUE_ERR_CONTEXT_FULL = 8,
    /// A buffer could not be allocated.
    BAGUE_ERR_OUT_OF_MEMORY = 9,
    /// A bug in bague (a panic was caught at the boundary). The handles stay valid but
    /// the session's state may be partial: reset it.
    BAGUE_ERR_INTERNAL = 10,
    /// A deadline passed before the result was complete (`bague_car_command`); nothing was
    /// written.
    BAGUE_ERR_DEADLINE = 11,
    /// The output ended before it was complete (`bague_car_command`: token cap, watchdog or
    /// cancel, no allowed token, full context); nothing was written.
    BAGUE_ERR_INCOMPLETE = 12,
}

use bague_status::*;

impl bague_status {
    /// The enumerator's name, e.g. `c"BAGUE_ERR_BAD_MODEL"`.
    pub fn name(self) -> &'static CStr {
        match self {
            BAGUE_OK => c"BAGUE_OK",
            BAGUE_ERR_INVALID_ARGUMENT => c"BAGUE_ERR_INVALID_ARGUMENT",
            BAGUE_ERR_INVALID_UTF8 => c"BAGUE_ERR_INVALID_UTF8",
            BAGUE_ERR_BUFFER_TOO_SMALL => c"BAGUE_ERR_BUFFER_TOO_SMALL",
            BAGUE_ERR_IO => c"BAGUE_ERR_IO",
            BAGUE_ERR_BAD_MODEL => c"BAGUE_ERR_BAD_MODEL",
            BAGUE_ERR_UNSUPPORTED => c"BAGUE_ERR_UNSUPPORTED",
            BAGUE_ERR_TEMPLATE => c"BAGUE_ERR_TEMPLATE",
            BAGUE_ERR_CONTEXT_FULL => c"BAGUE_ERR_CONTEXT_FULL",
            BAGUE_ERR_OUT_OF_MEMORY => c"BAGUE_ERR_OUT_OF_MEMORY",
            BAGUE_ERR_INTERNAL => c"BAGUE_ERR_INTERNAL",
            BAGUE_ERR_DEADLINE => c"BAGUE_ERR_DEADLINE",
            BAGUE_ERR_INCOMPLETE => c"BAGUE_ERR_INCOMPLETE",
        }
    }

    const ALL: [bague_status; 13] = [
        BAGUE_OK,
        BAGUE_ERR_INVALID_ARGUMENT,
        BAGUE_ERR_INVALID_UTF8,
        BAGUE_ERR_BUFFER_TOO_SMALL,
        BAGUE_ERR_IO,
        BAGUE_ERR_BAD_MODEL,
        BAGUE_ERR_UNSUPPORTED,
        BAGUE_ERR_TEMPLATE,
        BAGUE_ERR_CONTEXT_FULL,
        BAGUE_ERR_OUT_OF_MEMORY,
        BAGUE_ERR_INTERNAL,
        BAGUE_ERR_DEADLINE,
        BAGUE_ERR_INCOMPLETE,
    ];
}

/// A failure on its way to C: the status and the message that `bague_last_error` returns.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Error {
    pub status: bague_status,
    pub message: String,
}

impl Error {
    pub fn new(status: bague_status, message: impl Into<String>) -> Self {
        Error {
            status,
            message: message.into(),
        }
    }

    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(BAGUE_ERR_INVALID_ARGUMENT, message)
    }

    /// `"{what}: {cause}"` with `status`.
    pub fn with(status: bague_status, what: &str, cause: impl fmt::Display) -> Self {
        Self::new(status, format!("{what}: {cause}"))
    }
}

/// Result of an entry point's body.
pub(crate) type Result<T> = std::result::Result<T, Error>;

thread_local! {
    /// Message of the last failing call on this thread.
    static LAST_ERROR: RefCell<CString> = RefCell::new(CString::default());
}

fn set_last_error(message: &str) {
    // Interior NULs would cut the C string short: show them as U+FFFD.
    let c = CString::new(message.replace('\0', "\u{FFFD}")).unwrap_or_default();
    // `try_with`: a call made while the thread is being torn down keeps its status.
    let _ = LAST_ERROR.try_with(|slot| *slot.borrow_mut() = c);
}

/// Runs an entry point's body: `Ok` is `BAGUE_OK`; an `Err` records its message for
/// `bague_last_error` and returns its status; a panic is caught, recorded and returned as
/// `BAGUE_ERR_INTERNAL`.
pub(crate) fn guard(body: impl FnOnce() -> Result<()>) -> bague_status {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => BAGUE_OK,
        Ok(Err(e)) => {
            set_last_error(&e.message);
            e.status
        }
        Err(payload) => {
            let what = payload
                .downcast_ref::<&str>()
                .copied()
                .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
                .unwrap_or("unknown panic");
            set_last_error(&format!("internal error (a bug in bague): {what}"));
            BAGUE_ERR_INTERNAL
        }
    }
}

/// The message of the last call on the calling thread that did not return `BAGUE_OK`,
/// as a NUL-terminated UTF-8 string; `""` if there was none.
///
/// Thread safety: each thread has its own last error; successful calls do not clear it.
/// Lifetime: the pointer is valid until the next failing bague call on the same thread
/// (copy the message if you need it longer). Never returns NULL; never free it.
#[unsafe(no_mangle)]
pub extern "C" fn bague_last_error() -> *const c_char {
    let empty = c"".as_ptr();
    catch_unwind(|| {
        LAST_ERROR
            .try_with(|slot| slot.borrow().as_ptr())
            .unwrap_or(empty)
    })
    .unwrap_or(empty)
}

/// The name of a status code as a static NUL-terminated string (`"BAGUE_ERR_IO"`), or
/// `"BAGUE_UNKNOWN_STATUS"` for a value that is not one. Thread-safe; never free it.
#[unsafe(no_mangle)]
pub extern "C" fn bague_status_name(status: c_int) -> *const c_char {
    bague_status::ALL
        .iter()
        .find(|s| **s as c_int == status)
        .map_or(c"BAGUE_UNKNOWN_STATUS", |s| s.name())
        .as_ptr()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guard_records_errors_and_panics() {
        assert_eq!(guard(|| Ok(())), BAGUE_OK);
        assert_eq!(
            guard(|| Err(Error::invalid("x is NULL"))),
            BAGUE_ERR_INVALID_ARGUMENT
        );
        // SAFETY: bague_last_error returns a valid NUL-terminated string.
        let msg = unsafe { CStr::from_ptr(bague_last_error()) };
        assert_eq!(msg.to_str().unwrap(), "x is NULL");
        let st = guard(|| panic!("boom"));
        assert_eq!(st, BAGUE_ERR_INTERNAL);
        // SAFETY: as above.
        let msg = unsafe { CStr::from_ptr(bague_last_error()) };
        assert!(msg.to_str().unwrap().contains("boom"), "{msg:?}");
    }

    #[test]
    fn names_cover_every_status() {
        for s in bague_status::ALL {
            // SAFETY: bague_status_name returns a static NUL-terminated string.
            let n = unsafe { CStr::from_ptr(bague_status_name(s as c_int)) };
            assert_eq!(n, s.name());
        }
        // SAFETY: as above.
        let n = unsafe { CStr::from_ptr(bague_status_name(-7)) };
        assert_eq!(n.to_str().unwrap(), "BAGUE_UNKNOWN_STATUS");
    }
}

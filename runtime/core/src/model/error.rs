//! Errors of model loading and of running a session: `Copy`, `no_std`, each variant carries
//! the names and numbers a user needs to see what is wrong.

use crate::GgmlType;
use crate::gguf::{self, Name};
use crate::parallel::PoolError;
use bague_kernels::KernelError;
use core::fmt;

/// Why a model could not be loaded or a session step could not run.
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub enum Error {
    /// The GGUF reader refused a key or a tensor (missing key, wrong type, data past the end
    /// of the file: "truncated: tensor output.weight needs bytes A..B, file has N").
    Gguf(gguf::Error),
    /// `general.architecture` names an architecture this runtime does not run.
    UnknownArch(Name),
    /// A hyperparameter is out of range or inconsistent with another one.
    BadHyperparameter {
        /// The metadata key (or derived quantity) at fault.
        key: Name,
        /// Its value.
        value: HyperValue,
        /// What was expected of it.
        why: &'static str,
    },
    /// `{arch}.rope.scaling.type` names a scaling this runtime does not implement.
    UnsupportedRopeScaling(Name),
    /// A tensor the architecture needs is not in the file.
    MissingTensor(Name),
    /// A tensor has an element type the kernels cannot use in its role.
    UnsupportedTensorType {
        /// Tensor name.
        name: Name,
        /// Its type.
        ty: GgmlType,
    },
    /// A tensor's shape is not the one the hyperparameters imply.
    TensorShape {
        /// Tensor name.
        name: Name,
        /// Shape in the file, `ne0` first (unused dims are 1).
        found: [u64; 4],
        /// Number of dims in the file.
        found_dims: u32,
        /// Expected shape, `ne0` first (sizes from the config, which fit in `u32`).
        expected: [u32; 4],
        /// Number of expected dims.
        expected_dims: u32,
    },
    /// The tokens do not fit in the context: `position + n_tokens > n_ctx`. Nothing was
    /// computed and the session is unchanged.
    ContextFull {
        /// Context length of the session.
        n_ctx: usize,
        /// Tokens already in the KV cache.
        position: usize,
        /// Tokens asked to be added.
        n_tokens: usize,
    },
    /// The cancellation flag was raised; the KV cache holds a partial step, so the session
    /// must be [`reset`](crate::session::Session::reset) (or rolled back) before reuse.
    Cancelled,
    /// A token id is not below the vocabulary size.
    TokenOutOfRange {
        /// The id.
        token: u32,
        /// Vocabulary size.
        n_vocab: usize,
    },
    /// An empty token list was given to prefill.
    EmptyInput,
    /// The session needs a call to `reset` first (a cancelled or failed step left it partial).
    NeedsReset,
    /// A session option is invalid.
    BadOption {
        /// Which option.
        option: &'static str,
        /// Why.
        why: &'static str,
    },
    /// The thread pool could not be made (0 threads asked for, or the OS refused).
    Threads(PoolError),
    /// A buffer of the session could not be allocated (the heap refused it).
    OutOfMemory {
        /// Which buffer (`"KV cache"`, `"work buffers"`).
        what: &'static str,
        /// Bytes asked for.
        bytes: usize,
    },
    /// The session's memory plan exceeds the budget it was given
    /// (`SessionOptions::memory_budget`); nothing was allocated.
    OverBudget {
        /// Bytes the plan needs.
        need: usize,
        /// The budget.
        budget: usize,
    },
    /// A bug in bague: a kernel rejected a length the model checked (shapes come from the
    /// config, and the session sized its buffers from it). The step is abandoned as a
    /// cancelled one is: the session stays at its previous position.
    Kernel(KernelError),
    /// A step of a GPU session failed (feature `gpu`; see [`GpuFault`]). The session stays
    /// at its previous position.
    Gpu(GpuFault),
}

/// What failed on the device during a step of a GPU session. (Choosing the adapter,
/// uploading the weights and making the session fail earlier, with the full messages of
/// `bague::session::gpu::GpuError`.)
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum GpuFault {
    /// The device was lost (a driver reset, the GPU removed, out of device memory): the
    /// session cannot go on; make a new one, or fall back to the CPU.
    DeviceLost,
    /// Waiting for the device or reading a result back failed.
    Readback,
    /// The device refused a buffer of this many bytes.
    Allocation {
        /// Bytes asked for.
        bytes: u64,
    },
    /// The GPU back end refused a call the session had checked (a bug in bague).
    Internal,
}

impl fmt::Display for GpuFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GpuFault::DeviceLost => f.write_str(
                "GPU device lost (driver reset, GPU removed or out of device memory); make a new session",
            ),
            GpuFault::Readback => f.write_str("reading a result back from the GPU failed"),
            GpuFault::Allocation { bytes } => {
                write!(f, "the GPU refused a buffer of {bytes} bytes")
            }
            GpuFault::Internal => f.write_str("internal error (a bug in bague): GPU back end"),
        }
    }
}

impl From<gguf::Error> for Error {
    fn from(e: gguf::Error) -> Self {
        Error::Gguf(e)
    }
}

impl From<KernelError> for Error {
    fn from(e: KernelError) -> Self {
        Error::Kernel(e)
    }
}

impl From<PoolError> for Error {
    fn from(e: PoolError) -> Self {
        Error::Threads(e)
    }
}

/// The value of a hyperparameter that was refused: an integer, or a float shown as one
/// (`NaN`, `inf`) rather than as its bits.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum HyperValue {
    /// An integer key or derived size.
    Int(u64),
    /// A float key.
    Float(f32),
}

impl fmt::Display for HyperValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HyperValue::Int(v) => write!(f, "{v}"),
            HyperValue::Float(v) => write!(f, "{v}"),
        }
    }
}

struct Shape([u64; 4], u32);

fn widen(d: [u32; 4]) -> [u64; 4] {
    d.map(u64::from)
}

impl fmt::Display for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[")?;
        for (i, d) in self.0.iter().take(self.1 as usize).enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{d}")?;
        }
        f.write_str("]")
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Gguf(e) => fmt::Display::fmt(e, f),
            Error::UnknownArch(a) => write!(
                f,
                "unsupported architecture {a:?} (supported: \"llama\", \"qwen2\")"
            ),
            Error::BadHyperparameter { key, value, why } => {
                write!(f, "hyperparameter {key} = {value}: {why}")
            }
            Error::UnsupportedRopeScaling(t) => write!(
                f,
                "unsupported RoPE scaling type {t:?} (supported: \"none\", \"linear\")"
            ),
            Error::MissingTensor(n) => write!(f, "missing tensor {n}"),
            Error::UnsupportedTensorType { name, ty } => {
                write!(
                    f,
                    "tensor {name} has type {}, which is not supported here",
                    ty.name()
                )
            }
            Error::TensorShape {
                name,
                found,
                found_dims,
                expected,
                expected_dims,
            } => write!(
                f,
                "tensor {name} has shape {}, expected {}",
                Shape(*found, *found_dims),
                Shape(widen(*expected), *expected_dims)
            ),
            Error::ContextFull {
                n_ctx,
                position,
                n_tokens,
            } => write!(
                f,
                "context full: {position} tokens in the KV cache + {n_tokens} new > n_ctx {n_ctx}"
            ),
            Error::Cancelled => f.write_str("cancelled"),
            Error::TokenOutOfRange { token, n_vocab } => {
                write!(f, "token id {token} is out of range (n_vocab {n_vocab})")
            }
            Error::EmptyInput => f.write_str("no tokens to process"),
            Error::NeedsReset => {
                f.write_str("the session holds a partial step (cancelled); call reset first")
            }
            Error::BadOption { option, why } => write!(f, "session option {option}: {why}"),
            Error::Threads(e) => fmt::Display::fmt(e, f),
            Error::OutOfMemory { what, bytes } => {
                write!(f, "cannot allocate the {what} ({bytes} bytes)")
            }
            Error::OverBudget { need, budget } => write!(
                f,
                "the session needs {need} bytes, over its memory budget of {budget} bytes by {}",
                need - budget.min(need)
            ),
            Error::Kernel(e) => write!(f, "internal error (a bug in bague): kernel: {e}"),
            Error::Gpu(e) => fmt::Display::fmt(e, f),
        }
    }
}

impl core::error::Error for Error {}

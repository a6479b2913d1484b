//! Errors of the GPU back end: values that name what failed, never panics.

use bague_kernels::GgmlType;
use core::fmt;

/// What went wrong on the GPU path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Error {
    /// No adapter other than a software one was found (`AdapterChoice::Auto` never takes
    /// llvmpipe or another CPU adapter), or none at all.
    NoAdapter {
        /// Adapters that were seen (name and kind), for the message.
        seen: Vec<String>,
    },
    /// No adapter's name contains the requested text.
    AdapterNotFound {
        /// What was asked for.
        name: String,
        /// Adapters that were seen.
        seen: Vec<String>,
    },
    /// The adapter refused the device (features or limits it lacks).
    RequestDevice {
        /// Adapter name.
        adapter: String,
        /// wgpu's message.
        message: String,
    },
    /// The device was lost (driver reset, removed GPU, out of memory); the session is dead.
    DeviceLost(String),
    /// An allocation or pipeline the device refused (out of memory, a limit).
    Allocation {
        /// What was being made (`"KV cache layer 3 K"`, `"tensor blk.0.ffn_up.weight"`).
        what: String,
        /// Bytes asked for (0 for pipelines).
        bytes: u64,
        /// wgpu's message.
        message: String,
    },
    /// A tensor type the GPU kernels do not multiply (they cover Q4_0, Q4_1, Q5_0, Q8_0,
    /// Q4_K, Q6_K; norms and biases must be F32).
    UnsupportedType {
        /// Tensor name.
        tensor: String,
        /// Its type.
        ty: GgmlType,
    },
    /// A model shape the kernels cannot run (named, with why).
    UnsupportedShape {
        /// What.
        what: String,
        /// Why not.
        why: String,
    },
    /// A tensor's bytes do not match its type and shape.
    TensorSize {
        /// Tensor name.
        tensor: String,
        /// Bytes given.
        got: usize,
        /// Bytes its type and shape need.
        want: usize,
    },
    /// A tensor is larger than four storage bindings of the device.
    TensorTooLarge {
        /// Tensor name.
        tensor: String,
        /// Its bytes.
        bytes: u64,
        /// The device's largest storage binding.
        max_binding: u64,
    },
    /// A bad call: token id out of range, context full, empty prompt, bad option.
    Invalid(String),
    /// Waiting for the device or reading a result back failed.
    Readback(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::NoAdapter { seen } => {
                write!(
                    f,
                    "no GPU adapter found (a software adapter is used only when named)"
                )?;
                if !seen.is_empty() {
                    write!(f, "; seen: {}", seen.join(", "))?;
                }
                Ok(())
            }
            Error::AdapterNotFound { name, seen } => write!(
                f,
                "no GPU adapter named like {name:?}; seen: {}",
                if seen.is_empty() {
                    "none".to_string()
                } else {
                    seen.join(", ")
                }
            ),
            Error::RequestDevice { adapter, message } => {
                write!(f, "adapter {adapter} refused the device: {message}")
            }
            Error::DeviceLost(m) => write!(f, "GPU device lost: {m}"),
            Error::Allocation {
                what,
                bytes,
                message,
            } => {
                write!(f, "GPU refused {what} ({bytes} bytes): {message}")
            }
            Error::UnsupportedType { tensor, ty } => write!(
                f,
                "tensor {tensor}: type {} has no GPU kernel (supported: Q4_0, Q4_1, Q5_0, Q8_0, Q4_K, Q6_K)",
                ty.name()
            ),
            Error::UnsupportedShape { what, why } => write!(f, "{what}: {why}"),
            Error::TensorSize { tensor, got, want } => {
                write!(
                    f,
                    "tensor {tensor}: {got} bytes, its type and shape need {want}"
                )
            }
            Error::TensorTooLarge {
                tensor,
                bytes,
                max_binding,
            } => write!(
                f,
                "tensor {tensor}: {bytes} bytes needs more than 4 storage bindings of {max_binding} bytes"
            ),
            Error::Invalid(m) => f.write_str(m),
            Error::Readback(m) => write!(f, "GPU readback failed: {m}"),
        }
    }
}

impl std::error::Error for Error {}

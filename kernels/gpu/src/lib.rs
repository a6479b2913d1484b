//! bague-gpu: the transformer forward pass on a GPU, in hand-written WGSL compute shaders run
//! through wgpu (Metal on Apple, Vulkan on Android, Linux and cars).
//!
//! - [`Device`]: an adapter chosen by [`AdapterChoice`] (`Auto` never takes a software
//!   adapter; llvmpipe only when named) and a device opened with its real limits.
//! - [`ModelDesc`]: a model in plain types (dims, eps, RoPE, tensors as `{type, rows, cols,
//!   bytes}`); the runtime fills it from its own `Model`. This crate does not read GGUF and
//!   does not depend on the runtime.
//! - [`GpuModel::upload`]: the weights on the device once, as GGUF blocks (no repacking);
//!   tensors larger than a storage binding split by rows.
//! - [`GpuSession`]: KV cache (f16) and buffers allocated once; `prefill` / `decode` record a
//!   whole step in one compute pass, one queue submission, and read back 8 bytes for a greedy
//!   token ([`Readback`]). [`StepStats`] counts dispatches, passes, submissions and bytes.
//! - [`shaders`]: the WGSL sources and the modules built from them (also compiled to MSL and
//!   SPIR-V by the checks in `tests/shaders.rs`).
//!
//! Numerics: activations are quantized on the device to the CPU path's formats (Q8_0, Q8_1,
//! Q8_K) and multiplied with integer dot products per 32-weight sub-block, so a matrix
//! product differs from the CPU's scalar reference only in the order of f32 additions
//! (`runtime/core/tests/gpu_kernels.rs` states the bounds); attention rounds Q and the probabilities to f16 as
//! llama.cpp's CPU path does.
#![deny(unsafe_op_in_unsafe_fn)]
#![forbid(unsafe_code)]

mod device;
mod error;
mod model;
mod pipelines;
mod scope;
mod session;
pub mod shaders;
pub mod testing;

pub use device::{AdapterChoice, AdapterSummary, Device, adapters};
pub use error::Error;
pub use model::{GpuModel, LayerDesc, ModelDesc, RopeKind, TensorDesc, supports};
pub use session::{GpuSession, Readback, SessionOptions, StepOutput, StepStats};

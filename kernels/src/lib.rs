//! bague-kernels: GGUF block formats and the arithmetic over them (`no_std`).
//!
//! - [`block`]: the ggml block structs (byte-identical, alignment 1), scalar dequantizers,
//!   reference dot products, and quantizers (activation quantizers byte-identical to ggml's
//!   x86 CPU backend; `_ref` weight quantizers for test models).
//! - [`arch`]: instruction-set back ends ([`arch::Scalar`], `arch::x86_64::Avx2Fma`, …).
//! - [`Kernels`]: the table chosen once (at model load) and passed by reference; byte-slice
//!   entry points that check every length and return [`KernelError`] instead of panicking.
//! - [`ops`]: f32 transformer operations (RMS norm, RoPE, softmax, SiLU, SwiGLU, …).
//!
//! Where each numeric choice comes from is stated in the module docs (ggml file and function).
#![cfg_attr(not(feature = "std"), no_std)]
#![deny(unsafe_op_in_unsafe_fn)]

pub mod arch;
pub mod block;
mod dispatch;
mod error;
pub(crate) mod math;
pub mod ops;
mod types;

pub use dispatch::Kernels;
pub use error::KernelError;
pub use types::GgmlType;

//! bague-kernels: GGUF block formats and the arithmetic over them (no_std).
#![cfg_attr(not(feature = "std"), no_std)]
#![deny(unsafe_op_in_unsafe_fn)]

mod types;
pub use types::GgmlType;

//! bague core: zero-copy GGUF reader, tokenizer, forward pass, sampler and chat.
#![cfg_attr(not(feature = "std"), no_std)]
#![deny(unsafe_code)] // the one exception is the `std` mmap loader, which allows it locally

extern crate alloc;

pub use bague_kernels::GgmlType;

pub mod board;
pub mod bundle;
pub mod chat;
pub mod constraint;
pub mod generate;
pub mod gguf;
#[cfg(feature = "std")]
pub mod loader;
pub mod model;
pub mod parallel;
pub mod sampler;
pub mod session;
pub mod tokenizer;

//! bague-gpu (work in progress).
pub mod shaders;

//! Dev-only oracle: ggml's own kernels through llama-cpp-sys-2.

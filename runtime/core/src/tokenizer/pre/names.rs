//! The GGUF `tokenizer.ggml.pre` names this tokenizer accepts (a leaf module: the error
//! messages list them without depending on the pre-tokenizers).

/// GGUF names we accept, in the order error messages list them.
pub const SUPPORTED_PRE_TOKENIZERS: &[&str] = &[
    "qwen2",
    "deepseek-r1-qwen",
    "llama-bpe",
    "llama3",
    "llama-v3",
    "smollm",
    "gpt-2",
    "deepseek-llm",
];

//! Puts `memory.x` on the linker's path and names the model and prompt the firmware embeds.
//!
//! `BAGUE_RING_MODEL` (a GGUF file, required) is placed in the `.model` section (the XIP
//! window at 0x8000_0000); `BAGUE_RING_PROMPT` (text, default "Once upon a time"),
//! `BAGUE_RING_CTX` (default 256) and `BAGUE_RING_TOKENS` (default 32) are compiled in.

use std::env;
use std::fs;
use std::path::PathBuf;

fn main() {
    let out = PathBuf::from(env::var_os("OUT_DIR").unwrap());
    fs::write(out.join("memory.x"), include_bytes!("memory.x")).unwrap();
    println!("cargo:rustc-link-search={}", out.display());
    println!("cargo:rerun-if-changed=memory.x");
    for key in [
        "BAGUE_RING_MODEL",
        "BAGUE_RING_PROMPT",
        "BAGUE_RING_CTX",
        "BAGUE_RING_TOKENS",
    ] {
        println!("cargo:rerun-if-env-changed={key}");
    }
    let model = env::var("BAGUE_RING_MODEL").unwrap_or_else(|_| {
        panic!("set BAGUE_RING_MODEL to the GGUF file to embed (see ci/ring.sh)")
    });
    let model = fs::canonicalize(&model).unwrap_or_else(|e| panic!("{model}: {e}"));
    println!("cargo:rerun-if-changed={}", model.display());
    println!("cargo:rustc-env=BAGUE_RING_MODEL_FILE={}", model.display());
    let prompt = env::var("BAGUE_RING_PROMPT").unwrap_or_else(|_| "Once upon a time".into());
    let n: usize = env::var("BAGUE_RING_CTX").map_or(256, |v| v.parse().expect("BAGUE_RING_CTX"));
    let t: usize =
        env::var("BAGUE_RING_TOKENS").map_or(32, |v| v.parse().expect("BAGUE_RING_TOKENS"));
    fs::write(
        out.join("config.rs"),
        format!(
            "/// The embedded GGUF file's path on the build host.\n\
             pub const MODEL_PATH: &str = {:?};\n\
             /// The prompt, tokenized on the MCU.\n\
             pub const PROMPT: &str = {prompt:?};\n\
             /// Context length of the session.\n\
             pub const N_CTX: usize = {n};\n\
             /// Tokens to generate.\n\
             pub const N_TOKENS: u32 = {t};\n",
            model.display().to_string()
        ),
    )
    .unwrap();
}

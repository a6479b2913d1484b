//! Puts `memory.x` on the linker's path and names the model and prompt the firmware runs.
//!
//! `BAGUE_HEARING_MODEL` (a GGUF file, required): embedded in the `.model` section (QSPI
//! flash at 0x3800_0000), or, with `BAGUE_HEARING_DDR_ADDR` set (e.g. `0x70000000`), not
//! embedded: the firmware reads the file's bytes at that DDR address, where qemu's
//! `-device loader,file=…,addr=…` puts them (only its length is compiled in), and its arena
//! is in DDR too. `BAGUE_HEARING_PROMPT` (default "Once upon a time"), `BAGUE_HEARING_CTX`
//! (default 256) and `BAGUE_HEARING_TOKENS` (default 32) are compiled in.

use std::env;
use std::fs;
use std::path::PathBuf;

fn main() {
    let out = PathBuf::from(env::var_os("OUT_DIR").unwrap());
    fs::write(out.join("memory.x"), include_bytes!("memory.x")).unwrap();
    println!("cargo:rustc-link-search={}", out.display());
    println!("cargo:rerun-if-changed=memory.x");
    println!("cargo::rustc-check-cfg=cfg(hearing_ddr)");
    for key in [
        "BAGUE_HEARING_MODEL",
        "BAGUE_HEARING_DDR_ADDR",
        "BAGUE_HEARING_PROMPT",
        "BAGUE_HEARING_CTX",
        "BAGUE_HEARING_TOKENS",
    ] {
        println!("cargo:rerun-if-env-changed={key}");
    }
    let model = env::var("BAGUE_HEARING_MODEL").unwrap_or_else(|_| {
        panic!("set BAGUE_HEARING_MODEL to the GGUF file to run (see ci/hearing.sh)")
    });
    let model = fs::canonicalize(&model).unwrap_or_else(|e| panic!("{model}: {e}"));
    println!("cargo:rerun-if-changed={}", model.display());
    let len = fs::metadata(&model).unwrap().len();
    let ddr = match env::var("BAGUE_HEARING_DDR_ADDR") {
        Ok(a) => {
            let a = a.trim_start_matches("0x");
            let a = u32::from_str_radix(a, 16).expect("BAGUE_HEARING_DDR_ADDR: a hex address");
            println!("cargo:rustc-cfg=hearing_ddr");
            Some(a)
        }
        Err(_) => {
            println!(
                "cargo:rustc-env=BAGUE_HEARING_MODEL_FILE={}",
                model.display()
            );
            None
        }
    };
    let prompt = env::var("BAGUE_HEARING_PROMPT").unwrap_or_else(|_| "Once upon a time".into());
    let n: usize =
        env::var("BAGUE_HEARING_CTX").map_or(256, |v| v.parse().expect("BAGUE_HEARING_CTX"));
    let t: usize =
        env::var("BAGUE_HEARING_TOKENS").map_or(32, |v| v.parse().expect("BAGUE_HEARING_TOKENS"));
    fs::write(
        out.join("config.rs"),
        format!(
            "/// The GGUF file's path on the build host.\n\
             pub const MODEL_PATH: &str = {:?};\n\
             /// Bytes of the GGUF file.\n\
             #[allow(dead_code)]\n\
             pub const MODEL_LEN: usize = {len};\n\
             /// Where qemu loads the file in DDR (DDR build only).\n\
             #[allow(dead_code)]\n\
             pub const MODEL_DDR_ADDR: usize = {:#x};\n\
             /// The prompt, tokenized on the MCU.\n\
             pub const PROMPT: &str = {prompt:?};\n\
             /// Context length of the session.\n\
             pub const N_CTX: usize = {n};\n\
             /// Tokens to generate.\n\
             pub const N_TOKENS: usize = {t};\n",
            model.display().to_string(),
            ddr.unwrap_or(0)
        ),
    )
    .unwrap();
}

//! Sets `cfg(bague_avx512)` when the compiler has the AVX-512 intrinsics and target
//! features (stable from Rust 1.89; the crate's MSRV is older): the AVX-512 back end
//! (`arch/x86_64/avx512.rs`) is built only then, and older compilers build the others.

use std::process::Command;

fn main() {
    println!("cargo::rustc-check-cfg=cfg(bague_avx512)");
    println!("cargo::rerun-if-changed=build.rs");
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let minor = Command::new(rustc)
        .arg("--version")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|v| {
            // "rustc 1.95.0 (59807616e 2026-04-14)"
            let ver = v.split_whitespace().nth(1)?;
            let mut it = ver.split('.');
            let major: u32 = it.next()?.parse().ok()?;
            let minor: u32 = it.next()?.parse().ok()?;
            (major == 1).then_some(minor)
        });
    if minor.is_some_and(|m| m >= 89) {
        println!("cargo::rustc-cfg=bague_avx512");
    }
}

//! Sets `cfg(bague_avx512)` when the compiler has the AVX-512 intrinsics and target
//! features (stable from Rust 1.89; the crate's MSRV is older): the AVX-512 back end
//! (`arch/x86_64/avx512.rs`) is built only then, and older compilers build the others.
//!
//! On 32-bit Arm it also sets `cfg(bague_arm_dsp)` and `cfg(bague_arm_mve)` (the Cortex-M
//! back ends of `arch/arm`) from what the build compiles for, since stable Rust does not
//! expose Arm's `dsp` / `mve` target features to `cfg(target_feature)`: the DSP extension
//! when the target is Armv7E-M (`thumbv7em-*`, which always has it), or `-C target-cpu` names
//! a core with it (Cortex-M4, M7, M33, M35P, M55, M85), or `-C target-feature=+dsp`; Helium
//! (MVE) when `-C target-cpu` is Cortex-M55 or M85, or `-C target-feature=+mve` (or
//! `+mve.fp`). `-C target-feature=-dsp` / `-mve` turn them off again.

use std::process::Command;

fn main() {
    println!("cargo::rustc-check-cfg=cfg(bague_avx512)");
    println!("cargo::rustc-check-cfg=cfg(bague_arm_dsp)");
    println!("cargo::rustc-check-cfg=cfg(bague_arm_mve)");
    println!("cargo::rerun-if-changed=build.rs");
    arm_cfgs();
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

/// `cfg(bague_arm_dsp)` / `cfg(bague_arm_mve)` from the target, `-C target-cpu` and
/// `-C target-feature` of this build (module docs).
fn arm_cfgs() {
    if std::env::var("CARGO_CFG_TARGET_ARCH").as_deref() != Ok("arm") {
        return;
    }
    let target = std::env::var("TARGET").unwrap_or_default();
    let flags = std::env::var("CARGO_ENCODED_RUSTFLAGS").unwrap_or_default();
    // `-C target-cpu=X` / `-Ctarget-cpu=X` / `--codegen target-cpu=X`, last one wins (as rustc)
    let mut cpu = String::new();
    let mut features: Vec<String> = Vec::new();
    let args: Vec<&str> = flags.split('\x1f').collect();
    for (i, a) in args.iter().enumerate() {
        let opt = match *a {
            "-C" | "--codegen" => args.get(i + 1).copied().unwrap_or(""),
            a => a.strip_prefix("-C").unwrap_or(""),
        };
        if let Some(c) = opt.strip_prefix("target-cpu=") {
            cpu = c.to_string();
        } else if let Some(f) = opt.strip_prefix("target-feature=") {
            features.extend(f.split(',').map(str::to_string));
        }
    }
    // Features the compiler reports (none for Arm on stable today; a later Rust may).
    let reported = std::env::var("CARGO_CFG_TARGET_FEATURE").unwrap_or_default();
    let reported: Vec<&str> = reported.split(',').collect();
    let last = |name: &str| -> Option<bool> {
        features
            .iter()
            .rev()
            .find_map(|f| match f.strip_prefix('+') {
                Some(n) if n == name => Some(true),
                _ => (f.strip_prefix('-') == Some(name)).then_some(false),
            })
    };
    let dsp_cpu = matches!(
        cpu.as_str(),
        "cortex-m4" | "cortex-m7" | "cortex-m33" | "cortex-m35p" | "cortex-m55" | "cortex-m85"
    );
    let mve_cpu = matches!(cpu.as_str(), "cortex-m55" | "cortex-m85");
    let dsp = last("dsp")
        .unwrap_or(target.starts_with("thumbv7em") || dsp_cpu || reported.contains(&"dsp"));
    let mve = last("mve")
        .or(last("mve.fp"))
        .unwrap_or(mve_cpu || reported.contains(&"mve"));
    println!("cargo::rerun-if-env-changed=CARGO_ENCODED_RUSTFLAGS");
    if dsp {
        println!("cargo::rustc-cfg=bague_arm_dsp");
    }
    // Helium implies the DSP extension (Armv8.1-M Mainline with MVE requires it).
    if dsp && mve {
        println!("cargo::rustc-cfg=bague_arm_mve");
    }
}

//! Puts the memory map of the chosen qemu machine (feature `an386`, `an505` or `an547`) on
//! the linker's path as `memory.x`, and links with cortex-m-rt's `link.x`.

use std::env;
use std::fs;
use std::path::PathBuf;

fn main() {
    let machines = ["an386", "an505", "an547"];
    let chosen: Vec<&str> = machines
        .iter()
        .copied()
        .filter(|m| env::var_os(format!("CARGO_FEATURE_{}", m.to_uppercase())).is_some())
        .collect();
    let [machine] = chosen[..] else {
        panic!("enable exactly one of the features {machines:?} (see ci/mcu.sh)")
    };
    let out = PathBuf::from(env::var_os("OUT_DIR").unwrap());
    let map = fs::read(format!("memory-{machine}.x")).unwrap();
    fs::write(out.join("memory.x"), map).unwrap();
    println!("cargo:rustc-link-search={}", out.display());
    println!("cargo:rustc-link-arg=-Tlink.x");
    for m in machines {
        println!("cargo:rerun-if-changed=memory-{m}.x");
    }
}

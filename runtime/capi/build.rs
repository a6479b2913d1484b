//! Gives the shared library the soname `libbague.so.0` (ci/capi.sh installs it under that
//! name), so a program linked with `-lbague` records the versioned name.

fn main() {
    let target_os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    if matches!(target_os.as_str(), "linux" | "android") {
        println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libbague.so.0");
    }
    println!("cargo:rerun-if-changed=build.rs");
}

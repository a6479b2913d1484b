//! `bague inspect --gpu`: the GPU adapters wgpu finds (Vulkan, Metal) and their limits.
//!
//! Software adapters (device type `Cpu`, e.g. Mesa's llvmpipe) are listed but only ever used
//! when named (`--backend gpu:llvmpipe`); the line `--backend gpu/auto takes` names the
//! hardware adapter the plain choices would open, if any. Built without the `gpu` feature
//! the command says so and fails.

use anyhow::Result;

/// Prints the adapters (text, or a JSON array with `--json`).
#[cfg(feature = "gpu")]
pub fn print(json: bool) -> Result<()> {
    use bague::session::gpu::{AdapterChoice, Device, adapters};
    use serde_json::json;

    let list = adapters();
    // The adapter `--backend gpu` / `auto` opens: the same choice the sessions make.
    let chosen = Device::new(&AdapterChoice::Auto).map(|d| d.adapter_name().to_string());
    if json {
        let items: Vec<_> = list
            .iter()
            .map(|a| {
                json!({
                    "name": a.name,
                    "backend": a.backend,
                    "device_type": a.device_type,
                    "software": is_software(&a.device_type),
                    "driver": a.driver,
                    "max_storage_buffer_binding_size": a.max_storage_binding,
                    "max_buffer_size": a.max_buffer,
                    "max_compute_workgroup_storage_size": a.max_workgroup_storage,
                    "auto": chosen.as_ref().is_ok_and(|c| *c == a.name),
                })
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&items)?);
        return Ok(());
    }
    if list.is_empty() {
        println!("no GPU adapter found (Vulkan or Metal); --backend gpu fails, auto runs on the CPU");
        return Ok(());
    }
    for (i, a) in list.iter().enumerate() {
        let soft = if is_software(&a.device_type) {
            " (software: used only when named, --backend gpu:NAME)"
        } else {
            ""
        };
        println!("adapter {i}: {}", a.name);
        println!("  backend:       {}", a.backend);
        println!("  device type:   {}{soft}", a.device_type);
        println!("  driver:        {}", a.driver.trim());
        println!(
            "  limits:        storage binding {} MiB, buffer {} MiB, workgroup memory {} KiB",
            a.max_storage_binding >> 20,
            a.max_buffer >> 20,
            a.max_workgroup_storage >> 10
        );
    }
    match chosen {
        Ok(name) => println!("--backend gpu/auto takes: {name}"),
        Err(e) => println!("--backend gpu/auto: {e} (auto runs on the CPU)"),
    }
    Ok(())
}

/// A software rasterizer: wgpu's device type `Cpu`.
#[cfg(feature = "gpu")]
fn is_software(device_type: &str) -> bool {
    device_type.eq_ignore_ascii_case("cpu")
}

/// Built without the GPU backend: an error that says so.
#[cfg(not(feature = "gpu"))]
pub fn print(_json: bool) -> Result<()> {
    anyhow::bail!(
        "--gpu: this bague was built without the GPU backend (build it with `--features gpu`)"
    )
}

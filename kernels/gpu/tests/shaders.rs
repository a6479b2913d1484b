//! Every compute module through naga, without a GPU:
//! - the WGSL parses and passes naga's validator (all checks);
//! - the Metal Shading Language that naga's `msl-out` makes of it, with the binding map wgpu's
//!   Metal back end builds (bindings of group 0 in order on buffer slots 0.., read-write
//!   storage mutable, the sizes buffer after them, bounds checks `Restrict`, workgroup memory
//!   not zeroed, as `pipelines.rs` asks), equals the committed `kernels/gpu/metal/<module>.metal` — run with
//!   `BAGUE_GPU_REGEN=1` to rewrite them (`ci/gpu.sh --regen`);
//! - the SPIR-V (naga `spv-out`, Vulkan 1.1) passes `spirv-val --target-env vulkan1.1`; a
//!   missing `spirv-val` fails the test when `BAGUE_REQUIRE_SPIRV_VAL=1` (CI sets it) and
//!   is reported otherwise.

use bague_gpu::shaders::Module;
use naga::back::msl;
use naga::valid::{Capabilities, ValidationFlags, Validator};
use std::path::PathBuf;
use std::process::Command;

fn parse(m: Module) -> (naga::Module, naga::valid::ModuleInfo) {
    let src = m.source();
    let module = naga::front::wgsl::parse_str(&src)
        .unwrap_or_else(|e| panic!("{}: {}", m.name(), e.emit_to_string(&src)));
    let info = Validator::new(ValidationFlags::all(), Capabilities::default())
        .validate(&module)
        .unwrap_or_else(|e| panic!("{}: {}", m.name(), e.emit_to_string(&src)));
    (module, info)
}

/// The binding map wgpu-hal's Metal back end gives a one-group pipeline layout.
fn msl_options(module: &naga::Module) -> msl::Options {
    let mut bindings: Vec<(naga::ResourceBinding, bool)> = module
        .global_variables
        .iter()
        .filter_map(|(_, g)| {
            let rb = g.binding?;
            let mutable = matches!(
                g.space,
                naga::AddressSpace::Storage { access } if access.contains(naga::StorageAccess::STORE)
            );
            Some((rb, mutable))
        })
        .collect();
    bindings.sort_by_key(|(rb, _)| (rb.group, rb.binding));
    let mut resources = msl::BindingMap::default();
    for (slot, (rb, mutable)) in bindings.iter().enumerate() {
        resources.insert(
            *rb,
            msl::BindTarget {
                buffer: Some(slot as u8),
                mutable: *mutable,
                ..Default::default()
            },
        );
    }
    let ep = msl::EntryPointResources {
        resources,
        immediates_buffer: None,
        sizes_buffer: Some(bindings.len() as u8),
    };
    msl::Options {
        lang_version: (3, 0),
        per_entry_point_map: msl::EntryPointResourceMap::from([("main".to_string(), ep)]),
        fake_missing_bindings: false,
        bounds_check_policies: naga::proc::BoundsCheckPolicies {
            index: naga::proc::BoundsCheckPolicy::Restrict,
            buffer: naga::proc::BoundsCheckPolicy::Restrict,
            image_load: naga::proc::BoundsCheckPolicy::Restrict,
            binding_array: naga::proc::BoundsCheckPolicy::Unchecked,
        },
        zero_initialize_workgroup_memory: false,
        force_loop_bounding: true,
        ..Default::default()
    }
}

fn metal_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("metal")
}

#[test]
fn wgsl_validates_and_committed_msl_is_current() {
    let regen = std::env::var("BAGUE_GPU_REGEN").is_ok_and(|v| v == "1");
    let mut stale = Vec::new();
    for m in Module::ALL {
        let (module, info) = parse(m);
        let pipeline = msl::PipelineOptions {
            entry_point: Some((naga::ShaderStage::Compute, "main".to_string())),
            ..Default::default()
        };
        let (text, _) = msl::write_string(&module, &info, &msl_options(&module), &pipeline)
            .unwrap_or_else(|e| panic!("{}: msl-out: {e:?}", m.name()));
        let text = format!(
            "// Generated from kernels/gpu/shaders by naga {} msl-out (tests/shaders.rs); do not edit.\n// Module: {}\n{text}",
            "30",
            m.name()
        );
        let path = metal_dir().join(format!("{}.metal", m.name()));
        if regen {
            std::fs::write(&path, &text).unwrap();
            eprintln!("wrote {}", path.display());
        } else if std::fs::read_to_string(&path).ok().as_deref() != Some(text.as_str()) {
            stale.push(path.display().to_string());
        }
    }
    assert!(
        stale.is_empty(),
        "stale Metal sources (run ci/gpu.sh --regen and commit): {stale:?}"
    );
}

#[test]
fn spirv_passes_spirv_val() {
    let have = Command::new("spirv-val").arg("--version").output().is_ok();
    if !have {
        let required = std::env::var("BAGUE_REQUIRE_SPIRV_VAL").is_ok_and(|v| v == "1");
        assert!(
            !required,
            "spirv-val not found (Debian package spirv-tools) and BAGUE_REQUIRE_SPIRV_VAL=1"
        );
        eprintln!("spirv-val not found: SPIR-V written but not validated");
    }
    let dir = std::env::temp_dir().join(format!("bague-gpu-spv-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for m in Module::ALL {
        let (module, info) = parse(m);
        let opts = naga::back::spv::Options {
            lang_version: (1, 3),
            ..Default::default()
        };
        let pipeline = naga::back::spv::PipelineOptions {
            shader_stage: naga::ShaderStage::Compute,
            entry_point: "main".to_string(),
        };
        let words = naga::back::spv::write_vec(&module, &info, &opts, Some(&pipeline))
            .unwrap_or_else(|e| panic!("{}: spv-out: {e:?}", m.name()));
        let path = dir.join(format!("{}.spv", m.name()));
        std::fs::write(&path, bytemuck::cast_slice::<u32, u8>(&words)).unwrap();
        if have {
            let out = Command::new("spirv-val")
                .args(["--target-env", "vulkan1.1"])
                .arg(&path)
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{}: spirv-val: {}{}",
                m.name(),
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
    std::fs::remove_dir_all(&dir).ok();
}

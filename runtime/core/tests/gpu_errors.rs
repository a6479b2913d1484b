//! Errors are values naming what failed: adapters, unsupported tensor types and shapes,
//! refused allocations, a lost device, bad calls. The first group needs no device; the rest
//! run on a device (`#[ignore]`d in a plain `cargo test`, run by `ci/gpu.sh`).

mod gpu_util;

use bague::gguf::File;
use bague::model::Model;
use bague_gpu::{AdapterChoice, Device, Error, GpuModel, GpuSession, SessionOptions};
use bague_kernels::GgmlType;
use gpu_util::*;

fn tiny_bytes() -> Vec<u8> {
    bague_testkit::tiny_bytes("smol-tiny-random-q4_0")
}

#[test]
fn unknown_adapter_name_is_an_error() {
    match Device::new(&AdapterChoice::Named("no-such-adapter-7f3a".into())) {
        Err(Error::AdapterNotFound { name, .. }) => assert_eq!(name, "no-such-adapter-7f3a"),
        other => panic!("expected AdapterNotFound, got {other:?}"),
    }
}

#[test]
fn auto_never_takes_a_software_adapter() {
    match Device::new(&AdapterChoice::Auto) {
        Ok(d) => assert!(!d.is_software(), "Auto chose {}", d.adapter_name()),
        Err(Error::NoAdapter { seen }) => {
            let e = Error::NoAdapter { seen };
            assert!(e.to_string().contains("no GPU adapter"), "{e}");
        }
        Err(e) => panic!("unexpected {e}"),
    }
}

#[test]
fn a_type_without_a_kernel_names_the_tensor() {
    let bytes = tiny_bytes();
    let file = File::parse(&bytes).unwrap();
    let model = Model::from_gguf(&file).unwrap();
    let mut d = desc(&model);
    // blk.1.ffn_up as Q5_1: same block size, no GPU kernel.
    let up = &mut d.layers[1].w_up;
    up.ty = GgmlType::Q5_1;
    let err = d.check().unwrap_err();
    assert_eq!(
        err,
        Error::UnsupportedType {
            tensor: "blk.1.ffn_up.weight".into(),
            ty: GgmlType::Q5_1
        }
    );
    assert!(err.to_string().contains("blk.1.ffn_up.weight"), "{err}");
    assert!(err.to_string().contains("Q5_1"), "{err}");
}

#[test]
fn wrong_sizes_and_shapes_are_errors() {
    let bytes = tiny_bytes();
    let file = File::parse(&bytes).unwrap();
    let model = Model::from_gguf(&file).unwrap();
    let mut d = desc(&model);
    let t = &mut d.layers[0].wq;
    t.bytes = &t.bytes[..t.bytes.len() - 18];
    assert!(matches!(d.check(), Err(Error::TensorSize { .. })));
    let mut d = desc(&model);
    d.head_dim = 30;
    assert!(matches!(d.check(), Err(Error::UnsupportedShape { .. })));
    let mut d = desc(&model);
    d.layers[0].attn_norm.ty = GgmlType::F16;
    assert!(matches!(d.check(), Err(Error::UnsupportedType { .. })));
    assert!(desc(&model).check().is_ok());
}

#[test]
#[ignore = "needs a GPU device"]
fn refused_allocation_lost_device_and_bad_calls() {
    // Its own device: this test destroys it.
    let Some(dev) = fresh_device() else { return };
    let bytes = tiny_bytes();
    let file = File::parse(&bytes).unwrap();
    let model = Model::from_gguf(&file).unwrap();
    let gm = GpuModel::upload(&dev, &desc(&model)).unwrap();
    // A KV cache layer larger than the largest storage binding.
    let kv_dim = model.config.n_head_kv * model.config.head_dim;
    let n_ctx = (dev.max_storage_binding() / (2 * kv_dim as u64)) as usize + 1;
    match GpuSession::new(&gm, SessionOptions { n_ctx, n_batch: 1 }) {
        Err(Error::Allocation { what, .. }) => assert!(what.contains("KV cache"), "{what}"),
        other => panic!("expected Allocation, got {other:?}"),
    }
    let mut s = GpuSession::new(
        &gm,
        SessionOptions {
            n_ctx: 8,
            n_batch: 4,
        },
    )
    .unwrap();
    assert!(matches!(s.prefill(&[]), Err(Error::Invalid(_))));
    let v = model.config.n_vocab as u32;
    assert!(matches!(s.decode(v), Err(Error::Invalid(m)) if m.contains("out of range")));
    assert!(matches!(s.prefill(&[1; 9]), Err(Error::Invalid(m)) if m.contains("context full")));
    assert_eq!(s.position(), 0);
    s.prefill(&[1, 2, 3]).unwrap();
    assert_eq!(s.position(), 3);
    dev.destroy();
    match s.decode(4) {
        Err(Error::DeviceLost(_)) => {}
        other => panic!("expected DeviceLost, got {other:?}"),
    }
}

//! (a) Our scalar dequantizers == ggml's `to_float`, bit for bit: on random blocks (random quant
//! bytes, sane f16 scales incl. zero / subnormal / large), on every f16 and bf16 bit pattern,
//! and on real rows of every tensor of the model files.

mod common;

use bague_kernels::{GgmlType, Kernels};
use bague_oracle as oracle;
use common::Rng;

const TYPES: [GgmlType; 16] = [
    GgmlType::F16,
    GgmlType::BF16,
    GgmlType::Q4_0,
    GgmlType::Q4_1,
    GgmlType::Q5_0,
    GgmlType::Q5_1,
    GgmlType::Q8_0,
    GgmlType::Q8_1,
    GgmlType::Q2_K,
    GgmlType::Q3_K,
    GgmlType::Q4_K,
    GgmlType::Q5_K,
    GgmlType::Q6_K,
    GgmlType::Q8_K,
    GgmlType::IQ4_NL,
    GgmlType::F32,
];

/// Same bits, or both NaN.
fn same(a: f32, b: f32) -> bool {
    a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan())
}

/// Compare ours and ggml's dequantization of `src`; Ok(false) when we lack the type.
fn check_row(ty: GgmlType, src: &[u8], what: &str) -> bool {
    let n = src.len() / ty.block_bytes() * ty.block_size();
    let mut ours = vec![0f32; n];
    let mut theirs = vec![0f32; n];
    match Kernels::dequantize_row(ty, src, &mut ours) {
        Ok(()) => {}
        Err(bague_kernels::KernelError::Unsupported { .. }) => {
            eprintln!("{ty:?}: bague-kernels has no dequantizer");
            return false;
        }
        Err(e) => panic!("{ty:?} {what}: {e}"),
    }
    match oracle::dequantize_row(ty as u32, src, &mut theirs) {
        Ok(()) => {}
        Err(oracle::Error::Unsupported { .. }) => {
            eprintln!("{ty:?}: ggml has no to_float (Q8_1, Q8_K and F32 have none)");
            return false;
        }
        Err(e) => panic!("{ty:?} {what}: oracle: {e}"),
    }
    if let Some(i) = (0..n).find(|&i| !same(ours[i], theirs[i])) {
        let b = i / ty.block_size();
        let bb = ty.block_bytes();
        panic!(
            "{ty:?} {what}: value {i} (block {b}, lane {}): ours {} ({:#010x}), ggml {} ({:#010x}); block bytes {:02x?}",
            i % ty.block_size(),
            ours[i],
            ours[i].to_bits(),
            theirs[i],
            theirs[i].to_bits(),
            &src[b * bb..(b + 1) * bb]
        );
    }
    true
}

#[test]
fn random_blocks_are_bit_exact() {
    let mut checked = Vec::new();
    for ty in TYPES {
        let seed = 0x5EED_0000 + ty as u64;
        let mut rng = Rng::new(seed);
        let mut ok = true;
        for _ in 0..200 {
            let n_blocks = 1 + rng.below(16) as usize;
            let src = common::random_blocks(ty, n_blocks, &mut rng);
            ok = check_row(ty, &src, &format!("random (seed {seed:#x})"));
            if !ok {
                break;
            }
        }
        if ok {
            checked.push(ty.name());
        } else {
            eprintln!("{ty:?}: skipped");
        }
    }
    eprintln!("bit-exact on random blocks: {checked:?}");
    // Every weight format bague-kernels supports (ggml has no to_float for Q8_1 / Q8_K / F32).
    for ty in TYPES {
        let ggml_has = !matches!(ty, GgmlType::Q8_1 | GgmlType::Q8_K | GgmlType::F32);
        if Kernels::supports(ty) && ggml_has {
            assert!(checked.contains(&ty.name()), "{ty:?} not compared");
        }
    }
}

#[test]
fn every_f16_and_bf16_pattern_is_bit_exact() {
    let src: Vec<u8> = (0..=u16::MAX).flat_map(|b| b.to_le_bytes()).collect();
    assert!(check_row(GgmlType::F16, &src, "all 65536 patterns"));
    assert!(check_row(GgmlType::BF16, &src, "all 65536 patterns"));
}

#[test]
fn real_tensor_rows_are_bit_exact() {
    let mut per_type: std::collections::BTreeMap<&str, usize> = Default::default();
    for path in common::model_files() {
        let mut g = common::gguf::Gguf::open(&path).unwrap();
        for t in g.tensors.clone() {
            let Some(ty) = GgmlType::from_u32(t.ty) else {
                continue;
            };
            if ty == GgmlType::F32 || !Kernels::supports(ty) {
                continue;
            }
            let ne0 = t.dims[0] as usize;
            let rows: u64 = t.dims[1..].iter().product();
            let rb = ty.row_bytes(ne0 as u64).unwrap() as usize;
            // First, middle and last rows.
            for r in [0, rows / 2, rows.saturating_sub(1)] {
                let src = g.read(t.offset + r * rb as u64, rb).unwrap();
                assert!(check_row(
                    ty,
                    &src,
                    &format!("{}:{} row {r}", path.display(), t.name)
                ));
                *per_type.entry(ty.name()).or_default() += 1;
            }
        }
    }
    eprintln!("bit-exact real rows by type: {per_type:?}");
}

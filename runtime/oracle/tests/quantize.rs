//! (b) Quantizers, byte for byte:
//! - activation quantizers (Q8_0, Q8_1, Q8_K, and F16/BF16 rows) of every back end we have ==
//!   ggml's CPU-backend `from_float` (what llama.cpp really applies to activations);
//! - weight quantizers (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0 ref, Q4_K, Q6_K) == ggml's `from_float_ref`.

mod common;

use bague_kernels::block::{self, *};
use bague_kernels::{GgmlType, Kernels};
use bague_oracle as oracle;
use bytemuck::Zeroable;
use common::Rng;

/// Input rows: synthetic shapes plus dequantized real weight rows (realistic value mixes).
fn rows(n: usize, seed: u64) -> Vec<(String, Vec<f32>)> {
    let mut rng = Rng::new(seed);
    let mut v: Vec<(String, Vec<f32>)> = common::activation_rows(n, &mut rng)
        .into_iter()
        .map(|(k, r)| (k.to_string(), r))
        .collect();
    for _ in 0..40 {
        let scale = [1e-3f32, 0.05, 1.0, 30.0][rng.below(4) as usize];
        v.push((
            format!("normal*{scale}"),
            (0..n).map(|_| rng.normal() * scale).collect(),
        ));
    }
    // Real weight rows, dequantized by ggml, as f32 inputs.
    for path in common::model_files().into_iter().take(2) {
        let mut g = common::gguf::Gguf::open(&path).unwrap();
        for t in g
            .tensors
            .clone()
            .iter()
            .filter(|t| (t.dims[0] as usize).is_multiple_of(256))
            .take(12)
        {
            let Some(ty) = GgmlType::from_u32(t.ty) else {
                continue;
            };
            if ty == GgmlType::F32 {
                continue;
            }
            let ne0 = t.dims[0] as usize;
            let rb = ty.row_bytes(ne0 as u64).unwrap() as usize;
            let src = g.read(t.offset, rb).unwrap();
            let mut x = vec![0f32; ne0];
            if oracle::dequantize_row(t.ty, &src, &mut x).is_ok() {
                x.resize(n, 0.0);
                x.truncate(n);
                v.push((format!("{} row 0", t.name), x));
            }
        }
    }
    v
}

fn first_diff(a: &[u8], b: &[u8], block_bytes: usize) -> Option<String> {
    let i = a.iter().zip(b).position(|(x, y)| x != y)?;
    let blk = i / block_bytes;
    let differing = a
        .chunks(block_bytes)
        .zip(b.chunks(block_bytes))
        .filter(|(x, y)| x != y)
        .count();
    Some(format!(
        "byte {i} (block {blk}, offset {}): ours {:#04x}, ggml {:#04x}; {differing} of {} blocks differ",
        i % block_bytes,
        a[i],
        b[i],
        a.len() / block_bytes
    ))
}

/// ggml's Q8_K quantizer leaves `bsums` unwritten in an all-zero block (`d = 0`, it only
/// clears `qs`), so those 32 bytes are whatever the buffer held; every vec_dot multiplies them
/// by `d = 0`. Zero them on both sides (ours writes zeros) before comparing.
fn mask_unwritten(act: GgmlType, bytes: &mut [u8]) {
    if act == GgmlType::Q8_K {
        for blk in bytes.chunks_exact_mut(292) {
            if blk[..4] == [0, 0, 0, 0] {
                blk[260..].fill(0);
            }
        }
    }
}

#[test]
fn activation_quantizers_match_ggml_cpu_backend() {
    let n = 4096;
    let inputs = rows(n, 0xAC71);
    let mut report = Vec::new();
    let mut failures = Vec::new();
    for act in [
        GgmlType::Q8_0,
        GgmlType::Q8_1,
        GgmlType::Q8_K,
        GgmlType::F16,
        GgmlType::BF16,
    ] {
        let bytes = act.row_bytes(n as u64).unwrap() as usize;
        let mut theirs = vec![0u8; bytes];
        let mut theirs_ref = vec![0u8; bytes];
        let mut ours = vec![0u8; bytes];
        let mut cpu_vs_ref = 0;
        for k in Kernels::available() {
            for (name, x) in &inputs {
                theirs.fill(0xA5); // make unwritten bytes visible
                oracle::quantize_row_cpu(act as u32, x, &mut theirs).unwrap();
                k.quantize_activation(act, x, &mut ours).unwrap();
                mask_unwritten(act, &mut theirs);
                mask_unwritten(act, &mut ours);
                if let Some(d) = first_diff(&ours, &theirs, act.block_bytes()) {
                    failures.push(format!("{act:?} [{}] on {name}: {d}", k.name()));
                }
                // ggml has no from_float_ref for Q8_K (its CPU from_float is the reference one).
                if k.name() == "scalar"
                    && oracle::quantize_row_ref(act as u32, x, &mut theirs_ref).is_ok()
                {
                    mask_unwritten(act, &mut theirs_ref);
                    cpu_vs_ref += usize::from(theirs_ref != theirs);
                }
            }
            report.push(format!("{act:?}[{}]", k.name()));
        }
        eprintln!(
            "{act:?}: ggml's CPU from_float differs from its from_float_ref on {cpu_vs_ref} of {} rows",
            inputs.len()
        );
    }
    eprintln!("compared {} rows each: {report:?}", inputs.len());
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// One weight quantizer of ours against ggml's reference quantizer.
fn check_weight<B: bytemuck::Pod + Zeroable>(
    ty: GgmlType,
    ours: fn(&[f32], &mut [B]),
    inputs: &[(String, Vec<f32>)],
    failures: &mut Vec<String>,
) {
    let mut bad = 0;
    for (name, x) in inputs {
        let nb = x.len() / ty.block_size();
        let mut blocks = vec![B::zeroed(); nb];
        ours(x, &mut blocks);
        let got: &[u8] = bytemuck::cast_slice(&blocks);
        let mut want = vec![0u8; got.len()];
        oracle::quantize_row_ref(ty as u32, x, &mut want).unwrap();
        if let Some(d) = first_diff(got, &want, ty.block_bytes()) {
            bad += 1;
            if bad <= 3 {
                failures.push(format!("{ty:?} on {name}: {d}"));
            }
        }
    }
    eprintln!(
        "{ty:?}: {} of {} rows byte-identical to ggml's from_float_ref",
        inputs.len() - bad,
        inputs.len()
    );
    if bad > 3 {
        failures.push(format!("{ty:?}: … {bad} rows differ in all"));
    }
}

#[test]
fn weight_quantizers_match_ggml_reference() {
    let inputs = rows(2048, 0x3E16);
    let mut failures = Vec::new();
    check_weight::<BlockQ4_0>(
        GgmlType::Q4_0,
        block::q4_0::quantize_row_q4_0,
        &inputs,
        &mut failures,
    );
    check_weight::<BlockQ4_1>(
        GgmlType::Q4_1,
        block::q4_1::quantize_row_q4_1,
        &inputs,
        &mut failures,
    );
    check_weight::<BlockQ5_0>(
        GgmlType::Q5_0,
        block::q5_0::quantize_row_q5_0,
        &inputs,
        &mut failures,
    );
    check_weight::<BlockQ5_1>(
        GgmlType::Q5_1,
        block::q5_1::quantize_row_q5_1,
        &inputs,
        &mut failures,
    );
    check_weight::<BlockQ8_0>(
        GgmlType::Q8_0,
        block::q8_0::quantize_row_q8_0_ref,
        &inputs,
        &mut failures,
    );
    check_weight::<BlockQ4K>(
        GgmlType::Q4_K,
        block::q4_k::quantize_row_q4_k,
        &inputs,
        &mut failures,
    );
    check_weight::<BlockQ6K>(
        GgmlType::Q6_K,
        block::q6_k::quantize_row_q6_k,
        &inputs,
        &mut failures,
    );
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

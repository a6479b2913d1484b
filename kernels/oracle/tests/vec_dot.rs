//! (c) Our `vec_dot` (scalar and every SIMD back end this host has) against ggml's CPU-backend
//! `vec_dot` on the same weight and activation bytes. The activations come from ggml's own CPU
//! quantizer, as in llama.cpp. The sums differ only in the order of f32 additions, so the
//! error is measured relative to the L1 size of the sum, `Σ|w_i·a_i|` (dequantized values, in
//! f64). Max observed diffs are printed; the tolerance below is stated.

mod common;

use bague_kernels::{GgmlType, Kernels};
use bague_oracle as oracle;
use common::Rng;

/// Max |ours − ggml| / max(Σ|w_i·a_i|, |ggml|). f32 sums of ≤ 512 block terms; measured worst ~1e-7 (see report).
const TOL: f64 = 2e-6;

const TYPES: [GgmlType; 14] = [
    GgmlType::Q4_0,
    GgmlType::Q4_1,
    GgmlType::Q5_0,
    GgmlType::Q5_1,
    GgmlType::Q8_0,
    GgmlType::Q2_K,
    GgmlType::Q3_K,
    GgmlType::Q4_K,
    GgmlType::Q5_K,
    GgmlType::Q6_K,
    GgmlType::IQ4_NL,
    GgmlType::F16,
    GgmlType::BF16,
    GgmlType::F32,
];

struct Case {
    w: Vec<u8>,
    act: Vec<u8>,
    /// Σ|w_i·a_i| in f64.
    l1: f64,
    /// ggml's result.
    ggml: f32,
}

fn make_case(ty: GgmlType, n: usize, rng: &mut Rng, x: &[f32]) -> Case {
    let at = GgmlType::from_u32(oracle::vec_dot_type(ty as u32).unwrap()).unwrap();
    let w = common::random_blocks(ty, n / ty.block_size(), rng);
    let mut act = vec![0u8; at.row_bytes(n as u64).unwrap() as usize];
    oracle::quantize_row_cpu(at as u32, x, &mut act).unwrap();
    let (mut wf, mut af) = (vec![0f32; n], vec![0f32; n]);
    if ty == GgmlType::F32 {
        wf.copy_from_slice(bytemuck::cast_slice(&w));
    } else {
        oracle::dequantize_row(ty as u32, &w, &mut wf).unwrap();
    }
    act_values(at, &act, &mut af);
    let l1 = wf
        .iter()
        .zip(&af)
        .map(|(a, b)| (*a as f64 * *b as f64).abs())
        .sum();
    let ggml = oracle::vec_dot(ty as u32, n, &w, &act).unwrap();
    Case { w, act, l1, ggml }
}

fn f16(b: &[u8]) -> f32 {
    let mut v = [0f32];
    oracle::dequantize_row(GgmlType::F16 as u32, &b[..2], &mut v).unwrap();
    v[0]
}

/// Activation values `d * q` (ggml has no `to_float` for Q8_1 / Q8_K; only used for the
/// error scale Σ|w·a|, so an independent few lines here).
fn act_values(at: GgmlType, act: &[u8], out: &mut [f32]) {
    match at {
        GgmlType::Q8_0 | GgmlType::Q8_1 => {
            let (bb, q0) = if at == GgmlType::Q8_0 {
                (34, 2)
            } else {
                (36, 4)
            };
            for (blk, o) in act.chunks_exact(bb).zip(out.chunks_exact_mut(32)) {
                let d = f16(blk);
                for j in 0..32 {
                    o[j] = d * blk[q0 + j] as i8 as f32;
                }
            }
        }
        GgmlType::Q8_K => {
            for (blk, o) in act.chunks_exact(292).zip(out.chunks_exact_mut(256)) {
                let d = f32::from_le_bytes(blk[..4].try_into().unwrap());
                for j in 0..256 {
                    o[j] = d * blk[4 + j] as i8 as f32;
                }
            }
        }
        GgmlType::F32 => out.copy_from_slice(bytemuck::cast_slice(act)),
        _ => oracle::dequantize_row(at as u32, act, out).unwrap(),
    }
}

#[test]
fn vec_dot_matches_ggml() {
    let backends: Vec<Kernels> = Kernels::available().collect();
    let names: Vec<&str> = backends.iter().map(|k| k.name()).collect();
    eprintln!("back ends: {names:?}; ggml: {}", oracle::cpu_features());
    let mut failures = Vec::new();
    eprintln!(
        "{:<8} {:<8} {:>12} {:>12} {:>6}",
        "type", "backend", "max rel-L1", "max rel", "cases"
    );
    for ty in TYPES {
        if !Kernels::supports(ty) {
            eprintln!("{ty:?}: not supported by bague-kernels, skipped");
            continue;
        }
        let mut rng = Rng::new(0xD07 + ty as u64);
        let mut cases = Vec::new();
        for &n in &[256usize, 896, 4864, 8192] {
            if n % ty.block_size() != 0 {
                continue;
            }
            for (_, x) in common::activation_rows(n, &mut rng) {
                cases.push((n, make_case(ty, n, &mut rng, &x)));
            }
        }
        for k in &backends {
            let (mut worst_l1, mut worst_rel) = (0f64, 0f64);
            for (n, c) in &cases {
                let ours = k.vec_dot(ty, *n, &c.w, &c.act).unwrap();
                let d = (ours as f64 - c.ggml as f64).abs();
                if !(ours.is_finite() && c.ggml.is_finite()) {
                    if ours.to_bits() != c.ggml.to_bits() {
                        failures.push(format!(
                            "{ty:?}[{}] n={n}: ours {ours}, ggml {}",
                            k.name(),
                            c.ggml
                        ));
                    }
                    continue;
                }
                // Scale: Σ|w·a|, or the result itself when larger (Q4_1/Q5_1 add m·s, where
                // s is the f16 block sum of the activations, outside Σ|w·a|).
                let scale = c.l1.max((c.ggml as f64).abs());
                let rel_l1 = if scale > 0.0 { d / scale } else { d };
                worst_l1 = worst_l1.max(rel_l1);
                if c.ggml != 0.0 {
                    worst_rel = worst_rel.max(d / (c.ggml as f64).abs());
                }
                if rel_l1 > TOL {
                    failures.push(format!(
                        "{ty:?}[{}] n={n}: ours {ours}, ggml {}, |diff|/L1 = {rel_l1:.3e}",
                        k.name(),
                        c.ggml
                    ));
                }
            }
            eprintln!(
                "{:<8} {:<8} {worst_l1:>12.3e} {worst_rel:>12.3e} {:>6}",
                ty.name(),
                k.name(),
                cases.len()
            );
        }
    }
    assert!(
        failures.is_empty(),
        "{} cases over tolerance {TOL:e}:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn matvec_matches_ggml_row_by_row() {
    // 4864×896 and 896×4864 (Qwen2.5-0.5B's FFN shapes), every back end vs ggml's vec_dot per row.
    let mut failures = Vec::new();
    for ty in [
        GgmlType::Q4_0,
        GgmlType::Q4_1,
        GgmlType::Q5_0,
        GgmlType::Q8_0,
        GgmlType::Q4_K,
        GgmlType::Q6_K,
    ] {
        for (rows, cols) in [(64usize, 896usize), (16, 4864)] {
            if cols % ty.block_size() != 0 {
                continue;
            }
            let mut rng = Rng::new(0x3A7 + ty as u64);
            let at = Kernels::vec_dot_type(ty);
            let w = common::random_blocks(ty, rows * cols / ty.block_size(), &mut rng);
            let x: Vec<f32> = (0..cols).map(|_| rng.normal()).collect();
            let mut act = vec![0u8; at.row_bytes(cols as u64).unwrap() as usize];
            oracle::quantize_row_cpu(at as u32, &x, &mut act).unwrap();
            let mut want = vec![0f32; rows];
            oracle::matvec(ty as u32, cols, &w, &act, &mut want).unwrap();
            for k in Kernels::available() {
                let mut got = vec![0f32; rows];
                k.matvec(ty, &w, cols, 0..rows, &act, &mut got).unwrap();
                for r in 0..rows {
                    let scale = want.iter().map(|v| v.abs()).fold(1e-6, f32::max) as f64;
                    let d = (got[r] as f64 - want[r] as f64).abs() / scale;
                    if d > 1e-5 {
                        failures.push(format!(
                            "{ty:?}[{}] {rows}x{cols} row {r}: matvec {}, ggml {}",
                            k.name(),
                            got[r],
                            want[r]
                        ));
                    }
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

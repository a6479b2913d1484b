//! Quantizers: SIMD activation quantizers produce the scalar bytes exactly; weight
//! quantizers round-trip within their error bounds; hand-derived known answers.

mod common;

use bague_kernels::block::*;
use bague_kernels::{GgmlType, Kernels};
use bytemuck::Zeroable;
use common::*;

const ACT_TYPES: [GgmlType; 6] = [
    GgmlType::Q8_0,
    GgmlType::Q8_1,
    GgmlType::Q8_K,
    GgmlType::F16,
    GgmlType::BF16,
    GgmlType::F32,
];

fn special_inputs(rng: &mut TestRng, n: usize, case: usize) -> Vec<f32> {
    let mut x = rng.activations(n);
    match case {
        0 => {}
        1 => x.iter_mut().for_each(|v| *v = 0.0),
        2 => {
            // exact .5 ties after scaling: amax 127 → id = 1
            for (i, v) in x.iter_mut().enumerate() {
                *v = (i % 254) as f32 * 0.5 - 63.0;
            }
            for b in x.chunks_mut(32) {
                b[0] = 127.0;
            }
        }
        3 => {
            for (i, v) in x.iter_mut().enumerate() {
                *v = match i % 7 {
                    0 => -0.0,
                    1 => 1e-42, // subnormal
                    2 => 6.0e4, // near f16 max
                    3 => -1e-8,
                    _ => *v,
                };
            }
        }
        4 => {
            x[3] = f32::NAN;
            x[40] = f32::INFINITY;
            x[300] = f32::NEG_INFINITY;
        }
        _ => x.iter_mut().for_each(|v| *v *= 1e30),
    }
    x
}

#[test]
fn activation_quantizers_identical_on_every_backend() {
    let mut rng = TestRng::new(1);
    for at in ACT_TYPES {
        for case in 0..6 {
            let n = 512;
            let x = special_inputs(&mut rng, n, case);
            let len = at.row_bytes(n as u64).unwrap() as usize;
            for k in simd_backends() {
                let mut want = vec![0u8; len];
                k.reference()
                    .quantize_activation(at, &x, &mut want)
                    .unwrap();
                let mut got = vec![0xAAu8; len];
                k.quantize_activation(at, &x, &mut got).unwrap();
                assert_eq!(got, want, "{at} case {case} on {}", k.name());
            }
        }
    }
}

#[test]
fn q8_activation_round_trip() {
    let mut rng = TestRng::new(2);
    let k = Kernels::detect();
    for at in [GgmlType::Q8_0, GgmlType::Q8_1, GgmlType::Q8_K] {
        let n = 1024;
        let x = rng.activations(n);
        let mut q = vec![0u8; at.row_bytes(n as u64).unwrap() as usize];
        k.quantize_activation(at, &x, &mut q).unwrap();
        let mut y = vec![0f32; n];
        Kernels::dequantize_row(at, &q, &mut y).unwrap();
        let bs = at.block_size();
        for (xb, yb) in x.chunks(bs).zip(y.chunks(bs)) {
            let amax = xb.iter().fold(0f32, |m, v| m.max(v.abs()));
            // half a step (amax / 127 / 2) plus the f16 rounding of the scale (2^-11 rel.)
            let tol = amax / 127.0 * 0.5 + amax * 1.0e-3;
            for (a, b) in xb.iter().zip(yb) {
                assert!((a - b).abs() <= tol, "{at}: {a} vs {b} (tol {tol})");
            }
        }
    }
}

fn rmse_rel(x: &[f32], y: &[f32]) -> f32 {
    let e: f32 = x.iter().zip(y).map(|(a, b)| (a - b) * (a - b)).sum();
    let s: f32 = x.iter().map(|a| a * a).sum();
    (e / s).sqrt()
}

#[test]
fn weight_quantizers_round_trip() {
    let mut rng = TestRng::new(3);
    let n = 4096;
    let x: Vec<f32> = (0..n).map(|_| rng.normal()).collect();
    let mut y = vec![0f32; n];

    let mut b = vec![BlockQ4_0::zeroed(); n / 32];
    q4_0::quantize_row_q4_0(&x, &mut b);
    BlockQ4_0::dequantize(&b, &mut y);
    for (i, (a, c)) in x.iter().zip(&y).enumerate() {
        assert!(
            (a - c).abs() <= b[i / 32].d().abs() * 1.0001 + 1e-6,
            "q4_0 {a} {c}"
        );
    }
    assert!(rmse_rel(&x, &y) < 0.12);

    let mut b = vec![BlockQ4_1::zeroed(); n / 32];
    q4_1::quantize_row_q4_1(&x, &mut b);
    BlockQ4_1::dequantize(&b, &mut y);
    for (i, (a, c)) in x.iter().zip(&y).enumerate() {
        let d = b[i / 32].d();
        assert!(
            (a - c).abs() <= d * 0.5 + d * 0.01 + 1e-3,
            "q4_1 {a} {c} d={d}"
        );
    }

    let mut b = vec![BlockQ5_0::zeroed(); n / 32];
    q5_0::quantize_row_q5_0(&x, &mut b);
    BlockQ5_0::dequantize(&b, &mut y);
    assert!(rmse_rel(&x, &y) < 0.06);

    let mut b = vec![BlockQ5_1::zeroed(); n / 32];
    q5_1::quantize_row_q5_1(&x, &mut b);
    BlockQ5_1::dequantize(&b, &mut y);
    assert!(rmse_rel(&x, &y) < 0.05);

    let mut b = vec![BlockQ8_0::zeroed(); n / 32];
    q8_0::quantize_row_q8_0_ref(&x, &mut b);
    BlockQ8_0::dequantize(&b, &mut y);
    assert!(rmse_rel(&x, &y) < 0.01);

    let mut b = vec![BlockQ4K::zeroed(); n / 256];
    q4_k::quantize_row_q4_k(&x, &mut b);
    BlockQ4K::dequantize(&b, &mut y);
    let e = rmse_rel(&x, &y);
    assert!(e < 0.12, "q4_k rmse {e}");

    let mut b = vec![BlockQ6K::zeroed(); n / 256];
    q6_k::quantize_row_q6_k(&x, &mut b);
    BlockQ6K::dequantize(&b, &mut y);
    let e = rmse_rel(&x, &y);
    assert!(e < 0.03, "q6_k rmse {e}");
}

#[test]
fn q4_k_known_answer() {
    // Sub-block j holds values j * (0..32) / 31 * 15 / 15 ... a ramp 0..=15*s_j exactly
    // representable: q = l, scale s_j = j + 1, min 0. The quantizer must find d * sc = s_j.
    let mut x = vec![0f32; 256];
    for j in 0..8 {
        for l in 0..32 {
            x[32 * j + l] = ((l % 16) as f32) * (j + 1) as f32;
        }
    }
    let mut b = [BlockQ4K::zeroed()];
    q4_k::quantize_row_q4_k(&x, &mut b);
    let mut y = vec![0f32; 256];
    BlockQ4K::dequantize(&b, &mut y);
    // max scale 8 → d = 8/63, scales j+1 → round(63 (j+1) / 8): not all exact, but the
    // round trip error is below half a quant step of the largest sub-block.
    for (a, c) in x.iter().zip(&y) {
        assert!((a - c).abs() <= 8.0 * 0.5 + 0.1, "{a} {c}");
    }
    // sub-block 7 (scale 8) has the largest 6-bit scale 63: exact up to f16 rounding of d
    for (a, c) in x[224..256].iter().zip(&y[224..256]) {
        assert!((a - c).abs() <= a.abs() * 1e-3, "{a} {c}");
    }
    assert_eq!(b[0].dmin(), 0.0);
}

#[test]
fn q6_k_known_answer() {
    // Integer values -32..32 in every group with the same max: iscale lands on d = 1/…;
    // the round trip must be exact up to f16 rounding of d.
    let mut x = vec![0f32; 256];
    for (i, v) in x.iter_mut().enumerate() {
        *v = ((i % 64) as f32) - 32.0;
    }
    let mut b = [BlockQ6K::zeroed()];
    q6_k::quantize_row_q6_k(&x, &mut b);
    let mut y = vec![0f32; 256];
    BlockQ6K::dequantize(&b, &mut y);
    for (a, c) in x.iter().zip(&y) {
        assert!((a - c).abs() <= 0.02 * 32.0, "{a} {c}");
    }
}

#[test]
fn q8_k_zero_block_and_sums() {
    let mut x = vec![0f32; 512];
    for (i, v) in x[256..].iter_mut().enumerate() {
        *v = i as f32 - 100.0;
    }
    let mut b = vec![BlockQ8K::zeroed(); 2];
    q8_k::quantize_row_q8_k(&x, &mut b);
    assert_eq!(b[0], BlockQ8K::zeroed());
    // max magnitude is 155 (positive): iscale = -127/155, quants are negated
    assert_eq!(b[1].qs[255], -127);
    assert_eq!(b[1].d(), -155.0 / 127.0);
    for g in 0..16 {
        let s: i32 = b[1].qs[16 * g..16 * g + 16].iter().map(|&q| q as i32).sum();
        assert_eq!(b[1].bsum(g) as i32, s);
    }
}

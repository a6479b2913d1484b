//! AArch64 back ends (`neon`, `neon+dotprod`): the claims their module docs make beyond the
//! shared battery's tolerance, checked against the scalar reference:
//! - quantized dot products equal the reference bit for bit, for any block bytes (NaN/Inf
//!   scales included) and any activation quants (-128 included);
//! - activation quantizers and f16 conversions write the scalar bytes exactly, on special
//!   inputs too (NaN, ±Inf, subnormals, huge and tiny magnitudes, ties);
//! - (the float operations of the forward pass, bit for bit: `tests/float_ops.rs`, which runs
//!   on every back end);
//! - detection: `BAGUE_EXPECT_KERNELS` (set by `ci/aarch64.sh` per emulated CPU) names the
//!   back end `Kernels::detect` must choose, and dotprod must never be offered without it.
//!
//! On other architectures the file compiles to nothing.
#![cfg(target_arch = "aarch64")]

mod common;

use bague_kernels::{GgmlType, Kernels};
use common::*;

fn neon_backends() -> Vec<Kernels> {
    Kernels::available()
        .filter(|k| k.name().starts_with("neon"))
        .collect()
}

/// Quantized weight formats (float rows are compared with a tolerance by the battery).
const QUANT_TYPES: [GgmlType; 11] = [
    GgmlType::Q4_0,
    GgmlType::Q4_1,
    GgmlType::Q5_0,
    GgmlType::Q5_1,
    GgmlType::Q8_0,
    GgmlType::IQ4_NL,
    GgmlType::Q2_K,
    GgmlType::Q3_K,
    GgmlType::Q4_K,
    GgmlType::Q5_K,
    GgmlType::Q6_K,
];

fn assert_same(what: &str, got: f32, want: f32) {
    assert!(
        got.to_bits() == want.to_bits() || (got.is_nan() && want.is_nan()),
        "{what}: got {got:e} ({:#x}), reference {want:e} ({:#x})",
        got.to_bits(),
        want.to_bits()
    );
}

#[test]
fn detection_matches_the_cpu() {
    let names: Vec<_> = Kernels::available().map(|k| k.name()).collect();
    assert!(
        names.contains(&"neon"),
        "NEON missing on AArch64: {names:?}"
    );
    let best = names.last().copied();
    if let Ok(want) = std::env::var("BAGUE_EXPECT_KERNELS") {
        assert_eq!(Kernels::detect().name(), want, "available: {names:?}");
        if std::env::var("BAGUE_KERNELS").is_err() {
            assert_eq!(best, Some(want.as_str()), "best of {names:?}");
        }
    }
    let dot = std::arch::is_aarch64_feature_detected!("dotprod");
    assert_eq!(names.contains(&"neon+dotprod"), dot, "{names:?}");
    assert_eq!(Kernels::by_name("neon+dotprod").is_some(), dot);
}

#[test]
fn quantized_dots_are_bit_exact_random_bytes() {
    let backends = neon_backends();
    let mut rng = TestRng::new(0xa64);
    for wt in QUANT_TYPES {
        let at = Kernels::vec_dot_type(wt);
        for round in 0..24 {
            let n = wt.block_size() * (1 + round % 7);
            // every weight byte random (scales: zero, subnormal, NaN, Inf…; Q8_0 quants -128
            // included), activations random bytes too on odd rounds (quants -128, any sums)
            let mut w = vec![0u8; wt.row_bytes(n as u64).unwrap() as usize];
            rng.bytes(&mut w);
            let a = if round % 2 == 1 {
                let mut a = vec![0u8; at.row_bytes(n as u64).unwrap() as usize];
                rng.bytes(&mut a);
                a
            } else {
                random_activation_blocks(&mut rng, at, n)
            };
            for k in &backends {
                let want = k.reference().vec_dot(wt, n, &w, &a).unwrap();
                let got = k.vec_dot(wt, n, &w, &a).unwrap();
                assert_same(&format!("{wt} {} n={n} round {round}", k.name()), got, want);
            }
        }
    }
}

#[test]
fn prefill_rows_are_bit_exact() {
    // matmul over 6 tokens runs the four-row kernels once, then two single rows
    let backends = neon_backends();
    let mut rng = TestRng::new(0x4444);
    for wt in QUANT_TYPES {
        let at = Kernels::vec_dot_type(wt);
        let n = 2 * wt.block_size();
        let n_tok = 6;
        let mut w = vec![0u8; wt.row_bytes(n as u64).unwrap() as usize];
        rng.bytes(&mut w);
        let acts: Vec<Vec<u8>> = (0..n_tok)
            .map(|_| random_activation_blocks(&mut rng, at, n))
            .collect();
        let all = acts.concat();
        for k in &backends {
            let mut out = vec![f32::NAN; n_tok];
            k.matmul(wt, &w, n, 0..1, &all, n_tok, &mut out, 1).unwrap();
            for (t, a) in acts.iter().enumerate() {
                let what = format!("{wt} {} token {t}", k.name());
                assert_same(&what, out[t], k.reference().vec_dot(wt, n, &w, a).unwrap());
            }
        }
    }
}

#[test]
fn quantized_dots_are_bit_exact_realistic() {
    let backends = neon_backends();
    let mut rng = TestRng::new(7);
    for wt in QUANT_TYPES {
        let n = 4096;
        let w = random_weights_sane(&mut rng, wt, n);
        let (_, a) = quantized_activations(&Kernels::scalar(), &mut rng, wt, n);
        for k in &backends {
            let want = k.reference().vec_dot(wt, n, &w, &a).unwrap();
            assert!(
                want.is_finite() && want != 0.0,
                "{wt}: degenerate test data"
            );
            assert_same(
                &format!("{wt} {}", k.name()),
                k.vec_dot(wt, n, &w, &a).unwrap(),
                want,
            );
            // a matvec over 3 rows gives each row's vec_dot
            let w3 = [w.clone(), w.clone(), w.clone()].concat();
            let mut out = [0f32; 3];
            k.matvec(wt, &w3, n, 0..3, &a, &mut out).unwrap();
            for o in out {
                assert_same(&format!("{wt} {} matvec", k.name()), o, want);
            }
        }
    }
}

/// Inputs that stress the quantizers' edge rules, 256 values (one Q8_K block, 8 Q8_0 blocks).
fn special_rows(rng: &mut TestRng) -> Vec<Vec<f32>> {
    let specials = [
        0.0,
        -0.0,
        f32::NAN,
        -f32::NAN,
        f32::from_bits(0x7fc0_1234), // NaN payloads reach Q8_K's `nearest_int` bit trick
        f32::from_bits(0xff80_0001),
        f32::INFINITY,
        f32::NEG_INFINITY,
        f32::MIN_POSITIVE,
        1e-40,
        -1e-45,
        f32::MAX,
        -f32::MAX,
        0.5,
        -2.5,
        127.0,
        -127.5,
        1e30,
    ];
    let mut rows = Vec::new();
    for case in 0..64 {
        let mut x = rng.activations(256);
        match case % 8 {
            0 => {}
            1 => x.iter_mut().for_each(|v| *v *= 1e-39), // subnormal amax: 127/amax = Inf
            2 => x.iter_mut().for_each(|v| *v = (*v * 4.0).round() * 0.5), // ties
            3 => x.fill(0.0),
            4 => x.iter_mut().for_each(|v| *v *= 1e36),
            _ => {
                for _ in 0..(case % 5 + 1) {
                    let i = (rng.next_u64() % 256) as usize;
                    x[i] = specials[(rng.next_u64() % specials.len() as u64) as usize];
                }
            }
        }
        if case % 3 == 0 {
            // equal magnitudes of both signs: the first one sets the Q8_K scale sign
            let i = (rng.next_u64() % 200) as usize;
            x[i] = -30.0;
            x[i + 17] = 30.0;
        }
        rows.push(x);
    }
    rows
}

#[test]
fn activation_quantizers_write_scalar_bytes() {
    let mut rng = TestRng::new(0x51);
    for x in special_rows(&mut rng) {
        for at in [
            GgmlType::Q8_0,
            GgmlType::Q8_1,
            GgmlType::Q8_K,
            GgmlType::F16,
        ] {
            let len = at.row_bytes(x.len() as u64).unwrap() as usize;
            for k in neon_backends() {
                let mut want = vec![0u8; len];
                k.reference()
                    .quantize_activation(at, &x, &mut want)
                    .unwrap();
                let mut got = vec![0xa5u8; len];
                k.quantize_activation(at, &x, &mut got).unwrap();
                assert_eq!(got, want, "{at} {} on {:?}", k.name(), &x[..8]);
            }
        }
    }
}

#[test]
fn f16_conversions_write_scalar_bytes() {
    // every f16 bit pattern to f32 and back, plus f32 patterns around every rounding boundary
    let all: Vec<u8> = (0..=u16::MAX).flat_map(|h| h.to_le_bytes()).collect();
    let mut want = vec![0f32; 1 << 16];
    Kernels::scalar().f16_to_f32_row(&all, &mut want).unwrap();
    let mut rng = TestRng::new(3);
    let mut xs: Vec<f32> = (0..200_000u32)
        .map(|_| f32::from_bits(rng.next_u64() as u32))
        .collect();
    for h in (0..=u16::MAX).step_by(7) {
        let f = half::f16::from_bits(h).to_f32().to_bits();
        xs.extend([f, f ^ 0x1000, f | 0xfff, f.wrapping_add(0x1000)].map(f32::from_bits));
    }
    xs.truncate(xs.len() / 4 * 4 + 3); // a ragged tail
    let mut want16 = vec![0u8; 2 * xs.len()];
    Kernels::scalar().f32_to_f16_row(&xs, &mut want16).unwrap();
    for k in neon_backends() {
        let mut got = vec![0f32; 1 << 16];
        k.f16_to_f32_row(&all, &mut got).unwrap();
        for (i, (g, w)) in got.iter().zip(&want).enumerate() {
            assert_eq!(g.to_bits(), w.to_bits(), "{} f16 {i:#06x}", k.name());
        }
        let mut got16 = vec![0u8; 2 * xs.len()];
        k.f32_to_f16_row(&xs, &mut got16).unwrap();
        for (i, (g, w)) in got16.chunks(2).zip(want16.chunks(2)).enumerate() {
            assert_eq!(g, w, "{} f32 {:#010x}", k.name(), xs[i].to_bits());
        }
    }
}

#[test]
fn float_dots_f32_within_last_bit_f16_exact() {
    let mut rng = TestRng::new(11);
    for wt in [GgmlType::F32, GgmlType::F16] {
        for n in [1usize, 7, 8, 33, 1000, 4099] {
            let w = random_weights_sane(&mut rng, wt, n);
            let a = random_weights_sane(&mut rng, wt, n);
            let want = vec_dot_ref(wt, &w, &a);
            // F16: every back end runs ggml's `ggml_vec_dot_f16` order (f32 lanes), the
            // scalar one included
            for k in neon_backends() {
                let want16 = k.reference().vec_dot(wt, n, &w, &a).unwrap();
                let got = k.vec_dot(wt, n, &w, &a).unwrap();
                if wt == GgmlType::F16 {
                    assert_same(&format!("{wt} {} n={n}", k.name()), got, want16);
                    continue;
                }
                // f64 accumulation in another order: at most the final rounding differs
                let ulp = f32::from_bits(want.abs().to_bits() + 1) - want.abs();
                assert!(
                    (got - want).abs() <= ulp,
                    "{wt} {} n={n}: {got} vs {want}",
                    k.name()
                );
            }
        }
    }
}

/// The repacked kernels of the dotprod build (matrices llama.cpp repacks: Q4_0 and Q8_0
/// with rows ≡ 0 mod 4, Q4_K and Q6_K with rows ≡ 0 mod 8), decode and prefill (6 tokens:
/// one group of 4 through the gemm form, 2 through the gemv form), and the same matrices
/// one row short (not repacked: `vec_dot` order), equal the scalar models bit for bit on
/// both NEON back ends.
#[test]
fn repacked_and_plain_matrices_are_the_models() {
    let backends = neon_backends();
    assert!(!backends.is_empty(), "no NEON back end on an aarch64 CPU");
    let mut rng = TestRng::new(0x4e4e);
    for wt in [
        GgmlType::Q4_0,
        GgmlType::Q8_0,
        GgmlType::Q4_K,
        GgmlType::Q6_K,
    ] {
        let at = Kernels::vec_dot_type(wt);
        let n = 3 * 256;
        for n_rows in [8usize, 7] {
            let w: Vec<u8> = (0..n_rows)
                .flat_map(|_| random_weights_sane(&mut rng, wt, n))
                .collect();
            let n_tok = 6;
            let mut acts = Vec::new();
            for _ in 0..n_tok {
                acts.extend(quantized_activations(&Kernels::scalar(), &mut rng, wt, n).1);
            }
            let arow = at.row_bytes(n as u64).unwrap() as usize;
            for k in &backends {
                let r = k.reference();
                let what = format!("{wt} rows {n_rows} on {}", k.name());
                let (mut got, mut want) = (vec![0f32; n_rows], vec![0f32; n_rows]);
                k.matvec(wt, &w, n, 0..n_rows, &acts[..arow], &mut got)
                    .unwrap();
                r.matvec(wt, &w, n, 0..n_rows, &acts[..arow], &mut want)
                    .unwrap();
                for (g, w) in got.iter().zip(&want) {
                    assert_same(&format!("{what} matvec"), *g, *w);
                }
                let (mut got, mut want) = (vec![0f32; n_rows * n_tok], vec![0f32; n_rows * n_tok]);
                k.matmul(wt, &w, n, 0..n_rows, &acts, n_tok, &mut got, n_rows)
                    .unwrap();
                r.matmul(wt, &w, n, 0..n_rows, &acts, n_tok, &mut want, n_rows)
                    .unwrap();
                for (g, w) in got.iter().zip(&want) {
                    assert_same(&format!("{what} matmul"), *g, *w);
                }
            }
        }
    }
}

/// tinyBLAS f16 × f32 (aarch64's `V · P` for a batch) is the scalar model on every back end.
#[test]
fn matvec_f16_f32_is_the_model() {
    let mut rng = TestRng::new(0x1616);
    for (n_cols, stride, rows) in [(64usize, 300usize, 9usize), (13, 13, 4), (256, 256, 2)] {
        let w = random_weights_sane(&mut rng, GgmlType::F16, (rows - 1) * stride + n_cols);
        let w: &[bague_kernels::block::F16] = bytemuck::cast_slice(&w);
        let x: Vec<f32> = (0..n_cols)
            .map(|i| ((i * 37 % 101) as f32 - 50.0) / 64.0)
            .collect();
        let mut want = vec![0f32; rows];
        Kernels::scalar()
            .matvec_f16_f32(w, n_cols, stride, &x, &mut want)
            .unwrap();
        for k in neon_backends() {
            let mut got = vec![f32::NAN; rows];
            k.matvec_f16_f32(w, n_cols, stride, &x, &mut got).unwrap();
            for (g, wv) in got.iter().zip(&want) {
                assert_same(&format!("{} {n_cols}x{rows}", k.name()), *g, *wv);
            }
        }
    }
}

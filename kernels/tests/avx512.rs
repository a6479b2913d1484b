//! The AVX-512 back end (`avx512`: AVX-512 F/BW/VL + VNNI) against the AVX2 back end, bit
//! for bit: its kernels form the integer parts with `vpdpbusd` and keep the AVX2 kernels'
//! f32 order, so `vec_dot`, `matvec` (both orders) and `matmul` (every batch path, row
//! range, token count and batch share) must return the AVX2 bits exactly, for every weight
//! format (the ones it accelerates and the ones it forwards). Activations are the
//! quantizers' output (quants in -127..=127, the AVX2 kernels' precondition).
//!
//! x86-64 only. A CPU without AVX-512 VNNI (or kernels built by rustc < 1.89, which has no
//! AVX-512 intrinsics: `kernels/build.rs`) skips the tests (logged and counted as skipped
//! by `ci/test.sh`, see `bague-testkit`); a CPU without AVX2 fails them.
#![cfg(target_arch = "x86_64")]

mod common;

use bague_kernels::{GgmlType, Kernels, MatvecOrder};
use common::*;

/// The two back ends, or `None` (test skipped) on a CPU without AVX-512 VNNI.
fn pair() -> Option<(Kernels, Kernels)> {
    let avx2 = Kernels::by_name("avx2").expect("no AVX2 + FMA + F16C on this x86-64 CPU");
    let Some(avx512) = Kernels::by_name("avx512") else {
        bague_testkit::skip(
            "this CPU has no AVX-512 F/BW/VL + VNNI (or rustc < 1.89 built the kernels)",
        );
        return None;
    };
    assert_eq!(avx512.name(), "avx512");
    Some((avx2, avx512))
}

const TYPES: [GgmlType; 14] = [
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
    GgmlType::F32,
    GgmlType::F16,
    GgmlType::BF16,
];

fn same(what: &str, got: f32, want: f32) {
    assert!(
        got.to_bits() == want.to_bits() || (got.is_nan() && want.is_nan()),
        "{what}: avx512 {got:e} ({:#010x}) != avx2 {want:e} ({:#010x})",
        got.to_bits(),
        want.to_bits()
    );
}

/// Columns of a test row: `blocks` blocks (96 floats for the 1-element types).
fn cols(wt: GgmlType, blocks: usize) -> usize {
    match wt.block_size() {
        1 => 96,
        b => blocks * b,
    }
}

#[test]
fn vec_dot_bitwise_equals_avx2() {
    let Some((avx2, avx512)) = pair() else {
        return;
    };
    for wt in TYPES {
        let mut rng = TestRng::new(11);
        for blocks in [1, 2, 3, 7, 8, 9, 16, 19, 28] {
            let n = cols(wt, blocks);
            for sane in [true, false] {
                let w = if sane {
                    random_weights_sane(&mut rng, wt, n)
                } else {
                    random_weights(&mut rng, wt, n)
                };
                let (_, a) = quantized_activations(&avx2, &mut rng, wt, n);
                let want = avx2.vec_dot(wt, n, &w, &a).unwrap();
                let got = avx512.vec_dot(wt, n, &w, &a).unwrap();
                same(&format!("{wt} vec_dot n={n} sane={sane}"), got, want);
            }
        }
    }
}

/// Q8_0 weights with quants of -128 (ggml's quantizer never writes one, a file may): the
/// AVX2 sign trick is exact for them, and so is the AVX-512 kernel.
#[test]
fn q8_0_weight_quant_minus_128_bitwise() {
    let Some((avx2, avx512)) = pair() else {
        return;
    };
    let mut rng = TestRng::new(5);
    let n = 19 * 32;
    let mut w = random_weights_sane(&mut rng, GgmlType::Q8_0, 8 * n);
    for blk in w.chunks_exact_mut(34) {
        for q in blk[2..].iter_mut().step_by(3) {
            *q = 0x80;
        }
    }
    let (_, a) = quantized_activations(&avx2, &mut rng, GgmlType::Q8_0, n);
    let rb = w.len() / 8;
    for r in 0..8 {
        let row = &w[r * rb..(r + 1) * rb];
        let want = avx2.vec_dot(GgmlType::Q8_0, n, row, &a).unwrap();
        let got = avx512.vec_dot(GgmlType::Q8_0, n, row, &a).unwrap();
        same(&format!("Q8_0 -128 row {r}"), got, want);
    }
    let mut o2 = vec![0f32; 8];
    let mut o5 = vec![0f32; 8];
    avx2.matvec(GgmlType::Q8_0, &w, n, 0..8, &a, &mut o2)
        .unwrap();
    avx512
        .matvec(GgmlType::Q8_0, &w, n, 0..8, &a, &mut o5)
        .unwrap();
    for r in 0..8 {
        same(&format!("Q8_0 -128 matvec row {r}"), o5[r], o2[r]);
    }
}

#[test]
fn matvec_bitwise_equals_avx2_both_orders() {
    let Some((avx2, avx512)) = pair() else {
        return;
    };
    for wt in TYPES {
        let mut rng = TestRng::new(13);
        // 19 blocks of 32 (8-block groups plus a tail), 3 super-blocks
        let n_cols = cols(wt, if wt.block_size() == 32 { 19 } else { 3 });
        // 40 rows: a multiple of 8 (the repacked orders) and of 4; 37: neither
        for n_rows in [40, 37] {
            let w = random_weights_sane(&mut rng, wt, n_cols * n_rows);
            let (_, a) = quantized_activations(&avx2, &mut rng, wt, n_cols);
            for order in [MatvecOrder::Repacked, MatvecOrder::VecDot] {
                for rows in [0..n_rows, 3..20, 8..32, n_rows - 1..n_rows, 5..5] {
                    let mut want = vec![f32::NAN; rows.len()];
                    let mut got = vec![f32::NAN; rows.len()];
                    avx2.matvec_ordered(order, wt, &w, n_cols, rows.clone(), &a, &mut want)
                        .unwrap();
                    avx512
                        .matvec_ordered(order, wt, &w, n_cols, rows.clone(), &a, &mut got)
                        .unwrap();
                    for (i, (g, w)) in got.iter().zip(&want).enumerate() {
                        same(
                            &format!("{wt} {order:?} {n_rows} rows {rows:?} row {i}"),
                            *g,
                            *w,
                        );
                    }
                }
            }
        }
    }
}

/// Every batch path (llama.cpp's choice by type, row count and batch size) and its tails:
/// token counts around the 2-, 4- and 8-token groupings, row ranges around the 4- and
/// 8-row tiles, shares of a larger batch.
#[test]
fn matmul_bitwise_equals_avx2() {
    let Some((avx2, avx512)) = pair() else {
        return;
    };
    for wt in TYPES {
        let mut rng = TestRng::new(17);
        let n_cols = cols(wt, if wt.block_size() == 32 { 19 } else { 3 });
        for n_rows in [24, 21] {
            let w = random_weights_sane(&mut rng, wt, n_cols * n_rows);
            for n_tok in [1, 2, 3, 4, 5, 7, 8, 9, 13] {
                let acts: Vec<u8> = (0..n_tok)
                    .flat_map(|_| quantized_activations(&avx2, &mut rng, wt, n_cols).1)
                    .collect();
                for rows in [0..n_rows, 3..n_rows, 8..16, 1..6] {
                    for batch in [n_tok, n_tok + 8] {
                        let stride = rows.len() + 1;
                        let mut want = vec![f32::NAN; stride * n_tok];
                        let mut got = vec![f32::NAN; stride * n_tok];
                        avx2.matmul_in_batch(
                            wt,
                            &w,
                            n_cols,
                            rows.clone(),
                            &acts,
                            n_tok,
                            &mut want,
                            stride,
                            batch,
                        )
                        .unwrap();
                        avx512
                            .matmul_in_batch(
                                wt,
                                &w,
                                n_cols,
                                rows.clone(),
                                &acts,
                                n_tok,
                                &mut got,
                                stride,
                                batch,
                            )
                            .unwrap();
                        for (i, (g, w)) in got.iter().zip(&want).enumerate() {
                            same(
                                &format!(
                                    "{wt} {n_rows} rows {rows:?}, {n_tok} tokens of {batch}: \
                                     token {} row {}",
                                    i / stride,
                                    i % stride
                                ),
                                *g,
                                *w,
                            );
                        }
                    }
                }
            }
        }
    }
}

/// `BAGUE_KERNELS`-style selection by name, and the default: AVX-512 where the CPU has it
/// (it returns the AVX2 bits, so it costs no fidelity).
#[test]
fn by_name_and_default() {
    let Some((_, avx512)) = pair() else {
        return;
    };
    assert!(Kernels::available().any(|k| k == avx512));
    if std::env::var_os("BAGUE_KERNELS").is_none() {
        assert_eq!(Kernels::detect().name(), "avx512");
    }
}

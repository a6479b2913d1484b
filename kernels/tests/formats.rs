//! Every weight format × every SIMD back end of the host against the scalar reference (random
//! blocks, edge scales; the scalar back end is the reference, so it is not compared with
//! itself); the reference against an independent computation (dequantize, dot in f64); every
//! back end's `matvec` / `matmul` against its own `vec_dot`; the byte-slice API's length checks.

mod common;

use bague_kernels::{GgmlType, KernelError, Kernels, MatvecOrder};
use common::*;
use proptest::prelude::*;

fn sizes(wt: GgmlType) -> [usize; 4] {
    let b = if wt.block_size() == 1 {
        32
    } else {
        wt.block_size()
    };
    [b, 3 * b, 8 * b, 17 * b]
}

fn check_all(wt: GgmlType, seed: u64, sane: bool, random_acts: bool) {
    let mut rng = TestRng::new(seed);
    let scalar = Kernels::scalar();
    for n in sizes(wt) {
        let w = if sane {
            random_weights_sane(&mut rng, wt, n)
        } else {
            random_weights(&mut rng, wt, n)
        };
        let a = if random_acts {
            random_activation_blocks(&mut rng, Kernels::vec_dot_type(wt), n)
        } else {
            quantized_activations(&scalar, &mut rng, wt, n).1
        };
        let want = vec_dot_ref(wt, &w, &a);
        let mag = magnitude(wt, &w, &a);
        for k in simd_backends() {
            let got = k.vec_dot(wt, n, &w, &a).unwrap();
            assert_close(
                &format!("{wt} n={n} {} seed={seed}", k.name()),
                got,
                want,
                mag,
            );
        }
    }
}

#[test]
fn vec_dot_matches_reference_sane_scales() {
    for wt in WEIGHT_TYPES {
        for seed in 0..20 {
            check_all(wt, seed, true, false);
            check_all(wt, 1000 + seed, true, true);
        }
    }
}

#[test]
fn vec_dot_matches_reference_random_bytes() {
    // every byte random: f16 scales include zeros, subnormals, huge values, NaN and Inf
    for wt in WEIGHT_TYPES {
        for seed in 0..20 {
            check_all(wt, 5000 + seed, false, seed % 2 == 0);
        }
    }
}

#[test]
fn vec_dot_edge_scales() {
    let specials: [u16; 8] = [
        0x0000, 0x8000, 0x0001, 0x03ff, 0x7bff, 0x7c00, 0xfc00, 0x7e00,
    ];
    let scalar = Kernels::scalar();
    for wt in WEIGHT_TYPES {
        if wt.block_size() == 1 {
            continue;
        }
        let mut rng = TestRng::new(42);
        let n = 4 * wt.block_size();
        for &s in &specials {
            let mut w = random_weights_sane(&mut rng, wt, n);
            // overwrite every f16 field the sane generator set with the special value
            let sane = random_weights_sane(&mut TestRng::new(7), wt, n);
            let plain = random_weights(&mut TestRng::new(7), wt, n);
            for (i, (x, y)) in sane.iter().zip(&plain).enumerate() {
                if x != y {
                    w[i] = s.to_le_bytes()[i % 2];
                }
            }
            let (_, a) = quantized_activations(&scalar, &mut rng, wt, n);
            let want = vec_dot_ref(wt, &w, &a);
            let mag = magnitude(wt, &w, &a);
            for k in simd_backends() {
                let got = k.vec_dot(wt, n, &w, &a).unwrap();
                assert_close(&format!("{wt} scale {s:#06x} {}", k.name()), got, want, mag);
            }
        }
        // all-zero weights
        let w = vec![0u8; wt.row_bytes(n as u64).unwrap() as usize];
        let (_, a) = quantized_activations(&scalar, &mut rng, wt, n);
        for k in Kernels::available() {
            assert_eq!(k.vec_dot(wt, n, &w, &a).unwrap(), 0.0, "{wt} zero block");
        }
    }
}

/// The scalar reference itself against an independent computation: Σ dequant(w) · dequant(a)
/// in f64 must match the reference dot product within the documented tolerance (checks the
/// reference's arithmetic, and that the dequantizers and the dot products read one layout).
#[test]
fn reference_dot_agrees_with_dequantized_f64_dot() {
    let scalar = Kernels::scalar();
    for wt in WEIGHT_TYPES {
        let mut rng = TestRng::new(99);
        for n in sizes(wt) {
            let w = random_weights_sane(&mut rng, wt, n);
            let (_, a) = quantized_activations(&scalar, &mut rng, wt, n);
            let mut wf = vec![0f32; n];
            let mut af = vec![0f32; n];
            Kernels::dequantize_row(wt, &w, &mut wf).unwrap();
            Kernels::dequantize_row(Kernels::vec_dot_type(wt), &a, &mut af).unwrap();
            let exact: f64 = wf.iter().zip(&af).map(|(x, y)| *x as f64 * *y as f64).sum();
            let mut mag = magnitude(wt, &w, &a);
            if Kernels::vec_dot_type(wt) == GgmlType::Q8_1 {
                // Q8_1 stores `s = d Σq` as f16: the min term is only 2^-11-accurate.
                mag *= 50.0;
            }
            assert_close(
                &format!("{wt} dequant n={n}"),
                exact as f32,
                vec_dot_ref(wt, &w, &a),
                mag,
            );
        }
    }
}

/// `matvec` in `vec_dot` order gives each row exactly `vec_dot`'s bits, whatever the row range;
/// `matmul` (prefill, ggml's batch orders) agrees with `vec_dot` within the tolerance rule.
/// (`matvec`'s default repacked order: `tests/decode_order.rs`.)
#[test]
fn matvec_equals_vec_dot_bitwise_matmul_close() {
    let scalar = Kernels::scalar();
    for wt in WEIGHT_TYPES {
        let mut rng = TestRng::new(3);
        // 19 blocks of 32 (two 8-block groups of the prefill kernels plus a tail of 3),
        // 3 super-blocks, or 96 floats
        let n_cols = match wt.block_size() {
            1 => 96,
            32 => 19 * 32,
            b => 3 * b,
        };
        let n_rows = 37;
        let rb = wt.row_bytes(n_cols as u64).unwrap() as usize;
        let w = random_weights_sane(&mut rng, wt, n_cols * n_rows);
        let n_tok = 5;
        let acts: Vec<Vec<u8>> = (0..n_tok)
            .map(|_| quantized_activations(&scalar, &mut rng, wt, n_cols).1)
            .collect();
        let all: Vec<u8> = acts.concat();
        for k in Kernels::available() {
            // 37, 17, 1, 0, 32 (whole groups of 4 and 8), 23 (5 × 4 + 3, 2 × 8 + 7) rows
            for rows in [0..n_rows, 3..20, 36..37, 5..5, 4..36, 14..37] {
                let mut out = vec![f32::NAN; rows.len()];
                k.matvec_ordered(
                    MatvecOrder::VecDot,
                    wt,
                    &w,
                    n_cols,
                    rows.clone(),
                    &acts[2],
                    &mut out,
                )
                .unwrap();
                for (i, r) in rows.clone().enumerate() {
                    let want = k
                        .vec_dot(wt, n_cols, &w[r * rb..(r + 1) * rb], &acts[2])
                        .unwrap();
                    assert_eq!(
                        out[i].to_bits(),
                        want.to_bits(),
                        "{wt} {} matvec row {r}",
                        k.name()
                    );
                }
                let stride = rows.len() + 3;
                let mut out = vec![f32::NAN; stride * n_tok];
                k.matmul(wt, &w, n_cols, rows.clone(), &all, n_tok, &mut out, stride)
                    .unwrap();
                for t in 0..n_tok {
                    for (i, r) in rows.clone().enumerate() {
                        let wr = &w[r * rb..(r + 1) * rb];
                        let want = k.vec_dot(wt, n_cols, wr, &acts[t]).unwrap();
                        assert_close(
                            &format!("{wt} {} matmul row {r} token {t}", k.name()),
                            out[t * stride + i],
                            want,
                            magnitude(wt, wr, &acts[t]),
                        );
                    }
                    assert!(out[t * stride + rows.len()].is_nan(), "wrote past rows");
                }
            }
        }
    }
}

/// A thread's share of a prefill batch (`matmul_in_batch`, starting at a multiple of 4
/// tokens) gives exactly the bits of one `matmul` over the whole batch, for every type,
/// batch size and split — whatever path the batch size picks (ggml's batch kernels from 2
/// tokens, Q6_K's tiled kernel from 8), so that logits do not depend on the thread count.
#[test]
fn batch_shares_equal_the_whole_batch_bitwise() {
    let scalar = Kernels::scalar();
    for wt in WEIGHT_TYPES {
        let mut rng = TestRng::new(7);
        let n_cols = match wt.block_size() {
            1 => 96,
            32 => 19 * 32,
            b => 3 * b,
        };
        let n_rows = 24; // a multiple of 8: the repacked paths too
        let w = random_weights_sane(&mut rng, wt, n_cols * n_rows);
        for batch in [2, 3, 4, 5, 7, 8, 9, 12, 13, 17] {
            let all: Vec<u8> = (0..batch)
                .flat_map(|_| quantized_activations(&scalar, &mut rng, wt, n_cols).1)
                .collect();
            let arb = all.len() / batch;
            for k in Kernels::available() {
                let mut whole = vec![f32::NAN; batch * n_rows];
                k.matmul(wt, &w, n_cols, 0..n_rows, &all, batch, &mut whole, n_rows)
                    .unwrap();
                for per in (4..batch).step_by(4) {
                    let mut parts = vec![f32::NAN; batch * n_rows];
                    for (i, o) in parts.chunks_mut(per * n_rows).enumerate() {
                        let t0 = i * per;
                        let n = o.len() / n_rows;
                        let a = &all[t0 * arb..(t0 + n) * arb];
                        k.matmul_in_batch(wt, &w, n_cols, 0..n_rows, a, n, o, n_rows, batch)
                            .unwrap();
                    }
                    for (j, (x, y)) in whole.iter().zip(&parts).enumerate() {
                        assert_eq!(
                            x.to_bits(),
                            y.to_bits(),
                            "{wt} {}: batch {batch} in shares of {per}: token {} row {}",
                            k.name(),
                            j / n_rows,
                            j % n_rows
                        );
                    }
                }
            }
        }
    }
}

#[test]
fn matvec_strided_equals_vec_dot() {
    // a [pos][n_head * head_dim] f16 cache, one head's rows every `n_head * head_dim` values
    let scalar = Kernels::scalar();
    let mut rng = TestRng::new(21);
    for wt in [GgmlType::F16, GgmlType::Q8_0, GgmlType::Q4_K] {
        let hd = if wt.block_size() == 1 {
            64
        } else {
            wt.block_size()
        };
        let (n_head, n_pos) = (3, 11);
        let rb = wt.row_bytes(hd as u64).unwrap() as usize;
        let cache = random_weights_sane(&mut rng, wt, hd * n_head * n_pos);
        let (_, a) = quantized_activations(&scalar, &mut rng, wt, hd);
        for k in Kernels::available() {
            for h in 0..n_head {
                let mut out = vec![f32::NAN; n_pos];
                k.matvec_strided(wt, &cache[h * rb..], hd, n_head * rb, &a, &mut out)
                    .unwrap();
                for (p, o) in out.iter().enumerate() {
                    let off = (p * n_head + h) * rb;
                    let want = k.vec_dot(wt, hd, &cache[off..off + rb], &a).unwrap();
                    assert_eq!(
                        o.to_bits(),
                        want.to_bits(),
                        "{wt} {} head {h} pos {p}",
                        k.name()
                    );
                }
            }
            let mut out = vec![0f32; n_pos];
            // starting at head 3 (= the next position), the last row runs past the end
            assert!(
                k.matvec_strided(wt, &cache[n_head * rb..], hd, n_head * rb, &a, &mut out)
                    .is_err()
            );
            assert!(
                k.matvec_strided(wt, &cache, hd, rb - 1, &a, &mut out)
                    .is_err()
            );
            assert!(
                k.matvec_strided(wt, &cache, hd, n_head * rb, &a[1..], &mut out)
                    .is_err()
            );
        }
    }
}

#[test]
fn wrong_lengths_are_errors() {
    let k = Kernels::detect();
    let w = vec![0u8; 18 * 4];
    let a = vec![0u8; 34 * 4];
    assert!(k.vec_dot(GgmlType::Q4_0, 128, &w, &a).is_ok());
    assert!(matches!(
        k.vec_dot(GgmlType::Q4_0, 100, &w, &a),
        Err(KernelError::NotBlockMultiple { .. })
    ));
    assert!(matches!(
        k.vec_dot(GgmlType::Q4_0, 128, &w[1..], &a),
        Err(KernelError::Length { what: "w", .. })
    ));
    assert!(matches!(
        k.vec_dot(GgmlType::Q4_0, 128, &w, &a[..100]),
        Err(KernelError::Length { what: "act", .. })
    ));
    assert!(matches!(
        k.vec_dot(GgmlType::IQ2_XXS, 256, &w, &a),
        Err(KernelError::Unsupported { .. })
    ));
    let mut out = [0f32; 4];
    // w holds 2 rows of 64
    assert!(
        k.matvec(GgmlType::Q4_0, &w, 64, 0..2, &a[..68], &mut out)
            .is_ok()
    );
    assert!(matches!(
        k.matvec(GgmlType::Q4_0, &w, 64, 1..3, &a[..68], &mut out),
        Err(KernelError::Rows { .. })
    ));
    assert!(matches!(
        k.matvec(GgmlType::Q4_0, &w, 64, 0..2, &a[..68], &mut out[..1]),
        Err(KernelError::Length { what: "out", .. })
    ));
    assert!(matches!(
        k.matvec(GgmlType::Q4_0, &w[..50], 64, 0..1, &a[..68], &mut out),
        Err(KernelError::Length { what: "w", .. })
    ));
    assert!(k.matvec(GgmlType::Q4_0, &w, 0, 0..1, &a, &mut out).is_err());
    assert!(matches!(
        k.matmul(GgmlType::Q4_0, &w, 64, 0..2, &a, 2, &mut out, 1),
        Err(KernelError::Length {
            what: "out_stride",
            ..
        })
    ));
    assert!(matches!(
        k.matmul(GgmlType::Q4_0, &w, 64, 0..2, &a, 3, &mut out, 2),
        Err(KernelError::Length { what: "acts", .. })
    ));
    assert!(matches!(
        k.matmul(GgmlType::Q4_0, &w, 64, 0..2, &a[..136], 2, &mut out[..3], 2),
        Err(KernelError::Length { what: "out", .. })
    ));
    let mut q = vec![0u8; 33];
    assert!(
        k.quantize_activation(GgmlType::Q8_0, &[0.0; 32], &mut q)
            .is_err()
    );
    assert!(
        k.quantize_activation(GgmlType::Q4_0, &[0.0; 32], &mut q)
            .is_err()
    );
    assert!(Kernels::dequantize_row(GgmlType::Q4_0, &w, &mut [0f32; 100]).is_err());
    let e = k.vec_dot(GgmlType::Q4_0, 128, &w[1..], &a).unwrap_err();
    assert_eq!(e.kind(), "length");
    assert!(e.to_string().contains("`w`"));
}

#[test]
fn blocks_view_bytes_at_any_offset() {
    let mut rng = TestRng::new(11);
    let scalar = Kernels::scalar();
    let n = 256;
    for wt in WEIGHT_TYPES {
        let w = random_weights_sane(&mut rng, wt, n);
        let (_, a) = quantized_activations(&scalar, &mut rng, wt, n);
        let want = Kernels::detect().vec_dot(wt, n, &w, &a).unwrap();
        for off in 1..4 {
            let mut buf = vec![0u8; off];
            buf.extend_from_slice(&w);
            let mut abuf = vec![0u8; off + 1];
            abuf.extend_from_slice(&a);
            for k in Kernels::available() {
                let got = k.vec_dot(wt, n, &buf[off..], &abuf[off + 1..]).unwrap();
                let at_zero = k.vec_dot(wt, n, &w, &a).unwrap();
                assert_eq!(got.to_bits(), at_zero.to_bits(), "{wt} offset {off}");
            }
            let _ = want;
        }
    }
}

#[test]
fn detect_honours_names() {
    assert_eq!(Kernels::scalar().name(), "scalar");
    assert!(Kernels::by_name("no-such-isa").is_none());
    let names: Vec<_> = Kernels::available().map(|k| k.name()).collect();
    assert_eq!(names[0], "scalar");
    assert_eq!(Kernels::vec_dot_type(GgmlType::Q4_K), GgmlType::Q8_K);
    assert_eq!(Kernels::vec_dot_type(GgmlType::Q5_1), GgmlType::Q8_1);
    assert_eq!(Kernels::vec_dot_type(GgmlType::IQ4_NL), GgmlType::Q8_0);
    assert_eq!(Kernels::vec_dot_type(GgmlType::F16), GgmlType::F16);
    assert!(Kernels::supports(GgmlType::Q6_K) && !Kernels::supports(GgmlType::Q8_K));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Arbitrary bytes for weights (every field, scales included) and arbitrary float
    /// activations: every SIMD back end agrees with the reference and nothing panics.
    #[test]
    fn prop_vec_dot_any_bytes(
        ti in 0usize..11,
        nblk in 1usize..5,
        bytes in proptest::collection::vec(any::<u8>(), 5000),
        xs in proptest::collection::vec(-1e3f32..1e3, 1024),
    ) {
        let wt = WEIGHT_TYPES[ti];
        let n = nblk * wt.block_size();
        let rb = wt.row_bytes(n as u64).unwrap() as usize;
        let mut w = bytes[..rb].to_vec();
        if wt == GgmlType::Q8_0 {
            for blk in w.chunks_exact_mut(34) {
                for q in &mut blk[2..] { if *q == 0x80 { *q = 0x81; } }
            }
        }
        let at = Kernels::vec_dot_type(wt);
        let mut a = vec![0u8; at.row_bytes(n as u64).unwrap() as usize];
        Kernels::scalar().quantize_activation(at, &xs[..n], &mut a).unwrap();
        let want = vec_dot_ref(wt, &w, &a);
        let mag = magnitude(wt, &w, &a);
        for k in simd_backends() {
            let got = k.vec_dot(wt, n, &w, &a).unwrap();
            assert_close(&format!("{wt} {}", k.name()), got, want, mag);
        }
    }
}

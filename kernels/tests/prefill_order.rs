//! The AVX2 batch kernels (`Kernels::matmul` with two or more tokens) against a scalar model
//! of ggml's x86 batch order for Q4_0 / Q5_0 / Q8_0 (tinyBLAS) and Q4_1 (per-row `vec_dot`):
//! per output one 8-lane accumulator over the blocks, `fma(d_w · d_a, lane, acc)`, lanes
//! summed (hi + lo), (0 + 2, 1 + 3), then the two; Q4_1 adds `s = fma(m, s_a, s)` last.
//! For Q4_K (matrices of 8k rows, which llama.cpp repacks): tokens in whole groups of four
//! follow `ggml_gemm_q4_K_8x8_q8_K` (one fma per 64-element sub-block pair, a separate min
//! chain, `acc - min`), the `n_tok % 4` last ones `ggml_gemv_q4_K_8x8_q8_K` (one fma per
//! super-block); Q4_0 of 8k rows, llama.cpp's 8x8 repack (a scalar chain over blocks); Q6_K
//! from 8 tokens on, ggml's tiled kernel (one `fma(d_w * s1, d_a, acc)` per super-block).
//! Bit equality, every row range / token count shape (tile tails). The oracle test
//! `runtime/oracle/tests/mul_mat.rs` checks the same kernels against ggml itself.
//! x86-64 only; a host without AVX2 fails the tests rather than skipping them.
#![cfg(target_arch = "x86_64")]

mod common;

use bague_kernels::{GgmlType, Kernels};
use common::*;

fn f16(b: &[u8]) -> f32 {
    half::f16::from_le_bytes([b[0], b[1]]).to_f32()
}

/// The 32 quant values of weight block `b` (element order) and its (scale, min).
fn weight_block(wt: GgmlType, b: &[u8]) -> ([i32; 32], f32, f32) {
    let mut q = [0i32; 32];
    match wt {
        GgmlType::Q4_0 => {
            for i in 0..16 {
                q[i] = (b[2 + i] & 15) as i32 - 8;
                q[i + 16] = (b[2 + i] >> 4) as i32 - 8;
            }
            (q, f16(b), 0.0)
        }
        GgmlType::Q4_1 => {
            for i in 0..16 {
                q[i] = (b[4 + i] & 15) as i32;
                q[i + 16] = (b[4 + i] >> 4) as i32;
            }
            (q, f16(b), f16(&b[2..]))
        }
        GgmlType::Q5_0 => {
            let qh = u32::from_le_bytes([b[2], b[3], b[4], b[5]]);
            for i in 0..16 {
                let h0 = ((qh >> i) & 1) as i32;
                let h1 = ((qh >> (i + 16)) & 1) as i32;
                q[i] = ((b[6 + i] & 15) as i32 | h0 << 4) - 16;
                q[i + 16] = ((b[6 + i] >> 4) as i32 | h1 << 4) - 16;
            }
            (q, f16(b), 0.0)
        }
        GgmlType::Q8_0 => {
            for i in 0..32 {
                q[i] = b[2 + i] as i8 as i32;
            }
            (q, f16(b), 0.0)
        }
        _ => unreachable!(),
    }
}

/// ggml's batch result for one (row, token).
fn ggml_order(wt: GgmlType, w: &[u8], a: &[u8]) -> f32 {
    let (wb, ab) = (wt.block_bytes(), Kernels::vec_dot_type(wt).block_bytes());
    let q1 = wt == GgmlType::Q4_1;
    let mut acc = [0f32; 8];
    let mut summs = 0f32;
    for (x, y) in w.chunks_exact(wb).zip(a.chunks_exact(ab)) {
        let (q, dw, mw) = weight_block(wt, x);
        let off = if q1 { 4 } else { 2 };
        let d = dw * f16(y);
        for (k, acc) in acc.iter_mut().enumerate() {
            let lane: i32 = (4 * k..4 * k + 4)
                .map(|e| q[e] * y[off + e] as i8 as i32)
                .sum();
            *acc = d.mul_add(lane as f32, *acc);
        }
        if q1 {
            summs = mw.mul_add(f16(&y[2..]), summs);
        }
    }
    let h: [f32; 4] = core::array::from_fn(|i| acc[i + 4] + acc[i]);
    let s = (h[0] + h[2]) + (h[1] + h[3]);
    if q1 { s + summs } else { s }
}

#[test]
fn avx2_batch_matmul_is_ggml_order_bitwise() {
    let k = Kernels::by_name("avx2").expect("no AVX2 + FMA + F16C on this x86-64 CPU");
    let scalar = Kernels::scalar();
    for wt in [
        GgmlType::Q4_0,
        GgmlType::Q4_1,
        GgmlType::Q5_0,
        GgmlType::Q8_0,
    ] {
        let mut rng = TestRng::new(17);
        for n_cols in [32, 19 * 32, 28 * 32] {
            let n_rows = 11;
            let rb = wt.row_bytes(n_cols as u64).unwrap() as usize;
            let w = random_weights_sane(&mut rng, wt, n_cols * n_rows);
            let n_tok = 7;
            let acts: Vec<Vec<u8>> = (0..n_tok)
                .map(|_| quantized_activations(&scalar, &mut rng, wt, n_cols).1)
                .collect();
            for nt in [2, 3, 7] {
                let all: Vec<u8> = acts[..nt].concat();
                for rows in [0..n_rows, 1..4, 3..10, 10..11] {
                    let stride = rows.len() + 2;
                    let mut out = vec![f32::NAN; stride * nt];
                    k.matmul(wt, &w, n_cols, rows.clone(), &all, nt, &mut out, stride)
                        .unwrap();
                    for (t, act) in acts[..nt].iter().enumerate() {
                        for (i, r) in rows.clone().enumerate() {
                            let want = ggml_order(wt, &w[r * rb..(r + 1) * rb], act);
                            assert_eq!(
                                out[t * stride + i].to_bits(),
                                want.to_bits(),
                                "{wt} n_cols {n_cols} row {r} token {t} of {nt}: {} vs {want}",
                                out[t * stride + i]
                            );
                        }
                        assert!(out[t * stride + rows.len()].is_nan(), "wrote past rows");
                    }
                }
            }
        }
    }
}

/// (scale, min) of sub-block `j` of a Q4_K block's 12 packed bytes (ggml `get_scale_min_k4`).
fn scale_min(j: usize, q: &[u8]) -> (i32, i32) {
    if j < 4 {
        ((q[j] & 63) as i32, (q[j + 4] & 63) as i32)
    } else {
        (
            ((q[j + 4] & 15) | ((q[j - 4] >> 6) << 4)) as i32,
            ((q[j + 4] >> 4) | ((q[j] >> 6) << 4)) as i32,
        )
    }
}

/// llama.cpp's repacked Q4_K result for one (row, token): `per_pair` = gemm order.
fn q4_k_repack_order(w: &[u8], a: &[u8], per_pair: bool) -> f32 {
    let (mut acc, mut accm) = (0f32, 0f32);
    for (x, y) in w.chunks_exact(144).zip(a.chunks_exact(292)) {
        let (dw, dmin) = (f16(x), f16(&x[2..]));
        let da = f32::from_le_bytes([y[0], y[1], y[2], y[3]]);
        let qs = &x[16..];
        let q = |e: usize| {
            let (c, i) = (e / 64, e % 64);
            let b = qs[32 * c + i % 32];
            (if i < 32 { b & 15 } else { b >> 4 }) as i32
        };
        let act = |e: usize| y[4 + e] as i8 as i32;
        let bsum = |g: usize| i16::from_le_bytes([y[260 + 2 * g], y[261 + 2 * g]]) as i32;
        let (mut isb, mut imb) = (0i32, 0i32);
        for p in 0..4 {
            let (mut isum, mut imin) = (0, 0);
            for j in [2 * p, 2 * p + 1] {
                let (sc, m) = scale_min(j, &x[4..16]);
                isum += sc * (32 * j..32 * j + 32).map(|e| q(e) * act(e)).sum::<i32>();
                imin += m * (bsum(2 * j) + bsum(2 * j + 1));
            }
            if per_pair {
                acc = (isum as f32).mul_add(dw * da, acc);
                accm = (imin as f32).mul_add(dmin * da, accm);
            } else {
                isb += isum;
                imb += imin;
            }
        }
        if !per_pair {
            acc = (isb as f32).mul_add(dw * da, acc);
            accm = (imb as f32).mul_add(dmin * da, accm);
        }
    }
    acc - accm
}

#[test]
fn avx2_batch_q4_k_is_llama_repack_order_bitwise() {
    let k = Kernels::by_name("avx2").expect("no AVX2 + FMA + F16C on this x86-64 CPU");
    let scalar = Kernels::scalar();
    let wt = GgmlType::Q4_K;
    let mut rng = TestRng::new(29);
    for n_cols in [256, 3 * 256, 19 * 256] {
        let n_rows = 24;
        let rb = wt.row_bytes(n_cols as u64).unwrap() as usize;
        let w = random_weights_sane(&mut rng, wt, n_cols * n_rows);
        let acts: Vec<Vec<u8>> = (0..11)
            .map(|_| quantized_activations(&scalar, &mut rng, wt, n_cols).1)
            .collect();
        for nt in [2, 4, 7, 11] {
            let all: Vec<u8> = acts[..nt].concat();
            for rows in [0..n_rows, 3..20, 8..16, 23..24] {
                let stride = rows.len() + 1;
                let mut out = vec![f32::NAN; stride * nt];
                k.matmul(wt, &w, n_cols, rows.clone(), &all, nt, &mut out, stride)
                    .unwrap();
                for (t, act) in acts[..nt].iter().enumerate() {
                    let gemm = t < nt / 4 * 4;
                    for (i, r) in rows.clone().enumerate() {
                        let want = q4_k_repack_order(&w[r * rb..(r + 1) * rb], act, gemm);
                        assert_eq!(
                            out[t * stride + i].to_bits(),
                            want.to_bits(),
                            "Q4_K n_cols {n_cols} row {r} token {t} of {nt}: {} vs {want}",
                            out[t * stride + i]
                        );
                    }
                    assert!(out[t * stride + rows.len()].is_nan(), "wrote past rows");
                }
            }
        }
    }
}

/// llama.cpp's repacked Q4_0 result (8x8 gemm and gemv alike): a scalar chain over blocks.
fn q4_0_repack_order(w: &[u8], a: &[u8]) -> f32 {
    let mut acc = 0f32;
    for (x, y) in w.chunks_exact(18).zip(a.chunks_exact(34)) {
        let (q, dw, _) = weight_block(GgmlType::Q4_0, x);
        let isum: i32 = (0..32).map(|e| q[e] * y[2 + e] as i8 as i32).sum();
        acc = (isum as f32).mul_add(dw * f16(y), acc);
    }
    acc
}

/// ggml's tiled Q6_K result (8 tokens or more): `acc = fma(d_w * s1, d_a, acc)` per super-block.
fn q6_k_tiled_order(w: &[u8], a: &[u8]) -> f32 {
    let mut acc = 0f32;
    for (x, y) in w.chunks_exact(210).zip(a.chunks_exact(292)) {
        let (ql, qh, sc) = (&x[..128], &x[128..192], &x[192..208]);
        let dw = f16(&x[208..]);
        let da = f32::from_le_bytes([y[0], y[1], y[2], y[3]]);
        let mut q = [0i32; 256];
        for n in 0..2 {
            for l in 0..32 {
                let h = qh[32 * n + l] as i32;
                let (l0, l1) = (ql[64 * n + l] as i32, ql[64 * n + l + 32] as i32);
                q[128 * n + l] = (l0 & 15) | (h & 3) << 4;
                q[128 * n + l + 32] = (l1 & 15) | ((h >> 2) & 3) << 4;
                q[128 * n + l + 64] = (l0 >> 4) | ((h >> 4) & 3) << 4;
                q[128 * n + l + 96] = (l1 >> 4) | ((h >> 6) & 3) << 4;
            }
        }
        let s1: i32 = (0..256)
            .map(|e| sc[e / 16] as i8 as i32 * (q[e] - 32) * y[4 + e] as i8 as i32)
            .sum();
        acc = (dw * s1 as f32).mul_add(da, acc);
    }
    acc
}

#[test]
fn avx2_batch_q4_0_repacked_and_q6_k_tiled_orders_bitwise() {
    let k = Kernels::by_name("avx2").expect("no AVX2 + FMA + F16C on this x86-64 CPU");
    let scalar = Kernels::scalar();
    // (type, n_cols, n_rows, token counts): Q4_0 of 8k rows is repacked by llama.cpp (any
    // batch); Q6_K goes through ggml's tiled kernel from 8 tokens on
    let cases: [(GgmlType, usize, usize, &[usize]); 2] = [
        (GgmlType::Q4_0, 19 * 32, 16, &[2, 5, 9]),
        (GgmlType::Q6_K, 3 * 256, 19, &[8, 13]),
    ];
    let mut rng = TestRng::new(41);
    for (wt, n_cols, n_rows, toks) in cases {
        let rb = wt.row_bytes(n_cols as u64).unwrap() as usize;
        let w = random_weights_sane(&mut rng, wt, n_cols * n_rows);
        let acts: Vec<Vec<u8>> = (0..13)
            .map(|_| quantized_activations(&scalar, &mut rng, wt, n_cols).1)
            .collect();
        for &nt in toks {
            let all: Vec<u8> = acts[..nt].concat();
            for rows in [0..n_rows, 3..12, n_rows - 1..n_rows] {
                let stride = rows.len() + 1;
                let mut out = vec![f32::NAN; stride * nt];
                k.matmul(wt, &w, n_cols, rows.clone(), &all, nt, &mut out, stride)
                    .unwrap();
                for (t, act) in acts[..nt].iter().enumerate() {
                    for (i, r) in rows.clone().enumerate() {
                        let wr = &w[r * rb..(r + 1) * rb];
                        let want = if wt == GgmlType::Q4_0 {
                            q4_0_repack_order(wr, act)
                        } else {
                            q6_k_tiled_order(wr, act)
                        };
                        assert_eq!(
                            out[t * stride + i].to_bits(),
                            want.to_bits(),
                            "{wt} row {r} token {t} of {nt}: {} vs {want}",
                            out[t * stride + i]
                        );
                    }
                    assert!(out[t * stride + rows.len()].is_nan(), "wrote past rows");
                }
            }
        }
    }
}

//! The AVX2 batch kernels (`Kernels::matmul` with two or more tokens) against a scalar model
//! of ggml's x86 batch order for Q4_0 / Q5_0 / Q8_0 (tinyBLAS) and Q4_1 (per-row `vec_dot`):
//! per output one 8-lane accumulator over the blocks, `fma(d_w · d_a, lane, acc)`, lanes
//! summed (hi + lo), (0 + 2, 1 + 3), then the two; Q4_1 adds `s = fma(m, s_a, s)` last.
//! For Q4_K (matrices of 8k rows, which llama.cpp repacks): tokens in whole groups of four
//! follow `ggml_gemm_q4_K_8x8_q8_K` (one fma per 64-element sub-block pair, a separate min
//! chain, `acc - min`), the `n_tok % 4` last ones `ggml_gemv_q4_K_8x8_q8_K` (one fma per
//! super-block). Bit equality, every row range / token count shape (tile tails). The oracle test
//! `kernels/oracle/tests/mul_mat.rs` checks the same kernels against ggml itself.

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
    let Some(k) = Kernels::by_name("avx2") else {
        eprintln!("no AVX2 on this CPU: skipped");
        return;
    };
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
    let Some(k) = Kernels::by_name("avx2") else {
        eprintln!("no AVX2 on this CPU: skipped");
        return;
    };
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

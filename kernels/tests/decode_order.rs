//! The decode matvec's summation orders, bit for bit, against plain-Rust emulations of the
//! ggml x86 AVX2 kernels they follow (read from ggml's sources; the oracle crate checks the
//! same against ggml itself, `runtime/oracle/tests/vec_dot.rs`):
//!
//! - `vec_dot` order (Q4_0, Q4_1, Q5_0, Q8_0, Q6_K, Q4_K): 8 f32 lanes, one fused
//!   multiply-add per block or super-block and lane, then ggml's `hsum_float_8`.
//! - repacked 8-row gemv order (Q4_0 `ggml_gemv_q4_0_8x8_q8_0`, Q4_K
//!   `ggml_gemv_q4_K_8x8_q8_K`): one f32 chain per row over whole-block integer sums; this is
//!   `Kernels::matvec`'s default for those types when the matrix has a multiple of 8 rows.
//!
//! x86-64 only (other back ends have their own orders, checked against the reference by
//! tolerance in `formats.rs`); a host without AVX2 fails the tests rather than skipping them.
#![cfg(target_arch = "x86_64")]

mod common;

use bague_kernels::block::{BlockQ4_0, BlockQ4K, BlockQ8_0, BlockQ8K};
use bague_kernels::{GgmlType, Kernels, MatvecOrder};
use common::*;

fn f16(b: [u8; 2]) -> f32 {
    half::f16::from_le_bytes(b).to_f32()
}

/// ggml's `hsum_float_8`: (hi + lo) per 128-bit half, then (0 + 2) + (1 + 3).
fn hsum8(v: [f32; 8]) -> f32 {
    let r: [f32; 4] = core::array::from_fn(|i| v[i + 4] + v[i]);
    (r[0] + r[2]) + (r[1] + r[3])
}

/// The 8 scales and 8 mins of a Q4_K super-block (ggml `get_scale_min_k4`).
fn scale_min_k4(q: &[u8; 12]) -> ([i32; 8], [i32; 8]) {
    let mut sc = [0; 8];
    let mut m = [0; 8];
    for j in 0..8 {
        let (s, mm) = if j < 4 {
            (q[j] & 63, q[j + 4] & 63)
        } else {
            (
                (q[j + 4] & 0x0f) | ((q[j - 4] >> 6) << 4),
                (q[j + 4] >> 4) | ((q[j] >> 6) << 4),
            )
        };
        sc[j] = s as i32;
        m[j] = mm as i32;
    }
    (sc, m)
}

/// Q4_0 quant `l` (0..32) of a block, minus 8.
fn q4_0_q(x: &BlockQ4_0, l: usize) -> i32 {
    let b = x.qs[l % 16];
    (if l < 16 { b & 15 } else { b >> 4 }) as i32 - 8
}

/// Q4_K quant `l` (0..256) of a super-block and its sub-block.
fn q4_k_q(x: &BlockQ4K, l: usize) -> (i32, usize) {
    let (c, r) = (l / 64, l % 64);
    let b = x.qs[32 * c + r % 32];
    ((if r < 32 { b & 15 } else { b >> 4 }) as i32, l / 32)
}

/// ggml AVX2 `ggml_vec_dot_q4_0_q8_0`: lane `j` of a block's integer vector holds the
/// products of elements `4j..4j+4` (maddubs + madd), `acc = fma(d_w d_a, lane, acc)`.
fn q4_0_vec_dot(w: &[BlockQ4_0], a: &[BlockQ8_0]) -> f32 {
    let mut acc = [0f32; 8];
    for (x, y) in w.iter().zip(a) {
        let d = f16(x.d) * f16(y.d);
        for (j, acc) in acc.iter_mut().enumerate() {
            let p: i32 = (4 * j..4 * j + 4)
                .map(|l| q4_0_q(x, l) * y.qs[l] as i32)
                .sum();
            *acc = d.mul_add(p as f32, *acc);
        }
    }
    hsum8(acc)
}

/// ggml AVX2 `ggml_gemv_q4_0_8x8_q8_0` for one row: whole-block integer, one chain.
fn q4_0_gemv(w: &[BlockQ4_0], a: &[BlockQ8_0]) -> f32 {
    let mut acc = 0f32;
    for (x, y) in w.iter().zip(a) {
        let p: i32 = (0..32).map(|l| q4_0_q(x, l) * y.qs[l] as i32).sum();
        acc = (p as f32).mul_add(f16(x.d) * f16(y.d), acc);
    }
    acc
}

/// ggml AVX2 `ggml_vec_dot_q4_K_q8_K`: scale term on 8 lanes (lane `j` of 32-element chunk
/// holds elements `4j..4j+4` of it), min term on 4 lanes (lane `k` = sub-blocks `2k, 2k+1`).
fn q4_k_vec_dot(w: &[BlockQ4K], a: &[BlockQ8K]) -> f32 {
    let mut acc = [0f32; 8];
    let mut acc_m = [0f32; 4];
    for (x, y) in w.iter().zip(a) {
        let (sc, m) = scale_min_k4(&x.scales);
        let mut lanes = [0i32; 8];
        for l in 0..256 {
            let (q, s) = q4_k_q(x, l);
            lanes[(l % 32) / 4] += sc[s] * q * y.qs[l] as i32;
        }
        let bsum = |s: usize| -> i32 { (2 * s..2 * s + 2).map(|g| y.bsum(g) as i32).sum() };
        let d = y.d() * f16(x.d);
        let dmin = -y.d() * f16(x.dmin);
        for k in 0..4 {
            let prod = m[2 * k] * bsum(2 * k) + m[2 * k + 1] * bsum(2 * k + 1);
            acc_m[k] = dmin.mul_add(prod as f32, acc_m[k]);
        }
        for (acc, p) in acc.iter_mut().zip(lanes) {
            *acc = d.mul_add(p as f32, *acc);
        }
    }
    hsum8(acc) + ((acc_m[0] + acc_m[2]) + (acc_m[1] + acc_m[3]))
}

/// ggml AVX2 `ggml_gemv_q4_K_8x8_q8_K` for one row: whole-super-block integers, two chains.
fn q4_k_gemv(w: &[BlockQ4K], a: &[BlockQ8K]) -> f32 {
    let (mut acc, mut acc_m) = (0f32, 0f32);
    for (x, y) in w.iter().zip(a) {
        let (sc, m) = scale_min_k4(&x.scales);
        let mut i = 0i32;
        for l in 0..256 {
            let (q, s) = q4_k_q(x, l);
            i += sc[s] * q * y.qs[l] as i32;
        }
        let mm: i32 = (0..16).map(|g| m[g / 2] * y.bsum(g) as i32).sum();
        acc = (i as f32).mul_add(f16(x.d) * y.d(), acc);
        acc_m = (mm as f32).mul_add(f16(x.dmin) * y.d(), acc_m);
    }
    acc - acc_m
}

/// The AVX2 back end; the test fails on a CPU without it (every x86 CI host has it).
fn avx2() -> Kernels {
    Kernels::by_name("avx2").expect("no AVX2 + FMA + F16C on this x86-64 CPU")
}

/// One matrix of `n_rows` rows of `n_cols` and one activation row.
fn case(wt: GgmlType, n_rows: usize, n_cols: usize, seed: u64) -> (Vec<u8>, Vec<u8>) {
    let mut rng = TestRng::new(seed);
    let w = random_weights_sane(&mut rng, wt, n_cols * n_rows);
    let (_, a) = quantized_activations(&Kernels::scalar(), &mut rng, wt, n_cols);
    (w, a)
}

#[test]
fn vec_dot_follows_ggml_avx2_order() {
    let k = avx2();
    for seed in 0..30 {
        for (wt, n) in [(GgmlType::Q4_0, 19 * 32), (GgmlType::Q4_K, 5 * 256)] {
            let (w, a) = case(wt, 1, n, seed);
            let got = k.vec_dot(wt, n, &w, &a).unwrap();
            let want = match wt {
                GgmlType::Q4_0 => q4_0_vec_dot(bytemuck::cast_slice(&w), bytemuck::cast_slice(&a)),
                _ => q4_k_vec_dot(bytemuck::cast_slice(&w), bytemuck::cast_slice(&a)),
            };
            assert_eq!(
                got.to_bits(),
                want.to_bits(),
                "{wt} seed {seed}: {got} vs {want}"
            );
        }
    }
}

#[test]
fn matvec_default_follows_repacked_gemv_order() {
    let k = avx2();
    for (wt, n_cols) in [(GgmlType::Q4_0, 19 * 32), (GgmlType::Q4_K, 3 * 256)] {
        for n_rows in [40usize, 37] {
            let (w, a) = case(wt, n_rows, n_cols, 7 + n_rows as u64);
            let rb = wt.row_bytes(n_cols as u64).unwrap() as usize;
            // whole groups and tails of every size for the 4- and 8-row kernels (they read
            // rows a fraction of the range apart, the tail in one padded call)
            for rows in [0..n_rows, 1..n_rows, 2..n_rows, 3..20, 35..37, 5..5] {
                let mut out = vec![f32::NAN; rows.len()];
                k.matvec(wt, &w, n_cols, rows.clone(), &a, &mut out)
                    .unwrap();
                let mut vd = vec![f32::NAN; rows.len()];
                k.matvec_ordered(
                    MatvecOrder::VecDot,
                    wt,
                    &w,
                    n_cols,
                    rows.clone(),
                    &a,
                    &mut vd,
                )
                .unwrap();
                for (i, r) in rows.clone().enumerate() {
                    let wr = &w[r * rb..(r + 1) * rb];
                    let (gemv, vec_dot) = match wt {
                        GgmlType::Q4_0 => {
                            let (x, y) = (bytemuck::cast_slice(wr), bytemuck::cast_slice(&a));
                            (q4_0_gemv(x, y), q4_0_vec_dot(x, y))
                        }
                        _ => {
                            let (x, y) = (bytemuck::cast_slice(wr), bytemuck::cast_slice(&a));
                            (q4_k_gemv(x, y), q4_k_vec_dot(x, y))
                        }
                    };
                    // a multiple of 8 rows: repacked order; otherwise vec_dot order
                    let want = if n_rows % 8 == 0 { gemv } else { vec_dot };
                    assert_eq!(
                        out[i].to_bits(),
                        want.to_bits(),
                        "{wt} {n_rows} rows, row {r}: {} vs {want}",
                        out[i]
                    );
                    assert_eq!(vd[i].to_bits(), vec_dot.to_bits(), "{wt} row {r} VecDot");
                }
            }
        }
    }
}

//! matvec / matmul throughput per weight format, in weight bytes per second, for a
//! 896 × 4864 matrix (Qwen2.5-0.5B `ffn_down`: 896 rows of 4864 columns), on every back
//! end the host supports. Run: `cargo bench -p bague-kernels --bench matvec`.
//! Filter one format: `cargo bench -p bague-kernels --bench matvec -- Q4_K`.

#![allow(missing_docs)] // criterion_group! generates an undocumented fn

use bague_kernels::{GgmlType, Kernels};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use std::time::Duration;

const ROWS: usize = 896;
const COLS: usize = 4864;

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
    GgmlType::F16,
    GgmlType::BF16,
    GgmlType::F32,
];

/// Deterministic pseudo-random bytes; f16 scale fields are left random except that bytes
/// are masked to keep every f16 finite (top exponent bit cleared in odd bytes).
fn weights(wt: GgmlType) -> Vec<u8> {
    let n = wt.row_bytes(COLS as u64).unwrap() as usize * ROWS;
    let mut s = 0x1234_5678_9abc_def0u64;
    let mut v: Vec<u8> = (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            s as u8
        })
        .collect();
    if matches!(wt, GgmlType::F16 | GgmlType::BF16 | GgmlType::F32) {
        for (i, b) in v.iter_mut().enumerate() {
            if i % 2 == 1 {
                *b &= 0x3b;
            }
        }
    }
    v
}

fn acts(k: &Kernels, wt: GgmlType, n_tok: usize) -> Vec<u8> {
    let at = Kernels::vec_dot_type(wt);
    let rb = at.row_bytes(COLS as u64).unwrap() as usize;
    let mut out = vec![0u8; rb * n_tok];
    for t in 0..n_tok {
        let x: Vec<f32> = (0..COLS)
            .map(|i| ((i * 7 + t * 13) % 23) as f32 * 0.1 - 1.1)
            .collect();
        k.quantize_activation(at, &x, &mut out[t * rb..(t + 1) * rb])
            .unwrap();
    }
    out
}

fn bench(c: &mut Criterion) {
    for wt in TYPES {
        let w = weights(wt);
        let mut g = c.benchmark_group(format!("matvec/{wt}"));
        g.throughput(Throughput::Bytes(w.len() as u64));
        g.measurement_time(Duration::from_secs(2))
            .warm_up_time(Duration::from_millis(500));
        for k in Kernels::available() {
            let a = acts(&k, wt, 1);
            let mut out = vec![0f32; ROWS];
            g.bench_function(k.name(), |b| {
                b.iter(|| {
                    k.matvec(wt, black_box(&w), COLS, 0..ROWS, black_box(&a), &mut out)
                        .unwrap();
                })
            });
        }
        g.finish();
    }
    // prefill: 8 tokens per call
    for wt in [
        GgmlType::Q4_0,
        GgmlType::Q4_1,
        GgmlType::Q8_0,
        GgmlType::Q4_K,
        GgmlType::Q6_K,
    ] {
        let w = weights(wt);
        let mut g = c.benchmark_group(format!("matmul8/{wt}"));
        g.throughput(Throughput::Bytes(w.len() as u64 * 8));
        g.measurement_time(Duration::from_secs(2))
            .warm_up_time(Duration::from_millis(500));
        let k = Kernels::detect();
        let a = acts(&k, wt, 8);
        let mut out = vec![0f32; ROWS * 8];
        g.bench_function(k.name(), |b| {
            b.iter(|| {
                k.matmul(
                    wt,
                    black_box(&w),
                    COLS,
                    0..ROWS,
                    black_box(&a),
                    8,
                    &mut out,
                    ROWS,
                )
                .unwrap();
            })
        });
        g.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);

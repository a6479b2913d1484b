//! Quick throughput probe for busy machines: best-of-N wall time of one `matvec` per format
//! and back end (the minimum filters out preemption, unlike a mean). Criterion
//! (`benches/matvec.rs`) is the reference benchmark; this is for iterating on kernels.
//! Run: `cargo run --release -p bague-kernels --example kbench [-- FORMAT…]`.

use bague_kernels::{GgmlType, Kernels};
use std::time::Instant;

const ROWS: usize = 896;
const COLS: usize = 4864;

fn main() {
    let filter: Vec<String> = std::env::args().skip(1).collect();
    let types = [
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
        GgmlType::F32,
    ];
    for wt in types {
        if !filter.is_empty() && !filter.iter().any(|f| f == wt.name()) {
            continue;
        }
        let n = wt.row_bytes(COLS as u64).unwrap() as usize * ROWS;
        let mut s = 0x9e37_79b9_7f4a_7c15u64;
        let mut w: Vec<u8> = (0..n)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                s as u8
            })
            .collect();
        if matches!(wt, GgmlType::F16 | GgmlType::F32) {
            w.iter_mut().skip(1).step_by(2).for_each(|b| *b &= 0x3b);
        }
        let at = Kernels::vec_dot_type(wt);
        let x: Vec<f32> = (0..COLS).map(|i| (i % 23) as f32 * 0.1 - 1.1).collect();
        let mut line = format!("{:7}", wt.name());
        for k in Kernels::available() {
            let mut a = vec![0u8; at.row_bytes(COLS as u64).unwrap() as usize];
            k.quantize_activation(at, &x, &mut a).unwrap();
            let mut out = vec![0f32; ROWS];
            let reps = if k.name() == "scalar" { 20 } else { 300 };
            let mut best = f64::MAX;
            for _ in 0..reps {
                let t = Instant::now();
                k.matvec(wt, std::hint::black_box(&w), COLS, 0..ROWS, &a, &mut out)
                    .unwrap();
                std::hint::black_box(&mut out);
                best = best.min(t.elapsed().as_secs_f64());
            }
            let blocks = (ROWS * COLS / wt.block_size()) as f64;
            line += &format!(
                "  {:>6}: {:7.1} us {:6.2} GB/s {:6.2} ns/blk",
                k.name(),
                best * 1e6,
                n as f64 / best / 1e9,
                best * 1e9 / blocks
            );
        }
        println!("{line}");
    }
}

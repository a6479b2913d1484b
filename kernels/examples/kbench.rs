//! Quick throughput probe for busy machines: best-of-N wall time of one `matvec` per format
//! and back end (the minimum filters out preemption, unlike a mean). Criterion
//! (`benches/matvec.rs`) is the reference benchmark; this is for iterating on kernels.
//! Run: `cargo run --release -p bague-kernels --example kbench [-- FORMAT…]`.

use bague_kernels::{GgmlType, Kernels};
use std::time::Instant;

/// CPU time of this thread in ns, so that time spent preempted on a busy machine is not
/// counted.
fn cpu_ns() -> Option<u64> {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; the clock id is a constant.
    let r = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    (r == 0).then(|| ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64)
}

/// Best per-call seconds of `f` over `reps` calls (CPU time when available).
fn best_of(reps: usize, mut f: impl FnMut()) -> f64 {
    let mut best = f64::MAX;
    for _ in 0..reps {
        let (c0, t0) = (cpu_ns(), Instant::now());
        f();
        let dt = match (c0, cpu_ns()) {
            (Some(a), Some(b)) => (b - a) as f64 * 1e-9,
            _ => t0.elapsed().as_secs_f64(),
        };
        best = best.min(dt);
    }
    best
}

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
            let best = best_of(reps, || {
                k.matvec(wt, std::hint::black_box(&w), COLS, 0..ROWS, &a, &mut out)
                    .unwrap();
                std::hint::black_box(&mut out);
            });
            let blocks = (ROWS * COLS / wt.block_size()) as f64;
            line += &format!(
                "  {:>6}: {:7.1} us {:6.2} GB/s {:6.2} ns/blk",
                k.name(),
                best * 1e6,
                n as f64 / best / 1e9,
                best * 1e9 / blocks
            );
        }
        // prefill: 8 tokens per matmul, best of N, per-token time
        let k = Kernels::detect();
        let rb = at.row_bytes(COLS as u64).unwrap() as usize;
        let mut a8 = vec![0u8; rb * 8];
        for t in 0..8 {
            k.quantize_activation(at, &x, &mut a8[t * rb..(t + 1) * rb])
                .unwrap();
        }
        let mut out = vec![0f32; ROWS * 8];
        let best = best_of(100, || {
            k.matmul(
                wt,
                std::hint::black_box(&w),
                COLS,
                0..ROWS,
                &a8,
                8,
                &mut out,
                ROWS,
            )
            .unwrap();
            std::hint::black_box(&mut out);
        });
        line += &format!("  matmul8/{}: {:6.1} us/token", k.name(), best * 1e6 / 8.0);
        println!("{line}");
    }
}

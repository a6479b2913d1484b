//! Single-thread matvec, ours (best back end, `Kernels::detect()`) vs ggml's CPU `vec_dot`
//! row by row, on the same weight and activation bytes, in the same run.
//!
//! Shapes: 4864×896 (Qwen2.5-0.5B `ffn_up`/`ffn_gate`) and 896×4864 (`ffn_down`); rows of 896
//! are not whole 256-super-blocks, so Q4_K / Q6_K have only 896×4864 (llama.cpp stores such
//! tensors as Q5_0 / Q8_0 instead).
//! Weights: random normal values quantized by ggml's `ggml_quantize_chunk`; activations:
//! random normal values quantized by ggml's CPU `from_float` (Q8_0 / Q8_1 / Q8_K).
//!
//! Run: `cargo bench -p bague-oracle --bench matvec_vs_ggml` (add `-- <filter>` to keep only
//! the cases whose name, such as `Q6_K_896x4864`, contains the filter: in both parts).
//! First prints a ratio table from interleaved single calls (ours, ggml, ours, ggml …, so drift
//! and other load hit both alike; min and median), then divan's own statistics for each case.
//! On a shared, busy machine trust the min column.

use std::sync::OnceLock;
use std::time::Instant;

use bague_kernels::{GgmlType, Kernels, MatvecOrder};
use bague_oracle as oracle;

const TYPES: [GgmlType; 6] = [
    GgmlType::Q4_0,
    GgmlType::Q4_1,
    GgmlType::Q4_K,
    GgmlType::Q5_0,
    GgmlType::Q6_K,
    GgmlType::Q8_0,
];
const SHAPES: [(usize, usize); 2] = [(4864, 896), (896, 4864)];

struct Case {
    ty: GgmlType,
    rows: usize,
    cols: usize,
    w: Vec<u8>,
    act: Vec<u8>,
}

/// Deterministic normal-ish values (sum of uniforms), no RNG crate needed.
fn values(n: usize, seed: u64) -> Vec<f32> {
    let mut s = seed;
    let mut next = move || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        (s >> 40) as f32 / (1u64 << 24) as f32
    };
    (0..n)
        .map(|_| (next() + next() + next() + next() - 2.0) * 1.7)
        .collect()
}

fn cases() -> &'static [Case] {
    static CASES: OnceLock<Vec<Case>> = OnceLock::new();
    CASES.get_or_init(|| {
        let mut v = Vec::new();
        for ty in TYPES {
            for (rows, cols) in SHAPES {
                if !cols.is_multiple_of(ty.block_size()) {
                    continue; // 896 is not a multiple of the k-quants' 256
                }
                let x = values(rows * cols, 0x9E37 + ty as u64 + rows as u64);
                let mut w = vec![0u8; rows * ty.row_bytes(cols as u64).unwrap() as usize];
                oracle::quantize_chunk(ty as u32, &x, cols, None, &mut w).unwrap();
                let at = Kernels::vec_dot_type(ty);
                let mut act = vec![0u8; at.row_bytes(cols as u64).unwrap() as usize];
                oracle::quantize_row_cpu(at as u32, &values(cols, 7), &mut act).unwrap();
                v.push(Case {
                    ty,
                    rows,
                    cols,
                    w,
                    act,
                });
            }
        }
        v
    })
}

fn ours(k: &Kernels, c: &Case, out: &mut [f32]) {
    k.matvec(c.ty, &c.w, c.cols, 0..c.rows, &c.act, out)
        .unwrap();
}

/// Ours in `vec_dot` order (differs from `ours` only for Q4_0 / Q4_K, whose default is the
/// order of llama.cpp's repacked 8-row gemv).
fn ours_vec_dot(k: &Kernels, c: &Case, out: &mut [f32]) {
    k.matvec_ordered(
        MatvecOrder::VecDot,
        c.ty,
        &c.w,
        c.cols,
        0..c.rows,
        &c.act,
        out,
    )
    .unwrap();
}

fn ggml(c: &Case, out: &mut [f32]) {
    oracle::matvec(c.ty as u32, c.cols, &c.w, &c.act, out).unwrap();
}

/// One of our matvec variants.
type Run = fn(&Kernels, &Case, &mut [f32]);

/// Interleaved single calls per implementation for the ratio table.
const ROUNDS: usize = 300;

/// Sorts `v` and returns its median.
fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// The case name used by divan and by the filter, e.g. `Q6_K_896x4864`.
fn case_name(c: &Case) -> String {
    format!("{}_{}x{}", c.ty.name(), c.rows, c.cols)
}

/// The ratio table's filter: the command line's words that are not options (as divan reads
/// them; an option's value would count as a word too, so pass options as `--opt=value`).
fn filters() -> Vec<String> {
    std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect()
}

fn ratio_table() {
    let k = Kernels::detect();
    let filters = filters();
    println!(
        "matvec, 1 thread: ours [{}] vs ggml vec_dot [{}]",
        k.name(),
        oracle::cpu_features()
    );
    println!("times: min (median) of {ROUNDS} interleaved calls each; GB/s of weights at the min");
    println!(
        "{:<9} {:>9} {:>16} {:>16} {:>9} {:>9} {:>8} {:>8}",
        "type", "shape", "ours µs", "ggml µs", "ours GB/s", "ggml GB/s", "spd min", "spd med"
    );
    let variants: [(&str, Run); 2] = [("", ours), (" vd", ours_vec_dot)];
    for c in cases() {
        let name = case_name(c);
        if !filters.is_empty() && !filters.iter().any(|f| name.contains(f.as_str())) {
            continue;
        }
        for (tag, run) in variants {
            if !tag.is_empty() && !matches!(c.ty, GgmlType::Q4_0 | GgmlType::Q4_K) {
                continue; // the same kernel as the default
            }
            let mut out = vec![0f32; c.rows];
            let (mut to, mut tg) = (Vec::new(), Vec::new());
            // Warm up both, then alternate single calls.
            for _ in 0..3 {
                run(&k, c, &mut out);
                ggml(c, &mut out);
            }
            for _ in 0..ROUNDS {
                let t = Instant::now();
                run(&k, c, &mut out);
                to.push(t.elapsed().as_secs_f64());
                let t = Instant::now();
                ggml(c, &mut out);
                tg.push(t.elapsed().as_secs_f64());
            }
            let (om, gm) = (median(&mut to), median(&mut tg));
            let (o, g) = (to[0], tg[0]); // sorted by median()
            let gb = c.w.len() as f64 / 1e9;
            println!(
                "{:<9} {:>9} {:>16} {:>16} {:>9.2} {:>9.2} {:>8.2} {:>8.2}",
                format!("{}{tag}", c.ty.name()),
                format!("{}x{}", c.rows, c.cols),
                format!("{:.1} ({:.1})", o * 1e6, om * 1e6),
                format!("{:.1} ({:.1})", g * 1e6, gm * 1e6),
                gb / o,
                gb / g,
                g / o,
                gm / om
            );
        }
    }
    println!(
        "(spd = ggml time / ours: > 1 means ours is faster. Q4_0/Q4_K: llama.cpp's repacked-gemv order, \"vd\" = vec_dot order. Q4_K/Q6_K have no 4864x896: 896 is not a multiple of 256)"
    );
}

/// Divan's case names, in the order of `cases()` (checked by `find`).
const CASE_NAMES: [&str; 10] = [
    "Q4_0_4864x896",
    "Q4_0_896x4864",
    "Q4_1_4864x896",
    "Q4_1_896x4864",
    "Q4_K_896x4864",
    "Q5_0_4864x896",
    "Q5_0_896x4864",
    "Q6_K_896x4864",
    "Q8_0_4864x896",
    "Q8_0_896x4864",
];

fn find(name: &str) -> &'static Case {
    cases()
        .iter()
        .find(|c| case_name(c) == name)
        .unwrap_or_else(|| panic!("no case {name}"))
}

#[divan::bench(args = CASE_NAMES)]
fn bague(b: divan::Bencher, name: &str) {
    let c = find(name);
    let k = Kernels::detect();
    let mut out = vec![0f32; c.rows];
    b.bench_local(|| ours(&k, c, divan::black_box(&mut out)));
}

#[divan::bench(args = CASE_NAMES)]
fn ggml_vec_dot(b: divan::Bencher, name: &str) {
    let c = find(name);
    let mut out = vec![0f32; c.rows];
    b.bench_local(|| ggml(c, divan::black_box(&mut out)));
}

fn main() {
    ratio_table();
    divan::main();
}

//! Every shader against the CPU's scalar reference (`bague-kernels`), on random blocks (made
//! by the ggml weight quantizers from random values) and on real rows of the model files.
//!
//! Bounds (asserted, and printed with the measured maximum):
//! - matvec / matmul (all six weight types, decode and prefill builds, with and without the
//!   RMSNorm prologue): `|gpu − ref| ≤ 2e-5 · Σ|wᵢ·xᵢ|` per output, where `ref` is
//!   `vec_dot_ref` of the row with the activations quantized by the CPU's quantizer — the
//!   integer parts are equal, only f32 rounding differs;
//! - embedding lookup: `|gpu − dequantize| ≤ 1e-6 · max|row|` (a fused multiply-add);
//! - attention: `|gpu − ref| ≤ 2e-3 · max|V|` (an f16-rounded probability may move by one
//!   f16 ulp when the f32 score sums differ in order);
//! - argmax and top-k: equal to a sort by (value descending, index ascending).
//!
//! `#[ignore]`d in a plain `cargo test` (they need a device); `ci/gpu.sh` runs them on
//! llvmpipe with `--include-ignored`.

mod gpu_util;

use bague_gpu::TensorDesc;
use bague_gpu::testing::Runner;
use bague_kernels::GgmlType;
use bague_kernels::block::{self, ActivationFormat, BlockFormat};
use gpu_util::*;

/// xorshift64*, values in [-1, 1).
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> f32 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        let v = self.0.wrapping_mul(0x2545_f491_4f6c_dd1d);
        ((v >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    }
    fn vec(&mut self, n: usize, scale: f32) -> Vec<f32> {
        (0..n).map(|_| self.next() * scale).collect()
    }
}

/// `(vec_dot_ref, Σ|w·x|)` of every row with `x` (one token).
fn reference_of<B: BlockFormat>(
    bytes: &[u8],
    rows: usize,
    cols: usize,
    x: &[f32],
) -> Vec<(f32, f32)> {
    let w: &[B] = block::blocks(bytes).unwrap();
    let per = cols / B::BLOCK;
    let mut a =
        vec![<B::Act as bytemuck::Zeroable>::zeroed(); cols / <B::Act as ActivationFormat>::BLOCK];
    <B::Act as ActivationFormat>::quantize(x, &mut a);
    let mut deq = vec![0f32; cols];
    (0..rows)
        .map(|r| {
            let row = &w[r * per..(r + 1) * per];
            B::dequantize(row, &mut deq);
            let mag: f32 = deq.iter().zip(x).map(|(w, x)| (w * x).abs()).sum();
            (B::vec_dot_ref(row, &a), mag)
        })
        .collect()
}

fn reference(ty: GgmlType, bytes: &[u8], rows: usize, cols: usize, x: &[f32]) -> Vec<(f32, f32)> {
    use block::*;
    match ty {
        GgmlType::Q4_0 => reference_of::<BlockQ4_0>(bytes, rows, cols, x),
        GgmlType::Q4_1 => reference_of::<BlockQ4_1>(bytes, rows, cols, x),
        GgmlType::Q5_0 => reference_of::<BlockQ5_0>(bytes, rows, cols, x),
        GgmlType::Q8_0 => reference_of::<BlockQ8_0>(bytes, rows, cols, x),
        GgmlType::Q4_K => reference_of::<BlockQ4K>(bytes, rows, cols, x),
        GgmlType::Q6_K => reference_of::<BlockQ6K>(bytes, rows, cols, x),
        _ => unreachable!("{ty:?}"),
    }
}

fn dequantize(ty: GgmlType, row: &[u8], out: &mut [f32]) {
    use block::*;
    fn d<B: BlockFormat>(row: &[u8], out: &mut [f32]) {
        B::dequantize(block::blocks::<B>(row).unwrap(), out)
    }
    match ty {
        GgmlType::Q4_0 => d::<BlockQ4_0>(row, out),
        GgmlType::Q4_1 => d::<BlockQ4_1>(row, out),
        GgmlType::Q5_0 => d::<BlockQ5_0>(row, out),
        GgmlType::Q8_0 => d::<BlockQ8_0>(row, out),
        GgmlType::Q4_K => d::<BlockQ4K>(row, out),
        GgmlType::Q6_K => d::<BlockQ6K>(row, out),
        _ => unreachable!(),
    }
}

/// Random weights of `ty` made by the ggml quantizer.
fn random_blocks(ty: GgmlType, rows: usize, cols: usize, rng: &mut Rng) -> Vec<u8> {
    use block::*;
    fn q<B: BlockFormat>(x: &[f32], f: fn(&[f32], &mut [B])) -> Vec<u8> {
        let mut b = vec![B::zeroed(); x.len() / B::BLOCK];
        f(x, &mut b);
        bytemuck::cast_slice(&b).to_vec()
    }
    let x = rng.vec(rows * cols, 0.5);
    match ty {
        GgmlType::Q4_0 => q(&x, q4_0::quantize_row_q4_0),
        GgmlType::Q4_1 => q(&x, q4_1::quantize_row_q4_1),
        GgmlType::Q5_0 => q(&x, q5_0::quantize_row_q5_0),
        GgmlType::Q8_0 => q(&x, q8_0::quantize_row_q8_0_ref),
        GgmlType::Q4_K => q(&x, q4_k::quantize_row_q4_k),
        GgmlType::Q6_K => q(&x, q6_k::quantize_row_q6_k),
        _ => unreachable!(),
    }
}

const TOL: f32 = 2e-5;

/// Runs `w` on `n_tok` random tokens through both builds (and with the RMSNorm prologue) and
/// checks every output against the reference; returns the largest `|err| / mag`.
fn check_matvec(r: &Runner, w: &TensorDesc<'_>, n_tok: usize, rng: &mut Rng) -> f32 {
    let (rows, cols) = (w.rows, w.cols);
    let x = rng.vec(n_tok * cols, 2.0);
    let gain = rng.vec(cols, 1.5);
    let eps = 1e-6f32;
    let mut worst = 0f32;
    for norm in [false, true] {
        // The CPU path's activations: x, or RMSNorm(x) * gain.
        let xs: Vec<f32> = if norm {
            let k = bague_kernels::Kernels::by_name("scalar").unwrap();
            let gain_bytes: Vec<u8> = gain.iter().flat_map(|g| g.to_le_bytes()).collect();
            x.chunks(cols)
                .flat_map(|xt| {
                    let mut o = vec![0f32; cols];
                    k.rms_norm(xt, &gain_bytes, eps, &mut o).unwrap();
                    o
                })
                .collect()
        } else {
            x.clone()
        };
        let want: Vec<Vec<(f32, f32)>> = xs
            .chunks(cols)
            .map(|xt| reference(w.ty, w.bytes, rows, cols, xt))
            .collect();
        for prefill in [false, true] {
            let got = r
                .matvec(w, &x, n_tok, norm.then_some((&gain[..], eps)), prefill)
                .unwrap();
            for t in 0..n_tok {
                for i in 0..rows {
                    let (v, mag) = want[t][i];
                    let g = got[t * rows + i];
                    let err = (g - v).abs();
                    let rel = err / mag.max(f32::MIN_POSITIVE);
                    worst = worst.max(rel);
                    assert!(
                        err <= TOL * mag,
                        "{} {:?} {rows}x{cols} token {t} row {i} (norm {norm}, prefill {prefill}): gpu {g} ref {v} (mag {mag})",
                        w.name,
                        w.ty
                    );
                }
            }
        }
    }
    worst
}

const TYPES: [GgmlType; 6] = [
    GgmlType::Q4_0,
    GgmlType::Q4_1,
    GgmlType::Q5_0,
    GgmlType::Q8_0,
    GgmlType::Q4_K,
    GgmlType::Q6_K,
];

#[test]
#[ignore = "needs a GPU device"]
fn matvec_random_blocks_every_type() {
    let Some(dev) = device() else { return };
    let r = Runner::new(&dev).unwrap();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for ty in TYPES {
        // A row shorter than the 64 lanes, one of several whole super-blocks, and a row
        // count that leaves a partial workgroup; 1 and 5 tokens (a partial prefill tile).
        let shapes: &[(usize, usize)] = if ty.block_size() == 256 {
            &[(37, 256), (21, 1280)]
        } else {
            &[(37, 96), (21, 1280)]
        };
        for &(rows, cols) in shapes {
            let bytes = random_blocks(ty, rows, cols, &mut rng);
            let w = TensorDesc {
                name: "random",
                ty,
                rows,
                cols,
                bytes: &bytes,
            };
            let mut worst = 0f32;
            for n_tok in [1, 5] {
                worst = worst.max(check_matvec(&r, &w, n_tok, &mut rng));
            }
            eprintln!(
                "matvec {:5} random {rows}x{cols}: max |gpu-ref|/Σ|w·x| = {worst:.2e} (bound {TOL:.0e})",
                ty.name()
            );
        }
    }
}

/// First `rows` rows of a model tensor.
fn rows_of<'a>(t: &bague::model::Tensor<'a>, rows: usize) -> TensorDesc<'a> {
    let rb = t.row_bytes();
    TensorDesc {
        name: t.name,
        ty: t.ty,
        rows,
        cols: t.n_cols(),
        bytes: &t.data[..rows * rb],
    }
}

#[test]
#[ignore = "needs a GPU device"]
fn matvec_real_rows() {
    let Some(dev) = device() else { return };
    let r = Runner::new(&dev).unwrap();
    let mut rng = Rng(7);
    let mut seen = Vec::new();
    let mut run = |path: std::path::PathBuf| {
        let mapped = bague::loader::MappedFile::open(&path).unwrap();
        let file = mapped.parse().unwrap();
        let model = bague::model::Model::from_gguf(&file).unwrap();
        let w = &model.weights;
        let mut tensors: Vec<&bague::model::Tensor<'_>> = vec![&w.output, &w.token_embd];
        for l in &w.layers {
            tensors.extend([&l.wq, &l.wk, &l.wv, &l.wo, &l.w_gate, &l.w_up, &l.w_down]);
        }
        // One tensor of every type the file has.
        let mut done = Vec::new();
        for t in tensors {
            if done.contains(&t.ty) || !bague_gpu::supports(t.ty) {
                continue;
            }
            done.push(t.ty);
            let desc = rows_of(t, 48.min(t.n_rows()));
            let worst = check_matvec(&r, &desc, 2, &mut rng);
            eprintln!(
                "matvec {:5} {} rows 0..48 of {}: max |gpu-ref|/Σ|w·x| = {worst:.2e}",
                t.ty.name(),
                path.file_name().unwrap().to_string_lossy(),
                t.name
            );
            seen.push(t.ty);
        }
    };
    run(bague_testkit::tiny_path("r1-tiny-random-q4_0"));
    if let Some(p) = bague_testkit::model("smollm2-135m-instruct-q4_1") {
        run(p);
    }
    if let Some(p) = bague_testkit::model("qwen2.5-coder-0.5b-instruct-q4_k_m") {
        run(p);
    }
    eprintln!("real rows checked for {seen:?}");
}

#[test]
#[ignore = "needs a GPU device"]
fn get_rows_equals_dequantize() {
    let Some(dev) = device() else { return };
    let r = Runner::new(&dev).unwrap();
    let mut rng = Rng(11);
    for ty in TYPES {
        let (rows, cols) = (40, 512);
        let bytes = random_blocks(ty, rows, cols, &mut rng);
        let w = TensorDesc {
            name: "table",
            ty,
            rows,
            cols,
            bytes: &bytes,
        };
        let ids = [0u32, 39, 7, 7, 21];
        let got = r.get_rows(&w, &ids).unwrap();
        let rb = bytes.len() / rows;
        let mut want = vec![0f32; cols];
        let mut worst = 0f32;
        for (t, &id) in ids.iter().enumerate() {
            dequantize(
                ty,
                &bytes[id as usize * rb..(id as usize + 1) * rb],
                &mut want,
            );
            let max = want.iter().fold(0f32, |m, v| m.max(v.abs()));
            for (e, (&g, &v)) in got[t * cols..(t + 1) * cols].iter().zip(&want).enumerate() {
                let err = (g - v).abs();
                worst = worst.max(err / max);
                assert!(
                    err <= 1e-6 * max,
                    "{ty:?} row {id} element {e}: gpu {g} cpu {v}"
                );
            }
        }
        eprintln!(
            "get_rows {:5}: max |gpu-cpu|/max|row| = {worst:.2e} (bound 1e-6)",
            ty.name()
        );
    }
}

fn f16(x: f32) -> u16 {
    half::f16::from_f32(x).to_bits()
}
fn f32_of(h: u16) -> f32 {
    half::f16::from_bits(h).to_f32()
}

#[test]
#[ignore = "needs a GPU device"]
fn attention_matches_reference() {
    let Some(dev) = device() else { return };
    let r = Runner::new(&dev).unwrap();
    let mut rng = Rng(3);
    for (n_head, n_kv, hd, pos0, n_tok) in
        [(4, 2, 64, 37, 3), (14, 2, 64, 0, 1), (2, 1, 128, 150, 2)]
    {
        let (qd, kvd) = (n_head * hd, n_kv * hd);
        let n_pos = pos0 + n_tok;
        let q = rng.vec(n_tok * qd, 2.0);
        let k: Vec<u16> = rng.vec(n_pos * kvd, 1.0).into_iter().map(f16).collect();
        let v: Vec<u16> = rng.vec(n_pos * kvd, 1.0).into_iter().map(f16).collect();
        let got = r
            .attention(&q, &k, &v, n_head, n_kv, hd, pos0, n_tok)
            .unwrap();
        let scale = 1.0 / (hd as f32).sqrt();
        let mut worst = 0f32;
        for t in 0..n_tok {
            for h in 0..n_head {
                let kvh = h / (n_head / n_kv);
                let qh: Vec<f32> = q[t * qd + h * hd..t * qd + (h + 1) * hd]
                    .iter()
                    .map(|&x| f32_of(f16(x)))
                    .collect();
                let n_kv_t = pos0 + t + 1;
                let s: Vec<f32> = (0..n_kv_t)
                    .map(|j| {
                        let kr = &k[j * kvd + kvh * hd..j * kvd + (kvh + 1) * hd];
                        kr.iter().zip(&qh).map(|(&a, b)| f32_of(a) * b).sum::<f32>() * scale
                    })
                    .collect();
                let m = s.iter().fold(f32::NEG_INFINITY, |a, &b| a.max(b));
                let sum: f64 = s.iter().map(|&x| ((x - m) as f64).exp()).sum();
                let p: Vec<f32> = s
                    .iter()
                    .map(|&x| f32_of(f16((x - m).exp() * (1.0 / sum) as f32)))
                    .collect();
                for d in 0..hd {
                    let want: f32 = (0..n_kv_t)
                        .map(|j| p[j] * f32_of(v[j * kvd + kvh * hd + d]))
                        .sum();
                    let g = got[t * qd + h * hd + d];
                    worst = worst.max((g - want).abs());
                    assert!(
                        (g - want).abs() <= 2e-3,
                        "token {t} head {h} dim {d}: gpu {g} ref {want}"
                    );
                }
            }
        }
        eprintln!(
            "attention {n_head}/{n_kv} heads, head_dim {hd}, positions {pos0}+{n_tok}: max |gpu-ref| = {worst:.2e} (bound 2e-3, |V| <= 1)"
        );
    }
}

#[test]
#[ignore = "needs a GPU device"]
fn argmax_and_top_k_equal_a_sort() {
    let Some(dev) = device() else { return };
    let r = Runner::new(&dev).unwrap();
    let mut rng = Rng(5);
    for n in [1usize, 100, 49152, 151936] {
        // Coarse values so that equal logits occur; the tie goes to the lower index.
        let l: Vec<f32> = rng
            .vec(n, 8.0)
            .into_iter()
            .map(|x| (x * 16.0).round() / 16.0)
            .collect();
        let mut idx: Vec<u32> = (0..n as u32).collect();
        idx.sort_by(|&a, &b| l[b as usize].total_cmp(&l[a as usize]).then(a.cmp(&b)));
        let (i, v) = r.argmax(&l).unwrap();
        assert_eq!((i, v), (idx[0], l[idx[0] as usize]), "argmax of {n}");
        let k = 40.min(n);
        let top = r.top_k(&l, k).unwrap();
        let want: Vec<(u32, f32)> = idx[..k].iter().map(|&i| (i, l[i as usize])).collect();
        assert_eq!(top, want, "top-{k} of {n}");
    }
    eprintln!("argmax and top-40 equal a sort (n up to 151936, with ties)");
}

//! (c) Our `vec_dot` (scalar and every SIMD back end this host has) against ggml's CPU-backend
//! `vec_dot` on the same weight and activation bytes. The activations come from ggml's own CPU
//! quantizer, as in llama.cpp. The sums differ only in the order of f32 additions, so the
//! error is measured relative to the L1 size of the sum, `Σ|w_i·a_i|` (dequantized values, in
//! f64). Max observed diffs are printed; the tolerance below is stated.

mod common;

use bague_kernels::{GgmlType, Kernels};
use bague_oracle as oracle;
use common::Rng;

/// Max |ours − ggml| / max(Σ|w_i·a_i|, |ggml|). f32 sums of ≤ 512 block terms; measured worst ~1e-7 (see report).
const TOL: f64 = 2e-6;

const TYPES: [GgmlType; 14] = [
    GgmlType::Q4_0,
    GgmlType::Q4_1,
    GgmlType::Q5_0,
    GgmlType::Q5_1,
    GgmlType::Q8_0,
    GgmlType::Q2_K,
    GgmlType::Q3_K,
    GgmlType::Q4_K,
    GgmlType::Q5_K,
    GgmlType::Q6_K,
    GgmlType::IQ4_NL,
    GgmlType::F16,
    GgmlType::BF16,
    GgmlType::F32,
];

struct Case {
    w: Vec<u8>,
    act: Vec<u8>,
    /// Σ|w_i·a_i| in f64.
    l1: f64,
    /// ggml's result.
    ggml: f32,
}

fn make_case(ty: GgmlType, n: usize, rng: &mut Rng, x: &[f32]) -> Case {
    let at = GgmlType::from_u32(oracle::vec_dot_type(ty as u32).unwrap()).unwrap();
    let w = common::random_blocks(ty, n / ty.block_size(), rng);
    let mut act = vec![0u8; at.row_bytes(n as u64).unwrap() as usize];
    oracle::quantize_row_cpu(at as u32, x, &mut act).unwrap();
    let (mut wf, mut af) = (vec![0f32; n], vec![0f32; n]);
    if ty == GgmlType::F32 {
        wf.copy_from_slice(bytemuck::cast_slice(&w));
    } else {
        oracle::dequantize_row(ty as u32, &w, &mut wf).unwrap();
    }
    act_values(at, &act, &mut af);
    let l1 = wf
        .iter()
        .zip(&af)
        .map(|(a, b)| (*a as f64 * *b as f64).abs())
        .sum();
    let ggml = oracle::vec_dot(ty as u32, n, &w, &act).unwrap();
    Case { w, act, l1, ggml }
}

fn f16(b: &[u8]) -> f32 {
    let mut v = [0f32];
    oracle::dequantize_row(GgmlType::F16 as u32, &b[..2], &mut v).unwrap();
    v[0]
}

/// Activation values `d * q` (ggml has no `to_float` for Q8_1 / Q8_K; only used for the
/// error scale Σ|w·a|, so an independent few lines here).
fn act_values(at: GgmlType, act: &[u8], out: &mut [f32]) {
    match at {
        GgmlType::Q8_0 | GgmlType::Q8_1 => {
            let (bb, q0) = if at == GgmlType::Q8_0 {
                (34, 2)
            } else {
                (36, 4)
            };
            for (blk, o) in act.chunks_exact(bb).zip(out.chunks_exact_mut(32)) {
                let d = f16(blk);
                for j in 0..32 {
                    o[j] = d * blk[q0 + j] as i8 as f32;
                }
            }
        }
        GgmlType::Q8_K => {
            for (blk, o) in act.chunks_exact(292).zip(out.chunks_exact_mut(256)) {
                let d = f32::from_le_bytes(blk[..4].try_into().unwrap());
                for j in 0..256 {
                    o[j] = d * blk[4 + j] as i8 as f32;
                }
            }
        }
        GgmlType::F32 => out.copy_from_slice(bytemuck::cast_slice(act)),
        _ => oracle::dequantize_row(at as u32, act, out).unwrap(),
    }
}

#[test]
fn vec_dot_matches_ggml() {
    let backends: Vec<Kernels> = Kernels::available().collect();
    let names: Vec<&str> = backends.iter().map(|k| k.name()).collect();
    eprintln!("back ends: {names:?}; ggml: {}", oracle::cpu_features());
    let mut failures = Vec::new();
    eprintln!(
        "{:<8} {:<8} {:>12} {:>12} {:>6}",
        "type", "backend", "max rel-L1", "max rel", "cases"
    );
    for ty in TYPES {
        if !Kernels::supports(ty) {
            eprintln!("{ty:?}: not supported by bague-kernels, skipped");
            continue;
        }
        let mut rng = Rng::new(0xD07 + ty as u64);
        let mut cases = Vec::new();
        for &n in &[256usize, 896, 4864, 8192] {
            if n % ty.block_size() != 0 {
                continue;
            }
            for (_, x) in common::activation_rows(n, &mut rng) {
                cases.push((n, make_case(ty, n, &mut rng, &x)));
            }
        }
        for k in &backends {
            let (mut worst_l1, mut worst_rel) = (0f64, 0f64);
            for (n, c) in &cases {
                let ours = k.vec_dot(ty, *n, &c.w, &c.act).unwrap();
                let d = (ours as f64 - c.ggml as f64).abs();
                if !(ours.is_finite() && c.ggml.is_finite()) {
                    if ours.to_bits() != c.ggml.to_bits() {
                        failures.push(format!(
                            "{ty:?}[{}] n={n}: ours {ours}, ggml {}",
                            k.name(),
                            c.ggml
                        ));
                    }
                    continue;
                }
                // Scale: Σ|w·a|, or the result itself when larger (Q4_1/Q5_1 add m·s, where
                // s is the f16 block sum of the activations, outside Σ|w·a|).
                let scale = c.l1.max((c.ggml as f64).abs());
                let rel_l1 = if scale > 0.0 { d / scale } else { d };
                worst_l1 = worst_l1.max(rel_l1);
                if c.ggml != 0.0 {
                    worst_rel = worst_rel.max(d / (c.ggml as f64).abs());
                }
                if rel_l1 > TOL {
                    failures.push(format!(
                        "{ty:?}[{}] n={n}: ours {ours}, ggml {}, |diff|/L1 = {rel_l1:.3e}",
                        k.name(),
                        c.ggml
                    ));
                }
            }
            eprintln!(
                "{:<8} {:<8} {worst_l1:>12.3e} {worst_rel:>12.3e} {:>6}",
                ty.name(),
                k.name(),
                cases.len()
            );
        }
    }
    assert!(
        failures.is_empty(),
        "{} cases over tolerance {TOL:e}:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn matvec_matches_ggml_row_by_row() {
    // 4864×896 and 896×4864 (Qwen2.5-0.5B's FFN shapes), every back end vs ggml's vec_dot per row.
    let mut failures = Vec::new();
    for ty in [
        GgmlType::Q4_0,
        GgmlType::Q4_1,
        GgmlType::Q5_0,
        GgmlType::Q8_0,
        GgmlType::Q4_K,
        GgmlType::Q6_K,
    ] {
        for (rows, cols) in [(64usize, 896usize), (16, 4864)] {
            if cols % ty.block_size() != 0 {
                continue;
            }
            let mut rng = Rng::new(0x3A7 + ty as u64);
            let at = Kernels::vec_dot_type(ty);
            let w = common::random_blocks(ty, rows * cols / ty.block_size(), &mut rng);
            let x: Vec<f32> = (0..cols).map(|_| rng.normal()).collect();
            let mut act = vec![0u8; at.row_bytes(cols as u64).unwrap() as usize];
            oracle::quantize_row_cpu(at as u32, &x, &mut act).unwrap();
            let mut want = vec![0f32; rows];
            oracle::matvec(ty as u32, cols, &w, &act, &mut want).unwrap();
            for k in Kernels::available() {
                let mut got = vec![0f32; rows];
                k.matvec(ty, &w, cols, 0..rows, &act, &mut got).unwrap();
                for r in 0..rows {
                    let scale = want.iter().map(|v| v.abs()).fold(1e-6, f32::max) as f64;
                    let d = (got[r] as f64 - want[r] as f64).abs() / scale;
                    if d > 1e-5 {
                        failures.push(format!(
                            "{ty:?}[{}] {rows}x{cols} row {r}: matvec {}, ggml {}",
                            k.name(),
                            got[r],
                            want[r]
                        ));
                    }
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

// ---------------------------------------------------------------------------------------
// Bit-exact: our AVX2 decode kernels against ggml's x86 AVX2 kernels (#5 agreement)
// ---------------------------------------------------------------------------------------

/// The formats of the real models whose decode kernels follow ggml's AVX2 order exactly.
const EXACT: [GgmlType; 6] = [
    GgmlType::Q4_0,
    GgmlType::Q4_1,
    GgmlType::Q5_0,
    GgmlType::Q8_0,
    GgmlType::Q4_K,
    GgmlType::Q6_K,
];

// ggml's repacked 8-row gemv kernels (C symbols of ggml-cpu, declared in its repack.h; the
// layouts they read are built below from the plain blocks, as ggml's `make_block_*x8` do).
unsafe extern "C" {
    fn ggml_gemv_q4_0_8x8_q8_0(
        n: i32,
        s: *mut f32,
        bs: usize,
        vx: *const core::ffi::c_void,
        vy: *const core::ffi::c_void,
        nr: i32,
        nc: i32,
    );
    fn ggml_gemv_q4_K_8x8_q8_K(
        n: i32,
        s: *mut f32,
        bs: usize,
        vx: *const core::ffi::c_void,
        vy: *const core::ffi::c_void,
        nr: i32,
        nc: i32,
    );
}

/// ggml's `block_q4_0x8` layout for `n_rows` (a multiple of 8) rows of `nb` Q4_0 blocks:
/// per group of 8 rows and block, the 8 f16 scales then 128 bytes of quants taken 8 bytes at
/// a time from rows 0..8 in turn, each nibble's top bit flipped (`^ 0x88`).
fn repack_q4_0_x8(w: &[u8], n_rows: usize, nb: usize) -> Vec<u8> {
    let blk = |r: usize, b: usize| &w[(r * nb + b) * 18..(r * nb + b + 1) * 18];
    let mut out = Vec::with_capacity(w.len());
    for g in 0..n_rows / 8 {
        for b in 0..nb {
            for k in 0..8 {
                out.extend_from_slice(&blk(8 * g + k, b)[..2]);
            }
            for i in 0..16 {
                let src = &blk(8 * g + i % 8, b)[2 + (i / 8) * 8..2 + (i / 8) * 8 + 8];
                out.extend(src.iter().map(|v| v ^ 0x88));
            }
        }
    }
    out
}

/// ggml's `block_q4_Kx8` layout: per group of 8 rows and super-block, 8 `d`, 8 `dmin`,
/// 96 bytes of scales (per sub-block, the 8 rows' 6-bit scales and mins packed as one Q4_K
/// scale field), 1024 bytes of quants interleaved 8 bytes at a time.
fn repack_q4_k_x8(w: &[u8], n_rows: usize, nb: usize) -> Vec<u8> {
    let blk = |r: usize, b: usize| &w[(r * nb + b) * 144..(r * nb + b + 1) * 144];
    let mut out = Vec::with_capacity(w.len());
    for g in 0..n_rows / 8 {
        for b in 0..nb {
            let x: Vec<&[u8]> = (0..8).map(|k| blk(8 * g + k, b)).collect();
            for k in 0..8 {
                out.extend_from_slice(&x[k][0..2]);
            }
            for k in 0..8 {
                out.extend_from_slice(&x[k][2..4]);
            }
            let sc = |k: usize| &x[k][4..16];
            let mut scales = [0u8; 96];
            for half in 0..2 {
                for i in 0..4 {
                    let (mut s, mut m) = ([0u8; 8], [0u8; 8]);
                    for j in 0..8 {
                        let q = sc(j);
                        if half == 0 {
                            s[j] = q[i] & 63;
                            m[j] = q[i + 4] & 63;
                        } else {
                            s[j] = ((q[i] & 192) >> 2) | (q[i + 8] & 15);
                            m[j] = ((q[i + 4] & 192) >> 2) | ((q[i + 8] & 240) >> 4);
                        }
                    }
                    let o = 48 * half + 12 * i;
                    for j in 0..4 {
                        scales[o + j] = (s[j] & 63) + ((s[j + 4] & 48) << 2);
                        scales[o + 4 + j] = (m[j] & 63) + ((m[j + 4] & 48) << 2);
                        scales[o + 8 + j] = (s[j + 4] & 15) + ((m[j + 4] & 15) << 4);
                    }
                }
            }
            out.extend_from_slice(&scales);
            for i in 0..128 {
                let o = 16 + (i / 8) * 8;
                out.extend_from_slice(&x[i % 8][o..o + 8]);
            }
        }
    }
    out
}

/// ggml's repacked gemv over `n_rows` (a multiple of 8) rows of plain blocks.
fn ggml_gemv8(ty: GgmlType, n: usize, n_rows: usize, w: &[u8], act: &[u8]) -> Vec<f32> {
    let nb = n / ty.block_size();
    let packed = match ty {
        GgmlType::Q4_0 => repack_q4_0_x8(w, n_rows, nb),
        GgmlType::Q4_K => repack_q4_k_x8(w, n_rows, nb),
        _ => unreachable!(),
    };
    assert_eq!(packed.len(), w.len());
    let mut out = vec![0f32; n_rows];
    let f = match ty {
        GgmlType::Q4_0 => ggml_gemv_q4_0_8x8_q8_0,
        _ => ggml_gemv_q4_K_8x8_q8_K,
    };
    // SAFETY: `packed` holds n_rows / 8 groups of nb interleaved blocks (the layout the
    // kernel reads for nc = n_rows), `act` one activation row of n values (nr = 1); the
    // kernel writes n_rows floats to `out`.
    unsafe {
        f(
            n as i32,
            out.as_mut_ptr(),
            n_rows,
            packed.as_ptr().cast(),
            act.as_ptr().cast(),
            1,
            n_rows as i32,
        )
    };
    out
}

/// Ours (AVX2) against ggml on one matrix: `vec_dot` and `matvec_ordered(VecDot)` against
/// ggml's `vec_dot` per row, and (Q4_0 / Q4_K, rows a multiple of 8) the default `matvec`
/// against ggml's repacked gemv. Returns the failures.
fn check_exact(
    k: &Kernels,
    ty: GgmlType,
    n: usize,
    w: &[u8],
    act: &[u8],
    what: &str,
) -> Vec<String> {
    let mut bad = Vec::new();
    let rb = ty.row_bytes(n as u64).unwrap() as usize;
    let n_rows = w.len() / rb;
    let same = |a: f32, b: f32| a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan());
    let mut vd = vec![0f32; n_rows];
    k.matvec_ordered(
        bague_kernels::MatvecOrder::VecDot,
        ty,
        w,
        n,
        0..n_rows,
        act,
        &mut vd,
    )
    .unwrap();
    for r in 0..n_rows {
        let wr = &w[r * rb..(r + 1) * rb];
        let g = oracle::vec_dot(ty as u32, n, wr, act).unwrap();
        let ours = k.vec_dot(ty, n, wr, act).unwrap();
        if !same(ours, g) || !same(vd[r], g) {
            bad.push(format!(
                "{ty:?} {what} row {r}: vec_dot {ours}, matvec {}, ggml {g}",
                vd[r]
            ));
        }
    }
    if matches!(ty, GgmlType::Q4_0 | GgmlType::Q4_K) && n_rows.is_multiple_of(8) {
        let want = ggml_gemv8(ty, n, n_rows, w, act);
        let mut got = vec![0f32; n_rows];
        k.matvec(ty, w, n, 0..n_rows, act, &mut got).unwrap();
        for r in 0..n_rows {
            if !same(got[r], want[r]) {
                bad.push(format!(
                    "{ty:?} {what} row {r}: matvec (repacked order) {}, ggml gemv {}",
                    got[r], want[r]
                ));
            }
        }
    }
    bad
}

#[test]
fn avx2_decode_is_bit_exact_vs_ggml_random() {
    let Some(k) = Kernels::by_name("avx2") else {
        bague_testkit::skip("this CPU has no AVX2");
        return;
    };
    let mut failures = Vec::new();
    let mut cases = 0;
    for ty in EXACT {
        let mut rng = Rng::new(0xB17 + ty as u64);
        for &n in &[256usize, 896, 4864, 8192] {
            if n % ty.block_size() != 0 {
                continue;
            }
            for (name, x) in common::activation_rows(n, &mut rng) {
                let at = Kernels::vec_dot_type(ty);
                let mut act = vec![0u8; at.row_bytes(n as u64).unwrap() as usize];
                oracle::quantize_row_cpu(at as u32, &x, &mut act).unwrap();
                let w = common::random_blocks(ty, 8 * n / ty.block_size(), &mut rng);
                failures.extend(check_exact(&k, ty, n, &w, &act, &format!("n={n} {name}")));
                cases += 8;
            }
        }
    }
    eprintln!("{cases} random rows checked");
    assert!(
        failures.is_empty(),
        "{}:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn avx2_decode_is_bit_exact_vs_ggml_real_rows() {
    let Some(k) = Kernels::by_name("avx2") else {
        bague_testkit::skip("this CPU has no AVX2");
        return;
    };
    let mut failures = Vec::new();
    let mut per_type: std::collections::BTreeMap<&str, usize> = Default::default();
    let mut rng = Rng::new(0x5EA1);
    for path in common::model_files() {
        let mut g = common::gguf::Gguf::open(&path).unwrap();
        for t in g.tensors.clone() {
            let Some(ty) = GgmlType::from_u32(t.ty) else {
                continue;
            };
            if !EXACT.contains(&ty) || t.dims.len() != 2 {
                continue;
            }
            let n = t.dims[0] as usize;
            let rows = t.dims[1] as usize;
            let rb = ty.row_bytes(n as u64).unwrap() as usize;
            let at = Kernels::vec_dot_type(ty);
            let x: Vec<f32> = (0..n).map(|_| rng.normal()).collect();
            let mut act = vec![0u8; at.row_bytes(n as u64).unwrap() as usize];
            oracle::quantize_row_cpu(at as u32, &x, &mut act).unwrap();
            // 8 rows from the start and 8 from the middle (whole groups of the repacked gemv)
            for r0 in [0, rows / 16 * 8] {
                if r0 + 8 > rows {
                    continue;
                }
                let w = g.read(t.offset + (r0 * rb) as u64, 8 * rb).unwrap();
                let what = format!("{} {} rows {r0}..", path.display(), t.name);
                failures.extend(check_exact(&k, ty, n, &w, &act, &what));
                *per_type.entry(ty.name()).or_default() += 8;
            }
        }
    }
    eprintln!("real rows checked by type: {per_type:?}");
    assert!(
        failures.is_empty(),
        "{}:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

//! The float operations of the forward pass on every SIMD back end against the scalar
//! reference (`Kernels::scalar()`), **bit for bit**: softmax of a masked row, SwiGLU, f16·f16
//! dot products in both orders (single and strided), RMS norm, adds, axpy, Q8_0
//! dequantization and f32 ⇄ f16 rows. Every length 0..600, random inputs at several
//! magnitudes and edge values (±0, ±inf, NaN, subnormals, the largest finite values,
//! arguments where ggml's `exp` takes its overflow and underflow paths). A NaN result only has
//! to be a NaN (its payload is the instruction set's business).
//!
//! Then the scalar references themselves against independent f64 computations (the
//! bit-exact battery above would not notice a reference that is wrong everywhere), and the
//! length checks of the entry points.

mod common;

use bague_kernels::block::F16;
use bague_kernels::{F16DotOrder, KernelError, Kernels};
use common::*;

const MAX_LEN: usize = 600;

/// Values that exercise every path: signed zeros, infinities, NaN, subnormals, extremes,
/// `exp` arguments around overflow (88.7), underflow (-103) and ggml's large-`n` branches.
const SPECIALS: [f32; 20] = [
    0.0,
    -0.0,
    1.0,
    -1.0,
    f32::INFINITY,
    f32::NEG_INFINITY,
    f32::NAN,
    f32::MIN_POSITIVE,
    1e-40,
    -1e-40,
    f32::MAX,
    -f32::MAX,
    88.7,
    -88.7,
    87.5,
    -103.0,
    90.0,
    -130.0,
    200.0,
    -200.0,
];

fn same(a: f32, b: f32) -> bool {
    a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan())
}

fn assert_same_rows(what: &str, got: &[f32], want: &[f32]) {
    assert_eq!(got.len(), want.len(), "{what}");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            same(*g, *w),
            "{what} [{i}]: got {g:e} ({:#010x}), reference {w:e} ({:#010x})",
            g.to_bits(),
            w.to_bits()
        );
    }
}

/// Inputs of one length: `kind` 0..3 random at magnitudes 1, 30 and 150 (the last one takes
/// `exp` past its range), 3 random with specials sprinkled in, 4 specials only.
fn inputs(rng: &mut TestRng, n: usize, kind: usize) -> Vec<f32> {
    (0..n)
        .map(|_| match kind {
            0 => rng.activation(),
            1 => 30.0 * rng.normal(),
            2 => 150.0 * rng.normal(),
            3 if rng.next_u64() % 5 == 0 => SPECIALS[(rng.next_u64() % 20) as usize],
            3 => rng.activation(),
            _ => SPECIALS[(rng.next_u64() % 20) as usize],
        })
        .collect()
}

const KINDS: usize = 5;

fn f16_row(x: &[f32]) -> Vec<F16> {
    x.iter()
        .map(|&v| F16(half::f16::from_f32(v).to_le_bytes()))
        .collect()
}

/// Runs `f` on the reference and on every SIMD back end with the same inputs for every
/// length and input kind, and compares the outputs bit for bit.
fn for_every_case(op: &str, mut f: impl FnMut(&Kernels, &[f32], &[f32], usize, usize) -> Vec<f32>) {
    let scalar = Kernels::scalar();
    let backends = simd_backends();
    let mut rng = TestRng::new(op.len() as u64 * 7919);
    for n in 0..MAX_LEN {
        for kind in 0..KINDS {
            let (a, b) = (inputs(&mut rng, n, kind), inputs(&mut rng, n, kind));
            let want_x86 = f(&scalar, &a, &b, n, kind);
            for k in &backends {
                let want = if k.reference() == scalar {
                    want_x86.clone()
                } else {
                    f(&k.reference(), &a, &b, n, kind)
                };
                let got = f(k, &a, &b, n, kind);
                assert_same_rows(
                    &format!("{op} n {n} kind {kind} on {}", k.name()),
                    &got,
                    &want,
                );
            }
        }
    }
}

#[test]
fn softmax_masked_is_the_reference() {
    for_every_case("softmax", |k, a, _, n, kind| {
        let (scale, n_row) = match kind % 3 {
            0 => (1.0, n),
            1 => (0.125, n + (n % 11)),
            _ => (0.088_388_35, n.next_multiple_of(256)),
        };
        let mut x = a.to_vec();
        k.softmax_masked(&mut x, scale, n_row);
        // the probabilities of a row with a causal -inf tail inside x, as attention sees it
        let mut y = a.to_vec();
        for v in y.iter_mut().skip(n / 2 + 1) {
            *v = f32::NEG_INFINITY;
        }
        k.softmax_masked(&mut y, scale, n + 3);
        x.extend(y);
        x
    });
}

#[test]
fn swiglu_is_the_reference() {
    for_every_case("swiglu", |k, a, b, n, _| {
        let mut out = vec![f32::NAN; n];
        k.swiglu(a, b, &mut out).unwrap();
        out
    });
}

#[test]
fn f16_dots_are_the_reference_in_both_orders() {
    for_every_case("dot_f16", |k, a, b, _, _| {
        let (x, y) = (f16_row(a), f16_row(b));
        [F16DotOrder::VecDot, F16DotOrder::TinyBlas]
            .map(|o| k.dot_f16(o, &x, &y).unwrap())
            .to_vec()
    });
}

#[test]
fn f16_dot_orders_differ_as_ggml_does() {
    // The two orders are different sums: on random rows long enough they must disagree
    // somewhere in the last bits, or one of them is not the order it claims.
    let k = Kernels::detect();
    let mut rng = TestRng::new(5);
    let differ = (0..200).any(|_| {
        let (x, y) = (
            f16_row(&inputs(&mut rng, 200, 1)),
            f16_row(&inputs(&mut rng, 200, 1)),
        );
        let d = k.dot_f16(F16DotOrder::VecDot, &x, &y).unwrap();
        let t = k.dot_f16(F16DotOrder::TinyBlas, &x, &y).unwrap();
        d.to_bits() != t.to_bits()
    });
    assert!(differ);
}

#[test]
fn matvec_f16_is_dot_f16_per_row() {
    let mut rng = TestRng::new(9);
    let kernels: Vec<Kernels> = Kernels::available().collect();
    // (n_cols, row_stride, rows): a KV head's keys, transposed values, tails of every size
    for (n_cols, stride, rows) in [(64, 192, 11), (37, 37, 5), (256, 1000, 3), (9, 40, 17)] {
        let w = f16_row(&inputs(&mut rng, (rows - 1) * stride + n_cols, 3));
        let x = f16_row(&inputs(&mut rng, n_cols, 3));
        for order in [F16DotOrder::VecDot, F16DotOrder::TinyBlas] {
            for k in &kernels {
                let mut want = vec![0f32; rows];
                k.reference()
                    .matvec_f16(order, &w, n_cols, stride, &x, &mut want)
                    .unwrap();
                let mut out = vec![f32::NAN; rows];
                k.matvec_f16(order, &w, n_cols, stride, &x, &mut out)
                    .unwrap();
                let per_row: Vec<f32> = (0..rows)
                    .map(|r| {
                        let row = &w[r * stride..r * stride + n_cols];
                        k.dot_f16(order, row, &x).unwrap()
                    })
                    .collect();
                let what = format!("{order:?} {n_cols}/{stride} on {}", k.name());
                assert_same_rows(&what, &out, &per_row);
                assert_same_rows(&what, &out, &want);
            }
        }
    }
}

#[test]
fn rms_norm_is_the_reference() {
    for_every_case("rms_norm", |k, a, b, n, kind| {
        // the weight as little-endian bytes at an odd offset (an F32 tensor in a mapped file)
        let mut w = vec![0u8; 1];
        w.extend(b.iter().flat_map(|v| v.to_le_bytes()));
        let eps = [1e-6, 1e-5, 0.0][kind % 3];
        let mut out = vec![f32::NAN; n];
        k.rms_norm(a, &w[1..], eps, &mut out).unwrap();
        out
    });
}

#[test]
fn add_and_axpy_are_the_reference() {
    for_every_case("add_axpy", |k, a, b, _, kind| {
        let mut x = a.to_vec();
        k.add(&mut x, b).unwrap();
        let mut y = a.to_vec();
        k.axpy(&mut y, SPECIALS[kind * 3 % 20] + 0.375, b).unwrap();
        // a bias tensor in place: little-endian bytes at an odd offset
        let mut bias = vec![0u8; 3];
        bias.extend(b.iter().flat_map(|v| v.to_le_bytes()));
        let mut z = a.to_vec();
        k.add_bias(&mut z, &bias[3..]).unwrap();
        assert_same_rows("add_bias = add", &z, &x);
        x.extend(y);
        x
    });
}

#[test]
fn f16_rows_are_the_reference() {
    for_every_case("f16_rows", |k, a, _, n, _| {
        let mut h = vec![0xAAu8; 2 * n];
        k.f32_to_f16_row(a, &mut h).unwrap();
        let mut back = vec![f32::NAN; n];
        k.f16_to_f32_row(&h, &mut back).unwrap();
        // the bytes themselves, as floats, so that NaN payloads of f16 are compared exactly
        let mut out: Vec<f32> = h.iter().map(|&b| b as f32).collect();
        out.extend(back);
        out
    });
}

#[test]
fn q8_0_rows_are_the_reference() {
    let scalar = Kernels::scalar();
    let backends = simd_backends();
    let mut rng = TestRng::new(3);
    for nb in 0..=MAX_LEN / 32 {
        for sane in [true, false] {
            // every byte random (scales: zero, subnormal, NaN, Inf…), or moderate scales
            let x = if sane {
                random_weights_sane(&mut rng, bague_kernels::GgmlType::Q8_0, 32 * nb)
            } else {
                let mut b = vec![0u8; 34 * nb];
                rng.bytes(&mut b);
                b
            };
            let mut want = vec![0f32; 32 * nb];
            scalar.dequantize_q8_0_row(&x, &mut want).unwrap();
            let mut row = vec![0f32; 32 * nb];
            Kernels::dequantize_row(bague_kernels::GgmlType::Q8_0, &x, &mut row).unwrap();
            assert_same_rows(&format!("q8_0 {nb} blocks: dequantize_row"), &row, &want);
            for k in &backends {
                let mut got = vec![f32::NAN; 32 * nb];
                k.dequantize_q8_0_row(&x, &mut got).unwrap();
                assert_same_rows(&format!("q8_0 {nb} blocks on {}", k.name()), &got, &want);
            }
        }
    }
}

/// The fused weighted sum of Q8_0 value rows has, on every back end, the bits of
/// dequantizing each row and `axpy`-ing it into zeros in row order (what attention over a
/// Q8_0 cache did before), for head sizes of 1–4 blocks, rows further apart than a head
/// (one KV head of several) and a slice ending mid-stride; bad strides are errors.
#[test]
fn weighted_sum_q8_0_is_dequantize_then_axpy() {
    let mut rng = TestRng::new(9);
    for nb in 1..=4 {
        for (stride_blocks, n_rows) in [(nb, 1usize), (nb, 7), (3 * nb, 40), (2 * nb + 1, 129)] {
            let stride = 34 * stride_blocks;
            let len = (n_rows - 1) * stride + 34 * nb;
            let rows = random_weights_sane(
                &mut rng,
                bague_kernels::GgmlType::Q8_0,
                len.div_ceil(34) * 32,
            );
            let rows = &rows[..len];
            let p: Vec<f32> = (0..n_rows).map(|_| rng.unit()).collect();
            let scalar = Kernels::scalar();
            let mut want = vec![0f32; 32 * nb];
            let mut v = vec![0f32; 32 * nb];
            for (j, &pj) in p.iter().enumerate() {
                scalar
                    .dequantize_q8_0_row(&rows[j * stride..j * stride + 34 * nb], &mut v)
                    .unwrap();
                scalar.axpy(&mut want, pj, &v).unwrap();
            }
            for k in Kernels::available() {
                let mut got = vec![f32::NAN; 32 * nb];
                k.weighted_sum_q8_0(&mut got, &p, rows, stride).unwrap();
                assert_same_rows(
                    &format!(
                        "{nb} blocks, {n_rows} rows {stride} B apart on {}",
                        k.name()
                    ),
                    &got,
                    &want,
                );
            }
        }
    }
    let k = Kernels::detect();
    let mut y = vec![0f32; 64];
    let rows = vec![0u8; 34 * 2 * 3];
    assert!(k.weighted_sum_q8_0(&mut y, &[1.0; 3], &rows, 34).is_err());
    assert!(
        k.weighted_sum_q8_0(&mut y, &[1.0; 3], &rows, 35 * 2)
            .is_err()
    );
    assert!(k.weighted_sum_q8_0(&mut y, &[1.0; 4], &rows, 68).is_err());
    assert!(
        k.weighted_sum_q8_0(&mut y[..63], &[1.0; 3], &rows, 68)
            .is_err()
    );
    assert!(k.weighted_sum_q8_0(&mut y, &[1.0; 3], &rows, 68).is_ok());
}

// ---------------------------------------------------------------------------------------
// The references against independent computations
// ---------------------------------------------------------------------------------------

#[test]
fn reference_softmax_is_the_f64_softmax() {
    let k = Kernels::scalar();
    let mut rng = TestRng::new(21);
    for n in 1..300 {
        let x = inputs(&mut rng, n, 1);
        let scale = 0.125f32;
        let mut p = x.clone();
        k.softmax_masked(&mut p, scale, n.next_multiple_of(256));
        let s: Vec<f64> = x.iter().map(|&v| (v * scale) as f64).collect();
        let max = s.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        let sum: f64 = s.iter().map(|v| (v - max).exp()).sum();
        for (i, (&got, &v)) in p.iter().zip(&s).enumerate() {
            let want = (v - max).exp() / sum;
            // ggml's exp is within ~1.5 ulp; the sum and the scaling add a few more
            assert!(
                (got as f64 - want).abs() <= 1e-6 * want + 1e-38,
                "n {n} [{i}]: {got} vs {want}"
            );
        }
    }
}

#[test]
fn reference_swiglu_rms_norm_and_dots_are_close_to_f64() {
    let k = Kernels::scalar();
    let mut rng = TestRng::new(22);
    for n in 1..300 {
        let (g, u) = (inputs(&mut rng, n, 1), inputs(&mut rng, n, 0));
        let mut out = vec![0f32; n];
        k.swiglu(&g, &u, &mut out).unwrap();
        for i in 0..n {
            let (gi, ui) = (g[i] as f64, u[i] as f64);
            let want = gi / (1.0 + (-gi).exp()) * ui;
            assert!(
                (out[i] as f64 - want).abs() <= 1e-6 * want.abs() + 1e-30,
                "swiglu n {n} [{i}]: {} vs {want}",
                out[i]
            );
        }

        let w: Vec<u8> = u.iter().flat_map(|v| v.to_le_bytes()).collect();
        k.rms_norm(&g, &w, 1e-6, &mut out).unwrap();
        let ms = g.iter().map(|&v| v as f64 * v as f64).sum::<f64>() / n as f64;
        let inv = 1.0 / (ms + 1e-6).sqrt();
        for i in 0..n {
            let want = g[i] as f64 * inv * u[i] as f64;
            assert!(
                (out[i] as f64 - want).abs() <= 1e-6 * want.abs() + 1e-30,
                "rms_norm n {n} [{i}]: {} vs {want}",
                out[i]
            );
        }

        let (x, y) = (f16_row(&g), f16_row(&u));
        let exact: f64 = x
            .iter()
            .zip(&y)
            .map(|(a, b)| a.get() as f64 * b.get() as f64)
            .sum();
        let mag: f64 = x
            .iter()
            .zip(&y)
            .map(|(a, b)| (a.get() as f64 * b.get() as f64).abs())
            .sum();
        for order in [F16DotOrder::VecDot, F16DotOrder::TinyBlas] {
            let d = k.dot_f16(order, &x, &y).unwrap() as f64;
            assert!(
                (d - exact).abs() <= REL_TOL * mag + 1e-30,
                "{order:?} n {n}: {d} vs {exact}"
            );
        }
    }
}

#[test]
fn wrong_lengths_are_errors() {
    let k = Kernels::detect();
    let (a, mut b) = ([1f32; 8], [0f32; 8]);
    let h = [F16([0; 2]); 8];
    let len = |r: Result<(), KernelError>, what: &str| {
        assert!(
            matches!(r, Err(KernelError::Length { what: w, .. }) if w == what),
            "{what}: {r:?}"
        )
    };
    len(k.swiglu(&a, &a[..7], &mut b), "up");
    len(k.swiglu(&a, &a, &mut b[..7]), "out");
    len(k.rms_norm(&a, &[0u8; 31], 1e-6, &mut b), "weight");
    len(k.rms_norm(&a, &[0u8; 32], 1e-6, &mut b[..7]), "out");
    len(k.add(&mut b, &a[..7]), "y");
    len(k.add_bias(&mut b, &[0u8; 31]), "bias");
    len(k.axpy(&mut b, 2.0, &a[..7]), "x");
    len(k.f32_to_f16_row(&a, &mut [0u8; 15]), "out");
    len(k.f16_to_f32_row(&[0u8; 15], &mut b), "x");
    len(k.dequantize_q8_0_row(&[0u8; 33], &mut [0f32; 32]), "x");
    assert!(matches!(
        k.dequantize_q8_0_row(&[0u8; 34], &mut [0f32; 31]),
        Err(KernelError::NotBlockMultiple { .. })
    ));
    assert!(k.dot_f16(F16DotOrder::VecDot, &h, &h[..7]).is_err());
    let o = F16DotOrder::TinyBlas;
    len(k.matvec_f16(o, &h, 4, 4, &h[..3], &mut b[..2]), "x");
    len(
        k.matvec_f16(o, &h, 4, 3, &h[..4], &mut b[..2]),
        "row_stride",
    );
    // rows at 0 and 5 need 9 values
    len(k.matvec_f16(o, &h, 4, 5, &h[..4], &mut b[..2]), "w");
    assert!(k.matvec_f16(o, &h, 4, 4, &h[..4], &mut b[..2]).is_ok());
    assert!(matches!(
        k.matvec_f16(o, &h, 1, usize::MAX, &h[..1], &mut b[..3]),
        Err(KernelError::Overflow)
    ));
    // nothing to compute: no error whatever the stride
    assert!(k.matvec_f16(o, &h, 4, 0, &h[..4], &mut []).is_ok());
    assert!(k.swiglu(&[], &[], &mut []).is_ok());
    k.softmax_masked(&mut [], 1.0, 0);
}

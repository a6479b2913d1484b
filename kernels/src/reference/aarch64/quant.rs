//! ggml's aarch64 NEON Q8_0 / Q8_1 activation quantizers, its Q8_K quantizer as gcc compiles
//! it for aarch64 ([`quantize_q8_k`]) and the `vec_dot` of the 32-element formats
//! (`arch/arm/quants.c`, `ggml-quants.c`, `repack.cpp`).
//!
//! Quantizer: `amax` by a `vmaxq_f32` tree, `d = amax / 127`, `id = d != 0 ? 1 / d : 0`,
//! `q = vcvtnq_s32_f32(x * id)` (ties to even, saturating), stored as i8. (x86 uses
//! `id = 127 / amax`; the two differ in rare last-bit cases.)
//!
//! Dot products (Q4_0, Q4_1, Q5_0, Q8_0 against Q8_0 / Q8_1): blocks in pairs, two f32
//! accumulators of four lanes (even blocks, odd blocks); per block the i32 lanes of the two
//! signed-byte dot products ([`Lanes`]) are converted, multiplied by `d_w * d_a` and added
//! (not fused); then `vaddv(acc0) + vaddv(acc1)`, and an odd last block in the scalar form of
//! each format (fused as gcc contracts it).

use super::{Lanes, vaddv};
use crate::block::*;
use crate::math::fma;

/// ARM `fmax` (NaN wins).
#[inline(always)]
fn fmax(a: f32, b: f32) -> f32 {
    if a.is_nan() || b.is_nan() {
        f32::NAN
    } else if a > b || (a == b && b.to_bits() == 0x8000_0000) {
        a
    } else {
        b
    }
}

/// `vcvtnq_s32_f32` then the C store to `int8_t` (wrapping): ties to even, saturating to
/// i32, NaN to 0.
#[inline(always)]
fn cvtn_i8(v: f32) -> i8 {
    let r = if v.is_nan() {
        0
    } else {
        let t = crate::math::round_ties_even(v);
        if t >= 2_147_483_647.0 {
            i32::MAX
        } else if t <= -2_147_483_648.0 {
            i32::MIN
        } else {
            t as i32
        }
    };
    r as i8
}

/// `d` and the 32 quants of one block (`x`: 32 values).
pub(crate) fn q8_block(x: &[f32]) -> (f32, [i8; 32]) {
    let a: [f32; 32] = core::array::from_fn(|i| x[i].abs());
    // vectors v[j] = a[4j..4j+4]; tree: (0,1) (2,3) (4,5) (6,7), then (0,2) (4,6), then (0,4)
    let v = |j: usize, l: usize| a[4 * j + l];
    let m: [f32; 4] = core::array::from_fn(|l| {
        let p = [
            fmax(v(0, l), v(1, l)),
            fmax(v(2, l), v(3, l)),
            fmax(v(4, l), v(5, l)),
            fmax(v(6, l), v(7, l)),
        ];
        fmax(fmax(p[0], p[1]), fmax(p[2], p[3]))
    });
    // vmaxvq_f32: pairwise
    let amax = fmax(fmax(m[0], m[1]), fmax(m[2], m[3]));
    let d = amax / 127.0;
    let id = if d != 0.0 { 1.0 / d } else { 0.0 };
    (d, core::array::from_fn(|i| cvtn_i8(x[i] * id)))
}

/// Q8_0 activations as ggml's aarch64 `quantize_row_q8_0`.
pub(crate) fn quantize_q8_0(x: &[f32], out: &mut [BlockQ8_0]) {
    for (xb, y) in x.chunks_exact(32).zip(out.iter_mut()) {
        let (d, q) = q8_block(xb);
        y.d = f32_to_f16(d);
        y.qs = q;
    }
}

/// Q8_1 activations as ggml's aarch64 `quantize_row_q8_1`: `s = f16(d * Σ q)` (the i32 sum
/// of the quants before the i8 store, as `vaddvq_s32`).
pub(crate) fn quantize_q8_1(x: &[f32], out: &mut [BlockQ8_1]) {
    for (xb, y) in x.chunks_exact(32).zip(out.iter_mut()) {
        let (d, q) = q8_block(xb);
        y.d = f32_to_f16(d);
        y.qs = q;
        let s: i32 = q.iter().map(|&v| v as i32).sum();
        y.s = f32_to_f16(d * s as f32);
    }
}

/// The four i32 lanes of one 32-element block: `w[k]·a[k] + w[16+k]·a[16+k]` into lane
/// `lanes.of(k)`.
#[inline(always)]
fn lanes32(lanes: Lanes, w: &[i32; 32], a: &[i8; 32]) -> [i32; 4] {
    let mut l = [0i32; 4];
    for k in 0..16 {
        l[lanes.of(k)] += w[k] * a[k] as i32 + w[16 + k] * a[16 + k] as i32;
    }
    l
}

/// The paired-accumulator loop: `block(i)` gives block `i`'s weights (as i32, element order),
/// activation quants and `d_w * d_a`; `tail(i, sumf)` adds an odd last block.
#[inline(always)]
fn pairs(
    lanes: Lanes,
    nb: usize,
    block: impl Fn(usize) -> ([i32; 32], [i8; 32], f32),
    tail: impl Fn(usize, f32) -> f32,
) -> f32 {
    let mut acc = [[0f32; 4]; 2];
    let mut ib = 0;
    while ib + 1 < nb {
        for (h, acc) in acc.iter_mut().enumerate() {
            let (w, a, d) = block(ib + h);
            let l = lanes32(lanes, &w, &a);
            for j in 0..4 {
                acc[j] += l[j] as f32 * d;
            }
        }
        ib += 2;
    }
    let mut sumf = vaddv(acc[0]) + vaddv(acc[1]);
    for i in ib..nb {
        sumf = tail(i, sumf);
    }
    sumf
}

fn sumi(w: &[i32; 32], a: &[i8; 32]) -> i32 {
    w.iter().zip(a).map(|(&w, &a)| w * a as i32).sum()
}

fn q4_0_w(x: &BlockQ4_0) -> [i32; 32] {
    let q = unpack_nibbles_32(&x.qs);
    core::array::from_fn(|i| q[i] as i32 - 8)
}

/// Q4_0 · Q8_0.
pub(crate) fn vec_dot_q4_0(lanes: Lanes, w: &[BlockQ4_0], a: &[BlockQ8_0]) -> f32 {
    let nb = w.len().min(a.len());
    pairs(
        lanes,
        nb,
        |i| (q4_0_w(&w[i]), a[i].qs, w[i].d() * a[i].d()),
        // sumf += sumi * d_x * d_y
        |i, s| {
            fma(
                sumi(&q4_0_w(&w[i]), &a[i].qs) as f32 * w[i].d(),
                a[i].d(),
                s,
            )
        },
    )
}

/// Q4_1 · Q8_1: the `m · s` terms in a separate scalar sum, two blocks at a time
/// (`summs += fma(m0, s0, m1 * s1)`), added last.
pub(crate) fn vec_dot_q4_1(lanes: Lanes, w: &[BlockQ4_1], a: &[BlockQ8_1]) -> f32 {
    let nb = w.len().min(a.len());
    let q = |x: &BlockQ4_1| {
        let q = unpack_nibbles_32(&x.qs);
        core::array::from_fn::<i32, 32, _>(|i| q[i] as i32)
    };
    let mut summs = 0f32;
    let mut ib = 0;
    while ib + 1 < nb {
        summs += fma(w[ib].m(), a[ib].s(), w[ib + 1].m() * a[ib + 1].s());
        ib += 2;
    }
    let body = pairs(
        lanes,
        ib,
        |i| (q(&w[i]), a[i].qs, w[i].d() * a[i].d()),
        |_, s| s,
    );
    let mut sumf = body + summs;
    for i in ib..nb {
        let t = fma(
            w[i].d() * a[i].d(),
            sumi(&q(&w[i]), &a[i].qs) as f32,
            w[i].m() * a[i].s(),
        );
        sumf += t;
    }
    sumf
}

/// Q5_0 · Q8_0.
pub(crate) fn vec_dot_q5_0(lanes: Lanes, w: &[BlockQ5_0], a: &[BlockQ8_0]) -> f32 {
    let nb = w.len().min(a.len());
    let q = |x: &BlockQ5_0| {
        let q = x.quants();
        core::array::from_fn::<i32, 32, _>(|i| q[i] as i32 - 16)
    };
    pairs(
        lanes,
        nb,
        |i| (q(&w[i]), a[i].qs, w[i].d() * a[i].d()),
        |i, s| fma(w[i].d() * a[i].d(), sumi(&q(&w[i]), &a[i].qs) as f32, s),
    )
}

/// Q8_0 · Q8_0.
pub(crate) fn vec_dot_q8_0(lanes: Lanes, w: &[BlockQ8_0], a: &[BlockQ8_0]) -> f32 {
    let nb = w.len().min(a.len());
    let q = |x: &BlockQ8_0| core::array::from_fn::<i32, 32, _>(|i| x.qs[i] as i32);
    pairs(
        lanes,
        nb,
        |i| (q(&w[i]), a[i].qs, w[i].d() * a[i].d()),
        |i, s| fma(sumi(&q(&w[i]), &a[i].qs) as f32, w[i].d() * a[i].d(), s),
    )
}

/// ggml's `quantize_row_q8_K_ref` as gcc 12 compiles it for aarch64, which is also what the
/// generic 4-row `ggml_quantize_mat_q8_K_4x4` (the repacked Q4_K / Q6_K gemm's activations)
/// compiles to: `nearest_int(iscale * x)` adds `1.5·2²³` to the product, and gcc contracts
/// the two into one fused multiply-add, so a product within half an ulp of a tie rounds by
/// its exact value (x86 rounds the product first: `block::q8_k::quantize_row_q8_k`). The
/// rest is the reference's: the first value of largest magnitude sets `iscale = -127 / max`,
/// quants are capped at 127, `bsums` per 16, `d = 1 / iscale`, an all-zero block is zero.
pub(crate) fn quantize_q8_k(x: &[f32], out: &mut [BlockQ8K]) {
    use bytemuck::Zeroable;
    for (xb, y) in x.chunks_exact(QK_K).zip(out.iter_mut()) {
        let (mut max, mut amax) = (0.0f32, 0.0f32);
        for &v in xb {
            if v.abs() > amax {
                amax = v.abs();
                max = v;
            }
        }
        if amax == 0.0 {
            *y = BlockQ8K::zeroed();
            continue;
        }
        let iscale = -127.0 / max;
        for (q, &v) in y.qs.iter_mut().zip(xb) {
            let t = fma(v, iscale, 12_582_912.0);
            let i = (t.to_bits() as i32 & 0x007f_ffff) - 0x0040_0000;
            *q = i.min(127) as i8;
        }
        for (g, s) in y.bsums.iter_mut().enumerate() {
            let sum: i32 = y.qs[16 * g..16 * g + 16].iter().map(|&q| q as i32).sum();
            *s = (sum as i16).to_le_bytes();
        }
        y.d = (1.0 / iscale).to_le_bytes();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytemuck::Zeroable;

    /// A value whose product with `iscale` rounds (in f32) to a tie `k + 0.5` while its exact
    /// value lies above it: the fused form rounds up, the x86 form to even.
    #[test]
    fn q8_k_rounds_the_exact_product() {
        let max = -3.0f32;
        let iscale = -127.0 / max;
        let mut found = None;
        'k: for k in 1..120 {
            let tie = k as f32 + 0.5;
            let mut x = f32::from_bits((tie / iscale).to_bits() - 4);
            for _ in 0..9 {
                if x * iscale == tie && x as f64 * iscale as f64 > tie as f64 {
                    found = Some((x, k as i8));
                    break 'k;
                }
                x = f32::from_bits(x.to_bits() + 1);
            }
        }
        let (x0, k) = found.expect("a product that rounds to a tie from above");
        let mut row = [0f32; QK_K];
        row[0] = max;
        row[1] = x0;
        let mut b = [BlockQ8K::zeroed()];
        quantize_q8_k(&row, &mut b);
        assert_eq!(b[0].qs[0], -127);
        assert_eq!(b[0].qs[1], k + 1, "fused: k + 0.5 + ε rounds up");
        let mut r = [BlockQ8K::zeroed()];
        crate::block::q8_k::quantize_row_q8_k(&row, &mut r);
        assert_eq!(
            r[0].qs[1],
            k + (k & 1),
            "the x86 form rounds the tie to even"
        );
        assert_eq!(b[0].bsums, {
            let mut s = r[0].bsums;
            s[0] = (i16::from_le_bytes(s[0]) + (1 - (k & 1)) as i16).to_le_bytes();
            s
        });
    }
}

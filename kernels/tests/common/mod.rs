//! Shared helpers of the kernel test battery: a deterministic RNG, random blocks, real
//! activations, and the tolerance rule used to compare an implementation with the scalar
//! reference.
//!
//! Tolerance (documented in the crate docs): integer parts are exact, so a SIMD result may
//! differ from the reference only by f32 rounding of per-block terms. We accept
//! `|simd - ref| <= 2e-5 * mag`, where `mag` is the sum of the absolute values of the terms
//! (`Σ |w_i a_i|` over dequantized values, with scale and min parts counted separately).
//! If the reference is not finite (NaN / Inf scales), the result must not be finite either.
#![allow(dead_code)]

use bague_kernels::block::*;
use bague_kernels::{GgmlType, Kernels};
use bytemuck::Zeroable;

pub const REL_TOL: f64 = 2e-5;

/// xorshift64*: deterministic, no dependency.
pub struct TestRng(pub u64);

impl TestRng {
    pub fn new(seed: u64) -> Self {
        TestRng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    pub fn bytes(&mut self, out: &mut [u8]) {
        for b in out.iter_mut() {
            *b = self.next_u64() as u8;
        }
    }
    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 / (1u64 << 24) as f32
    }
    /// Roughly normal (sum of 4 uniforms, variance 1/3).
    pub fn normal(&mut self) -> f32 {
        (0..4).map(|_| self.unit()).sum::<f32>() - 2.0
    }
    /// Roughly normal (sum of uniforms), with rare outliers ×20, like LLM activations.
    pub fn activation(&mut self) -> f32 {
        let s: f32 = (0..4).map(|_| self.unit()).sum::<f32>() - 2.0;
        if self.next_u64() % 97 == 0 {
            s * 20.0
        } else {
            s
        }
    }
    pub fn activations(&mut self, n: usize) -> Vec<f32> {
        (0..n).map(|_| self.activation()).collect()
    }
}

/// The SIMD back ends of this host, for "SIMD vs reference" comparisons: the scalar back end
/// runs the references themselves, so comparing it with them would test nothing. Fails the
/// test on an x86-64 host without AVX2 (every x86 CI host has it) and on an AArch64 host
/// without NEON, where the SIMD path would otherwise go untested in silence. Targets without a
/// SIMD back end get an empty list.
pub fn simd_backends() -> Vec<Kernels> {
    let v: Vec<Kernels> = Kernels::available()
        .filter(|k| k.name() != "scalar")
        .collect();
    #[cfg(target_arch = "x86_64")]
    assert!(
        v.iter().any(|k| k.name() == "avx2"),
        "this x86-64 CPU has no AVX2 + FMA + F16C: the AVX2 back end cannot be tested here"
    );
    #[cfg(target_arch = "aarch64")]
    assert!(
        v.iter().any(|k| k.name() == "neon"),
        "this AArch64 CPU has no NEON: the NEON back ends cannot be tested here"
    );
    v
}

/// The scalar reference through the typed trait, on byte slices.
pub fn vec_dot_ref(wt: GgmlType, w: &[u8], a: &[u8]) -> f32 {
    macro_rules! r {
        ($W:ty) => {
            <$W>::vec_dot_ref(bytemuck::cast_slice(w), bytemuck::cast_slice(a))
        };
    }
    match wt {
        GgmlType::Q4_0 => r!(BlockQ4_0),
        GgmlType::Q4_1 => r!(BlockQ4_1),
        GgmlType::Q5_0 => r!(BlockQ5_0),
        GgmlType::Q5_1 => r!(BlockQ5_1),
        GgmlType::Q8_0 => r!(BlockQ8_0),
        GgmlType::IQ4_NL => r!(BlockIq4Nl),
        GgmlType::Q2_K => r!(BlockQ2K),
        GgmlType::Q3_K => r!(BlockQ3K),
        GgmlType::Q4_K => r!(BlockQ4K),
        GgmlType::Q5_K => r!(BlockQ5K),
        GgmlType::Q6_K => r!(BlockQ6K),
        GgmlType::F32 => r!(F32),
        GgmlType::F16 => r!(F16),
        GgmlType::BF16 => r!(BF16),
        t => panic!("no reference for {t}"),
    }
}

fn dequant(ty: GgmlType, b: &[u8]) -> Vec<f32> {
    let n = b.len() / ty.block_bytes() * ty.block_size();
    let mut out = vec![0f32; n];
    Kernels::dequantize_row(ty, b, &mut out).unwrap();
    out
}

fn abs_dot(w: &[f32], a: &[f32]) -> f64 {
    w.iter()
        .zip(a)
        .map(|(x, y)| (*x as f64 * *y as f64).abs())
        .sum()
}

/// Copy of `w` with a 2-byte field at offset `off` of every block set to `v`.
fn with_field(ty: GgmlType, w: &[u8], off: usize, v: [u8; 2]) -> Vec<u8> {
    let mut c = w.to_vec();
    for blk in c.chunks_exact_mut(ty.block_bytes()) {
        blk[off..off + 2].copy_from_slice(&v);
    }
    c
}

/// `mag` of the module docs for weights `w` against activations `a`.
pub fn magnitude(wt: GgmlType, w: &[u8], a: &[u8]) -> f64 {
    let at = Kernels::vec_dot_type(wt);
    let av = dequant(at, a);
    let zero = [0u8; 2];
    match wt {
        // x = d q + m: scale part and min part separately
        GgmlType::Q4_1 | GgmlType::Q5_1 => {
            let scale_part = dequant(wt, &with_field(wt, w, 2, zero));
            let mut m = abs_dot(&scale_part, &av);
            let ws: &[u8] = w;
            let act: &[BlockQ8_1] = bytemuck::cast_slice(a);
            for (blk, y) in ws.chunks_exact(wt.block_bytes()).zip(act) {
                let mm = half::f16::from_le_bytes([blk[2], blk[3]]).to_f32();
                m += (mm as f64 * y.s() as f64).abs();
            }
            m
        }
        // x = d sc q - dmin m: d/dmin at byte offsets (Q4_K/Q5_K: 0/2, Q2_K: 80/82)
        GgmlType::Q4_K | GgmlType::Q5_K | GgmlType::Q2_K => {
            let (od, om) = if wt == GgmlType::Q2_K {
                (80, 82)
            } else {
                (0, 2)
            };
            let sp = dequant(wt, &with_field(wt, w, om, zero));
            let mp = dequant(wt, &with_field(wt, w, od, zero));
            abs_dot(&sp, &av) + abs_dot(&mp, &av)
        }
        _ => abs_dot(&dequant(wt, w), &av),
    }
}

/// Assert `got` agrees with `want` under the tolerance rule.
pub fn assert_close(what: &str, got: f32, want: f32, mag: f64) {
    if !want.is_finite() {
        assert!(
            !got.is_finite(),
            "{what}: reference {want} not finite, got {got}"
        );
        return;
    }
    if !mag.is_finite() {
        return; // a NaN/Inf scale whose terms cancelled in the reference order
    }
    let err = (got as f64 - want as f64).abs();
    assert!(
        err <= REL_TOL * mag + 1e-30,
        "{what}: got {got}, reference {want}, |err| {err:e} > {REL_TOL:e} * {mag:e}"
    );
}

/// Weight formats with a dot product, and whether random bytes are valid for them.
pub const WEIGHT_TYPES: [GgmlType; 14] = [
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
    GgmlType::F32,
    GgmlType::F16,
    GgmlType::BF16,
];

/// Random weight bytes for `n` elements: every byte random (so f16 scales cover zero,
/// subnormals, NaN and Inf), except where a format needs a precondition: Q8_0 quants avoid
/// -128 (SIMD sign trick), F32 values are finite activations-like numbers.
pub fn random_weights(rng: &mut TestRng, wt: GgmlType, n: usize) -> Vec<u8> {
    let bytes = wt.row_bytes(n as u64).unwrap() as usize;
    match wt {
        GgmlType::F32 => rng
            .activations(n)
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect(),
        _ => {
            let mut w = vec![0u8; bytes];
            rng.bytes(&mut w);
            if wt == GgmlType::Q8_0 {
                for blk in w.chunks_exact_mut(34) {
                    for q in &mut blk[2..] {
                        if *q == 0x80 {
                            *q = 0x81;
                        }
                    }
                }
            }
            w
        }
    }
}

/// Random weights with "normal" scales: f16 scale fields replaced by finite values of
/// moderate size (the common case, where the tolerance matters most).
pub fn random_weights_sane(rng: &mut TestRng, wt: GgmlType, n: usize) -> Vec<u8> {
    let mut w = random_weights(rng, wt, n);
    let fields: &[usize] = match wt {
        GgmlType::Q4_0 | GgmlType::Q5_0 | GgmlType::Q8_0 | GgmlType::IQ4_NL => &[0],
        GgmlType::Q4_1 | GgmlType::Q5_1 | GgmlType::Q4_K | GgmlType::Q5_K => &[0, 2],
        GgmlType::Q2_K => &[80, 82],
        GgmlType::Q3_K => &[108],
        GgmlType::Q6_K => &[208],
        GgmlType::F16 | GgmlType::BF16 => {
            let conv = |v: f32| -> [u8; 2] {
                if wt == GgmlType::F16 {
                    half::f16::from_f32(v).to_le_bytes()
                } else {
                    half::bf16::from_f32(v).to_le_bytes()
                }
            };
            for e in w.chunks_exact_mut(2) {
                e.copy_from_slice(&conv(rng.activation()));
            }
            return w;
        }
        _ => &[],
    };
    let bb = wt.block_bytes();
    for blk in w.chunks_exact_mut(bb) {
        for &f in fields {
            let v = (rng.unit() * 2.0 - 1.0) * 0.05;
            blk[f..f + 2].copy_from_slice(&half::f16::from_f32(v).to_le_bytes());
        }
    }
    w
}

/// Activations for `wt`'s dot product: quantized (by `k`) from random f32 values.
pub fn quantized_activations(
    k: &Kernels,
    rng: &mut TestRng,
    wt: GgmlType,
    n: usize,
) -> (Vec<f32>, Vec<u8>) {
    let at = Kernels::vec_dot_type(wt);
    let x = rng.activations(n);
    let mut a = vec![0u8; at.row_bytes(n as u64).unwrap() as usize];
    k.quantize_activation(at, &x, &mut a).unwrap();
    (x, a)
}

/// Random Q8 activation blocks with consistent sums (`s`, `bsums`) and quants in
/// -127..=127 (the quantizers' range): exercises quants the quantizers rarely produce.
pub fn random_activation_blocks(rng: &mut TestRng, at: GgmlType, n: usize) -> Vec<u8> {
    match at {
        GgmlType::Q8_0 => {
            let mut v = vec![BlockQ8_0::zeroed(); n / 32];
            for b in &mut v {
                b.d = half::f16::from_f32(rng.unit() * 0.1).to_le_bytes();
                for q in &mut b.qs {
                    *q = ((rng.next_u64() % 255) as i32 - 127) as i8;
                }
            }
            bytemuck::cast_slice(&v).to_vec()
        }
        GgmlType::Q8_1 => {
            let mut v = vec![BlockQ8_1::zeroed(); n / 32];
            for b in &mut v {
                let d = rng.unit() * 0.1;
                b.d = half::f16::from_f32(d).to_le_bytes();
                let mut s = 0i32;
                for q in &mut b.qs {
                    *q = ((rng.next_u64() % 255) as i32 - 127) as i8;
                    s += *q as i32;
                }
                b.s = half::f16::from_f32(half::f16::from_le_bytes(b.d).to_f32() * s as f32)
                    .to_le_bytes();
            }
            bytemuck::cast_slice(&v).to_vec()
        }
        GgmlType::Q8_K => {
            let mut v = vec![BlockQ8K::zeroed(); n / 256];
            for b in &mut v {
                b.d = (rng.unit() * 0.01).to_le_bytes();
                for q in &mut b.qs {
                    *q = ((rng.next_u64() % 255) as i32 - 127) as i8;
                }
                for g in 0..16 {
                    let s: i32 = b.qs[16 * g..16 * g + 16].iter().map(|&q| q as i32).sum();
                    b.bsums[g] = (s as i16).to_le_bytes();
                }
            }
            bytemuck::cast_slice(&v).to_vec()
        }
        other => random_weights_sane(rng, other, n),
    }
}

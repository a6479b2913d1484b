//! Shared helpers of the differential tests: a seeded RNG, random blocks with sane scales,
//! activation rows of several shapes, and the model files whose tensor rows tests read.
#![allow(dead_code)]

pub mod gguf;

use bague_kernels::GgmlType;

/// SplitMix64: small, seeded, reproducible (the seed is printed by failing tests).
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }
    pub fn u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in [0, n).
    pub fn below(&mut self, n: u64) -> u64 {
        self.u64() % n
    }
    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f32 {
        (self.u64() >> 40) as f32 / (1u64 << 24) as f32
    }
    /// Standard normal (Box-Muller).
    pub fn normal(&mut self) -> f32 {
        let u1 = self.unit().max(1e-7);
        let u2 = self.unit();
        (-2.0 * u1.ln()).sqrt() * (core::f32::consts::TAU * u2).cos()
    }
    pub fn bytes(&mut self, out: &mut [u8]) {
        for b in out {
            *b = self.u64() as u8;
        }
    }
}

/// A finite f16 bit pattern of a plausible scale: mostly 2^-14..2^2 with either sign, some
/// zeros, subnormals and large values (edge cases of the f16 → f32 conversion).
pub fn sane_f16(rng: &mut Rng) -> [u8; 2] {
    let sign = (rng.below(2) as u16) << 15;
    let mant = rng.below(1024) as u16;
    let bits = match rng.below(100) {
        0..=2 => sign,                                              // ±0
        3..=6 => sign | mant.max(1),                                // subnormal
        7..=8 => sign | ((18 + rng.below(12) as u16) << 10) | mant, // 8 .. 65504
        _ => sign | ((1 + rng.below(17) as u16) << 10) | mant,      // 2^-14 .. 2^2
    };
    bits.to_le_bytes()
}

/// Byte offsets of the f16 (2-byte) and f32 (4-byte) scale fields inside one block of `ty`,
/// from ggml-common.h's block layouts. Every other byte is a quant and may be anything.
fn scale_fields(ty: GgmlType) -> (&'static [usize], &'static [usize]) {
    use GgmlType::*;
    match ty {
        Q4_0 | Q5_0 | Q8_0 | IQ4_NL => (&[0], &[]),
        Q4_1 | Q5_1 | Q8_1 | Q4_K | Q5_K => (&[0, 2], &[]),
        Q2_K => (&[80, 82], &[]),
        Q3_K => (&[108], &[]),
        Q6_K => (&[208], &[]),
        Q8_K => (&[], &[0]),
        IQ4_XS => (&[0], &[]),
        _ => (&[], &[]),
    }
}

/// `n_blocks` random blocks of `ty` (for F16 / BF16 / F32: `n_blocks` random finite values).
pub fn random_blocks(ty: GgmlType, n_blocks: usize, rng: &mut Rng) -> Vec<u8> {
    let bb = ty.block_bytes();
    let mut out = vec![0u8; bb * n_blocks];
    rng.bytes(&mut out);
    let (f16s, f32s) = scale_fields(ty);
    for blk in out.chunks_exact_mut(bb) {
        match ty {
            GgmlType::F16 => blk.copy_from_slice(&sane_f16(rng)),
            // bf16: top half of an f32 of moderate magnitude.
            GgmlType::BF16 => {
                blk.copy_from_slice(&((rng.normal() * 4.0).to_bits() >> 16).to_le_bytes()[..2])
            }
            GgmlType::F32 => blk.copy_from_slice(&(rng.normal() * 4.0).to_le_bytes()),
            _ => {
                for &o in f16s {
                    blk[o..o + 2].copy_from_slice(&sane_f16(rng));
                }
                for &o in f32s {
                    let d = (rng.unit() + 0.01) * 0.05 * if rng.below(2) == 0 { 1.0 } else { -1.0 };
                    blk[o..o + 4].copy_from_slice(&d.to_le_bytes());
                }
            }
        }
    }
    out
}

/// Activation-like rows of `n` values in several shapes: normal, uniform, with outliers,
/// heavy-tailed, tiny values, all zero, constant, and crafted ties (values k + 0.5 after
/// scaling by 127 / amax, where round-half-even and round-half-away differ).
pub fn activation_rows(n: usize, rng: &mut Rng) -> Vec<(&'static str, Vec<f32>)> {
    let mut rows = Vec::new();
    rows.push(("normal", (0..n).map(|_| rng.normal()).collect()));
    rows.push(("uniform", (0..n).map(|_| rng.unit() * 2.0 - 1.0).collect()));
    rows.push((
        "outliers",
        (0..n)
            .map(|i| {
                if i % 97 == 13 {
                    rng.normal() * 300.0
                } else {
                    rng.normal() * 0.1
                }
            })
            .collect(),
    ));
    rows.push((
        "heavy",
        (0..n)
            .map(|_| {
                let x = rng.normal();
                x * x * x * 5.0
            })
            .collect(),
    ));
    rows.push(("tiny", (0..n).map(|_| rng.normal() * 1e-6).collect()));
    rows.push(("zeros", vec![0.0; n]));
    rows.push(("constant", vec![-0.75; n]));
    rows.push((
        "mixed-zero-blocks",
        (0..n)
            .map(|i| if (i / 32) % 3 == 0 { 0.0 } else { rng.normal() })
            .collect(),
    ));
    // Ties: each block of 32 has amax 127 (so the scale is exactly 1) and half-integers.
    rows.push((
        "ties",
        (0..n)
            .map(|i| match i % 32 {
                0 => 127.0,
                1 => -127.0,
                _ => (rng.below(250) as f32 - 125.0) + 0.5,
            })
            .collect(),
    ));
    // Ties for k-quants' Q8_K: amax 127 per 256 with negative extreme, half-integers.
    rows.push((
        "ties-256",
        (0..n)
            .map(|i| match i % 256 {
                0 => -127.0,
                _ => (rng.below(250) as f32 - 125.0) + 0.5,
            })
            .collect(),
    ));
    rows
}

/// The full real models (not the truncated R1 head) that are on this machine, then the tiny
/// random models of testdata. An absent real model makes the test a skipped one, or a failed
/// one under `BAGUE_REQUIRE_MODELS=1` (`bague_testkit::model`).
pub fn model_files() -> Vec<std::path::PathBuf> {
    let real = [bague_testkit::SMOLLM2, bague_testkit::QWEN25_CODER]
        .into_iter()
        .filter_map(bague_testkit::model);
    let tiny = [bague_testkit::TINY_SMOL, bague_testkit::TINY_R1].map(bague_testkit::tiny_path);
    real.chain(tiny).collect()
}

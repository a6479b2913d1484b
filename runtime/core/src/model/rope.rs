//! Rotary position embedding with the numerics of ggml's CPU `rope` (no YaRN): per position
//! a table of `(cos, sin)` for the `head_dim / 2` pairs, then every head rotated by it.
//!
//! ggml builds the angles incrementally: `theta = p` (the position as f32, divided by the
//! pair's frequency factor when the file has `rope_freqs.weight`), multiplied by
//! `theta_scale = powf(freq_base, -2 / n_rot)` after each pair, and the rotation uses
//! `cosf(freq_scale * theta)`. We do the same so that Q and K match bit for bit before they
//! are rounded to f16 (the pair rotation uses one fused multiply-add, as the x86 build of
//! ggml does). Positions are signed: the context shift rotates cached keys by a
//! negative delta. Source: ggml `ggml_rope_cache_init`, `rope_yarn`, `rotate_pairs`.
//!
//! This lives here rather than in the kernels because it needs signed positions and
//! per-pair frequency factors, which the kernels' `rope_norm`/`rope_neox` do not take.

use super::config::{Config, RopeKind};
use bague_kernels::GgmlOrder;

#[cfg(feature = "std")]
mod math {
    pub fn cosf(x: f32) -> f32 {
        x.cos()
    }
    pub fn sinf(x: f32) -> f32 {
        x.sin()
    }
    pub fn powf(x: f32, y: f32) -> f32 {
        x.powf(y)
    }
    pub fn fmaf(x: f32, y: f32, z: f32) -> f32 {
        x.mul_add(y, z)
    }
}
#[cfg(not(feature = "std"))]
mod math {
    pub use libm::{cosf, fmaf, powf, sinf};
}

/// RoPE parameters of a model.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Rope {
    kind: RopeKind,
    head_dim: usize,
    freq_scale: f32,
    theta_scale: f32,
    /// Pairs rotated in gcc's vectorized aarch64 form (see [`Rope::for_order`]).
    vec_pairs: usize,
}

impl Rope {
    pub(crate) fn new(cfg: &Config) -> Rope {
        Rope {
            kind: cfg.rope_kind,
            head_dim: cfg.head_dim,
            freq_scale: cfg.rope_freq_scale,
            theta_scale: math::powf(cfg.rope_freq_base, -2.0 / cfg.head_dim as f32),
            vec_pairs: 0,
        }
    }

    /// The rotation as llama.cpp's build for `order` computes it. gcc 12 vectorizes the
    /// adjacent-pair (normal) rotation of ggml's aarch64 build four pairs at a time and
    /// contracts it differently there: `x0·cos − x1·sin` becomes `fma(−x1, sin, x0·cos)` for
    /// the first `4 · ⌊pairs / 4⌋` pairs (the scalar rest, and every NeoX pair, keep the
    /// x86 form below). Read from the objects of that build (`rotate_pairs` inlined in
    /// `ggml_compute_forward_rope_flt<float>`).
    pub(crate) fn for_order(mut self, order: GgmlOrder) -> Rope {
        self.vec_pairs = match (order, self.kind) {
            (GgmlOrder::Aarch64 { .. }, RopeKind::Normal) => (self.head_dim / 2) & !3,
            _ => 0,
        };
        self
    }

    /// Fills `table` (`[head_dim]`: `cos, sin` per pair) for position `pos`.
    /// `freq_factors(i)` is the divisor of pair `i` (1 when the file has none).
    pub(crate) fn table(&self, pos: i64, freq_factors: impl Fn(usize) -> f32, table: &mut [f32]) {
        let mut theta = pos as f32;
        for i in 0..self.head_dim / 2 {
            let t = self.freq_scale * (theta / freq_factors(i));
            table[2 * i] = math::cosf(t);
            table[2 * i + 1] = math::sinf(t);
            theta *= self.theta_scale;
        }
    }

    /// Rotates every head of `x` (`[n_heads * head_dim]`) by `table`.
    pub(crate) fn apply(&self, table: &[f32], x: &mut [f32]) {
        let hd = self.head_dim;
        let half = hd / 2;
        for h in x.chunks_exact_mut(hd) {
            for i in 0..half {
                let (c, s) = (table[2 * i], table[2 * i + 1]);
                let (a, b) = match self.kind {
                    RopeKind::Normal => (2 * i, 2 * i + 1),
                    RopeKind::Neox => (i, i + half),
                };
                let (x0, x1) = (h[a], h[b]);
                // ggml's `x0*cos - x1*sin`, `x0*sin + x1*cos` as GCC compiles them for x86
                // (contracted: one fused multiply-add, the second product rounded first);
                // checked bit for bit against llama.cpp's Q and K.
                h[a] = if i < self.vec_pairs {
                    math::fmaf(-x1, s, x0 * c)
                } else {
                    math::fmaf(x0, c, -(x1 * s))
                };
                h[b] = math::fmaf(x0, s, x1 * c);
            }
        }
    }
}

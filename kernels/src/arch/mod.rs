//! Instruction-set back ends.
//!
//! An [`Isa`] is a zero-sized (or token-carrying) value whose methods are the kernels of one
//! instruction set. Every method has a default that calls the scalar reference, so a new back
//! end only overrides what it accelerates. [`Scalar`] overrides nothing.
//!
//! SIMD back ends are capability tokens (e.g. `x86_64::Avx2Fma`): a value can only be
//! obtained from `detect()` (runtime check under `std`, `cfg!(target_feature)` without it), so
//! holding one proves the CPU runs the instructions, and the methods taking `self` are safe.
//!
//! Adding an ISA (e.g. aarch64 NEON): a folder `arch/<target_arch>/` with a token type that
//! implements [`Isa`], a `mod` line below, and one arm in `crate::dispatch`.
//!
//! Two kinds of methods: the **quantized** dot products, whose SIMD versions may sum their
//! f32 terms in another order than the reference (within the tolerance of the crate docs), and
//! the **float operations** of the forward pass (softmax, SwiGLU, f16 dot products, RMS norm,
//! add, axpy, conversions), whose SIMD versions must equal the reference bit for bit (their
//! defaults, in `crate::reference`, follow ggml's x86 AVX2 order).

use crate::block::*;
use crate::reference;

#[cfg(target_arch = "aarch64")]
pub mod aarch64;
#[cfg(target_arch = "arm")]
pub mod arm;
mod scalar_aarch64;
pub use scalar_aarch64::ScalarAarch64;
#[cfg(target_arch = "x86_64")]
pub mod x86_64;

/// The kernels of one instruction set. Slices follow the [`BlockFormat::vec_dot_ref`]
/// convention (same element count in weights and activations; extra blocks ignored).
#[allow(missing_docs)] // one method per format, named after it
pub trait Isa: Copy + Send + Sync + 'static {
    /// Name reported by `Kernels::name` ("scalar", "avx2", "neon", "neon+dotprod", "dsp",
    /// "mve", "scalar-aarch64", "scalar-aarch64+dotprod").
    fn name(self) -> &'static str;

    /// Whose arithmetic this back end reproduces: llama.cpp's x86 build (the default) or its
    /// aarch64 build, with or without dotprod.
    fn ggml_order(self) -> crate::GgmlOrder {
        crate::GgmlOrder::X86
    }

    fn vec_dot_q4_0(self, w: &[BlockQ4_0], a: &[BlockQ8_0]) -> f32 {
        BlockQ4_0::vec_dot_ref(w, a)
    }
    fn vec_dot_q4_1(self, w: &[BlockQ4_1], a: &[BlockQ8_1]) -> f32 {
        BlockQ4_1::vec_dot_ref(w, a)
    }
    fn vec_dot_q5_0(self, w: &[BlockQ5_0], a: &[BlockQ8_0]) -> f32 {
        BlockQ5_0::vec_dot_ref(w, a)
    }
    fn vec_dot_q5_1(self, w: &[BlockQ5_1], a: &[BlockQ8_1]) -> f32 {
        BlockQ5_1::vec_dot_ref(w, a)
    }
    fn vec_dot_q8_0(self, w: &[BlockQ8_0], a: &[BlockQ8_0]) -> f32 {
        BlockQ8_0::vec_dot_ref(w, a)
    }
    fn vec_dot_iq4_nl(self, w: &[BlockIq4Nl], a: &[BlockQ8_0]) -> f32 {
        BlockIq4Nl::vec_dot_ref(w, a)
    }
    fn vec_dot_q2_k(self, w: &[BlockQ2K], a: &[BlockQ8K]) -> f32 {
        BlockQ2K::vec_dot_ref(w, a)
    }
    fn vec_dot_q3_k(self, w: &[BlockQ3K], a: &[BlockQ8K]) -> f32 {
        BlockQ3K::vec_dot_ref(w, a)
    }
    fn vec_dot_q4_k(self, w: &[BlockQ4K], a: &[BlockQ8K]) -> f32 {
        BlockQ4K::vec_dot_ref(w, a)
    }
    fn vec_dot_q5_k(self, w: &[BlockQ5K], a: &[BlockQ8K]) -> f32 {
        BlockQ5K::vec_dot_ref(w, a)
    }
    fn vec_dot_q6_k(self, w: &[BlockQ6K], a: &[BlockQ8K]) -> f32 {
        BlockQ6K::vec_dot_ref(w, a)
    }
    fn vec_dot_f32(self, w: &[F32], a: &[F32]) -> f32 {
        F32::vec_dot_ref(w, a)
    }
    /// f16·f16 in the order of ggml's x86 `ggml_vec_dot_f16` (F16 weights, and attention for
    /// one token): the same kernel serves both.
    fn vec_dot_f16(self, w: &[F16], a: &[F16]) -> f32 {
        reference::f16_dot::vec_dot(w, a)
    }
    fn vec_dot_bf16(self, w: &[BF16], a: &[BF16]) -> f32 {
        BF16::vec_dot_ref(w, a)
    }

    // One weight row against four activation rows (prefill): each weight block is decoded
    // once. Must return exactly the bits of four single calls (batch invariance).
    fn vec_dot_q4_0_x4(self, w: &[BlockQ4_0], a: [&[BlockQ8_0]; 4]) -> [f32; 4] {
        a.map(|a| self.vec_dot_q4_0(w, a))
    }
    fn vec_dot_q4_1_x4(self, w: &[BlockQ4_1], a: [&[BlockQ8_1]; 4]) -> [f32; 4] {
        a.map(|a| self.vec_dot_q4_1(w, a))
    }
    fn vec_dot_q5_0_x4(self, w: &[BlockQ5_0], a: [&[BlockQ8_0]; 4]) -> [f32; 4] {
        a.map(|a| self.vec_dot_q5_0(w, a))
    }
    fn vec_dot_q8_0_x4(self, w: &[BlockQ8_0], a: [&[BlockQ8_0]; 4]) -> [f32; 4] {
        a.map(|a| self.vec_dot_q8_0(w, a))
    }
    fn vec_dot_q4_k_x4(self, w: &[BlockQ4K], a: [&[BlockQ8K]; 4]) -> [f32; 4] {
        a.map(|a| self.vec_dot_q4_k(w, a))
    }
    fn vec_dot_q6_k_x4(self, w: &[BlockQ6K], a: [&[BlockQ8K]; 4]) -> [f32; 4] {
        a.map(|a| self.vec_dot_q6_k(w, a))
    }

    // Several weight rows against one activation row (decode): `out[r]` = row `r` of `w`
    // (rows of `nb` blocks) · `a`, for `r < out.len()` (`w` holds at least that many rows).
    // Must return exactly the bits of the format's `vec_dot` on each row.
    fn matvec_q4_0(self, w: &[BlockQ4_0], nb: usize, a: &[BlockQ8_0], out: &mut [f32]) {
        rows_with(w, nb, out, |r| self.vec_dot_q4_0(r, a))
    }
    fn matvec_q4_1(self, w: &[BlockQ4_1], nb: usize, a: &[BlockQ8_1], out: &mut [f32]) {
        rows_with(w, nb, out, |r| self.vec_dot_q4_1(r, a))
    }
    fn matvec_q5_0(self, w: &[BlockQ5_0], nb: usize, a: &[BlockQ8_0], out: &mut [f32]) {
        rows_with(w, nb, out, |r| self.vec_dot_q5_0(r, a))
    }
    fn matvec_q8_0(self, w: &[BlockQ8_0], nb: usize, a: &[BlockQ8_0], out: &mut [f32]) {
        rows_with(w, nb, out, |r| self.vec_dot_q8_0(r, a))
    }
    fn matvec_q4_k(self, w: &[BlockQ4K], nb: usize, a: &[BlockQ8K], out: &mut [f32]) {
        rows_with(w, nb, out, |r| self.vec_dot_q4_k(r, a))
    }
    fn matvec_q6_k(self, w: &[BlockQ6K], nb: usize, a: &[BlockQ8K], out: &mut [f32]) {
        rows_with(w, nb, out, |r| self.vec_dot_q6_k(r, a))
    }

    // The same, in the row order of ggml's repacked 8-row gemv (`ggml_gemv_q4_0_8x8_q8_0`,
    // `ggml_gemv_q4_K_8x8_q8_K`: what llama.cpp runs for one token on x86 AVX2). Back ends
    // without it use their `matvec` order.
    fn gemv8_q4_0(self, w: &[BlockQ4_0], nb: usize, a: &[BlockQ8_0], out: &mut [f32]) {
        self.matvec_q4_0(w, nb, a, out)
    }
    fn gemv8_q4_k(self, w: &[BlockQ4K], nb: usize, a: &[BlockQ8K], out: &mut [f32]) {
        self.matvec_q4_k(w, nb, a, out)
    }

    /// Prefill in the order of ggml's multi-token `mul_mat` on this back end (which may differ
    /// from `vec_dot`'s where ggml's batch path does): `out[t * out_stride + (r - rows.start)]`
    /// = row `r` of `w` · token `t` of `acts` (`n_tok` rows of `vec_dot_type(wt)`). `w`, `acts`,
    /// `out` are already checked by `Kernels::matmul`; `w` is the whole matrix (llama.cpp's
    /// path can depend on its row count) and `batch` (≥ `n_tok`) the token count of the whole
    /// batch these tokens belong to (the path also depends on it: a thread's share of a batch
    /// must take the batch's path). Returns `false` (nothing written) where this back end has
    /// no such kernel for `wt`; the dispatcher then loops over `vec_dot`.
    #[allow(clippy::too_many_arguments)]
    fn gemm(
        self,
        wt: crate::GgmlType,
        w: &[u8],
        n_cols: usize,
        rows: core::ops::Range<usize>,
        acts: &[u8],
        n_tok: usize,
        out: &mut [f32],
        out_stride: usize,
        batch: usize,
    ) -> bool {
        let _ = (wt, w, n_cols, rows, acts, n_tok, out, out_stride, batch);
        false
    }

    /// Decode through ggml's repacked aarch64 kernels (see `reference::aarch64::repack`):
    /// `out[r] = row r of w · act` for the rows in `w` (`wrow` bytes each) of a matrix of
    /// `n_rows` rows (the repacking depends on it). Returns `false` (nothing written) where
    /// llama.cpp on this back end's CPU would not repack the matrix; the dispatcher then
    /// runs `matvec`.
    fn gemv(
        self,
        wt: crate::GgmlType,
        w: &[u8],
        wrow: usize,
        n_rows: usize,
        act: &[u8],
        out: &mut [f32],
    ) -> bool {
        let _ = (wt, w, wrow, n_rows, act, out);
        false
    }

    /// Quantize activations to Q8_0 (bytes identical to `q8_0::quantize_row_q8_0`).
    fn quantize_q8_0(self, x: &[f32], out: &mut [BlockQ8_0]) {
        q8_0::quantize_row_q8_0(x, out)
    }
    /// Quantize activations to Q8_1 (bytes identical to `q8_1::quantize_row_q8_1`).
    fn quantize_q8_1(self, x: &[f32], out: &mut [BlockQ8_1]) {
        q8_1::quantize_row_q8_1(x, out)
    }
    /// Quantize activations to Q8_K (bytes identical to `q8_k::quantize_row_q8_k`).
    fn quantize_q8_k(self, x: &[f32], out: &mut [BlockQ8K]) {
        q8_k::quantize_row_q8_k(x, out)
    }
    /// f32 → f16 row (round to nearest even).
    fn f32_to_f16(self, x: &[f32], out: &mut [F16]) {
        F16::quantize(x, out)
    }
    /// f16 → f32 row (exact).
    fn f16_to_f32(self, x: &[F16], out: &mut [f32]) {
        F16::dequantize(x, out)
    }

    // Float operations of the forward pass. Overrides must return the reference's bits.

    /// f16·f32 in the order of tinyBLAS on aarch64 (ggml's `V · P` for several tokens there;
    /// the same bits on every back end).
    fn vec_dot_f16_f32_tinyblas(self, w: &[F16], x: &[f32]) -> f32 {
        reference::aarch64::float::tinyblas_f16_f32(w, x)
    }
    /// f16·f16 in the order of llamafile's tinyBLAS (ggml's attention for several tokens).
    fn vec_dot_f16_tinyblas(self, w: &[F16], a: &[F16]) -> f32 {
        reference::f16_dot::tinyblas(w, a)
    }
    /// Softmax of `scale · x` over a row of `n_row` entries masked (`-inf`) past `x.len()`.
    fn softmax_masked(self, x: &mut [f32], scale: f32, n_row: usize) {
        reference::softmax::softmax_masked(x, scale, n_row)
    }
    /// `out = silu(gate) * up`.
    fn swiglu(self, gate: &[f32], up: &[f32], out: &mut [f32]) {
        reference::silu::swiglu(gate, up, out)
    }
    /// `out = x / sqrt(mean(x²) + eps) * weight`.
    fn rms_norm(self, x: &[f32], weight: &[F32], eps: f32, out: &mut [f32]) {
        reference::norm::rms_norm(x, weight, eps, out)
    }
    /// `x += y` (`y` little-endian f32 of any alignment: an f32 row or a bias tensor).
    fn add(self, x: &mut [f32], y: &[F32]) {
        reference::elementwise::add(x, y)
    }
    /// `y += a * x` (no fused multiply-add).
    fn axpy(self, y: &mut [f32], a: f32, x: &[f32]) {
        reference::elementwise::axpy(y, a, x)
    }
    /// Q8_0 blocks → f32 (`q * d`, exact products rounded once).
    fn dequantize_q8_0(self, x: &[BlockQ8_0], out: &mut [f32]) {
        BlockQ8_0::dequantize(x, out)
    }
    /// `y = Σ_j p[j] · (Q8_0 row j)`, row `j` the `y.len() / 32` blocks from block
    /// `j * stride`: the bits of `dequantize_q8_0` + `axpy` per row, in row order.
    fn weighted_sum_q8_0(self, y: &mut [f32], p: &[f32], rows: &[BlockQ8_0], stride: usize) {
        reference::elementwise::weighted_sum_q8_0(y, p, rows, stride)
    }
}

/// `out[r] = dot(row r)` for the rows of `nb` blocks of `w` (a missing row reads as empty).
#[inline(always)]
pub(crate) fn rows_with<W>(w: &[W], nb: usize, out: &mut [f32], dot: impl Fn(&[W]) -> f32) {
    for (r, o) in out.iter_mut().enumerate() {
        *o = dot(w.get(r * nb..(r + 1) * nb).unwrap_or(&[]));
    }
}

/// The scalar back end: the references, on every target.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Scalar;

impl Isa for Scalar {
    fn name(self) -> &'static str {
        "scalar"
    }
}

/// A weight format the dispatcher can route: picks the [`Isa`] methods of its format.
pub trait Weight: BlockFormat {
    /// `isa`'s dot product for this format.
    fn vec_dot<I: Isa>(isa: I, w: &[Self], a: &[Self::Act]) -> f32;
    /// Four activation rows at once; the same bits as four [`Weight::vec_dot`] calls.
    fn vec_dot_x4<I: Isa>(isa: I, w: &[Self], a: [&[Self::Act]; 4]) -> [f32; 4] {
        a.map(|a| Self::vec_dot(isa, w, a))
    }
    /// `out[r]` = row `r` of `w` (rows of `nb` blocks) · `a`; the same bits as
    /// [`Weight::vec_dot`] on each row.
    fn matvec<I: Isa>(isa: I, w: &[Self], nb: usize, a: &[Self::Act], out: &mut [f32]) {
        rows_with(w, nb, out, |r| Self::vec_dot(isa, r, a))
    }
    /// As [`Weight::matvec`], in the row order of ggml's repacked 8-row gemv where the back
    /// end has one for this format (Q4_0, Q4_K on AVX2); otherwise [`Weight::matvec`].
    fn gemv8<I: Isa>(isa: I, w: &[Self], nb: usize, a: &[Self::Act], out: &mut [f32]) {
        Self::matvec(isa, w, nb, a, out)
    }
}

macro_rules! weight {
    ($($ty:ty => $m:ident $(, $m4:ident)? $([$mv:ident $(, $g8:ident)?])?;)*) => {$(
        impl Weight for $ty {
            #[inline(always)]
            fn vec_dot<I: Isa>(isa: I, w: &[Self], a: &[Self::Act]) -> f32 {
                isa.$m(w, a)
            }
            $(
            #[inline(always)]
            fn vec_dot_x4<I: Isa>(isa: I, w: &[Self], a: [&[Self::Act]; 4]) -> [f32; 4] {
                isa.$m4(w, a)
            }
            )?
            $(
            #[inline(always)]
            fn matvec<I: Isa>(isa: I, w: &[Self], nb: usize, a: &[Self::Act], out: &mut [f32]) {
                isa.$mv(w, nb, a, out)
            }
            $(
            #[inline(always)]
            fn gemv8<I: Isa>(isa: I, w: &[Self], nb: usize, a: &[Self::Act], out: &mut [f32]) {
                isa.$g8(w, nb, a, out)
            }
            )?
            )?
        }
    )*};
}

weight! {
    BlockQ4_0 => vec_dot_q4_0, vec_dot_q4_0_x4 [matvec_q4_0, gemv8_q4_0];
    BlockQ4_1 => vec_dot_q4_1, vec_dot_q4_1_x4 [matvec_q4_1];
    BlockQ5_0 => vec_dot_q5_0, vec_dot_q5_0_x4 [matvec_q5_0];
    BlockQ5_1 => vec_dot_q5_1;
    BlockQ8_0 => vec_dot_q8_0, vec_dot_q8_0_x4 [matvec_q8_0];
    BlockIq4Nl => vec_dot_iq4_nl;
    BlockQ2K => vec_dot_q2_k;
    BlockQ3K => vec_dot_q3_k;
    BlockQ4K => vec_dot_q4_k, vec_dot_q4_k_x4 [matvec_q4_k, gemv8_q4_k];
    BlockQ5K => vec_dot_q5_k;
    BlockQ6K => vec_dot_q6_k, vec_dot_q6_k_x4 [matvec_q6_k];
    F32 => vec_dot_f32;
    F16 => vec_dot_f16;
    BF16 => vec_dot_bf16;
}

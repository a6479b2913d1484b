//! [`ScalarAarch64`]: the scalar models of ggml's aarch64 arithmetic
//! (`crate::reference::aarch64`) as a back end, on every target. It computes what llama.cpp's
//! aarch64 build computes (with or without dotprod), slowly, so the aarch64 numbers can be
//! checked on any host; the NEON back ends equal it bit for bit (tested under qemu).
//!
//! Modelled: the activation quantizers (Q8_0, Q8_1, Q8_K), the
//! `vec_dot` of Q4_0, Q4_1, Q5_0, Q8_0, Q4_K and Q6_K, the repacked kernels of the dotprod
//! build (Q4_0 and Q8_0 with rows ≡ 0 mod 4, Q4_K and Q6_K with rows ≡ 0 mod 8), softmax,
//! SwiGLU and the f16 dot products. Other formats (Q5_1, IQ4_NL, Q2_K, Q3_K, Q5_K) keep the
//! x86 references: no reference model uses them.

use super::Isa;
use crate::GgmlType;
use crate::block::*;
use crate::reference::aarch64::{Lanes, float, kquant, quant, repack};
use core::ops::Range;

/// The scalar models of ggml's aarch64 build; `dotprod`: the `armv8.2-a+dotprod` build
/// (`sdot` lanes, repacked matrices), else plain `armv8-a`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ScalarAarch64 {
    /// Model the dotprod build.
    pub dotprod: bool,
}

impl ScalarAarch64 {
    fn lanes(self) -> Lanes {
        if self.dotprod {
            Lanes::Sdot
        } else {
            Lanes::Mull
        }
    }
}

/// Whether llama.cpp's dotprod build repacks a `wt` matrix of `n_rows` rows.
pub(crate) fn repacked(wt: GgmlType, n_rows: usize) -> bool {
    match wt {
        GgmlType::Q4_0 | GgmlType::Q8_0 => n_rows % 4 == 0,
        GgmlType::Q4_K | GgmlType::Q6_K => n_rows % 8 == 0,
        _ => false,
    }
}

/// One repacked row against one activation row (`gemm`: the 4-token form).
fn repacked_row(wt: GgmlType, w: &[u8], a: &[u8], gemm: bool) -> f32 {
    use bytemuck::cast_slice as c;
    match wt {
        GgmlType::Q4_0 => repack::q4_0(c(w), c(a)),
        GgmlType::Q8_0 => repack::q8_0(c(w), c(a), gemm),
        GgmlType::Q4_K => repack::q4_k(c(w), c(a)),
        GgmlType::Q6_K => repack::q6_k(c(w), c(a), gemm),
        _ => 0.0,
    }
}

impl Isa for ScalarAarch64 {
    fn name(self) -> &'static str {
        if self.dotprod {
            "scalar-aarch64+dotprod"
        } else {
            "scalar-aarch64"
        }
    }

    fn ggml_order(self) -> crate::GgmlOrder {
        crate::GgmlOrder::Aarch64 {
            dotprod: self.dotprod,
        }
    }

    fn vec_dot_q4_0(self, w: &[BlockQ4_0], a: &[BlockQ8_0]) -> f32 {
        quant::vec_dot_q4_0(self.lanes(), w, a)
    }
    fn vec_dot_q4_1(self, w: &[BlockQ4_1], a: &[BlockQ8_1]) -> f32 {
        quant::vec_dot_q4_1(self.lanes(), w, a)
    }
    fn vec_dot_q5_0(self, w: &[BlockQ5_0], a: &[BlockQ8_0]) -> f32 {
        quant::vec_dot_q5_0(self.lanes(), w, a)
    }
    fn vec_dot_q8_0(self, w: &[BlockQ8_0], a: &[BlockQ8_0]) -> f32 {
        quant::vec_dot_q8_0(self.lanes(), w, a)
    }
    fn vec_dot_q4_k(self, w: &[BlockQ4K], a: &[BlockQ8K]) -> f32 {
        kquant::vec_dot_q4_k(w, a)
    }
    fn vec_dot_q6_k(self, w: &[BlockQ6K], a: &[BlockQ8K]) -> f32 {
        kquant::vec_dot_q6_k(w, a)
    }
    fn vec_dot_f16(self, w: &[F16], a: &[F16]) -> f32 {
        float::vec_dot_f16(w, a)
    }

    fn gemv(
        self,
        wt: GgmlType,
        w: &[u8],
        wrow: usize,
        n_rows: usize,
        act: &[u8],
        out: &mut [f32],
    ) -> bool {
        if !self.dotprod || !repacked(wt, n_rows) || wrow == 0 {
            return false;
        }
        for (o, r) in out.iter_mut().zip(w.chunks_exact(wrow)) {
            *o = repacked_row(wt, r, act, false);
        }
        true
    }

    fn gemm(
        self,
        wt: GgmlType,
        w: &[u8],
        n_cols: usize,
        rows: Range<usize>,
        acts: &[u8],
        n_tok: usize,
        out: &mut [f32],
        out_stride: usize,
        batch: usize,
    ) -> bool {
        // ggml's repacked mul_mat: `gemm` for the tokens below `batch - batch % 4`, `gemv` for
        // the rest; a share starts at a multiple of 4 tokens and only the last share holds
        // the rest, so counting groups within the share gives the same split.
        let _ = batch;
        let wrow = wt.row_bytes(n_cols as u64).unwrap_or(0) as usize;
        let at = crate::Kernels::vec_dot_type(wt);
        let arow = at.row_bytes(n_cols as u64).unwrap_or(0) as usize;
        if !self.dotprod || wrow == 0 || !repacked(wt, w.len() / wrow) {
            return false;
        }
        for r in rows.clone() {
            let wr = &w[r * wrow..(r + 1) * wrow];
            let groups = n_tok - n_tok % 4;
            for t in 0..n_tok {
                let a = &acts[t * arow..(t + 1) * arow];
                out[t * out_stride + r - rows.start] = repacked_row(wt, wr, a, t < groups);
            }
        }
        true
    }

    fn quantize_q8_0(self, x: &[f32], out: &mut [BlockQ8_0]) {
        quant::quantize_q8_0(x, out)
    }
    fn quantize_q8_1(self, x: &[f32], out: &mut [BlockQ8_1]) {
        quant::quantize_q8_1(x, out)
    }
    fn quantize_q8_k(self, x: &[f32], out: &mut [BlockQ8K]) {
        quant::quantize_q8_k(x, out)
    }
    fn softmax_masked(self, x: &mut [f32], scale: f32, n_row: usize) {
        float::softmax_masked(x, scale, n_row)
    }
    fn swiglu(self, gate: &[f32], up: &[f32], out: &mut [f32]) {
        float::swiglu(gate, up, out)
    }
}

//! The WGSL sources (`kernels/gpu/shaders/`, one file per idea) and the compute modules built
//! from them. WGSL has no `#include`: a module is its files concatenated, kernel last, with
//! the kernel's `const` build parameters replaced (decode/prefill tile, activation format).
//! The same list drives the pipelines, the naga validation and the committed Metal sources
//! (`kernels/gpu/metal/<module>.metal`, checked by `tests/shaders.rs`).

/// A WGSL source file of `kernels/gpu/shaders/`.
#[derive(Clone, Copy, Debug)]
pub struct Source {
    /// File name.
    pub name: &'static str,
    /// Its text.
    pub text: &'static str,
}

macro_rules! source {
    ($name:literal) => {
        Source {
            name: $name,
            text: include_str!(concat!("../shaders/", $name)),
        }
    };
}

/// Byte loads at any offset, f16 conversions, i8 dot products.
pub const BYTES: Source = source!("bytes.wgsl");
/// Weight sub-block decoders for every supported type.
pub const QUANT_BLOCKS: Source = source!("quant_blocks.wgsl");
/// Activation quantizers (Q8_0 / Q8_1 / Q8_K).
pub const ACT_QUANT: Source = source!("act_quant.wgsl");
/// RMSNorm prologue.
pub const RMSNORM: Source = source!("rmsnorm.wgsl");
/// RoPE epilogue.
pub const ROPE: Source = source!("rope.wgsl");
/// SwiGLU epilogue.
pub const SWIGLU: Source = source!("swiglu.wgsl");
/// Matrix·vector (decode) and matrix·matrix (prefill) with fused prologue and epilogues.
pub const MATVEC: Source = source!("matvec.wgsl");
/// Attention over the f16 KV cache.
pub const ATTENTION: Source = source!("attention.wgsl");
/// Embedding lookup.
pub const GET_ROWS: Source = source!("get_rows.wgsl");
/// Greedy token.
pub const ARGMAX: Source = source!("argmax.wgsl");
/// k best logits.
pub const TOPK: Source = source!("topk.wgsl");

/// Every source file, for the checks.
pub const SOURCES: [Source; 11] = [
    BYTES,
    QUANT_BLOCKS,
    ACT_QUANT,
    RMSNORM,
    ROPE,
    SWIGLU,
    MATVEC,
    ATTENTION,
    GET_ROWS,
    ARGMAX,
    TOPK,
];

/// A compute module: which files, in order, and the `const` lines the host replaces.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Module {
    /// `matvec.wgsl`, one token (decode), activations Q8_0/Q8_1.
    MatvecB32,
    /// `matvec.wgsl`, one token (decode), activations Q8_K.
    MatvecK,
    /// `matvec.wgsl`, tiles of 4 tokens (prefill), activations Q8_0/Q8_1.
    MatmulB32,
    /// `matvec.wgsl`, tiles of 4 tokens (prefill), activations Q8_K.
    MatmulK,
    /// `attention.wgsl`.
    Attention,
    /// `get_rows.wgsl`.
    GetRows,
    /// `argmax.wgsl`.
    Argmax,
    /// `topk.wgsl`.
    Topk,
}

impl Module {
    /// Every module.
    pub const ALL: [Module; 8] = [
        Module::MatvecB32,
        Module::MatvecK,
        Module::MatmulB32,
        Module::MatmulK,
        Module::Attention,
        Module::GetRows,
        Module::Argmax,
        Module::Topk,
    ];

    /// File stem of the generated sources (`metal/<name>.metal`).
    pub fn name(self) -> &'static str {
        match self {
            Module::MatvecB32 => "matvec_b32",
            Module::MatvecK => "matvec_k",
            Module::MatmulB32 => "matmul_b32",
            Module::MatmulK => "matmul_k",
            Module::Attention => "attention",
            Module::GetRows => "get_rows",
            Module::Argmax => "argmax",
            Module::Topk => "topk",
        }
    }

    fn parts(self) -> (&'static [Source], Option<(u32, bool)>) {
        const MV: &[Source] = &[
            BYTES,
            QUANT_BLOCKS,
            ACT_QUANT,
            RMSNORM,
            ROPE,
            SWIGLU,
            MATVEC,
        ];
        match self {
            Module::MatvecB32 => (MV, Some((1, false))),
            Module::MatvecK => (MV, Some((1, true))),
            Module::MatmulB32 => (MV, Some((MATMUL_TILE, false))),
            Module::MatmulK => (MV, Some((MATMUL_TILE, true))),
            Module::Attention => (&[BYTES, ATTENTION], None),
            Module::GetRows => (&[BYTES, QUANT_BLOCKS, ACT_QUANT, GET_ROWS], None),
            Module::Argmax => (&[ARGMAX], None),
            Module::Topk => (&[TOPK], None),
        }
    }

    /// The module's WGSL text.
    pub fn source(self) -> String {
        let (files, consts) = self.parts();
        let mut s = String::new();
        for f in files {
            let mut text = f.text.to_string();
            if let (Some((tile, kq)), "matvec.wgsl") = (consts, f.name) {
                text = text
                    .replacen(
                        "const TILE_T: u32 = 1u;",
                        &format!("const TILE_T: u32 = {tile}u;"),
                        1,
                    )
                    .replacen(
                        "const KQ: bool = false;",
                        &format!("const KQ: bool = {kq};"),
                        1,
                    );
            }
            s.push_str(&format!("// ---- {} ----\n", f.name));
            s.push_str(&text);
            s.push('\n');
        }
        s
    }
}

/// Tokens per workgroup of the prefill matmul (`TILE_T` of its build).
pub const MATMUL_TILE: u32 = 4;
/// Rows per matvec row group (`R` in `matvec.wgsl`).
pub const MATVEC_ROWS: u32 = 4;
/// Invocations per matvec workgroup (`WG` in `matvec.wgsl`).
pub const MATVEC_WG: u32 = 64;

/// `(lanes S, rows per workgroup)` of a matvec over rows of `n_in` weights: S = the number of
/// 32-weight sub-blocks rounded up to a power of two, at most 64; the 64 invocations form
/// 64 / S row groups of [`MATVEC_ROWS`] rows.
pub fn matvec_shape(n_in: usize) -> (u32, u32) {
    let lanes = (n_in / 32)
        .max(1)
        .next_power_of_two()
        .min(MATVEC_WG as usize) as u32;
    (lanes, MATVEC_WG / lanes * MATVEC_ROWS)
}

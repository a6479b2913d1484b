//! The ggml tensor type table: numbering, names, block size and bytes per block.
//!
//! Source: ggml `include/ggml.h` (`enum ggml_type`) and `src/ggml.c` (`type_traits`), as
//! vendored by llama.cpp. Numbers are the on-disk GGUF values and never change; removed
//! types (4, 5, 31–33, 36–38) are not representable and read as unknown.

/// A ggml tensor element type, numbered as in GGUF files.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u32)]
#[allow(non_camel_case_types)]
pub enum GgmlType {
    /// 32-bit float.
    F32 = 0,
    /// IEEE half.
    F16 = 1,
    /// 4-bit, block of 32, f16 scale.
    Q4_0 = 2,
    /// 4-bit, block of 32, f16 scale and min.
    Q4_1 = 3,
    /// 5-bit, block of 32, f16 scale.
    Q5_0 = 6,
    /// 5-bit, block of 32, f16 scale and min.
    Q5_1 = 7,
    /// 8-bit, block of 32, f16 scale.
    Q8_0 = 8,
    /// 8-bit, block of 32, f16 scale and f16 `d * sum(q)`.
    Q8_1 = 9,
    /// 2-bit k-quant, super-block of 256.
    Q2_K = 10,
    /// 3-bit k-quant, super-block of 256.
    Q3_K = 11,
    /// 4-bit k-quant, super-block of 256.
    Q4_K = 12,
    /// 5-bit k-quant, super-block of 256.
    Q5_K = 13,
    /// 6-bit k-quant, super-block of 256.
    Q6_K = 14,
    /// 8-bit k-quant activations, super-block of 256, f32 scale.
    Q8_K = 15,
    /// i-quant 2.06 bpw.
    IQ2_XXS = 16,
    /// i-quant 2.31 bpw.
    IQ2_XS = 17,
    /// i-quant 3.06 bpw.
    IQ3_XXS = 18,
    /// i-quant 1.56 bpw.
    IQ1_S = 19,
    /// 4-bit non-linear, block of 32.
    IQ4_NL = 20,
    /// i-quant 3.44 bpw.
    IQ3_S = 21,
    /// i-quant 2.5 bpw.
    IQ2_S = 22,
    /// 4-bit non-linear, super-block of 256.
    IQ4_XS = 23,
    /// 8-bit integer.
    I8 = 24,
    /// 16-bit integer.
    I16 = 25,
    /// 32-bit integer.
    I32 = 26,
    /// 64-bit integer.
    I64 = 27,
    /// 64-bit float.
    F64 = 28,
    /// i-quant 1.75 bpw.
    IQ1_M = 29,
    /// bfloat16.
    BF16 = 30,
    /// ternary, 1.69 bpw.
    TQ1_0 = 34,
    /// ternary, 2.06 bpw.
    TQ2_0 = 35,
    /// MX FP4 (E2M1 values, E8M0 shared scale), block of 32.
    MXFP4 = 39,
    /// NV FP4 (E2M1 values, four UE4M3 scales), block of 64.
    NVFP4 = 40,
    /// 1-bit, block of 128, f16 scale.
    Q1_0 = 41,
    /// 2-bit, block of 64, f16 scale.
    Q2_0 = 42,
}

impl GgmlType {
    /// Every known type, in numeric order.
    pub const ALL: [GgmlType; 35] = [
        Self::F32,
        Self::F16,
        Self::Q4_0,
        Self::Q4_1,
        Self::Q5_0,
        Self::Q5_1,
        Self::Q8_0,
        Self::Q8_1,
        Self::Q2_K,
        Self::Q3_K,
        Self::Q4_K,
        Self::Q5_K,
        Self::Q6_K,
        Self::Q8_K,
        Self::IQ2_XXS,
        Self::IQ2_XS,
        Self::IQ3_XXS,
        Self::IQ1_S,
        Self::IQ4_NL,
        Self::IQ3_S,
        Self::IQ2_S,
        Self::IQ4_XS,
        Self::I8,
        Self::I16,
        Self::I32,
        Self::I64,
        Self::F64,
        Self::IQ1_M,
        Self::BF16,
        Self::TQ1_0,
        Self::TQ2_0,
        Self::MXFP4,
        Self::NVFP4,
        Self::Q1_0,
        Self::Q2_0,
    ];

    /// The type with GGUF number `v`, or `None` for unknown or removed numbers.
    pub fn from_u32(v: u32) -> Option<Self> {
        use GgmlType::*;
        Some(match v {
            0 => F32,
            1 => F16,
            2 => Q4_0,
            3 => Q4_1,
            6 => Q5_0,
            7 => Q5_1,
            8 => Q8_0,
            9 => Q8_1,
            10 => Q2_K,
            11 => Q3_K,
            12 => Q4_K,
            13 => Q5_K,
            14 => Q6_K,
            15 => Q8_K,
            16 => IQ2_XXS,
            17 => IQ2_XS,
            18 => IQ3_XXS,
            19 => IQ1_S,
            20 => IQ4_NL,
            21 => IQ3_S,
            22 => IQ2_S,
            23 => IQ4_XS,
            24 => I8,
            25 => I16,
            26 => I32,
            27 => I64,
            28 => F64,
            29 => IQ1_M,
            30 => BF16,
            34 => TQ1_0,
            35 => TQ2_0,
            39 => MXFP4,
            40 => NVFP4,
            41 => Q1_0,
            42 => Q2_0,
            _ => return None,
        })
    }

    /// Elements per block (1 for plain scalar types, 256 for k-quants).
    pub const fn block_size(self) -> usize {
        use GgmlType::*;
        match self {
            F32 | F16 | BF16 | I8 | I16 | I32 | I64 | F64 => 1,
            Q4_0 | Q4_1 | Q5_0 | Q5_1 | Q8_0 | Q8_1 | IQ4_NL | MXFP4 => 32,
            NVFP4 | Q2_0 => 64,
            Q1_0 => 128,
            Q2_K | Q3_K | Q4_K | Q5_K | Q6_K | Q8_K | IQ2_XXS | IQ2_XS | IQ3_XXS | IQ1_S
            | IQ3_S | IQ2_S | IQ4_XS | IQ1_M | TQ1_0 | TQ2_0 => 256,
        }
    }

    /// Bytes per block (`sizeof(block_xxx)` in ggml).
    pub const fn block_bytes(self) -> usize {
        use GgmlType::*;
        match self {
            F32 => 4,
            F16 => 2,
            BF16 => 2,
            I8 => 1,
            I16 => 2,
            I32 => 4,
            I64 => 8,
            F64 => 8,
            Q4_0 => 18,
            Q4_1 => 20,
            Q5_0 => 22,
            Q5_1 => 24,
            Q8_0 => 34,
            Q8_1 => 36,
            Q2_K => 84,
            Q3_K => 110,
            Q4_K => 144,
            Q5_K => 176,
            Q6_K => 210,
            Q8_K => 292,
            IQ2_XXS => 66,
            IQ2_XS => 74,
            IQ3_XXS => 98,
            IQ1_S => 50,
            IQ4_NL => 18,
            IQ3_S => 110,
            IQ2_S => 82,
            IQ4_XS => 136,
            IQ1_M => 56,
            TQ1_0 => 54,
            TQ2_0 => 66,
            MXFP4 => 17,
            NVFP4 => 36,
            Q1_0 => 18,
            Q2_0 => 18,
        }
    }

    /// ggml's name, upper-case as llama.cpp prints it in `llama-gguf` / `gguf-dump` (`"Q4_K"`).
    pub const fn name(self) -> &'static str {
        use GgmlType::*;
        match self {
            F32 => "F32",
            F16 => "F16",
            Q4_0 => "Q4_0",
            Q4_1 => "Q4_1",
            Q5_0 => "Q5_0",
            Q5_1 => "Q5_1",
            Q8_0 => "Q8_0",
            Q8_1 => "Q8_1",
            Q2_K => "Q2_K",
            Q3_K => "Q3_K",
            Q4_K => "Q4_K",
            Q5_K => "Q5_K",
            Q6_K => "Q6_K",
            Q8_K => "Q8_K",
            IQ2_XXS => "IQ2_XXS",
            IQ2_XS => "IQ2_XS",
            IQ3_XXS => "IQ3_XXS",
            IQ1_S => "IQ1_S",
            IQ4_NL => "IQ4_NL",
            IQ3_S => "IQ3_S",
            IQ2_S => "IQ2_S",
            IQ4_XS => "IQ4_XS",
            I8 => "I8",
            I16 => "I16",
            I32 => "I32",
            I64 => "I64",
            F64 => "F64",
            IQ1_M => "IQ1_M",
            BF16 => "BF16",
            TQ1_0 => "TQ1_0",
            TQ2_0 => "TQ2_0",
            MXFP4 => "MXFP4",
            NVFP4 => "NVFP4",
            Q1_0 => "Q1_0",
            Q2_0 => "Q2_0",
        }
    }

    /// Bytes of a row of `n` elements, or `None` if `n` is not a whole number of blocks
    /// or the size overflows.
    pub const fn row_bytes(self, n: u64) -> Option<u64> {
        let bs = self.block_size() as u64;
        if n % bs != 0 {
            return None;
        }
        (n / bs).checked_mul(self.block_bytes() as u64)
    }
}

impl core::fmt::Display for GgmlType {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.name())
    }
}

//! [`Kernels`]: the kernel table, chosen once and passed by reference.
//!
//! A `Kernels` holds the chosen back end (a capability token, see [`crate::arch`]); every
//! call dispatches with one `match` on it and then runs a loop monomorphized for that back
//! end and format. No global state, no per-call feature detection.
//!
//! `Kernels` is the only door to the kernels: the quantized products (`vec_dot`, `matvec`,
//! `matmul`, this file) and the float operations of the forward pass (`float.rs`). The entry
//! points check every length (against the type table, [`GgmlType::row_bytes`], for blocks)
//! before touching data and return [`KernelError`] on mismatch: wrong lengths are an error,
//! never a panic and never UB.

use core::ops::Range;

use crate::arch::{Isa, Scalar, ScalarAarch64, Weight};
use crate::block::*;
use crate::{GgmlType, KernelError};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Backend {
    Scalar(Scalar),
    ScalarAarch64(ScalarAarch64),
    #[cfg(target_arch = "x86_64")]
    Avx2(crate::arch::x86_64::Avx2Fma),
    #[cfg(all(target_arch = "x86_64", bague_avx512))]
    Avx512(crate::arch::x86_64::Avx512Vnni),
    #[cfg(target_arch = "aarch64")]
    Neon(crate::arch::aarch64::Neon),
    #[cfg(target_arch = "aarch64")]
    NeonDot(crate::arch::aarch64::NeonDot),
    #[cfg(target_arch = "arm")]
    Dsp(crate::arch::arm::Dsp),
    #[cfg(target_arch = "arm")]
    Mve(crate::arch::arm::Mve),
}

/// The kernel table: which instruction set runs `vec_dot`, `matvec`, `matmul`, the
/// activation quantizers and the float operations of the forward pass (softmax, SwiGLU, f16
/// dot products, RMS norm, adds, axpy, f16 and Q8_0 rows). The runtime reaches every kernel
/// through it. Cheap to copy; build it once (at model load) and pass `&Kernels`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Kernels {
    backend: Backend,
}

/// A `BAGUE_KERNELS` value that names no back end this CPU has ([`Kernels::from_env`]).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct UnknownKernels {
    name: [u8; 32],
    len: u8,
}

impl UnknownKernels {
    #[cfg_attr(not(feature = "std"), allow(dead_code))] // only `from_env` (std) makes one
    fn new(s: &str) -> Self {
        let mut end = s.len().min(32);
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        let mut name = [0; 32];
        name[..end].copy_from_slice(&s.as_bytes()[..end]);
        UnknownKernels {
            name,
            len: end as u8,
        }
    }

    /// The value given (cut to 32 bytes).
    pub fn value(&self) -> &str {
        core::str::from_utf8(&self.name[..self.len as usize]).unwrap_or("")
    }
}

impl core::fmt::Debug for UnknownKernels {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_tuple("UnknownKernels")
            .field(&self.value())
            .finish()
    }
}

impl core::fmt::Display for UnknownKernels {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "BAGUE_KERNELS={:?} names no kernels of this CPU; available:",
            self.value()
        )?;
        for (i, k) in Kernels::available().enumerate() {
            write!(f, "{}{}", if i == 0 { " " } else { ", " }, k.name())?;
        }
        Ok(())
    }
}

impl core::error::Error for UnknownKernels {}

/// The f32 summation order of a decode [`Kernels::matvec_ordered`]. The integer parts of a
/// dot product are exact either way; the orders differ in how the per-block f32 terms are
/// accumulated, i.e. in the last bits. Both are ggml's (x86 AVX2 CPU backend); back ends
/// without a repacked kernel use their `vec_dot` order for both.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MatvecOrder {
    /// Each row exactly as [`Kernels::vec_dot`] (ggml's `ggml_vec_dot_*` for the type).
    VecDot,
    /// llama.cpp's default (weights in its CPU_REPACK buffer): Q4_0 and Q4_K matrices with
    /// a multiple of 8 rows in the order of `ggml_gemv_q4_0_8x8_q8_0` /
    /// `ggml_gemv_q4_K_8x8_q8_K` (one f32 chain per row, no horizontal sum); every other
    /// matrix as `VecDot`.
    Repacked,
}

/// Whose arithmetic a back end reproduces bit for bit: the orders of llama.cpp's x86 AVX2
/// build, or those of its aarch64 build (`GGML_CPU_ARM_ARCH=armv8.2-a+dotprod` when
/// `dotprod`, plain `armv8-a` otherwise). The forward pass asks it where llama.cpp's graph
/// takes different kernels on the two (attention's batched products); the kernels behind
/// [`Kernels`] follow it by themselves (summation orders, activation quantizers, which
/// matrices llama.cpp repacks).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GgmlOrder {
    /// llama.cpp's x86 build (AVX2, FMA, F16C): the scalar and AVX2 back ends.
    X86,
    /// llama.cpp's aarch64 build (NEON, no FP16 vector arithmetic, no i8mm): the NEON back
    /// ends and [`ScalarAarch64`].
    Aarch64 {
        /// The dotprod build (`sdot` lanes; Q4_0/Q8_0/Q4_K/Q6_K matrices repacked).
        dotprod: bool,
    },
}

/// Run `$body` with `$isa` bound to the back end's token (a concrete type per arm).
macro_rules! with_isa {
    ($self:expr, |$isa:ident| $body:expr) => {
        match $self.backend {
            Backend::Scalar($isa) => $body,
            Backend::ScalarAarch64($isa) => $body,
            #[cfg(target_arch = "x86_64")]
            Backend::Avx2($isa) => $body,
            #[cfg(all(target_arch = "x86_64", bague_avx512))]
            Backend::Avx512($isa) => $body,
            #[cfg(target_arch = "aarch64")]
            Backend::Neon($isa) => $body,
            #[cfg(target_arch = "aarch64")]
            Backend::NeonDot($isa) => $body,
            #[cfg(target_arch = "arm")]
            Backend::Dsp($isa) => $body,
            #[cfg(target_arch = "arm")]
            Backend::Mve($isa) => $body,
        }
    };
}

mod float;
pub use float::F16DotOrder;

/// Run `$body` with type `$W` bound to the block struct of weight type `$wt`.
macro_rules! with_weight {
    ($wt:expr, |$W:ident| $body:expr, $role:expr) => {
        match $wt {
            GgmlType::Q4_0 => {
                type $W = BlockQ4_0;
                $body
            }
            GgmlType::Q4_1 => {
                type $W = BlockQ4_1;
                $body
            }
            GgmlType::Q5_0 => {
                type $W = BlockQ5_0;
                $body
            }
            GgmlType::Q5_1 => {
                type $W = BlockQ5_1;
                $body
            }
            GgmlType::Q8_0 => {
                type $W = BlockQ8_0;
                $body
            }
            GgmlType::IQ4_NL => {
                type $W = BlockIq4Nl;
                $body
            }
            GgmlType::Q2_K => {
                type $W = BlockQ2K;
                $body
            }
            GgmlType::Q3_K => {
                type $W = BlockQ3K;
                $body
            }
            GgmlType::Q4_K => {
                type $W = BlockQ4K;
                $body
            }
            GgmlType::Q5_K => {
                type $W = BlockQ5K;
                $body
            }
            GgmlType::Q6_K => {
                type $W = BlockQ6K;
                $body
            }
            GgmlType::F32 => {
                type $W = F32;
                $body
            }
            GgmlType::F16 => {
                type $W = F16;
                $body
            }
            GgmlType::BF16 => {
                type $W = BF16;
                $body
            }
            ty => Err(KernelError::Unsupported { ty, role: $role }),
        }
    };
}

impl Kernels {
    /// The best back end this CPU supports. With `std`, the environment variable
    /// `BAGUE_KERNELS` = `scalar` | `avx2` | `avx512` | `neon` | `neon+dotprod` forces one; an unknown
    /// or unavailable value falls back to the best available (check [`Kernels::name`], or
    /// use [`from_env`](Self::from_env), which refuses it). Without `std`, the choice
    /// follows the compile-time target features; on a Cortex-M (no CPUID) always so: `mve`
    /// in a Helium build, else `dsp` in a DSP build, else `scalar` (`arch::arm` says how a
    /// board's `target-cpu` selects them).
    pub fn detect() -> Kernels {
        Self::from_env().unwrap_or_else(|_| Self::best())
    }

    /// [`detect`](Self::detect) that refuses a `BAGUE_KERNELS` value naming no back end of
    /// this CPU (a typo must not silently run other kernels). Errors: the value given
    /// (at most 32 bytes of it).
    pub fn from_env() -> Result<Kernels, UnknownKernels> {
        #[cfg(feature = "std")]
        if let Ok(v) = std::env::var("BAGUE_KERNELS") {
            return Self::by_name(v.trim()).ok_or_else(|| UnknownKernels::new(v.trim()));
        }
        Ok(Self::best())
    }

    /// The back end named `name` (`"scalar"`, `"avx2"`, …) if this CPU supports it.
    pub fn by_name(name: &str) -> Option<Kernels> {
        match name {
            "scalar" => Some(Self::scalar()),
            "scalar-aarch64" => Some(Self::scalar_aarch64(false)),
            "scalar-aarch64+dotprod" => Some(Self::scalar_aarch64(true)),
            #[cfg(target_arch = "x86_64")]
            "avx2" => crate::arch::x86_64::Avx2Fma::detect().map(|t| Kernels {
                backend: Backend::Avx2(t),
            }),
            #[cfg(all(target_arch = "x86_64", bague_avx512))]
            "avx512" => crate::arch::x86_64::Avx512Vnni::detect().map(|t| Kernels {
                backend: Backend::Avx512(t),
            }),
            #[cfg(target_arch = "aarch64")]
            "neon" => crate::arch::aarch64::Neon::detect().map(|t| Kernels {
                backend: Backend::Neon(t),
            }),
            #[cfg(target_arch = "aarch64")]
            "neon+dotprod" => crate::arch::aarch64::NeonDot::detect().map(|t| Kernels {
                backend: Backend::NeonDot(t),
            }),
            #[cfg(target_arch = "arm")]
            "dsp" => crate::arch::arm::Dsp::detect().map(|t| Kernels {
                backend: Backend::Dsp(t),
            }),
            #[cfg(target_arch = "arm")]
            "mve" => crate::arch::arm::Mve::detect().map(|t| Kernels {
                backend: Backend::Mve(t),
            }),
            _ => None,
        }
    }

    /// Every back end this CPU supports, best last (for tests and benchmarks).
    pub fn available() -> impl Iterator<Item = Kernels> {
        [
            "scalar",
            "avx2",
            "avx512",
            "neon",
            "neon+dotprod",
            "dsp",
            "mve",
        ]
        .into_iter()
        .filter_map(Self::by_name)
    }

    fn best() -> Kernels {
        // AVX-512 returns the AVX2 kernels' bits (see `arch::x86_64::Avx512Vnni`), so it
        // is preferred where the CPU has it at no fidelity cost
        #[cfg(all(target_arch = "x86_64", bague_avx512))]
        if let Some(t) = crate::arch::x86_64::Avx512Vnni::detect() {
            return Kernels {
                backend: Backend::Avx512(t),
            };
        }
        #[cfg(target_arch = "x86_64")]
        if let Some(t) = crate::arch::x86_64::Avx2Fma::detect() {
            return Kernels {
                backend: Backend::Avx2(t),
            };
        }
        #[cfg(target_arch = "aarch64")]
        if let Some(t) = crate::arch::aarch64::NeonDot::detect() {
            return Kernels {
                backend: Backend::NeonDot(t),
            };
        }
        #[cfg(target_arch = "aarch64")]
        if let Some(t) = crate::arch::aarch64::Neon::detect() {
            return Kernels {
                backend: Backend::Neon(t),
            };
        }
        // Cortex-M: fixed at compile time (see `arch::arm`); both return the scalar bits
        #[cfg(target_arch = "arm")]
        if let Some(t) = crate::arch::arm::Mve::detect() {
            return Kernels {
                backend: Backend::Mve(t),
            };
        }
        #[cfg(target_arch = "arm")]
        if let Some(t) = crate::arch::arm::Dsp::detect() {
            return Kernels {
                backend: Backend::Dsp(t),
            };
        }
        Self::scalar()
    }

    /// The scalar reference back end (every target).
    pub const fn scalar() -> Kernels {
        Kernels {
            backend: Backend::Scalar(Scalar),
        }
    }

    /// The scalar models of llama.cpp's aarch64 build (`dotprod`: the
    /// `armv8.2-a+dotprod` build), on every target: the numbers the NEON back ends give,
    /// slowly, on any host ([`ScalarAarch64`]).
    pub const fn scalar_aarch64(dotprod: bool) -> Kernels {
        Kernels {
            backend: Backend::ScalarAarch64(ScalarAarch64 { dotprod }),
        }
    }

    /// `"scalar"`, `"avx2"`, `"avx512"`, `"neon"`, `"neon+dotprod"`, `"dsp"`, `"mve"`,
    /// `"scalar-aarch64"` or `"scalar-aarch64+dotprod"`.
    pub fn name(&self) -> &'static str {
        with_isa!(self, |isa| isa.name())
    }

    /// The scalar back end whose bits this one reproduces for every float operation and, up
    /// to the tolerance of the crate docs, every quantized product (bit for bit where the
    /// back end follows ggml's order, as all the formats of the reference models do):
    /// [`scalar`](Self::scalar) for x86 orders, [`scalar_aarch64`](Self::scalar_aarch64) for
    /// aarch64 ones. Tests compare each back end with it.
    pub fn reference(&self) -> Kernels {
        match self.ggml_order() {
            GgmlOrder::X86 => Self::scalar(),
            GgmlOrder::Aarch64 { dotprod } => Self::scalar_aarch64(dotprod),
        }
    }

    /// Whose arithmetic this back end reproduces ([`GgmlOrder`]).
    pub fn ggml_order(&self) -> GgmlOrder {
        with_isa!(self, |isa| isa.ggml_order())
    }

    /// The type activations must have for a dot product with weights of type `w` (ggml's
    /// `vec_dot_type`): Q8_0 for Q4_0/Q5_0/Q8_0/IQ4_NL, Q8_1 for Q4_1/Q5_1, Q8_K for the
    /// k-quants, the type itself for F32/F16/BF16. Other types map to themselves (and are
    /// not [`supports`](Self::supports)ed).
    pub const fn vec_dot_type(w: GgmlType) -> GgmlType {
        use GgmlType::*;
        match w {
            Q4_0 | Q5_0 | Q8_0 | IQ4_NL => Q8_0,
            Q4_1 | Q5_1 => Q8_1,
            Q2_K | Q3_K | Q4_K | Q5_K | Q6_K => Q8_K,
            other => other,
        }
    }

    /// Whether `vec_dot`, `matvec`, `matmul` and `dequantize_row` accept weights of type `w`.
    pub const fn supports(w: GgmlType) -> bool {
        use GgmlType::*;
        matches!(
            w,
            F32 | F16
                | BF16
                | Q4_0
                | Q4_1
                | Q5_0
                | Q5_1
                | Q8_0
                | IQ4_NL
                | Q2_K
                | Q3_K
                | Q4_K
                | Q5_K
                | Q6_K
        )
    }

    /// Quantize a row of activations `x` (`[n]` f32) to `act` ∈ {Q8_0, Q8_1, Q8_K, F16, BF16,
    /// F32}, writing `act.row_bytes(n)` bytes to `out`. Bytes are identical to ggml's x86
    /// CPU backend on every back end. Errors: `Unsupported`, `NotBlockMultiple`, `Length`.
    pub fn quantize_activation(
        &self,
        act: GgmlType,
        x: &[f32],
        out: &mut [u8],
    ) -> Result<(), KernelError> {
        let need = row_bytes(act, x.len())?;
        check_len("out", need, out.len())?;
        with_isa!(self, |isa| {
            match act {
                GgmlType::Q8_0 => isa.quantize_q8_0(x, cast_mut(out)),
                GgmlType::Q8_1 => isa.quantize_q8_1(x, cast_mut(out)),
                GgmlType::Q8_K => isa.quantize_q8_k(x, cast_mut(out)),
                GgmlType::F16 => isa.f32_to_f16(x, cast_mut(out)),
                GgmlType::BF16 => BF16::quantize(x, cast_mut(out)),
                GgmlType::F32 => F32::quantize(x, cast_mut(out)),
                ty => {
                    return Err(KernelError::Unsupported {
                        ty,
                        role: "activation",
                    });
                }
            }
        });
        Ok(())
    }

    /// Dot product of one weight row (`wt`, `n` elements, `wt.row_bytes(n)` bytes) with one
    /// activation row of type `vec_dot_type(wt)`. Errors: `Unsupported`,
    /// `NotBlockMultiple`, `Length`.
    pub fn vec_dot(
        &self,
        wt: GgmlType,
        n: usize,
        w: &[u8],
        act: &[u8],
    ) -> Result<f32, KernelError> {
        unsupported(wt, "vec_dot")?;
        check_len("w", row_bytes(wt, n)?, w.len())?;
        check_len("act", row_bytes(Self::vec_dot_type(wt), n)?, act.len())?;
        with_weight!(
            wt,
            |W| Ok(with_isa!(self, |isa| W::vec_dot(
                isa,
                cast::<W>(w),
                cast(act)
            ))),
            "vec_dot"
        )
    }

    /// Matrix × vector over a row range (decode): `out[r - rows.start] = row r of w · act`
    /// for `r` in `rows`, in llama.cpp's order ([`MatvecOrder::Repacked`]). `w`: the whole
    /// matrix, `n_rows × wt.row_bytes(n_cols)` bytes (`n_rows` is derived from its length);
    /// `act`: one row of `vec_dot_type(wt)` (`n_cols` elements); `out`: at least `rows.len()`
    /// floats (the rest untouched). Split `rows` across threads: each row's bits are the same
    /// whatever the range. Errors: `Unsupported`, `NotBlockMultiple`, `Length`, `Rows`.
    pub fn matvec(
        &self,
        wt: GgmlType,
        w: &[u8],
        n_cols: usize,
        rows: Range<usize>,
        act: &[u8],
        out: &mut [f32],
    ) -> Result<(), KernelError> {
        self.matvec_ordered(MatvecOrder::Repacked, wt, w, n_cols, rows, act, out)
    }

    /// [`matvec`](Self::matvec) in a chosen summation order (see [`MatvecOrder`]).
    /// Errors: as `matvec`.
    #[allow(clippy::too_many_arguments)] // the matvec arguments plus the order
    pub fn matvec_ordered(
        &self,
        order: MatvecOrder,
        wt: GgmlType,
        w: &[u8],
        n_cols: usize,
        rows: Range<usize>,
        act: &[u8],
        out: &mut [f32],
    ) -> Result<(), KernelError> {
        unsupported(wt, "matvec")?;
        let wrow = row_bytes(wt, n_cols)?;
        if wrow == 0 {
            return Err(KernelError::Length {
                what: "n_cols",
                expected: wt.block_size(),
                got: 0,
            });
        }
        if w.len() % wrow != 0 {
            return Err(KernelError::Length {
                what: "w",
                expected: (w.len() / wrow + 1) * wrow,
                got: w.len(),
            });
        }
        let n_rows = w.len() / wrow;
        if rows.start > rows.end || rows.end > n_rows {
            return Err(KernelError::Rows {
                start: rows.start,
                end: rows.end,
                n_rows,
            });
        }
        check_len("act", row_bytes(Self::vec_dot_type(wt), n_cols)?, act.len())?;
        if out.len() < rows.len() {
            return Err(KernelError::Length {
                what: "out",
                expected: rows.len(),
                got: out.len(),
            });
        }
        let out = &mut out[..rows.len()];
        // every row of the range, already checked against `w`
        let w = &w[rows.start * wrow..rows.end * wrow];
        // aarch64 with dotprod: the repacked kernels where llama.cpp repacks
        if order == MatvecOrder::Repacked
            && with_isa!(self, |isa| isa.gemv(wt, w, wrow, n_rows, act, out))
        {
            return Ok(());
        }
        // llama.cpp repacks a Q4_0 / Q4_K matrix to 8 interleaved rows when it has a multiple
        // of 8 rows (ggml `ggml_repack_get_optimal_repack_type`, x86 AVX2)
        let gemv8 = order == MatvecOrder::Repacked
            && self.ggml_order() == GgmlOrder::X86
            && matches!(wt, GgmlType::Q4_0 | GgmlType::Q4_K)
            && n_rows % 8 == 0;
        with_weight!(
            wt,
            |W| {
                let nb = n_cols / <W as BlockFormat>::BLOCK;
                with_isa!(self, |isa| if gemv8 {
                    W::gemv8(isa, cast(w), nb, cast(act), out)
                } else {
                    W::matvec(isa, cast(w), nb, cast(act), out)
                });
                Ok(())
            },
            "matvec"
        )
    }

    /// Matrix × several vectors (prefill): `out[t * out_stride + (r - rows.start)] = row r ·
    /// token t` for `t < n_tok`, `r` in `rows`. `acts`: `n_tok` rows of `vec_dot_type(wt)`,
    /// each `n_cols` elements; `out_stride ≥ rows.len()`; `out` long enough for the last
    /// token. Weight rows are reused across tokens while they are in cache.
    /// Errors: as [`matvec`](Self::matvec).
    pub fn matmul(
        &self,
        wt: GgmlType,
        w: &[u8],
        n_cols: usize,
        rows: Range<usize>,
        acts: &[u8],
        n_tok: usize,
        out: &mut [f32],
        out_stride: usize,
    ) -> Result<(), KernelError> {
        self.matmul_in_batch(wt, w, n_cols, rows, acts, n_tok, out, out_stride, n_tok)
    }

    /// [`matmul`](Self::matmul) of `n_tok` tokens that are part of a batch of `batch` tokens
    /// (a thread's share of a prefill): the kernel path is the one the whole batch takes
    /// (ggml picks it from the batch size), so each output has the bits a single call over
    /// the whole batch gives it — provided the share starts at a multiple of 4 tokens
    /// (kernels group tokens by 4 from the first). `batch < n_tok` is taken as `n_tok`.
    /// Errors: as [`matmul`](Self::matmul).
    #[allow(clippy::too_many_arguments)] // the matmul arguments plus the batch size
    pub fn matmul_in_batch(
        &self,
        wt: GgmlType,
        w: &[u8],
        n_cols: usize,
        rows: Range<usize>,
        acts: &[u8],
        n_tok: usize,
        out: &mut [f32],
        out_stride: usize,
        batch: usize,
    ) -> Result<(), KernelError> {
        let batch = batch.max(n_tok);
        unsupported(wt, "matmul")?;
        let wrow = row_bytes(wt, n_cols)?;
        if wrow == 0 {
            return Err(KernelError::Length {
                what: "n_cols",
                expected: wt.block_size(),
                got: 0,
            });
        }
        if w.len() % wrow != 0 {
            return Err(KernelError::Length {
                what: "w",
                expected: (w.len() / wrow + 1) * wrow,
                got: w.len(),
            });
        }
        let n_rows = w.len() / wrow;
        if rows.start > rows.end || rows.end > n_rows {
            return Err(KernelError::Rows {
                start: rows.start,
                end: rows.end,
                n_rows,
            });
        }
        let arow = row_bytes(Self::vec_dot_type(wt), n_cols)?;
        check_len(
            "acts",
            arow.checked_mul(n_tok).ok_or(KernelError::Overflow)?,
            acts.len(),
        )?;
        if n_tok == 0 || rows.is_empty() {
            return Ok(());
        }
        if out_stride < rows.len() {
            return Err(KernelError::Length {
                what: "out_stride",
                expected: rows.len(),
                got: out_stride,
            });
        }
        let need = (n_tok - 1)
            .checked_mul(out_stride)
            .and_then(|v| v.checked_add(rows.len()))
            .ok_or(KernelError::Overflow)?;
        if out.len() < need {
            return Err(KernelError::Length {
                what: "out",
                expected: need,
                got: out.len(),
            });
        }
        // a batch of two or more tokens: the back end's batch kernel (ggml's batch order), if
        // it has one
        if batch >= 2
            && with_isa!(self, |isa| isa.gemm(
                wt,
                w,
                n_cols,
                rows.clone(),
                acts,
                n_tok,
                out,
                out_stride,
                batch
            ))
        {
            return Ok(());
        }
        with_weight!(
            wt,
            |W| {
                with_isa!(self, |isa| matmul_t::<_, W>(
                    isa,
                    cast(w),
                    n_cols / <W as BlockFormat>::BLOCK,
                    rows,
                    cast(acts),
                    n_tok,
                    out,
                    out_stride
                ));
                Ok(())
            },
            "matmul"
        )
    }

    /// Matrix × vector over rows that are `row_stride` bytes apart (e.g. one KV head's keys
    /// inside a `[pos][n_kv_head * head_dim]` f16 cache): `out[i]` = (the `wt.row_bytes(n_cols)`
    /// bytes of `w` from `i * row_stride`) · `act`, for every `i < out.len()`. One call
    /// replaces `out.len()` short `vec_dot`s (one check, one dispatch).
    /// Errors: `Unsupported`, `NotBlockMultiple`, `Length` (`row_stride` below the row size,
    /// `w` too short for the last row, `act` of the wrong size), `Overflow`.
    pub fn matvec_strided(
        &self,
        wt: GgmlType,
        w: &[u8],
        n_cols: usize,
        row_stride: usize,
        act: &[u8],
        out: &mut [f32],
    ) -> Result<(), KernelError> {
        unsupported(wt, "matvec_strided")?;
        let rb = row_bytes(wt, n_cols)?;
        check_len("act", row_bytes(Self::vec_dot_type(wt), n_cols)?, act.len())?;
        if out.is_empty() {
            return Ok(());
        }
        check_rows(w.len(), out.len(), rb, row_stride)?;
        with_weight!(
            wt,
            |W| {
                with_isa!(self, |isa| {
                    let a = cast::<<W as BlockFormat>::Act>(act);
                    for (i, o) in out.iter_mut().enumerate() {
                        let r = &w[i * row_stride..i * row_stride + rb];
                        *o = W::vec_dot(isa, cast::<W>(r), a);
                    }
                });
                Ok(())
            },
            "matvec_strided"
        )
    }

    /// Dequantize one row (`out.len()` elements, `wt.row_bytes(out.len())` bytes of `w`) to
    /// f32 (scalar; exact as ggml's `dequantize_row_*`). Errors: `Unsupported`,
    /// `NotBlockMultiple`, `Length`.
    pub fn dequantize_row(wt: GgmlType, w: &[u8], out: &mut [f32]) -> Result<(), KernelError> {
        if !matches!(wt, GgmlType::Q8_1 | GgmlType::Q8_K) {
            unsupported(wt, "dequantize")?;
        }
        check_len("w", row_bytes(wt, out.len())?, w.len())?;
        match wt {
            GgmlType::Q8_1 => BlockQ8_1::dequantize(cast(w), out),
            GgmlType::Q8_K => BlockQ8K::dequantize(cast(w), out),
            _ => with_weight!(
                wt,
                |W| {
                    W::dequantize(cast::<W>(w), out);
                    Ok(())
                },
                "dequantize"
            )?,
        }
        Ok(())
    }
}

/// Row tile of `matmul`: this many weight rows stay hot in L1/L2 while every token passes.
const ROW_TILE: usize = 16;

fn matmul_t<I: Isa, W: Weight>(
    isa: I,
    w: &[W],
    nb: usize,
    rows: Range<usize>,
    acts: &[W::Act],
    n_tok: usize,
    out: &mut [f32],
    out_stride: usize,
) {
    let anb = acts.len() / n_tok.max(1);
    let act = |t: usize| &acts[t * anb..(t + 1) * anb];
    let mut r0 = rows.start;
    while r0 < rows.end {
        let r1 = (r0 + ROW_TILE).min(rows.end);
        let mut t = 0;
        // four tokens per weight row pass: each block is decoded once for the four
        while t + 4 <= n_tok {
            let a = [act(t), act(t + 1), act(t + 2), act(t + 3)];
            for r in r0..r1 {
                let v = W::vec_dot_x4(isa, &w[r * nb..(r + 1) * nb], a);
                for (k, v) in v.into_iter().enumerate() {
                    out[(t + k) * out_stride + (r - rows.start)] = v;
                }
            }
            t += 4;
        }
        for t in t..n_tok {
            let a = act(t);
            let o = &mut out[t * out_stride + (r0 - rows.start)..];
            for (r, o) in (r0..r1).zip(o.iter_mut()) {
                *o = W::vec_dot(isa, &w[r * nb..(r + 1) * nb], a);
            }
        }
        r0 = r1;
    }
}

fn unsupported(ty: GgmlType, role: &'static str) -> Result<(), KernelError> {
    if Kernels::supports(ty) {
        Ok(())
    } else {
        Err(KernelError::Unsupported { ty, role })
    }
}

fn row_bytes(ty: GgmlType, n: usize) -> Result<usize, KernelError> {
    match ty.row_bytes(n as u64) {
        Some(b) => usize::try_from(b).map_err(|_| KernelError::Overflow),
        None if n % ty.block_size() != 0 => Err(KernelError::NotBlockMultiple { ty, n }),
        None => Err(KernelError::Overflow),
    }
}

/// `n_rows` (≥ 1) rows of `row_len` elements, `row_stride` apart, fit in `w_len`, and a row
/// fits in its stride. Errors: `Length` naming `row_stride` or `w`, `Overflow`.
fn check_rows(
    w_len: usize,
    n_rows: usize,
    row_len: usize,
    row_stride: usize,
) -> Result<(), KernelError> {
    if row_stride < row_len {
        return Err(KernelError::Length {
            what: "row_stride",
            expected: row_len,
            got: row_stride,
        });
    }
    let need = n_rows
        .saturating_sub(1)
        .checked_mul(row_stride)
        .and_then(|v| v.checked_add(row_len))
        .ok_or(KernelError::Overflow)?;
    if w_len < need {
        return Err(KernelError::Length {
            what: "w",
            expected: need,
            got: w_len,
        });
    }
    Ok(())
}

fn check_len(what: &'static str, expected: usize, got: usize) -> Result<(), KernelError> {
    if expected == got {
        Ok(())
    } else {
        Err(KernelError::Length {
            what,
            expected,
            got,
        })
    }
}

/// View validated bytes as blocks. Lengths are checked by the callers, and every block type
/// has alignment 1, so the cast cannot fail; an empty slice is returned if it ever did.
fn cast<B: bytemuck::Pod>(b: &[u8]) -> &[B] {
    bytemuck::try_cast_slice(b).unwrap_or(&[])
}

fn cast_mut<B: bytemuck::Pod>(b: &mut [u8]) -> &mut [B] {
    bytemuck::try_cast_slice_mut(b).unwrap_or(&mut [])
}

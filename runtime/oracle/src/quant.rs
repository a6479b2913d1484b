//! ggml's own block kernels, one row at a time: dequantize (`to_float`), the reference and the
//! CPU-backend quantizers, `ggml_quantize_chunk`, and the CPU backend's `vec_dot`.
//!
//! Types are ggml type numbers (`u32`, as in GGUF: Q4_0 = 2, Q8_0 = 8, Q4_K = 12 …), so the
//! oracle does not depend on the crates it checks. Every length is checked here before ggml
//! sees a pointer: ggml itself trusts its callers (it reads `n / block * type_size` bytes and
//! writes `n` values without looking at any buffer length).

use std::ffi::CStr;
use std::os::raw::c_void;
use std::sync::Once;

use llama_cpp_sys_2 as sys;

use crate::error::{Error, Result};

/// `ggml_cpu_init()` once per process: it fills the CPU backend's f16 / GELU tables that its
/// kernels read (on hosts without F16C the f16 → f32 conversion is such a table lookup).
fn cpu_init() {
    static INIT: Once = Once::new();
    // SAFETY: ggml_cpu_init takes no arguments, is idempotent and guards itself with ggml's
    // critical section; Once makes it run before any CPU kernel is called from this crate.
    INIT.call_once(|| unsafe { sys::ggml_cpu_init() });
}

/// Block size (values per block) and bytes per block of a ggml type, after checking that the
/// number names a live type (removed numbers 4, 5, 31–33, 36–38 have block size 0 in ggml).
fn layout(ty: u32) -> Result<(usize, usize)> {
    if ty >= sys::GGML_TYPE_COUNT {
        return Err(Error::UnknownType(ty));
    }
    // SAFETY: ty < GGML_TYPE_COUNT, so both are plain reads of ggml's static type table.
    let (block, size) = unsafe { (sys::ggml_blck_size(ty), sys::ggml_type_size(ty)) };
    if block <= 0 || size == 0 {
        return Err(Error::UnknownType(ty));
    }
    Ok((block as usize, size))
}

/// Bytes of `n` values of type `ty`; `n` must be whole blocks.
fn row_bytes(ty: u32, n: usize) -> Result<usize> {
    let (block, size) = layout(ty)?;
    if !n.is_multiple_of(block) {
        return Err(Error::NotWholeBlocks { n, block });
    }
    Ok(n / block * size)
}

fn check_len(arg: &'static str, expected: usize, got: usize) -> Result<()> {
    if expected != got {
        return Err(Error::Length { arg, expected, got });
    }
    Ok(())
}

fn traits(ty: u32) -> Result<&'static sys::ggml_type_traits> {
    layout(ty)?;
    // SAFETY: ty < GGML_TYPE_COUNT (checked by layout), so ggml_get_type_traits returns a
    // pointer into its static, never-mutated table, valid for the whole program.
    Ok(unsafe { &*sys::ggml_get_type_traits(ty) })
}

fn traits_cpu(ty: u32) -> Result<&'static sys::ggml_type_traits_cpu> {
    layout(ty)?;
    cpu_init();
    // SAFETY: as above, for the CPU backend's static table (indexed by type, no assert).
    Ok(unsafe { &*sys::ggml_get_type_traits_cpu(ty) })
}

fn n_i64(n: usize) -> i64 {
    // Slices never exceed isize::MAX elements, so this cannot truncate.
    n as i64
}

/// ggml's name of a type (`"q4_K"`, `"f16"` …). Errors: `UnknownType`.
pub fn type_name(ty: u32) -> Result<String> {
    let t = traits(ty)?;
    // SAFETY: type_name of a live type is a static NUL-terminated C string in ggml's table.
    Ok(unsafe { CStr::from_ptr(t.type_name) }
        .to_string_lossy()
        .into_owned())
}

/// Values per block and bytes per block of `ty`, as ggml sees them. Errors: `UnknownType`.
pub fn block_layout(ty: u32) -> Result<(usize, usize)> {
    layout(ty)
}

/// Dequantize one row with ggml's `to_float`: `src` is `out.len() / block` blocks of `ty`,
/// `out` receives `out.len()` f32 values. Errors: `UnknownType`, `NotWholeBlocks`, `Length`,
/// `Unsupported` (F32 and integer types have no `to_float`). Source: ggml `type_traits[ty].to_float`.
pub fn dequantize_row(ty: u32, src: &[u8], out: &mut [f32]) -> Result<()> {
    let f = traits(ty)?.to_float.ok_or(Error::Unsupported {
        ty,
        what: "to_float",
    })?;
    check_len("src", row_bytes(ty, out.len())?, src.len())?;
    // SAFETY: src holds exactly out.len()/block blocks of ty and out holds out.len() floats,
    // which is all to_float reads and writes for k = out.len().
    unsafe {
        f(
            src.as_ptr().cast::<c_void>(),
            out.as_mut_ptr(),
            n_i64(out.len()),
        )
    };
    Ok(())
}

/// Quantize one row with ggml's reference quantizer `from_float_ref` (what ggml-quants.c
/// defines as the format's meaning; weight files are made with it when there is no imatrix).
/// `src`: n f32 values, n whole blocks; `out`: `n / block * type_size` bytes.
/// Errors: `UnknownType`, `NotWholeBlocks`, `Length`, `Unsupported`.
pub fn quantize_row_ref(ty: u32, src: &[f32], out: &mut [u8]) -> Result<()> {
    let f = traits(ty)?.from_float_ref.ok_or(Error::Unsupported {
        ty,
        what: "from_float_ref",
    })?;
    check_len("out", row_bytes(ty, src.len())?, out.len())?;
    // SAFETY: src holds k = src.len() floats (whole blocks) and out exactly k/block blocks of
    // ty, which is what from_float_ref reads and writes.
    unsafe {
        f(
            src.as_ptr(),
            out.as_mut_ptr().cast::<c_void>(),
            n_i64(src.len()),
        )
    };
    Ok(())
}

/// Quantize one row with the CPU backend's `from_float`: the SIMD quantizer llama.cpp applies
/// to activations before `vec_dot` (Q8_0, Q8_1, Q8_K on the host's fastest path). Its rounding
/// may differ from [`quantize_row_ref`]. Same shapes and errors as [`quantize_row_ref`].
/// Source: ggml-cpu `type_traits_cpu[ty].from_float`.
pub fn quantize_row_cpu(ty: u32, src: &[f32], out: &mut [u8]) -> Result<()> {
    let f = traits_cpu(ty)?.from_float.ok_or(Error::Unsupported {
        ty,
        what: "from_float",
    })?;
    check_len("out", row_bytes(ty, src.len())?, out.len())?;
    // SAFETY: as in quantize_row_ref; the CPU table's functions take the same arguments.
    unsafe {
        f(
            src.as_ptr(),
            out.as_mut_ptr().cast::<c_void>(),
            n_i64(src.len()),
        )
    };
    Ok(())
}

/// Types `ggml_quantize_chunk` has a case for (it aborts the process on any other).
fn chunk_supported(ty: u32) -> bool {
    use sys::*;
    !matches!(
        ty,
        GGML_TYPE_Q8_1
            | GGML_TYPE_Q8_K
            | GGML_TYPE_I8
            | GGML_TYPE_I16
            | GGML_TYPE_I32
            | GGML_TYPE_I64
            | GGML_TYPE_F64
    )
}

/// Quantize `src.len() / n_per_row` rows of `n_per_row` values with `ggml_quantize_chunk`, the
/// entry point `llama-quantize` uses (with `imatrix`, one weight per column, when given).
/// Returns the bytes written, `rows * row_size(ty, n_per_row)` = `out.len()`.
/// Errors: `UnknownType`, `NotWholeBlocks`, `Length` (src not whole rows, out of the wrong size,
/// imatrix not `n_per_row` long), `Unsupported` (no chunk quantizer, or an imatrix is required).
pub fn quantize_chunk(
    ty: u32,
    src: &[f32],
    n_per_row: usize,
    imatrix: Option<&[f32]>,
    out: &mut [u8],
) -> Result<usize> {
    let row = row_bytes(ty, n_per_row)?;
    if !chunk_supported(ty) {
        return Err(Error::Unsupported {
            ty,
            what: "ggml_quantize_chunk",
        });
    }
    if n_per_row == 0 || !src.len().is_multiple_of(n_per_row) {
        return Err(Error::Length {
            arg: "src",
            expected: n_per_row,
            got: src.len(),
        });
    }
    let rows = src.len() / n_per_row;
    check_len("out", rows * row, out.len())?;
    let im = match imatrix {
        Some(m) => {
            check_len("imatrix", n_per_row, m.len())?;
            m.as_ptr()
        }
        None => {
            // SAFETY: ty is a live type number; this is a pure predicate.
            if unsafe { sys::ggml_quantize_requires_imatrix(ty) } {
                return Err(Error::Unsupported {
                    ty,
                    what: "quantize_chunk without imatrix",
                });
            }
            std::ptr::null()
        }
    };
    // SAFETY: src holds rows*n_per_row floats, out exactly rows row_size(ty, n_per_row) bytes,
    // im is null or n_per_row floats; start = 0 satisfies ggml's block/row alignment asserts,
    // and ty has a case in ggml's switch (chunk_supported).
    let written = unsafe {
        sys::ggml_quantize_chunk(
            ty,
            src.as_ptr(),
            out.as_mut_ptr().cast::<c_void>(),
            0,
            n_i64(rows),
            n_i64(n_per_row),
            im,
        )
    };
    Ok(written)
}

/// The activation type the CPU backend pairs with weights of type `ty` in `vec_dot`
/// (Q8_0 for Q4_0/Q5_0/Q8_0/IQ4_NL, Q8_1 for Q4_1/Q5_1, Q8_K for k-quants, F16 for F16 …).
/// Errors: `UnknownType`, `Unsupported` (no CPU `vec_dot` for `ty`).
pub fn vec_dot_type(ty: u32) -> Result<u32> {
    let t = traits_cpu(ty)?;
    if t.vec_dot.is_none() {
        return Err(Error::Unsupported {
            ty,
            what: "vec_dot",
        });
    }
    Ok(t.vec_dot_type)
}

/// Dot product of `n` values: weights `w` (`n` values of type `ty`) with activations `act`
/// (`n` values of [`vec_dot_type`]`(ty)`, e.g. from [`quantize_row_cpu`]), with the CPU backend's
/// `vec_dot` on this build's fastest path (nrc = 1, one row). Returns the f32 sum.
/// Errors: `UnknownType`, `Unsupported`, `NotWholeBlocks`, `Length`.
pub fn vec_dot(ty: u32, n: usize, w: &[u8], act: &[u8]) -> Result<f32> {
    let t = traits_cpu(ty)?;
    let f = t.vec_dot.ok_or(Error::Unsupported {
        ty,
        what: "vec_dot",
    })?;
    check_len("w", row_bytes(ty, n)?, w.len())?;
    check_len("act", row_bytes(t.vec_dot_type, n)?, act.len())?;
    let n_c = i32::try_from(n).map_err(|_| Error::Length {
        arg: "n",
        expected: i32::MAX as usize,
        got: n,
    })?;
    let mut s = 0.0f32;
    // SAFETY: w holds exactly n values of ty and act n values of vec_dot_type (whole blocks
    // of both), which is what vec_dot reads for nrc = 1; it writes one float to s. Strides are
    // unused when nrc = 1.
    unsafe {
        f(
            n_c,
            &mut s,
            0,
            w.as_ptr().cast::<c_void>(),
            0,
            act.as_ptr().cast::<c_void>(),
            0,
            1,
        )
    };
    Ok(s)
}

/// Row-by-row matrix × vector with ggml's `vec_dot`: `w` is `rows` rows of `n` values of `ty`
/// (`rows * row_size` bytes), `act` one row of `n` values of [`vec_dot_type`]`(ty)`,
/// `out[r] = vec_dot(row r, act)`; `rows = out.len()`. One thread. Same errors as [`vec_dot`].
pub fn matvec(ty: u32, n: usize, w: &[u8], act: &[u8], out: &mut [f32]) -> Result<()> {
    let t = traits_cpu(ty)?;
    let f = t.vec_dot.ok_or(Error::Unsupported {
        ty,
        what: "vec_dot",
    })?;
    let row = row_bytes(ty, n)?;
    check_len("w", row * out.len(), w.len())?;
    check_len("act", row_bytes(t.vec_dot_type, n)?, act.len())?;
    let n_c = i32::try_from(n).map_err(|_| Error::Length {
        arg: "n",
        expected: i32::MAX as usize,
        got: n,
    })?;
    for (r, o) in out.iter_mut().enumerate() {
        // SAFETY: row r is w[r*row..(r+1)*row], in bounds since w.len() = row * out.len();
        // act has one row of vec_dot_type; vec_dot writes one float to o.
        unsafe {
            f(
                n_c,
                o,
                0,
                w.as_ptr().add(r * row).cast::<c_void>(),
                0,
                act.as_ptr().cast::<c_void>(),
                0,
                1,
            )
        };
    }
    Ok(())
}

/// The instruction sets this ggml build was compiled for (ggml's `ggml_cpu_has_*` report
/// compile-time flags), space-separated, e.g. `"SSE3 SSSE3 AVX AVX2 F16C FMA BMI2 LLAMAFILE"`.
pub fn cpu_features() -> String {
    type Probe = unsafe extern "C" fn() -> i32;
    let probes: [(&str, Probe); 21] = [
        ("SSE3", sys::ggml_cpu_has_sse3),
        ("SSSE3", sys::ggml_cpu_has_ssse3),
        ("AVX", sys::ggml_cpu_has_avx),
        ("AVX_VNNI", sys::ggml_cpu_has_avx_vnni),
        ("AVX2", sys::ggml_cpu_has_avx2),
        ("F16C", sys::ggml_cpu_has_f16c),
        ("FMA", sys::ggml_cpu_has_fma),
        ("BMI2", sys::ggml_cpu_has_bmi2),
        ("AVX512", sys::ggml_cpu_has_avx512),
        ("AVX512_VBMI", sys::ggml_cpu_has_avx512_vbmi),
        ("AVX512_VNNI", sys::ggml_cpu_has_avx512_vnni),
        ("AVX512_BF16", sys::ggml_cpu_has_avx512_bf16),
        ("AMX_INT8", sys::ggml_cpu_has_amx_int8),
        ("NEON", sys::ggml_cpu_has_neon),
        ("ARM_FMA", sys::ggml_cpu_has_arm_fma),
        ("FP16_VA", sys::ggml_cpu_has_fp16_va),
        ("DOTPROD", sys::ggml_cpu_has_dotprod),
        ("MATMUL_INT8", sys::ggml_cpu_has_matmul_int8),
        ("SVE", sys::ggml_cpu_has_sve),
        ("WASM_SIMD", sys::ggml_cpu_has_wasm_simd),
        ("LLAMAFILE", sys::ggml_cpu_has_llamafile),
    ];
    cpu_init();
    probes
        .iter()
        // SAFETY: each probe takes no arguments and returns a constant int.
        .filter(|(_, p)| unsafe { p() } != 0)
        .map(|(name, _)| *name)
        .collect::<Vec<_>>()
        .join(" ")
}

//! Our `Kernels::matmul` (prefill, several tokens) against ggml's own `mul_mat` computed
//! through its CPU graph API (`ggml_mul_mat` + `ggml_graph_compute_with_ctx`), which takes the
//! path llama.cpp takes for a batch of tokens on weights outside the repack buffer: llamafile
//! tinyBLAS for Q4_0 / Q5_0 / Q8_0 (n ≥ 2 tokens), the per-row `vec_dot` loop for Q4_1.
//! Bit equality of every (row, token) output, for 1 and 2 ggml threads (threads only split
//! the outputs) and several batch shapes (tile tails on both sides).
//!
//! Weights in llama.cpp's repack buffer ("CPU_REPACK": Q4_K of 8k rows → `ggml_gemm_q4_K_8x8_q8_K`
//! per group of four tokens, `ggml_gemv_…` for the rest) go through the backend API instead:
//! the weight tensor is allocated in that buffer type (ggml repacks it on `tensor_set`) and
//! the graph runs on a CPU backend, as in llama.cpp.

mod common;

use std::ffi::{CStr, c_void};
use std::ptr;

use bague_kernels::{GgmlType, Kernels};
use common::Rng;
use llama_cpp_sys_2 as sys;

/// ggml's `mul_mat(w, x)`: `w` is `n_rows` rows of `n_cols` values of type `ty` (bytes),
/// `x` is `n_tok` rows of `n_cols` f32. Returns `[n_tok][n_rows]`.
fn ggml_mul_mat(
    ty: GgmlType,
    w: &[u8],
    n_cols: usize,
    n_rows: usize,
    x: &[f32],
    n_tok: usize,
    n_threads: i32,
) -> Vec<f32> {
    assert_eq!(
        w.len(),
        ty.row_bytes(n_cols as u64).unwrap() as usize * n_rows
    );
    assert_eq!(x.len(), n_cols * n_tok);
    // weights + activations + their Q8 copy + result + graph, with room to spare
    let mem = 2 * w.len() + 3 * 4 * x.len() + 4 * n_rows * n_tok + (16 << 20);
    // SAFETY: ggml_cpu_init is idempotent. ggml_init with mem_buffer null allocates its own
    // arena of `mem` bytes; every tensor below lives in it, and the byte counts copied into
    // them are the tensors' own sizes (asserted against ggml_nbytes). The context is freed
    // after the result is copied out, and nothing keeps a pointer into it.
    unsafe {
        sys::ggml_cpu_init();
        let ctx = sys::ggml_init(sys::ggml_init_params {
            mem_size: mem,
            mem_buffer: ptr::null_mut(),
            no_alloc: false,
        });
        assert!(!ctx.is_null());
        let a = sys::ggml_new_tensor_2d(ctx, ty as u32, n_cols as i64, n_rows as i64);
        let b = sys::ggml_new_tensor_2d(ctx, GgmlType::F32 as u32, n_cols as i64, n_tok as i64);
        assert_eq!(sys::ggml_nbytes(a), w.len());
        assert_eq!(sys::ggml_nbytes(b), 4 * x.len());
        ptr::copy_nonoverlapping(w.as_ptr(), (*a).data.cast::<u8>(), w.len());
        ptr::copy_nonoverlapping(x.as_ptr(), (*b).data.cast::<f32>(), x.len());
        let c = sys::ggml_mul_mat(ctx, a, b);
        let gf = sys::ggml_new_graph(ctx);
        sys::ggml_build_forward_expand(gf, c);
        let st = sys::ggml_graph_compute_with_ctx(ctx, gf, n_threads);
        assert_eq!(st, sys::GGML_STATUS_SUCCESS);
        assert_eq!(sys::ggml_nbytes(c), 4 * n_rows * n_tok);
        let mut out = vec![0f32; n_rows * n_tok];
        ptr::copy_nonoverlapping((*c).data.cast::<f32>(), out.as_mut_ptr(), out.len());
        sys::ggml_free(ctx);
        out
    }
}

/// Ours: activations quantized by our quantizer (byte-identical to ggml's), then `matmul`
/// over all rows in one call and over two row ranges (as two threads would).
fn ours(k: &Kernels, ty: GgmlType, w: &[u8], n_cols: usize, x: &[f32], n_tok: usize) -> Vec<f32> {
    let rb = ty.row_bytes(n_cols as u64).unwrap() as usize;
    let n_rows = w.len() / rb;
    let at = Kernels::vec_dot_type(ty);
    let ab = at.row_bytes(n_cols as u64).unwrap() as usize;
    let mut acts = vec![0u8; ab * n_tok];
    for (xr, ar) in x.chunks_exact(n_cols).zip(acts.chunks_exact_mut(ab)) {
        k.quantize_activation(at, xr, ar).unwrap();
    }
    let mut out = vec![f32::NAN; n_rows * n_tok];
    k.matmul(ty, w, n_cols, 0..n_rows, &acts, n_tok, &mut out, n_rows)
        .unwrap();
    // the same through two row ranges into one buffer
    let split = n_rows / 2 + 1;
    let mut two = vec![f32::NAN; n_rows * n_tok];
    k.matmul(ty, w, n_cols, 0..split, &acts, n_tok, &mut two, n_rows)
        .unwrap();
    k.matmul(
        ty,
        w,
        n_cols,
        split..n_rows,
        &acts,
        n_tok,
        &mut two[split..],
        n_rows,
    )
    .unwrap();
    assert!(
        out.iter()
            .zip(&two)
            .all(|(a, b)| a.to_bits() == b.to_bits()),
        "{ty}: a row split changed the bits"
    );
    out
}

/// The types whose batch path is tinyBLAS or `vec_dot` in ggml and has an AVX2 batch kernel here.
const EXACT: [GgmlType; 4] = [
    GgmlType::Q4_0,
    GgmlType::Q4_1,
    GgmlType::Q5_0,
    GgmlType::Q8_0,
];

#[test]
fn batch_mul_mat_bit_identical_to_ggml() {
    let Some(k) = Kernels::by_name("avx2") else {
        bague_testkit::skip("this CPU has no AVX2");
        return;
    };
    let mut rng = Rng::new(0x6d75_6c6d);
    for ty in EXACT {
        // (n_cols, n_rows, n_tok): Qwen/SmolLM2 widths, odd tails on rows and tokens
        for (n_cols, n_rows, n_tok) in [(896, 37, 2), (576, 19, 3), (4864, 9, 17), (64, 13, 8)] {
            let w = common::random_blocks(ty, n_cols / 32 * n_rows, &mut rng);
            let x: Vec<f32> = (0..n_cols * n_tok).map(|_| rng.normal()).collect();
            let got = ours(&k, ty, &w, n_cols, &x, n_tok);
            for threads in [1, 2] {
                let want = ggml_mul_mat(ty, &w, n_cols, n_rows, &x, n_tok, threads);
                let bad = got
                    .iter()
                    .zip(&want)
                    .filter(|(a, b)| a.to_bits() != b.to_bits())
                    .count();
                let i = got
                    .iter()
                    .zip(&want)
                    .position(|(a, b)| a.to_bits() != b.to_bits());
                assert_eq!(
                    bad,
                    0,
                    "{ty} {n_cols}x{n_rows} n_tok {n_tok} threads {threads}: {bad} outputs \
                     differ, first at {i:?}: ours {:?} ggml {:?}",
                    i.map(|i| got[i]),
                    i.map(|i| want[i])
                );
            }
        }
    }
}

/// llama.cpp's CPU_REPACK buffer type (from the CPU device's extra buffer types).
fn repack_buft() -> sys::ggml_backend_buffer_type_t {
    // SAFETY: the CPU registry and its device 0 are static in ggml. The proc address, when
    // found, is ggml's `ggml_backend_dev_get_extra_bufts` (signature from the bindings' typedef);
    // it returns a null-terminated array of static buffer types, read until the null.
    unsafe {
        sys::ggml_cpu_init();
        let reg = sys::ggml_backend_cpu_reg();
        let dev = sys::ggml_backend_reg_dev_get(reg, 0);
        let f = sys::ggml_backend_reg_get_proc_address(
            reg,
            c"ggml_backend_dev_get_extra_bufts".as_ptr(),
        );
        assert!(!f.is_null(), "no extra buffer types in this ggml");
        let f: unsafe extern "C" fn(
            sys::ggml_backend_dev_t,
        ) -> *mut sys::ggml_backend_buffer_type_t = std::mem::transmute(f);
        let mut p = f(dev);
        while !p.is_null() && !(*p).is_null() {
            let name = CStr::from_ptr(sys::ggml_backend_buft_name(*p));
            if name.to_bytes() == b"CPU_REPACK" {
                return *p;
            }
            p = p.add(1);
        }
        panic!("CPU_REPACK buffer type not found");
    }
}

/// ggml's `mul_mat(w, x)` with `w` in the repack buffer, computed by a CPU backend with
/// `n_threads` threads. Shapes as [`ggml_mul_mat`].
fn ggml_mul_mat_repacked(
    ty: GgmlType,
    w: &[u8],
    n_cols: usize,
    n_rows: usize,
    x: &[f32],
    n_tok: usize,
    n_threads: i32,
) -> Vec<f32> {
    let buft = repack_buft();
    // SAFETY: both contexts are metadata-only (no_alloc); tensor data lives in the two
    // backend buffers allocated for them, written and read only through
    // ggml_backend_tensor_set / _get with the tensors' own sizes (asserted). Everything is
    // freed before returning and no pointer escapes.
    unsafe {
        let meta = sys::ggml_tensor_overhead() * 8 + sys::ggml_graph_overhead() + 1024;
        let ctx_w = sys::ggml_init(sys::ggml_init_params {
            mem_size: meta,
            mem_buffer: ptr::null_mut(),
            no_alloc: true,
        });
        let a = sys::ggml_new_tensor_2d(ctx_w, ty as u32, n_cols as i64, n_rows as i64);
        let buf_w = sys::ggml_backend_alloc_ctx_tensors_from_buft(ctx_w, buft);
        assert!(!buf_w.is_null());
        assert_eq!(sys::ggml_nbytes(a), w.len());
        sys::ggml_backend_tensor_set(a, w.as_ptr().cast::<c_void>(), 0, w.len());

        let ctx = sys::ggml_init(sys::ggml_init_params {
            mem_size: meta,
            mem_buffer: ptr::null_mut(),
            no_alloc: true,
        });
        let b = sys::ggml_new_tensor_2d(ctx, GgmlType::F32 as u32, n_cols as i64, n_tok as i64);
        let c = sys::ggml_mul_mat(ctx, a, b);
        let backend = sys::ggml_backend_cpu_init();
        sys::ggml_backend_cpu_set_n_threads(backend, n_threads);
        let buf = sys::ggml_backend_alloc_ctx_tensors(ctx, backend);
        assert!(!buf.is_null());
        assert_eq!(sys::ggml_nbytes(b), 4 * x.len());
        sys::ggml_backend_tensor_set(b, x.as_ptr().cast::<c_void>(), 0, 4 * x.len());
        let gf = sys::ggml_new_graph(ctx);
        sys::ggml_build_forward_expand(gf, c);
        assert_eq!(
            sys::ggml_backend_graph_compute(backend, gf),
            sys::GGML_STATUS_SUCCESS
        );
        let mut out = vec![0f32; n_rows * n_tok];
        assert_eq!(sys::ggml_nbytes(c), 4 * out.len());
        sys::ggml_backend_tensor_get(c, out.as_mut_ptr().cast::<c_void>(), 0, 4 * out.len());
        sys::ggml_backend_buffer_free(buf);
        sys::ggml_backend_free(backend);
        sys::ggml_free(ctx);
        sys::ggml_backend_buffer_free(buf_w);
        sys::ggml_free(ctx_w);
        out
    }
}

/// Compare, report the first difference.
fn assert_bits(what: &str, got: &[f32], want: &[f32]) {
    let bad = got
        .iter()
        .zip(want)
        .filter(|(a, b)| a.to_bits() != b.to_bits())
        .count();
    let i = got
        .iter()
        .zip(want)
        .position(|(a, b)| a.to_bits() != b.to_bits());
    assert_eq!(
        bad,
        0,
        "{what}: {bad} of {} outputs differ, first at {i:?}: ours {:?} ggml {:?}",
        got.len(),
        i.map(|i| got[i]),
        i.map(|i| want[i])
    );
}

#[test]
fn batch_mul_mat_tiled_q6_k_bit_identical_to_ggml() {
    // Q6_K has no x86 repack; from 8 tokens on ggml takes its "tiled" kernel
    let Some(k) = Kernels::by_name("avx2") else {
        bague_testkit::skip("this CPU has no AVX2");
        return;
    };
    let mut rng = Rng::new(0x7469_6c65);
    let ty = GgmlType::Q6_K;
    for (n_cols, n_rows, n_tok) in [(4864, 16, 8), (512, 37, 13), (256, 8, 128), (1024, 19, 9)] {
        let w = common::random_blocks(ty, n_cols / 256 * n_rows, &mut rng);
        let x: Vec<f32> = (0..n_cols * n_tok).map(|_| rng.normal()).collect();
        let got = ours(&k, ty, &w, n_cols, &x, n_tok);
        for threads in [1, 2] {
            let want = ggml_mul_mat(ty, &w, n_cols, n_rows, &x, n_tok, threads);
            assert_bits(
                &format!("{ty} tiled {n_cols}x{n_rows} n_tok {n_tok} threads {threads}"),
                &got,
                &want,
            );
        }
    }
}

#[test]
fn batch_mul_mat_repacked_bit_identical_to_llama() {
    let Some(k) = Kernels::by_name("avx2") else {
        bague_testkit::skip("this CPU has no AVX2");
        return;
    };
    let mut rng = Rng::new(0x7265_7061);
    for ty in [GgmlType::Q4_K, GgmlType::Q4_0] {
        // Qwen's ffn_down width, a short row, odd token counts (gemm groups of 4 + gemv tail)
        for (n_cols, n_rows, n_tok) in [(4864, 16, 7), (512, 24, 4), (256, 8, 2), (1024, 32, 13)] {
            let w = common::random_blocks(ty, n_cols / ty.block_size() * n_rows, &mut rng);
            let x: Vec<f32> = (0..n_cols * n_tok).map(|_| rng.normal()).collect();
            let got = ours(&k, ty, &w, n_cols, &x, n_tok);
            for threads in [1, 2] {
                let want = ggml_mul_mat_repacked(ty, &w, n_cols, n_rows, &x, n_tok, threads);
                assert_bits(
                    &format!("{ty} repacked {n_cols}x{n_rows} n_tok {n_tok} threads {threads}"),
                    &got,
                    &want,
                );
            }
        }
    }
}

//! llama.cpp as a [`bague_bench::Engine`]: the same prefill / decode calls `llama-bench`
//! makes, so `bague-bench-vs` can time it beside our engine in the same process.
//!
//! Settings are `llama-bench`'s for a CPU build: model mmapped, no GPU layers; one context
//! per thread count with `n_ctx` = the spec's context, `n_batch` = `n_ubatch` = the prompt
//! length (the whole prompt is one batch, as in our engine), f16 KV cache, flash attention
//! **off** unless [`LlamaEngine::set_flash_attn`] turns it on (llama-bench's `-fa 1`; the
//! engine is then named `llama.cpp -fa`); a ggml thread pool of `n` threads attached to the context, so no threads are
//! created per `llama_decode`, with poll level 50 (`llama-bench`'s default: workers spin a
//! while for the next graph before sleeping; [`LlamaEngine::set_poll`] changes it).
//! `llama_batch_get_one` batches: logits of the last token only.

use std::ffi::{CString, c_char, c_void};
use std::path::Path;
use std::ptr::NonNull;
use std::sync::Once;

use bague_bench::{BoxError, Engine, ModelInfo};
use llama_cpp_sys_2 as sys;

unsafe extern "C" fn quiet_log(
    _level: sys::ggml_log_level,
    _text: *const c_char,
    _user: *mut c_void,
) {
}

/// `llama_backend_init` with llama.cpp's log silenced, once per process.
fn backend_init() {
    static INIT: Once = Once::new();
    // SAFETY: neither call takes pointers we own (a static callback, null user data); Once
    // runs them before any other llama.cpp call of this module.
    INIT.call_once(|| unsafe {
        sys::llama_log_set(Some(quiet_log), std::ptr::null_mut());
        sys::llama_backend_init();
    });
}

/// A context and the thread pool attached to it.
struct Ctx {
    ctx: NonNull<sys::llama_context>,
    pool: NonNull<sys::ggml_threadpool>,
}

impl Drop for Ctx {
    fn drop(&mut self) {
        // SAFETY: both came from their constructors and are freed once, context first (it
        // refers to the pool).
        unsafe {
            sys::llama_free(self.ctx.as_ptr());
            sys::ggml_threadpool_free(self.pool.as_ptr());
        }
    }
}

/// llama.cpp on one model file, timed like our engine. `!Send` (raw pointers inside).
pub struct LlamaEngine {
    model: NonNull<sys::llama_model>,
    ctx: Option<Ctx>,
    n_ctx: u32,
    n_batch: u32,
    /// ggml thread pool poll level (0 = no spinning, 100 = spin the most).
    poll: u32,
    /// Flash attention in the next contexts (llama-bench's `-fa`).
    flash_attn: bool,
    /// Token buffer handed to `llama_batch_get_one` (which wants a mutable pointer).
    buf: Vec<sys::llama_token>,
}

impl LlamaEngine {
    /// Loads `path` (mmapped, CPU only) for contexts of `n_ctx` tokens and prompts of up to
    /// `n_batch` tokens. Errors: a size over `u32`, or llama.cpp refusing the file.
    pub fn load(path: &Path, n_ctx: usize, n_batch: usize) -> Result<LlamaEngine, BoxError> {
        backend_init();
        let n_ctx = u32::try_from(n_ctx).map_err(|_| "n_ctx too large")?;
        let n_batch = u32::try_from(n_batch.max(1)).map_err(|_| "n_batch too large")?;
        let c = CString::new(path.as_os_str().as_encoded_bytes())
            .map_err(|_| format!("path with NUL: {}", path.display()))?;
        // SAFETY: plain struct of defaults, no inputs.
        let mut params = unsafe { sys::llama_model_default_params() };
        params.n_gpu_layers = 0;
        // SAFETY: c is a NUL-terminated path alive for the call; params fully initialized.
        let raw = unsafe { sys::llama_model_load_from_file(c.as_ptr(), params) };
        let model =
            NonNull::new(raw).ok_or_else(|| format!("llama.cpp cannot load {}", path.display()))?;
        Ok(LlamaEngine {
            model,
            ctx: None,
            n_ctx,
            n_batch,
            poll: 50,
            flash_attn: false,
            buf: Vec::new(),
        })
    }

    /// The thread pool's poll level for the next [`Engine::set_threads`] (`llama-bench
    /// --poll`; default 50). Capped at 100.
    pub fn set_poll(&mut self, poll: u32) {
        self.poll = poll.min(100);
    }

    /// Flash attention on or off for the next [`Engine::set_threads`] (llama-bench's `-fa 1`
    /// / `-fa 0`; default off). On, the engine's name is `llama.cpp -fa`.
    pub fn set_flash_attn(&mut self, on: bool) {
        self.flash_attn = on;
    }

    /// `llama_model_size` and `llama_model_n_params`: tensor bytes and weights.
    pub fn size_and_params(&self) -> (u64, u64) {
        // SAFETY: model is live while self is.
        unsafe {
            (
                sys::llama_model_size(self.model.as_ptr()),
                sys::llama_model_n_params(self.model.as_ptr()),
            )
        }
    }

    /// The model as reports name it, read through llama.cpp only (so that a run of this
    /// engine alone maps nothing else): size, parameters, vocabulary size, BOS if added.
    pub fn info(&self, name: &str) -> Result<ModelInfo, BoxError> {
        let (size_bytes, n_params) = self.size_and_params();
        // SAFETY: model is live; its vocab pointer lives as long as it does.
        let (n_vocab, add_bos, bos) = unsafe {
            let v = sys::llama_model_get_vocab(self.model.as_ptr());
            (
                sys::llama_vocab_n_tokens(v),
                sys::llama_vocab_get_add_bos(v),
                sys::llama_vocab_bos(v),
            )
        };
        let n_vocab = u32::try_from(n_vocab)
            .ok()
            .filter(|&n| n > 0)
            .ok_or("llama.cpp reports no vocabulary")?;
        Ok(ModelInfo {
            name: name.to_string(),
            size_bytes,
            n_params,
            n_vocab,
            bos: u32::try_from(bos).ok().filter(|&b| add_bos && b < n_vocab),
        })
    }

    fn ctx(&self) -> Result<NonNull<sys::llama_context>, BoxError> {
        self.ctx
            .as_ref()
            .map(|c| c.ctx)
            .ok_or_else(|| "llama.cpp engine: set_threads was not called".into())
    }

    /// `llama_decode` of `buf` as one batch, then `llama_synchronize`.
    fn decode_buf(&mut self) -> Result<(), BoxError> {
        let ctx = self.ctx()?;
        let n = i32::try_from(self.buf.len()).map_err(|_| "batch too large")?;
        // SAFETY: buf holds n tokens and outlives the call; the batch only borrows it.
        let rc = unsafe {
            let batch = sys::llama_batch_get_one(self.buf.as_mut_ptr(), n);
            let rc = sys::llama_decode(ctx.as_ptr(), batch);
            sys::llama_synchronize(ctx.as_ptr());
            rc
        };
        if rc != 0 {
            return Err(format!("llama_decode returned {rc}").into());
        }
        Ok(())
    }
}

impl Drop for LlamaEngine {
    fn drop(&mut self) {
        self.ctx = None; // contexts before their model
        // SAFETY: model came from llama_model_load_from_file; no context refers to it now.
        unsafe { sys::llama_model_free(self.model.as_ptr()) }
    }
}

/// The instruction sets ggml's CPU back end was compiled with, e.g. `"ggml AVX2 AVX512"`.
pub fn ggml_backend() -> String {
    backend_init();
    type Probe = unsafe extern "C" fn() -> i32;
    let probes: [(&str, Probe); 6] = [
        ("AVX2", sys::ggml_cpu_has_avx2),
        ("FMA", sys::ggml_cpu_has_fma),
        ("AVX_VNNI", sys::ggml_cpu_has_avx_vnni),
        ("AVX512", sys::ggml_cpu_has_avx512),
        ("AVX512_VNNI", sys::ggml_cpu_has_avx512_vnni),
        ("NEON", sys::ggml_cpu_has_neon),
    ];
    let mut s = String::from("ggml");
    for (name, probe) in probes {
        // SAFETY: the probes read compile-time flags (and CPU info ggml cached at init).
        if unsafe { probe() } != 0 {
            s.push(' ');
            s.push_str(name);
        }
    }
    s
}

impl Engine for LlamaEngine {
    fn name(&self) -> &str {
        if self.flash_attn {
            "llama.cpp -fa"
        } else {
            "llama.cpp"
        }
    }

    fn backend(&self) -> String {
        ggml_backend()
    }

    fn set_threads(&mut self, n: usize) -> Result<(), BoxError> {
        self.ctx = None;
        let n = i32::try_from(n).map_err(|_| "too many threads")?;
        // SAFETY: plain struct of defaults, no inputs.
        let mut cp = unsafe { sys::llama_context_default_params() };
        cp.n_ctx = self.n_ctx;
        cp.n_batch = self.n_batch;
        cp.n_ubatch = self.n_batch;
        cp.n_seq_max = 1;
        cp.n_threads = n;
        cp.n_threads_batch = n;
        cp.flash_attn_type = if self.flash_attn {
            sys::LLAMA_FLASH_ATTN_TYPE_ENABLED
        } else {
            sys::LLAMA_FLASH_ATTN_TYPE_DISABLED
        };
        cp.type_k = sys::GGML_TYPE_F16;
        cp.type_v = sys::GGML_TYPE_F16;
        cp.no_perf = true;
        // SAFETY: model is live and outlives the context (dropped first in Drop); cp is
        // fully initialized.
        let ctx = NonNull::new(unsafe { sys::llama_init_from_model(self.model.as_ptr(), cp) })
            .ok_or("llama_init_from_model failed")?;
        // SAFETY: plain struct of defaults for n threads.
        let mut tpp = unsafe { sys::ggml_threadpool_params_default(n) };
        tpp.poll = self.poll;
        // SAFETY: tpp is a valid, initialized parameter struct for the call.
        let pool = match NonNull::new(unsafe { sys::ggml_threadpool_new(&mut tpp) }) {
            Some(p) => p,
            None => {
                // SAFETY: ctx is live and freed once here.
                unsafe { sys::llama_free(ctx.as_ptr()) };
                return Err("ggml_threadpool_new failed".into());
            }
        };
        // SAFETY: ctx and pool are live; the pool outlives its use (Ctx frees ctx first).
        unsafe { sys::llama_attach_threadpool(ctx.as_ptr(), pool.as_ptr(), std::ptr::null_mut()) };
        self.ctx = Some(Ctx { ctx, pool });
        Ok(())
    }

    fn clear(&mut self) -> Result<(), BoxError> {
        let ctx = self.ctx()?;
        // SAFETY: ctx is live; its memory handle lives as long as it does.
        unsafe { sys::llama_memory_clear(sys::llama_get_memory(ctx.as_ptr()), false) };
        Ok(())
    }

    fn prefill(&mut self, tokens: &[u32]) -> Result<(), BoxError> {
        self.buf.clear();
        for &t in tokens {
            self.buf
                .push(i32::try_from(t).map_err(|_| "token id too large")?);
        }
        self.decode_buf()
    }

    fn decode(&mut self, token: u32) -> Result<(), BoxError> {
        self.buf.clear();
        self.buf
            .push(i32::try_from(token).map_err(|_| "token id too large")?);
        self.decode_buf()
    }
}

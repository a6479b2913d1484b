//! Sessions (one conversation: KV cache, position, work buffers), their options, the
//! memory plan that sizes them before anything is allocated, reset and cancellation.

use crate::args;
use crate::errors::{generate_error, model_error};
use crate::model::{Loaded, bague_model};
use crate::status::{Error, Result, bague_status, guard};
use bague::generate::Generator;
use bague::model::KvType;
use bague::sampler::SamplerConfig;
use bague::session::{BackendChoice, ContextPolicy, MemoryPlan, Session, SessionOptions};
use bague_board_phone::{ThermalMonitor, ThreadPlan};
use std::cell::UnsafeCell;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// Element type of the KV cache (`bague_session_options.kv_type`).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum bague_kv_type {
    /// IEEE half, 2 bytes per value (llama.cpp's default).
    BAGUE_KV_F16 = 0,
    /// Q8_0 blocks, 34 bytes per 32 values: 34/64 of the F16 cache (llama.cpp's
    /// `--cache-type-k/v q8_0`). Needs a head size that is a multiple of 32, else
    /// INVALID_ARGUMENT. Logits move a little (SmolLM2: top logits by < 1, same greedy
    /// tokens); on models with large keys, such as Qwen2.5-0.5B, by up to ~10.
    BAGUE_KV_Q8_0 = 1,
}

/// Where a session runs (`bague_session_options.backend`).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum bague_backend {
    /// This library's CPU kernels (the default).
    BAGUE_BACKEND_CPU = 0,
    /// A GPU through Vulkan or Metal: the best hardware adapter, or the one named by
    /// `gpu_adapter`. Anything that prevents it is an error: BAGUE_ERR_UNSUPPORTED (a library
    /// built without the GPU backend, no adapter, a tensor type without a GPU kernel),
    /// BAGUE_ERR_OUT_OF_MEMORY (the device refused a buffer), BAGUE_ERR_INVALID_ARGUMENT
    /// (an option the GPU backend lacks: a Q8_0 KV cache).
    BAGUE_BACKEND_GPU = 1,
    /// A hardware GPU when one is found and runs the model with these options, else the CPU
    /// (silently; the library writes nothing to stderr). Never a software adapter.
    BAGUE_BACKEND_AUTO = 2,
}

/// Options of a session. Get the defaults with `bague_session_options_default`.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct bague_session_options {
    /// Context length in tokens (KV cache positions). 0: the model's training context,
    /// at most 4096. Default 0.
    pub n_ctx: u32,
    /// Most prompt tokens per forward pass. 0: min(n_ctx, 512). Default 0.
    pub n_batch: u32,
    /// Worker threads (1 runs on the calling thread). 0 (`auto`): one per performance
    /// core, pinned to it on Linux/Android, with thermal back-off between tokens (fewer
    /// workers, then a pause per token, while the CPU or skin zones are hot); on Apple the
    /// count of `hw.perflevel0` cores; elsewhere every CPU the OS gives the process.
    /// Default 0. A count N runs N unpinned workers and no back-off; more than 4 per
    /// CPU the process may use is INVALID_ARGUMENT (a typo, not a machine).
    pub n_threads: u32,
    /// A `bague_kv_type` value. Default `BAGUE_KV_F16`.
    pub kv_type: u32,
    /// Seed of the sampler's random draws: the same seed, prompt and parameters give the
    /// same text. Unused by greedy decoding. Default 0.
    pub seed: u64,
    /// Most bytes the session's KV cache and work buffers may take (`kv_bytes +
    /// scratch_bytes` of the plan): a larger plan is refused with OUT_OF_MEMORY before
    /// anything is allocated. 0: the memory the system says is available (Linux
    /// `MemAvailable`), else no budget (an allocation the heap refuses is still
    /// OUT_OF_MEMORY, never an abort). Default 0.
    pub memory_budget: u64,
    /// A `bague_backend` value. Default `BAGUE_BACKEND_CPU`. The GPU backend is compiled in
    /// only when the library is built with the `gpu` feature (it then links wgpu); without
    /// it `BAGUE_BACKEND_GPU` is BAGUE_ERR_UNSUPPORTED and `BAGUE_BACKEND_AUTO` runs on the
    /// CPU. A GPU session uploads the model's weights to the device when it is made (its own
    /// copy); `n_threads` and `memory_budget` do not apply to it, and
    /// `bague_model_plan_memory` gives the CPU's plan.
    pub backend: u32,
    /// With `BAGUE_BACKEND_GPU`: NULL for the best hardware adapter, or a NUL-terminated
    /// UTF-8 part of an adapter's name (case-insensitive), software adapters included
    /// (`"llvmpipe"`, Mesa's software Vulkan device). Ignored by the other backends.
    /// Default NULL. Read only during `bague_session_new`.
    pub gpu_adapter: *const std::ffi::c_char,
}

impl Default for bague_session_options {
    fn default() -> Self {
        bague_session_options {
            n_ctx: 0,
            n_batch: 0,
            n_threads: 0,
            kv_type: bague_kv_type::BAGUE_KV_F16 as u32,
            seed: 0,
            memory_budget: 0,
            backend: bague_backend::BAGUE_BACKEND_CPU as u32,
            gpu_adapter: std::ptr::null(),
        }
    }
}

/// Memory a session would use, computed from the model header alone, before anything
/// is allocated. Bytes.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct bague_memory_plan {
    /// Tensor data read by the forward pass: mapped from the file (or the caller's
    /// buffer), paged in by the OS, not allocated.
    pub weights_bytes: u64,
    /// KV cache.
    pub kv_bytes: u64,
    /// Work buffers of the forward pass (activations, attention scores, logits).
    pub scratch_bytes: u64,
    /// The generation loop's buffers, held by the session: the sampler's candidates (12
    /// per vocabulary entry) and repetition window (for the default window of 64), the ids
    /// in the KV cache and the output ids (4 bytes per position each).
    pub state_bytes: u64,
    /// Allocated by the session: kv + scratch + state.
    pub heap_bytes: u64,
    /// weights + heap.
    pub total_bytes: u64,
    /// Context length these numbers are for (0 in the options resolved).
    pub n_ctx: u32,
    /// Threads these numbers are for (0 in the options resolved).
    pub n_threads: u32,
}

/// A session (opaque): one conversation over a model.
///
/// Thread safety: a session is used by one thread at a time (it may move between
/// threads); a second call while one is running returns INVALID_ARGUMENT instead of
/// racing. `bague_cancel` is the exception: callable from any thread at any time.
pub struct bague_session {
    /// Raised by `bague_cancel`; polled between layers; lowered when `bague_generate`
    /// returns and by `bague_session_reset`.
    pub(crate) cancel: AtomicBool,
    /// Set while a call uses `state` (turns concurrent or re-entrant use into an error).
    busy: AtomicBool,
    state: UnsafeCell<State>,
}

// SAFETY: `state` is only reached through `bague_session::lock`, which hands out one
// `&mut State` at a time (the `busy` flag); the atomics are thread-safe by themselves.
unsafe impl Sync for bague_session {}

const _: () = {
    const fn send<T: Send>() {}
    send::<State>();
};

/// What a session owns besides its flags.
pub(crate) struct State {
    /// Borrows `*model` (and `*gpu` on a GPU): declared (so dropped) before them.
    pub session: Session<'static, 'static>,
    /// The core's generation loop state (sampler seeded from the options, ids in the KV
    /// cache); borrows `*model`'s tokenizer, so declared before it too.
    pub generator: Generator<'static, 'static>,
    /// The weights on the device of a GPU session; `session` borrows them, so declared
    /// after it. In an `Arc` (not a `Box`, whose moves assert unique access): the address
    /// stays put, and moving the handle does not invalidate the session's borrow.
    #[cfg(feature = "gpu")]
    pub _gpu: Option<Arc<bague::session::gpu::GpuModel>>,
    /// Sampler seed (`bague_session_options.seed`).
    pub seed: u64,
    /// The NUL-terminated piece handed to the callback.
    pub piece: Vec<u8>,
    /// The schema (true) or grammar (false) text the generator's constraint was compiled
    /// from; `None`: no constraint.
    pub constraint: Option<(bool, String)>,
    /// The thermal back-off of an `n_threads` 0 session (drives its pool's worker limit).
    pub thermal: Option<bague_board_phone::ThermalMonitor>,
    /// Keeps the model's data alive; dropped last.
    pub model: Arc<Loaded>,
}

/// Exclusive access to a session's state for the duration of one call.
pub(crate) struct Lock<'s> {
    session: &'s bague_session,
    pub state: &'s mut State,
}

impl Drop for Lock<'_> {
    fn drop(&mut self) {
        self.session.busy.store(false, Ordering::Release);
    }
}

impl bague_session {
    /// The state, for one call. Errors: INVALID_ARGUMENT when another call holds it.
    pub(crate) fn lock(&self) -> Result<Lock<'_>> {
        if self
            .busy
            .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            return Err(Error::invalid(
                "session is in use by another call (another thread, or a callback)",
            ));
        }
        // SAFETY: `busy` was false and is now ours: no other `&mut State` exists until the
        // returned lock drops and lowers it.
        let state = unsafe { &mut *self.state.get() };
        Ok(Lock {
            session: self,
            state,
        })
    }
}

/// The core options for `opts` on `model`, defaults resolved. Errors: INVALID_ARGUMENT
/// (out-of-range values; the head-size check of Q8_0 comes later, from the core).
fn resolve(model: &Loaded, opts: &bague_session_options) -> Result<SessionOptions> {
    if opts.backend > bague_backend::BAGUE_BACKEND_AUTO as u32 {
        return Err(Error::invalid(format!(
            "backend {} is not a bague_backend",
            opts.backend
        )));
    }
    let kv_type = match opts.kv_type {
        0 => KvType::F16,
        1 => KvType::Q8_0,
        k => {
            return Err(Error::invalid(format!(
                "kv_type {k} is not a bague_kv_type"
            )));
        }
    };
    let n_ctx = match opts.n_ctx {
        0 => model.bundle().default_n_ctx(),
        n => n as usize,
    };
    let n_threads = match opts.n_threads {
        0 => ThreadPlan::detect().n_threads(),
        n if n as usize > bague::session::host_thread_limit() => {
            return Err(Error::invalid(format!(
                "n_threads {n}: more than {} ({} per CPU this process may use)",
                bague::session::host_thread_limit(),
                bague::session::MAX_THREADS_PER_CPU
            )));
        }
        n => n as usize,
    };
    Ok(SessionOptions {
        n_ctx,
        n_batch: opts.n_batch as usize,
        n_threads,
        context_policy: ContextPolicy::Error,
        kv_type,
        memory_budget: match opts.memory_budget {
            0 => bague::session::available_memory(),
            b => Some(usize::try_from(b).unwrap_or(usize::MAX)),
        },
    })
}

/// Where `opts` asks the session to run. Errors: INVALID_ARGUMENT (not a `bague_backend`, an
/// empty name), INVALID_UTF8 (`gpu_adapter` not UTF-8; it is read only for
/// `BAGUE_BACKEND_GPU`).
///
/// # Safety
/// `opts.gpu_adapter` must be NULL or a live NUL-terminated string.
unsafe fn backend(opts: &bague_session_options) -> Result<BackendChoice> {
    match opts.backend {
        0 => Ok(BackendChoice::Cpu),
        2 => Ok(BackendChoice::Auto),
        1 if opts.gpu_adapter.is_null() => Ok(BackendChoice::Gpu { adapter: None }),
        1 => {
            // SAFETY: non-NULL, NUL-terminated and live for this call (caller's contract).
            let name = unsafe { std::ffi::CStr::from_ptr(opts.gpu_adapter) };
            let name = name.to_str().map_err(|_| {
                Error::new(
                    crate::status::bague_status::BAGUE_ERR_INVALID_UTF8,
                    "gpu_adapter is not UTF-8",
                )
            })?;
            if name.is_empty() {
                return Err(Error::invalid(
                    "gpu_adapter is empty (NULL takes the best hardware adapter)",
                ));
            }
            Ok(BackendChoice::Gpu {
                adapter: Some(name.into()),
            })
        }
        b => Err(Error::invalid(format!(
            "backend {b} is not a bague_backend"
        ))),
    }
}

/// The session `opts` asks for on `model`, and the GPU weights it borrows (to be kept
/// alive, at a fixed address, for as long as the session).
///
/// # Safety
/// The returned session borrows `*model` and the returned weights as `'static`: the caller
/// keeps both alive (the weights' `Arc`) until it is dropped.
unsafe fn make_session(
    model: &'static bague::model::Model<'static>,
    choice: &BackendChoice,
    opts: SessionOptions,
    auto_threads: bool,
) -> Result<(
    Session<'static, 'static>,
    GpuWeights,
    Option<ThermalMonitor>,
)> {
    #[cfg(feature = "gpu")]
    {
        use bague::session::gpu::{self, AdapterChoice, Device};
        let adapter = match choice {
            BackendChoice::Cpu => None,
            BackendChoice::Auto | BackendChoice::Gpu { adapter: None } => Some(AdapterChoice::Auto),
            BackendChoice::Gpu { adapter: Some(n) } => Some(AdapterChoice::Named(n.clone())),
        };
        if let Some(a) = adapter {
            let auto = *choice == BackendChoice::Auto;
            let tried = Device::new(&a)
                .and_then(|dev| gpu::upload(&dev, model))
                .map(Arc::new)
                .and_then(|w| {
                    // SAFETY: the Arc's contents stay at their address and alive for as long
                    // as the session (caller's contract, passed on).
                    let r: &'static gpu::GpuModel = unsafe { &*Arc::as_ptr(&w) };
                    Session::on_gpu(model, r, opts).map(|s| (s, Some(w), None))
                });
            match tried {
                Ok(ok) => return Ok(ok),
                Err(_) if auto => {}
                Err(e) => return Err(crate::errors::gpu_error(e)),
            }
        }
        let (s, thermal) = cpu_session(model, opts, auto_threads)?;
        Ok((s, None, thermal))
    }
    #[cfg(not(feature = "gpu"))]
    {
        if let BackendChoice::Gpu { .. } = choice {
            return Err(Error::new(
                crate::status::bague_status::BAGUE_ERR_UNSUPPORTED,
                "BAGUE_BACKEND_GPU: this libbague was built without the GPU backend \
                 (build bague-capi with the `gpu` feature)",
            ));
        }
        let (s, thermal) = cpu_session(model, opts, auto_threads)?;
        Ok((s, (), thermal))
    }
}

/// A CPU session: with `auto_threads` (`n_threads` 0), on the phone board's pool of
/// performance cores with its thermal monitor; else a plain pool of `opts.n_threads`.
fn cpu_session(
    model: &'static bague::model::Model<'static>,
    opts: SessionOptions,
    auto_threads: bool,
) -> Result<(Session<'static, 'static>, Option<ThermalMonitor>)> {
    if !auto_threads {
        return Ok((Session::new(model, opts).map_err(model_error)?, None));
    }
    let plan = ThreadPlan::detect();
    let pool = plan
        .pool()
        .map_err(|e| model_error(bague::model::Error::Threads(e)))?;
    let thermal = ThermalMonitor::new(plan.n_threads(), Some(pool.limit()));
    let s = bague_board_phone::session(model, opts, pool).map_err(model_error)?;
    Ok((s, Some(thermal)))
}

/// The GPU weights a session borrows (nothing in a build without the GPU backend).
#[cfg(feature = "gpu")]
type GpuWeights = Option<Arc<bague::session::gpu::GpuModel>>;
#[cfg(not(feature = "gpu"))]
type GpuWeights = ();

fn compute_plan(model: &Loaded, opts: &SessionOptions) -> Result<bague_memory_plan> {
    let p = MemoryPlan::for_model(&model.bundle().model, opts).map_err(model_error)?;
    Ok(bague_memory_plan {
        weights_bytes: p.weights_mapped,
        kv_bytes: p.kv_cache as u64,
        scratch_bytes: p.scratch as u64,
        state_bytes: p.generator as u64,
        heap_bytes: p.heap() as u64,
        total_bytes: p.total(),
        n_ctx: u32::try_from(opts.n_ctx).unwrap_or(u32::MAX),
        n_threads: u32::try_from(opts.n_threads).unwrap_or(u32::MAX),
    })
}

/// The options behind a possibly-NULL pointer.
///
/// # Safety
/// A non-NULL `opts` must point to a valid `bague_session_options`.
unsafe fn options(opts: *const bague_session_options) -> bague_session_options {
    // SAFETY: caller's contract.
    unsafe { opts.as_ref() }.copied().unwrap_or_default()
}

/// Writes the default session options to `*out`. Thread-safe.
///
/// # Safety
/// `out` must be NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bague_session_options_default(
    out: *mut bague_session_options,
) -> bague_status {
    guard(|| {
        let out = args::out(out, "out")?;
        // SAFETY: checked non-NULL; writable by contract.
        unsafe { out.write(bague_session_options::default()) };
        Ok(())
    })
}

/// Computes what a session with `opts` (NULL: defaults) would allocate on `model`,
/// without allocating it. `bague_session_new` with the same options allocates exactly
/// `kv_bytes + scratch_bytes` plus the token history.
///
/// Errors: INVALID_ARGUMENT (NULL, n_batch > n_ctx, sizes that overflow, a KV type the
/// model's head size does not allow). Thread-safe.
///
/// # Safety
/// `model` NULL or live; `opts` NULL or valid; `plan` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bague_model_plan_memory(
    model: *const bague_model,
    opts: *const bague_session_options,
    plan: *mut bague_memory_plan,
) -> bague_status {
    guard(|| {
        // SAFETY: caller's contract.
        let m = unsafe { args::arg(model, "model") }?;
        let out = args::out(plan, "plan")?;
        // SAFETY: caller's contract.
        let opts = resolve(&m.inner, &unsafe { options(opts) })?;
        let p = compute_plan(&m.inner, &opts)?;
        // SAFETY: checked non-NULL; writable by contract.
        unsafe { out.write(p) };
        Ok(())
    })
}

/// Creates a session on `model` with `opts` (NULL: defaults): allocates its KV cache and
/// work buffers (sizes: `bague_model_plan_memory`) and starts its threads. The session keeps
/// the model's data alive. Free it with `bague_session_free`.
///
/// Errors: INVALID_ARGUMENT (as `bague_model_plan_memory`), OUT_OF_MEMORY (the plan is
/// over `opts->memory_budget`, or the heap refused a buffer), IO (threads could not start);
/// with `BAGUE_BACKEND_GPU`, those of `bague_backend` (UNSUPPORTED for no adapter, a
/// library without the GPU backend or a tensor type without a GPU kernel; OUT_OF_MEMORY
/// for a buffer the device refused; INVALID_UTF8 for a `gpu_adapter` that is not UTF-8).
/// Thread-safe (any number of sessions on one model, on any threads).
///
/// # Safety
/// `model` NULL or live; `opts` NULL or valid (its `gpu_adapter` NULL or a NUL-terminated
/// string); `out` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bague_session_new(
    model: *const bague_model,
    opts: *const bague_session_options,
    out: *mut *mut bague_session,
) -> bague_status {
    guard(|| {
        // SAFETY: caller's contract.
        let m = unsafe { args::arg(model, "model") }?;
        let out = args::out(out, "out")?;
        // SAFETY: caller's contract.
        let raw = unsafe { options(opts) };
        let opts = resolve(&m.inner, &raw)?;
        // SAFETY: caller's contract (`gpu_adapter` NULL or a NUL-terminated string).
        let choice = unsafe { backend(&raw) }?;
        let model = Arc::clone(&m.inner);
        // SAFETY: the session and the generator are stored in `State` before `model` (the
        // Arc that keeps the borrowed data alive) and so are dropped first.
        let bundle = unsafe { model.bundle_static() };
        // SAFETY: the session is stored in `State` before the GPU weights' Arc and `model`,
        // so it is dropped first; that Arc is never replaced.
        let (session, gpu, thermal) =
            unsafe { make_session(&bundle.model, &choice, opts, raw.n_threads == 0) }?;
        #[cfg(not(feature = "gpu"))]
        let () = gpu;
        let sampling = SamplerConfig {
            seed: raw.seed,
            ..bundle.sampling
        };
        let generator = Generator::new(&bundle.tokenizer, sampling).map_err(generate_error)?;
        let handle = Box::new(bague_session {
            cancel: AtomicBool::new(false),
            busy: AtomicBool::new(false),
            state: UnsafeCell::new(State {
                session,
                generator,
                #[cfg(feature = "gpu")]
                _gpu: gpu,
                seed: raw.seed,
                piece: Vec::new(),
                constraint: None,
                thermal,
                model,
            }),
        });
        // SAFETY: checked non-NULL; writable by contract.
        unsafe { out.write(Box::into_raw(handle)) };
        Ok(())
    })
}

/// Frees a session (its KV cache, buffers and threads; the model's data if this was the
/// last user). NULL is a no-op. Must not be called while another thread is inside a call
/// on this session (`bague_cancel` included), nor twice.
///
/// # Safety
/// `session` must be NULL or a session from `bague_session_new` not yet freed, with no
/// call on it in progress.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bague_session_free(session: *mut bague_session) {
    if session.is_null() {
        return;
    }
    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        // SAFETY: from Box::into_raw in bague_session_new, freed once (caller's contract).
        drop(unsafe { Box::from_raw(session) });
    }));
}

/// Forgets the conversation: the KV cache is emptied (position 0), the sampler starts over
/// from the session's seed (so a reset session repeats a new one's text) with an empty
/// repetition window, and a pending cancel is dropped. Allocates nothing.
///
/// Errors: INVALID_ARGUMENT (NULL, session in use). One thread at a time.
///
/// # Safety
/// `session` NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bague_session_reset(session: *mut bague_session) -> bague_status {
    guard(|| {
        // SAFETY: caller's contract.
        let s = unsafe { args::arg(session.cast_const(), "session") }?;
        let lock = s.lock()?;
        lock.state.session.reset();
        lock.state.generator.reset();
        s.cancel.store(false, Ordering::Release);
        Ok(())
    })
}

/// Asks the generation running on `session` (on any thread) to stop. It stops within one
/// transformer layer, during the prompt as well as during generation, and returns
/// `BAGUE_OK` with stop reason `BAGUE_STOP_CANCELLED`; the tokens processed before the
/// cancelled step stay in the session. If no generation is running, the next
/// `bague_generate` stops at its first step (the request is kept until a generation
/// returns or `bague_session_reset` is called, so a cancel is never lost to a race).
///
/// Errors: INVALID_ARGUMENT (NULL). Thread-safe: callable from any thread, and from the
/// generation's own callbacks.
///
/// # Safety
/// `session` NULL or live (not being freed).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bague_cancel(session: *const bague_session) -> bague_status {
    guard(|| {
        // SAFETY: caller's contract; only the atomic flag is touched.
        let s = unsafe { args::arg(session, "session") }?;
        s.cancel.store(true, Ordering::Release);
        Ok(())
    })
}

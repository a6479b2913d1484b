//! Models: open from a path, a file descriptor range, or caller-owned memory; info; free.
//!
//! A `bague_model` owns its bytes (a read-only memory map) or borrows the caller's, and
//! everything parsed from them: the transformer, the tokenizer and the chat template, all
//! zero-copy views of the bytes. Sessions hold a reference count on it, so freeing the model
//! while sessions exist is allowed: the last one to go releases it.

use crate::args;
use crate::errors::bundle_error;
use crate::status::{Error, Result, bague_status, guard};
use bague::bundle::{Bundle, BundleOptions};
use bague::chat::ChatTemplate;
use bague::model::Arch;
use std::ffi::{CStr, CString, c_char, c_int};
use std::sync::Arc;

use bague_status::*;

/// A loaded model (opaque). Immutable after opening: every function that takes a
/// `const bague_model *` may be called from any number of threads at once.
pub struct bague_model {
    pub(crate) inner: Arc<Loaded>,
}

/// Options of the `bague_model_open_*` functions. Pass NULL for the defaults
/// (`bague_model_options_default`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct bague_model_options {
    /// Ask the OS to start reading the whole mapping in now (madvise WILLNEED) instead of
    /// on first touch. Ignored for caller-owned buffers. Default false.
    pub prefetch: bool,
    /// Render chat prompts with bague's built-in R1 / ChatML renderer instead of the
    /// model's jinja template (only for templates it recognises). Default false.
    pub builtin_template: bool,
}

/// Facts about a model, from its GGUF header.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct bague_model_info {
    /// Architecture (`general.architecture`): `"llama"` or `"qwen2"`. Static string.
    pub arch: *const c_char,
    /// `general.name`, or `""`. Valid while the model is.
    pub name: *const c_char,
    /// The CPU kernels chosen for this host: `"scalar"`, `"avx2"`, `"avx512"`, `"neon"`,
    /// `"neon+dotprod"` (environment variable `BAGUE_KERNELS` forces one). Valid while the
    /// model is.
    pub kernels: *const c_char,
    /// Weights in the file (sum of every tensor's element count).
    pub n_params: u64,
    /// Bytes of the model image (the file, the fd range or the buffer).
    pub file_bytes: u64,
    /// Bytes of tensor data the forward pass reads (mapped, not copied).
    pub weight_bytes: u64,
    /// Vocabulary size (token ids are `0..n_vocab`).
    pub n_vocab: u32,
    /// Context length the model was trained with.
    pub n_ctx_train: u32,
    /// Transformer blocks.
    pub n_layer: u32,
    /// Width of the residual stream.
    pub n_embd: u32,
    /// Query heads.
    pub n_head: u32,
    /// Key/value heads.
    pub n_head_kv: u32,
    /// Hidden width of the feed-forward block.
    pub n_ff: u32,
    /// Beginning-of-sequence token id, -1 if none.
    pub bos: i32,
    /// End-of-sequence token id, -1 if none.
    pub eos: i32,
    /// The file has a chat template (`tokenizer.chat_template`).
    pub has_chat_template: bool,
    /// The vocabulary has `<think>` and `</think>`: generated text is split into thinking
    /// and answer pieces.
    pub has_thinking: bool,
}

/// Where the bytes come from. Dropped last (see [`Loaded`]).
enum Source {
    /// A read-only map of a file or of a range of one.
    Map(#[allow(dead_code)] memmap2::Mmap),
    /// Caller-owned memory, valid until the model and its sessions are freed.
    Caller,
}

/// Everything parsed from the model bytes: the core's [`Bundle`] (file, tokenizer,
/// transformer, chat template, sampling defaults, reasoning tags) and the info strings.
///
/// The `'static` lifetime is a promise kept by this struct, not by the compiler: the bundle
/// borrows `source`'s bytes, which do not move (a mapping's address is fixed; caller memory
/// is the caller's promise) and outlive it, because fields drop in declaration order and
/// `source` is last. Nothing with a `'static` lifetime is handed out except through
/// [`Loaded::bundle_static`], whose caller keeps an `Arc<Loaded>` beside what it borrows.
pub(crate) struct Loaded {
    bundle: Bundle<'static>,
    name: CString,
    kernels: CString,
    file_bytes: u64,
    /// llguidance's token trie of the vocabulary, built by the first generation that asks
    /// for a schema or grammar, then shared by every session.
    #[cfg(feature = "grammar")]
    vocab: std::sync::OnceLock<
        std::result::Result<
            bague::constraint::grammar::Vocab,
            bague::constraint::grammar::GrammarError,
        >,
    >,
    _source: Source,
}

// A model is shared by sessions on several threads: everything in it is read-only.
const _: () = {
    const fn shared<T: Send + Sync>() {}
    shared::<Loaded>();
};

impl Loaded {
    /// The model file's parts.
    pub fn bundle(&self) -> &Bundle<'_> {
        &self.bundle
    }

    /// The vocabulary's token trie for schemas and grammars (built once, on first use).
    #[cfg(feature = "grammar")]
    pub fn vocab(
        &self,
    ) -> std::result::Result<
        &bague::constraint::grammar::Vocab,
        bague::constraint::grammar::GrammarError,
    > {
        self.vocab
            .get_or_init(|| bague::constraint::grammar::Vocab::new(&self.bundle.tokenizer))
            .as_ref()
            .map_err(Clone::clone)
    }

    /// The chat template, or why there is none.
    pub fn template(&self) -> Result<&ChatTemplate> {
        self.bundle
            .template()
            .map_err(|e| Error::with(BAGUE_ERR_TEMPLATE, "chat template", e))
    }

    /// The bundle with the lifetimes a session stored next to an `Arc<Loaded>` needs.
    ///
    /// # Safety
    /// The returned reference must not be used after the last `Arc` of `self` is dropped
    /// (a session drops what borrows it before its `Arc<Loaded>`).
    pub unsafe fn bundle_static(self: &Arc<Self>) -> &'static Bundle<'static> {
        // The raw pointer detaches the borrow from `self`.
        let p: *const Bundle<'static> = &self.bundle;
        // SAFETY: `Loaded` lives in the Arc's heap block, which does not move; the caller
        // keeps the Arc alive for as long as it uses the reference.
        unsafe { &*p }
    }

    /// Parses `bytes` (which `source` keeps alive).
    ///
    /// # Safety
    /// `bytes` must stay valid and unmodified until `source` is dropped (a mapping owned by
    /// `source`, or caller memory under the `bague_model_open_buffer` contract).
    unsafe fn parse(
        bytes: &'static [u8],
        source: Source,
        opts: &bague_model_options,
    ) -> Result<Arc<Loaded>> {
        let options = BundleOptions {
            kernels: None,
            builtin_template: opts.builtin_template,
        };
        let bundle = Bundle::load(bytes, options).map_err(bundle_error)?;
        let name = bundle.file.get_str("general.name").unwrap_or("");
        let name = CString::new(name.replace('\0', "")).unwrap_or_default();
        let kernels = CString::new(bundle.model.kernels().name()).unwrap_or_default();
        Ok(Arc::new(Loaded {
            bundle,
            name,
            kernels,
            file_bytes: bytes.len() as u64,
            #[cfg(feature = "grammar")]
            vocab: std::sync::OnceLock::new(),
            _source: source,
        }))
    }

    fn info(&self) -> bague_model_info {
        let b = &self.bundle;
        let c = &b.model.config;
        let u = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
        let id = |t: Option<u32>| t.and_then(|t| i32::try_from(t).ok()).unwrap_or(-1);
        let arch: &'static CStr = match c.arch {
            Arch::Llama => c"llama",
            Arch::Qwen2 => c"qwen2",
        };
        bague_model_info {
            arch: arch.as_ptr(),
            name: self.name.as_ptr(),
            kernels: self.kernels.as_ptr(),
            n_params: b.n_params(),
            file_bytes: self.file_bytes,
            weight_bytes: b.model.weight_bytes() as u64,
            n_vocab: u(c.n_vocab),
            n_ctx_train: u(c.n_ctx_train),
            n_layer: u(c.n_layer),
            n_embd: u(c.n_embd),
            n_head: u(c.n_head),
            n_head_kv: u(c.n_head_kv),
            n_ff: u(c.n_ff),
            bos: id(b.tokenizer.bos_id()),
            eos: id(b.tokenizer.eos_id()),
            has_chat_template: b.has_template(),
            has_thinking: b.has_thinking(),
        }
    }
}

/// The options behind a possibly-NULL pointer.
///
/// # Safety
/// A non-NULL `opts` must point to a valid `bague_model_options`.
unsafe fn options(opts: *const bague_model_options) -> bague_model_options {
    // SAFETY: caller's contract.
    unsafe { opts.as_ref() }.copied().unwrap_or_default()
}

/// Stores a freshly loaded model in `*out`.
///
/// # Safety
/// `out` must be writable (checked non-NULL before loading).
unsafe fn publish(out: *mut *mut bague_model, inner: Arc<Loaded>) {
    let handle = Box::into_raw(Box::new(bague_model { inner }));
    // SAFETY: the caller checked `out` and guarantees it is writable.
    unsafe { out.write(handle) };
}

fn map_file(
    file: &std::fs::File,
    offset: u64,
    len: Option<usize>,
    what: &str,
) -> Result<memmap2::Mmap> {
    let mut o = memmap2::MmapOptions::new();
    o.offset(offset);
    if let Some(len) = len {
        o.len(len);
    }
    // SAFETY: a private read-only mapping; we never write through it. As for any mmap, a
    // process that truncates or rewrites the file while it is mapped makes reads fault or
    // change; model files are not modified in place (documented in bague.h).
    unsafe { o.map(file) }.map_err(|e| Error::with(BAGUE_ERR_IO, what, e))
}

fn prefetch(map: &memmap2::Mmap, opts: &bague_model_options) {
    #[cfg(unix)]
    if opts.prefetch {
        // Advice only: a refusal changes nothing but speed.
        let _ = map.advise(memmap2::Advice::WillNeed);
    }
    #[cfg(not(unix))]
    let _ = (map, opts);
}

/// Writes the default model options to `*out` (every field false).
///
/// Thread-safe.
///
/// # Safety
/// `out` must be NULL or point to writable memory for one `bague_model_options`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bague_model_options_default(
    out: *mut bague_model_options,
) -> bague_status {
    guard(|| {
        let out = args::out(out, "out")?;
        // SAFETY: checked non-NULL; writable by the caller's contract.
        unsafe { out.write(bague_model_options::default()) };
        Ok(())
    })
}

/// Opens the GGUF file at `path` (NUL-terminated, the OS's encoding) by mapping it
/// read-only, and parses its header, tokenizer and chat template. Tensor data is not read
/// until used. On success `*out` is a new model, to be freed with `bague_model_free`; on
/// failure `*out` is left unchanged.
///
/// Errors: INVALID_ARGUMENT (NULL), IO (open, mmap), BAD_MODEL (malformed or truncated
/// file, e.g. "truncated: tensor output.weight needs bytes A..B, file has N"), UNSUPPORTED.
/// Thread-safe. The file must not be modified while the model is open.
///
/// # Safety
/// `path` must be NULL or a NUL-terminated string; `opts` NULL or valid; `out` NULL or
/// writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bague_model_open_path(
    path: *const c_char,
    opts: *const bague_model_options,
    out: *mut *mut bague_model,
) -> bague_status {
    guard(|| {
        let out = args::out(out, "out")?;
        if path.is_null() {
            return Err(Error::invalid("path is NULL"));
        }
        // SAFETY: non-NULL and NUL-terminated by the caller's contract.
        let path = unsafe { CStr::from_ptr(path) };
        let path = os_path(path)?;
        // SAFETY: caller's contract.
        let opts = unsafe { options(opts) };
        let what = path.display().to_string();
        let file = std::fs::File::open(&path).map_err(|e| Error::with(BAGUE_ERR_IO, &what, e))?;
        let map = map_file(&file, 0, None, &what)?;
        prefetch(&map, &opts);
        // SAFETY: the mapping's bytes stay at a fixed address until the map (moved into
        // the `Source`) is dropped, after everything that borrows them.
        let bytes: &'static [u8] = unsafe { std::slice::from_raw_parts(map.as_ptr(), map.len()) };
        // SAFETY: `bytes` live exactly as long as the `Source::Map` that owns the mapping.
        let inner = unsafe { Loaded::parse(bytes, Source::Map(map), &opts) }
            .map_err(|e| Error::new(e.status, format!("{what}: {}", e.message)))?;
        // SAFETY: `out` checked non-NULL above.
        unsafe { publish(out, inner) };
        Ok(())
    })
}

#[cfg(unix)]
fn os_path(p: &CStr) -> Result<std::path::PathBuf> {
    use std::os::unix::ffi::OsStrExt;
    Ok(std::ffi::OsStr::from_bytes(p.to_bytes()).into())
}

#[cfg(not(unix))]
fn os_path(p: &CStr) -> Result<std::path::PathBuf> {
    p.to_str()
        .map(Into::into)
        .map_err(|_| Error::new(BAGUE_ERR_INVALID_UTF8, "path is not valid UTF-8"))
}

/// Opens a model stored in bytes `offset .. offset + len` of the open file `fd` (a model
/// inside an APK or another container; `len` 0 means "to the end of the file"). The range
/// is mapped read-only; `fd` is neither closed nor kept: the caller may close it as soon
/// as this returns. No alignment is needed: any offset works. Otherwise as
/// `bague_model_open_path`. Unix only (elsewhere: UNSUPPORTED).
///
/// Errors: INVALID_ARGUMENT (negative fd, range past the end of the file), IO, BAD_MODEL,
/// UNSUPPORTED. Thread-safe.
///
/// # Safety
/// `fd` must be an open file descriptor for the duration of the call; `opts` NULL or valid;
/// `out` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bague_model_open_fd(
    fd: c_int,
    offset: u64,
    len: u64,
    opts: *const bague_model_options,
    out: *mut *mut bague_model,
) -> bague_status {
    guard(|| {
        let out = args::out(out, "out")?;
        // SAFETY: caller's contract.
        let opts = unsafe { options(opts) };
        #[cfg(unix)]
        {
            use std::os::fd::BorrowedFd;
            if fd < 0 {
                return Err(Error::invalid(format!("fd {fd} is not a file descriptor")));
            }
            // SAFETY: the caller guarantees `fd` is open during this call; we only
            // duplicate it (the duplicate is closed when `file` drops).
            let borrowed = unsafe { BorrowedFd::borrow_raw(fd) };
            let what = format!("fd {fd}");
            let owned = borrowed
                .try_clone_to_owned()
                .map_err(|e| Error::with(BAGUE_ERR_IO, &what, e))?;
            let file = std::fs::File::from(owned);
            let size = file
                .metadata()
                .map_err(|e| Error::with(BAGUE_ERR_IO, &what, e))?
                .len();
            let end = if len == 0 {
                Some(size)
            } else {
                offset.checked_add(len)
            };
            let end = end.filter(|&e| e <= size && offset < e).ok_or_else(|| {
                Error::invalid(format!(
                    "{what}: range offset {offset} + len {len} is not inside the file ({size} bytes)"
                ))
            })?;
            let n = usize::try_from(end - offset).map_err(|_| {
                Error::invalid(format!("{what}: range too large for this platform"))
            })?;
            let map = map_file(&file, offset, Some(n), &what)?;
            prefetch(&map, &opts);
            // SAFETY: as in bague_model_open_path.
            let bytes: &'static [u8] =
                unsafe { std::slice::from_raw_parts(map.as_ptr(), map.len()) };
            // SAFETY: `bytes` live exactly as long as the `Source::Map` that owns them.
            let inner = unsafe { Loaded::parse(bytes, Source::Map(map), &opts) }
                .map_err(|e| Error::new(e.status, format!("{what}: {}", e.message)))?;
            // SAFETY: `out` checked non-NULL above.
            unsafe { publish(out, inner) };
            Ok(())
        }
        #[cfg(not(unix))]
        {
            let _ = (fd, offset, len, opts, out);
            Err(Error::new(
                BAGUE_ERR_UNSUPPORTED,
                "bague_model_open_fd is available on Unix only",
            ))
        }
    })
}

/// Opens a model from caller-owned memory (XIP flash, a buffer the host loaded, an
/// embedded image) without copying it. Any alignment works.
///
/// Lifetime rule: the `len` bytes at `data` must stay readable and unmodified until the
/// model AND every session made from it have been freed.
///
/// Errors: INVALID_ARGUMENT (NULL, len 0), BAD_MODEL, UNSUPPORTED. Thread-safe.
///
/// # Safety
/// `data` must point to `len` readable bytes under the lifetime rule above; `opts` NULL or
/// valid; `out` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bague_model_open_buffer(
    data: *const u8,
    len: usize,
    opts: *const bague_model_options,
    out: *mut *mut bague_model,
) -> bague_status {
    guard(|| {
        let out = args::out(out, "out")?;
        if len == 0 {
            return Err(Error::invalid("len is 0"));
        }
        // SAFETY: the caller guarantees `len` readable bytes that outlive the model and its
        // sessions (the lifetime rule), which is what `'static` stands for here.
        let bytes: &'static [u8] = unsafe { args::bytes(data.cast(), len, "data") }?;
        // SAFETY: caller's contract.
        let opts = unsafe { options(opts) };
        // SAFETY: the bytes outlive the model by the documented lifetime rule.
        let inner = unsafe { Loaded::parse(bytes, Source::Caller, &opts) }?;
        // SAFETY: `out` checked non-NULL above.
        unsafe { publish(out, inner) };
        Ok(())
    })
}

/// Writes the model's facts to `*info`. Its strings are valid while the model is.
///
/// Errors: INVALID_ARGUMENT (NULL). Thread-safe.
///
/// # Safety
/// `model` must be NULL or a live model; `info` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bague_model_get_info(
    model: *const bague_model,
    info: *mut bague_model_info,
) -> bague_status {
    guard(|| {
        // SAFETY: caller's contract.
        let m = unsafe { args::arg(model, "model") }?;
        let info = args::out(info, "info")?;
        // SAFETY: checked non-NULL; writable by contract.
        unsafe { info.write(m.inner.info()) };
        Ok(())
    })
}

/// Frees a model. NULL is a no-op. Sessions made from it stay usable (they keep the
/// model's data alive until the last of them is freed); nothing else may use `model`
/// afterwards, and it must not be freed twice. Do not free a model while another thread is
/// inside a call that takes it.
///
/// # Safety
/// `model` must be NULL or a model from `bague_model_open_*` not yet freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bague_model_free(model: *mut bague_model) {
    if model.is_null() {
        return;
    }
    // A panic in a destructor must not unwind into C; there is nothing to report.
    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        // SAFETY: a pointer from Box::into_raw in `publish`, freed once (caller's contract).
        drop(unsafe { Box::from_raw(model) });
    }));
}

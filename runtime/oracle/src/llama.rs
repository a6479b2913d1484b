//! A minimal safe wrapper of llama.cpp's model API: load a GGUF, tokenize, decode batches,
//! read logits, greedy-generate, and time prefill (pp) / decode (tg) like `llama-bench`.
//!
//! CPU only, flash attention off, f16 KV cache (llama.cpp's defaults), one sequence.
//! llama.cpp's log is silenced. Models and contexts are `!Send` (raw pointers inside).

use std::ffi::{CString, c_char, c_void};
use std::path::Path;
use std::ptr::NonNull;
use std::sync::Once;
use std::time::{Duration, Instant};

use llama_cpp_sys_2 as sys;

use crate::error::{Error, Result};

/// A token id (index into the vocabulary), as llama.cpp types it.
pub type Token = i32;

unsafe extern "C" fn quiet_log(
    _level: sys::ggml_log_level,
    _text: *const c_char,
    _user: *mut c_void,
) {
}

/// `llama_backend_init` and a no-op log callback (unless `BAGUE_ORACLE_LOG` is set, which
/// keeps llama.cpp's log on stderr), once per process.
fn backend_init() {
    static INIT: Once = Once::new();
    let quiet = std::env::var_os("BAGUE_ORACLE_LOG").is_none();
    // SAFETY: both calls take no pointers we own (the callback is a static fn, user data
    // null); Once runs them before any other llama.cpp call made through this module.
    INIT.call_once(|| unsafe {
        if quiet {
            sys::llama_log_set(Some(quiet_log), std::ptr::null_mut());
        }
        sys::llama_backend_init();
    });
}

fn to_i32(what: &'static str, n: usize) -> Result<i32> {
    i32::try_from(n).map_err(|_| Error::Llama(format!("{what}: {n} does not fit in i32")))
}

/// A loaded llama.cpp model (weights mmapped by llama.cpp, CPU backend).
pub struct Model {
    ptr: NonNull<sys::llama_model>,
    vocab: NonNull<sys::llama_vocab>,
}

impl Model {
    /// Load a GGUF file. `vocab_only` reads only the header and tokenizer (works on the
    /// truncated R1 head file). Errors: `Llama` when llama.cpp refuses the file.
    pub fn load(path: &Path, vocab_only: bool) -> Result<Model> {
        backend_init();
        let c = CString::new(path.as_os_str().as_encoded_bytes())
            .map_err(|_| Error::Llama(format!("path with NUL: {}", path.display())))?;
        // SAFETY: plain struct of defaults, no inputs.
        let mut params = unsafe { sys::llama_model_default_params() };
        params.vocab_only = vocab_only;
        params.n_gpu_layers = 0;
        // SAFETY: c is a valid NUL-terminated path for the duration of the call; params is a
        // fully initialized struct from llama_model_default_params.
        let raw = unsafe { sys::llama_model_load_from_file(c.as_ptr(), params) };
        let ptr = NonNull::new(raw)
            .ok_or_else(|| Error::Llama(format!("cannot load {}", path.display())))?;
        // SAFETY: ptr is a live model; the vocab pointer lives as long as the model.
        let vocab = NonNull::new(unsafe { sys::llama_model_get_vocab(ptr.as_ptr()) } as *mut _)
            .ok_or_else(|| Error::Llama("model has no vocab".into()))?;
        Ok(Model { ptr, vocab })
    }

    fn vocab(&self) -> *const sys::llama_vocab {
        self.vocab.as_ptr()
    }

    /// Number of tokens in the vocabulary (the logits length).
    pub fn n_vocab(&self) -> usize {
        // SAFETY: vocab is live while self is.
        unsafe { sys::llama_vocab_n_tokens(self.vocab()) }.max(0) as usize
    }

    /// Beginning-of-sequence token (`-1` when the model has none).
    pub fn bos(&self) -> Token {
        // SAFETY: vocab is live while self is.
        unsafe { sys::llama_vocab_bos(self.vocab()) }
    }

    /// End-of-sequence token (`-1` when the model has none).
    pub fn eos(&self) -> Token {
        // SAFETY: vocab is live while self is.
        unsafe { sys::llama_vocab_eos(self.vocab()) }
    }

    /// Whether `t` ends a generation (eos, eot, and other end-of-generation tokens).
    pub fn is_eog(&self, t: Token) -> bool {
        // SAFETY: vocab is live; llama.cpp bounds-checks the id itself.
        unsafe { sys::llama_vocab_is_eog(self.vocab(), t) }
    }

    /// `llama_model_desc`, e.g. `"qwen2 1B Q4_K - Medium"`.
    pub fn desc(&self) -> String {
        let mut buf = [0u8; 256];
        // SAFETY: buf is writable for buf.len() bytes; llama.cpp NUL-terminates within it.
        let n =
            unsafe { sys::llama_model_desc(self.ptr.as_ptr(), buf.as_mut_ptr().cast(), buf.len()) };
        let n = (n.max(0) as usize).min(buf.len() - 1);
        String::from_utf8_lossy(&buf[..n]).into_owned()
    }

    /// Total bytes of the model's tensors and number of parameters, as llama.cpp counts them.
    pub fn size_and_params(&self) -> (u64, u64) {
        // SAFETY: ptr is a live model.
        unsafe {
            (
                sys::llama_model_size(self.ptr.as_ptr()),
                sys::llama_model_n_params(self.ptr.as_ptr()),
            )
        }
    }

    /// `llama_tokenize(vocab, text, add_special, parse_special)`: token ids of `text`.
    /// Errors: `Llama` if llama.cpp fails.
    pub fn tokenize(
        &self,
        text: &str,
        add_special: bool,
        parse_special: bool,
    ) -> Result<Vec<Token>> {
        let len = to_i32("text length", text.len())?;
        let mut out = vec![0; text.len() + 8];
        for _ in 0..2 {
            let cap = to_i32("token capacity", out.len())?;
            // SAFETY: text is len readable bytes (no NUL needed when a length is given); out
            // is writable for cap tokens.
            let n = unsafe {
                sys::llama_tokenize(
                    self.vocab(),
                    text.as_ptr().cast(),
                    len,
                    out.as_mut_ptr(),
                    cap,
                    add_special,
                    parse_special,
                )
            };
            if n >= 0 {
                out.truncate(n as usize);
                return Ok(out);
            }
            out.resize(n.unsigned_abs() as usize, 0);
        }
        Err(Error::Llama(
            "llama_tokenize did not settle on a length".into(),
        ))
    }

    /// `llama_token_to_piece(t, lstrip = 0, special)`: the bytes of one token.
    pub fn token_to_piece(&self, t: Token, special: bool) -> Result<Vec<u8>> {
        let mut buf = vec![0u8; 64];
        for _ in 0..2 {
            let cap = to_i32("piece capacity", buf.len())?;
            // SAFETY: buf is writable for cap bytes.
            let n = unsafe {
                sys::llama_token_to_piece(self.vocab(), t, buf.as_mut_ptr().cast(), cap, 0, special)
            };
            if n >= 0 {
                buf.truncate(n as usize);
                return Ok(buf);
            }
            buf.resize(n.unsigned_abs() as usize, 0);
        }
        Err(Error::Llama(
            "llama_token_to_piece did not settle on a length".into(),
        ))
    }

    /// `llama_detokenize(ids, remove_special, unparse_special)`: the bytes of a token sequence.
    pub fn detokenize(
        &self,
        ids: &[Token],
        remove_special: bool,
        unparse_special: bool,
    ) -> Result<Vec<u8>> {
        let n_ids = to_i32("token count", ids.len())?;
        let mut buf = vec![0u8; ids.len() * 8 + 16];
        for _ in 0..2 {
            let cap = to_i32("text capacity", buf.len())?;
            // SAFETY: ids is n_ids readable tokens, buf writable for cap bytes.
            let n = unsafe {
                sys::llama_detokenize(
                    self.vocab(),
                    ids.as_ptr(),
                    n_ids,
                    buf.as_mut_ptr().cast(),
                    cap,
                    remove_special,
                    unparse_special,
                )
            };
            if n >= 0 {
                buf.truncate(n as usize);
                return Ok(buf);
            }
            buf.resize(n.unsigned_abs() as usize, 0);
        }
        Err(Error::Llama(
            "llama_detokenize did not settle on a length".into(),
        ))
    }

    /// A context on this model. Errors: `Llama` (e.g. model loaded `vocab_only`).
    pub fn context(&self, p: ContextParams) -> Result<Context<'_>> {
        // SAFETY: plain struct of defaults, no inputs.
        let mut cp = unsafe { sys::llama_context_default_params() };
        cp.n_ctx = p.n_ctx;
        cp.n_batch = p.n_batch;
        cp.n_ubatch = p.n_batch;
        cp.n_seq_max = 1;
        cp.n_threads = p.n_threads;
        cp.n_threads_batch = p.n_threads;
        cp.flash_attn_type = sys::LLAMA_FLASH_ATTN_TYPE_DISABLED;
        cp.no_perf = true;
        // SAFETY: self.ptr is a live model that outlives the context (the borrow in Context);
        // cp is fully initialized.
        let raw = unsafe { sys::llama_init_from_model(self.ptr.as_ptr(), cp) };
        let ptr =
            NonNull::new(raw).ok_or_else(|| Error::Llama("llama_init_from_model failed".into()))?;
        Ok(Context {
            ptr,
            model: self,
            n_past: 0,
            n_batch: p.n_batch.max(1) as usize,
        })
    }
}

impl Drop for Model {
    fn drop(&mut self) {
        // SAFETY: ptr came from llama_model_load_from_file and every Context borrowing it is gone.
        unsafe { sys::llama_model_free(self.ptr.as_ptr()) }
    }
}

/// Context settings; everything else is llama.cpp's default (f16 KV cache, flash attention off).
#[derive(Clone, Copy, Debug)]
pub struct ContextParams {
    /// Context length in tokens.
    pub n_ctx: u32,
    /// Tokens per `llama_decode` call (logical and physical batch).
    pub n_batch: u32,
    /// Threads for prefill and decode.
    pub n_threads: i32,
}

/// Prefill / decode timings of [`Context::bench`].
#[derive(Clone, Copy, Debug)]
pub struct Timing {
    /// Wall time of prefilling `pp` tokens.
    pub prefill: Duration,
    /// Wall time of `tg` single-token decode steps (after the prefill).
    pub decode: Duration,
    /// Prompt tokens.
    pub pp: usize,
    /// Generated (decoded) tokens.
    pub tg: usize,
}

impl Timing {
    /// Prefill tokens per second.
    pub fn pp_tps(&self) -> f64 {
        self.pp as f64 / self.prefill.as_secs_f64().max(1e-12)
    }
    /// Decode tokens per second.
    pub fn tg_tps(&self) -> f64 {
        self.tg as f64 / self.decode.as_secs_f64().max(1e-12)
    }
}

/// A llama.cpp context: KV cache of one sequence and its position.
pub struct Context<'m> {
    ptr: NonNull<sys::llama_context>,
    model: &'m Model,
    n_past: usize,
    n_batch: usize,
}

impl Context<'_> {
    /// Forget every token (clears the KV cache), position back to 0.
    pub fn clear(&mut self) {
        // SAFETY: ptr is a live context; its memory handle lives as long as it does.
        unsafe { sys::llama_memory_clear(sys::llama_get_memory(self.ptr.as_ptr()), true) };
        self.n_past = 0;
    }

    /// Tokens in the KV cache (the next position).
    pub fn n_past(&self) -> usize {
        self.n_past
    }

    /// Run `tokens` at positions `n_past..`, in `n_batch` chunks; request logits for the last
    /// token only, or for every token when `all_logits`. Read them with [`Context::logits`]
    /// (index within the last chunk) or get the last row from [`Context::last_logits`].
    /// Errors: `Llama` with llama_decode's return code (1 = no KV slot, i.e. context full).
    pub fn decode(&mut self, tokens: &[Token], all_logits: bool) -> Result<()> {
        for chunk in tokens.chunks(self.n_batch) {
            let n = to_i32("batch", chunk.len())?;
            to_i32("position", self.n_past + chunk.len())?;
            let last_chunk = chunk.as_ptr_range().end == tokens.as_ptr_range().end;
            // SAFETY: allocates a batch for n tokens, one seq id each, no embeddings.
            let batch = unsafe { sys::llama_batch_init(n, 0, 1) };
            for (i, &t) in chunk.iter().enumerate() {
                let want = all_logits || (last_chunk && i + 1 == chunk.len());
                // SAFETY: batch arrays hold n entries (i < n) and seq_id[i] points to 1 id; the
                // position fits in i32 (checked above for the chunk's last one).
                unsafe {
                    *batch.token.add(i) = t;
                    *batch.pos.add(i) = (self.n_past + i) as i32;
                    *batch.n_seq_id.add(i) = 1;
                    **batch.seq_id.add(i) = 0;
                    *batch.logits.add(i) = i8::from(want);
                }
            }
            let mut b = batch;
            b.n_tokens = n;
            // SAFETY: ptr is a live context and b a filled batch of n tokens.
            let rc = unsafe { sys::llama_decode(self.ptr.as_ptr(), b) };
            // SAFETY: batch came from llama_batch_init and is freed once.
            unsafe { sys::llama_batch_free(batch) };
            if rc != 0 {
                return Err(Error::Llama(format!("llama_decode returned {rc}")));
            }
            self.n_past += chunk.len();
        }
        Ok(())
    }

    /// Logits (`[n_vocab]`) of output `i` of the last `llama_decode` chunk (`-1` = last).
    /// Errors: `Llama` if that token had no logits requested.
    pub fn logits(&self, i: i32) -> Result<&[f32]> {
        // SAFETY: ptr is a live context; llama.cpp returns null for an invalid index.
        let p = unsafe { sys::llama_get_logits_ith(self.ptr.as_ptr(), i) };
        if p.is_null() {
            return Err(Error::Llama(format!("no logits for output {i}")));
        }
        // SAFETY: a non-null row has n_vocab floats, valid until the next decode (which
        // needs &mut self, so the borrow prevents it).
        Ok(unsafe { std::slice::from_raw_parts(p, self.model.n_vocab()) })
    }

    /// Logits of the last decoded token.
    pub fn last_logits(&self) -> Result<&[f32]> {
        self.logits(-1)
    }

    /// Greedy generation: prefill `prompt` (after clearing), then up to `n` tokens, each the
    /// argmax of the logits (lowest id on ties), stopping after an end-of-generation token.
    /// Returns the generated ids (the eog token included when reached).
    pub fn greedy(&mut self, prompt: &[Token], n: usize) -> Result<Vec<Token>> {
        self.clear();
        self.decode(prompt, false)?;
        let mut out = Vec::with_capacity(n);
        while out.len() < n {
            let t = argmax(self.last_logits()?);
            out.push(t);
            if self.model.is_eog(t) || out.len() == n {
                break;
            }
            self.decode(&[t], false)?;
        }
        Ok(out)
    }

    /// `llama-bench`-style timing: clear, prefill `pp` tokens (`pp_token`, repeated) in one
    /// pass, then `tg` single-token decode steps; each phase ends with llama_synchronize.
    pub fn bench(&mut self, pp_token: Token, pp: usize, tg: usize) -> Result<Timing> {
        self.clear();
        let prompt = vec![pp_token; pp];
        let t0 = Instant::now();
        if pp > 0 {
            self.decode(&prompt, false)?;
        }
        // SAFETY: ptr is a live context.
        unsafe { sys::llama_synchronize(self.ptr.as_ptr()) };
        let prefill = t0.elapsed();
        let t1 = Instant::now();
        for _ in 0..tg {
            self.decode(&[pp_token], false)?;
        }
        // SAFETY: ptr is a live context.
        unsafe { sys::llama_synchronize(self.ptr.as_ptr()) };
        Ok(Timing {
            prefill,
            decode: t1.elapsed(),
            pp,
            tg,
        })
    }
}

impl Drop for Context<'_> {
    fn drop(&mut self) {
        // SAFETY: ptr came from llama_init_from_model and is freed once, before its model.
        unsafe { sys::llama_free(self.ptr.as_ptr()) }
    }
}

/// Index of the largest value, lowest index on ties (llama.cpp's greedy sampler keeps the
/// first maximum it meets).
pub fn argmax(v: &[f32]) -> Token {
    let mut best = 0usize;
    for (i, &x) in v.iter().enumerate() {
        if x > v[best] {
            best = i;
        }
    }
    best as Token
}

/// A sparse stand-in for a GGUF whose tensor data is cut (the R1 head file): its header
/// bytes, then zeros up to the file length the header asks for, in a temporary file
/// (removed on drop). llama.cpp's model loader checks every tensor's bounds against the file
/// length even with `vocab_only`, so it refuses the cut file itself; this copy loads.
/// Only the header is copied (tensor data is never read by a vocab-only load), so making
/// one costs a few milliseconds and no disk space beyond the header.
pub struct PaddedCopy {
    path: std::path::PathBuf,
}

impl PaddedCopy {
    /// Copies the header of `src` (parsed with bague's GGUF reader) into a temporary file
    /// padded to the header's tensor-data end. Errors: `Llama` with the I/O or parse error.
    pub fn new(src: &Path) -> Result<PaddedCopy> {
        use std::io::Write;
        let err = |what: &str, e: &dyn std::fmt::Display| {
            Error::Llama(format!("{what} {}: {e}", src.display()))
        };
        let map = bague::loader::MappedFile::open(src).map_err(|e| err("map", &e))?;
        let bytes = map.bytes();
        let file = map.parse().map_err(|e| err("parse", &e))?;
        let header = usize::try_from(file.data_offset())
            .unwrap_or(usize::MAX)
            .min(bytes.len());
        let end = file.tensor_data_end().max(bytes.len() as u64);
        static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let path = std::env::temp_dir().join(format!(
            "bague-oracle-padded-{}-{}.gguf",
            std::process::id(),
            N.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        ));
        let copy = PaddedCopy { path };
        let mut f = std::fs::File::create(&copy.path).map_err(|e| err("create copy of", &e))?;
        f.write_all(&bytes[..header])
            .and_then(|()| f.set_len(end))
            .map_err(|e| err("write copy of", &e))?;
        Ok(copy)
    }

    /// Path of the padded copy.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for PaddedCopy {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

impl Model {
    /// Vocabulary-only load of `path`; when llama.cpp refuses it (a file whose tensor data is
    /// cut, see [`PaddedCopy`]), of a padded copy instead. Returns the model and whether the
    /// copy was needed. Errors: `Llama` when both loads fail.
    pub fn load_vocab(path: &Path) -> Result<(Model, bool)> {
        match Model::load(path, true) {
            Ok(m) => Ok((m, false)),
            Err(first) => {
                let copy = PaddedCopy::new(path)?;
                let m = Model::load(copy.path(), true)
                    .map_err(|e| Error::Llama(format!("{first}; padded copy: {e}")))?;
                Ok((m, true))
            }
        }
    }
}

//! The GPU backend of [`Session`](super::Session) (feature `gpu`): the runtime's [`Model`]
//! described to `bague-gpu` ([`model_desc`]), its weights uploaded once ([`upload`]), and the
//! session state on the device.
//!
//! ```no_run
//! # fn demo(model: &bague::model::Model<'_>) -> Result<(), Box<dyn std::error::Error>> {
//! use bague::session::gpu::{self, AdapterChoice, Device};
//! use bague::session::{Session, SessionOptions};
//! let dev = Device::new(&AdapterChoice::Auto)?;   // never a software adapter
//! let weights = gpu::upload(&dev, model)?;         // once; sessions share them
//! let mut s = Session::on_gpu(model, &weights, SessionOptions::default())?;
//! let next = s.prefill_argmax(&[1, 2, 3])?;        // 8 bytes read back
//! let logits = s.decode(next)?;                    // the whole row, for a sampler
//! # let _ = logits; Ok(()) }
//! ```
//!
//! `bague-gpu` does not know this crate: [`model_desc`] is where a [`Model`] (config and
//! tensors borrowed from the file) becomes its plain-typed [`ModelDesc`].

use super::{ContextPolicy, SessionOptions};
use crate::model::{Error, GpuFault, KvType, Model, RopeKind as CpuRope, Tensor};
use alloc::string::String;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, Ordering};

pub use bague_gpu::{
    AdapterChoice, AdapterSummary, Device, Error as GpuError, GpuModel, LayerDesc, ModelDesc,
    Readback, RopeKind, StepStats, TensorDesc, adapters,
};

/// The GPU description of one tensor (borrowed: name, type, rows × columns, GGUF bytes).
pub fn tensor_desc<'a>(t: &Tensor<'a>) -> TensorDesc<'a> {
    TensorDesc {
        name: t.name,
        ty: t.ty,
        rows: t.n_rows(),
        cols: t.n_cols(),
        bytes: t.data,
    }
}

/// The GPU description of `m`: its dimensions, RoPE and every tensor (borrowed, nothing
/// copied). Tied embeddings (`output` is `token_embd`) are passed as `output: None`.
pub fn model_desc<'a>(m: &Model<'a>) -> ModelDesc<'a> {
    let (c, w) = (&m.config, &m.weights);
    let tied = core::ptr::eq(w.output.data, w.token_embd.data);
    ModelDesc {
        n_embd: c.n_embd,
        n_ff: c.n_ff,
        n_head: c.n_head,
        n_head_kv: c.n_head_kv,
        head_dim: c.head_dim,
        n_vocab: c.n_vocab,
        rms_eps: c.rms_eps,
        rope_kind: match c.rope_kind {
            CpuRope::Normal => RopeKind::Normal,
            CpuRope::Neox => RopeKind::Neox,
        },
        rope_freq_base: c.rope_freq_base,
        rope_freq_scale: c.rope_freq_scale,
        rope_freqs: w.rope_freqs.as_ref().map(tensor_desc),
        token_embd: tensor_desc(&w.token_embd),
        output_norm: tensor_desc(&w.output_norm),
        output: (!tied).then(|| tensor_desc(&w.output)),
        layers: w
            .layers
            .iter()
            .map(|l| LayerDesc {
                attn_norm: tensor_desc(&l.attn_norm),
                wq: tensor_desc(&l.wq),
                wk: tensor_desc(&l.wk),
                wv: tensor_desc(&l.wv),
                bq: l.bq.as_ref().map(tensor_desc),
                bk: l.bk.as_ref().map(tensor_desc),
                bv: l.bv.as_ref().map(tensor_desc),
                wo: tensor_desc(&l.wo),
                bo: l.bo.as_ref().map(tensor_desc),
                ffn_norm: tensor_desc(&l.ffn_norm),
                w_gate: tensor_desc(&l.w_gate),
                w_up: tensor_desc(&l.w_up),
                w_down: tensor_desc(&l.w_down),
            })
            .collect(),
    }
}

/// Uploads `model`'s weights to `dev` (once; any number of sessions share them) and builds
/// the compute pipelines. Errors: `UnsupportedType` naming a tensor whose type has no GPU
/// kernel, `UnsupportedShape`, `TensorTooLarge`, `Allocation` (the device refused a buffer),
/// `DeviceLost` — each with its message.
pub fn upload(dev: &Device, model: &Model<'_>) -> Result<GpuModel, GpuError> {
    GpuModel::upload(dev, &model_desc(model))
}

/// A step's failure on the device, as the session's `Copy` error.
fn fault(e: GpuError) -> Error {
    Error::Gpu(match e {
        GpuError::DeviceLost(_) => GpuFault::DeviceLost,
        GpuError::Readback(_) => GpuFault::Readback,
        GpuError::Allocation { bytes, .. } => GpuFault::Allocation { bytes },
        _ => GpuFault::Internal,
    })
}

/// The GPU state of a [`Session`](super::Session).
pub(crate) struct GpuSession<'m, 'a> {
    model: &'m Model<'a>,
    gpu: bague_gpu::GpuSession<'m>,
    /// `[n_vocab]` the last step's logits, when it read them back.
    logits: Vec<f32>,
    have_logits: bool,
}

impl core::fmt::Debug for GpuSession<'_, '_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Session")
            .field("backend", &self.backend_name())
            .field("n_ctx", &self.gpu.n_ctx())
            .field("position", &self.gpu.position())
            .finish()
    }
}

impl<'m, 'a> GpuSession<'m, 'a> {
    pub(crate) fn new(
        model: &'m Model<'a>,
        weights: &'m GpuModel,
        opts: SessionOptions,
    ) -> Result<Self, GpuError> {
        let c = &model.config;
        if weights.n_layer() != c.n_layer
            || weights.n_vocab() != c.n_vocab
            || weights.n_embd() != c.n_embd
        {
            return Err(GpuError::Invalid(
                "the GPU weights were uploaded from another model".into(),
            ));
        }
        if opts.kv_type != KvType::F16 {
            return Err(GpuError::Invalid(
                "the GPU backend keeps an f16 KV cache (q8_0 is CPU only)".into(),
            ));
        }
        if opts.context_policy != ContextPolicy::Error {
            return Err(GpuError::Invalid(
                "the context shift is not available on the GPU backend".into(),
            ));
        }
        let gpu = bague_gpu::GpuSession::new(
            weights,
            bague_gpu::SessionOptions {
                n_ctx: opts.n_ctx,
                n_batch: opts.n_batch,
            },
        )?;
        let mut logits = Vec::new();
        logits
            .try_reserve_exact(c.n_vocab)
            .map_err(|_| GpuError::Allocation {
                what: "logits [n_vocab] (host)".into(),
                bytes: 4 * c.n_vocab as u64,
                message: "the heap refused it".into(),
            })?;
        logits.resize(c.n_vocab, 0.0);
        Ok(GpuSession {
            model,
            gpu,
            logits,
            have_logits: true,
        })
    }

    pub(crate) fn backend_name(&self) -> String {
        alloc::format!("gpu ({})", self.gpu.model().device().adapter_name())
    }

    pub(crate) fn stats(&self) -> (StepStats, StepStats) {
        (self.gpu.last_stats(), self.gpu.total_stats())
    }

    pub(crate) fn decode_dispatches(&self) -> u64 {
        self.gpu.model().decode_dispatches()
    }

    pub(crate) fn position(&self) -> usize {
        self.gpu.position()
    }

    pub(crate) fn n_ctx(&self) -> usize {
        self.gpu.n_ctx()
    }

    pub(crate) fn model(&self) -> &'m Model<'a> {
        self.model
    }

    pub(crate) fn reset(&mut self) {
        self.gpu.reset();
    }

    pub(crate) fn truncate(&mut self, pos: usize) {
        self.gpu.truncate(pos);
    }

    pub(crate) fn validate(&self, tokens: &[u32], position: usize) -> Result<(), Error> {
        validate_tokens(
            tokens,
            position,
            self.model.config.n_vocab,
            self.gpu.n_ctx(),
        )
    }

    /// Runs `tokens` in chunks of `n_batch` (one submission each), polling `cancel` before
    /// each; the last chunk reads back `rb`. On an error or a cancel the session is left at
    /// its previous position.
    fn run(
        &mut self,
        tokens: &[u32],
        rb: Readback,
        cancel: Option<&AtomicBool>,
    ) -> Result<bague_gpu::StepOutput, Error> {
        self.validate(tokens, self.gpu.position())?;
        let start = self.gpu.position();
        let nb = self.gpu.n_batch();
        let n_chunks = tokens.len().div_ceil(nb);
        let mut out = bague_gpu::StepOutput::default();
        for (i, chunk) in tokens.chunks(nb).enumerate() {
            let r = if cancel.is_some_and(|c| c.load(Ordering::Relaxed)) {
                Err(Error::Cancelled)
            } else {
                let rb = if i + 1 == n_chunks {
                    rb
                } else {
                    Readback::Nothing
                };
                self.gpu.prefill_with(chunk, rb).map_err(fault)
            };
            match r {
                Ok(o) => out = o,
                Err(e) => {
                    self.gpu.truncate(start);
                    return Err(e);
                }
            }
        }
        Ok(out)
    }

    /// Runs `tokens` and keeps the logits row of the last one.
    fn run_logits(&mut self, tokens: &[u32], cancel: Option<&AtomicBool>) -> Result<&[f32], Error> {
        let out = self.run(tokens, Readback::Logits, cancel)?;
        match out.logits {
            Some(l) if l.len() == self.logits.len() => {
                self.logits.copy_from_slice(&l);
                self.have_logits = true;
                Ok(&self.logits)
            }
            _ => Err(Error::Gpu(GpuFault::Internal)),
        }
    }

    pub(crate) fn prefill(&mut self, tokens: &[u32]) -> Result<&[f32], Error> {
        self.run_logits(tokens, None)
    }

    pub(crate) fn prefill_cancellable(
        &mut self,
        tokens: &[u32],
        cancel: &AtomicBool,
    ) -> Result<&[f32], Error> {
        self.run_logits(tokens, Some(cancel))
    }

    pub(crate) fn decode(&mut self, token: u32) -> Result<&[f32], Error> {
        self.run_logits(&[token], None)
    }

    pub(crate) fn decode_cancellable(
        &mut self,
        token: u32,
        cancel: &AtomicBool,
    ) -> Result<&[f32], Error> {
        self.run_logits(&[token], Some(cancel))
    }

    pub(crate) fn prefill_argmax(&mut self, tokens: &[u32]) -> Result<u32, Error> {
        let out = self.run(tokens, Readback::Argmax, None)?;
        self.have_logits = false;
        Ok(out.token)
    }

    pub(crate) fn decode_argmax(&mut self, token: u32) -> Result<u32, Error> {
        self.prefill_argmax(&[token])
    }

    pub(crate) fn logits(&self) -> &[f32] {
        if self.have_logits { &self.logits } else { &[] }
    }

    pub(crate) fn prefill_logits(
        &mut self,
        tokens: &[u32],
        rows: core::ops::Range<usize>,
        buf: &mut [f32],
        cancel: Option<&AtomicBool>,
        on_rows: &mut dyn FnMut(usize, &[f32]),
    ) -> Result<(), Error> {
        let n_vocab = self.model.config.n_vocab;
        let k = (buf.len() / n_vocab).min(self.gpu.n_batch());
        if k == 0 || rows.start > rows.end || rows.end > tokens.len() {
            return Err(Error::BadOption {
                option: "prefill_logits",
                why: "the buffer holds no logits row, or rows go past the tokens",
            });
        }
        self.validate(tokens, self.gpu.position())?;
        if cancel.is_some_and(|c| c.load(Ordering::Relaxed)) {
            return Err(Error::Cancelled);
        }
        let last = tokens.len() - 1;
        let (logits, have) = (&mut self.logits, &mut self.have_logits);
        self.gpu
            .prefill_rows(tokens, rows, k, &mut |i, l| {
                let n = l.len() / n_vocab;
                if (i..i + n).contains(&last) {
                    let at = (last - i) * n_vocab;
                    logits.copy_from_slice(&l[at..at + n_vocab]);
                    *have = true;
                }
                on_rows(i, l);
            })
            .map_err(fault)
    }
}

/// Checks `tokens` at `position` against a vocabulary and a context length (the checks
/// the CPU session makes, for the GPU session). Errors: `EmptyInput`, `TokenOutOfRange`, `ContextFull`.
fn validate_tokens(
    tokens: &[u32],
    position: usize,
    n_vocab: usize,
    n_ctx: usize,
) -> Result<(), Error> {
    if tokens.is_empty() {
        return Err(Error::EmptyInput);
    }
    if let Some(&bad) = tokens.iter().find(|&&t| t as usize >= n_vocab) {
        return Err(Error::TokenOutOfRange {
            token: bad,
            n_vocab,
        });
    }
    if position.saturating_add(tokens.len()) > n_ctx {
        return Err(Error::ContextFull {
            n_ctx,
            position,
            n_tokens: tokens.len(),
        });
    }
    Ok(())
}

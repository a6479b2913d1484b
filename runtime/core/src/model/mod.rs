//! Transformers: hyperparameters ([`Config`]), tensors bound to the file ([`Weights`]),
//! the KV cache and the forward pass. Knows transformers, not files: everything comes from
//! a parsed [`gguf::File`](crate::gguf::File).
//!
//! ```text
//! token ids ─▶ token_embd row ─▶ x ─┬─▶ N × block ─▶ RMSNorm × output_norm ─▶ output · x ─▶ logits
//!                                    │    block: x += Wo·attn(RoPE(Wq·n), RoPE(Wk·n), Wv·n),  n = RMSNorm(x)·attn_norm
//!                                    │           x += Wdown·(silu(Wgate·n) ⊙ Wup·n),           n = RMSNorm(x)·ffn_norm
//! ```

pub(crate) mod buffer;
mod config;
mod error;
pub(crate) mod forward;
mod kv_cache;
pub(crate) mod linalg;
pub(crate) mod rope;
mod weights;

pub use config::{Arch, Config, RopeKind};
pub use error::{Error, GpuFault, HyperValue};
pub use kv_cache::{KvCache, KvType};
pub use weights::{Layer, Tensor, Weights, is_matmul_type};

use crate::gguf::File;
/// The kernel table (re-exported from `bague-kernels`): which instruction set multiplies.
pub use bague_kernels::Kernels;

/// A model ready to run: hyperparameters, tensors (borrowed from the file's buffer) and the
/// kernels chosen for this host.
#[derive(Debug)]
pub struct Model<'a> {
    /// Hyperparameters.
    pub config: Config,
    /// Tensors, bound to the buffer.
    pub weights: Weights<'a>,
    pub(crate) linalg: linalg::Linalg,
}

impl<'a> Model<'a> {
    /// Reads the config and binds the weights of `file`, with the best kernels for this
    /// CPU ([`Kernels::detect`]). Nothing is copied.
    /// Errors: see [`Config::from_gguf`] and [`Weights::bind`].
    pub fn from_gguf(file: &File<'a>) -> Result<Model<'a>, Error> {
        Self::with_kernels(file, Kernels::detect())
    }

    /// [`from_gguf`](Self::from_gguf) with a chosen kernel table (tests compare back ends).
    pub fn with_kernels(file: &File<'a>, kernels: Kernels) -> Result<Model<'a>, Error> {
        let config = Config::from_gguf(file)?;
        let weights = Weights::bind(file, &config)?;
        Ok(Model {
            config,
            weights,
            linalg: linalg::Linalg::new(kernels),
        })
    }

    /// The kernel table this model runs with.
    pub fn kernels(&self) -> &Kernels {
        self.linalg.kernels()
    }

    /// Bytes of tensor data the forward pass reads (mapped, not copied).
    pub fn weight_bytes(&self) -> usize {
        let w = &self.weights;
        let mut n = w.token_embd.data.len() + w.output_norm.data.len();
        if !core::ptr::eq(w.output.data, w.token_embd.data) {
            n += w.output.data.len();
        }
        for l in &w.layers {
            n += [
                &l.attn_norm,
                &l.wq,
                &l.wk,
                &l.wv,
                &l.wo,
                &l.ffn_norm,
                &l.w_gate,
                &l.w_up,
                &l.w_down,
            ]
            .iter()
            .map(|t| t.data.len())
            .sum::<usize>();
            n += [&l.bq, &l.bk, &l.bv, &l.bo]
                .iter()
                .filter_map(|t| t.as_ref())
                .map(|t| t.data.len())
                .sum::<usize>();
        }
        n
    }
}

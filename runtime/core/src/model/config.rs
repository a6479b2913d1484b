//! Hyperparameters of a decoder-only transformer, read from GGUF metadata.
//!
//! Every number comes from the file (`{arch}.block_count`, `.embedding_length`, …) or from
//! llama.cpp's documented default when a key is optional (`rope.freq_base` 10000,
//! `attention.head_count_kv` = `head_count`, no RoPE scaling). Source: llama.cpp
//! `llama-model.cpp` (`load_hparams`) and `src/models/{llama,qwen2}.cpp`.

use super::error::{Error, HyperValue};
use crate::gguf::{self, File, Name};
use alloc::format;

/// The architectures this runtime runs. Both share one forward pass; they differ in the
/// RoPE pairing and in the Q/K/V biases.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arch {
    /// `llama`: Llama 2/3, R1-Distill-Llama, SmolLM2. Normal RoPE, no biases.
    Llama,
    /// `qwen2`: Qwen2/2.5, R1-Distill-Qwen. NeoX RoPE, Q/K/V biases.
    Qwen2,
}

impl Arch {
    /// The `general.architecture` string (and the metadata key prefix).
    pub fn name(self) -> &'static str {
        match self {
            Arch::Llama => "llama",
            Arch::Qwen2 => "qwen2",
        }
    }

    /// The architecture named `s`, if supported.
    pub fn from_name(s: &str) -> Option<Arch> {
        match s {
            "llama" => Some(Arch::Llama),
            "qwen2" => Some(Arch::Qwen2),
            _ => None,
        }
    }

    /// How RoPE pairs the dimensions of a head in this architecture (llama.cpp
    /// `llama_model_rope_type`).
    pub fn rope_kind(self) -> RopeKind {
        match self {
            Arch::Llama => RopeKind::Normal,
            Arch::Qwen2 => RopeKind::Neox,
        }
    }

    /// Whether `attn_q/k/v.bias` are part of every layer.
    pub fn has_qkv_bias(self) -> bool {
        matches!(self, Arch::Qwen2)
    }
}

/// Which dimensions RoPE rotates together.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RopeKind {
    /// Adjacent pairs `(2i, 2i+1)` (ggml `GGML_ROPE_TYPE_NORMAL`).
    Normal,
    /// Pairs `(i, i + head_dim/2)` (ggml `GGML_ROPE_TYPE_NEOX`).
    Neox,
}

/// Hyperparameters. Units: counts of elements, tokens or layers.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Config {
    /// Architecture (`general.architecture`).
    pub arch: Arch,
    /// Transformer blocks (`{arch}.block_count`).
    pub n_layer: usize,
    /// Width of the residual stream (`{arch}.embedding_length`).
    pub n_embd: usize,
    /// Hidden width of the feed-forward block (`{arch}.feed_forward_length`).
    pub n_ff: usize,
    /// Query heads (`{arch}.attention.head_count`).
    pub n_head: usize,
    /// Key/value heads (`{arch}.attention.head_count_kv`, default `n_head`); `n_head` is a
    /// multiple of it (grouped-query attention).
    pub n_head_kv: usize,
    /// Width of one head: `{arch}.attention.key_length`, default `n_embd / n_head`.
    pub head_dim: usize,
    /// Vocabulary size: length of `tokenizer.ggml.tokens`, else rows of `token_embd`.
    pub n_vocab: usize,
    /// Context length the model was trained with (`{arch}.context_length`).
    pub n_ctx_train: usize,
    /// RMSNorm epsilon (`{arch}.attention.layer_norm_rms_epsilon`).
    pub rms_eps: f32,
    /// RoPE base frequency (`{arch}.rope.freq_base`, default 10000).
    pub rope_freq_base: f32,
    /// Position scale of linear RoPE scaling: `1 / {arch}.rope.scaling.factor` (1 = none).
    pub rope_freq_scale: f32,
    /// RoPE pairing, from the architecture.
    pub rope_kind: RopeKind,
}

impl Config {
    /// Reads the hyperparameters of `file`.
    ///
    /// Errors: `UnknownArch`, `Gguf(MissingKey | WrongType | ValueOutOfRange)` for a
    /// required key, `BadHyperparameter` for zero or inconsistent sizes,
    /// `UnsupportedRopeScaling` for YaRN / LongRoPE.
    pub fn from_gguf(file: &File<'_>) -> Result<Config, Error> {
        let arch_name = file.get_str("general.architecture")?;
        let arch = Arch::from_name(arch_name).ok_or(Error::UnknownArch(Name::new(arch_name)))?;
        let a = arch.name();
        let key = |k: &str| format!("{a}.{k}");
        let req = |k: &str| -> Result<usize, Error> {
            let name = key(k);
            let v = file.get_u32(&name)? as usize;
            if v == 0 {
                return Err(bad(&name, 0, "must be positive"));
            }
            Ok(v)
        };
        let opt_u32 = |k: &str| -> Result<Option<usize>, Error> {
            match file.get_u32(&key(k)) {
                Ok(v) => Ok(Some(v as usize)),
                Err(gguf::Error::MissingKey(_)) => Ok(None),
                Err(e) => Err(e.into()),
            }
        };
        let opt_f32 = |k: &str| -> Result<Option<f32>, Error> {
            match file.get_f32(&key(k)) {
                Ok(v) => Ok(Some(v)),
                Err(gguf::Error::MissingKey(_)) => Ok(None),
                Err(e) => Err(e.into()),
            }
        };

        let n_layer = req("block_count")?;
        let n_embd = req("embedding_length")?;
        let n_ff = req("feed_forward_length")?;
        let n_head = req("attention.head_count")?;
        let n_head_kv = opt_u32("attention.head_count_kv")?.unwrap_or(n_head);
        let n_ctx_train = req("context_length")?;
        let rms_eps = file.get_f32(&key("attention.layer_norm_rms_epsilon"))?;
        let rope_freq_base = opt_f32("rope.freq_base")?.unwrap_or(10000.0);

        if n_head_kv == 0 || n_head % n_head_kv != 0 {
            return Err(bad(
                &key("attention.head_count_kv"),
                n_head_kv as u64,
                "must divide attention.head_count",
            ));
        }
        let head_dim = match opt_u32("attention.key_length")? {
            Some(d) => d,
            None => {
                if n_embd % n_head != 0 {
                    return Err(bad(
                        &key("embedding_length"),
                        n_embd as u64,
                        "must be a multiple of attention.head_count",
                    ));
                }
                n_embd / n_head
            }
        };
        if head_dim == 0 || head_dim % 2 != 0 {
            return Err(bad(
                &key("attention.key_length"),
                head_dim as u64,
                "must be even",
            ));
        }
        if let Some(v) = opt_u32("attention.value_length")? {
            if v != head_dim {
                return Err(bad(
                    &key("attention.value_length"),
                    v as u64,
                    "must equal the key length",
                ));
            }
        }
        if let Some(n_rot) = opt_u32("rope.dimension_count")? {
            if n_rot != head_dim {
                return Err(bad(
                    &key("rope.dimension_count"),
                    n_rot as u64,
                    "partial RoPE is not supported: must equal the head width",
                ));
            }
        }
        if !(rms_eps.is_finite() && rms_eps >= 0.0) {
            return Err(bad(
                &key("attention.layer_norm_rms_epsilon"),
                HyperValue::Float(rms_eps),
                "must be a finite non-negative float",
            ));
        }
        if !(rope_freq_base.is_finite() && rope_freq_base > 0.0) {
            return Err(bad(
                &key("rope.freq_base"),
                HyperValue::Float(rope_freq_base),
                "must be a finite positive float",
            ));
        }

        // RoPE scaling, as llama.cpp reads it: type defaults to "linear", factor to none.
        let scaling_key = key("rope.scaling.type");
        let scaling = match file.get_str(&scaling_key) {
            Ok(s) => s,
            Err(gguf::Error::MissingKey(_)) => "linear",
            Err(e) => return Err(e.into()),
        };
        let factor = match opt_f32("rope.scaling.factor")? {
            Some(f) => Some(f),
            None => opt_f32("rope.scale_linear")?,
        };
        let rope_freq_scale = match scaling {
            "none" => 1.0,
            "linear" => match factor {
                None | Some(0.0) => 1.0,
                Some(f) if f.is_finite() && f > 0.0 => 1.0 / f,
                Some(f) => {
                    return Err(bad(
                        &key("rope.scaling.factor"),
                        HyperValue::Float(f),
                        "must be a finite positive float",
                    ));
                }
            },
            other => return Err(Error::UnsupportedRopeScaling(Name::new(other))),
        };

        let n_vocab = match file.get_array("tokenizer.ggml.tokens") {
            Ok(a) => a.len(),
            Err(gguf::Error::MissingKey(_)) => match file.tensor("token_embd.weight") {
                Some(t) => t.dims[1] as usize,
                None => return Err(Error::MissingTensor(Name::new("token_embd.weight"))),
            },
            Err(e) => return Err(e.into()),
        };
        if n_vocab == 0 {
            return Err(bad("tokenizer.ggml.tokens", 0, "vocabulary is empty"));
        }

        Ok(Config {
            arch,
            n_layer,
            n_embd,
            n_ff,
            n_head,
            n_head_kv,
            head_dim,
            n_vocab,
            n_ctx_train,
            rms_eps,
            rope_freq_base,
            rope_freq_scale,
            rope_kind: arch.rope_kind(),
        })
    }

    /// Width of all query heads together: `n_head * head_dim`.
    pub fn q_dim(&self) -> usize {
        self.n_head * self.head_dim
    }

    /// Width of all key (or value) heads together: `n_head_kv * head_dim`.
    pub fn kv_dim(&self) -> usize {
        self.n_head_kv * self.head_dim
    }

    /// Query heads that share one key/value head.
    pub fn gqa_group(&self) -> usize {
        self.n_head / self.n_head_kv
    }
}

fn bad(key: &str, value: impl Into<HyperValue>, why: &'static str) -> Error {
    Error::BadHyperparameter {
        key: Name::new(key),
        value: value.into(),
        why,
    }
}

impl From<u64> for HyperValue {
    fn from(v: u64) -> Self {
        HyperValue::Int(v)
    }
}

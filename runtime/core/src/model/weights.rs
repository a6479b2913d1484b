//! The model's tensors, bound by name to views of the GGUF buffer.
//!
//! Binding checks, for every tensor the architecture needs: presence, element type (one the
//! kernels can multiply with, or F32 for norms and biases), shape (from the
//! [`Config`]) and that its data lies inside the buffer. Nothing is copied or converted:
//! a [`Tensor`] is a type, a shape and a `&[u8]` into the mapped file.
//!
//! Names and shapes follow llama.cpp (`src/llama-arch.cpp`, `src/models/{llama,qwen2}.cpp`);
//! shapes are written `[ne0, ne1]`, `ne0` innermost: a matrix `[n_in, n_out]` is `n_out`
//! rows of `n_in` weights, and `y = W·x` takes `x: [n_in]` to `y: [n_out]`.

use super::config::Config;
use super::error::Error;
use crate::GgmlType;
use crate::gguf::{File, Name};
use alloc::vec::Vec;
use core::fmt::Write as _;

/// A tensor of the file: type, shape and data, borrowed.
#[derive(Clone, Copy, Debug)]
pub struct Tensor<'a> {
    /// Name in the file.
    pub name: &'a str,
    /// Element type.
    pub ty: GgmlType,
    /// `[ne0, ne1, ne2, ne3]`, `ne0` innermost.
    pub dims: [u64; 4],
    /// Data: `n_rows` rows of `row_bytes` bytes.
    pub data: &'a [u8],
}

impl<'a> Tensor<'a> {
    /// Elements per row (`ne0`): the input width of a matrix.
    pub fn n_cols(&self) -> usize {
        self.dims[0] as usize
    }

    /// Rows (`ne1 * ne2 * ne3`): the output width of a matrix.
    pub fn n_rows(&self) -> usize {
        (self.dims[1] * self.dims[2] * self.dims[3]) as usize
    }

    /// Bytes of one row.
    pub fn row_bytes(&self) -> usize {
        self.data.len() / self.n_rows().max(1)
    }

    /// The bytes of row `i`, or `None` past the last row.
    pub fn row(&self, i: usize) -> Option<&'a [u8]> {
        let rb = self.row_bytes();
        self.data.get(i.checked_mul(rb)?..(i + 1).checked_mul(rb)?)
    }

    /// Element `i` of an F32 tensor (read little-endian: the data may be unaligned).
    #[inline(always)]
    pub fn f32_at(&self, i: usize) -> f32 {
        let b = &self.data[4 * i..4 * i + 4];
        f32::from_le_bytes([b[0], b[1], b[2], b[3]])
    }
}

/// The tensors of one transformer block.
#[derive(Clone, Copy, Debug)]
pub struct Layer<'a> {
    /// `blk.N.attn_norm.weight` `[n_embd]` F32: RMSNorm gain before attention.
    pub attn_norm: Tensor<'a>,
    /// `blk.N.attn_q.weight` `[n_embd, n_head * head_dim]`.
    pub wq: Tensor<'a>,
    /// `blk.N.attn_k.weight` `[n_embd, n_head_kv * head_dim]`.
    pub wk: Tensor<'a>,
    /// `blk.N.attn_v.weight` `[n_embd, n_head_kv * head_dim]`.
    pub wv: Tensor<'a>,
    /// `blk.N.attn_q.bias` `[n_head * head_dim]` F32 (qwen2; optional for llama).
    pub bq: Option<Tensor<'a>>,
    /// `blk.N.attn_k.bias` `[n_head_kv * head_dim]` F32.
    pub bk: Option<Tensor<'a>>,
    /// `blk.N.attn_v.bias` `[n_head_kv * head_dim]` F32.
    pub bv: Option<Tensor<'a>>,
    /// `blk.N.attn_output.weight` `[n_head * head_dim, n_embd]`.
    pub wo: Tensor<'a>,
    /// `blk.N.attn_output.bias` `[n_embd]` F32, optional (llama).
    pub bo: Option<Tensor<'a>>,
    /// `blk.N.ffn_norm.weight` `[n_embd]` F32: RMSNorm gain before the feed-forward block.
    pub ffn_norm: Tensor<'a>,
    /// `blk.N.ffn_gate.weight` `[n_embd, n_ff]`.
    pub w_gate: Tensor<'a>,
    /// `blk.N.ffn_up.weight` `[n_embd, n_ff]`.
    pub w_up: Tensor<'a>,
    /// `blk.N.ffn_down.weight` `[n_ff, n_embd]`.
    pub w_down: Tensor<'a>,
}

/// All tensors of a model, bound to the file's buffer.
#[derive(Clone, Debug)]
pub struct Weights<'a> {
    /// `token_embd.weight` `[n_embd, n_vocab]`: one row per token, looked up and dequantized.
    pub token_embd: Tensor<'a>,
    /// `output_norm.weight` `[n_embd]` F32: final RMSNorm gain.
    pub output_norm: Tensor<'a>,
    /// `output.weight` `[n_embd, n_vocab]`, or `token_embd.weight` when the file has none
    /// (tied embeddings, as SmolLM2).
    pub output: Tensor<'a>,
    /// `rope_freqs.weight` `[head_dim / 2]` F32, optional: per-pair RoPE frequency divisors
    /// (Llama 3.1 style scaling, baked into the file).
    pub rope_freqs: Option<Tensor<'a>>,
    /// The blocks, `n_layer` of them.
    pub layers: Vec<Layer<'a>>,
}

/// Matrix types the forward pass multiplies with (weights × quantized activations): those
/// the kernels support ([`Kernels::supports`](bague_kernels::Kernels::supports)).
pub fn is_matmul_type(ty: GgmlType) -> bool {
    bague_kernels::Kernels::supports(ty)
}

impl<'a> Weights<'a> {
    /// Binds every tensor `cfg` needs. Errors: `MissingTensor`, `UnsupportedTensorType`,
    /// `TensorShape`, `Gguf(TensorOutOfBounds)` ("truncated: tensor X needs bytes A..B,
    /// file has N") for the first tensor, in file order, whose data is cut.
    pub fn bind(file: &File<'a>, cfg: &Config) -> Result<Weights<'a>, Error> {
        // Bounds of every tensor first, so that a truncated file reports the tensor that is
        // cut, whichever the architecture would have looked at first.
        file.check_tensor_data()?;
        let (e, v, ff) = (cfg.n_embd as u64, cfg.n_vocab as u64, cfg.n_ff as u64);
        let (qd, kvd) = (cfg.q_dim() as u64, cfg.kv_dim() as u64);
        let token_embd = get(file, "token_embd.weight", Role::Embedding, &[e, v])?;
        let output_norm = get(file, "output_norm.weight", Role::Vector, &[e])?;
        let output = match file.tensor("output.weight") {
            Some(_) => get(file, "output.weight", Role::Matrix, &[e, v])?,
            None => {
                if !is_matmul_type(token_embd.ty) {
                    return Err(Error::UnsupportedTensorType {
                        name: Name::new("token_embd.weight"),
                        ty: token_embd.ty,
                    });
                }
                token_embd
            }
        };
        let half = (cfg.head_dim / 2) as u64;
        let rope_freqs = opt(file, "rope_freqs.weight", Role::Vector, &[half])?;
        let bias_required = cfg.arch.has_qkv_bias();
        let n_layers = cfg.n_layer.min(file.n_tensors());
        let mut layers = Vec::new();
        layers
            .try_reserve_exact(n_layers)
            .map_err(|_| Error::OutOfMemory {
                what: "layer table",
                bytes: n_layers.saturating_mul(core::mem::size_of::<Layer<'_>>()),
            })?;
        for i in 0..cfg.n_layer {
            // Tensor names on the stack: loading allocates nothing but the layer table.
            let n = |s: &str| {
                let mut name = TensorName::default();
                let _ = write!(name, "blk.{i}.{s}");
                name
            };
            let bias = |s: &str, dim: u64| -> Result<Option<Tensor<'a>>, Error> {
                if bias_required {
                    get(file, &n(s), Role::Vector, &[dim]).map(Some)
                } else {
                    opt(file, &n(s), Role::Vector, &[dim])
                }
            };
            layers.push(Layer {
                attn_norm: get(file, &n("attn_norm.weight"), Role::Vector, &[e])?,
                wq: get(file, &n("attn_q.weight"), Role::Matrix, &[e, qd])?,
                wk: get(file, &n("attn_k.weight"), Role::Matrix, &[e, kvd])?,
                wv: get(file, &n("attn_v.weight"), Role::Matrix, &[e, kvd])?,
                bq: bias("attn_q.bias", qd)?,
                bk: bias("attn_k.bias", kvd)?,
                bv: bias("attn_v.bias", kvd)?,
                wo: get(file, &n("attn_output.weight"), Role::Matrix, &[qd, e])?,
                bo: opt(file, &n("attn_output.bias"), Role::Vector, &[e])?,
                ffn_norm: get(file, &n("ffn_norm.weight"), Role::Vector, &[e])?,
                w_gate: get(file, &n("ffn_gate.weight"), Role::Matrix, &[e, ff])?,
                w_up: get(file, &n("ffn_up.weight"), Role::Matrix, &[e, ff])?,
                w_down: get(file, &n("ffn_down.weight"), Role::Matrix, &[ff, e])?,
            });
        }
        Ok(Weights {
            token_embd,
            output_norm,
            output,
            rope_freqs,
            layers,
        })
    }

    /// Every matrix the forward pass multiplies with, in no particular order.
    pub fn matrices(&self) -> impl Iterator<Item = &Tensor<'a>> + '_ {
        core::iter::once(&self.output).chain(
            self.layers
                .iter()
                .flat_map(|l| [&l.wq, &l.wk, &l.wv, &l.wo, &l.w_gate, &l.w_up, &l.w_down]),
        )
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Role {
    /// F32 vector (norm gain, bias).
    Vector,
    /// A matrix multiplied with activations.
    Matrix,
    /// The embedding table: rows are dequantized.
    Embedding,
}

fn opt<'a>(
    file: &File<'a>,
    name: &str,
    role: Role,
    shape: &[u64],
) -> Result<Option<Tensor<'a>>, Error> {
    match file.tensor(name) {
        None => Ok(None),
        Some(_) => get(file, name, role, shape).map(Some),
    }
}

fn get<'a>(file: &File<'a>, name: &str, role: Role, shape: &[u64]) -> Result<Tensor<'a>, Error> {
    let info = file
        .tensor(name)
        .ok_or_else(|| Error::MissingTensor(Name::new(name)))?;
    let ok_type = match role {
        Role::Vector => info.ty == GgmlType::F32,
        Role::Matrix => is_matmul_type(info.ty),
        Role::Embedding => is_matmul_type(info.ty),
    };
    if !ok_type {
        return Err(Error::UnsupportedTensorType {
            name: Name::new(name),
            ty: info.ty,
        });
    }
    let mut expected = [1u64; 4];
    expected[..shape.len()].copy_from_slice(shape);
    if info.dims != expected || info.n_dims as usize > shape.len().max(1) {
        return Err(Error::TensorShape {
            name: Name::new(name),
            found: info.dims,
            found_dims: info.n_dims,
            expected: expected.map(|d| u32::try_from(d).unwrap_or(u32::MAX)),
            expected_dims: shape.len() as u32,
        });
    }
    let data = file.tensor_data(&info)?;
    Ok(Tensor {
        name: info.name,
        ty: info.ty,
        dims: info.dims,
        data,
    })
}

/// A tensor name built on the stack (`blk.<i>.<suffix>`; GGUF names are at most 64 bytes,
/// a longer one is cut and then not found).
struct TensorName {
    buf: [u8; 96],
    len: usize,
}

impl Default for TensorName {
    fn default() -> Self {
        TensorName {
            buf: [0; 96],
            len: 0,
        }
    }
}

impl core::fmt::Write for TensorName {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        let n = s.len().min(self.buf.len() - self.len);
        self.buf[self.len..self.len + n].copy_from_slice(&s.as_bytes()[..n]);
        self.len += n;
        Ok(())
    }
}

impl core::ops::Deref for TensorName {
    type Target = str;
    fn deref(&self) -> &str {
        // Only whole `&str`s are written, unless one is cut at the end: keep the valid part.
        let b = &self.buf[..self.len];
        match core::str::from_utf8(b) {
            Ok(s) => s,
            Err(e) => core::str::from_utf8(&b[..e.valid_up_to()]).unwrap_or(""),
        }
    }
}

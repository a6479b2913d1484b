//! A model as the GPU path sees it: [`ModelDesc`] (plain types the runtime fills from its
//! `Model`; nothing here reads GGUF) and [`GpuModel`], its weights uploaded once.
//!
//! Weights are uploaded as the file stores them (GGUF blocks, byte-packed): no repacking, so
//! the device holds exactly the bytes of the matrices plus one buffer of every F32 vector
//! (norm gains, biases). Q, K, V of a layer share one buffer (one dispatch reads them), as do
//! gate and up. A matrix larger than the device's largest storage binding (the 151,936-row
//! output matrix of Qwen2.5 on a 128 MiB binding) is split by rows into up to four buffers,
//! one dispatch each.

use crate::Error;
use crate::device::Device;
use bague_kernels::GgmlType;

/// Which dimensions RoPE rotates together.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RopeKind {
    /// Adjacent pairs `(2i, 2i + 1)` (llama, SmolLM2).
    Normal,
    /// Pairs `(i, i + head_dim / 2)` (qwen2, R1-Distill-Qwen).
    Neox,
}

/// One tensor: type, shape and bytes as in the GGUF file (`rows` rows of `cols` elements;
/// a vector has one row). The bytes need no alignment.
#[derive(Clone, Copy, Debug)]
pub struct TensorDesc<'a> {
    /// Name, for messages (`blk.3.ffn_up.weight`).
    pub name: &'a str,
    /// ggml type.
    pub ty: GgmlType,
    /// Rows (`ne1`): the output width of a matrix.
    pub rows: usize,
    /// Elements per row (`ne0`): the input width of a matrix.
    pub cols: usize,
    /// `rows * cols / block_size * block_bytes` bytes.
    pub bytes: &'a [u8],
}

/// The tensors of one transformer block (shapes as in llama.cpp: `[cols, rows]`).
#[derive(Clone, Copy, Debug)]
pub struct LayerDesc<'a> {
    /// `[n_embd]` F32 RMSNorm gain before attention.
    pub attn_norm: TensorDesc<'a>,
    /// `[n_embd, n_head * head_dim]`.
    pub wq: TensorDesc<'a>,
    /// `[n_embd, n_head_kv * head_dim]`.
    pub wk: TensorDesc<'a>,
    /// `[n_embd, n_head_kv * head_dim]`.
    pub wv: TensorDesc<'a>,
    /// `[n_head * head_dim]` F32 (qwen2).
    pub bq: Option<TensorDesc<'a>>,
    /// `[n_head_kv * head_dim]` F32.
    pub bk: Option<TensorDesc<'a>>,
    /// `[n_head_kv * head_dim]` F32.
    pub bv: Option<TensorDesc<'a>>,
    /// `[n_head * head_dim, n_embd]`.
    pub wo: TensorDesc<'a>,
    /// `[n_embd]` F32, optional.
    pub bo: Option<TensorDesc<'a>>,
    /// `[n_embd]` F32 RMSNorm gain before the feed-forward block.
    pub ffn_norm: TensorDesc<'a>,
    /// `[n_embd, n_ff]`.
    pub w_gate: TensorDesc<'a>,
    /// `[n_embd, n_ff]`.
    pub w_up: TensorDesc<'a>,
    /// `[n_ff, n_embd]`.
    pub w_down: TensorDesc<'a>,
}

/// A decoder-only transformer (llama / qwen2 graph) in plain types.
#[derive(Clone, Debug)]
pub struct ModelDesc<'a> {
    /// Width of the residual stream.
    pub n_embd: usize,
    /// Hidden width of the feed-forward block.
    pub n_ff: usize,
    /// Query heads.
    pub n_head: usize,
    /// Key/value heads (divides `n_head`).
    pub n_head_kv: usize,
    /// Width of one head (a multiple of 4, at most 256).
    pub head_dim: usize,
    /// Vocabulary size (rows of the output matrix).
    pub n_vocab: usize,
    /// RMSNorm epsilon, from the file.
    pub rms_eps: f32,
    /// RoPE pairing.
    pub rope_kind: RopeKind,
    /// RoPE base frequency, from the file (10000 for R1, 1e6 for Qwen2.5).
    pub rope_freq_base: f32,
    /// Position scale of linear RoPE scaling (1 = none).
    pub rope_freq_scale: f32,
    /// `[head_dim / 2]` F32 per-pair frequency divisors, if the file has them.
    pub rope_freqs: Option<TensorDesc<'a>>,
    /// `[n_embd, n_vocab]` embedding table.
    pub token_embd: TensorDesc<'a>,
    /// `[n_embd]` F32 final RMSNorm gain.
    pub output_norm: TensorDesc<'a>,
    /// `[n_embd, n_vocab]`, or `None` for tied embeddings (the table is the output matrix).
    pub output: Option<TensorDesc<'a>>,
    /// The blocks.
    pub layers: Vec<LayerDesc<'a>>,
}

impl ModelDesc<'_> {
    /// Checks, without a device, that the GPU kernels can run this model: every matrix of a
    /// supported type and of the right shape and byte size, vectors F32, head_dim a multiple
    /// of 4 up to 256, Q/K/V and gate/up sharing an activation format.
    /// Errors: [`Error::UnsupportedType`] (naming the tensor), [`Error::UnsupportedShape`],
    /// [`Error::TensorSize`].
    pub fn check(&self) -> Result<(), Error> {
        let (e, ff, v) = (self.n_embd, self.n_ff, self.n_vocab);
        let (qd, kvd, hd) = (self.q_dim(), self.kv_dim(), self.head_dim);
        let shape = |why: String| Error::UnsupportedShape {
            what: "model".to_string(),
            why,
        };
        if self.n_head == 0 || self.n_head_kv == 0 || self.n_head % self.n_head_kv != 0 {
            return Err(shape(format!(
                "{} query heads are not a multiple of {} KV heads",
                self.n_head, self.n_head_kv
            )));
        }
        if hd == 0 || hd % 4 != 0 || hd > 256 {
            return Err(shape(format!(
                "head_dim {hd}: the kernels need a multiple of 4, at most 256"
            )));
        }
        if e == 0 || ff == 0 || v == 0 || self.layers.is_empty() {
            return Err(shape("empty dimension or no layers".to_string()));
        }
        for l in &self.layers {
            f32s(&l.attn_norm, e)?;
            f32s(&l.ffn_norm, e)?;
            for (b, n) in [(&l.bq, qd), (&l.bk, kvd), (&l.bv, kvd), (&l.bo, e)] {
                if let Some(b) = b {
                    f32s(b, n)?;
                }
            }
            for (t, rows, cols) in [
                (&l.wq, qd, e),
                (&l.wk, kvd, e),
                (&l.wv, kvd, e),
                (&l.wo, e, qd),
                (&l.w_gate, ff, e),
                (&l.w_up, ff, e),
                (&l.w_down, e, ff),
            ] {
                check_matrix(t, rows, cols)?;
            }
            for (a, b) in [(&l.wq, &l.wk), (&l.wq, &l.wv), (&l.w_gate, &l.w_up)] {
                if is_k(a.ty) != is_k(b.ty) {
                    return Err(Error::UnsupportedShape {
                        what: format!("tensors {} and {}", a.name, b.name),
                        why: format!(
                            "{} and {} share one dispatch but not one activation format (Q8_K vs Q8_0)",
                            a.ty.name(),
                            b.ty.name()
                        ),
                    });
                }
            }
        }
        f32s(&self.output_norm, e)?;
        if let Some(f) = &self.rope_freqs {
            f32s(f, hd / 2)?;
        }
        check_matrix(&self.token_embd, v, e)?;
        if let Some(o) = &self.output {
            check_matrix(o, v, e)?;
        }
        Ok(())
    }

    /// `n_head * head_dim`.
    pub fn q_dim(&self) -> usize {
        self.n_head * self.head_dim
    }
    /// `n_head_kv * head_dim`.
    pub fn kv_dim(&self) -> usize {
        self.n_head_kv * self.head_dim
    }
}

/// Whether the GPU kernels multiply with weights of type `ty`.
pub fn supports(ty: GgmlType) -> bool {
    use GgmlType::*;
    matches!(ty, Q4_0 | Q4_1 | Q5_0 | Q8_0 | Q4_K | Q6_K)
}

/// The activation format family of a weight type: Q8_K for k-quants, else Q8_0/Q8_1.
pub(crate) fn is_k(ty: GgmlType) -> bool {
    matches!(ty, GgmlType::Q4_K | GgmlType::Q6_K)
}

/// A matrix on the device: row ranges in up to four buffers.
#[derive(Debug)]
pub(crate) struct GpuTensor {
    pub ty: GgmlType,
    pub rows: usize,
    pub row_bytes: usize,
    /// `(buffer, first row)` per chunk.
    pub chunks: Vec<(wgpu::Buffer, usize)>,
}

/// One tensor inside a [`Packed`] buffer.
#[derive(Debug)]
pub(crate) struct Part {
    pub ty: GgmlType,
    pub rows: usize,
    pub row_bytes: usize,
    /// Byte offset of its first row in the buffer.
    pub offset: usize,
}

/// Several matrices read by one dispatch (Q|K|V, gate|up), one after the other in one
/// buffer, each as the file stores it.
#[derive(Debug)]
pub(crate) struct Packed {
    pub buf: wgpu::Buffer,
    pub parts: Vec<Part>,
}

/// The uploaded tensors of one block; vectors are offsets (f32 elements) in `smalls`.
#[derive(Debug)]
pub(crate) struct GpuLayer {
    pub attn_norm: u32,
    /// Q, K, V.
    pub qkv: Packed,
    pub bq: Option<u32>,
    pub bk: Option<u32>,
    pub bv: Option<u32>,
    pub wo: GpuTensor,
    pub bo: Option<u32>,
    pub ffn_norm: u32,
    /// gate, up.
    pub gate_up: Packed,
    pub w_down: GpuTensor,
}

/// Hyperparameters kept on the host.
#[derive(Clone, Debug)]
pub(crate) struct Dims {
    pub n_embd: usize,
    pub n_ff: usize,
    pub n_head: usize,
    pub n_head_kv: usize,
    pub head_dim: usize,
    pub n_vocab: usize,
    pub rms_eps: f32,
    pub neox: bool,
    pub rope_freq_base: f32,
    pub rope_freq_scale: f32,
    pub rope_freqs: Option<Vec<f32>>,
}

impl Dims {
    pub fn q_dim(&self) -> usize {
        self.n_head * self.head_dim
    }
    pub fn kv_dim(&self) -> usize {
        self.n_head_kv * self.head_dim
    }
}

/// A model's weights on the device, uploaded once, and the compute pipelines.
#[derive(Debug)]
pub struct GpuModel {
    pub(crate) dev: Device,
    pub(crate) dims: Dims,
    pub(crate) token_embd: GpuTensor,
    /// `None`: tied, the output matrix is `token_embd`.
    pub(crate) output: Option<GpuTensor>,
    pub(crate) output_norm: u32,
    pub(crate) layers: Vec<GpuLayer>,
    /// Every F32 vector of the model, concatenated.
    pub(crate) smalls: wgpu::Buffer,
    weight_bytes: u64,
}

fn f32s(t: &TensorDesc<'_>, n: usize) -> Result<Vec<f32>, Error> {
    if t.ty != GgmlType::F32 {
        return Err(Error::UnsupportedType {
            tensor: t.name.to_string(),
            ty: t.ty,
        });
    }
    if t.rows * t.cols != n || t.bytes.len() != 4 * n {
        return Err(Error::TensorSize {
            tensor: t.name.to_string(),
            got: t.bytes.len(),
            want: 4 * n,
        });
    }
    Ok(t.bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect())
}

/// Bytes `rows x cols` of `ty` need, or `None` when `cols` is not a whole number of blocks.
fn tensor_bytes(ty: GgmlType, rows: usize, cols: usize) -> Option<usize> {
    if cols % ty.block_size() != 0 {
        return None;
    }
    (cols / ty.block_size())
        .checked_mul(ty.block_bytes())?
        .checked_mul(rows)
}

/// Creates a buffer holding `bytes` (padded to a word, plus one word of slack for the
/// two-word loads at the end of the last row).
pub(crate) fn upload_bytes(
    dev: &Device,
    what: &str,
    bytes: &[u8],
    usage: wgpu::BufferUsages,
) -> Result<wgpu::Buffer, Error> {
    let size = (bytes.len() as u64).next_multiple_of(4) + 4;
    let mapped = dev.scoped(what, size, || {
        let buf = dev.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some(what),
            size,
            usage,
            mapped_at_creation: true,
        });
        let copied = match buf.slice(..).get_mapped_range_mut() {
            Ok(mut view) => {
                view.slice(..bytes.len()).copy_from_slice(bytes);
                Ok(())
            }
            Err(e) => Err(e.to_string()),
        };
        buf.unmap();
        copied.map(|()| buf)
    })?;
    mapped.map_err(|message| Error::Allocation {
        what: what.to_string(),
        bytes: size,
        message,
    })
}

/// Type, shape and byte size of a matrix `rows x cols`; returns its bytes per row.
fn check_matrix(t: &TensorDesc<'_>, rows: usize, cols: usize) -> Result<usize, Error> {
    if !supports(t.ty) {
        return Err(Error::UnsupportedType {
            tensor: t.name.to_string(),
            ty: t.ty,
        });
    }
    if t.rows != rows || t.cols != cols || cols % 32 != 0 {
        return Err(Error::UnsupportedShape {
            what: format!("tensor {}", t.name),
            why: format!(
                "shape [{}, {}], expected [{cols}, {rows}] with a multiple of 32 columns",
                t.cols, t.rows
            ),
        });
    }
    if is_k(t.ty) && cols > 32768 {
        return Err(Error::UnsupportedShape {
            what: format!("tensor {}", t.name),
            why: format!("{cols} columns: the Q8_K prologue keeps at most 32768"),
        });
    }
    let want = tensor_bytes(t.ty, rows, cols).unwrap_or(usize::MAX);
    if t.bytes.len() != want {
        return Err(Error::TensorSize {
            tensor: t.name.to_string(),
            got: t.bytes.len(),
            want,
        });
    }
    Ok(want / rows.max(1))
}

pub(crate) fn upload_matrix(
    dev: &Device,
    t: &TensorDesc<'_>,
    rows: usize,
    cols: usize,
) -> Result<GpuTensor, Error> {
    let row_bytes = check_matrix(t, rows, cols)?;
    let want = row_bytes * rows;
    let max = dev
        .limits
        .max_storage_buffer_binding_size
        .min(dev.limits.max_buffer_size)
        .saturating_sub(8);
    let rows_per = (max / row_bytes.max(1) as u64) as usize;
    if rows_per == 0 || rows.div_ceil(rows_per) > 4 {
        return Err(Error::TensorTooLarge {
            tensor: t.name.to_string(),
            bytes: want as u64,
            max_binding: dev.limits.max_storage_buffer_binding_size,
        });
    }
    let n_chunks = rows.div_ceil(rows_per).max(1);
    // Even split, so that no chunk is a sliver.
    let per = rows.div_ceil(n_chunks);
    let mut chunks = Vec::with_capacity(n_chunks);
    for c in 0..n_chunks {
        let r0 = c * per;
        let r1 = ((c + 1) * per).min(rows);
        let what = format!("tensor {} rows {r0}..{r1}", t.name);
        let buf = upload_bytes(
            dev,
            &what,
            &t.bytes[r0 * row_bytes..r1 * row_bytes],
            wgpu::BufferUsages::STORAGE,
        )?;
        chunks.push((buf, r0));
    }
    Ok(GpuTensor {
        ty: t.ty,
        rows,
        row_bytes,
        chunks,
    })
}

/// Uploads `tensors` (each `(desc, rows, cols)`) one after the other into one buffer, each
/// starting at a multiple of 4 bytes. Errors as [`upload_matrix`]; [`Error::TensorTooLarge`]
/// when together they exceed one storage binding.
fn upload_packed(
    dev: &Device,
    what: &str,
    tensors: &[(&TensorDesc<'_>, usize, usize)],
) -> Result<Packed, Error> {
    let mut parts = Vec::with_capacity(tensors.len());
    let mut total = 0usize;
    for (t, rows, cols) in tensors {
        let row_bytes = check_matrix(t, *rows, *cols)?;
        parts.push(Part {
            ty: t.ty,
            rows: *rows,
            row_bytes,
            offset: total,
        });
        total = (total + row_bytes * rows).next_multiple_of(4);
    }
    let max = dev.limits.max_storage_buffer_binding_size.saturating_sub(8);
    if total as u64 > max {
        return Err(Error::TensorTooLarge {
            tensor: what.to_string(),
            bytes: total as u64,
            max_binding: dev.limits.max_storage_buffer_binding_size,
        });
    }
    let mut bytes = vec![0u8; total];
    for ((t, _, _), p) in tensors.iter().zip(&parts) {
        bytes[p.offset..p.offset + t.bytes.len()].copy_from_slice(t.bytes);
    }
    let buf = upload_bytes(dev, what, &bytes, wgpu::BufferUsages::STORAGE)?;
    Ok(Packed { buf, parts })
}

impl GpuModel {
    /// Checks `desc` and uploads its weights to `dev` (once; sessions share them), and
    /// builds the compute pipelines.
    ///
    /// Errors: [`Error::UnsupportedType`] for a matrix type without a kernel (or a vector
    /// that is not F32), [`Error::UnsupportedShape`], [`Error::TensorSize`],
    /// [`Error::TensorTooLarge`], [`Error::Allocation`] when the device refuses a buffer,
    /// [`Error::DeviceLost`].
    pub fn upload(dev: &Device, desc: &ModelDesc<'_>) -> Result<GpuModel, Error> {
        desc.check()?;
        let (e, ff, v) = (desc.n_embd, desc.n_ff, desc.n_vocab);
        let (qd, kvd, hd) = (desc.q_dim(), desc.kv_dim(), desc.head_dim);
        let mut smalls: Vec<f32> = Vec::new();
        let mut push = |t: &TensorDesc<'_>, n: usize| -> Result<u32, Error> {
            let off = smalls.len() as u32;
            smalls.extend(f32s(t, n)?);
            Ok(off)
        };
        let mut layers = Vec::with_capacity(desc.layers.len());
        for l in &desc.layers {
            let attn_norm = push(&l.attn_norm, e)?;
            let ffn_norm = push(&l.ffn_norm, e)?;
            let bq = l.bq.as_ref().map(|b| push(b, qd)).transpose()?;
            let bk = l.bk.as_ref().map(|b| push(b, kvd)).transpose()?;
            let bv = l.bv.as_ref().map(|b| push(b, kvd)).transpose()?;
            let bo = l.bo.as_ref().map(|b| push(b, e)).transpose()?;
            let name = l.wq.name.rsplit_once(".attn_q").map_or(l.wq.name, |x| x.0);
            let qkv = upload_packed(
                dev,
                &format!("{name} Q|K|V"),
                &[(&l.wq, qd, e), (&l.wk, kvd, e), (&l.wv, kvd, e)],
            )?;
            let wo = upload_matrix(dev, &l.wo, e, qd)?;
            let gate_up = upload_packed(
                dev,
                &format!("{name} gate|up"),
                &[(&l.w_gate, ff, e), (&l.w_up, ff, e)],
            )?;
            let w_down = upload_matrix(dev, &l.w_down, e, ff)?;
            layers.push(GpuLayer {
                attn_norm,
                qkv,
                bq,
                bk,
                bv,
                wo,
                bo,
                ffn_norm,
                gate_up,
                w_down,
            });
        }
        let output_norm = push(&desc.output_norm, e)?;
        let rope_freqs = desc
            .rope_freqs
            .as_ref()
            .map(|t| f32s(t, hd / 2))
            .transpose()?;
        let token_embd = upload_matrix(dev, &desc.token_embd, v, e)?;
        let output = desc
            .output
            .as_ref()
            .map(|t| upload_matrix(dev, t, v, e))
            .transpose()?;
        let smalls_buf = upload_bytes(
            dev,
            "F32 vectors (norms, biases)",
            bytemuck::cast_slice(&smalls),
            wgpu::BufferUsages::STORAGE,
        )?;
        dev.pipelines()?;
        let mut weight_bytes = (smalls.len() * 4) as u64;
        for t in layers
            .iter()
            .flat_map(|l| [&l.wo, &l.w_down])
            .chain([&token_embd])
            .chain(output.as_ref())
        {
            weight_bytes += (t.rows * t.row_bytes) as u64;
        }
        for p in layers
            .iter()
            .flat_map(|l| l.qkv.parts.iter().chain(&l.gate_up.parts))
        {
            weight_bytes += (p.rows * p.row_bytes) as u64;
        }
        Ok(GpuModel {
            dev: dev.clone(),
            dims: Dims {
                n_embd: e,
                n_ff: ff,
                n_head: desc.n_head,
                n_head_kv: desc.n_head_kv,
                head_dim: hd,
                n_vocab: v,
                rms_eps: desc.rms_eps,
                neox: desc.rope_kind == RopeKind::Neox,
                rope_freq_base: desc.rope_freq_base,
                rope_freq_scale: desc.rope_freq_scale,
                rope_freqs,
            },
            token_embd,
            output,
            output_norm,
            layers,
            smalls: smalls_buf,
            weight_bytes,
        })
    }

    /// Bytes of weights on the device (matrices as in the file, F32 vectors).
    pub fn weight_bytes(&self) -> u64 {
        self.weight_bytes
    }

    /// Dispatches of a decode step: 5 per layer, the embedding lookup and the output matrix
    /// (one per row range of each), argmax or top-k.
    pub fn decode_dispatches(&self) -> u64 {
        let per = |t: &GpuTensor| t.chunks.len() as u64;
        let layers: u64 = self
            .layers
            .iter()
            .map(|l| 3 + per(&l.wo) + per(&l.w_down))
            .sum();
        layers + per(&self.token_embd) + per(self.output_matrix()) + 1
    }

    /// Transformer blocks.
    pub fn n_layer(&self) -> usize {
        self.layers.len()
    }

    /// Vocabulary size (rows of the output matrix).
    pub fn n_vocab(&self) -> usize {
        self.dims.n_vocab
    }

    /// Width of the residual stream.
    pub fn n_embd(&self) -> usize {
        self.dims.n_embd
    }

    /// The device the weights live on.
    pub fn device(&self) -> &Device {
        &self.dev
    }

    pub(crate) fn output_matrix(&self) -> &GpuTensor {
        self.output.as_ref().unwrap_or(&self.token_embd)
    }
}

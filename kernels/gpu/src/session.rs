//! [`GpuSession`]: one conversation on the device — KV cache (f16), position, every
//! activation buffer and bind group, all made once in [`GpuSession::new`]. A step
//! ([`GpuSession::prefill`], [`GpuSession::decode`]) is recorded into one compute pass and
//! sent in **one queue submission**; a greedy step reads back 8 bytes (the argmax on the
//! device), top-k `8k` bytes, the whole logits row only when [`Readback::Logits`] asks.
//!
//! Dispatches per token: 1 embedding lookup, 5 per layer (Q/K/V with RMSNorm, bias, RoPE and
//! the KV store; attention; output projection + residual; gate/up + SwiGLU with RMSNorm;
//! down projection + residual), the output matrix with the final RMSNorm (one dispatch per
//! row range: one unless it exceeds a storage binding), and argmax or top-k:
//! `5 n_layer + 3` when no matrix is split ([`GpuModel::decode_dispatches`] counts).

use crate::model::{GpuModel, GpuTensor, Packed, upload_bytes};
use crate::{Error, shaders};

/// Options of a session.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SessionOptions {
    /// Context length (KV cache positions), at least 1.
    pub n_ctx: usize,
    /// Most tokens per pass; longer prompts go in chunks. 0 = `min(n_ctx, 512)`.
    pub n_batch: usize,
}

impl Default for SessionOptions {
    fn default() -> Self {
        SessionOptions {
            n_ctx: 512,
            n_batch: 0,
        }
    }
}

/// What a step reads back from the device.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Readback {
    /// Nothing: the step fills the KV cache and stops before the output matrix (a prompt
    /// chunk whose logits nobody needs).
    Nothing,
    /// The greedy token and its logit (8 bytes).
    Argmax,
    /// The `k` (1..=64) best tokens and logits, best first (`8k` bytes).
    TopK(usize),
    /// The argmax and the whole logits row (`4 n_vocab + 8` bytes).
    Logits,
}

/// The result of a step: the logits of the step's last token, as far as read back.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct StepOutput {
    /// The largest logit's token (lowest id among equals); with [`Readback::TopK`] the first
    /// of `top`.
    pub token: u32,
    /// Its logit.
    pub logit: f32,
    /// With [`Readback::TopK`]: `(token, logit)`, best first.
    pub top: Vec<(u32, f32)>,
    /// With [`Readback::Logits`]: `[n_vocab]`.
    pub logits: Option<Vec<f32>>,
}

/// Counters of the GPU work.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StepStats {
    /// Compute dispatches recorded.
    pub dispatches: u64,
    /// Queue submissions.
    pub submissions: u64,
    /// Bytes copied back to the host.
    pub bytes_read: u64,
    /// Compute passes.
    pub passes: u64,
}

/// Which tokens of a step a matvec dispatch runs on (parameter word 27 of `matvec.wgsl`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Which {
    /// Every token of the step.
    All = 0,
    /// The step's last token (its output in row 0).
    Last = 1,
    /// Rows `first..first + n` of the step's activations (`rows_step`), outputs from row 0.
    Rows = 2,
}

struct Matvec {
    /// Kept alive with the bind group that reads it.
    _params: wgpu::Buffer,
    bind: wgpu::BindGroup,
    /// Tiles of tokens (the prefill build) when the step has several.
    prefill: bool,
    k: bool,
    groups: u32,
    which: Which,
}

struct LayerBinds {
    qkv: Matvec,
    attn: wgpu::BindGroup,
    /// One dispatch per row range of the matrix (one unless it exceeds a storage binding).
    wo: Vec<Matvec>,
    gate_up: Matvec,
    down: Vec<Matvec>,
}

/// One conversation on the device.
pub struct GpuSession<'m> {
    model: &'m GpuModel,
    n_ctx: usize,
    n_batch: usize,
    pos: usize,
    sh: Shared,
    ids: wgpu::Buffer,
    embed: Vec<wgpu::BindGroup>,
    layers: Vec<LayerBinds>,
    output: Vec<Matvec>,
    rows_head: Option<RowsHead>,
    select_params: wgpu::Buffer,
    argmax_bind: wgpu::BindGroup,
    topk_bind: wgpu::BindGroup,
    result: wgpu::Buffer,
    result_read: wgpu::Buffer,
    logits: wgpu::Buffer,
    logits_read: wgpu::Buffer,
    _keep: Vec<wgpu::Buffer>,
    last: StepStats,
    total: StepStats,
    kv_bytes: u64,
}

impl core::fmt::Debug for GpuSession<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("GpuSession")
            .field("n_ctx", &self.n_ctx)
            .field("position", &self.pos)
            .finish()
    }
}

/// A weight segment of a matvec dispatch: (ggml type, first unit, row bytes, byte offset in
/// the weight buffer).
type Seg = (u32, u32, u32, u32);

const NONE: u32 = u32::MAX;
const MODE_STORE: u32 = 0;
const MODE_ADD: u32 = 1;
const MODE_SWIGLU: u32 = 2;
const MODE_QKV: u32 = 3;
/// Largest workgroup count of one grid dimension (WebGPU's guaranteed minimum).
const MAX_GRID: u32 = 65535;

/// The RoPE `(cos, sin)` table `[n_ctx][head_dim]`, with the CPU path's arithmetic (ggml:
/// `theta` multiplied by `base^(-2/head_dim)` pair after pair, `cos(freq_scale * theta / ff)`).
fn rope_table(m: &GpuModel, n_ctx: usize) -> Vec<f32> {
    let d = &m.dims;
    let hd = d.head_dim;
    let theta_scale = d.rope_freq_base.powf(-2.0 / hd as f32);
    let mut t = vec![0f32; n_ctx * hd];
    for p in 0..n_ctx {
        let mut theta = p as f32;
        for i in 0..hd / 2 {
            let ff = d.rope_freqs.as_ref().map_or(1.0, |f| f[i]);
            let a = d.rope_freq_scale * (theta / ff);
            t[p * hd + 2 * i] = a.cos();
            t[p * hd + 2 * i + 1] = a.sin();
            theta *= theta_scale;
        }
    }
    t
}

/// A matvec dispatch to build: its weights, input, output and fused work.
struct Spec<'a> {
    mode: u32,
    /// The weight buffer and its segments: (type, first unit, row bytes, byte offset).
    w: &'a wgpu::Buffer,
    segs: Vec<Seg>,
    n_in: usize,
    /// First unit past the dispatch.
    end: usize,
    x: &'a wgpu::Buffer,
    x_stride: usize,
    out: &'a wgpu::Buffer,
    out_stride: usize,
    norm: Option<u32>,
    biases: [u32; 4],
    kv: Option<(&'a wgpu::Buffer, &'a wgpu::Buffer)>,
    which: Which,
}

/// Buffers every matvec bind group of a session may reference besides its own.
struct Shared {
    /// `(pos0, n_tok, 0, 0)` of the step.
    step: wgpu::Buffer,
    /// `(0, n_rows, first row, 0)` of a [`GpuSession::prefill_rows`] group.
    rows_step: wgpu::Buffer,
    /// `[n_batch][n_embd]` f32 residual stream.
    x: wgpu::Buffer,
    /// `[n_ctx][head_dim]` RoPE `(cos, sin)` table.
    rope: wgpu::Buffer,
    dummy_r: wgpu::Buffer,
    dummy_k: wgpu::Buffer,
    dummy_v: wgpu::Buffer,
}

/// The output matrix over any rows of a prefill chunk, made on the first
/// [`GpuSession::prefill_rows`]: `[cap][n_vocab]` logits on the device and a readback buffer.
struct RowsHead {
    cap: usize,
    logits: wgpu::Buffer,
    read: wgpu::Buffer,
    output: Vec<Matvec>,
}

/// Parameters and bind group of one matvec dispatch (see `matvec.wgsl` for the words).
fn make_matvec(m: &GpuModel, sh: &Shared, what: &str, s: Spec<'_>) -> Result<Matvec, Error> {
    let (dev, d) = (&m.dev, &m.dims);
    let p = dev.pipelines()?;
    let (lanes, rows_per_wg) = shaders::matvec_shape(s.n_in);
    let per_wg = if s.mode <= MODE_ADD {
        rows_per_wg
    } else {
        rows_per_wg / 2
    };
    let units = if s.mode <= MODE_ADD {
        s.end - s.segs[0].1 as usize
    } else {
        s.end
    };
    let groups = (units as u32).div_ceil(per_wg);
    let gx = groups.min(MAX_GRID);
    let mut w = [0u32; 36];
    w[0] = s.mode;
    w[1] = s.n_in as u32;
    w[2] = s.end as u32;
    w[3] = s.segs.len() as u32;
    w[4] = s.x_stride as u32;
    w[5] = s.out_stride as u32;
    w[6] = s.norm.unwrap_or(NONE);
    w[7] = d.rms_eps.to_bits();
    for (i, &(ty, first, row_bytes, offset)) in s.segs.iter().enumerate() {
        w[8 + i] = ty;
        w[12 + i] = first;
        w[16 + i] = row_bytes;
        w[32 + i] = offset;
    }
    w[20..24].copy_from_slice(&s.biases);
    w[24] = d.head_dim as u32;
    w[25] = d.neox as u32;
    w[26] = lanes;
    w[27] = s.which as u32;
    w[28] = gx;
    w[29] = d.q_dim() as u32;
    w[30] = d.kv_dim() as u32;
    let params = params_buf(dev, what, &w)?;
    let (kb, vb) = s.kv.unwrap_or((&sh.dummy_k, &sh.dummy_v));
    let rope_b = if s.kv.is_some() {
        &sh.rope
    } else {
        &sh.dummy_r
    };
    let step = if s.which == Which::Rows {
        &sh.rows_step
    } else {
        &sh.step
    };
    let entries = [&params, step, s.w, s.x, s.out, &m.smalls, rope_b, kb, vb];
    let bind = bind_group(dev, what, &p.matvec_layout, &entries)?;
    Ok(Matvec {
        _params: params,
        bind,
        prefill: s.which != Which::Last,
        k: is_k_num(s.segs[0].0),
        groups,
        which: s.which,
    })
}

/// A uniform buffer holding `words`.
fn params_buf(dev: &crate::Device, what: &str, words: &[u32]) -> Result<wgpu::Buffer, Error> {
    upload_bytes(
        dev,
        what,
        bytemuck::cast_slice(words),
        wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
    )
}

/// A bind group of whole buffers, binding `i` = `bufs[i]`.
fn bind_group(
    dev: &crate::Device,
    what: &str,
    layout: &wgpu::BindGroupLayout,
    bufs: &[&wgpu::Buffer],
) -> Result<wgpu::BindGroup, Error> {
    dev.scoped(what, 0, || {
        dev.device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some(what),
            layout,
            entries: &bufs
                .iter()
                .enumerate()
                .map(|(i, b)| wgpu::BindGroupEntry {
                    binding: i as u32,
                    resource: b.as_entire_binding(),
                })
                .collect::<Vec<_>>(),
        })
    })
}

/// A buffer of `bytes` (rounded up to a word, at least 16), refused up front when a storage
/// buffer would exceed the device's largest binding.
fn new_buffer(
    dev: &crate::Device,
    what: &str,
    bytes: u64,
    usage: wgpu::BufferUsages,
) -> Result<wgpu::Buffer, Error> {
    let max_bind = dev.limits.max_storage_buffer_binding_size;
    let size = bytes.next_multiple_of(4).max(16);
    if usage.contains(wgpu::BufferUsages::STORAGE) && size > max_bind {
        return Err(Error::Allocation {
            what: what.to_string(),
            bytes: size,
            message: format!("larger than the largest storage binding ({max_bind} bytes)"),
        });
    }
    dev.scoped(what, size, || {
        dev.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some(what),
            size,
            usage,
            mapped_at_creation: false,
        })
    })
}

/// One `(buffer, segment, end row)` per row range of a matrix.
fn ranges(t: &GpuTensor) -> Vec<(&wgpu::Buffer, Seg, usize)> {
    t.chunks
        .iter()
        .enumerate()
        .map(|(c, (b, r0))| {
            let end = t.chunks.get(c + 1).map_or(t.rows, |n| n.1);
            (b, (t.ty as u32, *r0 as u32, t.row_bytes as u32, 0), end)
        })
        .collect()
}

/// The segments of a packed buffer, segment `i` starting at unit `firsts[i]`.
fn packed(pk: &Packed, firsts: &[usize]) -> Vec<Seg> {
    pk.parts
        .iter()
        .zip(firsts)
        .map(|(pt, &f)| {
            (
                pt.ty as u32,
                f as u32,
                pt.row_bytes as u32,
                pt.offset as u32,
            )
        })
        .collect()
}

/// The output matrix (with the final RMSNorm) from `x` into `out` for `which` tokens.
fn output_matvecs(
    m: &GpuModel,
    sh: &Shared,
    out: &wgpu::Buffer,
    which: Which,
) -> Result<Vec<Matvec>, Error> {
    let d = &m.dims;
    ranges(m.output_matrix())
        .into_iter()
        .map(|(b, seg, end)| {
            make_matvec(
                m,
                sh,
                "output",
                Spec {
                    mode: MODE_STORE,
                    w: b,
                    segs: vec![seg],
                    n_in: d.n_embd,
                    end,
                    x: &sh.x,
                    x_stride: d.n_embd,
                    out,
                    out_stride: d.n_vocab,
                    norm: Some(m.output_norm),
                    biases: [NONE; 4],
                    kv: None,
                    which,
                },
            )
        })
        .collect()
}

impl<'m> GpuSession<'m> {
    /// A session over `model`: allocates the KV cache (`n_layer × n_ctx × kv_dim` f16, K and
    /// V), the activation buffers for `n_batch` tokens, the RoPE table, and records every
    /// bind group. Errors: [`Error::Invalid`] for bad options, [`Error::Allocation`] when the
    /// device refuses a buffer (a KV cache layer larger than one storage binding included).
    pub fn new(model: &'m GpuModel, opts: SessionOptions) -> Result<GpuSession<'m>, Error> {
        let dev = &model.dev;
        let d = &model.dims;
        if opts.n_ctx == 0 {
            return Err(Error::Invalid("n_ctx must be at least 1".into()));
        }
        let n_batch = if opts.n_batch == 0 {
            opts.n_ctx.min(512)
        } else {
            opts.n_batch
        };
        if n_batch > opts.n_ctx {
            return Err(Error::Invalid(format!(
                "n_batch {n_batch} exceeds n_ctx {}",
                opts.n_ctx
            )));
        }
        let (e, qd, kvd, ff, v) = (d.n_embd, d.q_dim(), d.kv_dim(), d.n_ff, d.n_vocab);
        let max_bind = dev.limits.max_storage_buffer_binding_size;
        // Sizes that scale with n_ctx, checked before anything is allocated.
        let kv_layer_bytes = (opts.n_ctx as u64).saturating_mul(2 * kvd as u64);
        let rope_bytes = (opts.n_ctx as u64).saturating_mul(4 * d.head_dim as u64);
        for (what, bytes) in [
            ("KV cache layer 0 K", kv_layer_bytes),
            ("RoPE table [n_ctx][head_dim]", rope_bytes),
        ] {
            if bytes > max_bind {
                return Err(Error::Allocation {
                    what: what.to_string(),
                    bytes,
                    message: format!(
                        "n_ctx {} needs more than the largest storage binding ({max_bind} bytes)",
                        opts.n_ctx
                    ),
                });
            }
        }
        let mut keep = Vec::new();
        let storage = wgpu::BufferUsages::STORAGE;
        let buf = |what: &str, bytes: u64, usage| new_buffer(dev, what, bytes, usage);
        let f32b = |n: usize| (n as u64) * 4;
        let nb = n_batch;
        let copy = wgpu::BufferUsages::COPY_SRC | wgpu::BufferUsages::COPY_DST;
        let q = buf("queries [n_batch][q_dim]", f32b(nb * qd), storage)?;
        let att = buf("attention output [n_batch][q_dim]", f32b(nb * qd), storage)?;
        let h = buf("feed-forward [n_batch][n_ff]", f32b(nb * ff), storage)?;
        let logits = buf("logits [n_vocab]", f32b(v), storage | copy)?;
        let logits_read = buf(
            "logits readback",
            f32b(v),
            wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
        )?;
        let result = buf("argmax/top-k result", 512, storage | copy)?;
        let result_read = buf(
            "result readback",
            512,
            wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
        )?;
        let ids = buf("token ids [n_batch]", (nb as u64) * 4, storage | copy)?;
        let uniform = wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST;
        let sh = Shared {
            step: buf("step (pos0, n_tok)", 16, uniform)?,
            rows_step: buf("rows (n_rows, first row)", 16, uniform)?,
            x: buf("activations x [n_batch][n_embd]", f32b(nb * e), storage)?,
            rope: upload_bytes(
                dev,
                "RoPE table [n_ctx][head_dim]",
                bytemuck::cast_slice(&rope_table(model, opts.n_ctx)),
                storage,
            )?,
            dummy_r: buf("unused binding", 16, storage)?,
            dummy_k: buf("unused binding (K)", 16, storage)?,
            dummy_v: buf("unused binding (V)", 16, storage)?,
        };
        let mut kc = Vec::with_capacity(model.layers.len());
        let mut vc = Vec::with_capacity(model.layers.len());
        for l in 0..model.layers.len() {
            kc.push(buf(
                &format!("KV cache layer {l} K"),
                kv_layer_bytes,
                storage,
            )?);
            vc.push(buf(
                &format!("KV cache layer {l} V"),
                kv_layer_bytes,
                storage,
            )?);
        }
        let kv_bytes = 2 * kv_layer_bytes * model.layers.len() as u64;

        let p = dev.pipelines()?;
        let make = |what: &str, s: Spec<'_>| make_matvec(model, &sh, what, s);
        let bias = |b: Option<u32>| b.unwrap_or(NONE);

        let mut layers = Vec::with_capacity(model.layers.len());
        let attn_params = {
            let mut w = [0u32; 8];
            w[0] = d.n_head as u32;
            w[1] = d.n_head_kv as u32;
            w[2] = d.head_dim as u32;
            w[3] = kvd as u32;
            w[4] = qd as u32;
            w[5] = (1.0f32 / (d.head_dim as f32).sqrt()).to_bits();
            params_buf(dev, "attention parameters", &w)?
        };
        for (li, l) in model.layers.iter().enumerate() {
            let qkv = make(
                &format!("layer {li} Q/K/V"),
                Spec {
                    mode: MODE_QKV,
                    w: &l.qkv.buf,
                    segs: packed(&l.qkv, &[0, qd / 2, qd / 2 + kvd / 2]),
                    n_in: e,
                    end: qd / 2 + kvd,
                    x: &sh.x,
                    x_stride: e,
                    out: &q,
                    out_stride: qd,
                    norm: Some(l.attn_norm),
                    biases: [bias(l.bq), bias(l.bk), bias(l.bv), NONE],
                    kv: Some((&kc[li], &vc[li])),
                    which: Which::All,
                },
            )?;
            let attn = bind_group(
                dev,
                &format!("layer {li} attention"),
                &p.attention_layout,
                &[&attn_params, &sh.step, &q, &kc[li], &vc[li], &att],
            )?;
            let wo = ranges(&l.wo)
                .into_iter()
                .map(|(b, seg, end)| {
                    make(
                        &format!("layer {li} attention output"),
                        Spec {
                            mode: MODE_ADD,
                            w: b,
                            segs: vec![seg],
                            n_in: qd,
                            end,
                            x: &att,
                            x_stride: qd,
                            out: &sh.x,
                            out_stride: e,
                            norm: None,
                            biases: [bias(l.bo), NONE, NONE, NONE],
                            kv: None,
                            which: Which::All,
                        },
                    )
                })
                .collect::<Result<Vec<_>, _>>()?;
            let gate_up = make(
                &format!("layer {li} gate/up"),
                Spec {
                    mode: MODE_SWIGLU,
                    w: &l.gate_up.buf,
                    segs: packed(&l.gate_up, &[0, 0]),
                    n_in: e,
                    end: ff,
                    x: &sh.x,
                    x_stride: e,
                    out: &h,
                    out_stride: ff,
                    norm: Some(l.ffn_norm),
                    biases: [NONE; 4],
                    kv: None,
                    which: Which::All,
                },
            )?;
            let down = ranges(&l.w_down)
                .into_iter()
                .map(|(b, seg, end)| {
                    make(
                        &format!("layer {li} down"),
                        Spec {
                            mode: MODE_ADD,
                            w: b,
                            segs: vec![seg],
                            n_in: ff,
                            end,
                            x: &h,
                            x_stride: ff,
                            out: &sh.x,
                            out_stride: e,
                            norm: None,
                            biases: [NONE; 4],
                            kv: None,
                            which: Which::All,
                        },
                    )
                })
                .collect::<Result<Vec<_>, _>>()?;
            layers.push(LayerBinds {
                qkv,
                attn,
                wo,
                gate_up,
                down,
            });
        }
        let output = output_matvecs(model, &sh, &logits, Which::Last)?;
        let mut embed = Vec::new();
        for (b, (ty, first, row_bytes, _), end) in ranges(&model.token_embd) {
            let mut w = [0u32; 36];
            w[1] = e as u32;
            w[2] = end as u32;
            w[8] = ty;
            w[12] = first;
            w[16] = row_bytes;
            let params = params_buf(dev, "embedding parameters", &w)?;
            embed.push(bind_group(
                dev,
                "get_rows",
                &p.get_rows_layout,
                &[&params, &sh.step, b, &ids, &sh.x],
            )?);
            keep.push(params);
        }
        let select_params = params_buf(dev, "argmax/top-k parameters", &[v as u32, 1, 0, 0])?;
        let select = |label: &str| {
            bind_group(
                dev,
                label,
                &p.select_layout,
                &[&select_params, &logits, &result],
            )
        };
        let argmax_bind = select("argmax")?;
        let topk_bind = select("top-k")?;
        keep.extend([q, att, h, attn_params]);
        keep.extend(kc);
        keep.extend(vc);
        Ok(GpuSession {
            model,
            n_ctx: opts.n_ctx,
            n_batch,
            pos: 0,
            sh,
            ids,
            embed,
            layers,
            output,
            rows_head: None,
            select_params,
            argmax_bind,
            topk_bind,
            result,
            result_read,
            logits,
            logits_read,
            _keep: keep,
            last: StepStats::default(),
            total: StepStats::default(),
            kv_bytes,
        })
    }

    /// Tokens in the KV cache (the position of the next token).
    pub fn position(&self) -> usize {
        self.pos
    }

    /// Context length.
    pub fn n_ctx(&self) -> usize {
        self.n_ctx
    }

    /// Bytes of the KV cache on the device.
    pub fn kv_bytes(&self) -> u64 {
        self.kv_bytes
    }

    /// Most tokens per pass (prompts go in chunks of this size).
    pub fn n_batch(&self) -> usize {
        self.n_batch
    }

    /// The model.
    pub fn model(&self) -> &'m GpuModel {
        self.model
    }

    /// Empties the KV cache (position 0); buffers are kept.
    pub fn reset(&mut self) {
        self.pos = 0;
    }

    /// Drops the tokens at positions `pos..` (positions beyond the current one are ignored):
    /// the next step overwrites their cache slots.
    pub fn truncate(&mut self, pos: usize) {
        self.pos = self.pos.min(pos);
    }

    /// Counters of the last `prefill`/`decode` call (all its passes).
    pub fn last_stats(&self) -> StepStats {
        self.last
    }

    /// Counters since the session was made.
    pub fn total_stats(&self) -> StepStats {
        self.total
    }

    /// Runs the prompt `tokens` (chunks of `n_batch`) and reads back the greedy token of
    /// its last position. Errors: [`Error::Invalid`] (empty, an id ≥ n_vocab, context full),
    /// [`Error::DeviceLost`], [`Error::Readback`].
    pub fn prefill(&mut self, tokens: &[u32]) -> Result<StepOutput, Error> {
        self.prefill_with(tokens, Readback::Argmax)
    }

    /// [`prefill`](Self::prefill) with a chosen readback. On an error the session is left at
    /// its previous position.
    pub fn prefill_with(&mut self, tokens: &[u32], rb: Readback) -> Result<StepOutput, Error> {
        self.check(tokens)?;
        self.last = StepStats::default();
        let start = self.pos;
        let mut out = StepOutput::default();
        let rb = (rb != Readback::Nothing).then_some(rb);
        let n_chunks = tokens.len().div_ceil(self.n_batch);
        for (i, c) in tokens.chunks(self.n_batch).enumerate() {
            let last = i + 1 == n_chunks;
            match self.run(c, rb.filter(|_| last)) {
                Ok(o) => out = o,
                Err(e) => {
                    self.pos = start;
                    return Err(e);
                }
            }
        }
        Ok(out)
    }

    /// Runs the prompt `tokens` (chunks of `n_batch`) and hands the logits of every token
    /// whose index is in `rows` to `on_rows(i, logits)`: `logits` holds the rows of tokens
    /// `i..i + logits.len() / n_vocab` (`[n][n_vocab]`, at most `max_rows` rows per call, in
    /// order). Perplexity scores each position this way. The output matrix runs on those
    /// rows only (tiles of tokens), one submission per group; the buffers for `max_rows` rows
    /// (capped by `n_batch` and one storage binding) are made on the first call.
    /// Errors: as [`prefill`](Self::prefill); [`Error::Invalid`] when `max_rows` is 0 or
    /// `rows` goes past `tokens`; [`Error::Allocation`]. On an error the session is left at
    /// its previous position.
    pub fn prefill_rows(
        &mut self,
        tokens: &[u32],
        rows: core::ops::Range<usize>,
        max_rows: usize,
        on_rows: &mut dyn FnMut(usize, &[f32]),
    ) -> Result<(), Error> {
        self.check(tokens)?;
        if max_rows == 0 || rows.start > rows.end || rows.end > tokens.len() {
            return Err(Error::Invalid(format!(
                "prefill_rows: rows {rows:?} of {} tokens, {max_rows} rows at a time",
                tokens.len()
            )));
        }
        self.last = StepStats::default();
        let start = self.pos;
        let r = self.rows_chunks(tokens, rows, max_rows, on_rows);
        if r.is_err() {
            self.pos = start;
        }
        r
    }

    fn rows_chunks(
        &mut self,
        tokens: &[u32],
        rows: core::ops::Range<usize>,
        max_rows: usize,
        on_rows: &mut dyn FnMut(usize, &[f32]),
    ) -> Result<(), Error> {
        let cap = self.rows_head(max_rows)?;
        let nb = self.n_batch;
        for (c, chunk) in tokens.chunks(nb).enumerate() {
            let c0 = c * nb;
            self.run(chunk, None)?;
            let (lo, hi) = (rows.start.max(c0), rows.end.min(c0 + chunk.len()));
            let mut r = lo;
            while r < hi {
                let n = cap.min(hi - r);
                let logits = self.head_rows(r - c0, n)?;
                on_rows(r, &logits);
                r += n;
            }
        }
        Ok(())
    }

    /// The rows head for `max_rows` rows (made once, or again for more rows); its row
    /// capacity.
    fn rows_head(&mut self, max_rows: usize) -> Result<usize, Error> {
        let m = self.model;
        let v = m.dims.n_vocab as u64;
        let max_bind = m.dev.limits.max_storage_buffer_binding_size;
        let cap = max_rows
            .min(self.n_batch)
            .min((max_bind / (4 * v)).max(1) as usize);
        if let Some(h) = &self.rows_head {
            if h.cap >= cap {
                return Ok(h.cap);
            }
        }
        self.rows_head = None;
        let bytes = 4 * v * cap as u64;
        let logits = new_buffer(
            &m.dev,
            "logits rows [n][n_vocab]",
            bytes,
            wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
        )?;
        let read = new_buffer(
            &m.dev,
            "logits rows readback",
            bytes,
            wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
        )?;
        let output = output_matvecs(m, &self.sh, &logits, Which::Rows)?;
        self.rows_head = Some(RowsHead {
            cap,
            logits,
            read,
            output,
        });
        Ok(cap)
    }

    /// The output matrix (final RMSNorm included) on rows `first..first + n` of the last
    /// pass's activations, read back: `[n][n_vocab]`. One submission.
    fn head_rows(&mut self, first: usize, n: usize) -> Result<Vec<f32>, Error> {
        let m = self.model;
        let dev = &m.dev;
        dev.check_lost()?;
        let p = dev.pipelines()?;
        let Some(head) = &self.rows_head else {
            return Err(Error::Invalid("prefill_rows: no rows head".into()));
        };
        dev.queue.write_buffer(
            &self.sh.rows_step,
            0,
            bytemuck::cast_slice(&[0, n as u32, first as u32, 0]),
        );
        let mut stats = StepStats::default();
        let mut enc = dev
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some("rows head"),
            });
        {
            let mut pass = enc.begin_compute_pass(&wgpu::ComputePassDescriptor {
                label: Some("rows head"),
                timestamp_writes: None,
            });
            stats.passes += 1;
            let tiled = n > 1;
            for mv in &head.output {
                pass.set_pipeline(if tiled {
                    &p.matmul[mv.k as usize]
                } else {
                    &p.matvec[mv.k as usize]
                });
                pass.set_bind_group(0, &mv.bind, &[]);
                let gx = mv.groups.min(MAX_GRID);
                let gz = if tiled {
                    (n as u32).div_ceil(shaders::MATMUL_TILE)
                } else {
                    1
                };
                pass.dispatch_workgroups(gx, mv.groups.div_ceil(gx), gz);
                stats.dispatches += 1;
            }
        }
        let bytes = 4 * (n * m.dims.n_vocab) as u64;
        enc.copy_buffer_to_buffer(&head.logits, 0, &head.read, 0, bytes);
        dev.scoped("rows head submission", 0, || {
            dev.queue.submit([enc.finish()])
        })?;
        stats.submissions += 1;
        let words = read(dev, &head.read, bytes)?;
        stats.bytes_read += bytes;
        self.count(stats);
        Ok(words.into_iter().map(f32::from_bits).collect())
    }

    fn count(&mut self, stats: StepStats) {
        for (a, b) in [
            (&mut self.last.dispatches, stats.dispatches),
            (&mut self.last.submissions, stats.submissions),
            (&mut self.last.bytes_read, stats.bytes_read),
            (&mut self.last.passes, stats.passes),
            (&mut self.total.dispatches, stats.dispatches),
            (&mut self.total.submissions, stats.submissions),
            (&mut self.total.bytes_read, stats.bytes_read),
            (&mut self.total.passes, stats.passes),
        ] {
            *a += b;
        }
    }

    /// One token at the current position; reads back the greedy token (8 bytes).
    pub fn decode(&mut self, token: u32) -> Result<StepOutput, Error> {
        self.decode_with(token, Readback::Argmax)
    }

    /// [`decode`](Self::decode) with a chosen readback.
    pub fn decode_with(&mut self, token: u32, rb: Readback) -> Result<StepOutput, Error> {
        self.check(&[token])?;
        self.last = StepStats::default();
        self.run(&[token], (rb != Readback::Nothing).then_some(rb))
    }

    fn check(&self, tokens: &[u32]) -> Result<(), Error> {
        if tokens.is_empty() {
            return Err(Error::Invalid("no tokens".into()));
        }
        let v = self.model.dims.n_vocab;
        if let Some(&bad) = tokens.iter().find(|&&t| t as usize >= v) {
            return Err(Error::Invalid(format!(
                "token id {bad} out of range (n_vocab {v})"
            )));
        }
        if self.pos + tokens.len() > self.n_ctx {
            return Err(Error::Invalid(format!(
                "context full: {} + {} tokens > n_ctx {}",
                self.pos,
                tokens.len(),
                self.n_ctx
            )));
        }
        Ok(())
    }

    /// One pass over `tokens` (at most n_batch) at the current position, one submission.
    fn run(&mut self, tokens: &[u32], rb: Option<Readback>) -> Result<StepOutput, Error> {
        let m = self.model;
        let dev = &m.dev;
        dev.check_lost()?;
        let n = tokens.len() as u32;
        let p = dev.pipelines()?;
        if let Some(Readback::TopK(k)) = rb {
            if k == 0 || k > 64 {
                return Err(Error::Invalid(format!("top-k {k}: must be 1..=64")));
            }
            dev.queue.write_buffer(
                &self.select_params,
                0,
                bytemuck::cast_slice(&[m.dims.n_vocab as u32, k as u32, 0, 0]),
            );
        }
        dev.queue.write_buffer(
            &self.sh.step,
            0,
            bytemuck::cast_slice(&[self.pos as u32, n, 0, 0]),
        );
        dev.queue
            .write_buffer(&self.ids, 0, bytemuck::cast_slice(tokens));
        let mut stats = StepStats::default();
        let mut enc = dev
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some("step"),
            });
        {
            let mut pass = enc.begin_compute_pass(&wgpu::ComputePassDescriptor {
                label: Some("step"),
                timestamp_writes: None,
            });
            stats.passes += 1;
            let mut dispatch = |pass: &mut wgpu::ComputePass<'_>, x: u32, y: u32, z: u32| {
                pass.dispatch_workgroups(x, y, z);
                stats.dispatches += 1;
            };
            let tiles = n.div_ceil(shaders::MATMUL_TILE);
            let mut matvec = |pass: &mut wgpu::ComputePass<'_>, mv: &Matvec| {
                let tiled = mv.prefill && n > 1 && mv.which != Which::Last;
                let pipe = if tiled {
                    &p.matmul[mv.k as usize]
                } else {
                    &p.matvec[mv.k as usize]
                };
                pass.set_pipeline(pipe);
                pass.set_bind_group(0, &mv.bind, &[]);
                let gx = mv.groups.min(MAX_GRID);
                let gy = mv.groups.div_ceil(gx);
                let gz = if mv.which == Which::Last {
                    1
                } else if tiled {
                    tiles
                } else {
                    n
                };
                dispatch(pass, gx, gy, gz);
            };
            let mut extra = 0;
            pass.set_pipeline(&p.get_rows);
            for b in &self.embed {
                pass.set_bind_group(0, b, &[]);
                pass.dispatch_workgroups(n, 1, 1);
                extra += 1;
            }
            for l in &self.layers {
                matvec(&mut pass, &l.qkv);
                pass.set_pipeline(&p.attention);
                pass.set_bind_group(0, &l.attn, &[]);
                pass.dispatch_workgroups(m.dims.n_head as u32, n, 1);
                extra += 1;
                for mv in &l.wo {
                    matvec(&mut pass, mv);
                }
                matvec(&mut pass, &l.gate_up);
                for mv in &l.down {
                    matvec(&mut pass, mv);
                }
            }
            if rb.is_some() {
                for mv in &self.output {
                    matvec(&mut pass, mv);
                }
                match rb {
                    Some(Readback::TopK(_)) => {
                        pass.set_pipeline(&p.topk);
                        pass.set_bind_group(0, &self.topk_bind, &[]);
                    }
                    _ => {
                        pass.set_pipeline(&p.argmax);
                        pass.set_bind_group(0, &self.argmax_bind, &[]);
                    }
                }
                pass.dispatch_workgroups(1, 1, 1);
                extra += 1;
            }
            stats.dispatches += extra;
        }
        let result_bytes: u64 = match rb {
            Some(Readback::TopK(k)) => 8 * k as u64,
            Some(_) => 8,
            None => 0,
        };
        if result_bytes > 0 {
            enc.copy_buffer_to_buffer(&self.result, 0, &self.result_read, 0, result_bytes);
        }
        let logits_bytes = 4 * m.dims.n_vocab as u64;
        if rb == Some(Readback::Logits) {
            enc.copy_buffer_to_buffer(&self.logits, 0, &self.logits_read, 0, logits_bytes);
        }
        let cmd = enc.finish();
        dev.scoped("step submission", 0, || dev.queue.submit([cmd]))?;
        stats.submissions += 1;
        self.pos += tokens.len();

        let mut out = StepOutput::default();
        if result_bytes > 0 {
            let words = read(dev, &self.result_read, result_bytes)?;
            stats.bytes_read += result_bytes;
            match rb {
                Some(Readback::TopK(k)) => {
                    out.top = (0..k)
                        .map(|r| (words[2 * r], f32::from_bits(words[2 * r + 1])))
                        .collect();
                    out.token = out.top[0].0;
                    out.logit = out.top[0].1;
                }
                _ => {
                    out.token = words[0];
                    out.logit = f32::from_bits(words[1]);
                }
            }
        }
        if rb == Some(Readback::Logits) {
            let words = read(dev, &self.logits_read, logits_bytes)?;
            stats.bytes_read += logits_bytes;
            out.logits = Some(words.into_iter().map(f32::from_bits).collect());
        }
        self.count(stats);
        Ok(out)
    }
}

/// ggml number of a k-quant (Q8_K activations).
fn is_k_num(ty: u32) -> bool {
    ty == bague_kernels::GgmlType::Q4_K as u32 || ty == bague_kernels::GgmlType::Q6_K as u32
}

/// Maps `buf` (after the submission that fills it), copies `bytes` out as words, unmaps.
pub(crate) fn read(dev: &crate::Device, buf: &wgpu::Buffer, bytes: u64) -> Result<Vec<u32>, Error> {
    let slice = buf.slice(..bytes);
    let (tx, rx) = std::sync::mpsc::channel();
    slice.map_async(wgpu::MapMode::Read, move |r| {
        let _ = tx.send(r);
    });
    dev.device
        .poll(wgpu::PollType::wait_indefinitely())
        .map_err(|e| {
            dev.check_lost()
                .err()
                .map_or(Error::Readback(e.to_string()), |l| l)
        })?;
    match rx.recv() {
        Ok(Ok(())) => {}
        Ok(Err(e)) => return Err(Error::Readback(e.to_string())),
        Err(_) => return Err(Error::Readback("map callback dropped".into())),
    }
    dev.check_lost()?;
    let words = match slice.get_mapped_range() {
        Ok(view) => Ok(view
            .chunks_exact(4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect()),
        Err(e) => Err(Error::Readback(e.to_string())),
    };
    buf.unmap();
    words
}

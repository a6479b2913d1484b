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

struct Matvec {
    /// Kept alive with the bind group that reads it.
    _params: wgpu::Buffer,
    bind: wgpu::BindGroup,
    prefill: bool,
    k: bool,
    groups: u32,
    last_only: bool,
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
    step: wgpu::Buffer,
    ids: wgpu::Buffer,
    embed: Vec<wgpu::BindGroup>,
    layers: Vec<LayerBinds>,
    output: Vec<Matvec>,
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
        let buf = |what: &str,
                   bytes: u64,
                   usage: wgpu::BufferUsages|
         -> Result<wgpu::Buffer, Error> {
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
        };
        let f32b = |n: usize| (n as u64) * 4;
        let nb = n_batch;
        let copy = wgpu::BufferUsages::COPY_SRC | wgpu::BufferUsages::COPY_DST;
        let x = buf("activations x [n_batch][n_embd]", f32b(nb * e), storage)?;
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
        let step = buf("step (pos0, n_tok)", 16, uniform)?;
        let dummy_r = buf("unused binding", 16, storage)?;
        let dummy_k = buf("unused binding (K)", 16, storage)?;
        let dummy_v = buf("unused binding (V)", 16, storage)?;
        let rope = upload_bytes(
            dev,
            "RoPE table [n_ctx][head_dim]",
            bytemuck::cast_slice(&rope_table(model, opts.n_ctx)),
            storage,
        )?;
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
        let params_buf = |what: &str, words: &[u32]| -> Result<wgpu::Buffer, Error> {
            upload_bytes(dev, what, bytemuck::cast_slice(words), uniform)
        };

        // A matvec dispatch: parameters and bind group.
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
            last_only: bool,
        }
        let make = |what: &str, s: Spec<'_>| -> Result<Matvec, Error> {
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
            w[27] = s.last_only as u32;
            w[28] = gx;
            w[29] = qd as u32;
            w[30] = kvd as u32;
            let params = params_buf(what, &w)?;
            let (kb, vb) = s.kv.unwrap_or((&dummy_k, &dummy_v));
            let rope_b = if s.kv.is_some() { &rope } else { &dummy_r };
            let entries = [
                entire_binding(&params),
                entire_binding(&step),
                entire_binding(s.w),
                entire_binding(s.x),
                entire_binding(s.out),
                entire_binding(&model.smalls),
                entire_binding(rope_b),
                entire_binding(kb),
                entire_binding(vb),
            ];
            let bind = dev.scoped(what, 0, || {
                dev.device.create_bind_group(&wgpu::BindGroupDescriptor {
                    label: Some(what),
                    layout: &p.matvec_layout,
                    entries: &entries
                        .iter()
                        .enumerate()
                        .map(|(i, r)| wgpu::BindGroupEntry {
                            binding: i as u32,
                            resource: r.clone(),
                        })
                        .collect::<Vec<_>>(),
                })
            })?;
            let k = is_k_num(s.segs[0].0);
            Ok(Matvec {
                _params: params,
                bind,
                prefill: true,
                k,
                groups,
                last_only: s.last_only,
            })
        };
        // One (buffer, segment, end row) per row range of a matrix.
        let ranges = |t: &'m GpuTensor| -> Vec<(&'m wgpu::Buffer, Seg, usize)> {
            t.chunks
                .iter()
                .enumerate()
                .map(|(c, (b, r0))| {
                    let end = t.chunks.get(c + 1).map_or(t.rows, |n| n.1);
                    (b, (t.ty as u32, *r0 as u32, t.row_bytes as u32, 0), end)
                })
                .collect()
        };
        let packed = |pk: &'m Packed, firsts: &[usize]| -> Vec<Seg> {
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
        };
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
            params_buf("attention parameters", &w)?
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
                    x: &x,
                    x_stride: e,
                    out: &q,
                    out_stride: qd,
                    norm: Some(l.attn_norm),
                    biases: [bias(l.bq), bias(l.bk), bias(l.bv), NONE],
                    kv: Some((&kc[li], &vc[li])),
                    last_only: false,
                },
            )?;
            let attn = dev.scoped(&format!("layer {li} attention"), 0, || {
                dev.device.create_bind_group(&wgpu::BindGroupDescriptor {
                    label: Some("attention"),
                    layout: &p.attention_layout,
                    entries: &[&attn_params, &step, &q, &kc[li], &vc[li], &att]
                        .iter()
                        .enumerate()
                        .map(|(i, b)| wgpu::BindGroupEntry {
                            binding: i as u32,
                            resource: b.as_entire_binding(),
                        })
                        .collect::<Vec<_>>(),
                })
            })?;
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
                            out: &x,
                            out_stride: e,
                            norm: None,
                            biases: [bias(l.bo), NONE, NONE, NONE],
                            kv: None,
                            last_only: false,
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
                    x: &x,
                    x_stride: e,
                    out: &h,
                    out_stride: ff,
                    norm: Some(l.ffn_norm),
                    biases: [NONE; 4],
                    kv: None,
                    last_only: false,
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
                            out: &x,
                            out_stride: e,
                            norm: None,
                            biases: [NONE; 4],
                            kv: None,
                            last_only: false,
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
        let output = ranges(model.output_matrix())
            .into_iter()
            .map(|(b, seg, end)| {
                make(
                    "output",
                    Spec {
                        mode: MODE_STORE,
                        w: b,
                        segs: vec![seg],
                        n_in: e,
                        end,
                        x: &x,
                        x_stride: e,
                        out: &logits,
                        out_stride: v,
                        norm: Some(model.output_norm),
                        biases: [NONE; 4],
                        kv: None,
                        last_only: true,
                    },
                )
                .map(|mut m| {
                    m.prefill = false;
                    m
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let mut embed = Vec::new();
        for (b, (ty, first, row_bytes, _), end) in ranges(&model.token_embd) {
            let mut w = [0u32; 36];
            w[1] = e as u32;
            w[2] = end as u32;
            w[8] = ty;
            w[12] = first;
            w[16] = row_bytes;
            let params = params_buf("embedding parameters", &w)?;
            let bufs = [&params, &step, b, &ids, &x];
            embed.push(dev.scoped("embedding bind group", 0, || {
                dev.device.create_bind_group(&wgpu::BindGroupDescriptor {
                    label: Some("get_rows"),
                    layout: &p.get_rows_layout,
                    entries: &bufs
                        .iter()
                        .enumerate()
                        .map(|(i, b)| wgpu::BindGroupEntry {
                            binding: i as u32,
                            resource: b.as_entire_binding(),
                        })
                        .collect::<Vec<_>>(),
                })
            })?);
            keep.push(params);
        }
        let select_params = params_buf("argmax/top-k parameters", &[v as u32, 1, 0, 0])?;
        let select_bind = |label: &str| {
            dev.scoped(label, 0, || {
                dev.device.create_bind_group(&wgpu::BindGroupDescriptor {
                    label: Some(label),
                    layout: &p.select_layout,
                    entries: &[&select_params, &logits, &result]
                        .iter()
                        .enumerate()
                        .map(|(i, b)| wgpu::BindGroupEntry {
                            binding: i as u32,
                            resource: b.as_entire_binding(),
                        })
                        .collect::<Vec<_>>(),
                })
            })
        };
        let argmax_bind = select_bind("argmax")?;
        let topk_bind = select_bind("top-k")?;
        keep.extend([x, q, att, h, dummy_r, dummy_k, dummy_v, rope, attn_params]);
        keep.extend(kc);
        keep.extend(vc);
        Ok(GpuSession {
            model,
            n_ctx: opts.n_ctx,
            n_batch,
            pos: 0,
            step,
            ids,
            embed,
            layers,
            output,
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

    /// Empties the KV cache (position 0); buffers are kept.
    pub fn reset(&mut self) {
        self.pos = 0;
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

    /// [`prefill`](Self::prefill) with a chosen readback.
    pub fn prefill_with(&mut self, tokens: &[u32], rb: Readback) -> Result<StepOutput, Error> {
        self.check(tokens)?;
        self.last = StepStats::default();
        let mut out = StepOutput::default();
        let chunks: Vec<&[u32]> = tokens.chunks(self.n_batch).collect();
        for (i, c) in chunks.iter().enumerate() {
            let last = i + 1 == chunks.len();
            out = self.run(c, last.then_some(rb))?;
        }
        Ok(out)
    }

    /// One token at the current position; reads back the greedy token (8 bytes).
    pub fn decode(&mut self, token: u32) -> Result<StepOutput, Error> {
        self.decode_with(token, Readback::Argmax)
    }

    /// [`decode`](Self::decode) with a chosen readback.
    pub fn decode_with(&mut self, token: u32, rb: Readback) -> Result<StepOutput, Error> {
        self.check(&[token])?;
        self.last = StepStats::default();
        self.run(&[token], Some(rb))
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
            &self.step,
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
                let tiled = mv.prefill && n > 1 && !mv.last_only;
                let pipe = if tiled {
                    &p.matmul[mv.k as usize]
                } else {
                    &p.matvec[mv.k as usize]
                };
                pass.set_pipeline(pipe);
                pass.set_bind_group(0, &mv.bind, &[]);
                let gx = mv.groups.min(MAX_GRID);
                let gy = mv.groups.div_ceil(gx);
                let gz = if mv.last_only {
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
        Ok(out)
    }
}

/// ggml number of a k-quant (Q8_K activations).
fn is_k_num(ty: u32) -> bool {
    ty == bague_kernels::GgmlType::Q4_K as u32 || ty == bague_kernels::GgmlType::Q6_K as u32
}

fn entire_binding(b: &wgpu::Buffer) -> wgpu::BindingResource<'_> {
    b.as_entire_binding()
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

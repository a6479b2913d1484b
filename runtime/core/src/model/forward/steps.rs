//! A forward pass cut into small tasks, for the session's budgeted `Stepper`: each stage of
//! [`stage`](super::stage) (embedding, one layer, output head) is a fixed list of [`Op`]s,
//! each op a run of independent tasks — one row of a norm, a tile of rows of one matrix, one
//! (token, head) of attention — that can stop between any two tasks and resume later.
//!
//! Every task computes exactly what the whole-pass code computes for its part (the same
//! kernel calls over the same rows; matrix tiles start at multiples of [`TILE_ALIGN`] rows
//! and of [`TOKEN_GROUP`] tokens, where the batch kernels keep their groups whole), so a
//! budgeted pass gives the whole pass's logits bit for bit.
//!
//! # Work
//! The cost of a task is its *work*, a deterministic count from the shapes alone,
//! proportional to its multiply-adds:
//! - a matrix tile: `rows × n_cols × tokens` (its MACs);
//! - attention of one (token, head) attending to `n_kv` positions: `head_dim × n_kv` for
//!   Q·K, plus the softmax row length, plus `head_dim × len` for P·V (`len` is `n_kv`
//!   rounded up to the kernel's lane group); with a Q8_0 cache `2 × head_dim × n_kv + n_kv`;
//! - element-wise tasks count one per element: a norm, a residual add, an embedding row,
//!   a quantized activation row: `n_embd` (or `n_cols`); SwiGLU `n_ff`; RoPE
//!   `q_dim + kv_dim`; a KV store `2 × kv_dim`; a bias `n_rows`.
//!
//! A *work unit* is [`UNIT_WORK`] (2¹⁶) of work. Matrix tiles are sized to at most one
//! unit: `⌊UNIT_WORK / (tokens × n_cols)⌋` rows rounded down to a multiple of 16, at least
//! 16 — so every matrix task is within one unit while `16 × n_cols` is for one token
//! (`n_cols` ≤ 4096) and `4 × 16 × n_cols` for a batch (`n_cols` ≤ 1024), and an attention
//! task while `(2 × head_dim + 1) × n_ctx` is (e.g. `n_ctx` ≤ 508 at `head_dim` 64). Larger
//! models, batches or contexts have tasks of a few units: [`max_task_work`] gives the bound
//! for a model, batch and context. (The unit is small so that a real-time loop can cut its
//! gaps finely: on a Cortex-M55 with the scalar kernels one unit is ~0.7 ms.)

use super::{F16Attn, Rows, Scratch, attention_q8_head, rms_norm_rows, rows_out};
use crate::model::kv_cache::{KvCache, KvType};
use crate::model::weights::Tensor;
use crate::model::{Error, Model};
use crate::parallel::{Parallel, rows_per_chunk};
use bague_kernels::GgmlType;

/// Work (multiply-adds, see the [module docs](self)) of one work unit: 2¹⁶.
pub const UNIT_WORK: u64 = 1 << 16;
/// Matrix tiles start at multiples of this many rows (kernels that work on groups of rows
/// keep them whole, as the thread split does).
pub const TILE_ALIGN: usize = 16;
/// Tokens of one matrix task in a batch (batch kernels group tokens by 4 from the first).
pub const TOKEN_GROUP: usize = 4;

/// A row-major f32 buffer of the scratch, as an op's source or destination.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Buf {
    Xn,
    Q,
    K,
    V,
    Att,
    Proj,
    Gate,
    Up,
    Logits,
}

/// One op of a stage: `n_tasks` independent tasks.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Op<'w, 'a> {
    /// `x[t] = token_embd[tokens[t]]`; one task per token.
    Embed { n: usize },
    /// `xn[r - row0] = RMSNorm(x[r]) * gain` for `r` in `row0..row0 + n`; one task per row.
    Norm {
        gain: &'w Tensor<'a>,
        row0: usize,
        n: usize,
    },
    /// `act[t] = quantize(src[t])` for the weight `w`; one task per token.
    Quant {
        w: &'w Tensor<'a>,
        src: Buf,
        n: usize,
    },
    /// `dst[t] = w · act[t]`; one task per tile of rows (and group of tokens).
    Mat {
        w: &'w Tensor<'a>,
        dst: Buf,
        n: usize,
    },
    /// `dst[t] += b`; one task per token.
    Bias {
        b: &'w Tensor<'a>,
        dst: Buf,
        n: usize,
    },
    /// RoPE of `q[t]` and `k[t]`; one task per token.
    Rope { n: usize },
    /// KV cache of the layer at `pos + t` = `k[t]`, `v[t]`; one task per token.
    Store { n: usize },
    /// `att[t][h]` over the cache; one task per (token, head).
    Attn { n: usize },
    /// `x[t] += proj[t]`; one task per token.
    Add { n: usize },
    /// Moves the last of `n` residual rows to row 0 (the last layer of a pass that wants
    /// the last token's logits only); one task.
    Narrow { n: usize },
    /// `gate[t] = silu(gate[t]) * up[t]`; one task per token.
    Swiglu { n: usize },
}

/// Most ops of a stage (a layer with biases and three distinct activation types).
const MAX_OPS: usize = 32;

/// The ops of a stage, in order.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Ops<'w, 'a> {
    ops: [Option<Op<'w, 'a>>; MAX_OPS],
    len: usize,
}

impl<'w, 'a> Ops<'w, 'a> {
    fn push(&mut self, op: Op<'w, 'a>) {
        self.ops[self.len] = Some(op);
        self.len += 1;
    }

    /// Op `i`, or `None` past the end.
    pub(crate) fn get(&self, i: usize) -> Option<Op<'w, 'a>> {
        self.ops.get(i).copied().flatten()
    }

    /// Ops in the stage.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// A matrix product with the quantization of its input unless `act` already holds it
    /// in the weight's activation type (as [`linear`](super::linear) shares one quantized
    /// input between Q, K and V).
    fn linear(
        &mut self,
        m: &Model<'_>,
        act: &mut Option<GgmlType>,
        w: &'w Tensor<'a>,
        bias: Option<&'w Tensor<'a>>,
        src: Buf,
        dst: Buf,
        n: usize,
    ) {
        let want = m.linalg.act_type(w.ty);
        if *act != Some(want) {
            self.push(Op::Quant { w, src, n });
            *act = Some(want);
        }
        self.push(Op::Mat { w, dst, n });
        if let Some(b) = bias {
            self.push(Op::Bias { b, dst, n });
        }
    }
}

/// The ops of stage `stage` (as [`stage`](super::stage)) of an `n`-token pass.
pub(crate) fn ops<'w, 'a>(m: &'w Model<'a>, stage: usize, n: usize, rows: Rows) -> Ops<'w, 'a> {
    let mut o = Ops {
        ops: [None; MAX_OPS],
        len: 0,
    };
    let n_layer = m.config.n_layer;
    match stage {
        0 => o.push(Op::Embed { n }),
        s if s <= n_layer => {
            let l = s - 1;
            let w = &m.weights.layers[l];
            o.push(Op::Norm {
                gain: &w.attn_norm,
                row0: 0,
                n,
            });
            let mut act = None;
            o.linear(m, &mut act, &w.wq, w.bq.as_ref(), Buf::Xn, Buf::Q, n);
            o.linear(m, &mut act, &w.wk, w.bk.as_ref(), Buf::Xn, Buf::K, n);
            o.linear(m, &mut act, &w.wv, w.bv.as_ref(), Buf::Xn, Buf::V, n);
            o.push(Op::Rope { n });
            o.push(Op::Store { n });
            o.push(Op::Attn { n });
            let mut act = None;
            o.linear(m, &mut act, &w.wo, w.bo.as_ref(), Buf::Att, Buf::Proj, n);
            o.push(Op::Add { n });
            let nf = if l + 1 == n_layer && rows == Rows::Last && n > 1 {
                o.push(Op::Narrow { n });
                1
            } else {
                n
            };
            o.push(Op::Norm {
                gain: &w.ffn_norm,
                row0: 0,
                n: nf,
            });
            let mut act = None;
            o.linear(m, &mut act, &w.w_gate, None, Buf::Xn, Buf::Gate, nf);
            o.linear(m, &mut act, &w.w_up, None, Buf::Xn, Buf::Up, nf);
            o.push(Op::Swiglu { n: nf });
            let mut act = None;
            o.linear(m, &mut act, &w.w_down, None, Buf::Gate, Buf::Proj, nf);
            o.push(Op::Add { n: nf });
        }
        _ => {
            if rows == Rows::Last {
                let r = rows_out(m, n, rows);
                o.push(Op::Norm {
                    gain: &m.weights.output_norm,
                    row0: r - 1,
                    n: 1,
                });
                let mut act = None;
                o.linear(
                    m,
                    &mut act,
                    &m.weights.output,
                    None,
                    Buf::Xn,
                    Buf::Logits,
                    1,
                );
            }
        }
    }
    o
}

/// Rows per tile of a matrix of `n_cols` columns for tasks of `n_tok` tokens.
fn tile_rows(n_cols: usize, n_tok: usize) -> usize {
    let per = (UNIT_WORK as usize) / (n_cols * n_tok).max(1);
    (per / TILE_ALIGN * TILE_ALIGN).max(TILE_ALIGN)
}

/// Tokens per matrix task of an `n`-token op: all of one token, or [`TOKEN_GROUP`].
fn group(n: usize) -> usize {
    if n == 1 { 1 } else { TOKEN_GROUP }
}

/// `(token groups, row tiles, rows per tile)` of a matrix op.
fn mat_tiles(w: &Tensor<'_>, n: usize) -> (usize, usize, usize) {
    let g = group(n);
    let tr = tile_rows(w.n_cols(), g);
    (n.div_ceil(g), w.n_rows().div_ceil(tr), tr)
}

impl Op<'_, '_> {
    /// Tasks of this op.
    pub(crate) fn n_tasks(&self, m: &Model<'_>) -> usize {
        match *self {
            Op::Embed { n }
            | Op::Norm { n, .. }
            | Op::Quant { n, .. }
            | Op::Bias { n, .. }
            | Op::Rope { n }
            | Op::Store { n }
            | Op::Add { n }
            | Op::Swiglu { n } => n,
            Op::Mat { w, n, .. } => {
                let (groups, tiles, _) = mat_tiles(w, n);
                groups * tiles
            }
            Op::Attn { n } => n * m.config.n_head,
            Op::Narrow { .. } => 1,
        }
    }

    /// Work of task `i` (see the [module docs](self)) of a pass at positions `pos..` with
    /// a cache of `kv_type`, `n_ctx`.
    pub(crate) fn work(
        &self,
        m: &Model<'_>,
        kv_type: KvType,
        n_ctx: usize,
        pos: usize,
        i: usize,
    ) -> u64 {
        let c = &m.config;
        let w = match *self {
            Op::Embed { .. } | Op::Norm { .. } | Op::Add { .. } | Op::Narrow { .. } => c.n_embd,
            Op::Quant { w, .. } => w.n_cols(),
            Op::Bias { b, .. } => b.n_cols(),
            Op::Rope { .. } => c.q_dim() + c.kv_dim(),
            Op::Store { .. } => 2 * c.kv_dim(),
            Op::Swiglu { .. } => c.n_ff,
            Op::Mat { w, n, .. } => {
                let (_, tiles, tr) = mat_tiles(w, n);
                let (gi, ti) = (i / tiles, i % tiles);
                let g = group(n);
                let toks = g.min(n - gi * g);
                let rows = tr.min(w.n_rows() - ti * tr);
                toks * rows * w.n_cols()
            }
            Op::Attn { n } => {
                let hd = c.head_dim;
                let t = i / c.n_head;
                let n_kv = pos + t + 1;
                match kv_type {
                    KvType::F16 => {
                        let order = m.linalg.kernels().ggml_order();
                        let a = F16Attn::with_n_ctx(order, hd, n_ctx, n, pos);
                        hd * n_kv + a.n_row() + hd * a.v_len(n_kv)
                    }
                    KvType::Q8_0 => 2 * hd * n_kv + n_kv,
                }
            }
        };
        w as u64
    }

    /// Runs task `i` of this op in a pass over `tokens` at positions `pos..`.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn run(
        &self,
        m: &Model<'_>,
        kv: &mut KvCache,
        s: &mut Scratch,
        par: &dyn Parallel,
        l: usize,
        tokens: &[u32],
        pos: usize,
        i: usize,
    ) -> Result<(), Error> {
        let c = &m.config;
        let k = m.linalg.kernels();
        let (e, kvd, ff, hd) = (c.n_embd, c.kv_dim(), c.n_ff, c.head_dim);
        match *self {
            Op::Embed { .. } => {
                let row = &mut s.x[i * e..(i + 1) * e];
                m.linalg
                    .dequantize_row(&m.weights.token_embd, tokens[i] as usize, row)?;
            }
            Op::Norm { gain, row0, .. } => {
                let r = row0 + i;
                rms_norm_rows(
                    k,
                    &s.x[r * e..(r + 1) * e],
                    gain,
                    c.rms_eps,
                    &mut s.xn[i * e..(i + 1) * e],
                )?;
            }
            Op::Quant { w, src, .. } => {
                let cols = w.n_cols();
                let arb = m.linalg.act_row_bytes(w.ty, cols);
                // The act buffer is lent out of the scratch for the call (no allocation).
                let mut act = core::mem::take(&mut s.act);
                let x = &buf(s, src)[i * cols..(i + 1) * cols];
                let r = m
                    .linalg
                    .quantize(w.ty, x, cols, &mut act[i * arb..(i + 1) * arb]);
                s.act = act;
                r?;
            }
            Op::Mat { w, dst, n } => {
                let (_, tiles, tr) = mat_tiles(w, n);
                let (gi, ti) = (i / tiles, i % tiles);
                let (cols, n_rows) = (w.n_cols(), w.n_rows());
                let arb = m.linalg.act_row_bytes(w.ty, cols);
                let r0 = ti * tr;
                let r1 = (r0 + tr).min(n_rows);
                let act_buf = core::mem::take(&mut s.act);
                let r = mat_tile(
                    m,
                    par,
                    w,
                    &act_buf[..n * arb],
                    buf_mut(s, dst),
                    n,
                    gi,
                    r0..r1,
                );
                s.act = act_buf;
                r?;
            }
            Op::Bias { b, dst, .. } => {
                let r = b.n_cols();
                k.add_bias(&mut buf_mut(s, dst)[i * r..(i + 1) * r], b.data)?;
            }
            Op::Rope { .. } => super::rope_token(m, s, i, pos),
            Op::Store { .. } => {
                let (kr, vr) = (&s.k[i * kvd..(i + 1) * kvd], &s.v[i * kvd..(i + 1) * kvd]);
                kv.store(k, l, pos + i, kr, vr)?;
            }
            Op::Attn { n } => {
                let scratch = &mut s.att_scratch[..s.att_stride];
                let o = &mut s.att[i * hd..(i + 1) * hd];
                match kv.kv_type() {
                    KvType::F16 => {
                        F16Attn::new(m, kv, n, pos).head(m, kv, &s.q, l, pos, i, scratch, o)?
                    }
                    KvType::Q8_0 => attention_q8_head(m, kv, &s.q, l, pos, i, scratch, o)?,
                }
            }
            Op::Add { .. } => {
                k.add(&mut s.x[i * e..(i + 1) * e], &s.proj[i * e..(i + 1) * e])?;
            }
            Op::Narrow { n } => s.x.copy_within((n - 1) * e..n * e, 0),
            Op::Swiglu { .. } => {
                let g = &mut s.gate[i * ff..(i + 1) * ff];
                k.swiglu(g, &s.up[i * ff..(i + 1) * ff], &mut s.ffn_row)?;
                g.copy_from_slice(&s.ffn_row);
            }
        }
        Ok(())
    }
}

/// One matrix task: rows `rows` of `w` for token group `gi` of an `n`-token op; `act`:
/// `[n][act_row_bytes]`, `out`: `[n][n_rows]`.
#[allow(clippy::too_many_arguments)]
fn mat_tile(
    m: &Model<'_>,
    par: &dyn Parallel,
    w: &Tensor<'_>,
    act: &[u8],
    out: &mut [f32],
    n: usize,
    gi: usize,
    rows: core::ops::Range<usize>,
) -> Result<(), Error> {
    let (cols, n_rows) = (w.n_cols(), w.n_rows());
    let (r0, r1) = (rows.start, rows.end);
    if n == 1 {
        // One token: the tile's rows are split across the threads as a whole matrix's are.
        let out = &mut out[r0..r1];
        let chunk = rows_per_chunk(r1 - r0, par.n_threads(), TILE_ALIGN);
        super::try_for_each_chunk(par, out, chunk, &|j, o| {
            let a = r0 + j * chunk;
            m.linalg.matvec(w, a..a + o.len(), act, o)
        })
    } else {
        let arb = m.linalg.act_row_bytes(w.ty, cols);
        let g = group(n);
        let t0 = gi * g;
        let nt = g.min(n - t0);
        let out = &mut out[t0 * n_rows + r0..(t0 + nt - 1) * n_rows + r1];
        m.linalg.kernels().matmul_in_batch(
            w.ty,
            w.data,
            cols,
            r0..r1,
            &act[t0 * arb..(t0 + nt) * arb],
            nt,
            out,
            n_rows,
            n,
        )?;
        Ok(())
    }
}

fn buf(s: &Scratch, b: Buf) -> &[f32] {
    match b {
        Buf::Xn => &s.xn,
        Buf::Q => &s.q,
        Buf::K => &s.k,
        Buf::V => &s.v,
        Buf::Att => &s.att,
        Buf::Proj => &s.proj,
        Buf::Gate => &s.gate,
        Buf::Up => &s.up,
        Buf::Logits => &s.logits,
    }
}

fn buf_mut(s: &mut Scratch, b: Buf) -> &mut [f32] {
    match b {
        Buf::Xn => &mut s.xn,
        Buf::Q => &mut s.q,
        Buf::K => &mut s.k,
        Buf::V => &mut s.v,
        Buf::Att => &mut s.att,
        Buf::Proj => &mut s.proj,
        Buf::Gate => &mut s.gate,
        Buf::Up => &mut s.up,
        Buf::Logits => &mut s.logits,
    }
}

/// The most work of any task of a pass of `n` tokens (≤ `n_batch`) at any position with a
/// context of `n_ctx` and a cache of `kv_type`: a budgeted step overruns its budget by less
/// than this.
pub(crate) fn max_task_work(m: &Model<'_>, kv_type: KvType, n_ctx: usize, n: usize) -> u64 {
    let mut most = 0;
    for stage in 0..super::n_stages(m) {
        let ops = ops(m, stage, n, Rows::Last);
        for oi in 0..ops.len() {
            let Some(op) = ops.get(oi) else { break };
            most = most.max(match op {
                // The last (token, head) at the last position attends to the most.
                Op::Attn { n } => op.work(m, kv_type, n_ctx, n_ctx - n, n * m.config.n_head - 1),
                // The first tile of the first group is the largest.
                _ => op.work(m, kv_type, n_ctx, 0, 0),
            });
        }
    }
    most
}

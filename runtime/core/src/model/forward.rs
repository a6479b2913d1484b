//! The forward pass, for every supported architecture: [`embed`] the tokens, run each
//! [`block`], then the [`head`] gives logits. [`forward`] chains them; the session's
//! `Stepper` calls them one at a time.
//!
//! A batch of `n` tokens (at positions `pos..pos + n`) goes through every layer as a matrix
//! (`[n][n_embd]`), so a prompt is one pass. Numerics follow llama.cpp's CPU backend with
//! flash attention off and an f16 KV cache, so that logits agree bit for bit where the
//! kernels' float sums happen to be ordered alike:
//! - every matrix input is quantized to the weight's `vec_dot_type` (Q8_0, Q8_1, Q8_K)
//!   before the dot products;
//! - K and V are stored as f16; Q is rounded to f16 for `Q·K` (ggml converts the f32
//!   operand of an F16 `mul_mat` to F16), products summed in f32;
//! - scores are scaled by `1/sqrt(head_dim)` (in f32, after the dot product), causally
//!   masked over the KV length padded to 256, soft-maxed with ggml's vector `exp`; the
//!   probabilities are rounded to f16 and dotted with the transposed f16 V rows. Both f16
//!   products sum in `ggml_vec_dot_f16`'s order for one token and in tinyBLAS's for a batch
//!   (see [`attention`]);
//! - SwiGLU uses ggml's vector SiLU (`ggml_v_silu`);
//! - every float operation runs on the model's [`Kernels`](bague_kernels::Kernels) (the one
//!   door to the kernels); a kernel's error (a length the model checked, so a bug) is returned
//!   as [`Error::Kernel`], never replaced by a default value;
//! - in the last layer, only the rows whose logits are wanted go through the feed-forward
//!   block (llama.cpp's `inp_out_ids`), so a prompt's last token takes the one-token kernels
//!   there, as in llama.cpp.
//!
//! Source: llama.cpp `src/models/{llama,qwen2}.cpp`, `llm_graph_context::build_attn_mha`,
//! `build_ffn` (SILU, parallel gate), ggml-cpu `ops.cpp`.

use super::Model;
use super::buffer::zeroed;
use super::error::Error;
use super::kv_cache::{KvCache, KvType};
use super::rope::Rope;
use super::weights::Tensor;
use crate::parallel::{Parallel, rows_per_chunk};
use alloc::vec::Vec;
use bague_kernels::block::F16;
use bague_kernels::{F16DotOrder, GgmlOrder, GgmlType, KernelError, Kernels};
use core::sync::atomic::{AtomicBool, Ordering};

pub(crate) mod steps;

/// Work buffers of a session, allocated once for `n_batch` tokens and `n_ctx` positions.
/// Shapes use `n` for the tokens of the current batch (`n <= n_batch`).
#[derive(Clone, Debug)]
pub(crate) struct Scratch {
    /// Most tokens per forward pass.
    pub n_batch: usize,
    /// `[n][n_embd]` residual stream.
    x: Vec<f32>,
    /// `[n][n_embd]` RMS-normed residual (input of Q/K/V and gate/up).
    xn: Vec<f32>,
    /// `[n][n_head * head_dim]` queries.
    q: Vec<f32>,
    /// `[n][n_head_kv * head_dim]` keys of the new tokens.
    k: Vec<f32>,
    /// `[n][n_head_kv * head_dim]` values of the new tokens.
    v: Vec<f32>,
    /// `[n][n_head * head_dim]` attention output, heads side by side.
    att: Vec<f32>,
    /// `[n][n_embd]` output of `attn_output` and of `ffn_down`.
    proj: Vec<f32>,
    /// `[n][n_ff]` gate projection, then `silu(gate) * up` in place.
    gate: Vec<f32>,
    /// `[n][n_ff]` up projection.
    up: Vec<f32>,
    /// `[n_ff]` one row of SwiGLU output.
    ffn_row: Vec<f32>,
    /// `[n][act_row_bytes]` a matrix input quantized to the weight's `vec_dot_type`.
    act: Vec<u8>,
    /// `[n_threads][att_stride]` per task: scores `[n_ctx]` f32, probabilities `[n_ctx]`
    /// f16, query `[head_dim]` f16.
    att_scratch: Vec<f32>,
    att_stride: usize,
    /// `[n][head_dim]` RoPE `(cos, sin)` tables, one per token.
    rope: Vec<f32>,
    /// `[n_vocab]` logits of the last token.
    pub logits: Vec<f32>,
}

impl Scratch {
    /// Bytes of the work buffers for `c`, given the largest quantized activation row;
    /// `None` if the size overflows. (The session's memory plan; [`Scratch::try_new`]
    /// allocates exactly this.)
    pub(crate) fn bytes_for(
        c: &super::Config,
        max_act_row: usize,
        n_batch: usize,
        n_ctx: usize,
        n_threads: usize,
    ) -> Option<usize> {
        let per_token = (3 * c.n_embd)
            .checked_add(2 * c.q_dim())?
            .checked_add(2 * c.kv_dim())?
            .checked_add(2 * c.n_ff)?
            .checked_add(c.head_dim)?;
        let f32s = n_batch
            .checked_mul(per_token)?
            .checked_add(c.n_ff)?
            .checked_add(
                n_threads
                    .max(1)
                    .checked_mul(att_stride(n_ctx, c.head_dim))?,
            )?
            .checked_add(c.n_vocab)?;
        f32s.checked_mul(4)?
            .checked_add(n_batch.checked_mul(max_act_row)?)
    }

    /// The work buffers, each allocated fallibly (sizes checked by the memory plan).
    /// Errors: `OutOfMemory` when the heap refuses one.
    pub(crate) fn try_new(
        m: &Model<'_>,
        n_batch: usize,
        n_ctx: usize,
        n_threads: usize,
    ) -> Result<Scratch, Error> {
        let c = &m.config;
        let stride = att_stride(n_ctx, c.head_dim);
        let f = |n: usize| zeroed::<f32>(n, "work buffers");
        Ok(Scratch {
            n_batch,
            x: f(n_batch * c.n_embd)?,
            xn: f(n_batch * c.n_embd)?,
            q: f(n_batch * c.q_dim())?,
            k: f(n_batch * c.kv_dim())?,
            v: f(n_batch * c.kv_dim())?,
            att: f(n_batch * c.q_dim())?,
            proj: f(n_batch * c.n_embd)?,
            gate: f(n_batch * c.n_ff)?,
            up: f(n_batch * c.n_ff)?,
            ffn_row: f(c.n_ff)?,
            act: zeroed::<u8>(n_batch * max_act_row_bytes(m), "work buffers")?,
            att_scratch: f(n_threads.max(1) * stride)?,
            att_stride: stride,
            rope: f(n_batch * c.head_dim)?,
            logits: f(c.n_vocab)?,
        })
    }
}

/// f32 slots of one attention task's scratch: scores, f16 probabilities, f16 (or Q8_0)
/// query, one dequantized value row (Q8_0 cache).
fn att_stride(n_ctx: usize, head_dim: usize) -> usize {
    n_ctx
        .saturating_add(n_ctx.div_ceil(2))
        .saturating_add(head_dim.div_ceil(2))
        .saturating_add(head_dim)
}

/// Largest quantized activation row of any matrix input.
pub(crate) fn max_act_row_bytes(m: &Model<'_>) -> usize {
    m.weights
        .matrices()
        .map(|w| m.linalg.act_row_bytes(w.ty, w.n_cols()))
        .max()
        .unwrap_or(0)
}

/// Which tokens' outputs a pass needs after the last layer's attention.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Rows {
    /// Only the last token's (generation): the last layer's feed-forward block runs on that
    /// row alone, as llama.cpp's graph does (`inp_out_ids`), which also picks the one-token
    /// kernels for it. Its residual is left in row 0 of `s.x`.
    Last,
    /// Every token's (perplexity): every row goes through every layer.
    All,
}

/// Rows left in `s.x` after the last layer of an `n`-token pass with `rows`.
pub(crate) fn rows_out(m: &Model<'_>, n: usize, rows: Rows) -> usize {
    match rows {
        Rows::Last if m.config.n_layer > 0 => 1,
        _ => n,
    }
}

/// Stages of a pass: the embedding lookup, one per layer, the output head.
pub(crate) fn n_stages(m: &Model<'_>) -> usize {
    m.config.n_layer + 2
}

/// Runs stage `stage` (< [`n_stages`]) of a pass over `tokens` at positions `pos..`: 0 the
/// embedding, `1..=n_layer` layer `stage - 1`, then the head, which leaves the last token's
/// logits in `s.logits` (with [`Rows::All`] it does nothing: the caller takes the rows it
/// wants with [`head_rows`]). The one place a pass's steps are spelled out: whole passes
/// ([`run_stages`]) and the session's `Stepper` both go through it.
#[allow(clippy::too_many_arguments)]
pub(crate) fn stage(
    m: &Model<'_>,
    kv: &mut KvCache,
    s: &mut Scratch,
    par: &dyn Parallel,
    tokens: &[u32],
    pos: usize,
    rows: Rows,
    stage: usize,
) -> Result<(), Error> {
    let n_layer = m.config.n_layer;
    match stage {
        0 => embed(m, s, tokens),
        l if l <= n_layer => block(m, kv, s, par, l - 1, tokens.len(), pos, rows),
        _ => match rows {
            Rows::Last => head(m, s, par, rows_out(m, tokens.len(), rows)),
            Rows::All => Ok(()),
        },
    }
}

/// Runs every stage of a pass over `tokens` (at positions `pos..`; the caller has checked
/// ids, batch size and context room), polling `cancel` between stages.
#[allow(clippy::too_many_arguments)]
pub(crate) fn run_stages(
    m: &Model<'_>,
    kv: &mut KvCache,
    s: &mut Scratch,
    par: &dyn Parallel,
    tokens: &[u32],
    pos: usize,
    rows: Rows,
    cancel: Option<&AtomicBool>,
) -> Result<(), Error> {
    for st in 0..n_stages(m) {
        if cancel.is_some_and(|c| c.load(Ordering::Relaxed)) {
            return Err(Error::Cancelled);
        }
        stage(m, kv, s, par, tokens, pos, rows, st)?;
    }
    Ok(())
}

/// `x[t] = token_embd[tokens[t]]`, dequantized.
pub(crate) fn embed(m: &Model<'_>, s: &mut Scratch, tokens: &[u32]) -> Result<(), Error> {
    let e = m.config.n_embd;
    for (t, &id) in tokens.iter().enumerate() {
        let row = &mut s.x[t * e..(t + 1) * e];
        m.linalg
            .dequantize_row(&m.weights.token_embd, id as usize, row)?;
    }
    Ok(())
}

/// RoPE of token `t` of the pass (position `pos + t`) on `s.q` and `s.k`, in the rotation
/// of the llama.cpp build whose order the model's kernels follow ([`Rope::for_order`]);
/// the whole pass and the [`steps`] tasks both call this.
pub(crate) fn rope_token(m: &Model<'_>, s: &mut Scratch, t: usize, pos: usize) {
    let c = &m.config;
    let (hd, qd, kvd) = (c.head_dim, c.q_dim(), c.kv_dim());
    let rope = Rope::new(c).for_order(m.linalg.kernels().ggml_order());
    let table = &mut s.rope[t * hd..(t + 1) * hd];
    let ff = m.weights.rope_freqs.as_ref();
    rope.table((pos + t) as i64, |i| ff.map_or(1.0, |f| f.f32_at(i)), table);
    rope.apply(table, &mut s.q[t * qd..(t + 1) * qd]);
    rope.apply(table, &mut s.k[t * kvd..(t + 1) * kvd]);
}

/// Transformer block `l` on the `n` tokens in `s.x` (positions `pos..pos + n`): attention
/// with the KV cache, then the SwiGLU feed-forward block, each added to the residual.
/// In the last layer with [`Rows::Last`], the feed-forward block runs on the last token only
/// (its row moved to row 0).
#[allow(clippy::too_many_arguments)]
pub(crate) fn block(
    m: &Model<'_>,
    kv: &mut KvCache,
    s: &mut Scratch,
    par: &dyn Parallel,
    l: usize,
    n: usize,
    pos: usize,
    rows: Rows,
) -> Result<(), Error> {
    let c = &m.config;
    let w = &m.weights.layers[l];
    let k = m.linalg.kernels();
    let (e, qd, kvd, ff) = (c.n_embd, c.q_dim(), c.kv_dim(), c.n_ff);

    // --- attention ---
    // xn = RMSNorm(x) * attn_norm                                   [n][n_embd]
    rms_norm_rows(
        k,
        &s.x[..n * e],
        &w.attn_norm,
        c.rms_eps,
        &mut s.xn[..n * e],
    )?;
    // q = Wq·xn + bq, k = Wk·xn + bk, v = Wv·xn + bv                [n][q_dim], [n][kv_dim]
    let mut act_ty = None;
    linear(
        m,
        par,
        &w.wq,
        w.bq.as_ref(),
        &s.xn[..n * e],
        n,
        &mut s.act,
        &mut act_ty,
        &mut s.q,
    )?;
    linear(
        m,
        par,
        &w.wk,
        w.bk.as_ref(),
        &s.xn[..n * e],
        n,
        &mut s.act,
        &mut act_ty,
        &mut s.k,
    )?;
    linear(
        m,
        par,
        &w.wv,
        w.bv.as_ref(),
        &s.xn[..n * e],
        n,
        &mut s.act,
        &mut act_ty,
        &mut s.v,
    )?;
    // RoPE on q and k, each token at its position
    for t in 0..n {
        rope_token(m, s, t, pos);
    }
    // KV cache[l][pos..pos + n] = k, v (rounded to f16)
    kv.store(k, l, pos, &s.k[..n * kvd], &s.v[..n * kvd])?;
    // att = softmax(q·Kᵀ / sqrt(head_dim), causal) · V          [n][n_head * head_dim]
    match kv.kv_type() {
        KvType::F16 => attention(m, kv, s, par, l, n, pos)?,
        KvType::Q8_0 => attention_q8(m, kv, s, par, l, n, pos)?,
    }
    // x += Wo·att + bo
    let mut act_ty = None;
    linear(
        m,
        par,
        &w.wo,
        w.bo.as_ref(),
        &s.att[..n * qd],
        n,
        &mut s.act,
        &mut act_ty,
        &mut s.proj,
    )?;
    k.add(&mut s.x[..n * e], &s.proj[..n * e])?;
    // The last layer of a pass that needs only the last token's logits continues with that
    // row alone (llama.cpp: `ggml_get_rows(cur, inp_out_ids)` after the attention block).
    let n = if l + 1 == c.n_layer && rows == Rows::Last && n > 1 {
        s.x.copy_within((n - 1) * e..n * e, 0);
        1
    } else {
        n
    };

    // --- feed-forward ---
    // xn = RMSNorm(x) * ffn_norm
    rms_norm_rows(k, &s.x[..n * e], &w.ffn_norm, c.rms_eps, &mut s.xn[..n * e])?;
    // gate = Wgate·xn, up = Wup·xn                                  [n][n_ff]
    let mut act_ty = None;
    linear(
        m,
        par,
        &w.w_gate,
        None,
        &s.xn[..n * e],
        n,
        &mut s.act,
        &mut act_ty,
        &mut s.gate,
    )?;
    linear(
        m,
        par,
        &w.w_up,
        None,
        &s.xn[..n * e],
        n,
        &mut s.act,
        &mut act_ty,
        &mut s.up,
    )?;
    // gate = silu(gate) * up
    for t in 0..n {
        let g = &mut s.gate[t * ff..(t + 1) * ff];
        k.swiglu(g, &s.up[t * ff..(t + 1) * ff], &mut s.ffn_row)?;
        g.copy_from_slice(&s.ffn_row);
    }
    // x += Wdown·gate
    let mut act_ty = None;
    linear(
        m,
        par,
        &w.w_down,
        None,
        &s.gate[..n * ff],
        n,
        &mut s.act,
        &mut act_ty,
        &mut s.proj,
    )?;
    k.add(&mut s.x[..n * e], &s.proj[..n * e])?;
    Ok(())
}

/// Final RMSNorm of the last of the `n` rows in `s.x` and the output projection: `s.logits`
/// `[n_vocab]`.
pub(crate) fn head(
    m: &Model<'_>,
    s: &mut Scratch,
    par: &dyn Parallel,
    n: usize,
) -> Result<(), Error> {
    let e = m.config.n_embd;
    let last = &s.x[(n - 1) * e..n * e];
    rms_norm_rows(
        m.linalg.kernels(),
        last,
        &m.weights.output_norm,
        m.config.rms_eps,
        &mut s.xn[..e],
    )?;
    let mut act_ty = None;
    linear(
        m,
        par,
        &m.weights.output,
        None,
        &s.xn[..e],
        1,
        &mut s.act,
        &mut act_ty,
        &mut s.logits,
    )
}

/// Logits of the batch rows `rows` (tokens of the pass whose residuals are still in
/// `s.x`) into `out`: `[rows.len()][n_vocab]`, the same numbers as [`head`] gives for each
/// row alone. `rows.end` must not exceed the pass's token count (≤ `n_batch`).
/// Used for perplexity, which scores every position. (Added by the `generate` work.)
pub(crate) fn head_rows(
    m: &Model<'_>,
    s: &mut Scratch,
    par: &dyn Parallel,
    rows: core::ops::Range<usize>,
    out: &mut [f32],
) -> Result<(), Error> {
    let e = m.config.n_embd;
    let n = rows.len();
    rms_norm_rows(
        m.linalg.kernels(),
        &s.x[rows.start * e..rows.end * e],
        &m.weights.output_norm,
        m.config.rms_eps,
        &mut s.xn[..n * e],
    )?;
    let mut act_ty = None;
    linear(
        m,
        par,
        &m.weights.output,
        None,
        &s.xn[..n * e],
        n,
        &mut s.act,
        &mut act_ty,
        out,
    )
}

/// `out[t] = RMSNorm(x[t]) * gain` for every row; `gain` is an F32 tensor `[n_embd]`.
fn rms_norm_rows(
    k: &Kernels,
    x: &[f32],
    gain: &Tensor<'_>,
    eps: f32,
    out: &mut [f32],
) -> Result<(), Error> {
    let e = gain.n_cols();
    for (xr, or) in x.chunks_exact(e).zip(out.chunks_exact_mut(e)) {
        k.rms_norm(xr, gain.data, eps, or)?;
    }
    Ok(())
}

/// A task over one chunk of output that can fail (see [`try_for_each_chunk`]).
type TryTask<'f> = dyn Fn(usize, &mut [f32]) -> Result<(), KernelError> + Sync + 'f;

/// A task over one chunk of output and one of scratch that can fail.
type TryPairTask<'f> = dyn Fn(usize, &mut [f32], &mut [f32]) -> Result<(), KernelError> + Sync + 'f;

/// [`Parallel::for_each_chunk`] with tasks that can fail: `Err` with the first error in chunk
/// order. A task cannot hand a value back through `Parallel` (its tasks are `Fn`, and this
/// crate has no `unsafe` to share a slot), so a failed task raises a flag, and the chunks are
/// then run again in order on this thread, which meets the same error: kernel errors come from
/// lengths alone. Nothing is added to the path without errors but one flag load.
fn try_for_each_chunk(
    par: &dyn Parallel,
    data: &mut [f32],
    chunk_len: usize,
    f: &TryTask<'_>,
) -> Result<(), Error> {
    let failed = AtomicBool::new(false);
    par.for_each_chunk(data, chunk_len, &|i, c| {
        if f(i, c).is_err() {
            failed.store(true, Ordering::Relaxed);
        }
    });
    if failed.load(Ordering::Relaxed) {
        for (i, c) in data.chunks_mut(chunk_len.max(1)).enumerate() {
            f(i, c)?;
        }
    }
    Ok(())
}

/// [`Parallel::for_each_chunk_pair`] with tasks that can fail (see [`try_for_each_chunk`]).
fn try_for_each_chunk_pair(
    par: &dyn Parallel,
    a: &mut [f32],
    a_chunk: usize,
    b: &mut [f32],
    b_chunk: usize,
    f: &TryPairTask<'_>,
) -> Result<(), Error> {
    let failed = AtomicBool::new(false);
    par.for_each_chunk_pair(a, a_chunk, b, b_chunk, &|i, x, y| {
        if f(i, x, y).is_err() {
            failed.store(true, Ordering::Relaxed);
        }
    });
    if failed.load(Ordering::Relaxed) {
        let pairs = a
            .chunks_mut(a_chunk.max(1))
            .zip(b.chunks_mut(b_chunk.max(1)));
        for (i, (x, y)) in pairs.enumerate() {
            f(i, x, y)?;
        }
    }
    Ok(())
}

/// `out[t] = W·x[t] (+ bias)` for `n` tokens; `x`: `[n][n_cols]`, `out`: `[n][n_rows]`.
/// `x` is quantized into `act` unless `act_ty` says it already holds `x` quantized to the
/// right type (Q, K and V share one quantized input when their weights agree).
fn linear(
    m: &Model<'_>,
    par: &dyn Parallel,
    w: &Tensor<'_>,
    bias: Option<&Tensor<'_>>,
    x: &[f32],
    n: usize,
    act: &mut [u8],
    act_ty: &mut Option<GgmlType>,
    out: &mut [f32],
) -> Result<(), Error> {
    let (cols, rows) = (w.n_cols(), w.n_rows());
    let la = &m.linalg;
    let want = la.act_type(w.ty);
    let arb = la.act_row_bytes(w.ty, cols);
    if *act_ty != Some(want) {
        la.quantize(w.ty, x, cols, &mut act[..n * arb])?;
        *act_ty = Some(want);
    }
    let act = &act[..n * arb];
    let out = &mut out[..n * rows];
    let nt = par.n_threads();
    if n == 1 {
        // One token (ggml's vec_dot / gemv path): split the rows across the threads.
        let chunk = rows_per_chunk(rows, nt, 16);
        try_for_each_chunk(par, &mut out[..rows], chunk, &|i, o| {
            la.matvec(w, i * chunk..i * chunk + o.len(), act, o)
        })?;
    } else {
        // Split the tokens across the threads; each computes all rows of its tokens. Each
        // share starts at a multiple of 4 tokens, so batch kernels that group tokens by 4
        // from the first (ggml's repacked gemm, then gemv for the rest) group them as one
        // call over the whole batch does, and each share takes the whole batch's path (its
        // size `n` decides it, as in ggml): results do not depend on the thread count.
        let per = n.div_ceil(nt).next_multiple_of(4);
        try_for_each_chunk(par, out, per * rows, &|i, o| {
            let t0 = i * per;
            let nt_i = o.len() / rows;
            la.matmul(w, &act[t0 * arb..(t0 + nt_i) * arb], nt_i, o, n)
        })?;
    }
    if let Some(b) = bias {
        for o in out.chunks_exact_mut(rows) {
            la.kernels().add_bias(o, b.data)?;
        }
    }
    Ok(())
}

/// Grouped-query attention of the `n` new tokens over the cache of layer `l`.
/// `s.q`: `[n][n_head * head_dim]` (after RoPE) → `s.att`: `[n][n_head * head_dim]`.
/// Token `t` attends to positions `0..=pos + t`. Work is split by (token, head) pairs.
///
/// Numerics of llama.cpp's non-flash path on x86, bit for bit: the KV length of the graph
/// is the used cells padded to 256 (at most `n_ctx`), masked with `-inf` ([`kv_row_len`]);
/// a one-token batch takes `ggml_vec_dot_f16` for both products, a batch of several tokens
/// llamafile's tinyBLAS (when the product's row count is a multiple of 4, as it requires);
/// the masked tail adds exact zeros, so the dot products stop at the live length rounded up
/// to the kernel's lane group. Kernels of llama.cpp's aarch64 order take its aarch64
/// kernels instead ([`F16Attn`]).
fn attention(
    m: &Model<'_>,
    kv: &KvCache,
    s: &mut Scratch,
    par: &dyn Parallel,
    l: usize,
    n: usize,
    pos: usize,
) -> Result<(), Error> {
    let n_head = m.config.n_head;
    let hd = m.config.head_dim;
    let plan = F16Attn::new(m, kv, n, pos);
    let q = &s.q;
    let units = n * n_head;
    let per = units.div_ceil(par.n_threads().max(1));
    try_for_each_chunk_pair(
        par,
        &mut s.att[..units * hd],
        per * hd,
        &mut s.att_scratch,
        s.att_stride,
        &|task, out, scratch| {
            for (kk, o) in out.chunks_exact_mut(hd).enumerate() {
                plan.head(m, kv, q, l, pos, task * per + kk, scratch, o)?;
            }
            Ok(())
        },
    )
}

/// The per-pass constants of [`attention`]: KV row length, product kernels, scale.
///
/// The kernels of llama.cpp's attention products for a pass of `n` tokens, on the build
/// whose arithmetic the kernels' [`GgmlOrder`] reproduces:
/// - x86 (AVX2 + F16C): `K·Q` and `V·P` take `ggml_vec_dot_f16` for one token and llamafile's
///   tinyBLAS f16 × f16 for a batch (when the product's row count is a multiple of 4), `Q`
///   and `P` rounded to f16 (ggml converts the f32 operand of an F16 `mul_mat`).
/// - aarch64 without FP16 vector arithmetic: tinyBLAS has no f16 × f16 kernel there, so
///   `K·Q` always runs `ggml_vec_dot_f16` (Q is a permuted, non-contiguous view, converted
///   to f16 first); `V·P` for a batch runs tinyBLAS f16 × f32 on the contiguous f32
///   probabilities (no rounding to f16) when `head_dim` and the KV row length are multiples
///   of 4, and `ggml_vec_dot_f16` otherwise.
#[derive(Clone, Copy, Debug)]
pub(crate) struct F16Attn {
    n_row: usize,
    kq_order: F16DotOrder,
    /// `None`: tinyBLAS f16 × f32 on the f32 probabilities (aarch64 batch).
    kqv_order: Option<F16DotOrder>,
    /// Lane group of the `V·P` kernel: the masked tail past it is never read.
    kqv_group: usize,
    scale: f32,
}

impl F16Attn {
    /// The constants of an `n`-token pass at positions `pos..` over `kv`.
    pub(crate) fn new(m: &Model<'_>, kv: &KvCache, n: usize, pos: usize) -> F16Attn {
        let order = m.linalg.kernels().ggml_order();
        F16Attn::with_n_ctx(order, m.config.head_dim, kv.n_ctx(), n, pos)
    }

    /// The constants for heads of `hd` over a context of `n_ctx`, for kernels of `order`.
    pub(crate) fn with_n_ctx(
        order: GgmlOrder,
        hd: usize,
        n_ctx: usize,
        n: usize,
        pos: usize,
    ) -> F16Attn {
        let n_row = kv_row_len(pos + n, n_ctx);
        let (kq_order, kqv_order, kqv_group) = match order {
            GgmlOrder::X86 => {
                // tinyBLAS: a matrix of ≥ 2 tokens, rows (KV length for K·Q, head_dim for
                // V·P) ≡ 0 mod 4.
                let pick = |tiny: bool| {
                    if tiny {
                        F16DotOrder::TinyBlas
                    } else {
                        F16DotOrder::VecDot
                    }
                };
                let kqv = pick(n >= 2 && hd % 4 == 0);
                let group = match kqv {
                    F16DotOrder::TinyBlas => 8,
                    F16DotOrder::VecDot => 32,
                };
                (pick(n >= 2 && n_row % 4 == 0), Some(kqv), group)
            }
            GgmlOrder::Aarch64 { .. } => {
                if n >= 2 && hd % 4 == 0 && n_row % 4 == 0 {
                    (F16DotOrder::VecDot, None, 4)
                } else {
                    (F16DotOrder::VecDot, Some(F16DotOrder::VecDot), 16)
                }
            }
        };
        F16Attn {
            n_row,
            kq_order,
            kqv_order,
            kqv_group,
            // IEEE sqrt is correctly rounded, so libm and std agree bit for bit.
            scale: 1.0f32 / libm::sqrtf(hd as f32),
        }
    }

    /// One (token, head) unit `u = t * n_head + h` of [`attention`] over layer `l`: `o`
    /// (`[head_dim]`) = softmax(q·Kᵀ)·V; `scratch`: one task's `att_stride` f32 slots.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn head(
        &self,
        m: &Model<'_>,
        kv: &KvCache,
        q: &[f32],
        l: usize,
        pos: usize,
        u: usize,
        scratch: &mut [f32],
        o: &mut [f32],
    ) -> Result<(), KernelError> {
        let c = &m.config;
        let (hd, qd, kvd) = (c.head_dim, c.q_dim(), c.kv_dim());
        let (n_head, group) = (c.n_head, c.gqa_group());
        let n_ctx = kv.n_ctx();
        let (k_cache, v_cache) = (kv.k_layer(l), kv.v_layer(l));
        let k = m.linalg.kernels();
        let (scores, rest) = scratch.split_at_mut(n_ctx);
        let rest: &mut [F16] = bytemuck::cast_slice_mut(rest);
        let (p16, q16) = rest.split_at_mut(n_ctx.next_multiple_of(2));
        let (t, h) = (u / n_head, u % n_head);
        let kvh = h / group;
        let n_kv = pos + t + 1;
        // q16 = f16(q[t][h])
        let qh = &q[t * qd + h * hd..t * qd + (h + 1) * hd];
        k.f32_to_f16_row(qh, bytemuck::cast_slice_mut(&mut q16[..hd]))?;
        let q16 = &q16[..hd];
        // scores[j] = K[j][kvh] · q16, j < n_kv (rows kv_dim apart)
        {
            let scores = &mut scores[..n_kv];
            k.matvec_f16(self.kq_order, &k_cache[kvh * hd..], hd, kvd, q16, scores)?;
            // softmax(scores * scale) over the row padded to n_row
            k.softmax_masked(scores, self.scale, self.n_row);
        }
        // the masked tail adds exact zeros: stop at the kernel's lane group
        let len = self.v_len(n_kv);
        let v = &v_cache[kvh * hd * n_ctx..];
        match self.kqv_order {
            Some(order) => {
                // p16 = f16(probabilities), zero past n_kv up to the lane group
                k.f32_to_f16_row(&scores[..n_kv], bytemuck::cast_slice_mut(&mut p16[..n_kv]))?;
                p16[n_kv..len].fill(F16([0; 2]));
                // o[d] = Vᵀ[kvh * hd + d][..len] · p16 (rows n_ctx apart)
                k.matvec_f16(order, v, len, n_ctx, &p16[..len], o)?;
            }
            None => {
                // aarch64, several tokens: Vᵀ · p with p in f32 (tinyBLAS f16 × f32)
                scores[n_kv..len].fill(0.0);
                k.matvec_f16_f32(v, len, n_ctx, &scores[..len], o)?;
            }
        }
        Ok(())
    }

    /// Positions of the V product for a token that attends to `n_kv` positions.
    pub(crate) fn v_len(&self, n_kv: usize) -> usize {
        n_kv.next_multiple_of(self.kqv_group).min(self.n_row)
    }

    /// The masked softmax row length.
    pub(crate) fn n_row(&self) -> usize {
        self.n_row
    }
}

/// [`attention`] over a Q8_0 cache: each query head is quantized to Q8_0 and dotted with
/// the key blocks (ggml `vec_dot_q8_0_q8_0`), soft-maxed as above, and the value rows are
/// dequantized and summed weighted by the probabilities in f32, position by position (the
/// shape of llama.cpp's flash-attention path, which it requires for a quantized V; not its
/// exact numbers).
fn attention_q8(
    m: &Model<'_>,
    kv: &KvCache,
    s: &mut Scratch,
    par: &dyn Parallel,
    l: usize,
    n: usize,
    pos: usize,
) -> Result<(), Error> {
    let (n_head, hd) = (m.config.n_head, m.config.head_dim);
    let q = &s.q;
    let units = n * n_head;
    let per = units.div_ceil(par.n_threads().max(1));
    try_for_each_chunk_pair(
        par,
        &mut s.att[..units * hd],
        per * hd,
        &mut s.att_scratch,
        s.att_stride,
        &|task, out, scratch| {
            for (kk, o) in out.chunks_exact_mut(hd).enumerate() {
                attention_q8_head(m, kv, q, l, pos, task * per + kk, scratch, o)?;
            }
            Ok(())
        },
    )
}

/// One (token, head) unit `u = t * n_head + h` of [`attention_q8`] over layer `l`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn attention_q8_head(
    m: &Model<'_>,
    kv: &KvCache,
    q: &[f32],
    l: usize,
    pos: usize,
    u: usize,
    scratch: &mut [f32],
    o: &mut [f32],
) -> Result<(), KernelError> {
    let c = &m.config;
    let (hd, qd, kvd) = (c.head_dim, c.q_dim(), c.kv_dim());
    let (n_head, group) = (c.n_head, c.gqa_group());
    let n_ctx = kv.n_ctx();
    let scale = 1.0f32 / libm::sqrtf(hd as f32);
    let (k_cache, v_cache) = (kv.k_layer_q8(l), kv.v_layer_q8(l));
    let (bh, bkv) = (hd / 32, kvd / 32);
    let k = m.linalg.kernels();
    let (scores, rest) = scratch.split_at_mut(n_ctx);
    let (rest, _) = rest.split_at_mut(rest.len() - hd);
    let q8: &mut [u8] = bytemuck::cast_slice_mut(rest);
    let q8 = &mut q8[..bh * 34];
    let (t, h) = (u / n_head, u % n_head);
    let kvh = h / group;
    let n_kv = pos + t + 1;
    // q8 = Q8_0(q[t][h])
    let qh = &q[t * qd + h * hd..t * qd + (h + 1) * hd];
    k.quantize_activation(GgmlType::Q8_0, qh, q8)?;
    // scores[j] = K[j][kvh] · q8, j < n_kv (rows kv_dim / 32 blocks apart)
    let scores = &mut scores[..n_kv];
    let keys: &[u8] = bytemuck::cast_slice(&k_cache[kvh * bh..]);
    k.matvec_strided(GgmlType::Q8_0, keys, hd, bkv * 34, q8, scores)?;
    k.softmax_masked(scores, scale, n_kv);
    // o = Σ_j p_j · V[j][kvh] (rows kv_dim / 32 blocks apart), one kernel call
    let vals: &[u8] = bytemuck::cast_slice(&v_cache[kvh * bh..]);
    k.weighted_sum_q8_0(o, scores, vals, bkv * 34)?;
    Ok(())
}

/// The KV length of llama.cpp's attention graph when `used` cells are filled: padded to a
/// multiple of 256 (and at least 256) so the graph can be reused, at most `n_ctx`.
/// Source: llama.cpp `llama_kv_cache::get_n_kv`.
pub(crate) fn kv_row_len(used: usize, n_ctx: usize) -> usize {
    used.next_multiple_of(256).max(256).min(n_ctx)
}

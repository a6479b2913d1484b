//! Perplexity of a text, computed as llama.cpp's `llama-perplexity` does by default, so
//! the numbers compare directly.
//!
//! 1. The caller tokenizes the whole text once (`add_special = true`,
//!    `parse_special = false`).
//! 2. It is cut into `floor(n_tokens / n_ctx)` chunks of `n_ctx` tokens (the remainder is
//!    dropped); at least `2 · n_ctx` tokens are needed.
//! 3. Each chunk is evaluated from an empty KV cache. When the vocabulary adds BOS, the
//!    chunk's first token is replaced by BOS.
//! 4. Only the second half is scored: the logits at positions `n_ctx/2 .. n_ctx - 1`
//!    predict the tokens that follow them (`n_ctx - n_ctx/2 - 1` per chunk).
//!    NLL = `max + ln Σ exp(logit - max) - logit[next]` (f32 exponentials summed in f64).
//! 5. PPL = exp(mean NLL); its error is `PPL · sqrt(var(NLL) / (count - 1))`.
//!
//! Source: llama.cpp `tools/perplexity/perplexity.cpp` (`perplexity`, `log_softmax`).

#![allow(clippy::result_large_err)] // see the parent module

use alloc::vec::Vec;
use core::sync::atomic::AtomicBool;

use super::Error;
use crate::model;
use crate::session::Session;

/// The result of [`perplexity`].
#[derive(Clone, Debug, PartialEq)]
pub struct Perplexity {
    /// exp(mean negative log-likelihood) over the scored tokens.
    pub ppl: f64,
    /// Standard error of `ppl` (llama.cpp's `+/-` figure).
    pub ppl_stderr: f64,
    /// Chunks evaluated.
    pub n_chunks: usize,
    /// Tokens per chunk (the session's context length).
    pub n_ctx: usize,
    /// Tokens scored in all.
    pub n_scored: usize,
    /// The running PPL after each chunk (llama.cpp prints these as `[i]ppl,`).
    pub running: Vec<f64>,
}

/// Scores `tokens` (the whole text, already tokenized) in chunks of the session's context
/// length. `bos`: the BOS id when the vocabulary adds BOS (it replaces each chunk's first
/// token), else `None`. `buf` holds logits rows (`[k][n_vocab]`, `k ≥ 1`; more rows make
/// the output projection faster). `on_chunk(i, running_ppl)` is called after each chunk.
///
/// Errors: `TextTooShort` (fewer than `2 · n_ctx` tokens, or `n_ctx` < 4),
/// `Model(Cancelled)`, `Model(BadOption)` (`buf` shorter than one row), `Model(TokenOutOfRange)`.
pub fn perplexity(
    session: &mut Session<'_, '_>,
    tokens: &[u32],
    bos: Option<u32>,
    buf: &mut [f32],
    cancel: Option<&AtomicBool>,
    on_chunk: &mut dyn FnMut(usize, f64),
) -> Result<Perplexity, Error> {
    let n_ctx = session.n_ctx();
    let n_vocab = session.model().config.n_vocab;
    if n_ctx < 4 || tokens.len() < 2 * n_ctx {
        return Err(Error::TextTooShort {
            n_tokens: tokens.len(),
            needed: 2 * n_ctx.max(4),
        });
    }
    let n_chunks = tokens.len() / n_ctx;
    let first = n_ctx / 2;
    let mut chunk_ids = Vec::with_capacity(n_ctx);
    let mut running = Vec::with_capacity(n_chunks);
    let (mut nll, mut nll2, mut count) = (0f64, 0f64, 0usize);
    for c in 0..n_chunks {
        chunk_ids.clear();
        chunk_ids.extend_from_slice(&tokens[c * n_ctx..(c + 1) * n_ctx]);
        if let Some(b) = bos {
            chunk_ids[0] = b;
        }
        session.reset();
        let ids = &chunk_ids;
        let mut failed = None;
        session.prefill_logits(
            ids,
            first..n_ctx - 1,
            buf,
            cancel,
            &mut |i, rows: &[f32]| {
                for (k, row) in rows.chunks_exact(n_vocab).enumerate() {
                    let next = ids[i + k + 1] as usize;
                    match row.get(next) {
                        Some(_) => {
                            let v = nll_of(row, next);
                            nll += v;
                            nll2 += v * v;
                            count += 1;
                        }
                        None => failed = Some(next),
                    }
                }
            },
        )?;
        if let Some(t) = failed {
            return Err(Error::Model(model::Error::TokenOutOfRange {
                token: t as u32,
                n_vocab,
            }));
        }
        let p = exp(nll / count as f64);
        running.push(p);
        on_chunk(c, p);
    }
    session.reset();
    let mean = nll / count as f64;
    let ppl = exp(mean);
    let var = nll2 / count as f64 - mean * mean;
    let ppl_stderr = if var > 0.0 && count > 1 {
        sqrt(var / (count - 1) as f64) * ppl
    } else {
        0.0
    };
    Ok(Perplexity {
        ppl,
        ppl_stderr,
        n_chunks,
        n_ctx,
        n_scored: count,
        running,
    })
}

/// Negative log-likelihood of token `tok` under `logits` (`[n_vocab]`): the maximum and the
/// exponentials in f32, their sum and the log in f64, as llama.cpp's `log_softmax`.
pub fn nll_of(logits: &[f32], tok: usize) -> f64 {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let sum: f64 = logits
        .iter()
        .map(|&l| crate::sampler::expf(l - max) as f64)
        .sum();
    -(((logits[tok] - max) as f64) - ln(sum))
}

#[cfg(feature = "std")]
fn exp(x: f64) -> f64 {
    x.exp()
}
#[cfg(feature = "std")]
fn ln(x: f64) -> f64 {
    x.ln()
}
#[cfg(feature = "std")]
fn sqrt(x: f64) -> f64 {
    x.sqrt()
}
#[cfg(not(feature = "std"))]
use libm::{exp, log as ln, sqrt};

#[cfg(test)]
mod tests {
    use super::nll_of;

    #[test]
    fn nll_is_minus_log_softmax() {
        let l = [1.0f32, 2.0, 3.0];
        let z: f64 = l.iter().map(|&x| (x as f64).exp()).sum();
        for t in 0..3 {
            let want = -((l[t] as f64).exp() / z).ln();
            assert!((nll_of(&l, t) - want).abs() < 1e-6);
        }
    }
}

//! llama.cpp's prefill / decode speed on a GGUF file, through the oracle's model API, for
//! comparing with `bague bench` on the same file, threads and machine.
//!
//! `cargo run --release -p bague-oracle --example llama_bench -- MODEL.gguf [--pp 128] [--tg 32]
//!  [--threads 2] [--reps 3] [--prompt "text"] [--greedy N]`
//!
//! Prints one line per repetition and the median: pp tokens/s (one `llama_decode` of `pp`
//! tokens) and tg tokens/s (`tg` single-token decodes after it). `--greedy N` also prints N
//! greedy tokens of `--prompt` (ids and text) for a correctness side-check.

use std::path::PathBuf;

use bague_oracle::llama::{ContextParams, Model};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let mut model: Option<PathBuf> = None;
    let (mut pp, mut tg, mut threads, mut reps, mut greedy) =
        (128usize, 32usize, 2i32, 3usize, 0usize);
    let mut prompt = String::from("The capital of France is");
    while let Some(a) = args.next() {
        let mut val = || args.next().ok_or_else(|| format!("{a} needs a value"));
        match a.as_str() {
            "--pp" => pp = val()?.parse()?,
            "--tg" => tg = val()?.parse()?,
            "--threads" | "-t" => threads = val()?.parse()?,
            "--reps" => reps = val()?.parse()?,
            "--greedy" => greedy = val()?.parse()?,
            "--prompt" => prompt = val()?,
            _ if model.is_none() && !a.starts_with('-') => model = Some(PathBuf::from(a)),
            _ => return Err(format!("unknown argument {a}").into()),
        }
    }
    let path =
        model.ok_or("usage: llama_bench MODEL.gguf [--pp N] [--tg N] [--threads N] [--reps N]")?;
    let m = Model::load(&path, false)?;
    let (size, params) = m.size_and_params();
    println!(
        "{}: {} ({} bytes, {} params), ggml: {}",
        path.display(),
        m.desc(),
        size,
        params,
        bague_oracle::cpu_features()
    );
    let n_ctx = (pp + tg + 16).max(512) as u32;
    let mut ctx = m.context(ContextParams {
        n_ctx,
        n_batch: pp.max(1) as u32,
        n_threads: threads,
    })?;
    if greedy > 0 {
        let ids = m.tokenize(&prompt, true, true)?;
        let out = ctx.greedy(&ids, greedy)?;
        println!(
            "greedy {out:?}\n  {:?}",
            String::from_utf8_lossy(&m.detokenize(&out, false, true)?)
        );
    }
    let tok = m
        .tokenize("the", false, false)?
        .first()
        .copied()
        .unwrap_or(0);
    ctx.bench(tok, pp.min(16), tg.min(4))?; // warm-up
    let (mut pps, mut tgs) = (Vec::new(), Vec::new());
    for r in 0..reps {
        let t = ctx.bench(tok, pp, tg)?;
        println!(
            "rep {r}: pp{pp} {:.2} t/s, tg{tg} {:.2} t/s (threads {threads})",
            t.pp_tps(),
            t.tg_tps()
        );
        pps.push(t.pp_tps());
        tgs.push(t.tg_tps());
    }
    pps.sort_by(f64::total_cmp);
    tgs.sort_by(f64::total_cmp);
    println!(
        "median: pp{pp} {:.2} t/s, tg{tg} {:.2} t/s",
        pps[pps.len() / 2],
        tgs[tgs.len() / 2]
    );
    Ok(())
}

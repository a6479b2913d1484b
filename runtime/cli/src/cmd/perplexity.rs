//! `bague perplexity`: the perplexity of a text, by llama.cpp's `llama-perplexity` method
//! (see [`bague::generate::perplexity`]), so the numbers compare with llama.cpp's.

use std::time::Instant;

use anyhow::{Context, Result, bail};
use bague::generate::perplexity::perplexity;
use bague::session::SessionOptions;
use bague::tokenizer::EncodeOptions;

use crate::backend::{Backend, BackendArgs};
use crate::load::Mapped;

/// Most logits rows computed at once (rows × n_vocab × 4 bytes of buffer).
const MAX_ROWS: usize = 64;

/// Arguments of `bague perplexity`.
#[derive(clap::Args)]
pub struct Args {
    /// A GGUF file or a model id (see `bague list`); a known id is pulled on first use.
    #[arg(long, short)]
    model: String,
    /// The text (UTF-8).
    #[arg(short = 'f', long = "file")]
    file: std::path::PathBuf,
    /// Tokens per chunk (context length); the second half of each chunk is scored.
    #[arg(long = "ctx", short = 'c', default_value_t = 512)]
    ctx: usize,
    /// Tokens per forward pass (default: the chunk, at most 512).
    #[arg(long, short = 'b')]
    batch: Option<usize>,
    /// Worker threads (default: the CPUs available to this process).
    #[arg(long, short = 't')]
    threads: Option<usize>,
    /// Print one JSON object {"ppl", "ppl_stderr", "chunks", "ctx", ...}.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    backend: BackendArgs,
}

/// Runs `bague perplexity`.
pub fn run(args: Args) -> Result<()> {
    let n_threads = match args.threads {
        Some(0) => bail!("--threads must be at least 1"),
        Some(n) => n,
        None => std::thread::available_parallelism().map_or(1, |n| n.get()),
    };
    if args.ctx < 4 {
        bail!("--ctx must be at least 4");
    }
    let n_batch = args.batch.unwrap_or(args.ctx.min(512)).min(args.ctx);
    if n_batch == 0 {
        bail!("--batch must be at least 1");
    }
    let bytes = std::fs::read(&args.file)
        .with_context(|| format!("{}: cannot read", args.file.display()))?;
    let text = String::from_utf8(bytes).map_err(|e| {
        anyhow::anyhow!(
            "{}: not valid UTF-8 (invalid byte at offset {})",
            args.file.display(),
            e.utf8_error().valid_up_to()
        )
    })?;
    let mapped = Mapped::resolve(&args.model)?;
    let m = mapped.open()?;
    let tokens = m.tokenizer.encode(
        &text,
        EncodeOptions {
            add_special: true,
            parse_special: false,
        },
    )?;
    let bos = if m.tokenizer.add_bos() {
        m.tokenizer.bos_id()
    } else {
        None
    };
    let opts = SessionOptions {
        n_ctx: args.ctx,
        n_batch,
        n_threads,
        ..SessionOptions::default()
    };
    let backend = Backend::open(&args.backend.backend, &m.model)?;
    let mut session = backend.session(&m.model, opts)?;
    let n_vocab = m.model.config.n_vocab;
    let rows = (args.ctx - args.ctx / 2 - 1).clamp(1, MAX_ROWS.min(n_batch));
    let mut buf = vec![0f32; rows * n_vocab];
    let t0 = Instant::now();
    if !args.json {
        eprintln!(
            "{}: {} tokens, {} chunks of {}, {}",
            args.file.display(),
            tokens.len(),
            tokens.len() / args.ctx,
            args.ctx,
            if session.is_gpu() {
                session.backend_name()
            } else {
                format!("{n_threads} threads")
            }
        );
    }
    let json = args.json;
    let r = perplexity(&mut session, &tokens, bos, &mut buf, None, &mut |i, p| {
        if !json {
            eprint!("[{}]{p:.4},", i + 1);
        }
    })?;
    let secs = t0.elapsed().as_secs_f64();
    if json {
        let v = serde_json::json!({
            "ppl": r.ppl,
            "ppl_stderr": r.ppl_stderr,
            "chunks": r.n_chunks,
            "ctx": r.n_ctx,
            "batch": n_batch,
            "n_tokens": tokens.len(),
            "n_scored": r.n_scored,
            "backend": session.backend_name(),
            "running_ppl_per_chunk": r.running,
            "seconds": secs,
        });
        println!("{v}");
    } else {
        eprintln!();
        println!(
            "PPL = {:.4} +/- {:.5} ({} chunks of {}, {:.1} s)",
            r.ppl, r.ppl_stderr, r.n_chunks, r.n_ctx, secs
        );
    }
    Ok(())
}

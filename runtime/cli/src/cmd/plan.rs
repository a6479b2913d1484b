//! `bague plan MODEL --board ring|hearing|phone|car [--ctx N] [--json]`: the memory a run
//! of MODEL needs on a board, from the GGUF header alone, before anything is allocated —
//! and whether it fits, by how many bytes, and the largest context that does.
//!
//! Decisions:
//! - The plan is the core's [`MemoryPlan`] for the board's session options (its batch size
//!   and threads, an f16 KV cache unless `--kv-type` says otherwise); RAM is
//!   [`MemoryPlan::ram_bytes`] (tokenizer tables, KV cache, work buffers, the generation
//!   loop), plus the mapped file on an mmap board. An XIP board must also hold the whole
//!   file in its weight memory.
//! - `--ctx` defaults to the model's training context, at most 4096, as `bague run` does.
//! - The board numbers come from the core's table ([`bague::board::KNOWN`]); `phone` and
//!   `car` are class budgets until their board crates exist.
//! - Pointer-sized tables (the tokenizer's borrowed texts) are counted at this host's
//!   pointer width: on a 32-bit MCU they take half as much, so the plan printed here is an
//!   upper bound there, and the firmware recomputes the exact one itself.
//! - Exit code 0 whether or not the model fits (the answer is the output); errors (no
//!   such file, a bad header, an unknown board) exit 1.

use anyhow::{Context, Result, anyhow};
use bague::board::{BoardSpec, WeightSource};
use bague::session::Fit;
use bague::gguf::File;
use bague::loader::MappedFile;
use bague::model::{Config, KvType};
use bague::session::{MemoryPlan, SessionOptions};
use serde_json::json;

use crate::models::resolve_model;

/// Most context `plan` searches for the largest fitting context.
const MAX_CTX_SEARCH: usize = 1 << 24;

/// Arguments of `bague plan`.
#[derive(clap::Args)]
pub struct Args {
    /// A GGUF file, or a model id (see `bague list`).
    model: String,
    /// The board: ring, hearing, phone or car.
    #[arg(long)]
    board: String,
    /// Context length in tokens (default: the model's training context, at most 4096).
    #[arg(long)]
    ctx: Option<usize>,
    /// KV cache type: f16 or q8_0.
    #[arg(long, default_value = "f16", value_parser = crate::options::parse_kv_type)]
    kv_type: KvType,
    /// Print one JSON object: model, file_bytes, board {name, about, ram_bytes, weights,
    /// xip_bytes, threads, n_batch, kernels}, n_ctx, plan {weights_mapped, kv_cache,
    /// scratch, generator, tokenizer, tokenizer_load, index, session, heap, ram_bytes}, fit
    /// {fits, ram_need, ram_budget, ram_over, flash_need, flash_budget, flash_over},
    /// largest_ctx (null when not even one position fits).
    #[arg(long)]
    json: bool,
}

/// Runs `bague plan`.
pub fn run(args: Args) -> Result<()> {
    let board = BoardSpec::by_name(&args.board).ok_or_else(|| {
        anyhow!(
            "unknown board {:?}: the boards are {}",
            args.board,
            BoardSpec::names().collect::<Vec<_>>().join(", ")
        )
    })?;
    let path = resolve_model(&args.model)?;
    let map = MappedFile::open(&path).with_context(|| format!("opening {}", path.display()))?;
    let file = map
        .parse()
        .with_context(|| format!("{}: not a readable GGUF file", path.display()))?;
    let file_bytes = map.bytes().len() as u64;
    let cfg = Config::from_gguf(&file)?;
    let n_ctx = match args.ctx {
        Some(0) => anyhow::bail!("--ctx must be at least 1"),
        Some(n) => n,
        None => cfg.n_ctx_train.clamp(1, bague::bundle::DEFAULT_N_CTX_CAP),
    };
    let opts = board_options(board, n_ctx, args.kv_type);
    let plan = MemoryPlan::new(&file, &opts)?;
    let fit = plan.fit(board, file_bytes);
    let largest = MemoryPlan::largest_ctx(&file, &opts, board, file_bytes, MAX_CTX_SEARCH)?;
    if args.json {
        println!(
            "{}",
            to_json(&path, file_bytes, board, &opts, &plan, &fit, largest)
        );
    } else {
        print_text(
            &path.display().to_string(),
            &file,
            board,
            &opts,
            &plan,
            &fit,
            largest,
        );
    }
    Ok(())
}

/// The session options a board runs with at context `n_ctx`.
pub fn board_options(board: &BoardSpec, n_ctx: usize, kv_type: KvType) -> SessionOptions {
    SessionOptions {
        n_ctx,
        n_batch: board.n_batch.min(n_ctx),
        n_threads: board.threads,
        kv_type,
        ..SessionOptions::default()
    }
}

fn to_json(
    path: &std::path::Path,
    file_bytes: u64,
    board: &BoardSpec,
    opts: &SessionOptions,
    plan: &MemoryPlan,
    fit: &Fit,
    largest: Option<usize>,
) -> serde_json::Value {
    let (weights, xip_bytes) = match board.weights {
        WeightSource::Mmap => ("mmap", None),
        WeightSource::Xip { bytes } => ("xip", Some(bytes)),
    };
    json!({
        "model": path.display().to_string(),
        "file_bytes": file_bytes,
        "board": {
            "name": board.name, "about": board.about, "ram_bytes": board.ram_bytes,
            "weights": weights, "xip_bytes": xip_bytes, "threads": board.threads,
            "n_batch": opts.batch_size(), "kernels": board.kernels,
        },
        "n_ctx": opts.n_ctx,
        "plan": {
            "weights_mapped": plan.weights_mapped, "kv_cache": plan.kv_cache,
            "scratch": plan.scratch, "generator": plan.generator,
            "tokenizer": plan.tokenizer, "tokenizer_load": plan.tokenizer_load,
            "index": plan.index,
            "session": plan.session(), "heap": plan.heap(), "ram_bytes": plan.ram_bytes(),
        },
        "fit": {
            "fits": fit.fits(), "ram_need": fit.ram_need, "ram_budget": fit.ram_budget,
            "ram_over": fit.ram_over(), "flash_need": fit.flash_need,
            "flash_budget": fit.flash_budget, "flash_over": fit.flash_over(),
        },
        "largest_ctx": largest,
    })
}

fn print_text(
    path: &str,
    file: &File<'_>,
    board: &BoardSpec,
    opts: &SessionOptions,
    plan: &MemoryPlan,
    fit: &Fit,
    largest: Option<usize>,
) {
    let arch = file.get_str("general.architecture").unwrap_or("?");
    println!("model   {path} ({arch})");
    println!("board   {} — {}", board.name, board.about);
    println!(
        "session n_ctx {}, n_batch {}, {} thread(s), kernels {}",
        opts.n_ctx,
        opts.batch_size(),
        opts.n_threads,
        board.kernels
    );
    println!();
    let row = |what: &str, n: u64| println!("  {what:<34} {:>14}  {}", group(n), human(n));
    println!("RAM");
    row("KV cache", plan.kv_cache as u64);
    row("work buffers (activations, logits)", plan.scratch as u64);
    row("generation loop (sampler, ids)", plan.generator as u64);
    row("tokenizer tables", plan.tokenizer as u64);
    row("file and model index", plan.index as u64);
    if plan.tokenizer_load > plan.heap() {
        row("tokenizer load (transient, peak)", plan.tokenizer_load as u64);
    }
    if board.weights == WeightSource::Mmap {
        row("mapped file (page cache)", fit.ram_need - plan.ram_bytes());
    }
    row("total", fit.ram_need);
    row("budget", fit.ram_budget);
    if let WeightSource::Xip { .. } = board.weights {
        println!("weight memory (XIP, read in place)");
        row("GGUF file", fit.flash_need);
        row("budget", fit.flash_budget);
    }
    println!();
    if fit.fits() {
        println!(
            "fits: {} bytes of RAM to spare",
            group(fit.ram_budget - fit.ram_need)
        );
    } else {
        if fit.ram_over() > 0 {
            println!(
                "does not fit: RAM over by {} bytes ({})",
                group(fit.ram_over()),
                human(fit.ram_over())
            );
        }
        if fit.flash_over() > 0 {
            println!(
                "does not fit: weight memory over by {} bytes ({})",
                group(fit.flash_over()),
                human(fit.flash_over())
            );
        }
    }
    match largest {
        Some(n) => println!("largest context that fits: {n} tokens"),
        None => println!("largest context that fits: none (not even one token)"),
    }
}

/// `1234567` → `"1,234,567"`.
fn group(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Binary units, one decimal.
fn human(n: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if n < 1024 {
        return format!("{n} B");
    }
    let mut v = n as f64 / 1024.0;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < UNITS.len() {
        v /= 1024.0;
        u += 1;
    }
    format!("{v:.1} {}", UNITS[u])
}

//! `bague bench`: prefill and decode speed (tokens/s) as llama.cpp's `llama-bench` measures
//! them (definitions: [`bague::bench`]).
//!
//! The measuring and reporting code is shared with the `bague-bench-vs` runner of the
//! `bague-oracle` crate, which measures llama.cpp side by side in the same run; that binary
//! links llama.cpp, so the `bague` binary does not: `--vs-llama-cpp` runs it when it was
//! built next to `bague` (same target directory and profile) and says how to build it
//! otherwise.
//!
//! Peak RSS is this process's `VmHWM` after all runs (our engine is the only one here).

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, anyhow, bail};
use bague::bench::{self, BagueEngine, ModelInfo, Spec};
use bague::loader::MappedFile;
use bague::model::Model;

/// Name of the side-by-side runner (a binary of the `bague-oracle` crate).
const VS_BIN: &str = "bague-bench-vs";

/// Arguments of `bague bench`.
#[derive(clap::Args)]
pub struct Args {
    /// A GGUF file or a model id (see `bague list`).
    #[arg(long, short)]
    model: String,
    /// Prompt tokens of the prefill test (ppN, one batch); 0 skips it.
    #[arg(short = 'p', long = "n-prompt", default_value_t = 128)]
    n_prompt: usize,
    /// Decode steps of the decode test (tgN); 0 skips it.
    #[arg(short = 'n', long = "n-gen", default_value_t = 64)]
    n_gen: usize,
    /// Thread counts, comma-separated (default: the CPUs available to this process).
    #[arg(short = 't', long = "threads", value_delimiter = ',')]
    threads: Vec<usize>,
    /// Repetitions of each test.
    #[arg(short = 'r', long = "repetitions", default_value_t = 5)]
    reps: usize,
    /// Seed of the random prompt tokens.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Print a JSON array of rows instead of tables.
    #[arg(long)]
    json: bool,
    /// Measure llama.cpp too, interleaved in the same run (runs the bague-bench-vs binary).
    #[arg(long)]
    vs_llama_cpp: bool,
}

/// Runs `bague bench`.
pub fn run(args: Args) -> Result<()> {
    let path = crate::models::resolve_model(&args.model)?;
    let threads = if args.threads.is_empty() {
        vec![std::thread::available_parallelism().map_or(1, |n| n.get())]
    } else {
        args.threads.clone()
    };
    let spec = Spec {
        n_prompt: args.n_prompt,
        n_gen: args.n_gen,
        threads,
        reps: args.reps,
        seed: args.seed,
    };
    spec.check().map_err(|e| anyhow!("{e}"))?;
    if args.vs_llama_cpp {
        return run_vs(&args, &path, &spec);
    }

    let map =
        MappedFile::open(&path).with_context(|| format!("{}: cannot open", path.display()))?;
    let p = path.display();
    let file = map
        .parse()
        .with_context(|| format!("{p}: not a valid GGUF file"))?;
    let model = Model::from_gguf(&file).with_context(|| format!("{p}: cannot load the model"))?;
    let info = ModelInfo::from_gguf(&model_name(&path), &file).map_err(|e| anyhow!("{p}: {e}"))?;
    let mut engine = BagueEngine::new(&model, &spec);
    let quiet = args.json;
    let rows = bench::run(&mut [&mut engine], &info, &spec, |line| {
        if !quiet {
            eprintln!("bench: {line}");
        }
    })
    .map_err(|e| anyhow!("{p}: {e}"))?;
    let rss = [("bague".to_string(), bench::peak_rss_bytes())];
    if args.json {
        println!("{}", bench::to_json(&rows, &info, &rss));
    } else {
        print!("{}", bench::table(&rows, &info, &rss));
    }
    Ok(())
}

/// The model's name in reports: the file stem.
fn model_name(path: &Path) -> String {
    path.file_stem().map_or_else(
        || path.display().to_string(),
        |s| s.to_string_lossy().into(),
    )
}

/// `--vs-llama-cpp`: runs `bague-bench-vs` from this binary's directory with the same
/// arguments. Errors: that binary is missing (with the command that builds it), or fails.
fn run_vs(args: &Args, path: &Path, spec: &Spec) -> Result<()> {
    let vs = sibling(VS_BIN)?;
    if !vs.is_file() {
        bail!(
            "--vs-llama-cpp needs the {VS_BIN} binary, which links llama.cpp and so is not part \
             of `bague`; build it with `cargo build --release -p bague-oracle --bin {VS_BIN}` \
             (it was looked for at {})",
            vs.display()
        );
    }
    let threads: Vec<String> = spec.threads.iter().map(|t| t.to_string()).collect();
    let mut cmd = Command::new(&vs);
    cmd.arg("--model")
        .arg(path)
        .args(["-p", &spec.n_prompt.to_string()])
        .args(["-n", &spec.n_gen.to_string()])
        .args(["-t", &threads.join(",")])
        .args(["-r", &spec.reps.to_string()])
        .args(["--seed", &spec.seed.to_string()]);
    if args.json {
        cmd.arg("--json");
    }
    let status = cmd
        .status()
        .with_context(|| format!("cannot run {}", vs.display()))?;
    if !status.success() {
        bail!("{VS_BIN} failed ({status})");
    }
    Ok(())
}

/// `name` in the directory of the running executable.
fn sibling(name: &str) -> Result<PathBuf> {
    let exe = std::env::current_exe().context("cannot find the bague executable")?;
    let dir = exe
        .parent()
        .ok_or_else(|| anyhow!("{}: no parent directory", exe.display()))?;
    Ok(dir.join(format!("{name}{}", std::env::consts::EXE_SUFFIX)))
}

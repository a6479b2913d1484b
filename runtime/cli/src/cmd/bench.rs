//! `bague bench`: prefill and decode speed (tokens/s) as llama.cpp's `llama-bench` measures
//! them (definitions: the `bague-bench` crate).
//!
//! The measuring and reporting code and the arguments are shared with the `bague-bench-vs`
//! runner of the `bague-oracle` crate, which measures llama.cpp side by side in the same run;
//! that binary links llama.cpp, so the `bague` binary does not: `--vs-llama-cpp` runs it when
//! it was built next to `bague` (same target directory and profile) and says how to build it
//! otherwise.
//!
//! Peak RSS is this process's `VmHWM` after all runs (our engine is the only one here).
//!
//! `--json-schema FILE|JSON` measures constrained decoding instead ([`schema`]): grammar
//! compile time, mask time per token and the whole-token overhead against unconstrained
//! decoding, at each thread count.

#[cfg(feature = "grammar")]
mod schema;

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, anyhow, bail};
use bague::loader::MappedFile;
use bague::model::Model;
use bague::session::BackendChoice;
use bague_bench::{self as bench, BagueEngine, ModelInfo, Spec};

use crate::backend::{Backend, BackendArgs};

/// Name of the side-by-side runner (a binary of the `bague-oracle` crate).
const VS_BIN: &str = "bague-bench-vs";

/// Arguments of `bague bench`: the measurement's (shared with `bague-bench-vs`) and
/// `--vs-llama-cpp`.
#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    bench: bench::BenchArgs,
    /// Measure llama.cpp too, interleaved in the same run (runs the bague-bench-vs binary).
    #[arg(long)]
    vs_llama_cpp: bool,
    /// With --vs-llama-cpp: llama.cpp's flash attention (llama-bench's -fa) — off (its CPU
    /// default), on, or best (both measured, ours compared with the faster per test).
    /// Ours has one attention either way.
    #[arg(long = "flash-attn", value_enum, requires = "vs_llama_cpp")]
    flash_attn: Option<bench::FlashAttn>,
    /// Measure structured output instead: decoding constrained to this JSON schema (a file,
    /// or the schema itself) against unconstrained decoding, per token, up to -n tokens.
    #[arg(long, value_name = "FILE|JSON", conflicts_with = "vs_llama_cpp")]
    json_schema: Option<String>,
    #[command(flatten)]
    backend: BackendArgs,
}

/// Runs `bague bench`.
pub fn run(args: Args) -> Result<()> {
    let path = crate::models::resolve_model(&args.bench.model)?;
    let spec = args.bench.spec().map_err(|e| anyhow!("{e}"))?;
    if let Some(s) = &args.json_schema {
        if args.backend.backend != BackendChoice::Cpu {
            bail!("--json-schema measures on the CPU (give --backend cpu)");
        }
        return run_schema(&args.bench, &path, s, &spec);
    }
    if args.vs_llama_cpp {
        if args.backend.backend != BackendChoice::Cpu {
            bail!("--vs-llama-cpp measures the CPU backends (give --backend cpu)");
        }
        return run_vs(&args.bench, &path, &spec, args.flash_attn);
    }

    let map =
        MappedFile::open(&path).with_context(|| format!("{}: cannot open", path.display()))?;
    let p = path.display();
    let file = map
        .parse()
        .with_context(|| format!("{p}: not a valid GGUF file"))?;
    let model = Model::from_gguf(&file).with_context(|| format!("{p}: cannot load the model"))?;
    let info =
        ModelInfo::from_gguf(&bench::model_name(&path), &file).map_err(|e| anyhow!("{p}: {e}"))?;
    let backend = Backend::open(&args.backend.backend, &model)?;
    let mut engine = engine(&backend, &model, &spec);
    let quiet = args.bench.json;
    let rows = bench::run(&mut [&mut engine], &info, &spec, |line| {
        if !quiet {
            eprintln!("bench: {line}");
        }
    })
    .map_err(|e| anyhow!("{p}: {e}"))?;
    print_gpu_counts(&engine, &model, &spec);
    let rss = [("bague".to_string(), bench::peak_rss_bytes())];
    if args.bench.json {
        println!("{}", bench::to_json(&rows, &info, &rss));
    } else {
        print!("{}", bench::table(&rows, &info, &rss));
    }
    Ok(())
}

/// `--json-schema`: the constrained-decoding measurement.
#[cfg(feature = "grammar")]
fn run_schema(args: &bench::BenchArgs, path: &Path, schema: &str, spec: &Spec) -> Result<()> {
    let text = crate::constraint::schema_text(schema)?;
    let map =
        MappedFile::open(path).with_context(|| format!("{}: cannot open", path.display()))?;
    let bundle = bague::bundle::Bundle::load(map.bytes(), Default::default())
        .with_context(|| path.display().to_string())?;
    schema::run(
        &bundle,
        &bench::model_name(path),
        &text,
        &spec.threads,
        spec.reps,
        spec.n_gen,
        args.json,
    )
}

#[cfg(not(feature = "grammar"))]
fn run_schema(_: &bench::BenchArgs, _: &Path, _: &str, _: &Spec) -> Result<()> {
    bail!("--json-schema needs a bague built with the `grammar` feature")
}

/// Our engine on the chosen backend.
fn engine<'m, 'a>(backend: &'m Backend, model: &'m Model<'a>, spec: &Spec) -> BagueEngine<'m, 'a> {
    #[cfg(feature = "gpu")]
    if let Some(w) = backend.gpu() {
        return BagueEngine::on_gpu(model, w, spec);
    }
    let _ = backend;
    BagueEngine::new(model, spec)
}

/// On a GPU: what one decode token cost the device (the last step of the tg test), on
/// stderr: dispatches, compute passes, queue submissions, bytes read back.
fn print_gpu_counts(engine: &BagueEngine<'_, '_>, model: &Model<'_>, spec: &Spec) {
    #[cfg(feature = "gpu")]
    if let Some(s) = engine.session_ref().filter(|s| s.is_gpu()) {
        let Some((last, total)) = s.gpu_stats() else {
            return;
        };
        let n_layer = model.config.n_layer;
        if spec.n_gen > 0 {
            eprintln!(
                "bague bench: {}: per decode token {} dispatches ({n_layer} layers: {:.1} per layer, \
                 the rest embedding, output matrix and argmax), {} compute pass, {} queue submission, \
                 {} bytes read back",
                s.backend_name(),
                last.dispatches,
                last.dispatches.saturating_sub(3) as f64 / n_layer.max(1) as f64,
                last.passes,
                last.submissions,
                last.bytes_read
            );
        }
        eprintln!(
            "bague bench: {}: whole run {} dispatches, {} submissions, {} bytes read back",
            s.backend_name(),
            total.dispatches,
            total.submissions,
            total.bytes_read
        );
    }
    let _ = (engine, model, spec);
}

/// `--vs-llama-cpp`: runs `bague-bench-vs` from this binary's directory with the same
/// measurement (the model as the resolved path, the thread counts as resolved) and
/// llama.cpp's flash-attention setting when given. Errors:
/// that binary is missing (with the command that builds it), or fails.
fn run_vs(
    args: &bench::BenchArgs,
    path: &Path,
    spec: &Spec,
    flash_attn: Option<bench::FlashAttn>,
) -> Result<()> {
    let vs = sibling(VS_BIN)?;
    if !vs.is_file() {
        bail!(
            "--vs-llama-cpp needs the {VS_BIN} binary, which links llama.cpp and so is not part \
             of `bague`; build it with `cargo build --release -p bague-oracle --bin {VS_BIN}` \
             (it was looked for at {})",
            vs.display()
        );
    }
    let same = bench::BenchArgs {
        threads: spec.threads.clone(),
        ..args.clone()
    };
    let status = Command::new(&vs)
        .args(same.command_line(path.as_os_str()))
        .args(flash_attn.map(|fa| ["--flash-attn", fa.as_str()]).into_iter().flatten())
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

//! `bague-bench-vs`: `bague bench` with llama.cpp measured side by side, in the same process
//! and run, on the same file, tokens and thread counts, interleaved per repetition (see
//! [`bague_bench`] for the definitions), then the ratio bague / llama.cpp per figure. Its
//! measurement arguments are `bague bench`'s ([`bague_bench::BenchArgs`]).
//!
//! ```text
//! cargo run --release -p bague-oracle --bin bague-bench-vs -- \
//!     --model qwen2.5-coder-0.5b-instruct-q4_k_m -p 128 -n 64 -t 1,2 -r 5 [--json]
//! ```
//!
//! Peak RSS per engine: both engines live in one process during the run, so its `VmHWM`
//! cannot tell them apart. Before the run, this binary starts itself once per engine
//! (`--rss-probe ENGINE`): the child loads only that engine, runs one repetition of every
//! test at the largest thread count and prints its own `VmHWM`. `--no-rss` skips the probes.
//!
//! `--flash-attn off|on|best` runs llama.cpp with flash attention off (default, its CPU
//! default), on (engine `llama.cpp -fa`), or both, interleaved like two engines, and then
//! compares ours with the faster of the two per test (`llama.cpp best`; its backend column
//! names the setting that won). Our engine has one attention either way.
//!
//! llama.cpp is the oracle crate's build (`GGML_NATIVE=OFF`: AVX2/FMA/F16C on x86, see the
//! crate docs); `GGML_AVX512=ON` etc. in the environment of the build give a native one.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use bague::loader::MappedFile;
use bague::model::Model;
use bague_bench::{self as bench, BagueEngine, BoxError, Engine, FlashAttn, ModelInfo, Spec};
use bague_oracle::bench::LlamaEngine;
use clap::Parser;

/// bague vs llama.cpp: prefill (ppP) and decode (tgN) tokens/s, interleaved, same run.
#[derive(Parser)]
#[command(name = "bague-bench-vs")]
struct Args {
    #[command(flatten)]
    bench: bench::BenchArgs,
    /// Do not measure each engine's peak RSS in a child process.
    #[arg(long)]
    no_rss: bool,
    /// llama.cpp's thread pool poll level (llama-bench --poll: 0 = workers sleep at once,
    /// 50 = its default, spin a while first).
    #[arg(long, default_value_t = 50)]
    poll: u32,
    /// llama.cpp's flash attention (llama-bench's -fa): off, on, or best (both measured,
    /// ours compared with the faster per test).
    #[arg(long = "flash-attn", value_enum, default_value_t = FlashAttn::Off)]
    flash_attn: FlashAttn,
    /// Measure one engine only (`bague` | `llama.cpp`, which means every llama.cpp
    /// setting `--flash-attn` asks for), e.g. under a profiler.
    #[arg(long, value_name = "ENGINE")]
    only: Option<String>,
    /// Internal: run only this engine (`bague` | `llama.cpp` | `llama.cpp -fa`) once, print
    /// its peak RSS.
    #[arg(long, hide = true)]
    rss_probe: Option<String>,
}

fn main() -> ExitCode {
    match run(Args::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bague-bench-vs: error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// A path as given, or `$BAGUE_HOME/models/ID.gguf` for a model id.
fn resolve(arg: &str) -> Result<PathBuf, BoxError> {
    let p = Path::new(arg);
    if p.is_file() {
        return Ok(p.to_path_buf());
    }
    let home = std::env::var_os("BAGUE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/bague")))
        .ok_or("neither BAGUE_HOME nor HOME is set")?;
    let p = home.join("models").join(format!("{arg}.gguf"));
    if p.is_file() {
        Ok(p)
    } else {
        Err(format!(
            "{arg}: no such file, and no {} (run `bague pull {arg}`)",
            p.display()
        )
        .into())
    }
}

fn run(args: Args) -> Result<(), BoxError> {
    let path = resolve(&args.bench.model)?;
    let name = bench::model_name(&path);
    let spec = args.bench.spec()?;
    if spec.kv_type != bague::model::KvType::F16 {
        return Err("--cache-type: llama.cpp is measured with an f16 KV cache only".into());
    }
    let n_batch = spec.n_batch();
    let p = path.display();

    if let Some(engine) = &args.rss_probe {
        return rss_probe(engine, &path, &name, &spec, n_batch, args.poll);
    }
    // The llama.cpp settings measured: flash attention off, on, or both.
    let fa_settings: &[bool] = match args.flash_attn {
        FlashAttn::Off => &[false],
        FlashAttn::On => &[true],
        FlashAttn::Best => &[false, true],
    };
    let measure_ours = match args.only.as_deref() {
        None | Some("bague") => true,
        Some("llama.cpp") => false,
        Some(other) => return Err(format!("--only {other:?}: bague or llama.cpp").into()),
    };
    let measure_theirs = args.only.as_deref() != Some("bague");
    let mut names: Vec<&str> = Vec::new();
    if measure_ours {
        names.push("bague");
    }
    if measure_theirs {
        names.extend(fa_settings.iter().map(|&fa| peer_name(fa)));
    }

    let rss = if args.no_rss {
        names.iter().map(|e| (e.to_string(), None)).collect()
    } else {
        let max_t = spec.threads.iter().copied().max().unwrap_or(1);
        names
            .iter()
            .map(|e| {
                Ok((
                    e.to_string(),
                    Some(probe_child(e, &args.bench, &path, max_t, args.poll)?),
                ))
            })
            .collect::<Result<Vec<_>, BoxError>>()?
    };

    let load_before = loadavg();
    let map = MappedFile::open(&path).map_err(|e| format!("{p}: {e}"))?;
    let file = map.parse().map_err(|e| format!("{p}: {e}"))?;
    let model = Model::from_gguf(&file).map_err(|e| format!("{p}: {e}"))?;
    let info = ModelInfo::from_gguf(&name, &file)?;
    let mut ours = BagueEngine::new(&model, &spec);
    let mut theirs = Vec::new();
    for &fa in fa_settings {
        let mut e = LlamaEngine::load(&path, spec.n_ctx(), n_batch)?;
        e.set_poll(args.poll);
        e.set_flash_attn(fa);
        theirs.push(e);
    }
    let their_info = theirs[0].info(&name)?;
    if their_info.n_vocab != info.n_vocab {
        return Err(format!(
            "vocabulary sizes differ: bague {}, llama.cpp {}",
            info.n_vocab, their_info.n_vocab
        )
        .into());
    }
    let quiet = args.bench.json;
    let mut engines: Vec<&mut dyn Engine> = Vec::new();
    if measure_ours {
        engines.push(&mut ours);
    }
    if measure_theirs {
        engines.extend(theirs.iter_mut().map(|e| e as &mut dyn Engine));
    }
    let mut rows = bench::run(&mut engines, &info, &spec, |line| {
        if !quiet {
            eprintln!("bench: {line}");
        }
    })?;
    // With both settings: the peer at its best per test, compared with ours.
    let compared = if args.flash_attn == FlashAttn::Best && measure_theirs {
        let best = bench::best_of(
            &rows,
            &[peer_name(false), peer_name(true)],
            "llama.cpp best",
        );
        let mut pair: Vec<_> = rows
            .iter()
            .filter(|r| r.engine == "bague")
            .cloned()
            .collect();
        pair.extend(best.iter().cloned());
        rows.extend(best);
        pair
    } else {
        rows.clone()
    };
    if args.bench.json {
        println!("{}", bench::to_json(&rows, &info, &rss));
        return Ok(());
    }
    println!(
        "model {p}: {} bytes of tensors (llama.cpp counts {}), {} params",
        info.size_bytes, their_info.size_bytes, info.n_params
    );
    println!(
        "llama.cpp: thread pool poll level {}, flash attention {}",
        args.poll,
        match args.flash_attn {
            FlashAttn::Off => "off",
            FlashAttn::On => "on",
            FlashAttn::Best => "off and on (`llama.cpp best`: the faster per test)",
        }
    );
    println!(
        "load average (1/5/15 min) before: {load_before}, after: {}",
        loadavg()
    );
    println!();
    print!("{}", bench::table(&rows, &info, &rss));
    println!();
    print!("{}", bench::ratio_table(&compared));
    Ok(())
}

/// The llama.cpp engine's name with flash attention `fa` ([`LlamaEngine`]'s `name()`).
fn peer_name(fa: bool) -> &'static str {
    if fa { "llama.cpp -fa" } else { "llama.cpp" }
}

/// `/proc/loadavg`'s first three fields, or `"?"`.
fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|| "?".into())
}

/// Runs this binary with `--rss-probe engine` (one repetition at `threads` threads) and
/// reads the peak RSS it prints.
fn probe_child(
    engine: &str,
    args: &bench::BenchArgs,
    path: &Path,
    threads: usize,
    poll: u32,
) -> Result<u64, BoxError> {
    let exe = std::env::current_exe()?;
    let once = bench::BenchArgs {
        threads: vec![threads],
        reps: 1,
        json: false,
        ..args.clone()
    };
    let out = Command::new(exe)
        .arg("--rss-probe")
        .arg(engine)
        .args(once.command_line(path.as_os_str()))
        .args(["--poll", &poll.to_string()])
        .output()?;
    if !out.status.success() {
        return Err(format!(
            "peak RSS probe of {engine} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )
        .into());
    }
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines()
        .find_map(|l| l.strip_prefix("peak_rss_bytes ")?.trim().parse().ok())
        .ok_or_else(|| format!("peak RSS probe of {engine} printed no figure").into())
}

/// The child side of [`probe_child`]: only `engine` is loaded and run (one repetition).
fn rss_probe(
    engine: &str,
    path: &Path,
    name: &str,
    spec: &Spec,
    n_batch: usize,
    poll: u32,
) -> Result<(), BoxError> {
    let p = path.display();
    match engine {
        "bague" => {
            let map = MappedFile::open(path).map_err(|e| format!("{p}: {e}"))?;
            let file = map.parse().map_err(|e| format!("{p}: {e}"))?;
            let model = Model::from_gguf(&file).map_err(|e| format!("{p}: {e}"))?;
            let info = ModelInfo::from_gguf(name, &file)?;
            let mut e = BagueEngine::new(&model, spec);
            bench::run(&mut [&mut e], &info, spec, |_| {})?;
        }
        "llama.cpp" | "llama.cpp -fa" => {
            let mut e = LlamaEngine::load(path, spec.n_ctx(), n_batch)?;
            e.set_poll(poll);
            e.set_flash_attn(engine == peer_name(true));
            let info = e.info(name)?;
            bench::run(&mut [&mut e], &info, spec, |_| {})?;
        }
        other => return Err(format!("unknown engine {other:?}").into()),
    }
    let rss = bench::peak_rss_bytes().ok_or("no /proc/self/status here")?;
    println!("peak_rss_bytes {rss}");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    /// The flags (ours and the flattened `bague_bench::BenchArgs`) make one valid command,
    /// and the command line `bague bench --vs-llama-cpp` builds parses.
    #[test]
    fn arguments_parse() {
        Args::command().debug_assert();
        let mut line = vec!["bague-bench-vs".into()];
        let bench = bench::BenchArgs {
            model: "m".into(),
            n_prompt: 8,
            n_gen: 4,
            threads: vec![1, 2],
            depths: vec![0, 512],
            cache_type: bague::model::KvType::F16,
            reps: 3,
            seed: 7,
            json: true,
        };
        line.extend(bench.command_line("/x/m.gguf".as_ref()));
        line.extend(["--poll".into(), "0".into()]);
        line.extend(["--flash-attn".into(), "best".into()]);
        let a = Args::try_parse_from(line).unwrap();
        assert_eq!(a.flash_attn, FlashAttn::Best);
        assert_eq!(
            a.bench,
            bench::BenchArgs {
                model: "/x/m.gguf".into(),
                ..bench
            }
        );
        assert_eq!(a.poll, 0);
    }
}

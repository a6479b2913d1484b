//! The command-line arguments of a measurement, defined once for `bague bench` and
//! `bague-bench-vs` (each flattens [`BenchArgs`] into its own clap command and adds its own
//! flags), and turned back into a command line when one runs the other.

use std::ffi::{OsStr, OsString};
use std::path::Path;

use bague::model::KvType;

use crate::{BoxError, Spec};

/// What to measure, as `llama-bench`'s flags name it (`-m`, `-p`, `-n`, `-t`, `-r`).
#[derive(Clone, Debug, PartialEq, Eq, clap::Args)]
pub struct BenchArgs {
    /// A GGUF file or a model id (see `bague list`; ids are looked up in
    /// $BAGUE_HOME/models, default ~/.cache/bague/models).
    #[arg(long, short)]
    pub model: String,
    /// Prompt tokens of the prefill test (ppP, one batch); 0 skips it.
    #[arg(short = 'p', long = "n-prompt", default_value_t = 128)]
    pub n_prompt: usize,
    /// Decode steps of the decode test (tgN); 0 skips it.
    #[arg(short = 'n', long = "n-gen", default_value_t = 64)]
    pub n_gen: usize,
    /// Thread counts, comma-separated (default: the CPUs available to this process).
    #[arg(short = 't', long = "threads", value_delimiter = ',')]
    pub threads: Vec<usize>,
    /// KV-cache depths, comma-separated: each test runs after this many tokens already in
    /// the cache (llama-bench's `-d`; `tg64 @ d2048`). Default 0: the plain tests.
    #[arg(
        short = 'd',
        long = "n-depth",
        value_delimiter = ',',
        default_value = "0"
    )]
    pub depths: Vec<usize>,
    /// KV cache type of our engine: `f16` (llama.cpp's default) or `q8_0` (llama-bench's
    /// `-ctk`/`-ctv`; `bague-bench-vs` measures f16 only).
    #[arg(long = "cache-type", default_value = "f16", value_parser = parse_kv_type)]
    pub cache_type: KvType,
    /// Repetitions of each test.
    #[arg(short = 'r', long = "repetitions", default_value_t = 5)]
    pub reps: usize,
    /// Seed of the random prompt tokens.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Print a JSON array of rows instead of tables.
    #[arg(long)]
    pub json: bool,
}

impl BenchArgs {
    /// The measurement these arguments ask for; no thread count given means one run with
    /// as many threads as the CPUs available to this process.
    /// Errors: those of [`Spec::check`] (no test, a zero thread count, 0 repetitions).
    pub fn spec(&self) -> Result<Spec, BoxError> {
        let threads = if self.threads.is_empty() {
            vec![std::thread::available_parallelism().map_or(1, |n| n.get())]
        } else {
            self.threads.clone()
        };
        let spec = Spec {
            n_prompt: self.n_prompt,
            n_gen: self.n_gen,
            threads,
            reps: self.reps,
            seed: self.seed,
            depths: self.depths.clone(),
            kv_type: self.cache_type,
        };
        spec.check()?;
        Ok(spec)
    }

    /// These arguments as a command line (`--model MODEL -p P -n N -t T,… -d D,… -r R --seed S
    /// [--json]`) that parses back to them, with `model` given for `--model` (a path the
    /// caller resolved `self.model` to, which need not be UTF-8).
    pub fn command_line(&self, model: &OsStr) -> Vec<OsString> {
        let mut v: Vec<OsString> = vec!["--model".into(), model.into()];
        let mut flag = |name: &str, value: String| {
            v.push(name.into());
            v.push(value.into());
        };
        flag("-p", self.n_prompt.to_string());
        flag("-n", self.n_gen.to_string());
        if !self.threads.is_empty() {
            let t: Vec<String> = self.threads.iter().map(ToString::to_string).collect();
            flag("-t", t.join(","));
        }
        let d: Vec<String> = self.depths.iter().map(ToString::to_string).collect();
        flag("-d", d.join(","));
        if self.cache_type != KvType::F16 {
            flag("--cache-type", kv_name(self.cache_type).into());
        }
        flag("-r", self.reps.to_string());
        flag("--seed", self.seed.to_string());
        if self.json {
            v.push("--json".into());
        }
        v
    }
}

/// llama.cpp's flash attention in a side-by-side run (llama-bench's `-fa`). Our engine has
/// one attention (llama.cpp's non-flash order, whose bits it keeps), so this only chooses how
/// the peer runs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum FlashAttn {
    /// Off (llama.cpp's CPU default; the README's figures).
    #[default]
    Off,
    /// On.
    On,
    /// Both, interleaved like two engines, and the faster of the two per test compared with
    /// ours (the peer at its best).
    Best,
}

impl FlashAttn {
    /// The value as `--flash-attn` takes it.
    pub fn as_str(self) -> &'static str {
        match self {
            FlashAttn::Off => "off",
            FlashAttn::On => "on",
            FlashAttn::Best => "best",
        }
    }
}

/// `f16` | `q8_0` (case-insensitive).
fn parse_kv_type(s: &str) -> Result<KvType, String> {
    KvType::from_name(s).ok_or_else(|| format!("unknown KV cache type {s:?} (f16 or q8_0)"))
}

/// The name `--cache-type` takes for `t`.
fn kv_name(t: KvType) -> &'static str {
    match t {
        KvType::F16 => "f16",
        KvType::Q8_0 => "q8_0",
    }
}

/// A model's name in reports: the file stem (`smollm2-135m-instruct-q4_1` for
/// `…/smollm2-135m-instruct-q4_1.gguf`), or the whole path if it has none.
pub fn model_name(path: &Path) -> String {
    path.file_stem().map_or_else(
        || path.display().to_string(),
        |s| s.to_string_lossy().into(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    /// A command as `bague bench` and `bague-bench-vs` have it: named `Args` (clap names
    /// a derived argument group after its struct: the two must differ), with a flag of its own.
    #[derive(Parser)]
    struct Args {
        #[command(flatten)]
        bench: BenchArgs,
        #[arg(long)]
        other: bool,
    }

    fn parse(line: &[&str]) -> Result<BenchArgs, clap::Error> {
        Args::try_parse_from(std::iter::once("x").chain(line.iter().copied())).map(|c| c.bench)
    }

    #[test]
    fn flattens_into_a_command() {
        use clap::CommandFactory;
        Args::command().debug_assert();
        let a = Args::try_parse_from(["x", "-m", "m", "--other", "-t", "2"]).unwrap();
        assert!(a.other);
        assert_eq!(a.bench.threads, [2]);
    }

    #[test]
    fn defaults_are_llama_bench_s() {
        let a = parse(&["-m", "m.gguf"]).unwrap();
        assert_eq!((a.n_prompt, a.n_gen, a.reps, a.seed), (128, 64, 5, 1));
        assert_eq!(a.depths, [0]);
        assert!(a.threads.is_empty() && !a.json);
        let spec = a.spec().unwrap();
        assert_eq!(spec.threads.len(), 1);
        assert!(spec.threads[0] >= 1);
    }

    #[test]
    fn command_line_parses_back() {
        for line in [
            &[
                "--model", "a b.gguf", "-p", "0", "-n", "3", "-t", "1,2", "--json",
            ][..],
            &["-m", "id", "-r", "2", "--seed", "9"],
            &["-m", "id", "-d", "0,512,2048", "-n", "8", "-p", "0"],
            &["-m", "id", "--cache-type", "q8_0"],
        ] {
            let a = parse(line).unwrap();
            let back: Vec<OsString> = std::iter::once(OsString::from("x"))
                .chain(a.command_line(OsStr::new(&a.model)))
                .collect();
            assert_eq!(Args::try_parse_from(back).unwrap().bench, a, "{line:?}");
        }
        let a = parse(&["-m", "id"]).unwrap();
        let line = a.command_line(OsStr::new("/cache/id.gguf"));
        assert_eq!(
            line[..2],
            [OsString::from("--model"), "/cache/id.gguf".into()]
        );
    }

    #[test]
    fn bad_values_are_errors() {
        assert!(parse(&["-m", "x", "-t", "1,0"]).unwrap().spec().is_err());
        assert!(
            parse(&["-m", "x", "-p", "0", "-n", "0"])
                .unwrap()
                .spec()
                .is_err()
        );
        assert!(parse(&["-m", "x", "-r", "0"]).unwrap().spec().is_err());
        assert!(parse(&["-m", "x", "-t", "two"]).is_err());
        assert!(parse(&[]).is_err());
    }

    #[test]
    fn model_name_is_the_stem() {
        assert_eq!(model_name(Path::new("/a/b/qwen.q4.gguf")), "qwen.q4");
        assert_eq!(model_name(Path::new("/")), "/");
    }
}

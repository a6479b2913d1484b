//! Speed measurement: prefill and decode tokens per second as `llama-bench` defines them,
//! for one or several engines run side by side in the same process.
//!
//! Shared by `bague bench` (our engine alone) and the `bague-bench-vs` runner of the
//! `bague-oracle` crate (our engine and llama.cpp, interleaved), which also share their
//! command-line arguments ([`BenchArgs`]). An engine is anything that implements [`Engine`];
//! [`BagueEngine`] is ours. A std crate of its own: it reads `/proc`, formats tables and
//! parses arguments, none of which belongs in the `no_std` core.
//!
//! Definitions (those of llama.cpp's `tools/llama-bench`):
//! - `ppP` (prefill): clear the KV cache, then run `P` prompt tokens as **one batch**; the
//!   time covers that forward pass only. The tokens are random (`uniform % n_vocab`), the
//!   first one BOS when the vocabulary adds BOS. tok/s = `P / time`.
//! - `tgN` (decode): clear the KV cache, then `N` single-token steps starting from an empty
//!   context (first token BOS or random, then random tokens); the time covers all `N` steps.
//!   tok/s = `N / time`.
//! - `-d DEPTH` (llama-bench's `n_depth`, several values allowed): before each timed test the
//!   KV cache is cleared and filled with `DEPTH` random tokens (untimed, in batches of
//!   [`Spec::n_batch`]); the test then runs at positions `DEPTH..`: `ppP @ dDEPTH` times a
//!   `P`-token batch over a cache of `DEPTH` tokens, `tgN @ dDEPTH` `N` decode steps after them.
//!   Depth 0 is the plain test (named `ppP` / `tgN`).
//! - Before measuring, each engine runs one untimed warmup: a `ppP` pass and a 1-token
//!   decode (as `llama-bench` does), per thread count.
//! - Each figure is the mean ± sample standard deviation (`n - 1`) of the per-repetition
//!   tok/s values.
//! - Besides wall time (the figure `llama-bench` reports), the process's CPU time over the
//!   same interval is read (Linux: the run time of every thread in `/proc/self/task/*/schedstat`,
//!   in ns) and reported as tokens per CPU-second. On a loaded machine wall time measures
//!   the share of the CPU a run got; with one thread, CPU time measures the work itself.
//!   With several threads it also counts the time workers spin while waiting.
//!
//! Interleaving: for every repetition and test, each engine runs once, on the same tokens,
//! one after the other, so machine noise (other processes, frequency changes) hits all of
//! them. The order alternates between repetitions (A B, B A, A B, …) so that neither engine
//! always runs on a cache warmed by the other.

use std::time::Instant;

use bague::gguf::File;
use bague::model::{KvType, Model};
use bague::session::{Session, SessionOptions};

mod args;
mod report;
pub use args::{BenchArgs, FlashAttn, model_name};
pub use report::{best_of, ratio_table, table, to_json};

/// Errors of an engine or of the runner (any error type, boxed).
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// An inference engine the runner can time. Calls come in this order: `set_threads`, then
/// any number of `clear` / `prefill` / `decode`; `set_threads` may come again.
pub trait Engine {
    /// Engine name in reports: `"bague"`, `"llama.cpp"`.
    fn name(&self) -> &str;
    /// The kernel path / instruction set it runs with (`"avx2"`, `"CPU: AVX2 FMA …"`).
    fn backend(&self) -> String;
    /// Use `n` threads from now on (may rebuild the context; the KV cache is then empty).
    fn set_threads(&mut self, n: usize) -> Result<(), BoxError>;
    /// Forget every token: the next `prefill` / `decode` is at position 0.
    fn clear(&mut self) -> Result<(), BoxError>;
    /// Run `tokens` (ids `< n_vocab`) as one batch at the next positions; returns when the
    /// last token's logits are computed.
    fn prefill(&mut self, tokens: &[u32]) -> Result<(), BoxError>;
    /// Run one token at the next position; returns when its logits are computed.
    fn decode(&mut self, token: u32) -> Result<(), BoxError>;
}

/// What is measured.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Spec {
    /// Prompt tokens of the prefill test (`ppP`); 0 skips it.
    pub n_prompt: usize,
    /// Decode steps of the decode test (`tgN`); 0 skips it.
    pub n_gen: usize,
    /// Thread counts, each measured in turn.
    pub threads: Vec<usize>,
    /// Repetitions per test (at least 1).
    pub reps: usize,
    /// Seed of the random prompt tokens.
    pub seed: u64,
    /// KV-cache depths the tests run at (tokens already in the cache), each in turn; `[0]`
    /// for the plain tests.
    pub depths: Vec<usize>,
    /// KV cache type (of our engine).
    pub kv_type: KvType,
}

/// Most tokens per batch when filling the KV cache to a depth (llama-bench's default
/// `n_batch`).
const DEPTH_BATCH: usize = 512;

impl Spec {
    /// Context length an engine needs for this spec (the deepest depth plus `max(P, N)`, at
    /// least 1).
    pub fn n_ctx(&self) -> usize {
        let depth = self.depths.iter().copied().max().unwrap_or(0);
        depth.saturating_add(self.n_prompt.max(self.n_gen)).max(1)
    }

    /// Tokens per batch an engine must accept: the whole prompt (one batch), and the
    /// chunks the KV cache is filled with (up to 512 tokens) when a depth is measured.
    pub fn n_batch(&self) -> usize {
        let depth = self.depths.iter().copied().max().unwrap_or(0);
        self.n_prompt
            .max(depth.min(DEPTH_BATCH))
            .clamp(1, self.n_ctx())
    }

    /// Checks the spec. Errors: no test, no thread count, a zero thread count, 0 reps.
    pub fn check(&self) -> Result<(), BoxError> {
        if self.n_prompt == 0 && self.n_gen == 0 {
            return Err("nothing to measure: -p and -n are both 0".into());
        }
        if self.threads.is_empty() || self.threads.contains(&0) {
            return Err("thread counts must be at least 1".into());
        }
        if self.reps == 0 {
            return Err("repetitions must be at least 1".into());
        }
        if self.depths.is_empty() {
            return Err("no depth to measure at (give -d 0 for the plain tests)".into());
        }
        Ok(())
    }
}

/// The model being measured, as reports name it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModelInfo {
    /// Short name (the file stem).
    pub name: String,
    /// Bytes of all tensor data (llama.cpp's `llama_model_size`).
    pub size_bytes: u64,
    /// Number of weights in all tensors (llama.cpp's `llama_model_n_params`).
    pub n_params: u64,
    /// Vocabulary size: random tokens are drawn below it.
    pub n_vocab: u32,
    /// BOS id when the vocabulary adds BOS (`tokenizer.ggml.add_bos_token`), else `None`.
    pub bos: Option<u32>,
}

impl ModelInfo {
    /// Reads size, parameter count, vocabulary size and BOS from a parsed GGUF file.
    /// Errors: no `tokenizer.ggml.tokens` array (vocabulary size unknown).
    pub fn from_gguf(name: &str, file: &File<'_>) -> Result<ModelInfo, BoxError> {
        let (mut size_bytes, mut n_params) = (0u64, 0u64);
        for t in file.tensors() {
            size_bytes = size_bytes.saturating_add(t.n_bytes());
            n_params = n_params.saturating_add(t.n_elements());
        }
        let n_vocab = file
            .get_array("tokenizer.ggml.tokens")
            .map_err(|e| format!("vocabulary size: {e}"))?
            .len();
        let n_vocab = u32::try_from(n_vocab).map_err(|_| "vocabulary too large")?;
        if n_vocab == 0 {
            return Err("empty vocabulary".into());
        }
        let add_bos = file
            .get_bool("tokenizer.ggml.add_bos_token")
            .unwrap_or(false);
        let bos = file
            .get_u32("tokenizer.ggml.bos_token_id")
            .ok()
            .filter(|&b| add_bos && b < n_vocab);
        Ok(ModelInfo {
            name: name.to_string(),
            size_bytes,
            n_params,
            n_vocab,
            bos,
        })
    }
}

/// One measured figure: an engine, a test, a thread count.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    /// Engine name (`"bague"`, `"llama.cpp"`).
    pub engine: String,
    /// Kernel path of the engine.
    pub backend: String,
    /// Model name.
    pub model: String,
    /// `"pp128"`, `"tg64"`, `"tg64 @ d2048"` (at a depth, llama-bench's naming).
    pub test: String,
    /// Tokens in the KV cache before the test ran.
    pub depth: usize,
    /// Threads.
    pub threads: usize,
    /// Mean tokens per second over the repetitions.
    pub tok_s: f64,
    /// Sample standard deviation of tokens per second (0 for one repetition).
    pub stddev: f64,
    /// Tokens per second of each repetition, in order.
    pub samples: Vec<f64>,
    /// Mean tokens per CPU-second of the process (all threads), if CPU time is readable.
    pub cpu_tok_s: Option<f64>,
}

/// A small deterministic generator (SplitMix64) for the random prompt tokens.
#[derive(Clone, Debug)]
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

/// `n` random tokens below `n_vocab`, the first one `bos` when given (llama-bench's prompt).
fn random_tokens(rng: &mut Rng, n: usize, info: &ModelInfo) -> Vec<u32> {
    (0..n)
        .map(|i| match (i, info.bos) {
            (0, Some(b)) => b,
            _ => (rng.next() % u64::from(info.n_vocab)) as u32,
        })
        .collect()
}

/// Mean and sample standard deviation (`n - 1`; 0 for fewer than two values).
pub fn mean_stddev(v: &[f64]) -> (f64, f64) {
    if v.is_empty() {
        return (0.0, 0.0);
    }
    let n = v.len() as f64;
    let mean = v.iter().sum::<f64>() / n;
    if v.len() < 2 {
        return (mean, 0.0);
    }
    let var = v.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / (n - 1.0);
    (mean, var.sqrt())
}

/// CPU time of every live thread of this process, in seconds (the first field of each
/// `/proc/self/task/*/schedstat`, ns on CPU); `None` where that is not readable.
pub fn process_cpu_seconds() -> Option<f64> {
    let mut ns = 0u64;
    for task in std::fs::read_dir("/proc/self/task").ok()? {
        let Ok(text) = std::fs::read_to_string(task.ok()?.path().join("schedstat")) else {
            continue; // the thread exited meanwhile
        };
        ns = ns.saturating_add(text.split_whitespace().next()?.parse().ok()?);
    }
    Some(ns as f64 * 1e-9)
}

/// Wall seconds and process CPU seconds (if readable) of one timed call.
fn timed(f: impl FnOnce() -> Result<(), BoxError>) -> Result<(f64, Option<f64>), BoxError> {
    let cpu0 = process_cpu_seconds();
    let t0 = Instant::now();
    f()?;
    let wall = t0.elapsed().as_secs_f64();
    let cpu = cpu0.zip(process_cpu_seconds()).map(|(a, b)| b - a);
    Ok((wall, cpu))
}

/// Clears the context and fills it with `depth` (untimed), in batches of `n_batch`.
fn fill(e: &mut dyn Engine, depth: &[u32], n_batch: usize) -> Result<(), BoxError> {
    e.clear()?;
    depth.chunks(n_batch.max(1)).try_for_each(|c| e.prefill(c))
}

/// Times one prefill of `tokens` after the context `depth`.
fn time_prefill(
    e: &mut dyn Engine,
    depth: &[u32],
    n_batch: usize,
    tokens: &[u32],
) -> Result<(f64, Option<f64>), BoxError> {
    fill(e, depth, n_batch)?;
    timed(|| e.prefill(tokens))
}

/// Times `tokens.len()` decode steps after the context `depth`.
fn time_decode(
    e: &mut dyn Engine,
    depth: &[u32],
    n_batch: usize,
    tokens: &[u32],
) -> Result<(f64, Option<f64>), BoxError> {
    fill(e, depth, n_batch)?;
    timed(|| tokens.iter().try_for_each(|&t| e.decode(t)))
}

/// Measures every engine on every test and thread count of `spec`, interleaved (see the
/// module docs). `progress` gets a line before each thread count. Returns rows ordered by
/// thread count, then test (pp before tg), then engine (in the order given).
/// Errors: a bad spec, or the first error of an engine.
pub fn run(
    engines: &mut [&mut dyn Engine],
    info: &ModelInfo,
    spec: &Spec,
    mut progress: impl FnMut(&str),
) -> Result<Vec<Row>, BoxError> {
    spec.check()?;
    let mut rng = Rng(spec.seed);
    let mut rows = Vec::new();
    let n_batch = spec.n_batch();
    for &threads in &spec.threads {
        progress(&format!("{threads} thread(s): warmup"));
        for e in engines.iter_mut() {
            e.set_threads(threads)?;
            if spec.n_prompt > 0 {
                let warm = random_tokens(&mut rng, spec.n_prompt, info);
                time_prefill(&mut **e, &[], n_batch, &warm)?;
            }
            if spec.n_gen > 0 {
                let warm = random_tokens(&mut rng, 1, info);
                time_decode(&mut **e, &[], n_batch, &warm)?;
            }
        }
        for &depth in &spec.depths {
            measure(
                engines,
                info,
                spec,
                threads,
                depth,
                &mut rng,
                &mut rows,
                &mut progress,
            )?;
        }
    }
    Ok(rows)
}

/// The repetitions of every test at one thread count and depth, interleaved; pushes their
/// rows.
#[allow(clippy::too_many_arguments)]
fn measure(
    engines: &mut [&mut dyn Engine],
    info: &ModelInfo,
    spec: &Spec,
    threads: usize,
    depth: usize,
    rng: &mut Rng,
    rows: &mut Vec<Row>,
    progress: &mut impl FnMut(&str),
) -> Result<(), BoxError> {
    let n_batch = spec.n_batch();
    let at = if depth == 0 {
        String::new()
    } else {
        format!(" @ d{depth}")
    };
    {
        let tests = [("pp", spec.n_prompt), ("tg", spec.n_gen)];
        // samples[test][engine]: wall tok/s, CPU tok/s
        let mut samples = [
            vec![Vec::new(); engines.len()],
            vec![Vec::new(); engines.len()],
        ];
        let mut cpu = samples.clone();
        for rep in 0..spec.reps {
            progress(&format!(
                "{threads} thread(s){at}: repetition {}/{}",
                rep + 1,
                spec.reps
            ));
            for (k, &(kind, n)) in tests.iter().enumerate() {
                if n == 0 {
                    continue;
                }
                let tokens = random_tokens(rng, n, info);
                // the context, the same for every engine: random tokens, BOS first
                let ctx = random_tokens(rng, depth, info);
                let order: Vec<usize> = if rep % 2 == 0 {
                    (0..engines.len()).collect()
                } else {
                    (0..engines.len()).rev().collect()
                };
                for i in order {
                    let e = &mut *engines[i];
                    let (secs, cpu_secs) = if kind == "pp" {
                        time_prefill(e, &ctx, n_batch, &tokens)?
                    } else {
                        time_decode(e, &ctx, n_batch, &tokens)?
                    };
                    samples[k][i].push(n as f64 / secs.max(1e-12));
                    if let Some(c) = cpu_secs {
                        cpu[k][i].push(n as f64 / c.max(1e-9));
                    }
                }
            }
        }
        for (k, &(kind, n)) in tests.iter().enumerate() {
            if n == 0 {
                continue;
            }
            for (i, e) in engines.iter().enumerate() {
                let (tok_s, stddev) = mean_stddev(&samples[k][i]);
                let cpu_tok_s = (cpu[k][i].len() == spec.reps).then(|| mean_stddev(&cpu[k][i]).0);
                rows.push(Row {
                    engine: e.name().to_string(),
                    backend: e.backend(),
                    model: info.name.clone(),
                    test: format!("{kind}{n}{at}"),
                    depth,
                    threads,
                    tok_s,
                    stddev,
                    samples: core::mem::take(&mut samples[k][i]),
                    cpu_tok_s,
                });
            }
        }
    }
    Ok(())
}

/// Our engine: a [`Session`] over a [`Model`], rebuilt for each thread count, with an f16
/// KV cache of `n_ctx` positions and batches of up to `n_batch` tokens. On the CPU by
/// default; `BagueEngine::on_gpu` (feature `gpu`) runs it on a GPU, where a step reads back
/// only the greedy token ([`Session::decode_argmax`]) and the thread count does not apply.
pub struct BagueEngine<'m, 'a> {
    model: &'m Model<'a>,
    opts: SessionOptions,
    session: Option<Session<'m, 'a>>,
    #[cfg(feature = "gpu")]
    gpu: Option<&'m bague::session::gpu::GpuModel>,
}

impl<'m, 'a> BagueEngine<'m, 'a> {
    /// An engine for `model` sized for `spec` (context `spec.n_ctx()`, batches of
    /// `spec.n_batch()`: one holds the whole prompt). No session exists until
    /// [`Engine::set_threads`].
    pub fn new(model: &'m Model<'a>, spec: &Spec) -> Self {
        BagueEngine {
            model,
            opts: SessionOptions {
                n_ctx: spec.n_ctx(),
                n_batch: spec.n_batch(),
                kv_type: spec.kv_type,
                ..SessionOptions::default()
            },
            session: None,
            #[cfg(feature = "gpu")]
            gpu: None,
        }
    }

    /// [`new`](Self::new) on the GPU that holds `weights` (uploaded from `model`).
    #[cfg(feature = "gpu")]
    pub fn on_gpu(
        model: &'m Model<'a>,
        weights: &'m bague::session::gpu::GpuModel,
        spec: &Spec,
    ) -> Self {
        BagueEngine {
            gpu: Some(weights),
            ..Self::new(model, spec)
        }
    }

    /// The session of the last [`Engine::set_threads`] (its GPU counters, its backend).
    pub fn session_ref(&self) -> Option<&Session<'m, 'a>> {
        self.session.as_ref()
    }

    fn session(&mut self) -> Result<&mut Session<'m, 'a>, BoxError> {
        self.session
            .as_mut()
            .ok_or_else(|| "bague engine: set_threads was not called".into())
    }
}

impl Engine for BagueEngine<'_, '_> {
    fn name(&self) -> &str {
        "bague"
    }

    fn backend(&self) -> String {
        #[cfg(feature = "gpu")]
        if let Some(g) = self.gpu {
            return format!("gpu: {}", g.device().adapter_name());
        }
        self.model.kernels().name().to_string()
    }

    fn set_threads(&mut self, n: usize) -> Result<(), BoxError> {
        self.session = None; // free the old pool and buffers first
        self.opts.n_threads = n;
        #[cfg(feature = "gpu")]
        if let Some(g) = self.gpu {
            self.session = Some(Session::on_gpu(self.model, g, self.opts)?);
            return Ok(());
        }
        self.session = Some(Session::new(self.model, self.opts)?);
        Ok(())
    }

    fn clear(&mut self) -> Result<(), BoxError> {
        self.session()?.reset();
        Ok(())
    }

    fn prefill(&mut self, tokens: &[u32]) -> Result<(), BoxError> {
        let s = self.session()?;
        if s.is_gpu() {
            s.prefill_argmax(tokens)?;
        } else {
            s.prefill(tokens)?;
        }
        Ok(())
    }

    fn decode(&mut self, token: u32) -> Result<(), BoxError> {
        let s = self.session()?;
        if s.is_gpu() {
            s.decode_argmax(token)?;
        } else {
            s.decode(token)?;
        }
        Ok(())
    }
}

/// Peak resident memory of this process in bytes (`VmHWM` of `/proc/self/status`);
/// `None` where that file does not exist (not Linux).
pub fn peak_rss_bytes() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    kib.checked_mul(1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An engine whose every call succeeds at once; counts the tokens it was given.
    struct Fake {
        name: &'static str,
        threads: usize,
        tokens: usize,
    }

    impl Engine for Fake {
        fn name(&self) -> &str {
            self.name
        }
        fn backend(&self) -> String {
            "fake".into()
        }
        fn set_threads(&mut self, n: usize) -> Result<(), BoxError> {
            self.threads = n;
            Ok(())
        }
        fn clear(&mut self) -> Result<(), BoxError> {
            Ok(())
        }
        fn prefill(&mut self, tokens: &[u32]) -> Result<(), BoxError> {
            self.tokens += tokens.len();
            Ok(())
        }
        fn decode(&mut self, _: u32) -> Result<(), BoxError> {
            self.tokens += 1;
            Ok(())
        }
    }

    fn info() -> ModelInfo {
        ModelInfo {
            name: "m\"x".into(),
            size_bytes: 10,
            n_params: 20,
            n_vocab: 7,
            bos: Some(1),
        }
    }

    #[test]
    fn rows_cover_threads_tests_engines() {
        let (mut a, mut b) = (
            Fake {
                name: "a",
                threads: 0,
                tokens: 0,
            },
            Fake {
                name: "b",
                threads: 0,
                tokens: 0,
            },
        );
        let spec = Spec {
            n_prompt: 8,
            n_gen: 4,
            threads: vec![1, 2],
            reps: 3,
            seed: 1,
            depths: vec![0],
            kv_type: KvType::F16,
        };
        let rows = run(&mut [&mut a, &mut b], &info(), &spec, |_| {}).unwrap();
        let keys: Vec<(usize, &str, &str)> = rows
            .iter()
            .map(|r| (r.threads, r.test.as_str(), r.engine.as_str()))
            .collect();
        assert_eq!(
            keys,
            [
                (1, "pp8", "a"),
                (1, "pp8", "b"),
                (1, "tg4", "a"),
                (1, "tg4", "b"),
                (2, "pp8", "a"),
                (2, "pp8", "b"),
                (2, "tg4", "a"),
                (2, "tg4", "b"),
            ]
        );
        assert!(rows.iter().all(|r| r.samples.len() == 3));
        // per thread count: warmup 8 + 1, then 3 × (8 + 4)
        assert_eq!(a.tokens, 2 * (9 + 36));
        assert_eq!(b.threads, 2);
        let json = to_json(&rows, &info(), &[("a".into(), Some(5)), ("b".into(), None)]);
        assert!(json.contains("\"model\": \"m\\\"x\""));
        assert!(json.contains("\"peak_rss_bytes\": 5}"));
        assert!(json.contains("\"peak_rss_bytes\": null}"));
        assert_eq!(ratio_table(&rows).lines().count(), 2 + 4);
    }

    /// At a depth the context is filled (untimed, in batches of `n_batch`) before every
    /// timed test, for every engine; rows name the depth as llama-bench does.
    #[test]
    fn depths_fill_the_context_first() {
        let mut a = Fake {
            name: "a",
            threads: 0,
            tokens: 0,
        };
        let spec = Spec {
            n_prompt: 4,
            n_gen: 2,
            threads: vec![1],
            reps: 2,
            seed: 1,
            depths: vec![0, 600],
            kv_type: KvType::F16,
        };
        assert_eq!(spec.n_ctx(), 604);
        assert_eq!(spec.n_batch(), 512);
        let rows = run(&mut [&mut a], &info(), &spec, |_| {}).unwrap();
        let names: Vec<(&str, usize)> = rows.iter().map(|r| (r.test.as_str(), r.depth)).collect();
        assert_eq!(
            names,
            [
                ("pp4", 0),
                ("tg2", 0),
                ("pp4 @ d600", 600),
                ("tg2 @ d600", 600)
            ]
        );
        // warmup 4 + 1; depth 0: 2 × (4 + 2); depth 600: 2 × (600 + 4 + 600 + 2)
        assert_eq!(a.tokens, 5 + 12 + 2 * 1206);
    }

    #[test]
    fn bad_specs_are_errors() {
        let mut a = Fake {
            name: "a",
            threads: 0,
            tokens: 0,
        };
        for spec in [
            Spec {
                n_prompt: 0,
                n_gen: 0,
                threads: vec![1],
                reps: 1,
                seed: 0,
                depths: vec![0],
                kv_type: KvType::F16,
            },
            Spec {
                n_prompt: 1,
                n_gen: 0,
                threads: vec![],
                reps: 1,
                seed: 0,
                depths: vec![0],
                kv_type: KvType::F16,
            },
            Spec {
                n_prompt: 1,
                n_gen: 0,
                threads: vec![0],
                reps: 1,
                seed: 0,
                depths: vec![0],
                kv_type: KvType::F16,
            },
            Spec {
                n_prompt: 1,
                n_gen: 0,
                threads: vec![1],
                reps: 0,
                seed: 0,
                depths: vec![0],
                kv_type: KvType::F16,
            },
            Spec {
                n_prompt: 1,
                n_gen: 0,
                threads: vec![1],
                reps: 1,
                seed: 0,
                depths: vec![],
                kv_type: KvType::F16,
            },
        ] {
            assert!(run(&mut [&mut a], &info(), &spec, |_| {}).is_err());
        }
        assert_eq!(a.tokens, 0);
    }

    #[test]
    fn tokens_start_with_bos_and_stay_in_range() {
        let mut rng = Rng(3);
        let t = random_tokens(&mut rng, 100, &info());
        assert_eq!(t[0], 1);
        assert!(t.iter().all(|&x| x < 7));
        assert!(t.iter().any(|&x| x != t[1]));
    }

    #[test]
    fn stddev_is_the_sample_one() {
        assert_eq!(mean_stddev(&[2.0]), (2.0, 0.0));
        let (m, s) = mean_stddev(&[1.0, 2.0, 3.0]);
        assert_eq!(m, 2.0);
        assert!((s - 1.0).abs() < 1e-12);
    }
}

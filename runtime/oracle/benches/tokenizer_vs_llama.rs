//! Tokenizer speed, ours vs llama.cpp's, in one process on the same bytes: encode throughput
//! on the ~1 MB mixed text of `runtime/core/benches/tokenizer.rs` (shared builder
//! `bague_testkit::mixed_text`), and vocabulary load time from the file path.
//!
//! Run: `cargo bench -p bague-oracle --bench tokenizer_vs_llama` (with ci/oracle.sh's
//! environment, so llama.cpp is not rebuilt). Models: the three real files in
//! `$BAGUE_HOME/models` (default `~/.cache/bague/models`); absent ones are skipped with a note.
//!
//! - Encode: plain text (no BOS/EOS, no special-token parsing: `EncodeOptions::TEXT` and
//!   `llama_tokenize(.., add_special = false, parse_special = false)`), the whole text in one
//!   call, and again in calls of at most 4 KiB (prompt-sized; our per-call word cache then
//!   helps less). Both id sequences are compared first; a mismatch is reported (and fails the
//!   run).
//! - Load: ours = map the file + parse the GGUF header + `Tokenizer::from_gguf`; llama.cpp =
//!   `llama_model_load_from_file` with `vocab_only = true` (header, hyperparameters,
//!   vocabulary), then free. llama.cpp refuses the cut R1 head file even vocab-only (it checks
//!   tensor bounds), so it loads a sparse padded copy (`PaddedCopy`: same header).
//! - Repetitions interleaved (ours, llama.cpp, ours, …) so that load from other processes hits
//!   both alike. Printed: mean CPU time of the thread per call (what the table and the ratios
//!   use, as the machine may be busy), with min / median wall times in parentheses. Ratios
//!   are llama.cpp time / our time (> 1: ours faster). `-- --quick` does fewer repetitions.
//! - llama.cpp is the oracle's build (CMake `RelWithDebInfo`, `-O2`; see the crate docs).

use std::path::Path;
use std::time::{Duration, Instant};

use bague::loader::MappedFile;
use bague::tokenizer::{EncodeOptions, Tokenizer};
use bague_oracle::llama::{Model, PaddedCopy};

const MODELS: [&str; 3] = [
    bague_testkit::R1_HEAD,
    bague_testkit::QWEN25_CODER,
    bague_testkit::SMOLLM2,
];

/// CPU time of this thread (Linux `/proc/thread-self/schedstat`); `None` elsewhere.
fn cpu_time() -> Option<Duration> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    Some(Duration::from_nanos(
        s.split_whitespace().next()?.parse().ok()?,
    ))
}

/// Times of one side of an interleaved run.
#[derive(Default)]
struct Sample {
    wall: Vec<Duration>,
    /// Total CPU time of the thread over all calls (wall time where unavailable).
    cpu: Duration,
}

impl Sample {
    fn time(&mut self, f: &mut impl FnMut()) {
        let (c, t) = (cpu_time(), Instant::now());
        f();
        let wall = t.elapsed();
        self.cpu += match (c, cpu_time()) {
            (Some(a), Some(b)) => b.saturating_sub(a),
            _ => wall,
        };
        self.wall.push(wall);
    }
    fn min(&self) -> Duration {
        *self.wall.iter().min().unwrap()
    }
    fn median(&self) -> Duration {
        let mut v = self.wall.clone();
        v.sort();
        v[v.len() / 2]
    }
    /// Mean CPU time per call: what the table shows, as the machine may be busy.
    fn cpu_mean(&self) -> Duration {
        self.cpu / self.wall.len() as u32
    }
}

/// Runs `a` and `b` alternately `reps` times.
fn interleaved(reps: usize, mut a: impl FnMut(), mut b: impl FnMut()) -> (Sample, Sample) {
    let (mut sa, mut sb) = (Sample::default(), Sample::default());
    for _ in 0..reps {
        sa.time(&mut a);
        sb.time(&mut b);
    }
    (sa, sb)
}

fn load_ours(path: &Path) -> usize {
    let map = MappedFile::open(path).unwrap();
    let file = map.parse().unwrap();
    Tokenizer::from_gguf(&file).unwrap().n_vocab()
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let (load_reps, enc_reps) = if quick { (5, 3) } else { (21, 9) };
    let text = bague_testkit::mixed_text(1 << 20);
    let mb = text.len() as f64 / 1e6;
    println!(
        "text: {} bytes; encode x{enc_reps}, load x{load_reps}, interleaved; times min / median",
        text.len()
    );
    let mut rows = Vec::new();
    let mut mismatch = false;
    for id in MODELS {
        let Some(path) = bague_testkit::cache_path(id).filter(|p| p.exists()) else {
            println!("note: {id} is not in the model cache ($BAGUE_HOME/models), skipped");
            continue;
        };
        let map = MappedFile::open(&path).unwrap();
        let file = map.parse().unwrap();
        let ours = Tokenizer::from_gguf(&file).unwrap();
        let (llama, padded) = Model::load_vocab(&path).unwrap();
        let copy = padded.then(|| PaddedCopy::new(&path).unwrap());
        let llama_path = copy.as_ref().map_or(path.as_path(), |c| c.path());
        if padded {
            println!("{id}: llama.cpp refuses the file vocab-only; it loads a padded copy");
        }

        let a = ours.encode(&text, EncodeOptions::TEXT).unwrap();
        let b = llama.tokenize(&text, false, false).unwrap();
        let same = a.len() == b.len() && a.iter().zip(&b).all(|(&x, &y)| x as i32 == y);
        if !same {
            let at = a.iter().zip(&b).position(|(&x, &y)| x as i32 != y);
            println!(
                "{id}: IDS DIFFER ({} vs {} tokens, first difference at {at:?})",
                a.len(),
                b.len()
            );
            mismatch = true;
        }

        let (eo, el) = interleaved(
            enc_reps,
            || {
                std::hint::black_box(ours.encode(&text, EncodeOptions::TEXT).unwrap());
            },
            || {
                std::hint::black_box(llama.tokenize(&text, false, false).unwrap());
            },
        );
        // The same text in calls of at most 4 KiB (prompt-sized), cut at char boundaries.
        let pieces = bague_testkit::chunks(&text, 4096);
        let (co, cl) = interleaved(
            enc_reps,
            || {
                for p in &pieces {
                    std::hint::black_box(ours.encode(p, EncodeOptions::TEXT).unwrap());
                }
            },
            || {
                for p in &pieces {
                    std::hint::black_box(llama.tokenize(p, false, false).unwrap());
                }
            },
        );
        let (lo, ll) = interleaved(
            load_reps,
            || {
                std::hint::black_box(load_ours(&path));
            },
            || {
                std::hint::black_box(Model::load(llama_path, true).unwrap());
            },
        );
        let mbs = |d: Duration| mb / d.as_secs_f64();
        // (ours, llama.cpp) -> "ours MB/s cpu (wall min / median), llama.cpp …, ratio".
        let rate = |o: &Sample, l: &Sample| {
            format!(
                "ours {:.1} ({:.1} / {:.1}), llama.cpp {:.1} ({:.1} / {:.1}), x{:.2}",
                mbs(o.cpu_mean()),
                mbs(o.min()),
                mbs(o.median()),
                mbs(l.cpu_mean()),
                mbs(l.min()),
                mbs(l.median()),
                l.cpu_mean().as_secs_f64() / o.cpu_mean().as_secs_f64()
            )
        };
        println!(
            "{id}: n_vocab {} | {} tokens, ids {}\n  encode MB/s, 1 MB call: {}\n  encode MB/s, \
             4 KiB calls: {}\n  load ms: ours {:.1} ({:.1} / {:.1}), llama.cpp {:.1} ({:.1} / \
             {:.1}), x{:.2}",
            ours.n_vocab(),
            a.len(),
            if same { "equal" } else { "DIFFER" },
            rate(&eo, &el),
            rate(&co, &cl),
            ms(lo.cpu_mean()),
            ms(lo.min()),
            ms(lo.median()),
            ms(ll.cpu_mean()),
            ms(ll.min()),
            ms(ll.median()),
            ll.cpu_mean().as_secs_f64() / lo.cpu_mean().as_secs_f64(),
        );
        let ratio =
            |o: &Sample, l: &Sample| l.cpu_mean().as_secs_f64() / o.cpu_mean().as_secs_f64();
        rows.push(format!(
            "| {id} | {} | {:.1} | {:.1} | {:.0}x | {:.1} | {:.1} | {:.0}x | {:.1} | {:.1} |",
            ours.n_vocab(),
            mbs(eo.cpu_mean()),
            mbs(el.cpu_mean()),
            ratio(&eo, &el),
            mbs(co.cpu_mean()),
            mbs(cl.cpu_mean()),
            ratio(&co, &cl),
            ms(lo.cpu_mean()),
            ms(ll.cpu_mean()),
        ));
    }
    println!(
        "\n(CPU time per call)\n| vocabulary | n_vocab | encode MB/s, 1 MB call: bague | llama.cpp \
         | ratio | 4 KiB calls: bague | llama.cpp | ratio | load ms: bague | llama.cpp |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for r in rows {
        println!("{r}");
    }
    assert!(!mismatch, "token ids differ from llama.cpp's");
}

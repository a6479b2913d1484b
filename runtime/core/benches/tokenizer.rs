//! Tokenizer benchmark: vocabulary load time and encode / decode throughput.
//!
//! `cargo bench -p bague --bench tokenizer` (release profile). Uses the tiny test models
//! (R1's and SmolLM2's tokenizers) and, when present, the real model files in
//! `$BAGUE_HOME/models` (default `~/.cache/bague/models`). Prints numbers; asserts nothing.
//! Times are the mean CPU time of the thread (Linux), with the median wall time beside it.
//!
//! Text: ~1 MB built from `testdata/reference/texts/kjv-genesis-1-11.txt` and every text of
//! the reference `tokenize.json` / `chat.json` files (English, code, CJK, emoji, …), repeated
//! (`bague_testkit::mixed_text`, shared with the oracle's bench against llama.cpp:
//! `cargo bench -p bague-oracle --bench tokenizer_vs_llama`).

use std::time::{Duration, Instant};

use bague::gguf;
use bague::tokenizer::{EncodeOptions, Tokenizer};
use bague_testkit::{QWEN25_CODER, R1_HEAD, SMOLLM2, TINY_MODELS};

/// CPU time of this thread (Linux `/proc/thread-self/schedstat`, updated at scheduler
/// ticks), so that numbers stay meaningful on a busy machine; `None` elsewhere.
fn cpu_time() -> Option<Duration> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    Some(Duration::from_nanos(
        s.split_whitespace().next()?.parse().ok()?,
    ))
}

/// Mean CPU time (the total over all runs, as the counter is coarse; wall time where CPU
/// time is unavailable) and median wall time of `runs` calls of `f`.
fn time<T>(runs: usize, mut f: impl FnMut() -> T) -> (Duration, Duration) {
    let c0 = cpu_time();
    let mut wall: Vec<Duration> = (0..runs)
        .map(|_| {
            let w0 = Instant::now();
            std::hint::black_box(f());
            w0.elapsed()
        })
        .collect();
    let cpu = match (c0, cpu_time()) {
        (Some(a), Some(b)) => b - a,
        _ => wall.iter().sum(),
    };
    wall.sort();
    (cpu / runs as u32, wall[runs / 2])
}

fn model_files() -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for id in TINY_MODELS {
        out.push((format!("{id}.gguf"), bague_testkit::tiny_bytes(id)));
    }
    for id in [R1_HEAD, QWEN25_CODER, SMOLLM2] {
        let path = bague_testkit::cache_path(id);
        if let Some(bytes) = path.and_then(|p| std::fs::read(p).ok()) {
            out.push((id.to_string(), bytes));
        }
    }
    out
}

fn main() {
    let text = bague_testkit::mixed_text(1 << 20);
    let mb = text.len() as f64 / 1e6;
    println!("text: {} bytes", text.len());
    let pieces = bague_testkit::chunks(&text, 4096);
    // `cargo bench -p bague --bench tokenizer -- <name part>`: only matching models.
    let filter: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    for (name, bytes) in model_files() {
        if !filter.is_empty() && !filter.iter().any(|f| name.contains(f.as_str())) {
            continue;
        }
        let file = gguf::File::parse(&bytes).unwrap();
        let (load_cpu, load_wall) = time(21, || Tokenizer::from_gguf(&file).unwrap());
        let tok = Tokenizer::from_gguf(&file).unwrap();
        let (parse_cpu, _) = time(21, || gguf::File::parse(&bytes).unwrap());

        let ids = tok.encode(&text, EncodeOptions::TEXT).unwrap();
        let (enc_cpu, enc_wall) = time(10, || tok.encode(&text, EncodeOptions::TEXT).unwrap());
        let (chunk_cpu, _) = time(5, || {
            for p in &pieces {
                std::hint::black_box(tok.encode(p, EncodeOptions::TEXT).unwrap());
            }
        });
        let (dec_cpu, _) = time(30, || tok.decode(&ids).unwrap());
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        println!(
            "{name}: n_vocab {} | GGUF parse {:.1} ms | tokenizer load {:.1} ms ({:.1} ms wall) | \
             encode {:.1} MB/s ({:.1} MB/s wall), {} tokens, in 4 KiB calls {:.1} MB/s | decode {:.0} MB/s",
            tok.n_vocab(),
            ms(parse_cpu),
            ms(load_cpu),
            ms(load_wall),
            mb / enc_cpu.as_secs_f64(),
            mb / enc_wall.as_secs_f64(),
            ids.len(),
            mb / chunk_cpu.as_secs_f64(),
            mb / dec_cpu.as_secs_f64(),
        );
    }
}

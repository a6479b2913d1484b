//! Reports of [`run`](super::run)'s rows: a Markdown table in `llama-bench`'s columns, a
//! ratio table (first engine / each other engine), and JSON.

use std::fmt::Write as _;

use super::{ModelInfo, Row};

/// Mebibytes with one decimal.
fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}

/// Millions of parameters with two decimals.
fn millions(n: u64) -> String {
    format!("{:.2} M", n as f64 / 1e6)
}

/// A Markdown table of `rows` (llama-bench's columns), one line per row. `peak_rss` gives
/// each engine's peak RSS in bytes, if known.
pub fn table(rows: &[Row], info: &ModelInfo, peak_rss: &[(String, Option<u64>)]) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "| engine | model | size | params | backend | peak RSS | threads | test | t/s | t/CPU-s |"
    );
    let _ = writeln!(s, "|---|---|--:|--:|---|--:|--:|--:|--:|--:|");
    for r in rows {
        let rss = peak_rss
            .iter()
            .find(|(e, _)| *e == r.engine)
            .and_then(|(_, b)| *b)
            .map_or_else(|| "?".to_string(), mib);
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {:.2} ± {:.2} | {} |",
            r.engine,
            r.model,
            mib(info.size_bytes),
            millions(info.n_params),
            r.backend,
            rss,
            r.threads,
            r.test,
            r.tok_s,
            r.stddev,
            r.cpu_tok_s
                .map_or_else(|| "?".to_string(), |c| format!("{c:.2}"))
        );
    }
    s
}

/// A Markdown table of the ratio of the first engine's tok/s to each other engine's, per
/// test and thread count (empty when `rows` has one engine).
pub fn ratio_table(rows: &[Row]) -> String {
    let Some(first) = rows.first().map(|r| r.engine.clone()) else {
        return String::new();
    };
    let mut s = String::new();
    for r in rows.iter().filter(|r| r.engine == first) {
        for o in rows.iter().filter(|o| {
            o.engine != first && o.test == r.test && o.threads == r.threads && o.model == r.model
        }) {
            if s.is_empty() {
                let _ = writeln!(
                    s,
                    "| model | test | threads | {first} t/s | {} t/s | {first}/{} | same, per CPU-s |",
                    o.engine, o.engine
                );
                let _ = writeln!(s, "|---|--:|--:|--:|--:|--:|--:|");
            }
            let ratio = |a: f64, b: f64| if b > 0.0 { a / b } else { f64::NAN };
            let cpu_ratio = r
                .cpu_tok_s
                .zip(o.cpu_tok_s)
                .map_or_else(|| "?".to_string(), |(a, b)| format!("{:.3}", ratio(a, b)));
            let _ = writeln!(
                s,
                "| {} | {} | {} | {:.2} ± {:.2} | {:.2} ± {:.2} | {:.3} | {} |",
                r.model,
                r.test,
                r.threads,
                r.tok_s,
                r.stddev,
                o.tok_s,
                o.stddev,
                ratio(r.tok_s, o.tok_s),
                cpu_ratio
            );
        }
    }
    s
}

/// `s` as a JSON string literal.
fn json_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A finite number as JSON (`null` for NaN / infinity).
fn json_num(x: f64) -> String {
    if x.is_finite() {
        format!("{x}")
    } else {
        "null".to_string()
    }
}

/// The rows as a JSON array of objects with keys `engine`, `model`, `test`, `depth`,
/// `threads`, `tok_s`, `stddev`, and also `backend`, `samples` (tok/s per repetition), `cpu_tok_s`
/// (tokens per CPU-second), `model_bytes`, `params` and `peak_rss_bytes` (`null` if unknown).
pub fn to_json(rows: &[Row], info: &ModelInfo, peak_rss: &[(String, Option<u64>)]) -> String {
    let mut s = String::from("[");
    for (i, r) in rows.iter().enumerate() {
        let rss = peak_rss
            .iter()
            .find(|(e, _)| *e == r.engine)
            .and_then(|(_, b)| *b)
            .map_or_else(|| "null".to_string(), |b| b.to_string());
        let samples: Vec<String> = r.samples.iter().map(|&x| json_num(x)).collect();
        let _ = write!(
            s,
            "{}\n  {{\"engine\": {}, \"model\": {}, \"test\": {}, \"depth\": {}, \"threads\": {}, \
             \"tok_s\": {}, \
             \"stddev\": {}, \"backend\": {}, \"samples\": [{}], \"cpu_tok_s\": {}, \
             \"model_bytes\": {}, \"params\": {}, \"peak_rss_bytes\": {}}}",
            if i == 0 { "" } else { "," },
            json_str(&r.engine),
            json_str(&r.model),
            json_str(&r.test),
            r.depth,
            r.threads,
            json_num(r.tok_s),
            json_num(r.stddev),
            json_str(&r.backend),
            samples.join(", "),
            r.cpu_tok_s.map_or_else(|| "null".to_string(), json_num),
            info.size_bytes,
            info.n_params,
            rss
        );
    }
    s.push_str(if rows.is_empty() { "]" } else { "\n]" });
    s
}

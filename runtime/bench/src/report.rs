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

/// One row per model, test and thread count for the engines named in `engines`: the one
/// with the most tokens per second, renamed `name`, its backend followed by the engine it
/// came from (`"ggml AVX2 (llama.cpp -fa)"`). Rows of other engines are left out; the order
/// is the first engine's. Used to compare our engine with a peer at its best of several
/// settings (llama.cpp with flash attention off and on).
pub fn best_of(rows: &[Row], engines: &[&str], name: &str) -> Vec<Row> {
    let mut out: Vec<Row> = Vec::new();
    for r in rows.iter().filter(|r| engines.contains(&r.engine.as_str())) {
        let same = |o: &Row| o.model == r.model && o.test == r.test && o.threads == r.threads;
        let labelled = || Row {
            engine: name.to_string(),
            backend: format!("{} ({})", r.backend, r.engine),
            ..r.clone()
        };
        match out.iter_mut().find(|o| same(o)) {
            Some(o) if r.tok_s > o.tok_s => *o = labelled(),
            Some(_) => {}
            None => out.push(labelled()),
        }
    }
    out
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

#[cfg(test)]
mod tests {
    use super::*;

    fn row(engine: &str, test: &str, threads: usize, tok_s: f64) -> Row {
        Row {
            engine: engine.into(),
            backend: "ggml AVX2".into(),
            model: "m".into(),
            test: test.into(),
            depth: 0,
            threads,
            tok_s,
            stddev: 0.0,
            samples: vec![tok_s],
            cpu_tok_s: Some(tok_s),
        }
    }

    /// The faster peer setting wins per test and thread count, labelled with where it came
    /// from; our engine's rows are not among them, and the ratio table then pairs ours
    /// with the best only.
    #[test]
    fn best_of_takes_the_faster_setting_per_test() {
        let rows = [
            row("bague", "pp8", 1, 300.0),
            row("llama.cpp", "pp8", 1, 100.0),
            row("llama.cpp -fa", "pp8", 1, 150.0),
            row("bague", "tg4", 1, 60.0),
            row("llama.cpp", "tg4", 1, 40.0),
            row("llama.cpp -fa", "tg4", 1, 30.0),
            row("llama.cpp", "tg4", 2, 50.0),
            row("llama.cpp -fa", "tg4", 2, 55.0),
        ];
        let best = best_of(&rows, &["llama.cpp", "llama.cpp -fa"], "llama.cpp best");
        let got: Vec<(&str, usize, f64, &str)> = best
            .iter()
            .map(|r| (r.test.as_str(), r.threads, r.tok_s, r.backend.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                ("pp8", 1, 150.0, "ggml AVX2 (llama.cpp -fa)"),
                ("tg4", 1, 40.0, "ggml AVX2 (llama.cpp)"),
                ("tg4", 2, 55.0, "ggml AVX2 (llama.cpp -fa)"),
            ]
        );
        assert!(best.iter().all(|r| r.engine == "llama.cpp best"));
        let mut pair: Vec<Row> = rows
            .iter()
            .filter(|r| r.engine == "bague")
            .cloned()
            .collect();
        pair.extend(best);
        let t = ratio_table(&pair);
        assert!(
            t.contains("| m | pp8 | 1 | 300.00 ± 0.00 | 150.00 ± 0.00 | 2.000 |"),
            "{t}"
        );
        assert!(
            t.contains("| m | tg4 | 1 | 60.00 ± 0.00 | 40.00 ± 0.00 | 1.500 |"),
            "{t}"
        );
        assert_eq!(t.lines().count(), 4, "{t}");
    }
}

//! `--json-schema`, `--grammar`, `--regex` and `--skip-thinking`, shared by `run` and `chat`:
//! the output constraint (llguidance, feature `grammar`) and what is reported about it.
//!
//! Decisions: `--json-schema` takes the schema itself when the text starts with `{` (or is
//! `true`/`false`), else a file name; `--grammar` takes a file in llguidance's Lark-like
//! syntax (a GBNF file is refused with a message that says so); the constraint applies to
//! the answer, after a thinking block. A schema or grammar that does not compile is an error
//! before the model is run.

use std::path::PathBuf;
#[cfg(feature = "grammar")]
use std::time::Instant;

#[cfg(not(feature = "grammar"))]
use anyhow::bail;
use anyhow::{Context, Result};
use bague::bundle::Bundle;
use bague::constraint::MaskTime;
use bague::generate::Generator;

/// Output constraint flags.
#[derive(clap::Args, Clone, Debug)]
pub struct ConstraintArgs {
    /// Constrain the answer to JSON that this JSON schema accepts: a file, or the schema
    /// itself ('{"type":"object"}' for any object).
    #[arg(long, value_name = "FILE|JSON", conflicts_with_all = ["grammar", "regex"])]
    pub json_schema: Option<String>,
    /// Constrain the answer to a grammar in llguidance's Lark-like syntax (a file; GBNF is
    /// not supported).
    #[arg(long, value_name = "FILE", conflicts_with = "regex")]
    pub grammar: Option<PathBuf>,
    /// Constrain the answer to match this regular expression (Rust regex syntax).
    #[arg(long, value_name = "RE")]
    pub regex: Option<String>,
    /// Skip thinking (R1 models): an empty `<think>\n\n</think>` is added after the prompt
    /// and the answer starts at once.
    #[arg(long)]
    pub skip_thinking: bool,
}

/// A constraint set on a generator: what it is and how long it took to compile.
#[derive(Clone, Debug)]
pub struct Applied {
    /// "JSON schema", "grammar", "regex".
    pub kind: &'static str,
    /// Time to build the vocabulary's token trie (once per model), ms.
    pub vocab_ms: f64,
    /// Grammar compile time, ms.
    pub compile_ms: f64,
}

impl ConstraintArgs {
    /// Whether a constraint was asked for.
    pub fn any(&self) -> bool {
        self.json_schema.is_some() || self.grammar.is_some() || self.regex.is_some()
    }

    /// Compiles the asked-for constraint for `bundle`'s vocabulary and sets it on `g`.
    /// `None` when none was asked for. Errors: unreadable file, a schema or grammar that
    /// does not compile (position and reason), a build without the `grammar` feature.
    pub fn apply<'t>(
        &self,
        bundle: &'t Bundle<'_>,
        g: &mut Generator<'t, '_>,
    ) -> Result<Option<Applied>> {
        if !self.any() {
            return Ok(None);
        }
        self.apply_grammar(bundle, g).map(Some)
    }

    #[cfg(not(feature = "grammar"))]
    fn apply_grammar<'t>(&self, _: &'t Bundle<'_>, _: &mut Generator<'t, '_>) -> Result<Applied> {
        bail!("--json-schema, --grammar and --regex need a bague built with the `grammar` feature")
    }

    #[cfg(feature = "grammar")]
    fn apply_grammar<'t>(
        &self,
        bundle: &'t Bundle<'_>,
        g: &mut Generator<'t, '_>,
    ) -> Result<Applied> {
        use bague::constraint::grammar::{GrammarSpec, Vocab};
        let (flag, spec) = if let Some(s) = &self.json_schema {
            ("--json-schema", GrammarSpec::JsonSchema(schema_text(s)?))
        } else if let Some(f) = &self.grammar {
            let text = std::fs::read_to_string(f)
                .with_context(|| format!("--grammar {}: cannot read", f.display()))?;
            let spec = GrammarSpec::from_grammar_text(&text)
                .map_err(|e| anyhow::anyhow!("--grammar {}: {e}", f.display()))?;
            ("--grammar", spec)
        } else {
            let rx = self.regex.clone().unwrap_or_default();
            ("--regex", GrammarSpec::Regex(rx))
        };
        let t0 = Instant::now();
        let vocab = Vocab::new(&bundle.tokenizer).map_err(|e| anyhow::anyhow!("{e}"))?;
        let t1 = Instant::now();
        let grammar = vocab
            .compile(&spec)
            .map_err(|e| anyhow::anyhow!("{flag}: {e}"))?;
        let t2 = Instant::now();
        g.set_constraint(Some(Box::new(grammar.constraint())))?;
        Ok(Applied {
            kind: spec.kind_name(),
            vocab_ms: (t1 - t0).as_secs_f64() * 1e3,
            compile_ms: (t2 - t1).as_secs_f64() * 1e3,
        })
    }
}

/// The schema text of `--json-schema`: the argument itself when it is JSON (starts with
/// `{`, or is `true` / `false`), else the contents of that file.
#[cfg_attr(not(feature = "grammar"), allow(dead_code))]
pub fn schema_text(arg: &str) -> Result<String> {
    let t = arg.trim();
    if t.starts_with('{') || t == "true" || t == "false" {
        return Ok(arg.to_string());
    }
    std::fs::read_to_string(arg).with_context(|| {
        format!("--json-schema {arg}: cannot read (give a file or the schema itself, starting with '{{')")
    })
}

/// Percentiles of the per-token mask times of one or more generations.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct MaskStats {
    /// Masks taken.
    pub n: usize,
    /// Masks computed while the forward pass ran.
    pub background: usize,
    /// Compute time per mask, µs: median, 99th percentile, maximum.
    pub compute_us: [f64; 3],
    /// Time the loop waited for a mask, µs: median, 99th percentile, maximum.
    pub wait_us: [f64; 3],
    /// Total wait, ms.
    pub wait_total_ms: f64,
}

impl MaskStats {
    /// Of `masks` (nearest-rank percentiles).
    pub fn of(masks: &[MaskTime]) -> Self {
        let mut c: Vec<u32> = masks.iter().map(|m| m.compute_ns).collect();
        let mut w: Vec<u32> = masks.iter().map(|m| m.wait_ns).collect();
        MaskStats {
            n: masks.len(),
            background: masks.iter().filter(|m| m.background).count(),
            compute_us: pcts(&mut c),
            wait_us: pcts(&mut w),
            wait_total_ms: w.iter().map(|&x| f64::from(x)).sum::<f64>() / 1e6,
        }
    }

    /// As JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::json!({
            "n_masks": self.n,
            "n_background": self.background,
            "compute_us": {"p50": self.compute_us[0], "p99": self.compute_us[1], "max": self.compute_us[2]},
            "wait_us": {"p50": self.wait_us[0], "p99": self.wait_us[1], "max": self.wait_us[2]},
            "wait_total_ms": self.wait_total_ms,
        })
    }

    /// One line for the statistics.
    pub fn line(&self) -> String {
        format!(
            "masks: {} ({} computed during the forward pass) | mask µs p50 {:.0} p99 {:.0} max {:.0} | waited {:.1} ms",
            self.n,
            self.background,
            self.compute_us[0],
            self.compute_us[1],
            self.compute_us[2],
            self.wait_total_ms
        )
    }
}

/// p50, p99 and max of ns values, in µs (nearest rank; zeros when empty).
pub fn pcts(v: &mut [u32]) -> [f64; 3] {
    if v.is_empty() {
        return [0.0; 3];
    }
    v.sort_unstable();
    let at = |q: f64| {
        let i = ((q * v.len() as f64).ceil() as usize).clamp(1, v.len()) - 1;
        f64::from(v[i]) / 1e3
    };
    [at(0.50), at(0.99), f64::from(v[v.len() - 1]) / 1e3]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_nearest_rank() {
        let mut v: Vec<u32> = (1..=100).map(|x| x * 1000).collect();
        assert_eq!(pcts(&mut v), [50.0, 99.0, 100.0]);
        assert_eq!(pcts(&mut []), [0.0; 3]);
        assert_eq!(pcts(&mut [7000]), [7.0, 7.0, 7.0]);
    }
}

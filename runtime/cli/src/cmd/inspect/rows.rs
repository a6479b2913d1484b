//! `bague inspect FILE --tensor NAME [--rows A..B]`: rows of one tensor, dequantized to f32
//! by `bague_kernels::Kernels::dequantize_row`, printed as one JSON object
//! `{"name", "type", "shape", "n_rows", "row_range": [A, B], "rows": [[f32; ne0]; B - A]}`
//! (NaN and infinities as `null`). A row is `shape[0]` elements; there are
//! `shape[1] * shape[2] * shape[3]` rows. Rows are read one at a time, straight from the
//! mapped file, so rows that lie inside a truncated file can still be read.

use super::value::f32_json;
use anyhow::{Context, Result, bail};
use bague::gguf::{File, TensorInfo};
use bague_kernels::Kernels;
use serde_json::json;
use std::io::Write;

/// Rows shown when `--rows` is not given.
const DEFAULT_ROWS: u64 = 8;

/// Write the JSON of rows `rows` (default: the first 8) of tensor `name`.
/// Errors: unknown tensor (suggesting close names), bad row range, type without a
/// dequantizer, rows past the end of the file.
pub fn print(file: &File<'_>, name: &str, rows: Option<&str>, out: &mut impl Write) -> Result<()> {
    let t = file
        .tensor(name)
        .with_context(|| unknown_tensor(file, name))?;
    let n_rows = t.n_rows();
    let (a, b) = match rows {
        Some(spec) => parse_rows(spec, n_rows)?,
        None => (0, n_rows.min(DEFAULT_ROWS)),
    };
    let ne0 = t.dims[0];
    let row_bytes =
        t.ty.row_bytes(ne0)
            .with_context(|| format!("tensor {name}: row of {ne0} elements is not whole blocks"))?;

    // Check every requested row is in the file before printing anything or allocating.
    let row_start = |r: u64| {
        file.data_offset()
            .checked_add(t.offset)?
            .checked_add(r.checked_mul(row_bytes)?)
    };
    let file_len = file.bytes().len() as u64;
    let end = row_start(b).context("row offsets overflow")?;
    if b > a && end > file_len {
        let readable = row_start(0)
            .map(|s0| file_len.saturating_sub(s0) / row_bytes.max(1))
            .unwrap_or(0)
            .min(n_rows);
        bail!(
            "tensor {name}: rows {a}..{b} need bytes up to {end}, file has {file_len} \
             (truncated; rows 0..{readable} are readable)"
        );
    }

    // Keys in a fixed, readable order; the rows are streamed: `{...,"rows":[[..],[..]]}`.
    write!(
        out,
        "{{\"name\":{},\"type\":{},\"shape\":{},\"n_rows\":{n_rows},\"row_range\":[{a},{b}],\"rows\":[",
        json!(t.name),
        json!(t.ty.name()),
        json!(t.shape()),
    )?;
    let mut buf = vec![0f32; usize::try_from(ne0).context("row too long")?];
    for r in a..b {
        let bytes = row_slice(file, &t, r, row_bytes).context("row offsets overflow")?;
        Kernels::dequantize_row(t.ty, bytes, &mut buf)
            .map_err(|e| anyhow::anyhow!("tensor {name} ({}): {e}", t.ty.name()))?;
        if r > a {
            out.write_all(b",")?;
        }
        let row: Vec<serde_json::Value> = buf.iter().map(|&x| f32_json(x)).collect();
        write!(out, "{}", serde_json::Value::Array(row))?;
    }
    writeln!(out, "]}}")?;
    Ok(())
}

/// Bytes of row `r` of `t` (checked against the buffer).
fn row_slice<'a>(file: &File<'a>, t: &TensorInfo<'_>, r: u64, row_bytes: u64) -> Option<&'a [u8]> {
    let start = file
        .data_offset()
        .checked_add(t.offset)?
        .checked_add(r.checked_mul(row_bytes)?)?;
    let end = start.checked_add(row_bytes)?;
    file.bytes()
        .get(usize::try_from(start).ok()?..usize::try_from(end).ok()?)
}

/// `A..B`, `A..`, `..B`, `A` → half-open range within `0..n_rows`, not empty.
pub fn parse_rows(spec: &str, n_rows: u64) -> Result<(u64, u64)> {
    let num = |s: &str, default: u64| -> Result<u64> {
        if s.is_empty() {
            return Ok(default);
        }
        s.trim()
            .parse()
            .with_context(|| format!("--rows {spec}: {s:?} is not a row number"))
    };
    let (a, b) = match spec.split_once("..") {
        Some((a, b)) => (num(a, 0)?, num(b, n_rows)?),
        None => {
            let a = num(spec, 0)?;
            (a, a.saturating_add(1))
        }
    };
    if a >= b || b > n_rows {
        bail!("--rows {spec}: need A < B <= {n_rows} (the tensor has {n_rows} rows)");
    }
    Ok((a, b))
}

/// "no tensor NAME" with up to three close names (edit distance, or containing NAME).
fn unknown_tensor(file: &File<'_>, name: &str) -> String {
    let mut scored: Vec<(usize, &str)> = file
        .tensors()
        .map(|t| {
            let d = if t.name.contains(name) {
                0
            } else {
                strsim::levenshtein(t.name, name)
            };
            (d, t.name)
        })
        .filter(|&(d, _)| d <= (name.len() / 3).max(3))
        .collect();
    scored.sort();
    let close: Vec<&str> = scored.iter().take(3).map(|&(_, n)| n).collect();
    if close.is_empty() {
        format!(
            "no tensor {name:?} in this file ({} tensors; see `bague inspect`)",
            file.n_tensors()
        )
    } else {
        format!("no tensor {name:?}; did you mean {}?", close.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::parse_rows;

    #[test]
    fn row_ranges() {
        assert_eq!(parse_rows("2..5", 10).unwrap(), (2, 5));
        assert_eq!(parse_rows("7..", 10).unwrap(), (7, 10));
        assert_eq!(parse_rows("..3", 10).unwrap(), (0, 3));
        assert_eq!(parse_rows("9", 10).unwrap(), (9, 10));
        for bad in ["5..5", "6..2", "0..11", "10", "x..2", "-1..2"] {
            assert!(parse_rows(bad, 10).is_err(), "{bad}");
        }
    }
}

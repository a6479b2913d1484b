//! `bague inspect FILE|ID [--json]`: what a GGUF file holds, read from its header only.
//!
//! Text: architecture and name, every metadata key (long arrays as length + first items),
//! the tensor table (name, type, shape ne0-first, bytes, offset), bytes per type, totals.
//! `--json`: one object, stable keys (see [`Args::json`]). A file whose tensor data is cut
//! short is reported in full, then the command fails (exit code 1) naming the first tensor
//! that lies outside the file and by how much. `--tensor NAME` prints rows of one tensor
//! dequantized to f32 instead (see [`rows`]). `--gpu` (no file) lists the GPU adapters
//! and their limits instead (see [`gpu`]).

mod gpu;
mod rows;
mod value;

use crate::models::resolve_model;
use anyhow::{Context, Result, anyhow, bail};
use bague::gguf::{self, File};
use bague::loader::MappedFile;
use serde_json::{Value as Json, json};
use std::collections::BTreeMap;
use std::io::{BufWriter, Write};
use std::path::Path;

/// Arguments of `bague inspect`.
#[derive(clap::Args)]
pub struct Args {
    /// A GGUF file, or a model id (see `bague list`).
    #[arg(required_unless_present = "gpu")]
    model: Option<String>,
    /// List the GPU adapters (Vulkan, Metal) and their limits instead of a file: name,
    /// backend, device type, driver, largest storage binding and buffer, workgroup memory,
    /// and which one `--backend gpu` / `auto` would take. With --json: an array of objects.
    #[arg(long, conflicts_with_all = ["model", "tensor"])]
    gpu: bool,
    /// Print one JSON object: file, file_size, version, alignment, data_offset,
    /// tensor_data_end, architecture, name, metadata (key -> value; arrays over 16 items as
    /// {"len", "head"}), tensors (name, type, shape ne0-first, offset relative to
    /// data_offset, n_bytes), bytes_per_type, total_weight_bytes, n_params, error (null or
    /// the message).
    #[arg(long)]
    json: bool,
    /// Print this tensor's rows dequantized to f32, as JSON {name, type, shape, n_rows,
    /// row_range, rows}.
    #[arg(long, value_name = "NAME")]
    tensor: Option<String>,
    /// Rows for --tensor: A..B (B excluded), A.., ..B or A. Default: the first 8.
    #[arg(long, value_name = "A..B", requires = "tensor")]
    rows: Option<String>,
}

/// Inspect the file; exit code 1 when it cannot be parsed or its tensor data is incomplete.
pub fn run(args: Args) -> Result<()> {
    let Some(model) = args.model.as_deref().filter(|_| !args.gpu) else {
        return gpu::print(args.json);
    };
    let path = resolve_model(model)?;
    let map = MappedFile::open(&path).with_context(|| format!("opening {}", path.display()))?;
    // Only header pages are touched: no read-ahead of tensor data.
    let _ = map.advise_random();
    let out = std::io::stdout().lock();
    let mut out = BufWriter::new(out);

    let file = match map.parse() {
        Ok(f) => f,
        Err(e) => {
            if args.json && args.tensor.is_none() {
                let j = unreadable_json(&path, map.bytes(), &e.to_string());
                writeln!(out, "{}", serde_json::to_string_pretty(&j)?)?;
                out.flush()?;
            }
            bail!("{}: {e}", path.display());
        }
    };
    if let Some(name) = &args.tensor {
        rows::print(&file, name, args.rows.as_deref(), &mut out)?;
        out.flush()?;
        return Ok(());
    }
    let s = Summary::of(&file);
    if args.json {
        let j = to_json(&path, &file, &s);
        writeln!(out, "{}", serde_json::to_string_pretty(&j)?)?;
    } else {
        write_text(&mut out, &path, &file, &s)?;
    }
    out.flush()?;
    match s.error {
        Some(msg) => Err(anyhow!("{}: {msg}", path.display())),
        None => Ok(()),
    }
}

/// Totals over the tensor table, and what is missing from the file.
struct Summary {
    /// type name -> (tensors, bytes), by name.
    per_type: BTreeMap<&'static str, (u64, u64)>,
    total_bytes: u64,
    n_params: u64,
    /// Tensors whose data ends past the end of the file.
    n_outside: usize,
    /// The truncation message, if any.
    error: Option<String>,
}

impl Summary {
    fn of(file: &File<'_>) -> Summary {
        let file_len = file.bytes().len() as u64;
        let mut per_type = BTreeMap::new();
        let (mut total_bytes, mut n_params, mut n_outside) = (0u64, 0u64, 0usize);
        for t in file.tensors() {
            let e = per_type.entry(t.ty.name()).or_insert((0, 0));
            e.0 += 1;
            e.1 += t.n_bytes();
            total_bytes = total_bytes.saturating_add(t.n_bytes());
            n_params = n_params.saturating_add(t.n_elements());
            if file.tensor_data(&t).is_err() {
                n_outside += 1;
            }
        }
        let error = file.check_tensor_data().err().map(|e| {
            let mut msg = e.to_string();
            if let gguf::Error::TensorOutOfBounds { end, file_len, .. } = e {
                msg += &format!(
                    " (short by {} bytes); {n_outside} of {} tensors are not (wholly) in the \
                     file, which would need {} bytes",
                    end.saturating_sub(file_len),
                    file.n_tensors(),
                    file.tensor_data_end()
                );
            }
            msg
        });
        debug_assert!(error.is_some() || file.tensor_data_end() <= file_len);
        Summary {
            per_type,
            total_bytes,
            n_params,
            n_outside,
            error,
        }
    }
}

fn str_key<'a>(file: &File<'a>, key: &str) -> Option<&'a str> {
    file.get(key).and_then(|v| v.as_str())
}

fn to_json(path: &Path, file: &File<'_>, s: &Summary) -> Json {
    let metadata: serde_json::Map<String, Json> = file
        .metadata()
        .map(|(k, v)| (k.to_string(), value::to_json(&v)))
        .collect();
    let tensors: Vec<Json> = file
        .tensors()
        .map(|t| {
            json!({
                "name": t.name, "type": t.ty.name(), "shape": t.shape(),
                "offset": t.offset, "n_bytes": t.n_bytes(),
            })
        })
        .collect();
    let per_type: serde_json::Map<String, Json> = s
        .per_type
        .iter()
        .map(|(ty, (n, b))| (ty.to_string(), json!({ "count": n, "bytes": b })))
        .collect();
    json!({
        "file": path.display().to_string(),
        "file_size": file.bytes().len(),
        "version": file.version(),
        "alignment": file.alignment(),
        "data_offset": file.data_offset(),
        "tensor_data_end": file.tensor_data_end(),
        "architecture": str_key(file, "general.architecture"),
        "name": str_key(file, "general.name"),
        "metadata": metadata,
        "tensors": tensors,
        "bytes_per_type": per_type,
        "total_weight_bytes": s.total_bytes,
        "n_params": s.n_params,
        "n_tensors_outside_file": s.n_outside,
        "error": s.error,
    })
}

/// The JSON of a file that does not parse: what the first bytes say, and the error.
fn unreadable_json(path: &Path, bytes: &[u8], error: &str) -> Json {
    let version = match bytes.get(..8) {
        Some([b'G', b'G', b'U', b'F', v @ ..]) => {
            Some(u32::from_le_bytes([v[0], v[1], v[2], v[3]]))
        }
        _ => None,
    };
    json!({
        "file": path.display().to_string(),
        "file_size": bytes.len(),
        "version": version,
        "metadata": {},
        "tensors": [],
        "error": error,
    })
}

fn write_text(out: &mut impl Write, path: &Path, file: &File<'_>, s: &Summary) -> Result<()> {
    let file_len = file.bytes().len() as u64;
    writeln!(out, "file          {} ({file_len} bytes)", path.display())?;
    writeln!(
        out,
        "gguf          version {}, alignment {}, {} metadata keys, {} tensors, data at {}..{}",
        file.version(),
        file.alignment(),
        file.n_kv(),
        file.n_tensors(),
        file.data_offset(),
        file.tensor_data_end()
    )?;
    writeln!(
        out,
        "architecture  {}",
        str_key(file, "general.architecture").unwrap_or("(none)")
    )?;
    writeln!(
        out,
        "name          {}",
        str_key(file, "general.name").unwrap_or("(none)")
    )?;

    writeln!(out, "\nmetadata ({} keys)", file.n_kv())?;
    for (k, v) in file.metadata() {
        writeln!(
            out,
            "  {k:<42} {:<18} {}",
            value::type_text(&v),
            value::to_text(&v)
        )?;
    }

    writeln!(out, "\ntensors ({})", file.n_tensors())?;
    let w = file
        .tensors()
        .map(|t| t.name.len())
        .max()
        .unwrap_or(4)
        .max(4);
    writeln!(
        out,
        "  {:<w$}  {:<6} {:<22} {:>12} {:>12}",
        "name", "type", "shape", "bytes", "offset"
    )?;
    for t in file.tensors() {
        let shape = format!("{:?}", t.shape());
        let past = if file.tensor_data(&t).is_err() {
            "  past end of file"
        } else {
            ""
        };
        writeln!(
            out,
            "  {:<w$}  {:<6} {shape:<22} {:>12} {:>12}{past}",
            t.name,
            t.ty.name(),
            t.n_bytes(),
            t.offset
        )?;
    }

    writeln!(out, "\nbytes by type")?;
    for (ty, (n, b)) in &s.per_type {
        writeln!(out, "  {ty:<6} {n:>5} tensors {b:>14} bytes")?;
    }
    let bpw = if s.n_params > 0 {
        s.total_bytes as f64 * 8.0 / s.n_params as f64
    } else {
        0.0
    };
    writeln!(
        out,
        "  total  {:>5} tensors {:>14} bytes ({}), {} parameters, {bpw:.2} bits per weight",
        file.n_tensors(),
        s.total_bytes,
        indicatif::HumanBytes(s.total_bytes),
        s.n_params
    )?;
    if let Some(e) = &s.error {
        writeln!(out, "\nincomplete: {e}")?;
    }
    Ok(())
}

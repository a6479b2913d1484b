//! Test models: the committed tiny ones, the registry's real ones in the cache, and what
//! happens when a real one is absent.

use std::collections::HashSet;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::testdata;

/// SmolLM2-135M-Instruct, Q4_1 (llama architecture; 98 MB).
pub const SMOLLM2: &str = "smollm2-135m-instruct-q4_1";
/// Qwen2.5-Coder-0.5B-Instruct, Q4_K_M (qwen2 architecture, the R1-Distill-Qwen graph; 491 MB).
pub const QWEN25_CODER: &str = "qwen2.5-coder-0.5b-instruct-q4_k_m";
/// The first 99.6 MB of DeepSeek-R1-Distill-Qwen-7B Q4_K_M: whole header, tokenizer and
/// chat template, tensor data cut short.
pub const R1_HEAD: &str = "r1-distill-qwen-7b-head";
/// The registry models the tests read (`ci/test.sh` pulls them).
pub const REAL_MODELS: [&str; 3] = [SMOLLM2, QWEN25_CODER, R1_HEAD];

/// Tiny random-weight model with R1-Distill-Qwen's shape and tokenizer (committed).
pub const TINY_R1: &str = "r1-tiny-random-q4_0";
/// Tiny random-weight model with SmolLM2's shape and tokenizer (committed).
pub const TINY_SMOL: &str = "smol-tiny-random-q4_0";
/// The committed tiny models, always present.
pub const TINY_MODELS: [&str; 2] = [TINY_R1, TINY_SMOL];

/// `testdata/models/ID.gguf`: a committed tiny model.
pub fn tiny_path(id: &str) -> PathBuf {
    testdata().join("models").join(format!("{id}.gguf"))
}

/// The bytes of a committed tiny model. Panics if the file cannot be read (a broken checkout).
pub fn tiny_bytes(id: &str) -> Vec<u8> {
    read(&tiny_path(id))
}

/// The model cache: `$BAGUE_HOME`, else `~/.cache/bague` (as the `bague` command has it);
/// `None` when neither `BAGUE_HOME` nor `HOME` is set.
pub fn bague_home() -> Option<PathBuf> {
    let set = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
    set("BAGUE_HOME")
        .map(PathBuf::from)
        .or_else(|| set("HOME").map(|h| PathBuf::from(h).join(".cache").join("bague")))
}

/// Where `bague pull ID` puts registry model `id`: `$BAGUE_HOME/models/ID.gguf` (it may not
/// exist). For benchmarks, which take what is there; a test calls [`model`].
pub fn cache_path(id: &str) -> Option<PathBuf> {
    bague_home().map(|h| h.join("models").join(format!("{id}.gguf")))
}

/// The path of registry model `id` in the cache, for a test that needs it.
///
/// Absent (or no cache directory): with `BAGUE_REQUIRE_MODELS=1` this panics, failing the
/// test with a message that names the model and `bague pull ID`; otherwise it records the
/// current test as skipped ([`skip`]) and returns `None`, and the test returns.
pub fn model(id: &str) -> Option<PathBuf> {
    lookup(&Policy::from_env(), &test_name(), id, cache_path(id))
}

/// [`model`], read into memory. Panics as [`model`] does, or if the file cannot be read.
pub fn model_bytes(id: &str) -> Option<Vec<u8>> {
    model(id).map(|p| read(&p))
}

/// True when the environment makes a missing model a failure (`BAGUE_REQUIRE_MODELS` is
/// `1`, `true` or `yes`).
pub fn models_required() -> bool {
    Policy::from_env().required
}

/// Records the current test as skipped for `reason` (a model it needs is absent, the CPU
/// lacks a feature it tests): prints `bague-test: skipped <test>: <reason>` on stderr and,
/// the first time for this test in this process, appends that line to `$BAGUE_SKIP_LOG`.
/// The caller then returns. Panics if the log cannot be written (the skip would go uncounted).
pub fn skip(reason: &str) {
    record_skip(&Policy::from_env(), &test_name(), reason);
}

/// The current test as `BINARY::TEST`: the test binary's file stem without cargo's hash
/// suffix, and the name of the current thread (libtest runs each test on a thread named
/// after it). `?` stands for what is unknown.
pub fn test_name() -> String {
    let bin = std::env::current_exe()
        .ok()
        .and_then(|p| Some(p.file_stem()?.to_string_lossy().into_owned()))
        .map_or_else(|| "?".to_string(), |s| without_hash(&s).to_string());
    let thread = std::thread::current();
    format!("{bin}::{}", thread.name().unwrap_or("?"))
}

/// `name-0123456789abcdef` (cargo's 16-hex-digit suffix of test binaries) → `name`.
fn without_hash(stem: &str) -> &str {
    match stem.rsplit_once('-') {
        Some((name, hash)) if hash.len() == 16 && hash.bytes().all(|b| b.is_ascii_hexdigit()) => {
            name
        }
        _ => stem,
    }
}

/// What the environment says about absent models.
struct Policy {
    /// `BAGUE_REQUIRE_MODELS` is set to 1 / true / yes.
    required: bool,
    /// `BAGUE_SKIP_LOG`: the file skip lines are appended to.
    skip_log: Option<PathBuf>,
}

impl Policy {
    fn from_env() -> Policy {
        let required = std::env::var("BAGUE_REQUIRE_MODELS")
            .is_ok_and(|v| matches!(v.trim(), "1" | "true" | "yes"));
        let skip_log = std::env::var_os("BAGUE_SKIP_LOG")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from);
        Policy { required, skip_log }
    }
}

/// [`model`] with the policy, test name and cache path given.
fn lookup(policy: &Policy, test: &str, id: &str, path: Option<PathBuf>) -> Option<PathBuf> {
    let reason = match path {
        Some(p) if p.is_file() => return Some(p),
        Some(p) => format!("model {id} is not in the cache ({} is absent)", p.display()),
        None => format!("model {id}: no model cache (neither BAGUE_HOME nor HOME is set)"),
    };
    if policy.required {
        panic!(
            "{test}: {reason}; pull it with `bague pull {id}` (from a checkout: \
             `cargo run --release -p bague-cli -- pull {id}`). BAGUE_REQUIRE_MODELS=1 makes a \
             missing model a failure; without it the test is skipped (ci/test.sh: BAGUE_OFFLINE=1)"
        );
    }
    record_skip(
        policy,
        test,
        &format!("{reason}; `bague pull {id}` fetches it"),
    );
    None
}

/// Tests that have logged a skip in this process.
static SKIPPED: Mutex<Option<HashSet<String>>> = Mutex::new(None);

fn record_skip(policy: &Policy, test: &str, reason: &str) {
    let line = format!("bague-test: skipped {test}: {reason}");
    eprintln!("{line}");
    let first = SKIPPED
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get_or_insert_with(HashSet::new)
        .insert(test.to_string());
    if let (true, Some(log)) = (first, &policy.skip_log) {
        append_line(log, &line);
    }
}

/// Appends `line` and a newline to `log` in one write (`O_APPEND`: lines of tests running
/// at the same time do not interleave).
fn append_line(log: &Path, line: &str) {
    let done = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .and_then(|mut f| f.write_all(format!("{line}\n").as_bytes()));
    if let Err(e) = done {
        panic!("BAGUE_SKIP_LOG={}: {e} (writing {line:?})", log.display());
    }
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("bague-testkit-{tag}-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    fn log_of(dir: &Path) -> Policy {
        Policy {
            required: false,
            skip_log: Some(dir.join("skips.log")),
        }
    }

    #[test]
    fn a_present_model_is_returned_and_nothing_logged() {
        let dir = temp_dir("present");
        let p = dir.join("m.gguf");
        std::fs::write(&p, b"GGUF").unwrap();
        let policy = log_of(&dir);
        assert_eq!(lookup(&policy, "t::present", "m", Some(p.clone())), Some(p));
        assert!(!dir.join("skips.log").exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn an_absent_model_is_skipped_once_per_test() {
        let dir = temp_dir("absent");
        let policy = log_of(&dir);
        let missing = dir.join("none.gguf");
        assert_eq!(lookup(&policy, "t::a", "none", Some(missing.clone())), None);
        assert_eq!(
            lookup(&policy, "t::a", "other", Some(missing.clone())),
            None
        );
        assert_eq!(lookup(&policy, "t::b", "none", None), None);
        let log = std::fs::read_to_string(dir.join("skips.log")).unwrap();
        let lines: Vec<&str> = log.lines().collect();
        assert_eq!(lines.len(), 2, "{log}");
        assert!(
            lines[0].starts_with("bague-test: skipped t::a: model none is not in the cache"),
            "{log}"
        );
        assert!(lines[0].contains(&missing.display().to_string()), "{log}");
        assert!(lines[0].ends_with("`bague pull none` fetches it"), "{log}");
        assert!(lines[1].starts_with("bague-test: skipped t::b: model none: no model cache"));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn an_absent_model_fails_when_models_are_required() {
        let dir = temp_dir("required");
        let policy = Policy {
            required: true,
            skip_log: Some(dir.join("skips.log")),
        };
        let missing = dir.join("m.gguf");
        let err =
            std::panic::catch_unwind(|| lookup(&policy, "t::req", "some-model", Some(missing)))
                .expect_err("must fail");
        let msg = err.downcast_ref::<String>().unwrap();
        assert!(
            msg.starts_with("t::req: model some-model is not in the cache"),
            "{msg}"
        );
        assert!(msg.contains("`bague pull some-model`"), "{msg}");
        assert!(!dir.join("skips.log").exists(), "a failure is not a skip");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn test_names_are_binary_and_thread() {
        assert_eq!(without_hash("model_real-0123456789abcdef"), "model_real");
        assert_eq!(
            without_hash("bague_kernels-89abcdef01234567"),
            "bague_kernels"
        );
        assert_eq!(without_hash("my-tool"), "my-tool");
        assert_eq!(without_hash("x-0123456789abcdeg"), "x-0123456789abcdeg");
        assert_eq!(
            test_name(),
            "bague_testkit::models::tests::test_names_are_binary_and_thread"
        );
    }

    #[test]
    fn tiny_models_are_committed() {
        for id in TINY_MODELS {
            assert_eq!(&tiny_bytes(id)[..4], b"GGUF", "{id}");
        }
    }
}

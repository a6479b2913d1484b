//! Loading a GGUF file from disk (`std`): a read-only memory map, parsed in place.
//!
//! Opening maps the file and reads nothing; parsing touches only the header pages. Tensor
//! pages are read by the OS when a kernel first touches them, so a model larger than RAM
//! can still be opened and inspected. On `no_std`, pass the bytes (XIP flash,
//! `include_bytes!`) straight to [`gguf::File::parse`].

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use crate::gguf;

/// A file mapped read-only into memory.
#[derive(Debug)]
pub struct MappedFile {
    map: memmap2::Mmap,
    path: PathBuf,
}

impl MappedFile {
    /// Maps `path` read-only. Errors: the `io::Error` of `open` or `mmap`.
    pub fn open(path: impl AsRef<Path>) -> io::Result<Self> {
        let path = path.as_ref();
        let file = fs::File::open(path)?;
        let map = map_readonly(&file)?;
        Ok(MappedFile {
            map,
            path: path.to_path_buf(),
        })
    }

    /// The mapped bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.map
    }

    /// The path the file was opened from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Parses the mapped bytes as GGUF (reads only header pages).
    /// Errors: see [`gguf::File::parse`].
    pub fn parse(&self) -> Result<gguf::File<'_>, gguf::Error> {
        gguf::File::parse(self.bytes())
    }

    /// Tells the OS that pages will be read in no particular order (no read-ahead), which
    /// suits a model larger than RAM. No-op where `madvise` does not exist.
    pub fn advise_random(&self) -> io::Result<()> {
        #[cfg(unix)]
        {
            self.map.advise(memmap2::Advice::Random)
        }
        #[cfg(not(unix))]
        {
            Ok(())
        }
    }

    /// Tells the OS that the whole file will be needed soon (start reading it in).
    /// No-op where `madvise` does not exist.
    pub fn advise_will_need(&self) -> io::Result<()> {
        #[cfg(unix)]
        {
            self.map.advise(memmap2::Advice::WillNeed)
        }
        #[cfg(not(unix))]
        {
            Ok(())
        }
    }
}

#[allow(unsafe_code)]
fn map_readonly(file: &fs::File) -> io::Result<memmap2::Mmap> {
    // SAFETY: the map is read-only and private to this process, and we never hand out a
    // mutable view. The usual mmap caveat applies: if another process truncates or
    // rewrites the file while it is mapped, reads of the lost pages fault (SIGBUS) or see
    // changing bytes, which Rust cannot rule out; model files are not modified in place.
    unsafe { memmap2::Mmap::map(file) }
}

/// Parses a GGUF image that lives for the whole program (`include_bytes!`, XIP flash).
/// Errors: see [`gguf::File::parse`].
pub fn from_static(bytes: &'static [u8]) -> Result<gguf::File<'static>, gguf::Error> {
    gguf::File::parse(bytes)
}

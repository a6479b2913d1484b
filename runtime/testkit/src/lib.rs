//! Test support shared by the tests (and benchmarks) of every bague crate; a
//! dev-dependency only, and free of any bague crate so that the kernels' tests may use it.
//!
//! It holds the one copy of:
//! - the committed tiny test models ([`tiny_path`], [`tiny_bytes`]) and `testdata/`;
//! - the cache lookup of a registry model, `$BAGUE_HOME/models/ID.gguf` with `$BAGUE_HOME`
//!   defaulting to `~/.cache/bague`, where `bague pull ID` puts it ([`cache_path`]);
//! - llama.cpp's reference data in `testdata/reference/` ([`reference()`], [`ids`], …);
//! - the policy for a test whose model is absent ([`model`], [`skip`]):
//!   - `BAGUE_REQUIRE_MODELS=1` in the environment (`ci/test.sh` and `.ci/run` set it unless
//!     `BAGUE_OFFLINE=1`): the test **fails**, naming the model and the command that pulls it;
//!   - otherwise the test is skipped: it prints `bague-test: skipped <test>: <reason>` and
//!     appends that line to the file `$BAGUE_SKIP_LOG` names, if set. `ci/test.sh` counts
//!     those lines as skipped tests, not passed ones.
//!
//! A test that needs a real model starts with
//!
//! ```no_run
//! let Some(path) = bague_testkit::model(bague_testkit::SMOLLM2) else {
//!     return; // skipped and logged; under BAGUE_REQUIRE_MODELS=1 `model` fails the test
//! };
//! ```
//!
//! `<test>` is `BINARY::TEST`: the test binary's name (`model_real`, `bague`) and the test's
//! name as libtest gives it (the name of the thread it runs on). A test that skips more than
//! once (a loop over models) logs one line: it counts as one skipped test.

mod models;
mod reference;

pub use models::{
    QWEN25_CODER, R1_HEAD, REAL_MODELS, SMOLLM2, TINY_MODELS, TINY_R1, TINY_SMOL, bague_home,
    cache_path, model, model_bytes, models_required, skip, test_name, tiny_bytes, tiny_path,
};
pub use reference::{bytes_of, chunks, floats, ids, mixed_text, reference, reference_path};

use std::path::PathBuf;

/// The repository's root directory.
pub fn repo() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

/// The repository's `testdata/` directory: reference data and the tiny test models.
pub fn testdata() -> PathBuf {
    repo().join("testdata")
}

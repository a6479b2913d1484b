//! `bague inspect`: placeholder until the GGUF reader lands.

use anyhow::Result;

/// Arguments of `bague inspect`.
#[derive(clap::Args)]
pub struct Args {
    /// A GGUF file, or a model id (see `bague list`).
    model: String,
}

/// Not yet.
pub fn run(args: Args) -> Result<()> {
    let path = crate::models::resolve_model(&args.model)?;
    anyhow::bail!("{}: inspect is not written yet", path.display())
}

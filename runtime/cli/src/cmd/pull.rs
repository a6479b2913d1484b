//! `bague pull ID... | --all`: fetch registry models into the cache and verify them.

use crate::fetch;
use crate::registry::Registry;
use anyhow::Result;

/// Arguments of `bague pull`.
#[derive(clap::Args)]
pub struct Args {
    /// Model ids (see `bague list`).
    #[arg(required_unless_present = "all")]
    ids: Vec<String>,
    /// Pull every model of the registry.
    #[arg(long, conflicts_with = "ids")]
    all: bool,
    /// Fetch again even if a verified copy is in the cache.
    #[arg(long)]
    force: bool,
}

/// Pull each model in turn; stops at the first failure.
pub fn run(args: Args) -> Result<()> {
    let reg = Registry::load()?;
    // Check every id before fetching anything.
    let models = if args.all {
        reg.models.iter().collect()
    } else {
        args.ids
            .iter()
            .map(|id| reg.get(id))
            .collect::<Result<Vec<_>>>()?
    };
    for m in models {
        fetch::pull(m, args.force)?;
    }
    Ok(())
}

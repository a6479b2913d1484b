//! `bague detokenize`: the text of token ids, as the model's tokenizer renders them.

use std::io::Write;

use anyhow::{Context, Result};
use bague::tokenizer::DecodeOptions;

use super::tokenize::with_tokenizer;

/// Arguments of `bague detokenize`.
#[derive(clap::Args)]
pub struct Args {
    /// A GGUF file, or a model id (see `bague list`). Only the header is read.
    #[arg(long, short)]
    model: String,
    /// Render control tokens (`<|im_end|>`) as nothing instead of their text.
    #[arg(long)]
    no_special: bool,
    /// Token ids, separated by spaces or commas (`[1, 2, 3]` also works).
    #[arg(required = true)]
    ids: Vec<String>,
}

/// Parses ids written as `1 2 3`, `1,2,3` or `[1, 2, 3]`.
fn parse_ids(args: &[String]) -> Result<Vec<u32>> {
    args.iter()
        .flat_map(|a| a.split([',', ' ', '[', ']']))
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<u32>()
                .with_context(|| format!("{s:?} is not a token id"))
        })
        .collect()
}

/// Writes the decoded bytes to standard output (no newline added).
pub fn run(args: Args) -> Result<()> {
    let ids = parse_ids(&args.ids)?;
    with_tokenizer(&args.model, |tok| {
        let opts = DecodeOptions {
            remove_special: false,
            render_special: !args.no_special,
        };
        let bytes = tok.decode_with(&ids, opts)?;
        let mut out = std::io::stdout().lock();
        out.write_all(&bytes)?;
        out.flush()?;
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::parse_ids;

    #[test]
    fn id_lists() {
        let a = |v: &[&str]| parse_ids(&v.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        assert_eq!(a(&["1", "2"]).unwrap(), [1, 2]);
        assert_eq!(a(&["[1, 2,3]"]).unwrap(), [1, 2, 3]);
        assert!(a(&["x"]).is_err());
    }
}

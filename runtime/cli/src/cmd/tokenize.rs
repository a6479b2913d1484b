//! `bague tokenize`: token ids and pieces of a text, as the model's tokenizer gives them
//! (llama.cpp's `llama-tokenize` equivalent). Also the tokenizer loading shared with
//! `bague detokenize`.

use std::io::{Read, Write};

use anyhow::{Context, Result};
use bague::loader::MappedFile;
use bague::tokenizer::{EncodeOptions, Tokenizer};

/// Arguments of `bague tokenize`.
#[derive(clap::Args)]
pub struct Args {
    /// A GGUF file, or a model id (see `bague list`). Only the header is read.
    #[arg(long, short)]
    model: String,
    /// Do not add BOS / EOS even where the model asks for them (`add_special = false`).
    #[arg(long)]
    no_bos: bool,
    /// Match control tokens written in the text (`<|im_start|>`) as single tokens.
    #[arg(long)]
    parse_special: bool,
    /// Print one JSON object `{"ids": [...], "pieces": [...]}`; a piece that is not valid
    /// UTF-8 (part of a character) is written `{"bytes": [..]}`.
    #[arg(long)]
    json: bool,
    /// The text, or `-` to read standard input.
    text: String,
}

/// Maps the model file and runs `f` with its tokenizer.
pub fn with_tokenizer<T>(model: &str, f: impl FnOnce(&Tokenizer<'_>) -> Result<T>) -> Result<T> {
    let path = crate::models::resolve_model(model)?;
    let map =
        MappedFile::open(&path).with_context(|| format!("{}: cannot open", path.display()))?;
    let file = map
        .parse()
        .with_context(|| format!("{}: not a valid GGUF file", path.display()))?;
    let tok =
        Tokenizer::from_gguf(&file).with_context(|| format!("{}: tokenizer", path.display()))?;
    f(&tok)
}

/// A piece for humans: printable text as is, escapes for control characters, `\xNN` for
/// bytes that are not UTF-8, in double quotes.
pub fn escape_piece(bytes: &[u8]) -> String {
    let mut s = String::from("\"");
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '"' => s.push_str("\\\""),
                '\\' => s.push_str("\\\\"),
                c if c.is_control() => s.extend(c.escape_default()),
                c => s.push(c),
            }
        }
        for b in chunk.invalid() {
            s.push_str(&format!("\\x{b:02x}"));
        }
    }
    s.push('"');
    s
}

/// A piece as reference JSON writes it: a string, or `{"bytes": [..]}` when not UTF-8.
fn json_piece(bytes: &[u8]) -> serde_json::Value {
    match std::str::from_utf8(bytes) {
        Ok(s) => serde_json::Value::from(s),
        Err(_) => serde_json::json!({ "bytes": bytes }),
    }
}

/// Prints the tokens of the text.
pub fn run(args: Args) -> Result<()> {
    let text = if args.text == "-" {
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .context("reading standard input")?;
        s
    } else {
        args.text
    };
    let opts = EncodeOptions {
        add_special: !args.no_bos,
        parse_special: args.parse_special,
    };
    with_tokenizer(&args.model, |tok| {
        let ids = tok.encode(&text, opts)?;
        drop(text);
        // Streamed, a piece at a time: no list of pieces, no JSON tree (a 1 MB text is
        // ~250k ids).
        let mut out = std::io::BufWriter::new(std::io::stdout().lock());
        if args.json {
            out.write_all(b"{\"ids\":")?;
            serde_json::to_writer(&mut out, &ids)?;
            out.write_all(b",\"pieces\":[")?;
            for (i, &id) in ids.iter().enumerate() {
                if i > 0 {
                    out.write_all(b",")?;
                }
                serde_json::to_writer(&mut out, &json_piece(&tok.piece(id)?))?;
            }
            out.write_all(b"]}\n")?;
        } else {
            for &id in &ids {
                writeln!(out, "{id:>7} {}", escape_piece(&tok.piece(id)?))?;
            }
        }
        out.flush()?;
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes() {
        assert_eq!(escape_piece(b"a\n\"b\""), r#""a\n\"b\"""#);
        assert_eq!(escape_piece(&[0xe2, 0x96]), r#""\xe2\x96""#);
        assert_eq!(escape_piece("é".as_bytes()), "\"é\"");
        assert_eq!(json_piece(&[0xe2]), serde_json::json!({"bytes": [226]}));
    }
}

//! Building a [`Tokenizer`] from GGUF metadata, as llama.cpp's vocab loader reads it.

use alloc::vec::Vec;

use super::error::grow;
use super::pre::PreConfig;
use super::specials::{self, SpecialIds};
use super::vocab::{TokenType, Vocab};
use super::{Error, Tokenizer};
use crate::gguf::{self, Name};

/// Everything a tokenizer is built from, as plain values: GGUF `tokenizer.*` metadata,
/// or hand-made (tests, other containers). `M` iterates the merges (`"Ġ t"`), rank order.
pub struct TokenizerMetadata<'a, M> {
    /// `tokenizer.ggml.model`; only `"gpt2"` is supported.
    pub model: &'a str,
    /// `tokenizer.ggml.pre`; `None` means llama.cpp's `default`, which we do not support.
    pub pre: Option<&'a str>,
    /// `tokenizer.ggml.tokens`, id order.
    pub tokens: Vec<&'a str>,
    /// `tokenizer.ggml.token_type`, one per token, or empty when the key is absent.
    pub token_types: Vec<i32>,
    /// `tokenizer.ggml.merges`.
    pub merges: M,
    /// Ids from `tokenizer.ggml.*_token_id` keys present in the file (out-of-range ids are
    /// ignored, as llama.cpp does). `eot`, `eom` and the FIM ids are found by text if absent.
    pub ids: SpecialIds,
    /// `tokenizer.ggml.add_bos_token`, if present.
    pub add_bos: Option<bool>,
    /// `tokenizer.ggml.add_eos_token`, if present.
    pub add_eos: Option<bool>,
    /// `tokenizer.ggml.add_space_prefix`, if present (only strips a leading space when
    /// detokenizing; BPE encoding ignores it, as in llama.cpp).
    pub add_space_prefix: Option<bool>,
}

const KEY_TOKEN_TYPE: &str = "tokenizer.ggml.token_type";

/// The `tokenizer.ggml.*_token_id` keys, with the field each sets; later keys win (the
/// deprecated prefix / suffix / middle keys come last, as in llama.cpp).
type IdField = fn(&mut SpecialIds) -> &mut Option<u32>;

const ID_KEYS: [(&str, IdField); 17] = [
    ("tokenizer.ggml.bos_token_id", |s| &mut s.bos),
    ("tokenizer.ggml.eos_token_id", |s| &mut s.eos),
    ("tokenizer.ggml.eot_token_id", |s| &mut s.eot),
    ("tokenizer.ggml.eom_token_id", |s| &mut s.eom),
    ("tokenizer.ggml.unknown_token_id", |s| &mut s.unk),
    ("tokenizer.ggml.seperator_token_id", |s| &mut s.sep),
    ("tokenizer.ggml.padding_token_id", |s| &mut s.pad),
    ("tokenizer.ggml.mask_token_id", |s| &mut s.mask),
    ("tokenizer.ggml.fim_pre_token_id", |s| &mut s.fim_pre),
    ("tokenizer.ggml.fim_suf_token_id", |s| &mut s.fim_suf),
    ("tokenizer.ggml.fim_mid_token_id", |s| &mut s.fim_mid),
    ("tokenizer.ggml.fim_pad_token_id", |s| &mut s.fim_pad),
    ("tokenizer.ggml.fim_rep_token_id", |s| &mut s.fim_rep),
    ("tokenizer.ggml.fim_sep_token_id", |s| &mut s.fim_sep),
    ("tokenizer.ggml.prefix_token_id", |s| &mut s.fim_pre),
    ("tokenizer.ggml.suffix_token_id", |s| &mut s.fim_suf),
    ("tokenizer.ggml.middle_token_id", |s| &mut s.fim_mid),
];

fn opt_bool(file: &gguf::File<'_>, key: &str) -> Result<Option<bool>, Error> {
    match file.get(key) {
        None => Ok(None),
        Some(_) => Ok(Some(file.get_bool(key)?)),
    }
}

impl<'a> Tokenizer<'a> {
    /// Reads the tokenizer from GGUF metadata (only the header is needed: a file whose tensor
    /// data is cut still works). Token texts stay borrowed from the file.
    ///
    /// Errors: `Gguf` (missing `tokenizer.ggml.model` / `tokens` / `merges`, wrong types),
    /// `UnsupportedModel` (anything but `gpt2`, e.g. SentencePiece `llama`),
    /// `UnknownPreTokenizer`, `LengthMismatch`, `BadVocabSize`, `OutOfMemory` (every table is allocated fallibly).
    pub fn from_gguf(file: &gguf::File<'a>) -> Result<Self, Error> {
        let model = file.get_str("tokenizer.ggml.model")?;
        if model != "gpt2" {
            return Err(Error::UnsupportedModel(Name::new(model)));
        }
        let pre = match file.get("tokenizer.ggml.pre") {
            None => None,
            Some(_) => Some(file.get_str("tokenizer.ggml.pre")?),
        };
        let tokens_arr = file.get_str_array("tokenizer.ggml.tokens")?;
        let n = tokens_arr.len();
        if n == 0 || n > i32::MAX as usize {
            return Err(Error::BadVocabSize(n));
        }
        let token_types = match file.get(KEY_TOKEN_TYPE) {
            None => Vec::new(),
            Some(v) => {
                let arr = file.get_array(KEY_TOKEN_TYPE)?;
                let it = arr.iter_i32().ok_or(gguf::Error::WrongType {
                    key: Name::new(KEY_TOKEN_TYPE),
                    expected: "array of i32",
                    found: v.type_name(),
                })?;
                if it.len() < n {
                    return Err(Error::LengthMismatch {
                        key: KEY_TOKEN_TYPE,
                        len: it.len(),
                        n_vocab: n,
                    });
                }
                grow::collect(it.take(n))?
            }
        };
        let merges = file.get_str_array("tokenizer.ggml.merges")?;
        let mut ids = SpecialIds::default();
        for (key, field) in ID_KEYS {
            if file.get(key).is_some() {
                let id = file.get_u32(key)?;
                if (id as usize) < n {
                    *field(&mut ids) = Some(id);
                }
            }
        }
        let meta = TokenizerMetadata {
            model,
            pre,
            tokens: grow::collect(tokens_arr)?,
            token_types,
            merges,
            ids,
            add_bos: opt_bool(file, "tokenizer.ggml.add_bos_token")?,
            add_eos: opt_bool(file, "tokenizer.ggml.add_eos_token")?,
            add_space_prefix: opt_bool(file, "tokenizer.ggml.add_space_prefix")?,
        };
        Self::from_metadata(meta)
    }

    /// Builds a tokenizer from plain metadata values (see [`TokenizerMetadata`]).
    ///
    /// Errors: `UnsupportedModel`, `UnknownPreTokenizer`, `LengthMismatch`, `BadVocabSize`, `OutOfMemory`.
    pub fn from_metadata<M: IntoIterator<Item = &'a str>>(
        meta: TokenizerMetadata<'a, M>,
    ) -> Result<Self, Error> {
        if meta.model != "gpt2" {
            return Err(Error::UnsupportedModel(Name::new(meta.model)));
        }
        let pre = PreConfig::from_name(meta.pre.unwrap_or("default"))?;
        let n = meta.tokens.len();
        if n == 0 || n > i32::MAX as usize {
            return Err(Error::BadVocabSize(n));
        }
        if !meta.token_types.is_empty() && meta.token_types.len() < n {
            return Err(Error::LengthMismatch {
                key: KEY_TOKEN_TYPE,
                len: meta.token_types.len(),
                n_vocab: n,
            });
        }
        let types = grow::collect(
            meta.token_types
                .iter()
                .take(n)
                .map(|&t| TokenType::from_i32(t)),
        )?;
        let max_piece = super::max_piece_bytes(meta.tokens.iter().copied());
        let mut vocab = Vocab::try_new(meta.tokens, types, meta.merges.into_iter())?;

        // llama.cpp's defaults for `gpt2` vocabularies are BOS = EOS = 11 (when in range);
        // a key in range replaces a default, one out of range is ignored.
        let in_range = |id: Option<u32>| id.filter(|&i| (i as usize) < n);
        let mut ids = SpecialIds {
            bos: in_range(Some(11)),
            eos: in_range(Some(11)),
            ..SpecialIds::default()
        };
        for (_, field) in ID_KEYS {
            let mut given = meta.ids;
            if let Some(id) = in_range(*field(&mut given)) {
                *field(&mut ids) = Some(id);
            }
        }
        let sp = specials::resolve(&mut vocab, ids)?;
        Ok(Tokenizer {
            vocab,
            pre,
            ids: sp.ids,
            eog: sp.eog,
            match_order: sp.match_order,
            add_bos: meta.add_bos.unwrap_or(pre.default_add_bos),
            add_eos: meta.add_eos.unwrap_or(false),
            add_space_prefix: meta.add_space_prefix.unwrap_or(false),
            max_piece,
        })
    }
}

//! Special token ids, the end-of-generation set and the re-typing llama.cpp applies at load.
//!
//! GGUF gives some ids (`tokenizer.ggml.bos_token_id`, …); llama.cpp finds the rest by token
//! text (EOT, EOM, the FIM tokens), forces every such token and every end-of-generation
//! token to be a control token (so a NORMAL `</s>` becomes control, with a warning), and
//! builds the end-of-generation set from a list of texts plus EOS, EOT, EOM and the FIM pad,
//! repo and file-separator tokens. We compute the same sets.
//!
//! Where llama.cpp's result depends on its hash map's iteration order (a vocabulary with two
//! texts for the same role, e.g. both `<|fim_pad|>` and `<fim_pad>`), we take the lowest id.

use alloc::vec::Vec;

use super::Error;
use super::error::grow;

use super::vocab::{TokenAttrs, Vocab};

/// Special token ids of a vocabulary (`None`: the vocabulary has none).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SpecialIds {
    /// Beginning of sequence.
    pub bos: Option<u32>,
    /// End of sequence.
    pub eos: Option<u32>,
    /// End of turn.
    pub eot: Option<u32>,
    /// End of message.
    pub eom: Option<u32>,
    /// Unknown.
    pub unk: Option<u32>,
    /// Separator.
    pub sep: Option<u32>,
    /// Padding.
    pub pad: Option<u32>,
    /// Mask.
    pub mask: Option<u32>,
    /// Fill-in-the-middle prefix.
    pub fim_pre: Option<u32>,
    /// Fill-in-the-middle suffix.
    pub fim_suf: Option<u32>,
    /// Fill-in-the-middle middle.
    pub fim_mid: Option<u32>,
    /// Fill-in-the-middle pad.
    pub fim_pad: Option<u32>,
    /// Fill-in-the-middle repository name.
    pub fim_rep: Option<u32>,
    /// Fill-in-the-middle file separator.
    pub fim_sep: Option<u32>,
}

/// Texts that make a token the EOT token when GGUF names none.
const EOT_TEXTS: &[&str] = &[
    "<|eot_id|>",
    "<|im_end|>",
    "<|end|>",
    "<end_of_turn>",
    "<|endoftext|>",
    "<|end_of_text|>",
    "<EOT>",
    "_<EOT>",
    "[EOT]",
    "<｜end▁of▁sentence｜>",
    "<end_of_utterance>",
];
const EOM_TEXTS: &[&str] = &["<|eom_id|>"];
const FIM_PRE_TEXTS: &[&str] = &[
    "<|fim_prefix|>",
    "<fim-prefix>",
    "<fim_prefix>",
    "<｜fim▁begin｜>",
    "<PRE>",
    "▁<PRE>",
    "<|code_prefix|>",
    "<|prefix|>",
];
const FIM_SUF_TEXTS: &[&str] = &[
    "<|fim_suffix|>",
    "<fim-suffix>",
    "<fim_suffix>",
    "<｜fim▁hole｜>",
    "<SUF>",
    "▁<SUF>",
    "<|code_suffix|>",
    "<|suffix|>",
];
const FIM_MID_TEXTS: &[&str] = &[
    "<|fim_middle|>",
    "<fim-middle>",
    "<fim_middle>",
    "<｜fim▁end｜>",
    "<MID>",
    "▁<MID>",
    "<|code_middle|>",
    "<|middle|>",
];
const FIM_PAD_TEXTS: &[&str] = &["<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>", "[PAD]"];
const FIM_REP_TEXTS: &[&str] = &[
    "<|fim_repo|>",
    "<|repo_name|>",
    "<fim-repo>",
    "<REPO>",
    "<reponame>",
];
const FIM_SEP_TEXTS: &[&str] = &["<|file_sep|>"];

/// The most end-of-generation ids a loaded tokenizer can have: one per EOG text llama.cpp
/// knows, plus the FIM pad, repo and separator ids and EOS, EOT and EOM.
pub const MAX_EOG_IDS: usize = EOG_TEXTS.len() + 6;

/// Texts that end generation (and become control tokens).
const EOG_TEXTS: &[&str] = &[
    "<|eot_id|>",
    "<|im_end|>",
    "<|end|>",
    "<|return|>",
    "<|call|>",
    "<|flush|>",
    "<|calls|>",
    "<end_of_turn>",
    "<|endoftext|>",
    "</s>",
    "<|eom_id|>",
    "<EOT>",
    "_<EOT>",
    "[EOT]",
    "[EOS]",
    "<|end_of_text|>",
    "<end_of_utterance>",
    "<eos>",
    "<turn|>",
    "<|tool_response>",
    "<｜end▁of▁sentence｜>",
    "[e~[",
];

/// Texts always rendered and matched as user-defined tokens (gpt-oss).
const FORCED_USER_DEFINED: &[&str] = &["<|channel|>", "<|message|>", "<|start|>", "<|constrain|>"];

/// Result of [`resolve`]: ids, the sorted EOG set and the special-token match order.
pub(crate) struct Specials {
    pub ids: SpecialIds,
    /// Sorted ascending, no duplicates.
    pub eog: Vec<u32>,
    /// Control, user-defined and unknown tokens, longest text first (ties: lower id first).
    pub match_order: Vec<u32>,
}

/// Lowest token id among `texts`.
fn find_any(vocab: &Vocab<'_>, texts: &[&str]) -> Option<u32> {
    texts.iter().filter_map(|t| vocab.token_id(t)).min()
}

fn make_control(vocab: &mut Vocab<'_>, id: u32) {
    vocab.attrs[id as usize].set(TokenAttrs::CONTROL);
}

fn insert_sorted(set: &mut Vec<u32>, id: u32) -> Result<(), Error> {
    if let Err(i) = set.binary_search(&id) {
        grow::reserve(set, 1)?;
        set.insert(i, id);
    }
    Ok(())
}

/// Completes `ids` by text, re-types tokens in `vocab.attrs`, and builds the EOG set and the
/// special-token match order, as llama.cpp's vocab loader does.
/// Errors: `OutOfMemory`.
pub(crate) fn resolve(vocab: &mut Vocab<'_>, mut ids: SpecialIds) -> Result<Specials, Error> {
    // Found by text when GGUF names none; the token becomes control.
    let by_text: [(&mut Option<u32>, &[&str]); 8] = [
        (&mut ids.eot, EOT_TEXTS),
        (&mut ids.eom, EOM_TEXTS),
        (&mut ids.fim_pre, FIM_PRE_TEXTS),
        (&mut ids.fim_suf, FIM_SUF_TEXTS),
        (&mut ids.fim_mid, FIM_MID_TEXTS),
        (&mut ids.fim_pad, FIM_PAD_TEXTS),
        (&mut ids.fim_rep, FIM_REP_TEXTS),
        (&mut ids.fim_sep, FIM_SEP_TEXTS),
    ];
    for (slot, texts) in by_text {
        if slot.is_none() {
            if let Some(id) = find_any(vocab, texts) {
                *slot = Some(id);
                make_control(vocab, id);
            }
        }
    }

    // Control tokens named "unused" are unused.
    for (id, a) in vocab.attrs.iter_mut().enumerate() {
        if a.is_control() && !a.is_unused() && vocab.strings.get(id as u32).contains("unused") {
            a.set(TokenAttrs::UNUSED);
        }
    }

    let mut eog = Vec::new();
    for id in [ids.fim_pad, ids.fim_rep, ids.fim_sep]
        .into_iter()
        .flatten()
    {
        insert_sorted(&mut eog, id)?;
    }
    for text in EOG_TEXTS {
        if let Some(id) = vocab.token_id(text) {
            insert_sorted(&mut eog, id)?;
            make_control(vocab, id);
        }
    }
    for text in FORCED_USER_DEFINED {
        if let Some(id) = vocab.token_id(text) {
            vocab.attrs[id as usize].replace(TokenAttrs::USER_DEFINED);
        }
    }
    for id in [ids.eos, ids.eot, ids.eom].into_iter().flatten() {
        insert_sorted(&mut eog, id)?;
    }

    // With both <|return|> and <|call|> (or <|calls|> and <|flush|>), <|end|> is not EOG.
    let has = |eog: &[u32], t: &str| eog.iter().any(|&id| vocab.strings.get(id) == t);
    let end = eog
        .iter()
        .copied()
        .find(|&id| vocab.strings.get(id) == "<|end|>");
    if let Some(end) = end {
        let call = has(&eog, "<|call|>") || has(&eog, "<|calls|>");
        if call && (has(&eog, "<|return|>") || has(&eog, "<|flush|>")) {
            eog.retain(|&id| id != end);
            vocab.attrs[end as usize].replace(TokenAttrs::USER_DEFINED);
        }
    }
    // Where the EOG set marks </s> as a normal token (gemma4, plamo), it is not EOG.
    let s = eog
        .iter()
        .copied()
        .find(|&id| vocab.strings.get(id) == "</s>");
    if let Some(s) = s {
        if has(&eog, "<|tool_response>") || has(&eog, "<|plamo:eos|>") {
            eog.retain(|&id| id != s);
            vocab.attrs[s as usize].replace(TokenAttrs::NORMAL);
        }
    }

    let is_special = |id: &u32| vocab.attrs[*id as usize].is_special();
    let n_special = (0..vocab.n_vocab() as u32).filter(is_special).count();
    let mut match_order: Vec<u32> = Vec::new();
    grow::reserve_exact(&mut match_order, n_special)?;
    match_order.extend((0..vocab.n_vocab() as u32).filter(is_special));
    match_order.sort_by_key(|&id| core::cmp::Reverse(vocab.strings.get(id).len()));

    Ok(Specials {
        ids,
        eog,
        match_order,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tokenizer::vocab::TokenType;
    use alloc::vec;

    #[test]
    fn retyping_and_eog() {
        let toks = vec![
            "a",
            "</s>",
            "<|im_end|>",
            "<|fim_pad|>",
            "<think>",
            "<unused0>",
            "<|endoftext|>",
        ];
        let types = vec![1, 1, 3, 3, 4, 3, 3]
            .into_iter()
            .map(TokenType::from_i32)
            .collect();
        let mut v = Vocab::new(toks, types, core::iter::empty());
        let ids = SpecialIds {
            eos: Some(2),
            ..Default::default()
        };
        let sp = resolve(&mut v, ids).unwrap();
        assert_eq!(sp.eog, [1, 2, 3, 6]);
        assert!(
            v.attrs[1].is_control() && v.attrs[1].is_normal(),
            "</s> re-typed to control"
        );
        assert_eq!(sp.ids.eot, Some(2), "lowest id among EOT texts");
        assert_eq!(sp.ids.fim_pad, Some(3));
        assert!(v.attrs[5].is_unused());
        assert_eq!(
            sp.match_order,
            [6, 3, 2, 5, 4, 1],
            "longest first, then lower id"
        );
    }
}

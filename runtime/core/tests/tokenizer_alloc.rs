//! The buffers a board's run allocates are sized before the run: the streaming decoder of
//! `try_decoder` never grows while any id of the vocabulary is fed to it (so the memory
//! plan's decoder bytes are the bytes used), and the plan's longest piece, computed from
//! the token texts alone, bounds every real piece.

mod tokenizer_util;

use bague::tokenizer::{Tokenizer, max_piece_bytes};
use tokenizer_util::{r1, smol};

fn check_decoder_never_grows(tok: &Tokenizer<'_>) {
    let n = tok.n_vocab() as u32;
    let max = tok.max_piece_bytes();
    let texts: Vec<&str> = (0..n).map(|id| tok.token_text(id).unwrap()).collect();
    // The renamed empty tokens (`[EMPTY_i]`) are what `token_text` gives; the plan sees the
    // empty text and must give the same bound.
    assert!(max_piece_bytes(texts.iter().copied()) >= max);
    let mut longest = 0;
    for id in 0..n {
        longest = longest.max(tok.piece(id).unwrap().len());
    }
    assert!(
        longest <= max,
        "a piece of {longest} bytes over the bound {max}"
    );
    assert!(longest > 0);

    let sizes = tok.decoder_bytes();
    let mut d = tok.try_decoder().unwrap();
    // Every id once, then ids that keep bytes pending (the tail of the vocabulary holds
    // the longest merges), each fed after every other: the capacities must stay put.
    let ids = (0..n).chain((0..n).rev().step_by(7));
    let mut total = 0usize;
    for id in ids {
        total += d.push(id).unwrap().len();
    }
    total += d.finish().len();
    assert!(total > 0);
    assert_eq!(
        d.capacities(),
        (sizes.piece, sizes.pending, sizes.out),
        "a decoder buffer grew"
    );
}

#[test]
fn smol_decoder_buffers_are_fixed() {
    check_decoder_never_grows(smol());
}

#[test]
fn r1_decoder_buffers_are_fixed() {
    check_decoder_never_grows(r1());
}

#[test]
fn byte_tokens_and_unknown_chars_are_bounded() {
    // A character outside the byte-level alphabet renders as `[UNK_BYTE_0x…<text>]`.
    let texts = ["a", "Ġb", "你", "<0x41>", ""];
    let m = max_piece_bytes(texts.iter().copied());
    let unk = "[UNK_BYTE_0x".len() + 2 * "你".len() + "你".len() + 1;
    assert_eq!(m, unk, "the unknown character's rendering is the longest");
    assert_eq!(
        max_piece_bytes(["", "", "", "", "", "", "", "", "", "", ""].into_iter()),
        10
    );
}

//! Token ids back to bytes: pieces, whole-sequence detokenization, and a streaming decoder
//! that only ever emits complete UTF-8.

use alloc::string::String;
use alloc::vec::Vec;

use super::byte_level::char_to_byte;
use super::{Error, Tokenizer};

/// Options of [`Tokenizer::decode_with`] (llama.cpp `llama_detokenize` flags).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DecodeOptions {
    /// Drop a leading BOS (when the vocabulary adds one) and a trailing EOS (when it adds one).
    pub remove_special: bool,
    /// Render control tokens as their text (`<|im_end|>`); `false` renders them as nothing.
    /// User-defined tokens (`<think>`) are always rendered.
    pub render_special: bool,
}

impl Default for DecodeOptions {
    /// Everything rendered, nothing removed: the text the model saw.
    fn default() -> Self {
        DecodeOptions {
            remove_special: false,
            render_special: true,
        }
    }
}

impl Tokenizer<'_> {
    /// Appends the bytes of token `id` to `out`.
    ///
    /// Normal tokens map their byte-level characters back to bytes (a piece can be part of a
    /// UTF-8 character); control, unknown and user-defined tokens render their text (control
    /// and unknown only with `render_special`); unused and undefined tokens render nothing.
    /// A character outside the byte-level alphabet renders as `[UNK_BYTE_0x…]` as in
    /// llama.cpp. Errors: `InvalidToken`. Source: llama.cpp `token_to_piece`.
    pub fn piece_into(
        &self,
        id: u32,
        render_special: bool,
        out: &mut Vec<u8>,
    ) -> Result<(), Error> {
        let v = &self.vocab;
        let attrs = *v.attrs.get(id as usize).ok_or(Error::InvalidToken {
            id,
            n_vocab: self.n_vocab() as u32,
        })?;
        let text = v.strings.get(id);
        if attrs.is_control() || attrs.is_unknown() {
            if render_special {
                out.extend_from_slice(text.as_bytes());
            }
        } else if attrs.is_user_defined() {
            out.extend_from_slice(text.as_bytes());
        } else if attrs.is_normal() {
            for c in text.chars() {
                match char_to_byte(c) {
                    Some(b) => out.push(b),
                    None => {
                        out.extend_from_slice(b"[UNK_BYTE_0x");
                        let mut buf = [0u8; 4];
                        for &b in c.encode_utf8(&mut buf).as_bytes() {
                            const HEX: &[u8; 16] = b"0123456789abcdef";
                            out.push(HEX[usize::from(b >> 4)]);
                            out.push(HEX[usize::from(b & 15)]);
                        }
                        out.extend_from_slice(text.as_bytes());
                        out.push(b']');
                    }
                }
            }
        } else if attrs.is_byte() {
            // `<0xAB>`: the hex digits at 3..5 (0 when they are not hex, as strtol gives).
            let hex = text.get(3..5).and_then(|h| u8::from_str_radix(h, 16).ok());
            out.push(hex.unwrap_or(0));
        }
        Ok(())
    }

    /// The bytes of token `id`, control tokens rendered (llama.cpp `token_to_piece` with
    /// `special = true`). Errors: `InvalidToken`.
    pub fn piece(&self, id: u32) -> Result<Vec<u8>, Error> {
        let mut out = Vec::new();
        self.piece_into(id, true, &mut out)?;
        Ok(out)
    }

    /// Bytes of `ids` with every token rendered (llama.cpp `llama_detokenize(ids,
    /// remove_special = false, unparse_special = true)`). Errors: `InvalidToken`.
    pub fn decode(&self, ids: &[u32]) -> Result<Vec<u8>, Error> {
        self.decode_with(ids, DecodeOptions::default())
    }

    /// Bytes of `ids` (llama.cpp `llama_detokenize`): pieces concatenated, then, for the
    /// pre-tokenizers that ask for it (`gpt-2`, `llama-bpe`), llama.cpp's `clean_spaces`
    /// pass. Errors: `InvalidToken`.
    pub fn decode_with(&self, mut ids: &[u32], opts: DecodeOptions) -> Result<Vec<u8>, Error> {
        let mut lstrip = self.add_space_prefix;
        if opts.remove_special && self.add_bos {
            if let (Some(&first), Some(bos)) = (ids.first(), self.ids.bos) {
                if first == bos {
                    lstrip = false;
                    ids = &ids[1..];
                }
            }
        }
        if opts.remove_special && self.add_eos {
            if let (Some(&last), Some(eos)) = (ids.last(), self.ids.eos) {
                if last == eos {
                    ids = &ids[..ids.len() - 1];
                }
            }
        }
        let mut out = Vec::new();
        for &id in ids {
            let start = out.len();
            self.piece_into(id, opts.render_special, &mut out)?;
            if lstrip && out.get(start) == Some(&b' ') {
                out.remove(start);
            }
            lstrip = false;
        }
        if self.pre.clean_spaces {
            clean_spaces(&mut out);
        }
        Ok(out)
    }

    /// A streaming decoder over this vocabulary (control tokens rendered) whose buffers
    /// are allocated now, fallibly, for the longest piece of the vocabulary
    /// ([`decoder_bytes`](Self::decoder_bytes) bytes): feeding it ids never allocates.
    /// Errors: `OutOfMemory`.
    pub fn try_decoder(&self) -> Result<Decoder<'_, '_>, Error> {
        let max = self.max_piece;
        let mut d = self.decoder();
        let reserve =
            |v: &mut Vec<u8>, n: usize| v.try_reserve_exact(n).map_err(|_| Error::oom::<u8>(n));
        reserve(&mut d.piece, max)?;
        reserve(&mut d.pending, max + 3)?;
        d.out
            .try_reserve_exact(3 * (max + 3))
            .map_err(|_| Error::oom::<u8>(3 * (max + 3)))?;
        Ok(d)
    }

    /// Bytes of the buffers of a [`try_decoder`](Self::try_decoder) decoder: the piece
    /// (`m`, the longest piece, [`max_piece_bytes`]), the pending bytes (`m + 3`), and the
    /// text out (`3 × (m + 3)`: a byte can become U+FFFD).
    pub fn decoder_bytes(&self) -> DecoderBytes {
        DecoderBytes::for_max_piece(self.max_piece)
    }

    /// The longest text one token can decode to ([`max_piece_bytes`] of the vocabulary).
    pub fn max_piece_bytes(&self) -> usize {
        self.max_piece
    }

    /// A streaming decoder over this vocabulary (control tokens rendered); its buffers
    /// grow as pieces need (infallibly; see [`try_decoder`](Self::try_decoder)).
    pub fn decoder(&self) -> Decoder<'_, '_> {
        Decoder {
            tok: self,
            render_special: true,
            pending: Vec::new(),
            piece: Vec::new(),
            out: String::new(),
        }
    }
}

/// Byte sizes of a streaming decoder's buffers for a vocabulary whose longest piece is
/// `max_piece` bytes ([`Tokenizer::decoder_bytes`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DecoderBytes {
    /// The longest piece (bytes).
    pub max_piece: usize,
    /// The piece buffer (`max_piece`).
    pub piece: usize,
    /// Bytes of an incomplete character plus a piece (`max_piece + 3`).
    pub pending: usize,
    /// The text out (`3 × pending`: each byte may become a 3-byte U+FFFD).
    pub out: usize,
}

impl DecoderBytes {
    /// The sizes for a longest piece of `max_piece` bytes.
    pub const fn for_max_piece(max_piece: usize) -> Self {
        DecoderBytes {
            max_piece,
            piece: max_piece,
            pending: max_piece + 3,
            out: 3 * (max_piece + 3),
        }
    }
}

/// The most bytes [`Tokenizer::piece_into`] can write for one token of a vocabulary with
/// these token texts (in id order), whatever type the token ends up with: a control,
/// unknown or user-defined token renders its text, a normal token maps each byte-level
/// character to a byte (a character outside the alphabet to `[UNK_BYTE_0x…<text>]`), a
/// byte token is one byte; an empty text is renamed `[EMPTY_<id>]`. Computed from the
/// texts alone, so that a memory plan made from the GGUF header gives the same number as
/// the loaded tokenizer.
pub fn max_piece_bytes<'s>(texts: impl Iterator<Item = &'s str>) -> usize {
    let mut max = 0;
    for (id, text) in texts.enumerate() {
        let n = if text.is_empty() {
            // `[EMPTY_` + decimal id + `]`: ASCII, one byte each however typed.
            let mut digits = 1;
            let mut x = id;
            while x >= 10 {
                x /= 10;
                digits += 1;
            }
            8 + digits
        } else {
            let normal: usize = text
                .chars()
                .map(|c| match char_to_byte(c) {
                    Some(_) => 1,
                    None => b"[UNK_BYTE_0x".len() + 2 * c.len_utf8() + text.len() + 1,
                })
                .sum();
            normal.max(text.len())
        };
        max = max.max(n);
    }
    max
}

/// llama.cpp's `clean_up_tokenization_spaces`: drop the space before `?`, `!`, `.`, `,`;
/// turn ` ' ` into `'`; drop the space before `'s`, `'m`, `'re`, `'ve`.
fn clean_spaces(text: &mut Vec<u8>) {
    // Pass 1: " ?" " !" " ." " ," lose the space.
    let mut w = 0;
    for i in 0..text.len() {
        let x = text[i];
        if w > 0 && text[w - 1] == b' ' && matches!(x, b'?' | b'!' | b'.' | b',') {
            w -= 1;
        }
        text[w] = x;
        w += 1;
    }
    text.truncate(w);

    // Pass 2: " ' " becomes "'". In place, as llama.cpp does it: the space after the quote
    // is overwritten with a NUL and skipped, and that NUL is what the next step sees as its
    // previous byte (so in " ' ' " only the first quote is cleaned).
    let n = text.len();
    let mut w = n.min(1);
    let mut i = 1;
    while i < n {
        let x = text[i];
        if x == b'\'' && i + 1 < n && text[i - 1] == b' ' && text[i + 1] == b' ' {
            w -= 1;
            i += 1;
            text[i] = 0;
        }
        text[w] = x;
        w += 1;
        i += 1;
    }
    text.truncate(w);

    // Pass 3: " 's" " 'm" " 're" " 've" lose the space.
    let src = core::mem::take(text);
    for i in 0..src.len() {
        let x = src[i];
        if x == b'\'' && i > 0 && src[i - 1] == b' ' && i + 1 < src.len() {
            let x1 = src[i + 1];
            let x2 = src.get(i + 2).copied();
            let drop = matches!(x1, b's' | b'm')
                || matches!((x1, x2), (b'r', Some(b'e')) | (b'v', Some(b'e')));
            if drop {
                text.pop();
            }
        }
        text.push(x);
    }
}

/// Streaming detokenizer: feed ids one at a time, get text that is always complete UTF-8.
///
/// Bytes of a character split across tokens wait until the character is complete. A byte
/// sequence that can no longer become valid UTF-8 is replaced by U+FFFD right away (one per
/// maximal invalid subsequence, as [`String::from_utf8_lossy`] does); an incomplete character
/// still pending at [`Decoder::finish`] also becomes U+FFFD. So the concatenated output equals
/// `String::from_utf8_lossy` of the one-shot [`Tokenizer::decode`] bytes (without its
/// `clean_spaces` pass, which only some pre-tokenizers use).
pub struct Decoder<'t, 'a> {
    tok: &'t Tokenizer<'a>,
    render_special: bool,
    /// Bytes of an incomplete character (at most 3).
    pending: Vec<u8>,
    piece: Vec<u8>,
    out: String,
}

impl Decoder<'_, '_> {
    /// Whether control tokens render as their text (default) or as nothing.
    pub fn render_special(mut self, yes: bool) -> Self {
        self.render_special = yes;
        self
    }

    /// Feeds one token; returns the text completed by it (possibly empty).
    /// Errors: `InvalidToken` (the decoder is unchanged).
    pub fn push(&mut self, id: u32) -> Result<&str, Error> {
        self.piece.clear();
        self.tok
            .piece_into(id, self.render_special, &mut self.piece)?;
        self.out.clear();
        self.pending.extend_from_slice(&self.piece);
        let mut rest = &self.pending[..];
        loop {
            match core::str::from_utf8(rest) {
                Ok(s) => {
                    self.out.push_str(s);
                    rest = &[];
                    break;
                }
                Err(e) => {
                    let (valid, tail) = rest.split_at(e.valid_up_to());
                    // SAFETY-free: `valid_up_to` bytes are valid UTF-8 by definition.
                    self.out
                        .push_str(core::str::from_utf8(valid).unwrap_or_default());
                    match e.error_len() {
                        Some(n) => {
                            self.out.push(char::REPLACEMENT_CHARACTER);
                            rest = &tail[n..];
                        }
                        None => {
                            rest = tail; // incomplete: wait for more bytes
                            break;
                        }
                    }
                }
            }
        }
        let keep = rest.len();
        let drop = self.pending.len() - keep;
        self.pending.drain(..drop);
        Ok(&self.out)
    }

    /// Ends the stream: returns U+FFFD if an incomplete character was pending, else "".
    pub fn finish(&mut self) -> &str {
        self.out.clear();
        // As `String::from_utf8_lossy`, into the buffer that is already there.
        for chunk in self.pending.utf8_chunks() {
            self.out.push_str(chunk.valid());
            if !chunk.invalid().is_empty() {
                self.out.push(char::REPLACEMENT_CHARACTER);
            }
        }
        self.pending.clear();
        &self.out
    }

    /// Capacities of the piece, pending and text buffers (for tests that check a decoder
    /// from [`Tokenizer::try_decoder`] never grows).
    pub fn capacities(&self) -> (usize, usize, usize) {
        (
            self.piece.capacity(),
            self.pending.capacity(),
            self.out.capacity(),
        )
    }

    /// Number of bytes waiting for the rest of their character.
    pub fn pending_bytes(&self) -> usize {
        self.pending.len()
    }
}

#[cfg(test)]
mod tests {
    use super::clean_spaces;
    use alloc::vec::Vec;

    fn clean(s: &str) -> alloc::string::String {
        let mut v: Vec<u8> = s.as_bytes().to_vec();
        clean_spaces(&mut v);
        alloc::string::String::from_utf8(v).unwrap()
    }

    #[test]
    fn clean_spaces_passes() {
        assert_eq!(clean("Hello , world !"), "Hello, world!");
        assert_eq!(clean("a ' b"), "a'b");
        assert_eq!(
            clean("it 's I 'm we 're they 've don 't we 'll"),
            "it's I'm we're they've don 't we 'll"
        );
        assert_eq!(clean(" ."), ".");
        assert_eq!(clean(" ' ' b"), "'' b");
    }
}

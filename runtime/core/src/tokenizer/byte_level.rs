//! The GPT-2 byte-level alphabet: every byte is stored in a BPE vocabulary as one printable
//! character, so that token texts are valid UTF-8 whatever bytes they stand for.
//!
//! Bytes `!`..=`~`, `¡`..=`¬` and `®`..=`ÿ` stand for themselves (as the code point of the
//! same value); the other 68 bytes (controls, space, DEL, the C1 range, NBSP and soft hyphen)
//! take the code points U+0100, U+0101, … in byte order. Source: GPT-2's `bytes_to_unicode`.

/// True for the bytes that stand for themselves.
const fn is_printable(b: u8) -> bool {
    matches!(b, 0x21..=0x7E | 0xA1..=0xAC | 0xAE..=0xFF)
}

/// Byte -> its character in the byte-level alphabet.
pub(crate) const BYTE_TO_CHAR: [char; 256] = {
    let mut t = ['\0'; 256];
    let mut n = 0u32;
    let mut b = 0usize;
    while b < 256 {
        let cp = if is_printable(b as u8) {
            b as u32
        } else {
            n += 1;
            0x100 + n - 1
        };
        t[b] = match char::from_u32(cp) {
            Some(c) => c,
            None => panic!("byte-level code points are below U+0144"),
        };
        b += 1;
    }
    t
};

/// Code point U+0100 + i -> the i-th byte that does not stand for itself.
const SHIFTED: [u8; 68] = {
    let mut t = [0u8; 68];
    let mut n = 0usize;
    let mut b = 0usize;
    while b < 256 {
        if !is_printable(b as u8) {
            t[n] = b as u8;
            n += 1;
        }
        b += 1;
    }
    t
};

/// Character of the byte-level alphabet -> the byte it stands for; `None` for any other
/// character.
#[inline]
pub(crate) fn char_to_byte(c: char) -> Option<u8> {
    let u = c as u32;
    if u < 0x100 {
        let b = u as u8;
        is_printable(b).then_some(b)
    } else {
        SHIFTED.get((u - 0x100) as usize).copied()
    }
}

/// Appends the byte-level encoding of `bytes` (one character per byte) to `out`.
#[inline]
pub(crate) fn encode_into(bytes: &[u8], out: &mut alloc::string::String) {
    for &b in bytes {
        out.push(BYTE_TO_CHAR[b as usize]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_every_byte() {
        for b in 0..=255u8 {
            assert_eq!(char_to_byte(BYTE_TO_CHAR[b as usize]), Some(b));
        }
        assert_eq!(BYTE_TO_CHAR[b' ' as usize], 'Ġ');
        assert_eq!(BYTE_TO_CHAR[b'\n' as usize], 'Ċ');
        assert_eq!(BYTE_TO_CHAR[0xAD], 'Ń');
        assert_eq!(char_to_byte('\u{144}'), None);
        assert_eq!(char_to_byte(' '), None);
        assert_eq!(char_to_byte('€'), None);
    }

    #[test]
    fn bijection() {
        let mut seen = [false; 0x144];
        for c in BYTE_TO_CHAR {
            assert!(!seen[c as usize]);
            seen[c as usize] = true;
        }
    }
}

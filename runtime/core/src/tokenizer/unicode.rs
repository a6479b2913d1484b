//! Code point classes as llama.cpp's pre-tokenizers see them.
//!
//! llama.cpp classifies each code point by its Unicode general category, reduced to one of
//! `\p{L}` letter, `\p{N}` number, `\p{Z}` separator, `\p{M}` mark, `\p{P}` punctuation,
//! `\p{S}` symbol, `\p{C}` other (control, format, surrogate, private use) or "undefined"
//! (unassigned), plus a separate whitespace bit for the Unicode `White_Space` property
//! (what its regexes call `\s`).
//!
//! Its tables are Unicode 15.1. The `unicode-general-category` crate we use is Unicode 16.0,
//! so the 5,185 code points that 16.0 assigned are mapped back to "undefined" here
//! ([`UNICODE_16_ADDED`]); a test pins the crate's version so that a newer one is noticed.

use unicode_general_category::{GeneralCategory as G, get_general_category};

/// Category and whitespace bits of one code point (llama.cpp's layout of the same facts).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub(crate) struct Flags(u16);

impl Flags {
    /// Unassigned code point (category Cn).
    pub const UNDEFINED: u16 = 0x0001;
    /// `\p{N}`.
    pub const NUMBER: u16 = 0x0002;
    /// `\p{L}`.
    pub const LETTER: u16 = 0x0004;
    /// `\p{Z}`.
    pub const SEPARATOR: u16 = 0x0008;
    /// `\p{M}`.
    pub const MARK: u16 = 0x0010;
    /// `\p{P}`.
    pub const PUNCTUATION: u16 = 0x0020;
    /// `\p{S}`.
    pub const SYMBOL: u16 = 0x0040;
    /// `\p{C}` without Cn.
    pub const CONTROL: u16 = 0x0080;
    /// Unicode `White_Space` (`\s`).
    pub const WHITESPACE: u16 = 0x0100;

    /// The flags of a position outside the fragment being split: no bit set.
    pub const OUT: Flags = Flags(0);

    /// True for a real code point (every code point has a category bit), false for [`Flags::OUT`].
    #[inline]
    pub fn in_range(self) -> bool {
        self.0 != 0
    }
    /// `\p{L}`.
    #[inline]
    pub fn is_letter(self) -> bool {
        self.0 & Self::LETTER != 0
    }
    /// `\p{N}`.
    #[inline]
    pub fn is_number(self) -> bool {
        self.0 & Self::NUMBER != 0
    }
    /// `\s`.
    #[inline]
    pub fn is_whitespace(self) -> bool {
        self.0 & Self::WHITESPACE != 0
    }
    /// `[^\s\p{L}\p{N}]` for a position inside the fragment.
    #[inline]
    pub fn is_other(self) -> bool {
        self.0 & (Self::WHITESPACE | Self::LETTER | Self::NUMBER) == 0 && self.in_range()
    }
    /// Raw bits (tests).
    #[cfg(test)]
    pub fn bits(self) -> u16 {
        self.0
    }
}

/// Flags of `c`.
#[inline]
pub(crate) fn flags(c: char) -> Flags {
    let u = c as u32;
    if u < 0x80 {
        return Flags(ASCII[u as usize]);
    }
    let mut bits = if added_in_unicode_16(u) {
        Flags::UNDEFINED
    } else {
        category_bits(c)
    };
    if is_white_space(u) {
        bits |= Flags::WHITESPACE;
    }
    Flags(bits)
}

/// Category bit of `c` from the general category (no whitespace bit).
fn category_bits(c: char) -> u16 {
    match get_general_category(c) {
        G::UppercaseLetter
        | G::LowercaseLetter
        | G::TitlecaseLetter
        | G::ModifierLetter
        | G::OtherLetter => Flags::LETTER,
        G::DecimalNumber | G::LetterNumber | G::OtherNumber => Flags::NUMBER,
        G::SpaceSeparator | G::LineSeparator | G::ParagraphSeparator => Flags::SEPARATOR,
        G::NonspacingMark | G::SpacingMark | G::EnclosingMark => Flags::MARK,
        G::ConnectorPunctuation
        | G::DashPunctuation
        | G::OpenPunctuation
        | G::ClosePunctuation
        | G::InitialPunctuation
        | G::FinalPunctuation
        | G::OtherPunctuation => Flags::PUNCTUATION,
        G::MathSymbol | G::CurrencySymbol | G::ModifierSymbol | G::OtherSymbol => Flags::SYMBOL,
        G::Control | G::Format | G::Surrogate | G::PrivateUse => Flags::CONTROL,
        // `Unassigned`, and any category a later crate version adds.
        _ => Flags::UNDEFINED,
    }
}

/// Unicode `White_Space` property (25 code points).
#[inline]
pub(crate) fn is_white_space(u: u32) -> bool {
    matches!(
        u,
        0x09..=0x0D
            | 0x20
            | 0x85
            | 0xA0
            | 0x1680
            | 0x2000..=0x200A
            | 0x2028
            | 0x2029
            | 0x202F
            | 0x205F
            | 0x3000
    )
}

/// Flags of the ASCII range, written out so that the hot path needs no table lookups.
const ASCII: [u16; 128] = {
    let mut t = [0u16; 128];
    let mut i = 0;
    while i < 128 {
        let c = i as u8;
        t[i] = match c {
            b'0'..=b'9' => Flags::NUMBER,
            b'A'..=b'Z' | b'a'..=b'z' => Flags::LETTER,
            b' ' => Flags::SEPARATOR | Flags::WHITESPACE,
            0x09..=0x0D => Flags::CONTROL | Flags::WHITESPACE,
            0x00..=0x1F | 0x7F => Flags::CONTROL,
            b'$' | b'+' | b'<' | b'=' | b'>' | b'^' | b'`' | b'|' | b'~' => Flags::SYMBOL,
            _ => Flags::PUNCTUATION,
        };
        i += 1;
    }
    t
};

/// Code point ranges (inclusive) first assigned in Unicode 16.0: llama.cpp (Unicode 15.1
/// tables) treats them as unassigned. Source: the Unicode Character Database, DerivedAge 16.0.
pub(crate) const UNICODE_16_ADDED: &[(u32, u32)] = &[
    (0x0897, 0x0897),
    (0x1B4E, 0x1B4F),
    (0x1B7F, 0x1B7F),
    (0x1C89, 0x1C8A),
    (0x2427, 0x2429),
    (0x31E4, 0x31E5),
    (0xA7CB, 0xA7CD),
    (0xA7DA, 0xA7DC),
    (0x105C0, 0x105F3),
    (0x10D40, 0x10D65),
    (0x10D69, 0x10D85),
    (0x10D8E, 0x10D8F),
    (0x10EC2, 0x10EC4),
    (0x10EFC, 0x10EFC),
    (0x11380, 0x11389),
    (0x1138B, 0x1138B),
    (0x1138E, 0x1138E),
    (0x11390, 0x113B5),
    (0x113B7, 0x113C0),
    (0x113C2, 0x113C2),
    (0x113C5, 0x113C5),
    (0x113C7, 0x113CA),
    (0x113CC, 0x113D5),
    (0x113D7, 0x113D8),
    (0x113E1, 0x113E2),
    (0x116D0, 0x116E3),
    (0x11BC0, 0x11BE1),
    (0x11BF0, 0x11BF9),
    (0x11F5A, 0x11F5A),
    (0x13460, 0x143FA),
    (0x16100, 0x16139),
    (0x16D40, 0x16D79),
    (0x18CFF, 0x18CFF),
    (0x1CC00, 0x1CCF9),
    (0x1CD00, 0x1CEB3),
    (0x1E5D0, 0x1E5FA),
    (0x1E5FF, 0x1E5FF),
    (0x1F8B2, 0x1F8BB),
    (0x1F8C0, 0x1F8C1),
    (0x1FA89, 0x1FA89),
    (0x1FA8F, 0x1FA8F),
    (0x1FABE, 0x1FABE),
    (0x1FAC6, 0x1FAC6),
    (0x1FADC, 0x1FADC),
    (0x1FADF, 0x1FADF),
    (0x1FAE9, 0x1FAE9),
    (0x1FBCB, 0x1FBEF),
];

/// True if `u` lies in [`UNICODE_16_ADDED`].
fn added_in_unicode_16(u: u32) -> bool {
    // All ranges are above U+0896; most text never reaches the search.
    if u < 0x0897 {
        return false;
    }
    match UNICODE_16_ADDED.binary_search_by(|&(lo, _)| lo.cmp(&u)) {
        Ok(_) => true,
        Err(0) => false,
        Err(i) => u <= UNICODE_16_ADDED[i - 1].1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crate_is_unicode_16_0() {
        // UNICODE_16_ADDED assumes exactly this version: a newer crate assigns more code
        // points that llama.cpp's 15.1 tables do not know, and the table must grow.
        assert_eq!(unicode_general_category::UNICODE_VERSION, (16, 0, 0));
    }

    #[test]
    fn unicode_16_table_covers_5185_assigned_code_points() {
        let mut n = 0;
        for &(lo, hi) in UNICODE_16_ADDED {
            assert!(lo <= hi);
            for u in lo..=hi {
                let c = char::from_u32(u).unwrap();
                assert_ne!(get_general_category(c), G::Unassigned, "U+{u:04X}");
                assert_eq!(flags(c).bits() & 0xFF, Flags::UNDEFINED, "U+{u:04X}");
                n += 1;
            }
        }
        assert_eq!(n, 5185);
        for w in UNICODE_16_ADDED.windows(2) {
            assert!(w[0].1 + 1 < w[1].0, "ranges sorted and merged");
        }
    }

    #[test]
    fn ascii_table_matches_general_category() {
        for u in 0u32..128 {
            let c = char::from_u32(u).unwrap();
            let mut want = category_bits(c);
            if is_white_space(u) {
                want |= Flags::WHITESPACE;
            }
            assert_eq!(flags(c).bits(), want, "U+{u:04X}");
        }
    }

    #[test]
    fn samples() {
        assert!(flags('é').is_letter());
        assert!(flags('²').is_number());
        assert!(flags('\u{3000}').is_whitespace());
        assert!(flags('\u{A0}').is_whitespace());
        assert!(!flags('\u{1C}').is_whitespace());
        assert!(flags('\u{85}').is_whitespace());
        assert!(flags('\u{301}').is_other());
        assert!(flags('\u{E000}').is_other());
        assert!(
            flags('\u{378}').is_other(),
            "unassigned is neither L, N nor \\s"
        );
        assert!(!Flags::OUT.is_other());
    }
}

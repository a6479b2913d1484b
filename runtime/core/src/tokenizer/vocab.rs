//! Vocabulary tables: token texts borrowed from the file, text -> id index, token attributes,
//! and the BPE merge table.
//!
//! BPE works on *symbols*: a byte-level character or the concatenation made by a merge.
//! Every symbol that can occur has an id: a vocab token's id when its text is a token (as
//! llama.cpp's text -> id map gives it: the last of duplicate texts wins), otherwise a
//! synthetic id from `n_vocab` on, whose text is kept in `extra`.
//!
//! The merge table has two forms ([`MergeTable`]). Real vocabularies list merge results in
//! rank order with no duplicate texts: the result of merge `i` is token `i + k` for a fixed
//! `k` (256 for Qwen2 and R1, 252 for SmolLM2). We check that at load by comparing texts in
//! file order, and then need no table: the merge of two adjacent symbols is the token whose
//! text is their concatenation, if that token is merge result `i` and merge `i` splits it
//! where the two symbols meet. Loading R1's 151k merges this way costs a sequential scan
//! instead of 450k hash lookups. Any other vocabulary gets a hash table keyed by the symbol
//! ids of the two parts, with synthetic ids for parts and results that are not tokens, so
//! that odd files still tokenize exactly as llama.cpp does (it looks symbols up by text).

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt::Write as _;
use core::hash::BuildHasher;

use hashbrown::{HashMap, HashTable};
use rustc_hash::FxBuildHasher;

use super::Error;
use super::byte_level::{self, BYTE_TO_CHAR};
use super::error::grow;

/// Token attribute bits (llama.cpp's `llama_token_attr` facts, effective after load).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct TokenAttrs(u16);

impl TokenAttrs {
    /// No type (GGUF type 0 or an unknown number).
    pub const UNDEFINED: u16 = 0;
    /// The unknown token.
    pub const UNKNOWN: u16 = 1 << 0;
    /// Unused (GGUF type 5, or a control token whose text contains `unused`).
    pub const UNUSED: u16 = 1 << 1;
    /// Normal text token.
    pub const NORMAL: u16 = 1 << 2;
    /// Control token: matched in text only with `parse_special`, rendered only on request.
    pub const CONTROL: u16 = 1 << 3;
    /// User-defined token: always matched in text as a whole, always rendered.
    pub const USER_DEFINED: u16 = 1 << 4;
    /// Byte token (`<0xAB>`).
    pub const BYTE: u16 = 1 << 5;

    /// Raw bits.
    pub fn bits(self) -> u16 {
        self.0
    }
    /// Control token (includes normal tokens that llama.cpp re-types, such as `</s>`).
    pub fn is_control(self) -> bool {
        self.0 & Self::CONTROL != 0
    }
    /// User-defined token (`<think>`, `<tool_call>`).
    pub fn is_user_defined(self) -> bool {
        self.0 & Self::USER_DEFINED != 0
    }
    /// Normal token.
    pub fn is_normal(self) -> bool {
        self.0 & Self::NORMAL != 0
    }
    /// Unknown token.
    pub fn is_unknown(self) -> bool {
        self.0 & Self::UNKNOWN != 0
    }
    /// Unused token.
    pub fn is_unused(self) -> bool {
        self.0 & Self::UNUSED != 0
    }
    /// Byte token.
    pub fn is_byte(self) -> bool {
        self.0 & Self::BYTE != 0
    }
    /// Matched as a whole in text before BPE (control, user-defined or unknown).
    pub fn is_special(self) -> bool {
        self.0 & (Self::CONTROL | Self::USER_DEFINED | Self::UNKNOWN) != 0
    }
    pub(crate) fn set(&mut self, bits: u16) {
        self.0 |= bits;
    }
    pub(crate) fn replace(&mut self, bits: u16) {
        self.0 = bits;
    }
}

/// A token's type as stored in GGUF `tokenizer.ggml.token_type`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[repr(u8)]
pub enum TokenType {
    /// 0, or a number outside 1..=6.
    Undefined = 0,
    /// 1.
    Normal = 1,
    /// 2.
    Unknown = 2,
    /// 3.
    Control = 3,
    /// 4.
    UserDefined = 4,
    /// 5.
    Unused = 5,
    /// 6.
    Byte = 6,
}

impl TokenType {
    /// From the GGUF number; anything unknown is `Undefined` (as llama.cpp does).
    pub fn from_i32(v: i32) -> Self {
        match v {
            1 => TokenType::Normal,
            2 => TokenType::Unknown,
            3 => TokenType::Control,
            4 => TokenType::UserDefined,
            5 => TokenType::Unused,
            6 => TokenType::Byte,
            _ => TokenType::Undefined,
        }
    }

    /// The attributes llama.cpp starts from for this type.
    pub(crate) fn attrs(self) -> TokenAttrs {
        TokenAttrs(match self {
            TokenType::Undefined => TokenAttrs::UNDEFINED,
            TokenType::Normal => TokenAttrs::NORMAL,
            TokenType::Unknown => TokenAttrs::UNKNOWN,
            TokenType::Control => TokenAttrs::CONTROL,
            TokenType::UserDefined => TokenAttrs::USER_DEFINED,
            TokenType::Unused => TokenAttrs::UNUSED,
            TokenType::Byte => TokenAttrs::BYTE,
        })
    }
}

/// One entry of the merge table.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Merge {
    /// Position in `tokenizer.ggml.merges` (lower merges first).
    pub rank: u32,
    /// Symbol id of the concatenation.
    pub result: u32,
}

/// Texts of all symbols: tokens (borrowed), renamed empty tokens, synthetic symbols.
pub(crate) struct Strings<'a> {
    tokens: Vec<&'a str>,
    /// Empty token texts, renamed `[EMPTY_<id>]` as llama.cpp does; sorted by id.
    renamed: Vec<(u32, String)>,
    /// Texts of synthetic symbols `n_vocab + i`.
    extra: Vec<String>,
}

impl Strings<'_> {
    /// Text of symbol `id` (must exist).
    #[inline]
    pub fn get(&self, id: u32) -> &str {
        let i = id as usize;
        match self.tokens.get(i) {
            Some(s) if !s.is_empty() => s,
            Some(_) => match self.renamed.binary_search_by_key(&id, |(k, _)| *k) {
                Ok(j) => &self.renamed[j].1,
                Err(_) => "",
            },
            None => &self.extra[i - self.tokens.len()],
        }
    }
}

#[inline]
fn hash_str(s: &str) -> u64 {
    FxBuildHasher.hash_one(s.as_bytes())
}

/// The hash of token `id`'s text while the index is built (no renamed or synthetic text
/// exists before the table's first growth is reserved).
fn hash_str_of(tokens: &[&str], id: u32) -> u64 {
    hash_str(tokens.get(id as usize).copied().unwrap_or(""))
}

/// How many of the 256 byte-level characters are not the text of a token (in `texts`):
/// each becomes a synthetic symbol when the tables are built (0 for real vocabularies).
pub fn missing_byte_symbols<'s>(texts: impl Iterator<Item = &'s str>) -> usize {
    let mut seen = [false; 256];
    for t in texts {
        let mut chars = t.chars();
        if let (Some(c), None) = (chars.next(), chars.next()) {
            if let Some(b) = byte_level::char_to_byte(c) {
                seen[b as usize] = true;
            }
        }
    }
    seen.iter().filter(|&&s| !s).count()
}

/// Longest renamed empty-token text: `[EMPTY_` + 10 digits + `]`.
const EMPTY_NAME_MAX: usize = 18;

/// An entry of the text -> id index. The first 8 bytes and the length of the text are kept
/// in the entry, so most lookups (texts of at most 8 bytes: most merge parts) compare
/// without touching the text itself, which is a cache miss away in the file.
#[derive(Clone, Copy)]
struct Slot {
    head: u64,
    len: u32,
    id: u32,
}

#[inline]
fn head_of(s: &[u8]) -> u64 {
    let mut b = [0u8; 8];
    let n = s.len().min(8);
    b[..n].copy_from_slice(&s[..n]);
    u64::from_le_bytes(b)
}

impl Slot {
    #[inline]
    fn new(s: &str, id: u32) -> Self {
        Slot {
            head: head_of(s.as_bytes()),
            len: s.len() as u32,
            id,
        }
    }

    /// Whether this slot holds text `s` (whose head is `head`).
    #[inline]
    fn holds(&self, strings: &Strings<'_>, s: &str, head: u64) -> bool {
        self.head == head
            && self.len as usize == s.len()
            && (s.len() <= 8 || strings.get(self.id).as_bytes()[8..] == s.as_bytes()[8..])
    }
}

/// The vocabulary and merge tables.
pub(crate) struct Vocab<'a> {
    pub strings: Strings<'a>,
    /// Text -> symbol id (tokens, then synthetic symbols).
    index: HashTable<Slot>,
    /// Ids hidden by a later token with the same text (llama.cpp keeps the last).
    pub shadowed: Vec<u32>,
    /// GGUF token types.
    pub types: Vec<TokenType>,
    /// Effective attributes (after llama.cpp's re-typing, see `specials`).
    pub attrs: Vec<TokenAttrs>,
    /// Symbol id of each byte's byte-level character.
    pub byte_sym: [u32; 256],
    /// The merges.
    pub merges: MergeTable,
}

/// How merges are looked up (see the module docs).
pub(crate) enum MergeTable {
    /// Merge `i` makes token `i + offset`; `split[i]` is the byte length of its left part
    /// (0 for a line that cannot merge anything).
    Positional { offset: u32, split: Vec<u16> },
    /// `(left << 32) | right` symbol ids -> merge.
    Pairs(HashMap<u64, Merge, FxBuildHasher>),
}

/// Splits a merge line at the first space from byte 1 on, as llama.cpp does. `None` for a
/// line without one or with an empty part: it can never match two symbols.
fn split_merge(m: &str) -> Option<(&str, &str)> {
    let sp = m.bytes().skip(1).position(|c| c == b' ')? + 1;
    let (a, b) = (&m[..sp], &m[sp + 1..]);
    (!a.is_empty() && !b.is_empty()).then_some((a, b))
}

impl<'a> Vocab<'a> {
    /// Builds the tables (infallible allocation; for tests).
    #[cfg(test)]
    pub fn new(
        tokens: Vec<&'a str>,
        types: Vec<TokenType>,
        merges: impl Iterator<Item = &'a str>,
    ) -> Self {
        Self::try_new(tokens, types, merges).unwrap()
    }

    /// Builds the tables. `tokens` must be non-empty and fit `i32` (checked by the caller);
    /// `types` has one entry per token, or is empty for "all normal". Every table is
    /// allocated fallibly. Errors: `OutOfMemory`.
    pub fn try_new(
        tokens: Vec<&'a str>,
        types: Vec<TokenType>,
        merges: impl Iterator<Item = &'a str>,
    ) -> Result<Self, Error> {
        let n = tokens.len();
        let mut renamed = Vec::new();
        for (i, _) in tokens.iter().enumerate().filter(|(_, s)| s.is_empty()) {
            let mut name = String::new();
            name.try_reserve_exact(EMPTY_NAME_MAX)
                .map_err(|_| Error::oom::<u8>(EMPTY_NAME_MAX))?;
            // Writing into reserved room cannot fail.
            let _ = write!(name, "[EMPTY_{i}]");
            grow::push(&mut renamed, (i as u32, name))?;
        }
        let types = if types.is_empty() {
            let mut t = Vec::new();
            grow::reserve_exact(&mut t, n)?;
            t.resize(n, TokenType::Normal);
            t
        } else {
            types
        };
        let attrs = grow::collect(types.iter().map(|t| t.attrs()))?;
        let mut index = HashTable::new();
        // Every token, plus the byte-level symbols that are not tokens (at most 256).
        index
            .try_reserve(n.saturating_add(256), |k: &Slot| hash_str_of(&tokens, k.id))
            .map_err(|_| Error::oom::<Slot>(n.saturating_add(256)))?;
        let missing = missing_byte_symbols(tokens.iter().copied());
        let mut extra = Vec::new();
        grow::reserve_exact(&mut extra, missing)?;
        let mut v = Vocab {
            strings: Strings {
                tokens,
                renamed,
                extra,
            },
            index,
            shadowed: Vec::new(),
            types,
            attrs,
            byte_sym: [0; 256],
            merges: MergeTable::Pairs(HashMap::default()),
        };
        for id in 0..n as u32 {
            v.insert_token(id)?;
        }
        let mut buf = [0u8; 4];
        for b in 0..256 {
            let c = BYTE_TO_CHAR[b].encode_utf8(&mut buf);
            v.byte_sym[b] = v.intern(c)?;
        }
        let merges: Vec<&'a str> = {
            let mut m = Vec::new();
            let (lo, _) = merges.size_hint();
            grow::reserve_exact(&mut m, lo)?;
            for line in merges {
                grow::push(&mut m, line)?;
            }
            m
        };
        v.merges = match v.positional(&merges)? {
            Some(table) => table,
            None => v.pair_table(&merges)?,
        };
        Ok(v)
    }

    /// The positional merge table, if this vocabulary has that shape (see the module docs).
    /// Errors: `OutOfMemory`.
    fn positional(&self, merges: &[&str]) -> Result<Option<MergeTable>, Error> {
        let Some(offset) = self.positional_offset(merges)? else {
            return Ok(None);
        };
        let mut split = Vec::new();
        grow::reserve_exact(&mut split, merges.len())?;
        for (i, m) in merges.iter().enumerate() {
            let len = match split_merge(m) {
                None => 0,
                Some((a, b)) if self.is_concat((i + offset) as u32, a, b) => {
                    match u16::try_from(a.len()) {
                        Ok(n) => n,
                        Err(_) => return Ok(None),
                    }
                }
                Some(_) => return Ok(None),
            };
            split.push(len);
        }
        Ok(Some(MergeTable::Positional {
            offset: offset as u32,
            split,
        }))
    }

    /// The `k` of a positional table (merge `i` makes token `i + k`), if the first
    /// mergeable line says so. Errors: `OutOfMemory`.
    fn positional_offset(&self, merges: &[&str]) -> Result<Option<usize>, Error> {
        if !self.shadowed.is_empty() || merges.len() > u32::MAX as usize {
            return Ok(None);
        }
        let Some((first, (a, b))) = merges
            .iter()
            .enumerate()
            .find_map(|(i, m)| Some((i, split_merge(m)?)))
        else {
            return Ok(None);
        };
        let mut buf = String::new();
        buf.try_reserve_exact(a.len() + b.len())
            .map_err(|_| Error::oom::<u8>(a.len() + b.len()))?;
        buf.push_str(a);
        buf.push_str(b);
        let Some(offset) = self
            .token_id(&buf)
            .and_then(|id| (id as usize).checked_sub(first))
        else {
            return Ok(None);
        };
        Ok((offset + merges.len() <= self.n_vocab()).then_some(offset))
    }

    /// The general merge table: every part and result interned, pairs keyed by symbol ids.
    /// Errors: `OutOfMemory`.
    fn pair_table(&mut self, merges: &[&str]) -> Result<MergeTable, Error> {
        let mut map: HashMap<u64, Merge, FxBuildHasher> = HashMap::default();
        map.try_reserve(merges.len())
            .map_err(|_| Error::oom::<(u64, Merge)>(merges.len()))?;
        let mut buf = String::new();
        for (rank, m) in merges.iter().enumerate() {
            let Some((a, b)) = split_merge(m) else {
                continue;
            };
            let left = self.part(a)?;
            let right = self.part(b)?;
            buf.clear();
            buf.try_reserve(a.len() + b.len())
                .map_err(|_| Error::oom::<u8>(a.len() + b.len()))?;
            buf.push_str(a);
            buf.push_str(b);
            let result = self.intern(&buf)?;
            let key = (u64::from(left) << 32) | u64::from(right);
            // The first occurrence of a pair keeps its rank.
            map.entry(key).or_insert(Merge {
                rank: rank as u32,
                result,
            });
        }
        Ok(MergeTable::Pairs(map))
    }

    /// Merge of adjacent symbols with ids `left`, `right` and texts `text[..mid]`,
    /// `text[mid..]`, if the vocabulary has one.
    #[inline]
    pub fn merge(&self, left: u32, right: u32, text: &str, mid: usize) -> Option<Merge> {
        match &self.merges {
            MergeTable::Pairs(map) => map
                .get(&((u64::from(left) << 32) | u64::from(right)))
                .copied(),
            MergeTable::Positional { offset, split } => {
                let result = self.token_id(text)?;
                let rank = result.checked_sub(*offset)?;
                (usize::from(*split.get(rank as usize)?) == mid).then_some(Merge { rank, result })
            }
        }
    }

    /// Whether token `id` exists and its text is `a` followed by `b`.
    #[inline]
    fn is_concat(&self, id: u32, a: &str, b: &str) -> bool {
        match self.strings.tokens.get(id as usize) {
            Some(t) => t.len() == a.len() + b.len() && t.starts_with(a) && t.ends_with(b),
            None => false,
        }
    }

    /// Number of tokens.
    #[inline]
    pub fn n_vocab(&self) -> usize {
        self.strings.tokens.len()
    }

    /// Errors: `OutOfMemory` (the index was reserved for every token: only a shadowed id's
    /// record can grow).
    fn insert_token(&mut self, id: u32) -> Result<(), Error> {
        let Vocab {
            strings,
            index,
            shadowed,
            ..
        } = self;
        let s = strings.get(id);
        let (h, head) = (hash_str(s), head_of(s.as_bytes()));
        // One probe for both cases (most tokens are new).
        match index.entry(
            h,
            |k| k.holds(strings, s, head),
            |k| hash_str(strings.get(k.id)),
        ) {
            hashbrown::hash_table::Entry::Occupied(mut e) => {
                let slot = e.get_mut();
                grow::push(shadowed, slot.id)?;
                slot.id = id;
            }
            hashbrown::hash_table::Entry::Vacant(e) => {
                e.insert(Slot::new(s, id));
            }
        }
        Ok(())
    }

    /// Symbol id of a merge part: single byte-level characters (a large share of parts)
    /// come from `byte_sym` without a hash lookup.
    #[inline]
    fn part(&mut self, s: &str) -> Result<u32, Error> {
        let mut chars = s.chars();
        if let (Some(c), None) = (chars.next(), chars.next()) {
            if let Some(b) = byte_level::char_to_byte(c) {
                return Ok(self.byte_sym[b as usize]);
            }
        }
        self.intern(s)
    }

    /// Symbol id of `s`, adding a synthetic symbol if it is new.
    /// Errors: `OutOfMemory`.
    fn intern(&mut self, s: &str) -> Result<u32, Error> {
        if let Some(id) = self.symbol(s) {
            return Ok(id);
        }
        let id = (self.n_vocab() + self.strings.extra.len()) as u32;
        let mut text = String::new();
        text.try_reserve_exact(s.len())
            .map_err(|_| Error::oom::<u8>(s.len()))?;
        text.push_str(s);
        grow::push(&mut self.strings.extra, text)?;
        let Vocab { strings, index, .. } = self;
        index
            .try_reserve(1, |k| hash_str(strings.get(k.id)))
            .map_err(|_| Error::oom::<Slot>(index.len() + 1))?;
        index.insert_unique(hash_str(s), Slot::new(s, id), |k| {
            hash_str(strings.get(k.id))
        });
        Ok(id)
    }

    /// Symbol id of `s` (a token or a synthetic symbol).
    #[inline]
    pub fn symbol(&self, s: &str) -> Option<u32> {
        let head = head_of(s.as_bytes());
        self.index
            .find(hash_str(s), |k| k.holds(&self.strings, s, head))
            .map(|k| k.id)
    }

    /// Token id of `s`, as llama.cpp's text -> id map gives it.
    #[inline]
    pub fn token_id(&self, s: &str) -> Option<u32> {
        self.symbol(s).filter(|&id| (id as usize) < self.n_vocab())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    #[test]
    fn pair_table_for_odd_vocabularies() {
        let v = Vocab::new(
            vec!["a", "b", "ab", "", "a"],
            vec![],
            ["a b", "ab b", "a b", "nospace", "c d"].into_iter(),
        );
        assert!(matches!(v.merges, MergeTable::Pairs(_)), "duplicate texts");
        assert_eq!(v.token_id("a"), Some(4), "last duplicate wins");
        assert_eq!(v.shadowed, [0]);
        assert_eq!(v.token_id("[EMPTY_3]"), Some(3));
        assert_eq!(v.strings.get(3), "[EMPTY_3]");
        let (a, b, ab) = (4, 1, 2);
        assert_eq!(
            v.merge(a, b, "ab", 1).map(|m| (m.rank, m.result)),
            Some((0, ab)),
            "first rank kept"
        );
        let abb = v.merge(ab, b, "abb", 2).unwrap().result;
        assert!(
            abb as usize >= v.n_vocab(),
            "synthetic symbol for a non-token result"
        );
        assert_eq!(v.strings.get(abb), "abb");
        assert_eq!(v.token_id("abb"), None);
        assert_eq!(v.symbol("abb"), Some(abb));
        let (c, d) = (v.symbol("c").unwrap(), v.symbol("d").unwrap());
        assert_eq!(v.merge(c, d, "cd", 1).unwrap().rank, 4);
        assert_eq!(v.strings.get(v.byte_sym[b'a' as usize]), "a");
        assert_eq!(v.strings.get(v.byte_sym[b' ' as usize]), "Ġ");
    }

    #[test]
    fn positional_table() {
        //                     0    1    2    3     4      5
        let v = Vocab::new(
            vec!["a", "b", "c", "ab", "abc", "bc"],
            vec![],
            ["a b", "ab c", "oops"].into_iter(),
        );
        assert!(matches!(v.merges, MergeTable::Positional { offset: 3, .. }));
        assert_eq!(
            v.merge(0, 1, "ab", 1).map(|m| (m.rank, m.result)),
            Some((0, 3))
        );
        assert_eq!(
            v.merge(3, 2, "abc", 2).map(|m| (m.rank, m.result)),
            Some((1, 4))
        );
        assert!(
            v.merge(0, 5, "abc", 1).is_none(),
            "abc is made as ab + c only"
        );
        assert!(
            v.merge(1, 2, "bc", 1).is_none(),
            "bc is a token but no merge makes it"
        );
        // One result out of place: the general table.
        let w = Vocab::new(
            vec!["a", "b", "c", "abc", "ab"],
            vec![],
            ["a b", "ab c"].into_iter(),
        );
        assert!(matches!(w.merges, MergeTable::Pairs(_)));
        assert_eq!(
            w.merge(4, 2, "abc", 2).map(|m| (m.rank, m.result)),
            Some((1, 3))
        );
    }
}

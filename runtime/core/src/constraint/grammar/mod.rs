//! Grammars on llguidance (feature `grammar`, std): JSON schema, regular expressions and
//! llguidance's Lark-like grammars, as a [`Constraint`](super::Constraint).
//!
//! - [`Vocab`]: built **once per model** from our tokenizer: every token's bytes in
//!   llguidance's token trie (toktrie). Normal, byte and user-defined tokens (`<think>`) are
//!   their bytes, as our decoder renders them; control and unknown tokens (`<|im_end|>`)
//!   are `0xFF` + their text, llguidance's marker for special tokens, so that no grammar
//!   produces them from text; the end-of-generation ids are the trie's EOS set.
//! - [`Vocab::compile`] turns a [`GrammarSpec`] into a [`Grammar`] (compile errors are
//!   [`GrammarError`]s that name the position and the reason, before anything runs);
//!   [`Grammar::constraint`] makes the per-generation state, which computes each mask on a
//!   worker thread while the forward pass runs ([`GrammarConstraint`]).
//! - JSON schemas get llama.cpp's bound on number digits: at most 16 in a number's integral
//!   part, fraction and exponent each ([`json_number`](crate::constraint::json_number)),
//!   applied to llguidance's mask on the worker; its per-token table is built with the
//!   [`Vocab`]. llguidance's own number lexemes have no bound, and a sampled model can
//!   repeat digits until the token limit (`"confidence":0.9554254…`). Where the cap would
//!   leave no token (a schema that needs longer numbers), llguidance's mask is used as it is
//!   and [`MaskStep::digits_uncapped`](crate::constraint::MaskStep::digits_uncapped) says
//!   so; [`Grammar::with_digit_cap`] turns it off.
//! - GBNF (llama.cpp's grammar format) is not read: llguidance's Rust crate has no
//!   converter (its Python package has `gbnf_to_lark`), and a GBNF file given as a grammar
//!   is refused with an error that says so ([`GrammarSpec::from_grammar_text`]).
//!
//! Tokenization is not canonical here: the trie tokenizes greedily, so llguidance does not
//! force the canonical tokens of text the grammar fixes (`{"intent":"`); the mask allows
//! every token that spells a valid continuation and the model picks among them.
//!
//! ```no_run
//! # fn demo(tok: &bague::tokenizer::Tokenizer<'_>) -> Result<(), Box<dyn std::error::Error>> {
//! use bague::constraint::grammar::{GrammarSpec, Vocab};
//! let vocab = Vocab::new(tok)?; // once per model
//! let grammar = vocab.compile(&GrammarSpec::JsonSchema(r#"{"type":"object"}"#.into()))?;
//! let constraint = grammar.constraint(); // per generator: Generator::set_constraint
//! # let _ = constraint; Ok(()) }
//! ```

use std::fmt;
use std::string::{String, ToString};
use std::sync::Arc;
use std::vec::Vec;

use llguidance::api::{ParserLimits, TopLevelGrammar};
use llguidance::toktrie::{ApproximateTokEnv, TokEnv, TokRxInfo, TokTrie};
use llguidance::{Matcher, ParserFactory};

use crate::constraint::json_number::DigitTable;
use crate::tokenizer::Tokenizer;

mod worker;
use worker::DigitCap;
pub use worker::{GrammarConstraint, MaskMode};

/// The whitespace allowed between two JSON tokens of a schema's output: 1 to 20 spaces,
/// tabs or line breaks (enough for pretty-printed JSON; llama.cpp's schema grammars bound it
/// likewise).
pub const JSON_WHITESPACE: &str = r"[\x20\x0A\x0D\x09]{1,20}";

/// What to constrain the output to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GrammarSpec {
    /// A JSON schema (JSON text); the output is one JSON value that it accepts, with at
    /// most [`JSON_WHITESPACE`] between tokens (unless the schema's `x-guidance` options
    /// say otherwise) and at most 16 digits in each part of a number (see the
    /// [module docs](self)). `{"type":"object"}` is any object.
    JsonSchema(String),
    /// A regular expression (Rust `regex` syntax) that the whole output must match.
    Regex(String),
    /// A grammar in llguidance's Lark-like syntax (`start: ...`; rules, `/regex/` terminals,
    /// `%json { schema }` inlined schemas).
    Lark(String),
}

impl GrammarSpec {
    /// A grammar from the text of a grammar file: llguidance's Lark-like syntax. A GBNF
    /// grammar (rules written `name ::= ...`, llama.cpp's format) is an error that says so
    /// and where: llguidance offers no converter in Rust. Errors: `Gbnf`.
    pub fn from_grammar_text(text: &str) -> Result<Self, GrammarError> {
        if let Some(line) = gbnf_rule_line(text) {
            return Err(GrammarError::new(
                GrammarErrorKind::Gbnf,
                format!(
                    "line {line}: this is a GBNF grammar (`name ::= ...`, llama.cpp's format), \
                     which is not supported: write it in llguidance's Lark-like syntax \
                     (`name: ...`; llguidance's Python package converts GBNF with gbnf_to_lark), \
                     or give a JSON schema"
                ),
            ));
        }
        Ok(GrammarSpec::Lark(text.to_string()))
    }

    /// Short name of the kind: "JSON schema", "regex", "grammar".
    pub fn kind_name(&self) -> &'static str {
        match self {
            GrammarSpec::JsonSchema(_) => "JSON schema",
            GrammarSpec::Regex(_) => "regex",
            GrammarSpec::Lark(_) => "grammar",
        }
    }
}

/// The first line (1-based) that defines a GBNF rule (`name ::=`), if any. Comments (`#`,
/// GBNF's; Lark's are `//`) and quoted text are not looked at.
fn gbnf_rule_line(text: &str) -> Option<usize> {
    text.lines().enumerate().find_map(|(i, line)| {
        let line = line.trim_start();
        if line.starts_with('#') || line.starts_with("//") {
            return None;
        }
        let name_end = line
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.'))
            .unwrap_or(line.len());
        (name_end > 0 && line[name_end..].trim_start().starts_with("::=")).then_some(i + 1)
    })
}

/// What kind of input a [`GrammarError`] is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum GrammarErrorKind {
    /// The schema text is not valid JSON.
    Json,
    /// The JSON schema is valid JSON but not a schema llguidance can compile (unknown
    /// keyword value, unsatisfiable, unsupported feature such as `oneOf`).
    Schema,
    /// The regular expression does not compile.
    Regex,
    /// The Lark grammar does not parse or compile.
    Lark,
    /// A GBNF grammar (not supported).
    Gbnf,
    /// The tokenizer's vocabulary could not be turned into a token trie.
    Vocab,
}

/// A grammar or schema that cannot be used, found before generation: the position (line
/// and column, or the schema path) and the reason are in the message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GrammarError {
    kind: GrammarErrorKind,
    message: String,
}

impl GrammarError {
    fn new(kind: GrammarErrorKind, message: String) -> Self {
        GrammarError { kind, message }
    }

    /// What input it is about.
    pub fn kind(&self) -> GrammarErrorKind {
        self.kind
    }

    /// The position and reason, without the kind prefix.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for GrammarError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self.kind {
            GrammarErrorKind::Json => "JSON schema: not valid JSON",
            GrammarErrorKind::Schema => "JSON schema",
            GrammarErrorKind::Regex => "regex",
            GrammarErrorKind::Lark => "grammar",
            GrammarErrorKind::Gbnf => "grammar",
            GrammarErrorKind::Vocab => "token trie",
        };
        write!(f, "{what}: {}", self.message)
    }
}

impl std::error::Error for GrammarError {}

/// The vocabulary as llguidance sees it: our tokens' bytes in its token trie, and the parser
/// factory over it. Built once per model; cheap to clone (shared).
#[derive(Clone)]
pub struct Vocab {
    factory: Arc<ParserFactory>,
    /// The JSON-number digit cap's per-token facts.
    digits: Arc<DigitTable>,
    n_vocab: usize,
}

impl fmt::Debug for Vocab {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Vocab")
            .field("n_vocab", &self.n_vocab)
            .finish()
    }
}

impl Vocab {
    /// The token trie of `tok`'s vocabulary (see the [module docs](self) for which bytes
    /// each token gets). Takes tens of ms for a 150k vocabulary.
    /// Errors: `Vocab` (no end-of-generation token, or the trie could not be built).
    pub fn new(tok: &Tokenizer<'_>) -> Result<Self, GrammarError> {
        let n = tok.n_vocab();
        let vocab_err = |m: String| GrammarError::new(GrammarErrorKind::Vocab, m);
        let n32 = u32::try_from(n).map_err(|_| vocab_err(format!("{n} tokens is too many")))?;
        let eog = tok.eog_ids();
        let eos = tok
            .eos_id()
            .or_else(|| eog.first().copied())
            .ok_or_else(|| vocab_err("the vocabulary has no end-of-generation token".into()))?;
        let mut words = Vec::with_capacity(n);
        for id in 0..n32 {
            words.push(token_bytes(tok, id));
        }
        let info = TokRxInfo {
            vocab_size: n32,
            tok_eos: eos,
            tok_bos: tok.bos_id(),
            tok_pad: None,
            tok_unk: None,
            tok_end_of_turn: None,
        };
        let digits = Arc::new(DigitTable::new(&words));
        let mut eos_ids: Vec<u32> = eog.to_vec();
        if !eos_ids.contains(&eos) {
            eos_ids.push(eos);
        }
        // The trie asserts its invariants; a vocabulary that breaks them is an error here.
        let built = std::panic::catch_unwind(|| {
            let trie = TokTrie::from(&info, &words).with_eos_tokens(&eos_ids);
            let env: TokEnv = Arc::new(ApproximateTokEnv::new(trie));
            ParserFactory::new_simple(&env)
        })
        .map_err(|_| vocab_err("the token trie rejected this vocabulary".into()))?;
        let mut factory = built.map_err(|e| vocab_err(e.to_string()))?;
        factory.quiet();
        *factory.limits_mut() = ParserLimits {
            // Errors name the position; the whole grammar and token history are noise.
            verbose_errors: false,
            ..ParserLimits::default()
        };
        Ok(Vocab {
            factory: Arc::new(factory),
            digits,
            n_vocab: n,
        })
    }

    /// Vocabulary size.
    pub fn n_vocab(&self) -> usize {
        self.n_vocab
    }

    /// Compiles `spec` for this vocabulary. Errors: `Json` (with line and column),
    /// `Schema`, `Regex`, `Lark` (each with llguidance's position and reason).
    pub fn compile(&self, spec: &GrammarSpec) -> Result<Grammar, GrammarError> {
        let digits = matches!(spec, GrammarSpec::JsonSchema(_)).then(|| self.digits.clone());
        let (top, kind) = match spec {
            GrammarSpec::JsonSchema(text) => {
                let v: serde_json::Value = serde_json::from_str(text).map_err(|e| {
                    GrammarError::new(
                        GrammarErrorKind::Json,
                        format!(
                            "line {}, column {}: {}",
                            e.line(),
                            e.column(),
                            json_reason(&e)
                        ),
                    )
                })?;
                let v = match v {
                    serde_json::Value::Object(mut o) => {
                        // Whitespace between tokens: at most a bounded run (llguidance's
                        // default is unbounded, which lets a small model loop on newlines).
                        // A schema's own `x-guidance` options win.
                        if !o.contains_key("x-guidance") {
                            o.insert(
                                "x-guidance".into(),
                                serde_json::json!({ "whitespace_pattern": JSON_WHITESPACE }),
                            );
                        }
                        serde_json::Value::Object(o)
                    }
                    v @ serde_json::Value::Bool(_) => v,
                    _ => {
                        return Err(GrammarError::new(
                            GrammarErrorKind::Schema,
                            "a schema is a JSON object (or true/false)".into(),
                        ));
                    }
                };
                (
                    TopLevelGrammar::from_json_schema(v),
                    GrammarErrorKind::Schema,
                )
            }
            GrammarSpec::Regex(rx) => {
                // llguidance reports regex errors without the pattern's position; the regex
                // parser that it builds on does.
                regex_syntax::Parser::new()
                    .parse(rx)
                    .map_err(|e| GrammarError::new(GrammarErrorKind::Regex, regex_reason(&e)))?;
                (TopLevelGrammar::from_regex(rx), GrammarErrorKind::Regex)
            }
            GrammarSpec::Lark(text) => {
                if text.trim().is_empty() {
                    return Err(GrammarError::new(
                        GrammarErrorKind::Lark,
                        "the grammar is empty".into(),
                    ));
                }
                (
                    TopLevelGrammar::from_lark(text.clone()),
                    GrammarErrorKind::Lark,
                )
            }
        };
        let parser = self
            .factory
            .create_parser(top)
            .map_err(|e| GrammarError::new(kind, tidy(&e.to_string())))?;
        let matcher = Matcher::new(Ok(parser));
        if let Some(e) = matcher.get_error() {
            return Err(GrammarError::new(kind, tidy(&e)));
        }
        Ok(Grammar {
            start: matcher,
            capped: digits.is_some(),
            digits,
            n_vocab: self.n_vocab,
        })
    }
}

/// The bytes llguidance's trie holds for token `id` (see the module docs).
fn token_bytes(tok: &Tokenizer<'_>, id: u32) -> Vec<u8> {
    let mut b = Vec::new();
    match tok.token_attrs(id) {
        Some(a) if a.is_control() || a.is_unknown() => {
            b.push(TokTrie::SPECIAL_TOKEN_MARKER);
            b.extend_from_slice(tok.token_text(id).unwrap_or("").as_bytes());
            if b.len() == 1 {
                b.clear();
            }
        }
        Some(_) => {
            // Normal, byte, user-defined: as the decoder renders them (unused: nothing).
            let _ = tok.piece_into(id, false, &mut b);
        }
        None => {}
    }
    b
}

/// serde_json's message without its own " at line L column C" suffix.
fn json_reason(e: &serde_json::Error) -> String {
    let s = e.to_string();
    match s.rfind(" at line ") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

/// A regex error on one line: "at offset N (line L, column C): reason".
fn regex_reason(e: &regex_syntax::Error) -> String {
    match e {
        regex_syntax::Error::Parse(p) => {
            let s = p.span().start;
            format!(
                "at offset {} (line {}, column {}): {}",
                s.offset,
                s.line,
                s.column,
                p.kind()
            )
        }
        regex_syntax::Error::Translate(t) => {
            let s = t.span().start;
            format!(
                "at offset {} (line {}, column {}): {}",
                s.offset,
                s.line,
                s.column,
                t.kind()
            )
        }
        other => other.to_string(),
    }
}

/// llguidance's message on one line: its first line (later ones quote the grammar), with
/// a Lark position `L(C): ` (or `at L(C): `) spelled `line L, column C: `.
fn tidy(msg: &str) -> String {
    let first = msg
        .lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .trim();
    let first = first.strip_prefix("at ").unwrap_or(first);
    let pos = first.split_once("): ").and_then(|(head, rest)| {
        let (line, col) = head.split_once('(')?;
        let ok = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        (ok(line) && ok(col)).then(|| format!("line {line}, column {col}: {rest}"))
    });
    pos.unwrap_or_else(|| first.to_string())
}

/// A compiled grammar for one vocabulary: the start state. Each
/// [`constraint`](Self::constraint) begins from it (cloning it costs no recompilation).
#[derive(Clone)]
pub struct Grammar {
    start: Matcher,
    /// The JSON-number digit cap's table (JSON schemas).
    digits: Option<Arc<DigitTable>>,
    /// The cap applies (JSON schemas, unless turned off).
    capped: bool,
    n_vocab: usize,
}

impl fmt::Debug for Grammar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Grammar")
            .field("n_vocab", &self.n_vocab)
            .field("digit_cap", &self.capped)
            .finish()
    }
}

impl Grammar {
    /// Vocabulary size.
    pub fn n_vocab(&self) -> usize {
        self.n_vocab
    }

    /// Whether outputs get the JSON-number digit cap (see the [module docs](self)): JSON
    /// schemas do.
    pub fn digit_cap(&self) -> bool {
        self.capped
    }

    /// The same grammar without the JSON-number digit cap (`on == false`: llguidance's mask
    /// alone), or with it again. Only JSON schemas have it: `true` changes nothing for a
    /// regex or a Lark grammar, whose digits need not be JSON numbers.
    pub fn with_digit_cap(mut self, on: bool) -> Self {
        self.capped = on && self.digits.is_some();
        self
    }

    /// The constraint, computing masks on a worker thread ([`MaskMode::Background`]; in the
    /// calling thread if no thread can be started).
    pub fn constraint(&self) -> GrammarConstraint {
        self.constraint_with(MaskMode::Background)
    }

    /// The constraint with the masks computed as `mode` says.
    pub fn constraint_with(&self, mode: MaskMode) -> GrammarConstraint {
        let cap = self
            .digits
            .as_ref()
            .filter(|_| self.capped)
            .and_then(|t| DigitCap::new(t.clone(), &self.start));
        GrammarConstraint::new(self.start.clone(), cap, self.n_vocab, mode)
    }

    /// Whether the grammar accepts `ids` as a whole output (every token allowed in turn,
    /// and complete at the end; an end-of-generation id at the end is allowed). For tests
    /// and checks; no thread.
    pub fn accepts(&self, ids: &[u32]) -> bool {
        let mut m = self.start.clone();
        for &id in ids {
            if m.is_stopped() {
                return m
                    .tok_env()
                    .is_ok_and(|e| e.tok_trie().eos_tokens().contains(&id));
            }
            if m.consume_token(id).is_err() {
                return false;
            }
        }
        m.is_stopped() || m.is_accepting().unwrap_or(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gbnf_is_detected_and_lark_is_not() {
        assert_eq!(gbnf_rule_line("root ::= \"a\"\n"), Some(1));
        assert_eq!(
            gbnf_rule_line("# comment ::= no\n\nroot-rule  ::= x\n"),
            Some(3)
        );
        assert_eq!(gbnf_rule_line("start: \"a\" b\nb: /[0-9]+/\n"), None);
        assert_eq!(gbnf_rule_line("start: \"::=\"\n"), None);
        let e = GrammarSpec::from_grammar_text("root ::= [a-z]+").unwrap_err();
        assert_eq!(e.kind(), GrammarErrorKind::Gbnf);
        assert!(e.to_string().contains("line 1") && e.to_string().contains("GBNF"));
    }

    #[test]
    fn lark_positions_are_spelled_out() {
        assert_eq!(
            tidy("1(12): Expected token ')'\n   1 | start: (\"a\"\n      ^"),
            "line 1, column 12: Expected token ')'"
        );
        assert_eq!(tidy("\nUnknown type: strnig\nmore"), "Unknown type: strnig");
        assert_eq!(tidy("x(1): y"), "x(1): y");
        assert_eq!(
            tidy("at 2(7): unknown name"),
            "line 2, column 7: unknown name"
        );
    }
}

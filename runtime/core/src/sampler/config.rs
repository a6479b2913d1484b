//! Sampler settings and where their defaults come from.
//!
//! Precedence in [`SamplerConfig::defaults_for`], lowest first:
//! 1. llama.cpp's defaults (`common_params_sampling`): temp 0.8, top-k 40, top-p 0.95,
//!    min-p 0.05, repeat penalty 1.0 (off) over the last 64 tokens.
//! 2. For DeepSeek-R1 distills: temp 0.6 and top-p 0.95, DeepSeek's published advice for
//!    these models (greedy decoding makes them loop).
//! 3. The file's own `general.sampling.*` keys (the key names llama.cpp's loader reads:
//!    `top_k`, `top_p`, `min_p`, `temp`, `penalty_last_n`, `penalty_repeat`), which are the
//!    model author's explicit choice. A key with an unusable value (NaN, negative) is ignored.
//!
//! Settings given by the user on top of these are plain field assignments.

use super::SamplerError;

/// Largest repetition window the sampler allocates for (tokens). A file or a user asking for
/// more (llama.cpp's `-1` = "whole context" included) gets this many. 4096 × 4 bytes, twice.
pub const MAX_PENALTY_LAST_N: u32 = 4096;

/// GGUF key: `general.sampling.top_k` (i32).
pub const KEY_TOP_K: &str = "general.sampling.top_k";
/// GGUF key: `general.sampling.top_p` (f32).
pub const KEY_TOP_P: &str = "general.sampling.top_p";
/// GGUF key: `general.sampling.min_p` (f32).
pub const KEY_MIN_P: &str = "general.sampling.min_p";
/// GGUF key: `general.sampling.temp` (f32).
pub const KEY_TEMP: &str = "general.sampling.temp";
/// GGUF key: `general.sampling.penalty_last_n` (i32; −1 = whole context in llama.cpp).
pub const KEY_PENALTY_LAST_N: &str = "general.sampling.penalty_last_n";
/// GGUF key: `general.sampling.penalty_repeat` (f32).
pub const KEY_PENALTY_REPEAT: &str = "general.sampling.penalty_repeat";

/// Settings of the sampler chain. Applied in llama.cpp's default order:
/// penalties → top-k → top-p → min-p → temperature → draw.
/// (llama.cpp's typical-p, DRY, XTC and top-n-σ stages are off by default and not built.)
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SamplerConfig {
    /// Seed of the random draw ([`super::Rng`]). Same seed, same logits → same ids.
    pub seed: u64,
    /// Temperature; logits are divided by it after the filters. `<= 0` means greedy: argmax
    /// of the penalised logits, the lowest id winning an exact tie.
    pub temp: f32,
    /// Keep the `top_k` highest logits; 0 = off.
    pub top_k: u32,
    /// Keep the smallest prefix of the sorted distribution whose probability sum is ≥ `top_p`;
    /// `>= 1.0` = off.
    pub top_p: f32,
    /// Keep tokens whose probability is ≥ `min_p` × the largest probability; `<= 0` = off.
    pub min_p: f32,
    /// Top-p and min-p keep at least this many candidates (llama.cpp default 0).
    pub min_keep: u32,
    /// Repetition window: the last `penalty_last_n` accepted tokens (0 = penalties off);
    /// at most [`MAX_PENALTY_LAST_N`].
    pub penalty_last_n: u32,
    /// Repeat penalty: a seen token's positive logit is divided by it, a non-positive one
    /// multiplied (llama.cpp semantics). 1.0 = off.
    pub penalty_repeat: f32,
    /// Frequency penalty: subtracts `count × penalty_freq` from a seen token's logit.
    pub penalty_freq: f32,
    /// Presence penalty: subtracts `penalty_present` from a seen token's logit once.
    pub penalty_present: f32,
}

impl SamplerConfig {
    /// llama.cpp's `common_params_sampling` defaults (seed 0 here: llama.cpp's "random seed"
    /// default has no place in a deterministic runtime; callers pick a seed).
    pub const LLAMA_DEFAULTS: SamplerConfig = SamplerConfig {
        seed: 0,
        temp: 0.8,
        top_k: 40,
        top_p: 0.95,
        min_p: 0.05,
        min_keep: 0,
        penalty_last_n: 64,
        penalty_repeat: 1.0,
        penalty_freq: 0.0,
        penalty_present: 0.0,
    };

    /// Greedy decoding (temperature 0, every filter and penalty off), as the reference
    /// outputs in `testdata/reference/*/greedy.json` were made.
    pub const fn greedy() -> SamplerConfig {
        SamplerConfig {
            seed: 0,
            temp: 0.0,
            top_k: 0,
            top_p: 1.0,
            min_p: 0.0,
            min_keep: 0,
            penalty_last_n: 0,
            penalty_repeat: 1.0,
            penalty_freq: 0.0,
            penalty_present: 0.0,
        }
    }

    /// Defaults for one model: llama.cpp's, then DeepSeek's advice for R1 distills, then the
    /// file's `general.sampling.*` keys (see the module docs for the order).
    pub fn defaults_for(hints: &ModelHints<'_>) -> SamplerConfig {
        let mut c = Self::LLAMA_DEFAULTS;
        if hints.is_r1_distill() {
            c.temp = 0.6;
            c.top_p = 0.95;
        }
        let f = &hints.file;
        if let Some(k) = f.top_k.filter(|k| *k >= 0) {
            c.top_k = k as u32;
        }
        if let Some(p) = f.top_p.filter(|p| p.is_finite() && *p >= 0.0) {
            c.top_p = p;
        }
        if let Some(p) = f.min_p.filter(|p| p.is_finite() && *p >= 0.0) {
            c.min_p = p;
        }
        if let Some(t) = f.temp.filter(|t| t.is_finite()) {
            c.temp = t;
        }
        match f.penalty_last_n {
            Some(-1) => c.penalty_last_n = MAX_PENALTY_LAST_N,
            Some(n) if n >= 0 => c.penalty_last_n = (n as u32).min(MAX_PENALTY_LAST_N),
            _ => {}
        }
        if let Some(r) = f.penalty_repeat.filter(|r| r.is_finite() && *r > 0.0) {
            c.penalty_repeat = r;
        }
        c
    }

    /// Checks every field: no NaN, probabilities in range, repeat penalty > 0, window within
    /// [`MAX_PENALTY_LAST_N`]. Errors: [`SamplerError::BadConfig`] naming the field.
    pub fn validate(&self) -> Result<(), SamplerError> {
        let bad = |field: &'static str| Err(SamplerError::BadConfig { field });
        if self.temp.is_nan() {
            return bad("temp");
        }
        if self.top_p.is_nan() || self.top_p < 0.0 {
            return bad("top_p");
        }
        if !(0.0..=1.0).contains(&self.min_p) {
            return bad("min_p");
        }
        if self.penalty_last_n > MAX_PENALTY_LAST_N {
            return bad("penalty_last_n");
        }
        if !(self.penalty_repeat.is_finite() && self.penalty_repeat > 0.0) {
            return bad("penalty_repeat");
        }
        if !self.penalty_freq.is_finite() {
            return bad("penalty_freq");
        }
        if !self.penalty_present.is_finite() {
            return bad("penalty_present");
        }
        Ok(())
    }

    /// True when the chain reduces to argmax (temperature ≤ 0).
    pub fn is_greedy(&self) -> bool {
        self.temp <= 0.0
    }

    /// True when the penalty stage changes anything (llama.cpp's `is_disabled` negated).
    pub fn penalties_active(&self) -> bool {
        self.penalty_last_n > 0
            && (self.penalty_repeat != 1.0
                || self.penalty_freq != 0.0
                || self.penalty_present != 0.0)
    }
}

impl Default for SamplerConfig {
    fn default() -> Self {
        Self::LLAMA_DEFAULTS
    }
}

/// The file's `general.sampling.*` values, each `None` when the key is absent.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct FileSampling {
    /// [`KEY_TOP_K`].
    pub top_k: Option<i32>,
    /// [`KEY_TOP_P`].
    pub top_p: Option<f32>,
    /// [`KEY_MIN_P`].
    pub min_p: Option<f32>,
    /// [`KEY_TEMP`].
    pub temp: Option<f32>,
    /// [`KEY_PENALTY_LAST_N`].
    pub penalty_last_n: Option<i32>,
    /// [`KEY_PENALTY_REPEAT`].
    pub penalty_repeat: Option<f32>,
}

/// Read access to a model's metadata, so that [`ModelHints::from_metadata`] works with any
/// source (a `gguf::File`, a test map) without this module knowing the file format.
pub trait MetadataLookup {
    /// A string value (`general.name`, `tokenizer.chat_template`).
    fn meta_str(&self, key: &str) -> Option<&str>;
    /// An integer value of any integer type.
    fn meta_i64(&self, key: &str) -> Option<i64>;
    /// A float value (f32 or f64).
    fn meta_f64(&self, key: &str) -> Option<f64>;
}

/// A GGUF file's metadata: strings, any integer type, f32 or f64.
impl MetadataLookup for crate::gguf::File<'_> {
    fn meta_str(&self, key: &str) -> Option<&str> {
        self.get(key)?.as_str()
    }
    fn meta_i64(&self, key: &str) -> Option<i64> {
        self.get(key)?.as_i64()
    }
    fn meta_f64(&self, key: &str) -> Option<f64> {
        self.get(key)?.as_f64()
    }
}

/// What [`SamplerConfig::defaults_for`] looks at.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct ModelHints<'a> {
    /// `general.name`, e.g. "DeepSeek R1 Distill Qwen 7B".
    pub name: Option<&'a str>,
    /// `general.basename`, e.g. "DeepSeek-R1-Distill-Qwen".
    pub basename: Option<&'a str>,
    /// `tokenizer.chat_template`.
    pub chat_template: Option<&'a str>,
    /// `general.sampling.*`.
    pub file: FileSampling,
}

impl<'a> ModelHints<'a> {
    /// Reads `general.name`, `general.basename`, `tokenizer.chat_template` and the
    /// `general.sampling.*` keys. Integer keys out of i32 range are treated as absent.
    pub fn from_metadata<M: MetadataLookup + ?Sized>(m: &'a M) -> Self {
        let int = |k: &str| m.meta_i64(k).and_then(|v| i32::try_from(v).ok());
        let float = |k: &str| m.meta_f64(k).map(|v| v as f32);
        ModelHints {
            name: m.meta_str("general.name"),
            basename: m.meta_str("general.basename"),
            chat_template: m.meta_str("tokenizer.chat_template"),
            file: FileSampling {
                top_k: int(KEY_TOP_K),
                top_p: float(KEY_TOP_P),
                min_p: float(KEY_MIN_P),
                temp: float(KEY_TEMP),
                penalty_last_n: int(KEY_PENALTY_LAST_N),
                penalty_repeat: float(KEY_PENALTY_REPEAT),
            },
        }
    }

    /// A DeepSeek-R1 distill: the chat template uses `<｜Assistant｜>`, or the name or
    /// basename mentions "R1-Distill" / "DeepSeek-R1" (case, spaces and `_` ignored, so
    /// "DeepSeek R1 Distill Qwen 7B" matches).
    pub fn is_r1_distill(&self) -> bool {
        if self
            .chat_template
            .is_some_and(|t| t.contains("<｜Assistant｜>"))
        {
            return true;
        }
        [self.name, self.basename]
            .into_iter()
            .flatten()
            .any(|n| contains_normalized(n, "r1-distill") || contains_normalized(n, "deepseek-r1"))
    }
}

/// `needle` (lower-case, `-` as separator) occurs in `hay` after lower-casing ASCII and
/// mapping ' ' and '_' to '-'. Allocation-free.
fn contains_normalized(hay: &str, needle: &str) -> bool {
    let norm = |b: u8| match b {
        b' ' | b'_' => b'-',
        _ => b.to_ascii_lowercase(),
    };
    let (h, n) = (hay.as_bytes(), needle.as_bytes());
    n.is_empty()
        || h.windows(n.len())
            .any(|w| w.iter().zip(n).all(|(a, b)| norm(*a) == *b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn r1_detection() {
        let by_name = ModelHints {
            name: Some("DeepSeek R1 Distill Qwen 7B"),
            ..Default::default()
        };
        assert!(by_name.is_r1_distill());
        let by_base = ModelHints {
            basename: Some("DeepSeek-R1-Distill-Llama"),
            ..Default::default()
        };
        assert!(by_base.is_r1_distill());
        let by_tmpl = ModelHints {
            chat_template: Some("{{'<｜Assistant｜>'}}"),
            ..Default::default()
        };
        assert!(by_tmpl.is_r1_distill());
        let qwen = ModelHints {
            name: Some("Qwen2.5 Coder 0.5B Instruct AWQ"),
            basename: Some("Qwen2.5-Coder"),
            chat_template: Some("<|im_start|>"),
            ..Default::default()
        };
        assert!(!qwen.is_r1_distill());
    }

    #[test]
    fn defaults_layering() {
        let plain = SamplerConfig::defaults_for(&ModelHints::default());
        assert_eq!(plain, SamplerConfig::LLAMA_DEFAULTS);
        assert_eq!(
            (plain.temp, plain.top_k, plain.top_p, plain.min_p),
            (0.8, 40, 0.95, 0.05)
        );
        assert_eq!((plain.penalty_repeat, plain.penalty_last_n), (1.0, 64));

        let r1 = ModelHints {
            basename: Some("DeepSeek-R1-Distill-Qwen"),
            ..Default::default()
        };
        let c = SamplerConfig::defaults_for(&r1);
        assert_eq!((c.temp, c.top_p, c.top_k), (0.6, 0.95, 40));

        let file = ModelHints {
            basename: Some("DeepSeek-R1-Distill-Qwen"),
            file: FileSampling {
                temp: Some(0.7),
                top_k: Some(20),
                top_p: Some(f32::NAN),
                penalty_last_n: Some(-1),
                penalty_repeat: Some(1.1),
                ..Default::default()
            },
            ..Default::default()
        };
        let c = SamplerConfig::defaults_for(&file);
        assert_eq!((c.temp, c.top_k, c.top_p), (0.7, 20, 0.95));
        assert_eq!(
            (c.penalty_last_n, c.penalty_repeat),
            (MAX_PENALTY_LAST_N, 1.1)
        );
        assert!(c.validate().is_ok());
    }

    #[test]
    fn validate_rejects_nonsense() {
        let mut c = SamplerConfig::LLAMA_DEFAULTS;
        c.top_p = f32::NAN;
        assert_eq!(
            c.validate(),
            Err(SamplerError::BadConfig { field: "top_p" })
        );
        let mut c = SamplerConfig::LLAMA_DEFAULTS;
        c.penalty_repeat = 0.0;
        assert!(c.validate().is_err());
        let mut c = SamplerConfig::LLAMA_DEFAULTS;
        c.penalty_last_n = MAX_PENALTY_LAST_N + 1;
        assert!(c.validate().is_err());
        assert!(SamplerConfig::greedy().validate().is_ok());
    }

    struct Map(&'static [(&'static str, &'static str)]);
    impl MetadataLookup for Map {
        fn meta_str(&self, key: &str) -> Option<&str> {
            self.0.iter().find(|(k, _)| *k == key).map(|(_, v)| *v)
        }
        fn meta_i64(&self, key: &str) -> Option<i64> {
            self.meta_str(key)?.parse().ok()
        }
        fn meta_f64(&self, key: &str) -> Option<f64> {
            self.meta_str(key)?.parse().ok()
        }
    }

    #[test]
    fn from_metadata_reads_keys() {
        let m = Map(&[
            ("general.name", "DeepSeek R1 Distill Qwen 7B"),
            ("general.sampling.top_k", "30"),
            ("general.sampling.temp", "0.5"),
            ("general.sampling.penalty_last_n", "99999999999"),
        ]);
        let h = ModelHints::from_metadata(&m);
        assert_eq!(h.file.top_k, Some(30));
        assert_eq!(h.file.temp, Some(0.5));
        assert_eq!(h.file.penalty_last_n, None);
        assert!(h.is_r1_distill());
    }
}

//! Fuzz the sampler: arbitrary settings (every float from raw bits: NaN, ±inf, subnormal,
//! huge) and arbitrary logits, over a few steps with accepted ids, a settings change and a
//! reset. Nothing may panic; each call gives a clear error or a valid id:
//!
//! * `Sampler::new` / `set_config` fail exactly when `SamplerConfig::validate` does;
//! * `sample` gives an id below `n_vocab` whose logit is not NaN nor −inf, or `AllMasked`
//!   when every logit is NaN or −inf, or `LogitsLen` when the length is wrong;
//! * greedy settings give the lowest-index maximum when no penalty applies.
//!
//! Input layout: a settings block (40 bytes: seed, temp, top_k, top_p, min_p, min_keep,
//! penalty_last_n, the three penalties), a second one for `set_config`, one byte for the
//! vocabulary size (1..=256), then logits as little-endian f32 (missing bytes read as 0).
#![no_main]

use bague::sampler::{Sampler, SamplerConfig, SamplerError};
use libfuzzer_sys::fuzz_target;

struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn bytes<const N: usize>(&mut self) -> [u8; N] {
        let mut b = [0u8; N];
        let n = N.min(self.0.len());
        b[..n].copy_from_slice(&self.0[..n]);
        self.0 = &self.0[n..];
        b
    }
    fn f32(&mut self) -> f32 {
        f32::from_le_bytes(self.bytes())
    }
    fn u32(&mut self) -> u32 {
        u32::from_le_bytes(self.bytes())
    }
    fn u16(&mut self) -> u16 {
        u16::from_le_bytes(self.bytes())
    }
}

fn config(r: &mut Reader<'_>) -> SamplerConfig {
    SamplerConfig {
        seed: u64::from_le_bytes(r.bytes()),
        temp: r.f32(),
        top_k: r.u32(),
        top_p: r.f32(),
        min_p: r.f32(),
        min_keep: u32::from(r.u16()),
        // Mostly in range (the window is allocated), sometimes past the maximum.
        penalty_last_n: u32::from(r.u16()),
        penalty_repeat: r.f32(),
        penalty_freq: r.f32(),
        penalty_present: r.f32(),
    }
}

fn masked(x: f32) -> bool {
    x.is_nan() || x == f32::NEG_INFINITY
}

fn check(s: &mut Sampler, logits: &[f32]) -> Option<u32> {
    let greedy_plain = s.config().is_greedy() && !s.config().penalties_active();
    match s.sample(logits) {
        Ok(id) => {
            let i = id as usize;
            assert!(i < s.n_vocab(), "id {id} out of {}", s.n_vocab());
            assert_eq!(logits.len(), s.n_vocab());
            assert!(!masked(logits[i]), "sampled a masked logit {}", logits[i]);
            if greedy_plain {
                let best = logits
                    .iter()
                    .enumerate()
                    .filter(|(_, x)| !x.is_nan())
                    // The sampler reads +inf as f32::MAX (ties go to the lowest id).
                    .map(|(j, &x)| (j, x.min(f32::MAX)))
                    .fold((0usize, f32::NEG_INFINITY), |b, (j, x)| {
                        if x > b.1 { (j, x) } else { b }
                    });
                assert_eq!(i, best.0, "greedy must be the first maximum");
            }
            Some(id)
        }
        Err(SamplerError::AllMasked) => {
            assert!(logits.iter().all(|&x| masked(x)));
            None
        }
        Err(SamplerError::LogitsLen { expected, got }) => {
            assert_ne!(expected, got);
            None
        }
        Err(e) => panic!("unexpected sampler error: {e}"),
    }
}

fuzz_target!(|data: &[u8]| {
    let mut r = Reader(data);
    let cfg = config(&mut r);
    let cfg2 = config(&mut r);
    let n_vocab = usize::from(r.bytes::<1>()[0]) + 1;
    let mut logits: Vec<f32> = (0..n_vocab).map(|_| r.f32()).collect();

    let mut s = match Sampler::new(cfg, n_vocab) {
        Ok(s) => {
            assert!(cfg.validate().is_ok());
            s
        }
        Err(SamplerError::BadConfig { .. }) => {
            assert!(cfg.validate().is_err());
            return;
        }
        Err(e) => panic!("Sampler::new: {e}"),
    };
    for step in 0..3 {
        if let Some(id) = check(&mut s, &logits) {
            s.accept(id);
        }
        // Later steps see a rotated vector, so penalties meet changed logits.
        logits.rotate_left((step + 1) % n_vocab);
    }
    // A wrong length is an error, not a panic.
    check(&mut s, &logits[..n_vocab - 1]);
    let mut longer = logits.clone();
    longer.push(0.0);
    check(&mut s, &longer);
    // Accepting an id outside the vocabulary must not break later calls.
    s.accept(u32::MAX);
    match s.set_config(cfg2) {
        Ok(()) => assert!(cfg2.validate().is_ok()),
        Err(_) => assert!(cfg2.validate().is_err()),
    }
    if let Some(id) = check(&mut s, &logits) {
        s.accept(id);
    }
    s.reset();
    check(&mut s, &logits);
});

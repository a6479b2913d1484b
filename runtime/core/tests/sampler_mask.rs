//! Masked sampling: only allowed ids are ever candidates — whatever their logits, the
//! penalties, the filters and the temperature — greedy is the argmax over them, sampling
//! draws only among them, and nothing allocates.

use bague::constraint::TokenMask;
use bague::sampler::{Sampler, SamplerConfig, SamplerError};

fn logits(n: usize, salt: u32) -> Vec<f32> {
    (0..n)
        .map(|i| (((i as u32).wrapping_mul(2654435761) ^ salt) % 1000) as f32 / 100.0)
        .collect()
}

fn mask(n: usize, ids: &[u32]) -> TokenMask {
    let mut m = TokenMask::new(n).unwrap();
    for &id in ids {
        m.allow(id);
    }
    m
}

#[test]
fn greedy_is_argmax_over_allowed_ids() {
    let mut s = Sampler::new(SamplerConfig::greedy(), 6).unwrap();
    let l = [0.0, 9.0, 1.0, 3.0, 3.0, 8.0];
    assert_eq!(s.sample_masked(&l, &mask(6, &[0, 2, 3, 4])).unwrap(), 3);
    assert_eq!(s.sample_masked(&l, &mask(6, &[0, 2])).unwrap(), 2);
    assert_eq!(s.sample_masked(&l, &mask(6, &[5])).unwrap(), 5);
    // Everything allowed: the same as unmasked.
    let mut all = TokenMask::new(6).unwrap();
    all.allow_all();
    assert_eq!(s.sample_masked(&l, &all).unwrap(), s.sample(&l).unwrap());
}

#[test]
fn masked_tokens_never_come_back() {
    let n = 1000;
    // Allowed: every 7th id. The masked ids have huge logits and are also in the
    // repetition window with a penalty < 1 (which raises positive logits).
    let allowed: Vec<u32> = (0..n as u32).filter(|i| i % 7 == 0).collect();
    let m = mask(n, &allowed);
    for cfg in [
        SamplerConfig::LLAMA_DEFAULTS,
        SamplerConfig {
            top_k: 0,
            top_p: 1.0,
            min_p: 0.0,
            temp: 5.0,
            ..SamplerConfig::LLAMA_DEFAULTS
        },
        SamplerConfig {
            penalty_repeat: 0.5,
            penalty_freq: -3.0,
            penalty_present: -3.0,
            penalty_last_n: 64,
            ..SamplerConfig::LLAMA_DEFAULTS
        },
    ] {
        let mut s = Sampler::new(SamplerConfig { seed: 3, ..cfg }, n).unwrap();
        for i in 1..=40u32 {
            s.accept(i * 7 + 1);
        }
        for salt in 0..200 {
            let mut l = logits(n, salt);
            for id in 0..n {
                if id % 7 != 0 {
                    l[id] += 50.0;
                }
            }
            let id = s.sample_masked(&l, &m).unwrap();
            assert!(m.allows(id), "{cfg:?}: sampled masked id {id}");
            assert!(s.last_candidates().iter().all(|c| m.allows(c.id)));
            s.accept(id);
        }
    }
}

#[test]
fn penalties_apply_to_allowed_ids_as_unmasked() {
    // Same settings, same window: masking every id but two gives the same choice between
    // them as the unmasked chain restricted to them.
    let cfg = SamplerConfig {
        penalty_repeat: 2.0,
        penalty_last_n: 8,
        ..SamplerConfig::greedy()
    };
    let mut s = Sampler::new(cfg, 5).unwrap();
    s.accept(1);
    // id 1: 4.0 / 2 = 2.0 < 3.0 (id 3): the penalty decides.
    let l = [0.0, 4.0, 0.0, 3.0, 10.0];
    assert_eq!(s.sample_masked(&l, &mask(5, &[1, 3])).unwrap(), 3);
    let mut s = Sampler::new(SamplerConfig::greedy(), 5).unwrap();
    assert_eq!(s.sample_masked(&l, &mask(5, &[1, 3])).unwrap(), 1);
}

#[test]
fn empty_mask_and_bad_sizes_are_errors() {
    let mut s = Sampler::new(SamplerConfig::LLAMA_DEFAULTS, 4).unwrap();
    let l = [1.0, 2.0, 3.0, 4.0];
    assert_eq!(
        s.sample_masked(&l, &TokenMask::new(4).unwrap()),
        Err(SamplerError::AllMasked)
    );
    assert_eq!(
        s.sample_masked(&l, &TokenMask::new(5).unwrap()),
        Err(SamplerError::MaskLen {
            expected: 4,
            got: 5
        })
    );
    // Allowed ids whose logits are all -inf / NaN: nothing to sample.
    let l = [f32::NEG_INFINITY, 2.0, f32::NAN, 4.0];
    assert_eq!(
        s.sample_masked(&l, &mask(4, &[0, 2])),
        Err(SamplerError::AllMasked)
    );
}

#[test]
fn sample_masked_does_not_allocate() {
    let n = 4096;
    let inputs: Vec<Vec<f32>> = (0..8).map(|s| logits(n, s)).collect();
    let m = mask(n, &(0..n as u32).filter(|i| i % 3 != 1).collect::<Vec<_>>());
    for cfg in [
        SamplerConfig::LLAMA_DEFAULTS,
        SamplerConfig::greedy(),
        SamplerConfig {
            penalty_repeat: 1.3,
            penalty_last_n: 16,
            ..SamplerConfig::LLAMA_DEFAULTS
        },
    ] {
        let mut s = Sampler::new(cfg, n).unwrap();
        let info = allocation_counter::measure(|| {
            for i in 0..64 {
                let id = s.sample_masked(&inputs[i % inputs.len()], &m).unwrap();
                s.accept(id);
            }
        });
        assert_eq!(info.count_total, 0, "{cfg:?}: {info:?}");
    }
}

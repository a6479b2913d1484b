//! Sampler: each stage's semantics, determinism, greedy ties.

use bague::sampler::filters::{self, Candidate};
use bague::sampler::{Sampler, SamplerConfig, SamplerError};

fn cands(logits: &[f32]) -> Vec<Candidate> {
    logits
        .iter()
        .enumerate()
        .map(|(i, &l)| Candidate {
            id: i as u32,
            logit: l,
            p: 0.0,
        })
        .collect()
}

fn ids(c: &[Candidate]) -> Vec<u32> {
    c.iter().map(|x| x.id).collect()
}

/// Deterministic pseudo-random logits (an LCG; the values only need to be varied).
fn logits(n: usize, salt: u64) -> Vec<f32> {
    let mut s = salt
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..n)
        .map(|_| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((s >> 40) as f32 / (1u64 << 24) as f32) * 8.0 - 4.0
        })
        .collect()
}

fn off() -> SamplerConfig {
    SamplerConfig {
        temp: 1.0,
        ..SamplerConfig::greedy()
    }
}

#[test]
fn greedy_is_argmax_first_index_wins_ties() {
    let mut s = Sampler::new(SamplerConfig::greedy(), 6).unwrap();
    assert_eq!(s.sample(&[0.0, 3.0, 1.0, 3.0, -1.0, 2.0]).unwrap(), 1);
    assert_eq!(s.sample(&[5.0, 5.0, 5.0, 5.0, 5.0, 5.0]).unwrap(), 0);
    assert_eq!(
        s.sample(&[f32::NAN, 1.0, 2.0, 2.0, f32::NAN, 0.0]).unwrap(),
        2
    );
    // Greedy with the default filters on gives the same answer (they keep the argmax).
    let mut d = Sampler::new(
        SamplerConfig {
            temp: 0.0,
            ..SamplerConfig::LLAMA_DEFAULTS
        },
        6,
    )
    .unwrap();
    assert_eq!(d.sample(&[0.0, 3.0, 1.0, 3.0, -1.0, 2.0]).unwrap(), 1);
}

#[test]
fn bad_inputs_are_errors() {
    let mut s = Sampler::new(SamplerConfig::greedy(), 3).unwrap();
    assert_eq!(
        s.sample(&[1.0, 2.0]),
        Err(SamplerError::LogitsLen {
            expected: 3,
            got: 2
        })
    );
    assert_eq!(
        s.sample(&[f32::NEG_INFINITY, f32::NAN, f32::NEG_INFINITY]),
        Err(SamplerError::AllMasked)
    );
    assert!(matches!(
        Sampler::new(SamplerConfig::greedy(), 0),
        Err(SamplerError::BadVocabSize { .. })
    ));
}

#[test]
fn top_k_keeps_k_best_sorted() {
    let mut c = cands(&[0.5, 2.0, -1.0, 2.0, 1.5, 0.0]);
    let (n, sorted) = filters::top_k(&mut c, false, 3);
    assert!(sorted);
    assert_eq!(ids(&c[..n]), vec![1, 3, 4]);
    // k = 0: no-op; k > len: all kept, sorted.
    let mut c = cands(&[0.5, 2.0, -1.0]);
    assert_eq!(filters::top_k(&mut c, false, 0), (3, false));
    assert_eq!(filters::top_k(&mut c, false, 10), (3, true));
    assert_eq!(ids(&c), vec![1, 0, 2]);
    // Large set: matches a full sort's prefix.
    let l = logits(5000, 3);
    let mut c = cands(&l);
    let (n, _) = filters::top_k(&mut c, false, 40);
    let mut full = cands(&l);
    filters::sort_desc(&mut full);
    assert_eq!(ids(&c[..n]), ids(&full[..40]));
}

#[test]
fn top_p_keeps_minimal_prefix_reaching_p() {
    // probabilities ∝ 8, 4, 2, 1, 1 → 0.5, 0.25, 0.125, 0.0625, 0.0625
    let l: Vec<f32> = [8.0f32, 4.0, 2.0, 1.0, 1.0]
        .iter()
        .map(|x| x.ln())
        .collect();
    for (p, want) in [(0.5, 1), (0.6, 2), (0.75, 2), (0.8, 3), (0.9, 4), (0.99, 5)] {
        let mut c = cands(&l);
        let (n, sorted) = filters::top_p(&mut c, false, p, 0);
        assert!(sorted);
        assert_eq!(n, want, "p={p}");
        let kept: f32 = c[..n].iter().map(|x| x.p).sum();
        assert!(kept >= p - 1e-6);
        let without_last: f32 = c[..n - 1].iter().map(|x| x.p).sum();
        assert!(without_last < p, "p={p}: set is not minimal");
    }
    // p >= 1: no-op. min_keep respected.
    let mut c = cands(&l);
    assert_eq!(filters::top_p(&mut c, false, 1.0, 0), (5, false));
    let mut c = cands(&l);
    assert_eq!(filters::top_p(&mut c, false, 0.1, 3).0, 3);
    // Large unsorted set (adaptive partial sort path) equals the fully sorted answer.
    for p in [0.3f32, 0.9, 0.999] {
        let l = logits(3000, 11);
        let mut a = cands(&l);
        let (na, _) = filters::top_p(&mut a, false, p, 0);
        let mut b = cands(&l);
        filters::sort_desc(&mut b);
        let (nb, _) = filters::top_p(&mut b, true, p, 0);
        assert_eq!(ids(&a[..na]), ids(&b[..nb]), "p={p}");
    }
}

#[test]
fn min_p_is_relative_to_max_probability() {
    // probabilities ∝ 10, 5, 1, 0.9 ; min_p 0.1 keeps p ≥ 0.1 × p_max → 10, 5, 1.
    let l: Vec<f32> = [0.9f32, 10.0, 1.0, 5.0].iter().map(|x| x.ln()).collect();
    let mut c = cands(&l);
    let (n, sorted) = filters::min_p(&mut c, false, 0.1, 0);
    assert!(!sorted);
    assert_eq!(ids(&c[..n]), vec![1, 2, 3]); // order kept when unsorted
    let mut c = cands(&l);
    filters::sort_desc(&mut c);
    let (n, _) = filters::min_p(&mut c, true, 0.1, 0);
    assert_eq!(ids(&c[..n]), vec![1, 3, 2]);
    let mut c = cands(&l);
    assert_eq!(filters::min_p(&mut c, false, 0.6, 0).0, 1);
    let mut c = cands(&l);
    let (n, _) = filters::min_p(&mut c, false, 0.6, 3);
    assert_eq!(ids(&c[..n]), vec![1, 3, 2]);
    let mut c = cands(&l);
    assert_eq!(filters::min_p(&mut c, false, 0.0, 0), (4, false));
}

#[test]
fn penalties_follow_llama_semantics() {
    assert_eq!(filters::penalize(2.0, 1, 2.0, 0.0, 0.0), 1.0);
    assert_eq!(filters::penalize(-2.0, 1, 2.0, 0.0, 0.0), -4.0);
    assert_eq!(filters::penalize(0.0, 1, 2.0, 0.0, 0.0), 0.0);
    assert_eq!(filters::penalize(3.0, 3, 1.0, 0.5, 0.25), 3.0 - 1.5 - 0.25);
    let mut seen = Vec::new();
    filters::for_each_run(&[1, 1, 4, 7, 7, 7], |id, n| seen.push((id, n)));
    assert_eq!(seen, vec![(1, 2), (4, 1), (7, 3)]);

    // Through the sampler (greedy): token 0 leads until repeated enough.
    let cfg = SamplerConfig {
        penalty_last_n: 4,
        penalty_repeat: 1.5,
        ..SamplerConfig::greedy()
    };
    let mut s = Sampler::new(cfg, 3).unwrap();
    let l = [3.0, 2.5, -1.0];
    assert_eq!(s.sample(&l).unwrap(), 0);
    s.accept(0);
    assert_eq!(s.sample(&l).unwrap(), 1); // 3.0 / 1.5 = 2.0 < 2.5
    // The window is the last 4 tokens: 0 drops out after 4 others.
    for _ in 0..4 {
        s.accept(2);
    }
    assert_eq!(s.sample(&l).unwrap(), 0);
    // Frequency penalty counts repeats in the window.
    let cfg = SamplerConfig {
        penalty_last_n: 8,
        penalty_freq: 0.3,
        ..SamplerConfig::greedy()
    };
    let mut s = Sampler::new(cfg, 3).unwrap();
    s.accept(0);
    assert_eq!(s.sample(&l).unwrap(), 0); // 2.7 > 2.5
    s.accept(0);
    assert_eq!(s.sample(&l).unwrap(), 1); // 2.4 < 2.5
    s.reset();
    assert_eq!(s.sample(&l).unwrap(), 0);
}

#[test]
fn temperature_divides_logits() {
    let mut c = cands(&[2.0, -1.0]);
    filters::temperature(&mut c, 0.5);
    assert_eq!((c[0].logit, c[1].logit), (4.0, -2.0));
}

#[test]
fn draw_follows_cumulative_distribution() {
    let l: Vec<f32> = [1.0f32, 2.0, 1.0].iter().map(|x| x.ln()).collect();
    for (u, want) in [
        (0.0, 0),
        (0.24, 0),
        (0.26, 1),
        (0.74, 1),
        (0.76, 2),
        (0.999, 2),
    ] {
        let mut c = cands(&l);
        assert_eq!(filters::draw(&mut c, u), want, "u={u}");
    }
}

#[test]
fn same_seed_same_ids_different_seeds_differ() {
    let n_vocab = 2000;
    let run = |seed: u64| -> Vec<u32> {
        let cfg = SamplerConfig {
            seed,
            temp: 1.5,
            top_k: 0,
            top_p: 0.99,
            min_p: 0.0,
            penalty_repeat: 1.1,
            ..SamplerConfig::LLAMA_DEFAULTS
        };
        let mut s = Sampler::new(cfg, n_vocab).unwrap();
        (0..64)
            .map(|step| s.sample_and_accept(&logits(n_vocab, step)).unwrap())
            .collect()
    };
    let a = run(42);
    assert_eq!(a, run(42));
    let b = run(43);
    assert_ne!(a, b);
    // Sanity: with temperature 1.5 over 2000 tokens the ids are not all the argmax.
    let greedy: Vec<u32> = (0..64)
        .map(|step| {
            let mut g = Sampler::new(SamplerConfig::greedy(), n_vocab).unwrap();
            g.sample(&logits(n_vocab, step)).unwrap()
        })
        .collect();
    assert_ne!(a, greedy);
    // reset() restarts the same stream.
    let cfg = SamplerConfig {
        seed: 5,
        ..SamplerConfig::LLAMA_DEFAULTS
    };
    let mut s = Sampler::new(cfg, n_vocab).unwrap();
    let first: Vec<u32> = (0..8)
        .map(|i| s.sample(&logits(n_vocab, i)).unwrap())
        .collect();
    s.reset();
    let again: Vec<u32> = (0..8)
        .map(|i| s.sample(&logits(n_vocab, i)).unwrap())
        .collect();
    assert_eq!(first, again);
}

#[test]
fn chain_order_filters_before_temperature() {
    // top-p uses temperature-1 probabilities (llama.cpp order): ∝ 8,4,2,1,1 with top-p 0.6
    // keeps 2 tokens even at a very high temperature.
    let l: Vec<f32> = [8.0f32, 4.0, 2.0, 1.0, 1.0]
        .iter()
        .map(|x| x.ln())
        .collect();
    let cfg = SamplerConfig {
        temp: 100.0,
        top_p: 0.6,
        ..off()
    };
    let mut s = Sampler::new(cfg, 5).unwrap();
    for _ in 0..50 {
        let id = s.sample(&l).unwrap();
        assert!(id < 2);
        assert_eq!(s.last_candidates().len(), 2);
    }
    // Default chain: top-k 40 then min-p 0.05 bound the set.
    let mut s = Sampler::new(SamplerConfig::LLAMA_DEFAULTS, 1000).unwrap();
    s.sample(&logits(1000, 9)).unwrap();
    let kept = s.last_candidates();
    assert!(!kept.is_empty() && kept.len() <= 40);
    let pmax = kept.iter().map(|c| c.p).fold(0.0, f32::max);
    let total: f32 = kept.iter().map(|c| c.p).sum();
    assert!((total - 1.0).abs() < 1e-5);
    assert!(pmax > 0.0);
}

#[test]
fn empirical_frequencies_match_probabilities() {
    // ∝ 1, 2, 1 at temperature 1, no filters: frequencies ≈ 0.25, 0.5, 0.25.
    let l: Vec<f32> = [1.0f32, 2.0, 1.0].iter().map(|x| x.ln()).collect();
    let mut s = Sampler::new(SamplerConfig { seed: 1, ..off() }, 3).unwrap();
    let mut counts = [0u32; 3];
    let n = 20_000;
    for _ in 0..n {
        counts[s.sample(&l).unwrap() as usize] += 1;
    }
    let f: Vec<f64> = counts.iter().map(|&c| c as f64 / n as f64).collect();
    assert!(
        (f[0] - 0.25).abs() < 0.02 && (f[1] - 0.5).abs() < 0.02,
        "{f:?}"
    );
}

/// `set_config` changes the settings between turns but keeps the conversation's RNG state
/// and repetition window (trimmed to the newest ids when the window shrinks); a new seed
/// restarts the RNG.
#[test]
fn set_config_keeps_rng_state_and_window() {
    let logits: Vec<f32> = (0..50).map(|i| ((i * 7) % 13) as f32 * 0.3).collect();
    let cfg = SamplerConfig {
        seed: 9,
        temp: 1.0,
        top_k: 0,
        top_p: 1.0,
        min_p: 0.0,
        penalty_last_n: 8,
        ..SamplerConfig::LLAMA_DEFAULTS
    };
    let mut a = Sampler::new(cfg, 50).unwrap();
    let mut b = Sampler::new(cfg, 50).unwrap();
    for _ in 0..5 {
        a.sample_and_accept(&logits).unwrap();
        b.sample_and_accept(&logits).unwrap();
    }
    // Same settings: a no-op. Another temperature for one draw, then back: the RNG went on
    // from where it was (one draw per sample, whatever the temperature), so `a` and `b`
    // draw alike again.
    a.set_config(cfg).unwrap();
    a.set_config(SamplerConfig { temp: 1.5, ..cfg }).unwrap();
    a.sample(&logits).unwrap();
    b.sample(&logits).unwrap();
    a.set_config(cfg).unwrap();
    for _ in 0..10 {
        assert_eq!(a.sample(&logits).unwrap(), b.sample(&logits).unwrap());
    }
    // Shrinking the window keeps its newest ids, in order.
    let ids = [3u32, 1, 4, 1, 5, 9, 2, 6, 5, 3];
    let mut w = Sampler::new(cfg, 50).unwrap();
    for id in ids {
        w.accept(id);
    }
    w.set_config(SamplerConfig {
        penalty_last_n: 3,
        ..cfg
    })
    .unwrap();
    assert_eq!(w.window(), &[6, 5, 3]);
    w.accept(7);
    w.accept(8);
    let mut win = w.window().to_vec();
    win.sort_unstable();
    assert_eq!(win, [3, 7, 8]);
    // A new seed restarts the RNG: equal to a fresh sampler with that seed.
    let reseeded = SamplerConfig { seed: 77, ..cfg };
    let mut r = Sampler::new(cfg, 50).unwrap();
    r.sample(&logits).unwrap();
    r.set_config(reseeded).unwrap();
    let mut f = Sampler::new(reseeded, 50).unwrap();
    for _ in 0..10 {
        assert_eq!(r.sample(&logits).unwrap(), f.sample(&logits).unwrap());
    }
    // A bad setting is refused and changes nothing.
    assert!(
        r.set_config(SamplerConfig {
            temp: f32::NAN,
            ..cfg
        })
        .is_err()
    );
    assert_eq!(r.config(), &reseeded);
}

/// A masked logit (−∞ or NaN) is never drawn, whatever the settings do to the others: a
/// tiny temperature overflows the quotients, a huge negative presence penalty overflows
/// the penalised logits, `u` = 0 starts the running sum at a zero probability (found by
/// the sampler fuzz target).
#[test]
fn masked_logits_are_never_drawn() {
    let mut c = cands(&[f32::NEG_INFINITY, 1.0, f32::NEG_INFINITY, 2.0]);
    assert_eq!(filters::draw(&mut c, 0.0), 1);
    let mut c = cands(&[1.0, f32::NEG_INFINITY]);
    assert_eq!(filters::draw(&mut c, 0.999_999_999_999), 0);

    let mut c = cands(&[3.0e38, f32::NEG_INFINITY, 1.0, 3.0e38]);
    filters::temperature(&mut c, 1.0e-30);
    assert!(c.iter().all(|x| !x.logit.is_nan()));
    assert_eq!(c[1].logit, f32::NEG_INFINITY);
    for u in [0.0, 0.25, 0.5, 0.75, 0.999] {
        let i = filters::draw(&mut c, u);
        assert!(i == 0 || i == 3, "u {u}: drew {i}");
    }
    let mut c = cands(&[f32::NEG_INFINITY, -1.0]);
    filters::temperature(&mut c, f32::INFINITY);
    assert_eq!(c[0].logit, f32::NEG_INFINITY);
    // Every unmasked quotient overflowing to −∞ would leave only NaN probabilities.
    let mut c = cands(&[f32::NEG_INFINITY, -1.0e8, -2.0e8]);
    filters::temperature(&mut c, 2.4e-41);
    assert!(c[1].logit.is_finite() && c[2].logit.is_finite());
    for u in [0.0, 0.5, 0.999] {
        assert_ne!(filters::draw(&mut c, u), 0, "u {u}");
    }
    // A huge frequency penalty on a seen token cannot mask it (found by the fuzz target).
    let mut s = Sampler::new(
        SamplerConfig {
            seed: 3,
            temp: 2.4e-41,
            top_k: 0,
            top_p: 1.0,
            min_p: 0.0,
            penalty_last_n: 8,
            penalty_repeat: 1.4e31,
            penalty_freq: 1.0e8,
            ..off()
        },
        3,
    )
    .unwrap();
    let l = [f32::NAN, 5.9e-39, 0.0];
    for _ in 0..4 {
        let id = s.sample(&l).unwrap();
        assert_ne!(id, 0, "drew the NaN logit");
        s.accept(id);
    }
    // Finite settings whose penalised logit overflows twice, −∞ − (−∞) = NaN, leave a
    // finite, drawable logit (found by the fuzz target: the sampler answered AllMasked
    // while a logit was unmasked).
    let mut s = Sampler::new(
        SamplerConfig {
            penalty_last_n: 8,
            penalty_repeat: 2.000_000_5,
            penalty_freq: -1.701_528_7e38,
            ..off()
        },
        2,
    )
    .unwrap();
    s.accept(0);
    s.accept(0);
    assert_eq!(s.sample(&[-1.701_411_8e38, f32::NEG_INFINITY]).unwrap(), 0);

    for seed in 0..200u64 {
        let cfg = SamplerConfig {
            seed,
            temp: 1.0e-30,
            top_k: 0,
            top_p: 1.0,
            min_p: 0.0,
            penalty_last_n: 8,
            penalty_repeat: 2.0,
            penalty_present: -1.0e30,
            ..off()
        };
        let mut s = Sampler::new(cfg, 6).unwrap();
        let l = [
            f32::NEG_INFINITY,
            3.0e38,
            f32::NAN,
            -2.0,
            1.0e30,
            f32::NEG_INFINITY,
        ];
        for step in 0..4 {
            let id = s.sample(&l).unwrap() as usize;
            assert!(
                !(l[id].is_nan() || l[id] == f32::NEG_INFINITY),
                "seed {seed} step {step}: drew masked id {id}"
            );
            s.accept(id as u32);
        }
    }
}

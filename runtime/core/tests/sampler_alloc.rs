//! The sampler allocates only in `new`: `sample` and `accept` allocate nothing.
//! (allocation-counter counts the allocations of the current thread.)

use bague::sampler::{Sampler, SamplerConfig};

fn logits(n: usize, salt: u32) -> Vec<f32> {
    (0..n)
        .map(|i| (((i as u32).wrapping_mul(2654435761) ^ salt) % 1000) as f32 / 100.0)
        .collect()
}

#[test]
fn sample_and_accept_do_not_allocate() {
    let n = 4096;
    let inputs: Vec<Vec<f32>> = (0..8).map(|s| logits(n, s)).collect();
    let configs = [
        SamplerConfig::LLAMA_DEFAULTS,
        SamplerConfig::greedy(),
        SamplerConfig {
            top_k: 0,
            top_p: 0.9,
            min_p: 0.0,
            penalty_repeat: 1.3,
            penalty_freq: 0.1,
            penalty_last_n: 16,
            ..SamplerConfig::LLAMA_DEFAULTS
        },
        SamplerConfig {
            top_k: 0,
            top_p: 1.0,
            min_p: 0.2,
            ..SamplerConfig::LLAMA_DEFAULTS
        },
    ];
    for cfg in configs {
        let mut s = Sampler::new(cfg, n).unwrap();
        let mut out = [0u32; 64];
        let info = allocation_counter::measure(|| {
            for (i, o) in out.iter_mut().enumerate() {
                *o = s.sample_and_accept(&inputs[i % inputs.len()]).unwrap();
            }
            s.reset();
        });
        assert_eq!(info.count_total, 0, "{cfg:?}: {info:?}");
        assert!(out.iter().all(|&id| (id as usize) < n));
    }
    // The counter does see allocations (so the zero above can fail).
    let info = allocation_counter::measure(|| {
        let v = std::hint::black_box(vec![1u8; 10]);
        assert_eq!(v.len(), 10);
    });
    assert_eq!(info.count_total, 1);
}

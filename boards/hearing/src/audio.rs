//! The audio task: one 6 ms frame of a hearing aid's signal path, fixed work per frame.
//! 96 samples (16 kHz) go through an 8-band FIR filter bank (32 taps per band), each band
//! gets its gain from a smoothed level (a compressor), and the bands are summed. The input
//! is a deterministic test signal (the AN547 in qemu has no microphone); the work does not
//! depend on the data: 96 × 8 × 32 multiply-adds and the same loops every frame.

/// Samples per frame: 6 ms at 16 kHz.
pub const FRAME: usize = 96;
const BANDS: usize = 8;
const TAPS: usize = 32;

/// Filter state and coefficients.
pub struct Audio {
    coef: [[f32; TAPS]; BANDS],
    hist: [f32; TAPS + FRAME],
    level: [f32; BANDS],
    seed: u32,
    /// A running sum of the output (printed, so that the work is not optimized away).
    pub checksum: f32,
}

impl Audio {
    /// Band-pass-like windowed cosine filters, one per band.
    pub fn new() -> Audio {
        let mut coef = [[0f32; TAPS]; BANDS];
        for (b, c) in coef.iter_mut().enumerate() {
            let f = (b as f32 + 0.5) / (2.0 * BANDS as f32);
            for (i, x) in c.iter_mut().enumerate() {
                let t = i as f32 - (TAPS as f32 - 1.0) / 2.0;
                // a Hann window times a cosine at the band's centre, by a short series
                let w = 0.5 - 0.5 * cos(2.0 * core::f32::consts::PI * i as f32 / (TAPS - 1) as f32);
                *x = w * cos(2.0 * core::f32::consts::PI * f * t) / TAPS as f32;
            }
        }
        Audio {
            coef,
            hist: [0.0; TAPS + FRAME],
            level: [0.0; BANDS],
            seed: 0x1234_5678,
            checksum: 0.0,
        }
    }

    /// Processes one frame.
    pub fn frame(&mut self) {
        // input: a noise source (xorshift) into the history's new part
        let (old, new) = self.hist.split_at_mut(TAPS);
        old.copy_from_slice(&new[FRAME - TAPS..]);
        for x in new.iter_mut() {
            self.seed ^= self.seed << 13;
            self.seed ^= self.seed >> 17;
            self.seed ^= self.seed << 5;
            *x = (self.seed >> 8) as f32 / (1u32 << 24) as f32 - 0.5;
        }
        let mut out = [0f32; FRAME];
        for b in 0..BANDS {
            let c = &self.coef[b];
            let mut energy = 0f32;
            let mut band = [0f32; FRAME];
            for (n, y) in band.iter_mut().enumerate() {
                let h = &self.hist[n + 1..n + 1 + TAPS];
                let mut acc = 0f32;
                for k in 0..TAPS {
                    acc += c[k] * h[TAPS - 1 - k];
                }
                *y = acc;
                energy += acc * acc;
            }
            // compressor: gain falls as the smoothed band level rises
            self.level[b] = 0.9 * self.level[b] + 0.1 * energy / FRAME as f32;
            let gain = 2.0 / (1.0 + 8.0 * self.level[b]);
            for (o, y) in out.iter_mut().zip(&band) {
                *o += gain * y;
            }
        }
        let s: f32 = out.iter().sum();
        self.checksum += core::hint::black_box(s);
    }
}

/// cos(x) by range reduction and a Taylor series (coefficients only: no libm needed).
fn cos(x: f32) -> f32 {
    let tau = 2.0 * core::f32::consts::PI;
    let mut x = x - tau * (x / tau + 0.5).floor_approx();
    if x > core::f32::consts::PI {
        x -= tau;
    }
    let x2 = x * x;
    let mut term = 1.0f32;
    let mut sum = 1.0f32;
    for n in 1..10 {
        term *= -x2 / ((2 * n - 1) * (2 * n)) as f32;
        sum += term;
    }
    sum
}

trait FloorApprox {
    fn floor_approx(self) -> f32;
}

impl FloorApprox for f32 {
    /// floor for |x| < 2³¹.
    fn floor_approx(self) -> f32 {
        let i = self as i32 as f32;
        if i > self { i - 1.0 } else { i }
    }
}

//! Helpers shared by the k-quant formats: packed 6-bit scales and ggml's reference
//! scale searches (`make_qkx2_quants`, `make_qx_quants`), written to perform the same f32
//! operations in the same order as ggml-quants.c so the quantizers emit the same bytes.

use crate::math::nearest_int;

/// ggml `GROUP_MAX_EPS`: groups with smaller magnitude quantize to zero.
pub(crate) const GROUP_MAX_EPS: f32 = 1e-15;

/// Scale and min of sub-block `j` (0..8) from the 12 packed bytes of Q4_K / Q5_K
/// (ggml `get_scale_min_k4`): sub-blocks 0..4 keep 6 bits in bytes `j` and `j + 4`;
/// sub-blocks 4..8 keep their low 4 bits in byte `j + 4` and their top 2 bits in the top
/// bits of bytes `j - 4` (scale) and `j` (min).
#[inline(always)]
pub(crate) fn scale_min_k4(j: usize, q: &[u8; 12]) -> (u8, u8) {
    if j < 4 {
        (q[j] & 63, q[j + 4] & 63)
    } else {
        (
            (q[j + 4] & 0x0f) | ((q[j - 4] >> 6) << 4),
            (q[j + 4] >> 4) | ((q[j] >> 6) << 4),
        )
    }
}

/// The 8 scales (bytes 0..8) and 8 mins (bytes 8..16) of a Q4_K / Q5_K super-block, by
/// whole-word bit operations (the same values as [`scale_min_k4`] for each `j`).
#[inline(always)]
pub(crate) fn unpack_k4_scales(q: &[u8; 12]) -> [u8; 16] {
    const M1: u32 = 0x3f3f_3f3f;
    const M2: u32 = 0x0f0f_0f0f;
    const M3: u32 = 0x0303_0303;
    let u0 = u32::from_le_bytes([q[0], q[1], q[2], q[3]]);
    let u1 = u32::from_le_bytes([q[4], q[5], q[6], q[7]]);
    let u2 = u32::from_le_bytes([q[8], q[9], q[10], q[11]]);
    let sc_lo = u0 & M1;
    let sc_hi = (u2 & M2) | (((u0 >> 6) & M3) << 4);
    let m_lo = u1 & M1;
    let m_hi = ((u2 >> 4) & M2) | (((u1 >> 6) & M3) << 4);
    let mut out = [0u8; 16];
    out[0..4].copy_from_slice(&sc_lo.to_le_bytes());
    out[4..8].copy_from_slice(&sc_hi.to_le_bytes());
    out[8..12].copy_from_slice(&m_lo.to_le_bytes());
    out[12..16].copy_from_slice(&m_hi.to_le_bytes());
    out
}

/// The 16 signed 6-bit group scales of a Q3_K super-block, minus 32 (-32..32): low 4 bits in
/// the nibbles of bytes 0..8 (groups 0..8 low nibbles, 8..16 high nibbles), top 2 bits in
/// bytes 8..12 (group `i` takes bits `2(i/4)..` of byte `8 + i % 4`).
#[inline(always)]
pub(crate) fn unpack_q3k_scales(q: &[u8; 12]) -> [i8; 16] {
    const M1: u32 = 0x0303_0303;
    const M2: u32 = 0x0f0f_0f0f;
    let a0 = u32::from_le_bytes([q[0], q[1], q[2], q[3]]);
    let a1 = u32::from_le_bytes([q[4], q[5], q[6], q[7]]);
    let t = u32::from_le_bytes([q[8], q[9], q[10], q[11]]);
    let w = [
        (a0 & M2) | ((t & M1) << 4),
        (a1 & M2) | (((t >> 2) & M1) << 4),
        ((a0 >> 4) & M2) | (((t >> 4) & M1) << 4),
        ((a1 >> 4) & M2) | (((t >> 6) & M1) << 4),
    ];
    let mut out = [0i8; 16];
    for (k, v) in w.iter().enumerate() {
        for (b, byte) in v.to_le_bytes().iter().enumerate() {
            out[4 * k + b] = *byte as i8 - 32;
        }
    }
    out
}

/// All 8 (scale, min) pairs of a Q4_K / Q5_K super-block.
#[inline(always)]
pub(crate) fn scales_mins_k4(q: &[u8; 12]) -> ([u8; 8], [u8; 8]) {
    let u = unpack_k4_scales(q);
    let mut sc = [0u8; 8];
    let mut m = [0u8; 8];
    sc.copy_from_slice(&u[..8]);
    m.copy_from_slice(&u[8..]);
    (sc, m)
}

/// ggml `make_qkx2_quants`: search a (scale, min) pair for `x` with levels 0..=nmax,
/// weighted least squares over `nstep + 1` candidate scales. Returns `(scale, -min)`.
pub(crate) fn make_qkx2_quants(
    nmax: i32,
    x: &[f32],
    weights: &[f32],
    l_out: &mut [u8],
    l_aux: &mut [u8],
    rmin: f32,
    rdelta: f32,
    nstep: i32,
    use_mad: bool,
) -> (f32, f32) {
    let n = x.len();
    let mut min = x[0];
    let mut max = x[0];
    let mut sum_w = weights[0];
    let mut sum_x = sum_w * x[0];
    for i in 1..n {
        if x[i] < min {
            min = x[i];
        }
        if x[i] > max {
            max = x[i];
        }
        let w = weights[i];
        sum_w += w;
        sum_x += w * x[i];
    }
    if min > 0.0 {
        min = 0.0;
    }
    if max == min {
        l_out[..n].fill(0);
        return (0.0, -min);
    }
    let mut iscale = nmax as f32 / (max - min);
    let mut scale = 1.0 / iscale;
    let mut best_error = 0.0f32;
    for i in 0..n {
        let l = nearest_int(iscale * (x[i] - min));
        l_out[i] = l.clamp(0, nmax) as u8;
        let mut diff = scale * l_out[i] as f32 + min - x[i];
        diff = if use_mad { diff.abs() } else { diff * diff };
        best_error += weights[i] * diff;
    }
    if nstep < 1 {
        return (scale, -min);
    }
    for is in 0..=nstep {
        iscale = (rmin + rdelta * is as f32 + nmax as f32) / (max - min);
        let (mut sum_l, mut sum_l2, mut sum_xl) = (0.0f32, 0.0f32, 0.0f32);
        for i in 0..n {
            let l = nearest_int(iscale * (x[i] - min)).clamp(0, nmax);
            l_aux[i] = l as u8;
            let w = weights[i];
            let lf = l as f32;
            sum_l += w * lf;
            sum_l2 += w * lf * lf;
            sum_xl += w * lf * x[i];
        }
        let d = sum_w * sum_l2 - sum_l * sum_l;
        if d > 0.0 {
            let mut this_scale = (sum_w * sum_xl - sum_x * sum_l) / d;
            let mut this_min = (sum_l2 * sum_x - sum_l * sum_xl) / d;
            if this_min > 0.0 {
                this_min = 0.0;
                this_scale = sum_xl / sum_l2;
            }
            let mut cur_error = 0.0f32;
            for i in 0..n {
                let mut diff = this_scale * l_aux[i] as f32 + this_min - x[i];
                diff = if use_mad { diff.abs() } else { diff * diff };
                cur_error += weights[i] * diff;
            }
            if cur_error < best_error {
                l_out[..n].copy_from_slice(&l_aux[..n]);
                best_error = cur_error;
                scale = this_scale;
                min = this_min;
            }
        }
    }
    (scale, -min)
}

/// ggml `make_qx_quants` with `rmse_type = 1` and no importance weights (weights `x²`):
/// symmetric levels `-nmax..nmax`, stored in `l_out` offset by `nmax`. Returns the scale.
pub(crate) fn make_qx_quants_rmse1(nmax: i32, x: &[f32], l_out: &mut [i8]) -> f32 {
    let n = x.len();
    let mut max = 0.0f32;
    let mut amax = 0.0f32;
    for &v in x {
        let ax = v.abs();
        if ax > amax {
            amax = ax;
            max = v;
        }
    }
    if amax < GROUP_MAX_EPS {
        l_out[..n].fill(0);
        return 0.0;
    }
    let mut iscale = -(nmax as f32) / max;
    let mut sumlx = 0.0f32;
    let mut suml2 = 0.0f32;
    for i in 0..n {
        let l = nearest_int(iscale * x[i]).clamp(-nmax, nmax - 1);
        l_out[i] = (l + nmax) as i8;
        let w = x[i] * x[i];
        let lf = l as f32;
        sumlx += w * x[i] * lf;
        suml2 += w * lf * lf;
    }
    let mut scale = if suml2 != 0.0 { sumlx / suml2 } else { 0.0 };
    let mut best = scale * sumlx;
    for is in -9..=9 {
        if is == 0 {
            continue;
        }
        iscale = -(nmax as f32 + 0.1 * is as f32) / max;
        sumlx = 0.0;
        suml2 = 0.0;
        for i in 0..n {
            let l = nearest_int(iscale * x[i]).clamp(-nmax, nmax - 1);
            let w = x[i] * x[i];
            let lf = l as f32;
            sumlx += w * x[i] * lf;
            suml2 += w * lf * lf;
        }
        if suml2 > 0.0 && sumlx * sumlx > best * suml2 {
            for i in 0..n {
                let l = nearest_int(iscale * x[i]).clamp(-nmax, nmax - 1);
                l_out[i] = (nmax + l) as i8;
            }
            scale = sumlx / suml2;
            best = scale * sumlx;
        }
    }
    scale
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn word_unpacks_match_bytewise() {
        let mut q = [0u8; 12];
        for seed in 0..200u32 {
            for (i, b) in q.iter_mut().enumerate() {
                *b = (seed.wrapping_mul(2654435761).rotate_left(i as u32 * 3) >> 7) as u8;
            }
            let u = unpack_k4_scales(&q);
            for j in 0..8 {
                assert_eq!(scale_min_k4(j, &q), (u[j], u[8 + j]));
            }
            let s = unpack_q3k_scales(&q);
            for i in 0..16 {
                let low = if i < 8 { q[i] & 0x0f } else { q[i - 8] >> 4 };
                let high = (q[8 + i % 4] >> (2 * (i / 4))) & 3;
                assert_eq!(s[i], (low | (high << 4)) as i8 - 32);
            }
        }
    }
}

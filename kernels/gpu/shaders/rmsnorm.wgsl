// rmsnorm.wgsl: RMSNorm as a kernel prologue. y = (x * scale) * gain with
// scale = 1 / sqrt(Σx² / n + eps) (ggml `rms_norm` then `mul`; eps from the file).
// `rms_scale` is called by every invocation of a workgroup of WG (uniform control flow): each
// sums the squares of elements lid, lid + WG, ...; the WG partial sums are then added
// pairwise in `red[0..WG]`. The CPU sums in f64, so the scale agrees to f32 rounding.
// The kernel that includes this file declares `red` (at least WG floats) and `x`.

fn rms_scale(base: u32, n: u32, eps: f32, lid: u32) -> f32 {
    var ss = 0.0;
    for (var k = lid; k < n; k += WG) {
        let v = x[base + k];
        ss += v * v;
    }
    red[lid] = ss;
    workgroupBarrier();
    for (var h = WG / 2u; h > 0u; h >>= 1u) {
        if (lid < h) {
            red[lid] += red[lid + h];
        }
        workgroupBarrier();
    }
    let total = red[0];
    workgroupBarrier();
    return 1.0 / sqrt(total / f32(n) + eps);
}

// topk.wgsl: the k largest logits on the device (k <= 64), for samplers that need only the
// head of the distribution: out[2r] = index, out[2r + 1] = value (f32 bits) of rank r, in
// descending order (equal values: lower index first; NaN is never selected).
// Workgroup: one, of WG = 256 invocations. k rounds; round r finds the best logit ranked
// strictly after rank r - 1 (an argmax over all n with the previous winner as the bound),
// so it costs k scans of the row — cheap next to the output matrix that made the logits.
// Params P: 0 n, 1 k.

const WG: u32 = 256u;

@group(0) @binding(0) var<uniform> P: vec4<u32>;
@group(0) @binding(1) var<storage, read> logits: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<u32>;

var<workgroup> bv: array<f32, WG>;
var<workgroup> bi: array<u32, WG>;

fn better(va: f32, ia: u32, vb: f32, ib: u32) -> bool {
    return va > vb || (va == vb && ia < ib);
}

@compute @workgroup_size(256)
fn main(@builtin(local_invocation_index) lid: u32) {
    let n = P.x;
    let k = min(P.y, 64u);
    var pv = 3.4028235e38;
    var pi = 0xffffffffu; // the previous winner; the first round has none
    var first = true;
    for (var r = 0u; r < k; r++) {
        var v = -3.4028235e38;
        var i = 0xffffffffu;
        for (var e = lid; e < n; e += WG) {
            let x = logits[e];
            let after = first || better(pv, pi, x, e);
            if (after && better(x, e, v, i)) {
                v = x;
                i = e;
            }
        }
        bv[lid] = v;
        bi[lid] = i;
        workgroupBarrier();
        for (var h = WG / 2u; h > 0u; h >>= 1u) {
            if (lid < h && better(bv[lid + h], bi[lid + h], bv[lid], bi[lid])) {
                bv[lid] = bv[lid + h];
                bi[lid] = bi[lid + h];
            }
            workgroupBarrier();
        }
        pv = bv[0];
        pi = bi[0];
        first = false;
        if (lid == 0u) {
            out[2u * r] = pi;
            out[2u * r + 1u] = bitcast<u32>(pv);
        }
        workgroupBarrier();
    }
}

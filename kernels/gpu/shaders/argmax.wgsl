// argmax.wgsl: the greedy token on the device, so that a greedy step reads back 8 bytes.
// out[0] = index of the largest logit (the lowest index among equal maxima; NaN never wins),
// out[1] = its value (f32 bits).
// Workgroup: one, of WG = 256 invocations; invocation lid scans indices lid, lid + WG, ...,
// then the WG candidates are merged pairwise in shared memory.
// Params P: 0 n (logits).

const WG: u32 = 256u;

@group(0) @binding(0) var<uniform> P: vec4<u32>;
@group(0) @binding(1) var<storage, read> logits: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<u32>;

var<workgroup> bv: array<f32, WG>;
var<workgroup> bi: array<u32, WG>;

// (va, ia) ranks before (vb, ib): larger value, then lower index.
fn better(va: f32, ia: u32, vb: f32, ib: u32) -> bool {
    return va > vb || (va == vb && ia < ib);
}

@compute @workgroup_size(256)
fn main(@builtin(local_invocation_index) lid: u32) {
    let n = P.x;
    var v = -3.4028235e38;
    var i = 0xffffffffu;
    for (var k = lid; k < n; k += WG) {
        let x = logits[k];
        if (better(x, k, v, i)) {
            v = x;
            i = k;
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
    if (lid == 0u) {
        out[0] = bi[0];
        out[1] = bitcast<u32>(bv[0]);
    }
}

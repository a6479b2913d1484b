// get_rows.wgsl: the embedding lookup, x[t] = dequantize(token_embd[ids[t]]) for the step's
// tokens, with the CPU path's dequantizer formulas (quant_blocks.wgsl `wdequant`).
// Workgroup: WG = 64 invocations per token (wid.x = t); invocation lid writes elements
// lid, lid + WG, ... of the row. The table may be split by rows in up to four segments, as a
// matvec's weights (same parameter words: 1 n_embd, 3 n_seg, 8..12 types, 12..16 first row,
// 16..20 row bytes). Token ids are checked on the host (id < n_vocab).

const WG: u32 = 64u;

@group(0) @binding(0) var<uniform> P: array<vec4<u32>, 8>;
@group(0) @binding(1) var<uniform> S: vec4<u32>;
@group(0) @binding(2) var<storage, read> w0: array<u32>;
@group(0) @binding(3) var<storage, read> w1: array<u32>;
@group(0) @binding(4) var<storage, read> w2: array<u32>;
@group(0) @binding(5) var<storage, read> w3: array<u32>;
@group(0) @binding(6) var<storage, read> ids: array<u32>;
@group(0) @binding(7) var<storage, read_write> out: array<f32>;

fn p(i: u32) -> u32 {
    return P[i >> 2u][i & 3u];
}

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let t = wid.x;
    let id = ids[t];
    var seg = 0u;
    for (var k = 1u; k < p(3u); k++) {
        if (id >= p(12u + k)) {
            seg = k;
        }
    }
    let ty = p(8u + seg);
    let rb = (id - p(12u + seg)) * p(16u + seg);
    let n = p(1u);
    for (var e = lid; e < n; e += WG) {
        out[t * n + e] = wdequant(ty, seg, rb, e);
    }
}

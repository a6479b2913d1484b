// get_rows.wgsl: the embedding lookup, x[t] = dequantize(token_embd[ids[t]]) for the step's
// tokens, with the CPU path's dequantizer formulas (quant_blocks.wgsl `wdequant`).
// Workgroup: WG = 64 invocations per token (wid.x = t); invocation lid writes elements
// lid, lid + WG, ... of the row. A table larger than one storage binding is split in row
// ranges, one dispatch each: a workgroup whose token is outside the range [P 12, P 2) returns
// at once. Parameter words as a matvec's: 1 n_embd, 2 end row, 8 type, 12 first row, 16 row
// bytes. Token ids are checked on the host (id < n_vocab).

const WG: u32 = 64u;

@group(0) @binding(0) var<uniform> P: array<vec4<u32>, 9>;
@group(0) @binding(1) var<uniform> S: vec4<u32>;
@group(0) @binding(2) var<storage, read> wbuf: array<u32>;
@group(0) @binding(3) var<storage, read> ids: array<u32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;

fn p(i: u32) -> u32 {
    return P[i >> 2u][i & 3u];
}

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let t = wid.x;
    let id = ids[t];
    if (id < p(12u) || id >= p(2u)) {
        return;
    }
    let ty = p(8u);
    let rb = (id - p(12u)) * p(16u);
    let n = p(1u);
    for (var e = lid; e < n; e += WG) {
        out[t * n + e] = wdequant(ty, rb, e);
    }
}

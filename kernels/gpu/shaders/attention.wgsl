// attention.wgsl: causal grouped-query attention of the step's tokens over the f16 KV cache
// on the device, softmax inside.
//
// Formula, for token t (position pos0 + t) and query head h (KV head h / (n_head / n_kv_head)):
//   s_j = (K[j] · f16(q)) * scale, j = 0..=pos0 + t       (scale = 1 / sqrt(head_dim))
//   p_j = f16(exp(s_j - max s) / Σ exp(s - max s))
//   out[t][h] = Σ_j p_j V[j]
// as the CPU path computes it (llama.cpp without flash attention: Q rounded to f16, the
// probabilities rounded to f16 before P·V), up to the order of f32 additions.
//
// Workgroup: WG = 64 invocations per (token, head); workgroup (h, t) = (wid.x, wid.y).
// Pass 1: invocation lid scores positions lid, lid + WG, ... keeping a running max and sum of
// exponentials, merged across the workgroup. Pass 2 walks the positions in tiles of WG: each
// invocation recomputes one score and writes its f16 probability to shared memory, then
// invocation d accumulates Σ p_j V[j][d] for its head dimensions d = lid, lid + WG, ...
// (head_dim <= 256). No buffer scales with the context: K is read twice, V once.
//
// Cache layout: K and V of one layer are [n_ctx][kv_dim] f16, two per u32 word.
// Params P: 0 n_head, 1 n_kv_head, 2 head_dim, 3 kv_dim, 4 q_dim, 5 scale (f32 bits).
// S: pos0, n_tok.

const WG: u32 = 64u;
const MAX_HD: u32 = 256u;

@group(0) @binding(0) var<uniform> P: array<vec4<u32>, 2>;
@group(0) @binding(1) var<uniform> S: vec4<u32>;
@group(0) @binding(2) var<storage, read> q: array<f32>;
@group(0) @binding(3) var<storage, read> kc: array<u32>;
@group(0) @binding(4) var<storage, read> vc: array<u32>;
@group(0) @binding(5) var<storage, read_write> att: array<f32>;

var<workgroup> q16: array<f32, MAX_HD>;
var<workgroup> pm: array<f32, WG>;
var<workgroup> ps: array<f32, WG>;
var<workgroup> prob: array<f32, WG>;

fn p(i: u32) -> u32 {
    return P[i >> 2u][i & 3u];
}

// (K[j] of KV head kvh) · q16, in f32.
fn score(j: u32, kvh: u32) -> f32 {
    let hd = p(2u);
    let base = (j * p(3u) + kvh * hd) / 2u;
    var s = 0.0;
    for (var d = 0u; d < hd / 2u; d++) {
        let kw = kc[base + d];
        s += f16_bits_to_f32(kw & 0xffffu) * q16[2u * d] + f16_bits_to_f32(kw >> 16u) * q16[2u * d + 1u];
    }
    return s;
}

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let h = wid.x;
    let t = wid.y;
    let hd = p(2u);
    let kvh = h / (p(0u) / p(1u));
    let scale = bitcast<f32>(p(5u));
    let n_kv = S.x + t + 1u;
    let qbase = t * p(4u) + h * hd;
    for (var d = lid; d < hd; d += WG) {
        q16[d] = round_f16(q[qbase + d]);
    }
    workgroupBarrier();

    // Pass 1: max and Σ exp.
    var m = -3.0e38;
    var l = 0.0;
    for (var j = lid; j < n_kv; j += WG) {
        let s = score(j, kvh) * scale;
        if (s > m) {
            l = l * exp(m - s) + 1.0;
            m = s;
        } else {
            l += exp(s - m);
        }
    }
    pm[lid] = m;
    ps[lid] = l;
    workgroupBarrier();
    var gm = -3.0e38;
    for (var k = 0u; k < WG; k++) {
        gm = max(gm, pm[k]);
    }
    var gl = 0.0;
    for (var k = 0u; k < WG; k++) {
        if (ps[k] > 0.0) {
            gl += ps[k] * exp(pm[k] - gm);
        }
    }
    let inv = 1.0 / gl;

    // Pass 2: Σ f16(p_j) V[j].
    var acc: array<f32, 4>; // MAX_HD / WG
    for (var i = 0u; i < 4u; i++) {
        acc[i] = 0.0;
    }
    let kvd = p(3u);
    for (var j0 = 0u; j0 < n_kv; j0 += WG) {
        let j = j0 + lid;
        var pj = 0.0;
        if (j < n_kv) {
            pj = round_f16(exp(score(j, kvh) * scale - gm) * inv);
        }
        prob[lid] = pj;
        workgroupBarrier();
        let nj = min(WG, n_kv - j0);
        for (var i = 0u; i < 4u; i++) {
            let d = lid + i * WG;
            if (d < hd) {
                var s = acc[i];
                let vbase = j0 * kvd + kvh * hd + d;
                for (var jj = 0u; jj < nj; jj++) {
                    let e = vbase + jj * kvd;
                    let vw = vc[e / 2u] >> (16u * (e & 1u));
                    s += prob[jj] * f16_bits_to_f32(vw & 0xffffu);
                }
                acc[i] = s;
            }
        }
        workgroupBarrier();
    }
    for (var i = 0u; i < 4u; i++) {
        let d = lid + i * WG;
        if (d < hd) {
            att[qbase + d] = acc[i];
        }
    }
}

// matvec.wgsl: quantized weight matrix times activations, with the RMSNorm before it and the
// bias / RoPE / KV-cache store / SwiGLU / residual add after it fused in, so that a transformer
// layer is five dispatches. Decode is the TILE_T = 1 build (matrix·vector); prefill is the
// TILE_T = 4 build (matrix·matrix: each weight sub-block is decoded once and multiplied with
// four tokens). KQ selects the activation format: false = Q8_0/Q8_1 (weights Q4_0, Q4_1,
// Q5_0, Q8_0), true = Q8_K (Q4_K, Q6_K). The host replaces the three `const` lines below.
//
// Formula: for output unit u and token t, y[t][u] = Σ_j wsub_dot(W[row(u)] sub-block j,
// quant(act[t] sub-block j)), act = x (or RMSNorm(x) * gain), then the epilogue of `mode`:
//   0 STORE   out[t][u] = y (+ bias[u])
//   1 ADD     out[t][u] += y (+ bias[u])                       (residual add)
//   2 SWIGLU  out[t][u] = swiglu(y_gate[u], y_up[u])          (segments 0 = gate, 1 = up)
//   3 QKV     segments 0 = Q, 1 = K, 2 = V: y + bias, RoPE on Q and K, Q to out (f32),
//             K and V to the f16 KV cache at position pos0 + t.
// The weights are one buffer (`wbuf`) holding up to three segments, each a tensor with its
// own ggml type at its own byte offset (Q|K|V, gate|up); a tensor larger than one storage
// binding is split in row ranges, one dispatch each (modes 0 and 1, one segment whose first
// unit is the range's first row).
//
// Workgroup: WG = 64 invocations, split into G row groups of S lanes (S = the number of
// 32-weight sub-blocks of a row rounded up to a power of two, at most 64; G = 64 / S, so a
// short row does not leave invocations idle). Row group g computes R = 4 weight rows for
// TILE_T tokens; its lane `l` owns sub-blocks j = l, l + S, ... of those rows: it quantizes
// the activations of sub-block j once per token and multiplies them with the R rows; the S
// partial sums of each (row, token) are then added in lane order. A workgroup computes
// G * R rows. In modes 2 and 3 each group of four rows is two pairs (gate/up of two units,
// or the two elements of two RoPE pairs whose f16 cache words the workgroup owns whole).
//
// Params P (u32 words): 0 mode, 1 n_in, 2 end unit, 3 n_seg, 4 x row stride, 5 out row stride,
// 6 norm gain offset in `smalls` (NONE = no norm), 7 eps (f32 bits), 8..12 segment types,
// 12..16 segment first unit, 16..20 segment row bytes, 20..24 segment bias offset in `smalls`
// (NONE = no bias), 24 head_dim, 25 NeoX RoPE, 26 lanes S, 27 which tokens: 0 all, 1 the last
// only (its output in row 0), 2 rows S.z..S.z + S.y (outputs from row 0), 28 workgroups per
// grid row (x), 30 kv_dim, 32..36 segment byte offset in `wbuf`. S: pos0 (position of the
// step's first token), n_tok (tokens in the step; rows in mode 2), first row (mode 2).

const TILE_T: u32 = 1u;
const KQ: bool = false;
const WG: u32 = 64u;
const R: u32 = 4u;
const NONE: u32 = 0xffffffffu;
// Q8_K super-blocks per token row the prologue keeps (n_in <= 32768).
const MAX_KSB: u32 = 128u;

@group(0) @binding(0) var<uniform> P: array<vec4<u32>, 9>;
@group(0) @binding(1) var<uniform> S: vec4<u32>;
@group(0) @binding(2) var<storage, read> wbuf: array<u32>;
@group(0) @binding(3) var<storage, read> x: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;
@group(0) @binding(5) var<storage, read> smalls: array<f32>;
@group(0) @binding(6) var<storage, read> rope: array<f32>;
@group(0) @binding(7) var<storage, read_write> kc: array<u32>;
@group(0) @binding(8) var<storage, read_write> vc: array<u32>;

var<workgroup> red: array<f32, 1024>; // G * R * TILE_T * S = WG * R * TILE_T
var<workgroup> nscale: array<f32, TILE_T>;
var<workgroup> kis: array<f32, 512>; // MAX_KSB * TILE_T
var<workgroup> fin: array<f32, 1024>; // G * R * TILE_T

var<private> tin0: u32; // input row of the tile's first token
var<private> ntile: u32; // tokens of this tile
var<private> tout0: u32; // output row of the tile's first token

fn p(i: u32) -> u32 {
    return P[i >> 2u][i & 3u];
}

// Activation k of token t of the tile, RMS-normed when the dispatch asks for it.
fn act_value(t: u32, k: u32) -> f32 {
    let v = x[(tin0 + t) * p(4u) + k];
    let g = p(6u);
    if (g == NONE) {
        return v;
    }
    return (v * nscale[t]) * smalls[g + k];
}

// iscale of a Q8_K super-block: -127 / (value of largest magnitude, first on ties), 0 if all
// are zero. `x` is read through `act_value(t, k)`, above.
fn q8k_iscale(t: u32, k0: u32) -> f32 {
    var amax = 0.0;
    var mx = 0.0;
    for (var i = 0u; i < 256u; i++) {
        let v = act_value(t, k0 + i);
        let av = abs(v);
        if (av > amax) {
            amax = av;
            mx = v;
        }
    }
    return select(-127.0 / mx, 0.0, amax == 0.0);
}

struct Slot {
    valid: bool,
    seg: u32,
    row: u32, // weight row within the segment
    unit: u32,
    lp: u32, // QKV: pair index within the segment
}

fn seg_of(unit: u32) -> u32 {
    var s = 0u;
    for (var k = 1u; k < p(3u); k++) {
        if (unit >= p(12u + k)) {
            s = k;
        }
    }
    return s;
}

// Slot r (0..G * R) of workgroup wg: group r / R, row r % R of the group.
fn slot_of(wg: u32, r: u32) -> Slot {
    var sl: Slot;
    let mode = p(0u);
    let rw = (WG / p(26u)) * R; // rows per workgroup
    if (mode <= 1u) {
        sl.unit = p(12u) + wg * rw + r;
        sl.seg = 0u;
        sl.row = sl.unit - p(12u);
    } else {
        // each group of R = 4 slots is two units: slots 4k, 4k + 1 the first elements,
        // 4k + 2, 4k + 3 the second
        let k = r / R;
        let i = r % R;
        sl.unit = wg * (rw / 2u) + 2u * k + i % 2u;
        let which = i / 2u;
        if (mode == 2u) {
            sl.seg = which;
            sl.row = sl.unit;
        } else {
            sl.seg = seg_of(sl.unit);
            sl.lp = sl.unit - p(12u + sl.seg);
            var ra = 2u * sl.lp;
            var rb = ra + 1u;
            if (sl.seg < 2u) {
                let hd = p(24u);
                let half = hd / 2u;
                let head = sl.lp / half;
                let i = sl.lp % half;
                if (p(25u) != 0u) {
                    ra = head * hd + i;
                    rb = ra + half;
                } else {
                    ra = head * hd + 2u * i;
                    rb = ra + 1u;
                }
            }
            sl.row = select(ra, rb, which == 1u);
        }
    }
    sl.valid = sl.unit < p(2u);
    return sl;
}

fn bias_at(seg: u32, i: u32) -> f32 {
    let b = p(20u + seg);
    if (b == NONE) {
        return 0.0;
    }
    return smalls[b + i];
}

fn pack_f16x2(a: f32, b: f32) -> u32 {
    return f32_to_f16_bits(a) | (f32_to_f16_bits(b) << 16u);
}

// Epilogue of mode 3 for one token and the group of slots s0..s0 + 4: two RoPE pairs (units
// u0 = slots s0 / s0 + 2, u1 = s0 + 1 / s0 + 3).
fn epilogue_qkv(wg: u32, s0: u32, t: u32) {
    var slots: array<Slot, R>;
    for (var r = 0u; r < R; r++) {
        slots[r] = slot_of(wg, s0 + r);
    }
    let hd = p(24u);
    let half = hd / 2u;
    let pos = S.x + tout0 + t;
    let kvd = p(30u);
    var va: array<f32, 2>;
    var vb: array<f32, 2>;
    var ra: array<u32, 2>;
    var rb: array<u32, 2>;
    let seg = slots[0].seg;
    for (var u = 0u; u < 2u; u++) {
        ra[u] = slots[u].row;
        rb[u] = slots[u + 2u].row;
        var a = fin[(s0 + u) * TILE_T + t] + bias_at(seg, ra[u]);
        var b = fin[(s0 + u + 2u) * TILE_T + t] + bias_at(seg, rb[u]);
        if (seg < 2u) {
            let i = slots[u].lp % half;
            let cs = pos * hd + 2u * i;
            let r = rope_pair(a, b, rope[cs], rope[cs + 1u]);
            a = r.x;
            b = r.y;
        }
        va[u] = a;
        vb[u] = b;
    }
    if (seg == 0u) {
        let o = (tout0 + t) * p(5u);
        for (var u = 0u; u < 2u; u++) {
            out[o + ra[u]] = va[u];
            out[o + rb[u]] = vb[u];
        }
        return;
    }
    let base = (pos * kvd) / 2u;
    if (seg == 1u && p(25u) != 0u) {
        // NeoX: rows i, i + 1 (units u0, u1) share one word, rows i + half, i + half + 1 the other.
        kc[base + ra[0] / 2u] = pack_f16x2(va[0], va[1]);
        kc[base + rb[0] / 2u] = pack_f16x2(vb[0], vb[1]);
        return;
    }
    for (var u = 0u; u < 2u; u++) {
        let word = pack_f16x2(va[u], vb[u]);
        if (seg == 1u) {
            kc[base + ra[u] / 2u] = word;
        } else {
            vc[base + ra[u] / 2u] = word;
        }
    }
}

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let wg = wid.x + wid.y * p(28u);
    let n_step = S.y;
    if (p(27u) == 1u) {
        tin0 = n_step - 1u;
        ntile = 1u;
        tout0 = 0u;
    } else if (p(27u) == 2u) {
        // rows mode: S.y rows from input row S.z, their outputs from row 0
        tout0 = wid.z * TILE_T;
        tin0 = S.z + tout0;
        ntile = min(TILE_T, n_step - tout0);
    } else {
        tin0 = wid.z * TILE_T;
        ntile = min(TILE_T, n_step - tin0);
        tout0 = tin0;
    }
    let n_in = p(1u);

    // Prologue: RMS scale of each token, then (Q8_K) the iscale of each super-block.
    if (p(6u) != NONE) {
        for (var t = 0u; t < TILE_T; t++) {
            let sc = rms_scale((tin0 + min(t, ntile - 1u)) * p(4u), n_in, bitcast<f32>(p(7u)), lid);
            if (lid == 0u) {
                nscale[t] = sc;
            }
        }
        workgroupBarrier();
    }
    if (KQ) {
        let n_sb = n_in / 256u;
        for (var i = lid; i < TILE_T * n_sb; i += WG) {
            let t = i / n_sb;
            let sb = i % n_sb;
            var v = 0.0;
            if (t < ntile) {
                v = q8k_iscale(t, sb * 256u);
            }
            kis[t * MAX_KSB + sb] = v;
        }
        workgroupBarrier();
    }

    let lanes = p(26u);
    let grp = lid / lanes;
    let lane = lid % lanes;
    var slots: array<Slot, R>;
    for (var r = 0u; r < R; r++) {
        slots[r] = slot_of(wg, grp * R + r);
    }
    var acc: array<f32, 16>; // R * TILE_T
    for (var i = 0u; i < R * TILE_T; i++) {
        acc[i] = 0.0;
    }
    let n_sub = n_in / 32u;
    for (var j = lane; j < n_sub; j += lanes) {
        var a: array<ASub, TILE_T>;
        // Constant trip counts (the tile's missing tokens are skipped inside) so that the
        // compiler unrolls these loops and keeps `a` and `acc` in registers.
        for (var t = 0u; t < TILE_T; t++) {
            if (t < ntile) {
                var xs: array<f32, 32>;
                for (var i = 0u; i < 32u; i++) {
                    xs[i] = act_value(t, 32u * j + i);
                }
                if (KQ) {
                    a[t] = quant_q8_k(xs, kis[t * MAX_KSB + j / 8u]);
                } else {
                    a[t] = quant_q8_0(xs);
                }
            }
        }
        for (var r = 0u; r < R; r++) {
            let sl = slots[r];
            if (sl.valid) {
                let ty = p(8u + sl.seg);
                let rb = p(32u + sl.seg) + sl.row * p(16u + sl.seg);
                var w: WSub;
                // KQ is a constant: the other family's decoder is compiled out.
                if (KQ) {
                    w = wsub_decode_k(ty, rb, j);
                } else {
                    w = wsub_decode_b32(ty, rb, j);
                }
                for (var t = 0u; t < TILE_T; t++) {
                    if (t < ntile) {
                        acc[r * TILE_T + t] += wsub_dot(ty, w, a[t]);
                    }
                }
            }
        }
    }

    // Sum the S partial sums of every (row, token) in lane order.
    for (var i = 0u; i < R * TILE_T; i++) {
        red[((grp * R * TILE_T) + i) * lanes + lane] = acc[i];
    }
    workgroupBarrier();
    let n_fin = (WG / lanes) * R * TILE_T;
    for (var i = lid; i < n_fin; i += WG) {
        var s = 0.0;
        for (var k = 0u; k < lanes; k++) {
            s += red[i * lanes + k];
        }
        fin[i] = s;
    }
    workgroupBarrier();
    if (lid != 0u) {
        return;
    }

    let mode = p(0u);
    let n_slots = (WG / lanes) * R;
    for (var t = 0u; t < ntile; t++) {
        let o = (tout0 + t) * p(5u);
        for (var s0 = 0u; s0 < n_slots; s0 += R) {
            if (mode == 3u) {
                if (slot_of(wg, s0).valid) {
                    epilogue_qkv(wg, s0, t);
                }
            } else if (mode == 2u) {
                for (var u = 0u; u < 2u; u++) {
                    let sl = slot_of(wg, s0 + u);
                    if (sl.valid) {
                        let g = fin[(s0 + u) * TILE_T + t];
                        let up = fin[(s0 + u + 2u) * TILE_T + t];
                        out[o + sl.unit] = swiglu(g, up);
                    }
                }
            } else {
                for (var r = s0; r < s0 + R; r++) {
                    let sl = slot_of(wg, r);
                    if (sl.valid) {
                        let v = fin[r * TILE_T + t] + bias_at(0u, sl.unit);
                        if (mode == 1u) {
                            out[o + sl.unit] += v;
                        } else {
                            out[o + sl.unit] = v;
                        }
                    }
                }
            }
        }
    }
}

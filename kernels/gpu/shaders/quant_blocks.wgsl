// quant_blocks.wgsl: one 32-weight sub-block of a GGUF weight row, decoded from the bytes as
// uploaded, for Q4_0, Q4_1, Q5_0, Q8_0 (block of 32) and Q4_K, Q6_K (super-block of 256 =
// 8 sub-blocks of 32). Types are ggml's numbers (Q4_0 = 2, Q4_1 = 3, Q5_0 = 6, Q8_0 = 8,
// Q4_K = 12, Q6_K = 14).
//
// A decoded sub-block is 32 unsigned bytes `u` packed four to a word (element 4k + i in byte i
// of word k) with a zero point `zp`, so that the signed quant is `u - zp`:
//   Q4_0  x = d * (q - 8)              u = q,        zp = 8
//   Q4_1  x = d * q + m                u = q,        zp = 0
//   Q5_0  x = d * (q - 16)             u = q (5 bit), zp = 16
//   Q8_0  x = d * q                    u = q + 128,  zp = 128
//   Q4_K  x = d * sc[s] * q - dmin * m[s]   (6-bit sc, m of sub-block s), zp = 0
//   Q6_K  x = d * scales[g] * (q - 32)      (i8 scale of each group g of 16), zp = 32
// and `wsub_dot` multiplies it with a quantized activation sub-block (act_quant.wgsl) with the
// integer arithmetic of the CPU's reference `vec_dot_ref` (exact integer sums per sub-block),
// then the same f32 products per sub-block. The CPU sums a k-quant super-block's 8 sub-blocks
// as integers before the one f32 multiply; here each sub-block is scaled on its own, so results
// differ from the reference only in f32 rounding (tests: |gpu - ref| <= 2e-5 * Σ|w·a|).

// Reading the bytes: GGUF blocks are byte-packed (Q4_0 is 18 bytes, Q6_K 210) and their f16
// scales sit at odd offsets, so nothing assumes alignment: `wload(byte)` returns the 4 bytes
// at any byte offset of the weight buffer as one little-endian u32 (two word loads and a
// funnel shift when the offset is not a multiple of 4). The including kernel declares `wbuf`
// (storage, array<u32>): one buffer per dispatch, holding one or several tensors (Q|K|V,
// gate|up) or a row range of one tensor larger than a storage binding.

// The 4 bytes at byte offset `b`, little-endian.
fn wload(b: u32) -> u32 {
    let i = b >> 2u;
    let sh = (b & 3u) * 8u;
    let lo = wbuf[i];
    if (sh == 0u) {
        return lo;
    }
    let hi = wbuf[i + 1u];
    return (lo >> sh) | (hi << (32u - sh));
}

// The byte at offset `b`.
fn wbyte(b: u32) -> u32 {
    return (wbuf[b >> 2u] >> ((b & 3u) * 8u)) & 0xffu;
}

// The little-endian u16 at offset `b` (may straddle two words).
fn wu16(b: u32) -> u32 {
    return wload(b) & 0xffffu;
}

// The f16 at byte offset `b`, as f32.
fn wf16(b: u32) -> f32 {
    return f16_bits_to_f32(wu16(b));
}

struct WSub {
    u: array<u32, 8>,
    zp: i32,
    d: f32,   // scale (Q4_K, Q6_K: the super-block d)
    m: f32,   // Q4_1: m; Q4_K: dmin
    sc0: i32, // Q4_K: 6-bit scale; Q6_K: scale of elements 0..16
    sc1: i32, // Q4_K: 6-bit min;   Q6_K: scale of elements 16..32
}

// Bit i of `b` (i < 4) to bit 4 of byte i.
fn spread4(b: u32) -> u32 {
    return ((b & 1u) | ((b & 2u) << 7u) | ((b & 4u) << 14u) | ((b & 8u) << 21u)) << 4u;
}

// Sub-block `j` (weights 32j..32j+32) of the row starting at byte `rb`:
// the block-of-32 types (Q4_0, Q4_1, Q5_0, Q8_0).
fn wsub_decode_b32(ty: u32, rb: u32, j: u32) -> WSub {
    var w: WSub;
    w.zp = 0;
    w.m = 0.0;
    w.sc0 = 1;
    w.sc1 = 0;
    switch ty {
        case 2u, 3u: {
            // Q4_0 (18 B: d, qs[16]) / Q4_1 (20 B: d, m, qs[16])
            let q41 = ty == 3u;
            let off = rb + j * select(18u, 20u, q41);
            w.d = wf16(off);
            let qoff = off + select(2u, 4u, q41);
            if (q41) {
                w.m = wf16(off + 2u);
            } else {
                w.zp = 8;
            }
            for (var k = 0u; k < 4u; k++) {
                let qw = wload(qoff + 4u * k);
                w.u[k] = qw & 0x0f0f0f0fu;
                w.u[k + 4u] = (qw >> 4u) & 0x0f0f0f0fu;
            }
        }
        case 6u: {
            // Q5_0 (22 B: d, qh u32, qs[16]): bit l of qh is the fifth bit of element l
            let off = rb + j * 22u;
            w.d = wf16(off);
            let qh = wload(off + 2u);
            w.zp = 16;
            for (var k = 0u; k < 4u; k++) {
                let qw = wload(off + 6u + 4u * k);
                w.u[k] = (qw & 0x0f0f0f0fu) | spread4(qh >> (4u * k));
                w.u[k + 4u] = ((qw >> 4u) & 0x0f0f0f0fu) | spread4(qh >> (16u + 4u * k));
            }
        }
        default: {
            // Q8_0 (34 B: d, qs[32] i8), biased to unsigned
            let off = rb + j * 34u;
            w.d = wf16(off);
            w.zp = 128;
            for (var k = 0u; k < 8u; k++) {
                w.u[k] = wload(off + 2u + 4u * k) ^ 0x80808080u;
            }
        }
    }
    return w;
}

// The same for the k-quants (Q4_K, Q6_K): sub-block j % 8 of super-block j / 8.
fn wsub_decode_k(ty: u32, rb: u32, j: u32) -> WSub {
    var w: WSub;
    w.zp = 0;
    w.m = 0.0;
    w.sc0 = 1;
    w.sc1 = 0;
    switch ty {
        case 12u: {
            // Q4_K (144 B: d, dmin, scales[12], qs[128]); sub-block s of super-block j / 8
            let s = j & 7u;
            let off = rb + (j >> 3u) * 144u;
            w.d = wf16(off);
            w.m = wf16(off + 2u);
            let sc = off + 4u;
            if (s < 4u) {
                w.sc0 = i32(wbyte(sc + s) & 63u);
                w.sc1 = i32(wbyte(sc + s + 4u) & 63u);
            } else {
                let b = wbyte(sc + s + 4u);
                w.sc0 = i32((b & 0x0fu) | ((wbyte(sc + s - 4u) >> 6u) << 4u));
                w.sc1 = i32((b >> 4u) | ((wbyte(sc + s) >> 6u) << 4u));
            }
            // chunk s / 2 holds sub-block s in its low (s even) or high nibbles
            let qoff = off + 16u + 32u * (s >> 1u);
            let sh = 4u * (s & 1u);
            for (var k = 0u; k < 8u; k++) {
                w.u[k] = (wload(qoff + 4u * k) >> sh) & 0x0f0f0f0fu;
            }
        }
        default: {
            // Q6_K (210 B: ql[128], qh[64], scales[16] i8, d); sub-block s = 4h + k
            let s = j & 7u;
            let off = rb + (j >> 3u) * 210u;
            let h = s >> 2u;
            let k = s & 3u;
            let loff = off + 64u * h + 32u * (k & 1u);
            let hoff = off + 128u + 32u * h;
            let lsh = 4u * (k >> 1u);
            let hsh = 2u * k;
            for (var i = 0u; i < 8u; i++) {
                let lo = (wload(loff + 4u * i) >> lsh) & 0x0f0f0f0fu;
                let hi = ((wload(hoff + 4u * i) >> hsh) & 0x03030303u) << 4u;
                w.u[i] = lo | hi;
            }
            w.zp = 32;
            w.sc0 = extractBits(i32(wbyte(off + 192u + 2u * s)), 0u, 8u);
            w.sc1 = extractBits(i32(wbyte(off + 193u + 2u * s)), 0u, 8u);
            w.d = wf16(off + 208u);
        }
    }
    return w;
}

// Either family, by type.
fn wsub_decode(ty: u32, rb: u32, j: u32) -> WSub {
    if (ty == 12u || ty == 14u) {
        return wsub_decode_k(ty, rb, j);
    }
    return wsub_decode_b32(ty, rb, j);
}

// Σ u_k * b_k over four bytes: `u` unsigned, `b` signed.
fn dot4_us(u: u32, b: u32) -> i32 {
    return i32(u & 0xffu) * sbyte(b, 0u) + i32((u >> 8u) & 0xffu) * sbyte(b, 1u)
        + i32((u >> 16u) & 0xffu) * sbyte(b, 2u) + i32(u >> 24u) * sbyte(b, 3u);
}

// The sub-block's contribution to a row·activation dot product (see the header).
fn wsub_dot(ty: u32, w: WSub, a: ASub) -> f32 {
    var lo = 0;
    var hi = 0;
    for (var k = 0u; k < 4u; k++) {
        lo += dot4_us(w.u[k], a.q[k]);
        hi += dot4_us(w.u[k + 4u], a.q[k + 4u]);
    }
    lo -= w.zp * a.sum_lo;
    hi -= w.zp * a.sum_hi;
    switch ty {
        case 3u: {
            return (w.d * a.d) * f32(lo + hi) + w.m * a.s;
        }
        case 12u: {
            return (w.d * a.d) * f32(w.sc0 * (lo + hi)) - (w.m * a.d) * f32(w.sc1 * (a.sum_lo + a.sum_hi));
        }
        case 14u: {
            return (w.d * a.d) * f32(w.sc0 * lo + w.sc1 * hi);
        }
        default: {
            return f32(lo + hi) * (w.d * a.d);
        }
    }
}

// Weight `e` of the row at byte `rb` as the CPU's dequantizer computes it.
fn wdequant(ty: u32, rb: u32, e: u32) -> f32 {
    let ws = wsub_decode(ty, rb, e / 32u);
    let l = e & 31u;
    let q = i32((ws.u[l >> 2u] >> (8u * (l & 3u))) & 0xffu) - ws.zp;
    switch ty {
        case 3u: {
            return f32(q) * ws.d + ws.m;
        }
        case 12u: {
            return (ws.d * f32(ws.sc0)) * f32(q) - ws.m * f32(ws.sc1);
        }
        case 14u: {
            return (ws.d * f32(select(ws.sc0, ws.sc1, l >= 16u))) * f32(q);
        }
        default: {
            return f32(q) * ws.d;
        }
    }
}

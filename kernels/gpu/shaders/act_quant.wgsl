// act_quant.wgsl: activations quantized on the device, 32 values at a time, to the formats
// the CPU path multiplies with (ggml's `vec_dot_type`), so that a GPU dot product has the
// CPU's integer arithmetic:
//   Q8_0 (for Q4_0, Q5_0, Q8_0) and Q8_1 (for Q4_1): per block of 32, amax = max |x|,
//     d = amax / 127, id = 127 / amax (0 when amax = 0), q = clamp(round_even(x * id)), the
//     scale stored as f16, Q8_1's s = f16(d * Σq) — ggml's x86 AVX2 `quantize_row_q8_0/1`;
//   Q8_K (for Q4_K, Q6_K): per super-block of 256, `max` = the value of largest magnitude
//     (the first on ties), iscale = -127 / max, q = min(127, round_even(iscale * x)),
//     d = 1 / iscale (f32), sums of 16 quants — ggml's `quantize_row_q8_K_ref`.
// One invocation quantizes one 32-value sub-block (the Q8_K iscale of its super-block comes
// from the kernel's prologue, `q8k_iscale` in matvec.wgsl). Division and `round`
// are WGSL's: `round` is ties-to-even by the spec; `/` may differ from IEEE by an ulp on some
// GPUs, which can move a quant by one at an exact rounding tie (then the result differs from
// the CPU's in that term only).

struct ASub {
    q: array<u32, 8>, // 32 signed i8 quants, element 4k + i in byte i of word k
    d: f32,           // scale (Q8_0/Q8_1: f16-rounded; Q8_K: f32)
    s: f32,           // Q8_1: f16(d * Σq)
    sum_lo: i32,      // Σ of quants 0..16
    sum_hi: i32,      // Σ of quants 16..32
}

fn pack_q(qs: array<i32, 32>) -> ASub {
    var a: ASub;
    a.sum_lo = 0;
    a.sum_hi = 0;
    for (var k = 0u; k < 8u; k++) {
        var word = 0u;
        for (var i = 0u; i < 4u; i++) {
            let q = qs[4u * k + i];
            word |= (bitcast<u32>(q) & 0xffu) << (8u * i);
            if (k < 4u) {
                a.sum_lo += q;
            } else {
                a.sum_hi += q;
            }
        }
        a.q[k] = word;
    }
    return a;
}

// Q8_0 / Q8_1 block of 32.
fn quant_q8_0(x: array<f32, 32>) -> ASub {
    var amax = 0.0;
    for (var i = 0u; i < 32u; i++) {
        amax = max(amax, abs(x[i]));
    }
    let d = amax / 127.0;
    let id = select(0.0, 127.0 / amax, amax != 0.0);
    var qs: array<i32, 32>;
    var sum = 0;
    for (var i = 0u; i < 32u; i++) {
        let v = i32(round(x[i] * id));
        sum += v;
        qs[i] = clamp(v, -128, 127);
    }
    var a = pack_q(qs);
    a.d = round_f16(d);
    a.s = round_f16(d * f32(sum));
    return a;
}

// Q8_K sub-block of 32 with its super-block's iscale.
fn quant_q8_k(x: array<f32, 32>, iscale: f32) -> ASub {
    var qs: array<i32, 32>;
    for (var i = 0u; i < 32u; i++) {
        qs[i] = min(127, i32(round(iscale * x[i])));
    }
    var a = pack_q(qs);
    a.d = select(1.0 / iscale, 0.0, iscale == 0.0);
    a.s = 0.0;
    return a;
}

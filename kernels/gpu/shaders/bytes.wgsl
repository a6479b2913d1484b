// bytes.wgsl: exact f16 <-> f32 conversions (round to nearest even, as ggml's
// `GGML_FP32_TO_FP16` and the CPU path's f16 KV cache) and 4-lane i8 dot products on packed
// u32 words. Helpers only: no bindings, no entry point.

// IEEE half bits (low 16 bits of `h`) to f32, exact for every input (subnormals included).
fn f16_bits_to_f32(h: u32) -> f32 {
    let sign = (h & 0x8000u) << 16u;
    let em = h & 0x7fffu;
    if (em >= 0x7c00u) {
        if (em == 0x7c00u) {
            return bitcast<f32>(sign | 0x7f800000u);
        }
        return bitcast<f32>(sign | 0x7fc00000u | ((em & 0x3ffu) << 13u));
    }
    if (em >= 0x0400u) {
        return bitcast<f32>(sign | ((em << 13u) + (112u << 23u)));
    }
    // zero or subnormal: m * 2^-24, exact in f32
    let m = f32(em) * 5.9604644775390625e-8;
    return select(m, -m, sign != 0u);
}

// f32 to IEEE half bits, round to nearest even (overflow to infinity, NaN kept quiet).
fn f32_to_f16_bits(x: f32) -> u32 {
    let b = bitcast<u32>(x);
    let sign = (b >> 16u) & 0x8000u;
    let e = (b >> 23u) & 0xffu;
    let m = b & 0x7fffffu;
    if (e == 0xffu) {
        return sign | 0x7c00u | select(0u, 0x200u | (m >> 13u), m != 0u);
    }
    if (e > 142u) {
        return sign | 0x7c00u; // |x| >= 65536: infinity
    }
    if (e >= 113u) {
        // normal half: drop 13 mantissa bits with ties to even; a carry may reach the
        // exponent (and 65520.. rounds to infinity), which the addition handles.
        let v = ((e - 112u) << 10u) | (m >> 13u);
        let rest = m & 0x1fffu;
        let up = select(0u, 1u, rest > 0x1000u || (rest == 0x1000u && (v & 1u) == 1u));
        return sign | (v + up);
    }
    if (e < 102u) {
        return sign; // below half the smallest subnormal: zero
    }
    // subnormal half: value = mant * 2^(e-150), unit 2^-24
    let mant = m | 0x800000u;
    let shift = 126u - e; // 14..24
    let v = mant >> shift;
    let rest = mant & ((1u << shift) - 1u);
    let half = 1u << (shift - 1u);
    let up = select(0u, 1u, rest > half || (rest == half && (v & 1u) == 1u));
    return sign | (v + up);
}

// x rounded to f16 precision (round to nearest even), as f32.
fn round_f16(x: f32) -> f32 {
    return f16_bits_to_f32(f32_to_f16_bits(x));
}

// Sign-extended byte k of w.
fn sbyte(w: u32, k: u32) -> i32 {
    return extractBits(bitcast<i32>(w), 8u * k, 8u);
}

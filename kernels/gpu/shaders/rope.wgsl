// rope.wgsl: rotary position embedding of one pair of a head, as a kernel epilogue.
// The pair is (2i, 2i + 1) for normal RoPE (llama) or (i, i + head_dim / 2) for NeoX (qwen2);
// which pair a row belongs to is the caller's business (matvec.wgsl keeps both rows of a pair
// in one workgroup). `(cos, sin)` of pair i at position p come from a table the host fills
// once per session with the CPU path's formula (theta = p * base^(-2i / head_dim), built
// incrementally as ggml does, freq_base from the file), `rope[p * head_dim + 2i .. + 2]`.
// The rotation is ggml's x86 arithmetic: one fused multiply-add with the other product
// rounded first.

fn rope_pair(a: f32, b: f32, c: f32, s: f32) -> vec2<f32> {
    return vec2<f32>(fma(a, c, -(b * s)), fma(a, s, b * c));
}

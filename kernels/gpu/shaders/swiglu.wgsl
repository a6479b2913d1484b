// swiglu.wgsl: the feed-forward gate as a kernel epilogue, out = silu(gate) * up with
// silu(g) = g / (1 + exp(-g)) (ggml `ggml_vec_swiglu_f32`; the CPU's vector exp and WGSL's
// `exp` agree to a few ulp).

fn swiglu(g: f32, u: f32) -> f32 {
    return g / (1.0 + exp(-g)) * u;
}

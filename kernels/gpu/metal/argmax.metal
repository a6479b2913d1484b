// Generated from kernels/gpu/shaders by naga 30 msl-out (tests/shaders.rs); do not edit.
// Module: argmax
// language: metal3.0
#include <metal_stdlib>
#include <simd/simd.h>

using metal::uint;

struct _mslBufferSizes {
    uint size1;
    uint size2;
};

typedef float type_3[1];
typedef uint type_4[1];
struct type_5 {
    float inner[256];
};
struct type_6 {
    uint inner[256];
};
constant uint WG = 256u;

bool better(
    float va,
    uint ia,
    float vb,
    uint ib
) {
    bool local_1 = {};
    bool local_2 = {};
    if (!((va > vb))) {
        if (va == vb) {
            local_2 = ia < ib;
        } else {
            local_2 = false;
        }
        bool _e13 = local_2;
        local_1 = _e13;
    } else {
        local_1 = true;
    }
    bool _e15 = local_1;
    return _e15;
}

struct main_Input {
};
[[max_total_threads_per_threadgroup(256)]] kernel void main_(
  uint lid [[thread_index_in_threadgroup]]
, constant metal::uint4& P [[buffer(0)]]
, device type_3 const& logits [[buffer(1)]]
, device type_4& out [[buffer(2)]]
, threadgroup type_5& bv
, threadgroup type_6& bi
, constant _mslBufferSizes& _buffer_sizes [[buffer(3)]]
) {
    float v = -340282350000000000000000000000000000000.0;
    uint i = 4294967295u;
    uint k = {};
    uint h = 128u;
    bool local = {};
    uint n = P.x;
    k = lid;
    uint2 loop_bound = uint2(4294967295u);
    bool loop_init = true;
    while(true) {
        if (metal::all(loop_bound == uint2(0u))) { break; }
        loop_bound -= uint2(loop_bound.y == 0u, 1u);
        if (!loop_init) {
            uint _e20 = k;
            k = _e20 + WG;
        }
        loop_init = false;
        uint _e9 = k;
        if (_e9 < n) {
        } else {
            break;
        }
        {
            uint _e12 = k;
            float x = logits[metal::min(unsigned(_e12), (_buffer_sizes.size1 - 0 - 4) / 4)];
            uint _e15 = k;
            float _e16 = v;
            uint _e17 = i;
            bool _e18 = better(x, _e15, _e16, _e17);
            if (_e18) {
                v = x;
                uint _e19 = k;
                i = _e19;
            }
        }
    }
    float _e25 = v;
    bv.inner[metal::min(unsigned(lid), 255u)] = _e25;
    uint _e28 = i;
    bi.inner[metal::min(unsigned(lid), 255u)] = _e28;
    metal::threadgroup_barrier(metal::mem_flags::mem_threadgroup);
    uint2 loop_bound_1 = uint2(4294967295u);
    bool loop_init_1 = true;
    while(true) {
        if (metal::all(loop_bound_1 == uint2(0u))) { break; }
        loop_bound_1 -= uint2(loop_bound_1.y == 0u, 1u);
        if (!loop_init_1) {
            uint _e71 = h;
            h = _e71 >> 1u;
        }
        loop_init_1 = false;
        uint _e31 = h;
        if (_e31 > 0u) {
        } else {
            break;
        }
        {
            uint _e34 = h;
            if (lid < _e34) {
                uint _e39 = h;
                float _e42 = bv.inner[metal::min(unsigned(lid + _e39), 255u)];
                uint _e44 = h;
                uint _e47 = bi.inner[metal::min(unsigned(lid + _e44), 255u)];
                float _e50 = bv.inner[metal::min(unsigned(lid), 255u)];
                uint _e53 = bi.inner[metal::min(unsigned(lid), 255u)];
                bool _e54 = better(_e42, _e47, _e50, _e53);
                local = _e54;
            } else {
                local = false;
            }
            bool _e56 = local;
            if (_e56) {
                uint _e60 = h;
                float _e63 = bv.inner[metal::min(unsigned(lid + _e60), 255u)];
                bv.inner[metal::min(unsigned(lid), 255u)] = _e63;
                uint _e67 = h;
                uint _e70 = bi.inner[metal::min(unsigned(lid + _e67), 255u)];
                bi.inner[metal::min(unsigned(lid), 255u)] = _e70;
            }
            metal::threadgroup_barrier(metal::mem_flags::mem_threadgroup);
        }
    }
    if (lid == 0u) {
        uint _e80 = bi.inner[0];
        out[metal::min(unsigned(0), (_buffer_sizes.size2 - 0 - 4) / 4)] = _e80;
        float _e85 = bv.inner[0];
        out[metal::min(unsigned(1), (_buffer_sizes.size2 - 0 - 4) / 4)] = as_type<uint>(_e85);
        return;
    } else {
        return;
    }
}

// Generated from kernels/gpu/shaders by naga 30 msl-out (tests/shaders.rs); do not edit.
// Module: topk
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
    bool local_3 = {};
    bool local_4 = {};
    if (!((va > vb))) {
        if (va == vb) {
            local_4 = ia < ib;
        } else {
            local_4 = false;
        }
        bool _e13 = local_4;
        local_3 = _e13;
    } else {
        local_3 = true;
    }
    bool _e15 = local_3;
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
    float pv = 340282350000000000000000000000000000000.0;
    uint pi = 4294967295u;
    bool first = true;
    uint r = 0u;
    float v = {};
    uint i = {};
    uint e = {};
    bool local = {};
    bool local_1 = {};
    uint h = {};
    bool local_2 = {};
    uint n = P.x;
    uint _e6 = P.y;
    uint k = metal::min(_e6, 64u);
    uint2 loop_bound = uint2(4294967295u);
    bool loop_init = true;
    while(true) {
        if (metal::all(loop_bound == uint2(0u))) { break; }
        loop_bound -= uint2(loop_bound.y == 0u, 1u);
        if (!loop_init) {
            uint _e128 = r;
            r = _e128 + 1u;
        }
        loop_init = false;
        uint _e17 = r;
        if (_e17 < k) {
        } else {
            break;
        }
        {
            v = -340282350000000000000000000000000000000.0;
            i = 4294967295u;
            e = lid;
            uint2 loop_bound_1 = uint2(4294967295u);
            bool loop_init_1 = true;
            while(true) {
                if (metal::all(loop_bound_1 == uint2(0u))) { break; }
                loop_bound_1 -= uint2(loop_bound_1.y == 0u, 1u);
                if (!loop_init_1) {
                    uint _e49 = e;
                    e = _e49 + WG;
                }
                loop_init_1 = false;
                uint _e24 = e;
                if (_e24 < n) {
                } else {
                    break;
                }
                {
                    uint _e27 = e;
                    float x = logits[metal::min(unsigned(_e27), (_buffer_sizes.size1 - 0 - 4) / 4)];
                    bool _e30 = first;
                    if (!(_e30)) {
                        float _e34 = pv;
                        uint _e35 = pi;
                        uint _e36 = e;
                        bool _e37 = better(_e34, _e35, x, _e36);
                        local = _e37;
                    } else {
                        local = true;
                    }
                    bool after = local;
                    if (after) {
                        uint _e42 = e;
                        float _e43 = v;
                        uint _e44 = i;
                        bool _e45 = better(x, _e42, _e43, _e44);
                        local_1 = _e45;
                    } else {
                        local_1 = false;
                    }
                    bool _e47 = local_1;
                    if (_e47) {
                        v = x;
                        uint _e48 = e;
                        i = _e48;
                    }
                }
            }
            float _e54 = v;
            bv.inner[metal::min(unsigned(lid), 255u)] = _e54;
            uint _e57 = i;
            bi.inner[metal::min(unsigned(lid), 255u)] = _e57;
            metal::threadgroup_barrier(metal::mem_flags::mem_threadgroup);
            h = 128u;
            uint2 loop_bound_2 = uint2(4294967295u);
            bool loop_init_2 = true;
            while(true) {
                if (metal::all(loop_bound_2 == uint2(0u))) { break; }
                loop_bound_2 -= uint2(loop_bound_2.y == 0u, 1u);
                if (!loop_init_2) {
                    uint _e100 = h;
                    h = _e100 >> 1u;
                }
                loop_init_2 = false;
                uint _e60 = h;
                if (_e60 > 0u) {
                } else {
                    break;
                }
                {
                    uint _e63 = h;
                    if (lid < _e63) {
                        uint _e68 = h;
                        float _e71 = bv.inner[metal::min(unsigned(lid + _e68), 255u)];
                        uint _e73 = h;
                        uint _e76 = bi.inner[metal::min(unsigned(lid + _e73), 255u)];
                        float _e79 = bv.inner[metal::min(unsigned(lid), 255u)];
                        uint _e82 = bi.inner[metal::min(unsigned(lid), 255u)];
                        bool _e83 = better(_e71, _e76, _e79, _e82);
                        local_2 = _e83;
                    } else {
                        local_2 = false;
                    }
                    bool _e85 = local_2;
                    if (_e85) {
                        uint _e89 = h;
                        float _e92 = bv.inner[metal::min(unsigned(lid + _e89), 255u)];
                        bv.inner[metal::min(unsigned(lid), 255u)] = _e92;
                        uint _e96 = h;
                        uint _e99 = bi.inner[metal::min(unsigned(lid + _e96), 255u)];
                        bi.inner[metal::min(unsigned(lid), 255u)] = _e99;
                    }
                    metal::threadgroup_barrier(metal::mem_flags::mem_threadgroup);
                }
            }
            float _e105 = bv.inner[0];
            pv = _e105;
            uint _e108 = bi.inner[0];
            pi = _e108;
            first = false;
            if (lid == 0u) {
                uint _e114 = r;
                uint _e117 = pi;
                out[metal::min(unsigned(2u * _e114), (_buffer_sizes.size2 - 0 - 4) / 4)] = _e117;
                uint _e120 = r;
                float _e125 = pv;
                out[metal::min(unsigned((2u * _e120) + 1u), (_buffer_sizes.size2 - 0 - 4) / 4)] = as_type<uint>(_e125);
            }
            metal::threadgroup_barrier(metal::mem_flags::mem_threadgroup);
        }
    }
    return;
}

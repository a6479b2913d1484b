// Generated from kernels/gpu/shaders by naga 30 msl-out (tests/shaders.rs); do not edit.
// Module: attention
// language: metal3.0
#include <metal_stdlib>
#include <simd/simd.h>

using metal::uint;

struct _mslBufferSizes {
    uint size2;
    uint size3;
    uint size4;
    uint size5;
};

struct type_5 {
    metal::uint4 inner[2];
};
typedef float type_6[1];
typedef uint type_7[1];
struct type_8 {
    float inner[256];
};
struct type_9 {
    float inner[64];
};
struct type_11 {
    float inner[4];
};
constant uint WG = 64u;
constant uint MAX_HD = 256u;

float f16_bits_to_f32_(
    uint h
) {
    uint sign = (h & 32768u) << 16u;
    uint em = h & 32767u;
    if (em >= 31744u) {
        if (em == 31744u) {
            return as_type<float>(sign | 2139095040u);
        }
        return as_type<float>((sign | 2143289344u) | ((em & 1023u) << 13u));
    }
    if (em >= 1024u) {
        return as_type<float>(sign | ((em << 13u) + 939524096u));
    }
    float m_1 = static_cast<float>(em) * 0.000000059604645;
    return (sign != 0u) ? -(m_1) : m_1;
}

uint f32_to_f16_bits(
    float x
) {
    bool local = {};
    bool local_1 = {};
    bool local_2 = {};
    bool local_3 = {};
    uint b = as_type<uint>(x);
    uint sign_1 = (b >> 16u) & 32768u;
    uint e = (b >> 23u) & 255u;
    uint m_2 = b & 8388607u;
    if (e == 255u) {
        return (sign_1 | 31744u) | ((m_2 != 0u) ? (512u | (m_2 >> 13u)) : 0u);
    }
    if (e > 142u) {
        return sign_1 | 31744u;
    }
    if (e >= 113u) {
        uint v = ((e - 112u) << 10u) | (m_2 >> 13u);
        uint rest = m_2 & 8191u;
        if (!((rest > 4096u))) {
            if (rest == 4096u) {
                local_1 = (v & 1u) == 1u;
            } else {
                local_1 = false;
            }
            bool _e56 = local_1;
            local = _e56;
        } else {
            local = true;
        }
        bool _e58 = local;
        uint up = _e58 ? 1u : 0u;
        return sign_1 | (v + up);
    }
    if (e < 102u) {
        return sign_1;
    }
    uint mant = m_2 | 8388608u;
    uint shift = 126u - e;
    uint v_1 = mant >> shift;
    uint rest_1 = mant & ((1u << shift) - 1u);
    uint half_ = 1u << (shift - 1u);
    if (!((rest_1 > half_))) {
        if (rest_1 == half_) {
            local_3 = (v_1 & 1u) == 1u;
        } else {
            local_3 = false;
        }
        bool _e92 = local_3;
        local_2 = _e92;
    } else {
        local_2 = true;
    }
    bool _e94 = local_2;
    uint up_1 = _e94 ? 1u : 0u;
    return sign_1 | (v_1 + up_1);
}

float round_f16_(
    float x_1
) {
    uint _e1 = f32_to_f16_bits(x_1);
    float _e2 = f16_bits_to_f32_(_e1);
    return _e2;
}

int sbyte(
    uint w,
    uint k_2
) {
    uint _e4 = 8u * k_2;
    return metal::extract_bits(as_type<int>(w), metal::min(_e4, 32u), metal::min(8u, 32u - metal::min(_e4, 32u)));
}

uint p(
    uint i_3,
    constant type_5& P
) {
    uint _e8 = P.inner[metal::min(unsigned(i_3 >> 2u), 1u)][metal::min(unsigned(i_3 & 3u), 3u)];
    return _e8;
}

uint naga_div(uint lhs, uint rhs) {
    return lhs / metal::select(rhs, 1u, rhs == 0u);
}

float score(
    uint j_1,
    uint kvh,
    constant type_5& P,
    device type_7 const& kc,
    threadgroup type_8& q16_,
    constant _mslBufferSizes& _buffer_sizes
) {
    float s_1 = 0.0;
    uint d_1 = 0u;
    uint _e3 = p(2u, P);
    uint _e5 = p(3u, P);
    uint base = naga_div((j_1 * _e5) + (kvh * _e3), 2u);
    uint2 loop_bound = uint2(4294967295u);
    bool loop_init = true;
    while(true) {
        if (metal::all(loop_bound == uint2(0u))) { break; }
        loop_bound -= uint2(loop_bound.y == 0u, 1u);
        if (!loop_init) {
            uint _e50 = d_1;
            d_1 = _e50 + 1u;
        }
        loop_init = false;
        uint _e15 = d_1;
        if (_e15 < naga_div(_e3, 2u)) {
        } else {
            break;
        }
        {
            uint _e20 = d_1;
            uint kw = kc[metal::min(unsigned(base + _e20), (_buffer_sizes.size3 - 0 - 4) / 4)];
            float _e24 = s_1;
            float _e27 = f16_bits_to_f32_(kw & 65535u);
            uint _e30 = d_1;
            float _e33 = q16_.inner[metal::min(unsigned(2u * _e30), 255u)];
            float _e37 = f16_bits_to_f32_(kw >> 16u);
            uint _e40 = d_1;
            float _e45 = q16_.inner[metal::min(unsigned((2u * _e40) + 1u), 255u)];
            s_1 = _e24 + ((_e27 * _e33) + (_e37 * _e45));
        }
    }
    float _e52 = s_1;
    return _e52;
}

struct main_Input {
};
[[max_total_threads_per_threadgroup(64)]] kernel void main_(
  metal::uint3 wid [[threadgroup_position_in_grid]]
, uint lid [[thread_index_in_threadgroup]]
, constant type_5& P [[buffer(0)]]
, constant metal::uint4& S [[buffer(1)]]
, device type_6 const& q [[buffer(2)]]
, device type_7 const& kc [[buffer(3)]]
, device type_7 const& vc [[buffer(4)]]
, device type_6& att [[buffer(5)]]
, threadgroup type_8& q16_
, threadgroup type_9& pm
, threadgroup type_9& ps
, threadgroup type_9& prob
, constant _mslBufferSizes& _buffer_sizes [[buffer(6)]]
) {
    uint d = {};
    float m = -300000000000000000000000000000000000000.0;
    float l = 0.0;
    uint j = {};
    float gm = -300000000000000000000000000000000000000.0;
    uint k = 0u;
    float gl = 0.0;
    uint k_1 = 0u;
    type_11 acc = {};
    uint i = 0u;
    uint j0_ = 0u;
    float pj = {};
    uint i_1 = {};
    float s = {};
    uint jj = {};
    uint i_2 = 0u;
    uint h_1 = wid.x;
    uint t = wid.y;
    uint _e5 = p(2u, P);
    uint _e7 = p(0u, P);
    uint _e9 = p(1u, P);
    uint kvh_1 = naga_div(h_1, naga_div(_e7, _e9));
    uint _e13 = p(5u, P);
    float scale = as_type<float>(_e13);
    uint _e17 = S.x;
    uint n_kv = (_e17 + t) + 1u;
    uint _e22 = p(4u, P);
    uint qbase = (t * _e22) + (h_1 * _e5);
    d = lid;
    uint2 loop_bound_1 = uint2(4294967295u);
    bool loop_init_1 = true;
    while(true) {
        if (metal::all(loop_bound_1 == uint2(0u))) { break; }
        loop_bound_1 -= uint2(loop_bound_1.y == 0u, 1u);
        if (!loop_init_1) {
            uint _e38 = d;
            d = _e38 + WG;
        }
        loop_init_1 = false;
        uint _e27 = d;
        if (_e27 < _e5) {
        } else {
            break;
        }
        {
            uint _e30 = d;
            uint _e33 = d;
            float _e36 = q[metal::min(unsigned(qbase + _e33), (_buffer_sizes.size2 - 0 - 4) / 4)];
            float _e37 = round_f16_(_e36);
            q16_.inner[metal::min(unsigned(_e30), 255u)] = _e37;
        }
    }
    metal::threadgroup_barrier(metal::mem_flags::mem_threadgroup);
    j = lid;
    uint2 loop_bound_2 = uint2(4294967295u);
    bool loop_init_2 = true;
    while(true) {
        if (metal::all(loop_bound_2 == uint2(0u))) { break; }
        loop_bound_2 -= uint2(loop_bound_2.y == 0u, 1u);
        if (!loop_init_2) {
            uint _e65 = j;
            j = _e65 + WG;
        }
        loop_init_2 = false;
        uint _e46 = j;
        if (_e46 < n_kv) {
        } else {
            break;
        }
        {
            uint _e48 = j;
            float _e49 = score(_e48, kvh_1, P, kc, q16_, _buffer_sizes);
            float s_2 = _e49 * scale;
            float _e51 = m;
            if (s_2 > _e51) {
                float _e53 = l;
                float _e54 = m;
                l = (_e53 * metal::exp(_e54 - s_2)) + 1.0;
                m = s_2;
            } else {
                float _e60 = l;
                float _e61 = m;
                l = _e60 + metal::exp(s_2 - _e61);
            }
        }
    }
    float _e70 = m;
    pm.inner[metal::min(unsigned(lid), 63u)] = _e70;
    float _e73 = l;
    ps.inner[metal::min(unsigned(lid), 63u)] = _e73;
    metal::threadgroup_barrier(metal::mem_flags::mem_threadgroup);
    uint2 loop_bound_3 = uint2(4294967295u);
    bool loop_init_3 = true;
    while(true) {
        if (metal::all(loop_bound_3 == uint2(0u))) { break; }
        loop_bound_3 -= uint2(loop_bound_3.y == 0u, 1u);
        if (!loop_init_3) {
            uint _e88 = k;
            k = _e88 + 1u;
        }
        loop_init_3 = false;
        uint _e78 = k;
        if (_e78 < WG) {
        } else {
            break;
        }
        {
            float _e81 = gm;
            uint _e83 = k;
            float _e85 = pm.inner[metal::min(unsigned(_e83), 63u)];
            gm = metal::max(_e81, _e85);
        }
    }
    uint2 loop_bound_4 = uint2(4294967295u);
    bool loop_init_4 = true;
    while(true) {
        if (metal::all(loop_bound_4 == uint2(0u))) { break; }
        loop_bound_4 -= uint2(loop_bound_4.y == 0u, 1u);
        if (!loop_init_4) {
            uint _e118 = k_1;
            k_1 = _e118 + 1u;
        }
        loop_init_4 = false;
        uint _e94 = k_1;
        if (_e94 < WG) {
        } else {
            break;
        }
        {
            uint _e98 = k_1;
            float _e100 = ps.inner[metal::min(unsigned(_e98), 63u)];
            if (_e100 > 0.0) {
                float _e103 = gl;
                uint _e105 = k_1;
                float _e107 = ps.inner[metal::min(unsigned(_e105), 63u)];
                uint _e109 = k_1;
                float _e111 = pm.inner[metal::min(unsigned(_e109), 63u)];
                float _e112 = gm;
                gl = _e103 + (_e107 * metal::exp(_e111 - _e112));
            }
        }
    }
    float _e120 = gl;
    float inv = 1.0 / _e120;
    uint2 loop_bound_5 = uint2(4294967295u);
    bool loop_init_5 = true;
    while(true) {
        if (metal::all(loop_bound_5 == uint2(0u))) { break; }
        loop_bound_5 -= uint2(loop_bound_5.y == 0u, 1u);
        if (!loop_init_5) {
            uint _e133 = i;
            i = _e133 + 1u;
        }
        loop_init_5 = false;
        uint _e126 = i;
        if (_e126 < 4u) {
        } else {
            break;
        }
        {
            uint _e129 = i;
            acc.inner[metal::min(unsigned(_e129), 3u)] = 0.0;
        }
    }
    uint _e136 = p(3u, P);
    uint2 loop_bound_6 = uint2(4294967295u);
    bool loop_init_6 = true;
    while(true) {
        if (metal::all(loop_bound_6 == uint2(0u))) { break; }
        loop_bound_6 -= uint2(loop_bound_6.y == 0u, 1u);
        if (!loop_init_6) {
            uint _e215 = j0_;
            j0_ = _e215 + WG;
        }
        loop_init_6 = false;
        uint _e139 = j0_;
        if (_e139 < n_kv) {
        } else {
            break;
        }
        {
            uint _e141 = j0_;
            uint j_2 = _e141 + lid;
            pj = 0.0;
            if (j_2 < n_kv) {
                float _e146 = score(j_2, kvh_1, P, kc, q16_, _buffer_sizes);
                float _e148 = gm;
                float _e152 = round_f16_(metal::exp((_e146 * scale) - _e148) * inv);
                pj = _e152;
            }
            float _e155 = pj;
            prob.inner[metal::min(unsigned(lid), 63u)] = _e155;
            metal::threadgroup_barrier(metal::mem_flags::mem_threadgroup);
            uint _e157 = j0_;
            uint nj = metal::min(WG, n_kv - _e157);
            i_1 = 0u;
            uint2 loop_bound_7 = uint2(4294967295u);
            bool loop_init_7 = true;
            while(true) {
                if (metal::all(loop_bound_7 == uint2(0u))) { break; }
                loop_bound_7 -= uint2(loop_bound_7.y == 0u, 1u);
                if (!loop_init_7) {
                    uint _e213 = i_1;
                    i_1 = _e213 + 1u;
                }
                loop_init_7 = false;
                uint _e162 = i_1;
                if (_e162 < 4u) {
                } else {
                    break;
                }
                {
                    uint _e165 = i_1;
                    uint d_2 = lid + (_e165 * WG);
                    if (d_2 < _e5) {
                        uint _e170 = i_1;
                        float _e172 = acc.inner[metal::min(unsigned(_e170), 3u)];
                        s = _e172;
                        uint _e174 = j0_;
                        uint vbase = ((_e174 * _e136) + (kvh_1 * _e5)) + d_2;
                        jj = 0u;
                        uint2 loop_bound_8 = uint2(4294967295u);
                        bool loop_init_8 = true;
                        while(true) {
                            if (metal::all(loop_bound_8 == uint2(0u))) { break; }
                            loop_bound_8 -= uint2(loop_bound_8.y == 0u, 1u);
                            if (!loop_init_8) {
                                uint _e207 = jj;
                                jj = _e207 + 1u;
                            }
                            loop_init_8 = false;
                            uint _e181 = jj;
                            if (_e181 < nj) {
                            } else {
                                break;
                            }
                            {
                                uint _e183 = jj;
                                uint e_1 = vbase + (_e183 * _e136);
                                uint _e190 = vc[metal::min(unsigned(naga_div(e_1, 2u)), (_buffer_sizes.size4 - 0 - 4) / 4)];
                                uint vw = _e190 >> (16u * (e_1 & 1u));
                                float _e196 = s;
                                uint _e198 = jj;
                                float _e200 = prob.inner[metal::min(unsigned(_e198), 63u)];
                                float _e203 = f16_bits_to_f32_(vw & 65535u);
                                s = _e196 + (_e200 * _e203);
                            }
                        }
                        uint _e209 = i_1;
                        float _e211 = s;
                        acc.inner[metal::min(unsigned(_e209), 3u)] = _e211;
                    }
                }
            }
            metal::threadgroup_barrier(metal::mem_flags::mem_threadgroup);
        }
    }
    uint2 loop_bound_9 = uint2(4294967295u);
    bool loop_init_9 = true;
    while(true) {
        if (metal::all(loop_bound_9 == uint2(0u))) { break; }
        loop_bound_9 -= uint2(loop_bound_9.y == 0u, 1u);
        if (!loop_init_9) {
            uint _e235 = i_2;
            i_2 = _e235 + 1u;
        }
        loop_init_9 = false;
        uint _e220 = i_2;
        if (_e220 < 4u) {
        } else {
            break;
        }
        {
            uint _e223 = i_2;
            uint d_3 = lid + (_e223 * WG);
            if (d_3 < _e5) {
                uint _e231 = i_2;
                float _e233 = acc.inner[metal::min(unsigned(_e231), 3u)];
                att[metal::min(unsigned(qbase + d_3), (_buffer_sizes.size5 - 0 - 4) / 4)] = _e233;
            }
        }
    }
    return;
}

// Generated from kernels/gpu/shaders by naga 30 msl-out (tests/shaders.rs); do not edit.
// Module: get_rows
// language: metal3.0
#include <metal_stdlib>
#include <simd/simd.h>

using metal::uint;

struct _mslBufferSizes {
    uint size0;
    uint size3;
    uint size4;
};

typedef uint type_4[1];
struct type_5 {
    uint inner[8];
};
struct WSub {
    type_5 u;
    int zp;
    float d;
    float m;
    int sc0_;
    int sc1_;
};
struct ASub {
    type_5 q;
    float d;
    float s;
    int sum_lo;
    int sum_hi;
};
struct type_6 {
    int inner[32];
};
struct type_7 {
    float inner[32];
};
struct type_9 {
    metal::uint4 inner[9];
};
typedef float type_10[1];
constant uint WG = 64u;

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
    float m = static_cast<float>(em) * 0.000000059604645;
    return (sign != 0u) ? -(m) : m;
}

uint f32_to_f16_bits(
    float x
) {
    bool local_1 = {};
    bool local_2 = {};
    bool local_3 = {};
    bool local_4 = {};
    uint b_6 = as_type<uint>(x);
    uint sign_1 = (b_6 >> 16u) & 32768u;
    uint e_2 = (b_6 >> 23u) & 255u;
    uint m_1 = b_6 & 8388607u;
    if (e_2 == 255u) {
        return (sign_1 | 31744u) | ((m_1 != 0u) ? (512u | (m_1 >> 13u)) : 0u);
    }
    if (e_2 > 142u) {
        return sign_1 | 31744u;
    }
    if (e_2 >= 113u) {
        uint v = ((e_2 - 112u) << 10u) | (m_1 >> 13u);
        uint rest = m_1 & 8191u;
        if (!((rest > 4096u))) {
            if (rest == 4096u) {
                local_2 = (v & 1u) == 1u;
            } else {
                local_2 = false;
            }
            bool _e56 = local_2;
            local_1 = _e56;
        } else {
            local_1 = true;
        }
        bool _e58 = local_1;
        uint up = _e58 ? 1u : 0u;
        return sign_1 | (v + up);
    }
    if (e_2 < 102u) {
        return sign_1;
    }
    uint mant = m_1 | 8388608u;
    uint shift = 126u - e_2;
    uint v_1 = mant >> shift;
    uint rest_1 = mant & ((1u << shift) - 1u);
    uint half_ = 1u << (shift - 1u);
    if (!((rest_1 > half_))) {
        if (rest_1 == half_) {
            local_4 = (v_1 & 1u) == 1u;
        } else {
            local_4 = false;
        }
        bool _e92 = local_4;
        local_3 = _e92;
    } else {
        local_3 = true;
    }
    bool _e94 = local_3;
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
    uint k
) {
    uint _e4 = 8u * k;
    return metal::extract_bits(as_type<int>(w), metal::min(_e4, 32u), metal::min(8u, 32u - metal::min(_e4, 32u)));
}

uint wload(
    uint b,
    device type_4 const& wbuf,
    constant _mslBufferSizes& _buffer_sizes
) {
    uint i_6 = b >> 2u;
    uint sh = (b & 3u) * 8u;
    uint lo_1 = wbuf[metal::min(unsigned(i_6), (_buffer_sizes.size0 - 0 - 4) / 4)];
    if (sh == 0u) {
        return lo_1;
    }
    uint hi_1 = wbuf[metal::min(unsigned(i_6 + 1u), (_buffer_sizes.size0 - 0 - 4) / 4)];
    return (lo_1 >> sh) | (hi_1 << (32u - sh));
}

uint wbyte(
    uint b_1,
    device type_4 const& wbuf,
    constant _mslBufferSizes& _buffer_sizes
) {
    uint _e5 = wbuf[metal::min(unsigned(b_1 >> 2u), (_buffer_sizes.size0 - 0 - 4) / 4)];
    return (_e5 >> ((b_1 & 3u) * 8u)) & 255u;
}

uint wu16_(
    uint b_2,
    device type_4 const& wbuf,
    constant _mslBufferSizes& _buffer_sizes
) {
    uint _e1 = wload(b_2, wbuf, _buffer_sizes);
    return _e1 & 65535u;
}

float wf16_(
    uint b_3,
    device type_4 const& wbuf,
    constant _mslBufferSizes& _buffer_sizes
) {
    uint _e1 = wu16_(b_3, wbuf, _buffer_sizes);
    float _e2 = f16_bits_to_f32_(_e1);
    return _e2;
}

uint spread4_(
    uint b_4
) {
    return ((((b_4 & 1u) | ((b_4 & 2u) << 7u)) | ((b_4 & 4u) << 14u)) | ((b_4 & 8u) << 21u)) << 4u;
}

WSub wsub_decode_b32_(
    uint ty,
    uint rb,
    uint j,
    device type_4 const& wbuf,
    constant _mslBufferSizes& _buffer_sizes
) {
    WSub w_1 = {};
    uint k_1 = 0u;
    uint k_2 = 0u;
    uint k_3 = 0u;
    w_1.zp = 0;
    w_1.m = 0.0;
    w_1.sc0_ = 1;
    w_1.sc1_ = 0;
    switch(ty) {
        case 2u:
        case 3u: {
            bool q41_ = ty == 3u;
            uint off = rb + (j * (q41_ ? 20u : 18u));
            float _e20 = wf16_(off, wbuf, _buffer_sizes);
            w_1.d = _e20;
            uint qoff = off + (q41_ ? 4u : 2u);
            if (q41_) {
                float _e28 = wf16_(off + 2u, wbuf, _buffer_sizes);
                w_1.m = _e28;
            } else {
                w_1.zp = 8;
            }
            uint2 loop_bound = uint2(4294967295u);
            bool loop_init = true;
            while(true) {
                if (metal::all(loop_bound == uint2(0u))) { break; }
                loop_bound -= uint2(loop_bound.y == 0u, 1u);
                if (!loop_init) {
                    uint _e56 = k_1;
                    k_1 = _e56 + 1u;
                }
                loop_init = false;
                uint _e33 = k_1;
                if (_e33 < 4u) {
                } else {
                    break;
                }
                {
                    uint _e37 = k_1;
                    uint _e40 = wload(qoff + (4u * _e37), wbuf, _buffer_sizes);
                    uint _e42 = k_1;
                    w_1.u.inner[metal::min(unsigned(_e42), 7u)] = _e40 & 252645135u;
                    uint _e47 = k_1;
                    w_1.u.inner[metal::min(unsigned(_e47 + 4u), 7u)] = (_e40 >> 4u) & 252645135u;
                }
            }
            break;
        }
        case 6u: {
            uint off_1 = rb + (j * 22u);
            float _e62 = wf16_(off_1, wbuf, _buffer_sizes);
            w_1.d = _e62;
            uint _e65 = wload(off_1 + 2u, wbuf, _buffer_sizes);
            w_1.zp = 16;
            uint2 loop_bound_1 = uint2(4294967295u);
            bool loop_init_1 = true;
            while(true) {
                if (metal::all(loop_bound_1 == uint2(0u))) { break; }
                loop_bound_1 -= uint2(loop_bound_1.y == 0u, 1u);
                if (!loop_init_1) {
                    uint _e109 = k_2;
                    k_2 = _e109 + 1u;
                }
                loop_init_1 = false;
                uint _e70 = k_2;
                if (_e70 < 4u) {
                } else {
                    break;
                }
                {
                    uint _e76 = k_2;
                    uint _e79 = wload((off_1 + 6u) + (4u * _e76), wbuf, _buffer_sizes);
                    uint _e81 = k_2;
                    uint _e86 = k_2;
                    uint _e89 = spread4_(_e65 >> (4u * _e86));
                    w_1.u.inner[metal::min(unsigned(_e81), 7u)] = (_e79 & 252645135u) | _e89;
                    uint _e92 = k_2;
                    uint _e102 = k_2;
                    uint _e106 = spread4_(_e65 >> (16u + (4u * _e102)));
                    w_1.u.inner[metal::min(unsigned(_e92 + 4u), 7u)] = ((_e79 >> 4u) & 252645135u) | _e106;
                }
            }
            break;
        }
        default: {
            uint off_2 = rb + (j * 34u);
            float _e115 = wf16_(off_2, wbuf, _buffer_sizes);
            w_1.d = _e115;
            w_1.zp = 128;
            uint2 loop_bound_2 = uint2(4294967295u);
            bool loop_init_2 = true;
            while(true) {
                if (metal::all(loop_bound_2 == uint2(0u))) { break; }
                loop_bound_2 -= uint2(loop_bound_2.y == 0u, 1u);
                if (!loop_init_2) {
                    uint _e136 = k_3;
                    k_3 = _e136 + 1u;
                }
                loop_init_2 = false;
                uint _e120 = k_3;
                if (_e120 < 8u) {
                } else {
                    break;
                }
                {
                    uint _e124 = k_3;
                    uint _e129 = k_3;
                    uint _e132 = wload((off_2 + 2u) + (4u * _e129), wbuf, _buffer_sizes);
                    w_1.u.inner[metal::min(unsigned(_e124), 7u)] = _e132 ^ 2155905152u;
                }
            }
            break;
        }
    }
    WSub _e138 = w_1;
    return _e138;
}

WSub wsub_decode_k(
    uint ty_1,
    uint rb_1,
    uint j_1,
    device type_4 const& wbuf,
    constant _mslBufferSizes& _buffer_sizes
) {
    WSub w_2 = {};
    uint k_4 = 0u;
    uint i = 0u;
    w_2.zp = 0;
    w_2.m = 0.0;
    w_2.sc0_ = 1;
    w_2.sc1_ = 0;
    switch(ty_1) {
        case 12u: {
            uint s = j_1 & 7u;
            uint off_3 = rb_1 + ((j_1 >> 3u) * 144u);
            float _e20 = wf16_(off_3, wbuf, _buffer_sizes);
            w_2.d = _e20;
            float _e24 = wf16_(off_3 + 2u, wbuf, _buffer_sizes);
            w_2.m = _e24;
            uint sc = off_3 + 4u;
            if (s < 4u) {
                uint _e31 = wbyte(sc + s, wbuf, _buffer_sizes);
                w_2.sc0_ = static_cast<int>(_e31 & 63u);
                uint _e39 = wbyte((sc + s) + 4u, wbuf, _buffer_sizes);
                w_2.sc1_ = static_cast<int>(_e39 & 63u);
            } else {
                uint _e46 = wbyte((sc + s) + 4u, wbuf, _buffer_sizes);
                uint _e53 = wbyte((sc + s) - 4u, wbuf, _buffer_sizes);
                w_2.sc0_ = static_cast<int>((_e46 & 15u) | ((_e53 >> 6u) << 4u));
                uint _e64 = wbyte(sc + s, wbuf, _buffer_sizes);
                w_2.sc1_ = static_cast<int>((_e46 >> 4u) | ((_e64 >> 6u) << 4u));
            }
            uint qoff_1 = (off_3 + 16u) + (32u * (s >> 1u));
            uint sh_1 = 4u * (s & 1u);
            uint2 loop_bound_3 = uint2(4294967295u);
            bool loop_init_3 = true;
            while(true) {
                if (metal::all(loop_bound_3 == uint2(0u))) { break; }
                loop_bound_3 -= uint2(loop_bound_3.y == 0u, 1u);
                if (!loop_init_3) {
                    uint _e99 = k_4;
                    k_4 = _e99 + 1u;
                }
                loop_init_3 = false;
                uint _e84 = k_4;
                if (_e84 < 8u) {
                } else {
                    break;
                }
                {
                    uint _e88 = k_4;
                    uint _e91 = k_4;
                    uint _e94 = wload(qoff_1 + (4u * _e91), wbuf, _buffer_sizes);
                    w_2.u.inner[metal::min(unsigned(_e88), 7u)] = (_e94 >> sh_1) & 252645135u;
                }
            }
            break;
        }
        default: {
            uint s_1 = j_1 & 7u;
            uint off_4 = rb_1 + ((j_1 >> 3u) * 210u);
            uint h_1 = s_1 >> 2u;
            uint k_7 = s_1 & 3u;
            uint loff = (off_4 + (64u * h_1)) + (32u * (k_7 & 1u));
            uint hoff = (off_4 + 128u) + (32u * h_1);
            uint lsh = 4u * (k_7 >> 1u);
            uint hsh = 2u * k_7;
            uint2 loop_bound_4 = uint2(4294967295u);
            bool loop_init_4 = true;
            while(true) {
                if (metal::all(loop_bound_4 == uint2(0u))) { break; }
                loop_bound_4 -= uint2(loop_bound_4.y == 0u, 1u);
                if (!loop_init_4) {
                    uint _e159 = i;
                    i = _e159 + 1u;
                }
                loop_init_4 = false;
                uint _e133 = i;
                if (_e133 < 8u) {
                } else {
                    break;
                }
                {
                    uint _e137 = i;
                    uint _e140 = wload(loff + (4u * _e137), wbuf, _buffer_sizes);
                    uint lo_2 = (_e140 >> lsh) & 252645135u;
                    uint _e145 = i;
                    uint _e148 = wload(hoff + (4u * _e145), wbuf, _buffer_sizes);
                    uint hi_2 = ((_e148 >> hsh) & 50529027u) << 4u;
                    uint _e155 = i;
                    w_2.u.inner[metal::min(unsigned(_e155), 7u)] = lo_2 | hi_2;
                }
            }
            w_2.zp = 32;
            uint _e169 = wbyte((off_4 + 192u) + (2u * s_1), wbuf, _buffer_sizes);
            w_2.sc0_ = metal::extract_bits(static_cast<int>(_e169), metal::min(0u, 32u), metal::min(8u, 32u - metal::min(0u, 32u)));
            uint _e180 = wbyte((off_4 + 193u) + (2u * s_1), wbuf, _buffer_sizes);
            w_2.sc1_ = metal::extract_bits(static_cast<int>(_e180), metal::min(0u, 32u), metal::min(8u, 32u - metal::min(0u, 32u)));
            float _e188 = wf16_(off_4 + 208u, wbuf, _buffer_sizes);
            w_2.d = _e188;
            break;
        }
    }
    WSub _e189 = w_2;
    return _e189;
}

WSub wsub_decode(
    uint ty_2,
    uint rb_2,
    uint j_2,
    device type_4 const& wbuf,
    constant _mslBufferSizes& _buffer_sizes
) {
    bool local_5 = {};
    if (!((ty_2 == 12u))) {
        local_5 = ty_2 == 14u;
    } else {
        local_5 = true;
    }
    bool _e11 = local_5;
    if (_e11) {
        WSub _e12 = wsub_decode_k(ty_2, rb_2, j_2, wbuf, _buffer_sizes);
        return _e12;
    }
    WSub _e13 = wsub_decode_b32_(ty_2, rb_2, j_2, wbuf, _buffer_sizes);
    return _e13;
}

int dot4_us(
    uint u,
    uint b_5
) {
    int _e6 = sbyte(b_5, 0u);
    int _e14 = sbyte(b_5, 1u);
    int _e23 = sbyte(b_5, 2u);
    int _e30 = sbyte(b_5, 3u);
    return as_type<int>(as_type<uint>(as_type<int>(as_type<uint>(as_type<int>(as_type<uint>(as_type<int>(as_type<uint>(static_cast<int>(u & 255u)) * as_type<uint>(_e6))) + as_type<uint>(as_type<int>(as_type<uint>(static_cast<int>((u >> 8u) & 255u)) * as_type<uint>(_e14))))) + as_type<uint>(as_type<int>(as_type<uint>(static_cast<int>((u >> 16u) & 255u)) * as_type<uint>(_e23))))) + as_type<uint>(as_type<int>(as_type<uint>(static_cast<int>(u >> 24u)) * as_type<uint>(_e30))));
}

float wsub_dot(
    uint ty_3,
    WSub w_3,
    ASub a
) {
    int lo = 0;
    int hi = 0;
    uint k_5 = 0u;
    uint2 loop_bound_5 = uint2(4294967295u);
    bool loop_init_5 = true;
    while(true) {
        if (metal::all(loop_bound_5 == uint2(0u))) { break; }
        loop_bound_5 -= uint2(loop_bound_5.y == 0u, 1u);
        if (!loop_init_5) {
            uint _e35 = k_5;
            k_5 = _e35 + 1u;
        }
        loop_init_5 = false;
        uint _e9 = k_5;
        if (_e9 < 4u) {
        } else {
            break;
        }
        {
            int _e12 = lo;
            uint _e14 = k_5;
            uint _e17 = k_5;
            int _e19 = dot4_us(w_3.u.inner[metal::min(unsigned(_e14), 7u)], a.q.inner[metal::min(unsigned(_e17), 7u)]);
            lo = as_type<int>(as_type<uint>(_e12) + as_type<uint>(_e19));
            int _e21 = hi;
            uint _e23 = k_5;
            uint _e28 = k_5;
            int _e32 = dot4_us(w_3.u.inner[metal::min(unsigned(_e23 + 4u), 7u)], a.q.inner[metal::min(unsigned(_e28 + 4u), 7u)]);
            hi = as_type<int>(as_type<uint>(_e21) + as_type<uint>(_e32));
        }
    }
    int _e37 = lo;
    lo = as_type<int>(as_type<uint>(_e37) - as_type<uint>(as_type<int>(as_type<uint>(w_3.zp) * as_type<uint>(a.sum_lo))));
    int _e42 = hi;
    hi = as_type<int>(as_type<uint>(_e42) - as_type<uint>(as_type<int>(as_type<uint>(w_3.zp) * as_type<uint>(a.sum_hi))));
    switch(ty_3) {
        case 3u: {
            int _e50 = lo;
            int _e51 = hi;
            return ((w_3.d * a.d) * static_cast<float>(as_type<int>(as_type<uint>(_e50) + as_type<uint>(_e51)))) + (w_3.m * a.s);
        }
        case 12u: {
            int _e63 = lo;
            int _e64 = hi;
            return ((w_3.d * a.d) * static_cast<float>(as_type<int>(as_type<uint>(w_3.sc0_) * as_type<uint>(as_type<int>(as_type<uint>(_e63) + as_type<uint>(_e64)))))) - ((w_3.m * a.d) * static_cast<float>(as_type<int>(as_type<uint>(w_3.sc1_) * as_type<uint>(as_type<int>(as_type<uint>(a.sum_lo) + as_type<uint>(a.sum_hi))))));
        }
        case 14u: {
            int _e84 = lo;
            int _e87 = hi;
            return (w_3.d * a.d) * static_cast<float>(as_type<int>(as_type<uint>(as_type<int>(as_type<uint>(w_3.sc0_) * as_type<uint>(_e84))) + as_type<uint>(as_type<int>(as_type<uint>(w_3.sc1_) * as_type<uint>(_e87)))));
        }
        default: {
            int _e92 = lo;
            int _e93 = hi;
            return static_cast<float>(as_type<int>(as_type<uint>(_e92) + as_type<uint>(_e93))) * (w_3.d * a.d);
        }
    }
}

uint naga_div(uint lhs, uint rhs) {
    return lhs / metal::select(rhs, 1u, rhs == 0u);
}

float wdequant(
    uint ty_4,
    uint rb_3,
    uint e_1,
    device type_4 const& wbuf,
    constant _mslBufferSizes& _buffer_sizes
) {
    WSub _e5 = wsub_decode(ty_4, rb_3, naga_div(e_1, 32u), wbuf, _buffer_sizes);
    uint l = e_1 & 31u;
    int q = as_type<int>(as_type<uint>(static_cast<int>((_e5.u.inner[metal::min(unsigned(l >> 2u), 7u)] >> (8u * (l & 3u))) & 255u)) - as_type<uint>(_e5.zp));
    switch(ty_4) {
        case 3u: {
            return (static_cast<float>(q) * _e5.d) + _e5.m;
        }
        case 12u: {
            return ((_e5.d * static_cast<float>(_e5.sc0_)) * static_cast<float>(q)) - (_e5.m * static_cast<float>(_e5.sc1_));
        }
        case 14u: {
            return (_e5.d * static_cast<float>((l >= 16u) ? _e5.sc1_ : _e5.sc0_)) * static_cast<float>(q);
        }
        default: {
            return static_cast<float>(q) * _e5.d;
        }
    }
}

ASub pack_q(
    type_6 qs
) {
    ASub a_1 = {};
    uint k_6 = 0u;
    uint word = {};
    uint i_1 = {};
    a_1.sum_lo = 0;
    a_1.sum_hi = 0;
    uint2 loop_bound_6 = uint2(4294967295u);
    bool loop_init_6 = true;
    while(true) {
        if (metal::all(loop_bound_6 == uint2(0u))) { break; }
        loop_bound_6 -= uint2(loop_bound_6.y == 0u, 1u);
        if (!loop_init_6) {
            uint _e50 = k_6;
            k_6 = _e50 + 1u;
        }
        loop_init_6 = false;
        uint _e8 = k_6;
        if (_e8 < 8u) {
        } else {
            break;
        }
        {
            word = 0u;
            i_1 = 0u;
            uint2 loop_bound_7 = uint2(4294967295u);
            bool loop_init_7 = true;
            while(true) {
                if (metal::all(loop_bound_7 == uint2(0u))) { break; }
                loop_bound_7 -= uint2(loop_bound_7.y == 0u, 1u);
                if (!loop_init_7) {
                    uint _e43 = i_1;
                    i_1 = _e43 + 1u;
                }
                loop_init_7 = false;
                uint _e15 = i_1;
                if (_e15 < 4u) {
                } else {
                    break;
                }
                {
                    uint _e19 = k_6;
                    uint _e21 = i_1;
                    int q_1 = qs.inner[metal::min(unsigned((4u * _e19) + _e21), 31u)];
                    uint _e24 = word;
                    uint _e29 = i_1;
                    word = _e24 | ((as_type<uint>(q_1) & 255u) << (8u * _e29));
                    uint _e33 = k_6;
                    if (_e33 < 4u) {
                        int _e37 = a_1.sum_lo;
                        a_1.sum_lo = as_type<int>(as_type<uint>(_e37) + as_type<uint>(q_1));
                    } else {
                        int _e40 = a_1.sum_hi;
                        a_1.sum_hi = as_type<int>(as_type<uint>(_e40) + as_type<uint>(q_1));
                    }
                }
            }
            uint _e46 = k_6;
            uint _e48 = word;
            a_1.q.inner[metal::min(unsigned(_e46), 7u)] = _e48;
        }
    }
    ASub _e52 = a_1;
    return _e52;
}

int naga_f2i32(float value) {
    return static_cast<int>(metal::clamp(value, -2147483600.0, 2147483500.0));
}

ASub quant_q8_0_(
    type_7 x_2
) {
    float amax = 0.0;
    uint i_2 = 0u;
    type_6 qs_1 = {};
    int sum = 0;
    uint i_3 = 0u;
    ASub a_2 = {};
    uint2 loop_bound_8 = uint2(4294967295u);
    bool loop_init_8 = true;
    while(true) {
        if (metal::all(loop_bound_8 == uint2(0u))) { break; }
        loop_bound_8 -= uint2(loop_bound_8.y == 0u, 1u);
        if (!loop_init_8) {
            uint _e14 = i_2;
            i_2 = _e14 + 1u;
        }
        loop_init_8 = false;
        uint _e5 = i_2;
        if (_e5 < 32u) {
        } else {
            break;
        }
        {
            float _e8 = amax;
            uint _e9 = i_2;
            amax = metal::max(_e8, metal::abs(x_2.inner[metal::min(unsigned(_e9), 31u)]));
        }
    }
    float _e16 = amax;
    float d = _e16 / 127.0;
    float _e19 = amax;
    float _e22 = amax;
    float id = (_e22 != 0.0) ? (127.0 / _e19) : 0.0;
    uint2 loop_bound_9 = uint2(4294967295u);
    bool loop_init_9 = true;
    while(true) {
        if (metal::all(loop_bound_9 == uint2(0u))) { break; }
        loop_bound_9 -= uint2(loop_bound_9.y == 0u, 1u);
        if (!loop_init_9) {
            uint _e48 = i_3;
            i_3 = _e48 + 1u;
        }
        loop_init_9 = false;
        uint _e32 = i_3;
        if (_e32 < 32u) {
        } else {
            break;
        }
        {
            uint _e35 = i_3;
            int v_2 = naga_f2i32(metal::rint(x_2.inner[metal::min(unsigned(_e35), 31u)] * id));
            int _e40 = sum;
            sum = as_type<int>(as_type<uint>(_e40) + as_type<uint>(v_2));
            uint _e42 = i_3;
            qs_1.inner[metal::min(unsigned(_e42), 31u)] = metal::clamp(v_2, -128, 127);
        }
    }
    type_6 _e50 = qs_1;
    ASub _e51 = pack_q(_e50);
    a_2 = _e51;
    float _e54 = round_f16_(d);
    a_2.d = _e54;
    int _e56 = sum;
    float _e59 = round_f16_(d * static_cast<float>(_e56));
    a_2.s = _e59;
    ASub _e60 = a_2;
    return _e60;
}

ASub quant_q8_k(
    type_7 x_3,
    float iscale
) {
    type_6 qs_2 = {};
    uint i_4 = 0u;
    ASub a_3 = {};
    uint2 loop_bound_10 = uint2(4294967295u);
    bool loop_init_10 = true;
    while(true) {
        if (metal::all(loop_bound_10 == uint2(0u))) { break; }
        loop_bound_10 -= uint2(loop_bound_10.y == 0u, 1u);
        if (!loop_init_10) {
            uint _e18 = i_4;
            i_4 = _e18 + 1u;
        }
        loop_init_10 = false;
        uint _e5 = i_4;
        if (_e5 < 32u) {
        } else {
            break;
        }
        {
            uint _e8 = i_4;
            uint _e10 = i_4;
            qs_2.inner[metal::min(unsigned(_e8), 31u)] = metal::min(127, naga_f2i32(metal::rint(iscale * x_3.inner[metal::min(unsigned(_e10), 31u)])));
        }
    }
    type_6 _e20 = qs_2;
    ASub _e21 = pack_q(_e20);
    a_3 = _e21;
    a_3.d = (iscale == 0.0) ? 0.0 : (1.0 / iscale);
    a_3.s = 0.0;
    ASub _e32 = a_3;
    return _e32;
}

uint p(
    uint i_5,
    constant type_9& P
) {
    uint _e8 = P.inner[metal::min(unsigned(i_5 >> 2u), 8u)][metal::min(unsigned(i_5 & 3u), 3u)];
    return _e8;
}

struct main_Input {
};
[[max_total_threads_per_threadgroup(64)]] kernel void main_(
  metal::uint3 wid [[threadgroup_position_in_grid]]
, uint lid [[thread_index_in_threadgroup]]
, device type_4 const& wbuf [[buffer(2)]]
, constant type_9& P [[buffer(0)]]
, device type_4 const& ids [[buffer(3)]]
, device type_10& out [[buffer(4)]]
, constant _mslBufferSizes& _buffer_sizes [[buffer(5)]]
) {
    bool local = {};
    uint e = {};
    uint t = wid.x;
    uint id_1 = ids[metal::min(unsigned(t), (_buffer_sizes.size3 - 0 - 4) / 4)];
    uint _e7 = p(12u, P);
    if (!((id_1 < _e7))) {
        uint _e13 = p(2u, P);
        local = id_1 >= _e13;
    } else {
        local = true;
    }
    bool _e16 = local;
    if (_e16) {
        return;
    }
    uint _e18 = p(8u, P);
    uint _e20 = p(12u, P);
    uint _e23 = p(16u, P);
    uint rb_4 = (id_1 - _e20) * _e23;
    uint _e26 = p(1u, P);
    e = lid;
    uint2 loop_bound_11 = uint2(4294967295u);
    bool loop_init_11 = true;
    while(true) {
        if (metal::all(loop_bound_11 == uint2(0u))) { break; }
        loop_bound_11 -= uint2(loop_bound_11.y == 0u, 1u);
        if (!loop_init_11) {
            uint _e37 = e;
            e = _e37 + WG;
        }
        loop_init_11 = false;
        uint _e28 = e;
        if (_e28 < _e26) {
        } else {
            break;
        }
        {
            uint _e32 = e;
            uint _e35 = e;
            float _e36 = wdequant(_e18, rb_4, _e35, wbuf, _buffer_sizes);
            out[metal::min(unsigned((t * _e26) + _e32), (_buffer_sizes.size4 - 0 - 4) / 4)] = _e36;
        }
    }
    return;
}

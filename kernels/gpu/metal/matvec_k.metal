// Generated from kernels/gpu/shaders by naga 30 msl-out (tests/shaders.rs); do not edit.
// Module: matvec_k
// language: metal3.0
#include <metal_stdlib>
#include <simd/simd.h>

using metal::uint;

struct _mslBufferSizes {
    uint size0;
    uint size1;
    uint size5;
    uint size6;
    uint size7;
    uint size8;
    uint size9;
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
typedef float type_8[1];
struct type_9 {
    float inner[1024];
};
struct type_12 {
    metal::uint4 inner[9];
};
struct type_13 {
    float inner[1];
};
struct type_14 {
    float inner[512];
};
struct Slot {
    bool valid;
    char _pad1[3];
    uint seg;
    uint row;
    uint unit;
    uint lp;
};
struct type_15 {
    Slot inner[4];
};
struct type_16 {
    float inner[2];
};
struct type_17 {
    uint inner[2];
};
struct type_19 {
    float inner[16];
};
struct type_20 {
    ASub inner[1];
};
constant uint WG = 64u;
constant uint TILE_T = 1u;
constant bool KQ = true;
constant uint R = 4u;
constant uint NONE = 4294967295u;
constant uint MAX_KSB = 128u;

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
    bool local = {};
    bool local_1 = {};
    bool local_2 = {};
    bool local_3 = {};
    uint b_9 = as_type<uint>(x);
    uint sign_1 = (b_9 >> 16u) & 32768u;
    uint e_1 = (b_9 >> 23u) & 255u;
    uint m_1 = b_9 & 8388607u;
    if (e_1 == 255u) {
        return (sign_1 | 31744u) | ((m_1 != 0u) ? (512u | (m_1 >> 13u)) : 0u);
    }
    if (e_1 > 142u) {
        return sign_1 | 31744u;
    }
    if (e_1 >= 113u) {
        uint v_1 = ((e_1 - 112u) << 10u) | (m_1 >> 13u);
        uint rest = m_1 & 8191u;
        if (!((rest > 4096u))) {
            if (rest == 4096u) {
                local_1 = (v_1 & 1u) == 1u;
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
        return sign_1 | (v_1 + up);
    }
    if (e_1 < 102u) {
        return sign_1;
    }
    uint mant = m_1 | 8388608u;
    uint shift = 126u - e_1;
    uint v_2 = mant >> shift;
    uint rest_1 = mant & ((1u << shift) - 1u);
    uint half_ = 1u << (shift - 1u);
    if (!((rest_1 > half_))) {
        if (rest_1 == half_) {
            local_3 = (v_2 & 1u) == 1u;
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
    return sign_1 | (v_2 + up_1);
}

float round_f16_(
    float x_1
) {
    uint _e1 = f32_to_f16_bits(x_1);
    float _e2 = f16_bits_to_f32_(_e1);
    return _e2;
}

int sbyte(
    uint w_1,
    uint k_1
) {
    uint _e4 = 8u * k_1;
    return metal::extract_bits(as_type<int>(w_1), metal::min(_e4, 32u), metal::min(8u, 32u - metal::min(_e4, 32u)));
}

uint wload(
    uint b,
    device type_4 const& wbuf,
    constant _mslBufferSizes& _buffer_sizes
) {
    uint i_13 = b >> 2u;
    uint sh = (b & 3u) * 8u;
    uint lo_1 = wbuf[metal::min(unsigned(i_13), (_buffer_sizes.size0 - 0 - 4) / 4)];
    if (sh == 0u) {
        return lo_1;
    }
    uint hi_1 = wbuf[metal::min(unsigned(i_13 + 1u), (_buffer_sizes.size0 - 0 - 4) / 4)];
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
    uint j_1,
    device type_4 const& wbuf,
    constant _mslBufferSizes& _buffer_sizes
) {
    WSub w_2 = {};
    uint k_2 = 0u;
    uint k_3 = 0u;
    uint k_4 = 0u;
    w_2.zp = 0;
    w_2.m = 0.0;
    w_2.sc0_ = 1;
    w_2.sc1_ = 0;
    switch(ty) {
        case 2u:
        case 3u: {
            bool q41_ = ty == 3u;
            uint off = rb + (j_1 * (q41_ ? 20u : 18u));
            float _e20 = wf16_(off, wbuf, _buffer_sizes);
            w_2.d = _e20;
            uint qoff = off + (q41_ ? 4u : 2u);
            if (q41_) {
                float _e28 = wf16_(off + 2u, wbuf, _buffer_sizes);
                w_2.m = _e28;
            } else {
                w_2.zp = 8;
            }
            uint2 loop_bound = uint2(4294967295u);
            bool loop_init = true;
            while(true) {
                if (metal::all(loop_bound == uint2(0u))) { break; }
                loop_bound -= uint2(loop_bound.y == 0u, 1u);
                if (!loop_init) {
                    uint _e56 = k_2;
                    k_2 = _e56 + 1u;
                }
                loop_init = false;
                uint _e33 = k_2;
                if (_e33 < 4u) {
                } else {
                    break;
                }
                {
                    uint _e37 = k_2;
                    uint _e40 = wload(qoff + (4u * _e37), wbuf, _buffer_sizes);
                    uint _e42 = k_2;
                    w_2.u.inner[metal::min(unsigned(_e42), 7u)] = _e40 & 252645135u;
                    uint _e47 = k_2;
                    w_2.u.inner[metal::min(unsigned(_e47 + 4u), 7u)] = (_e40 >> 4u) & 252645135u;
                }
            }
            break;
        }
        case 6u: {
            uint off_1 = rb + (j_1 * 22u);
            float _e62 = wf16_(off_1, wbuf, _buffer_sizes);
            w_2.d = _e62;
            uint _e65 = wload(off_1 + 2u, wbuf, _buffer_sizes);
            w_2.zp = 16;
            uint2 loop_bound_1 = uint2(4294967295u);
            bool loop_init_1 = true;
            while(true) {
                if (metal::all(loop_bound_1 == uint2(0u))) { break; }
                loop_bound_1 -= uint2(loop_bound_1.y == 0u, 1u);
                if (!loop_init_1) {
                    uint _e109 = k_3;
                    k_3 = _e109 + 1u;
                }
                loop_init_1 = false;
                uint _e70 = k_3;
                if (_e70 < 4u) {
                } else {
                    break;
                }
                {
                    uint _e76 = k_3;
                    uint _e79 = wload((off_1 + 6u) + (4u * _e76), wbuf, _buffer_sizes);
                    uint _e81 = k_3;
                    uint _e86 = k_3;
                    uint _e89 = spread4_(_e65 >> (4u * _e86));
                    w_2.u.inner[metal::min(unsigned(_e81), 7u)] = (_e79 & 252645135u) | _e89;
                    uint _e92 = k_3;
                    uint _e102 = k_3;
                    uint _e106 = spread4_(_e65 >> (16u + (4u * _e102)));
                    w_2.u.inner[metal::min(unsigned(_e92 + 4u), 7u)] = ((_e79 >> 4u) & 252645135u) | _e106;
                }
            }
            break;
        }
        default: {
            uint off_2 = rb + (j_1 * 34u);
            float _e115 = wf16_(off_2, wbuf, _buffer_sizes);
            w_2.d = _e115;
            w_2.zp = 128;
            uint2 loop_bound_2 = uint2(4294967295u);
            bool loop_init_2 = true;
            while(true) {
                if (metal::all(loop_bound_2 == uint2(0u))) { break; }
                loop_bound_2 -= uint2(loop_bound_2.y == 0u, 1u);
                if (!loop_init_2) {
                    uint _e136 = k_4;
                    k_4 = _e136 + 1u;
                }
                loop_init_2 = false;
                uint _e120 = k_4;
                if (_e120 < 8u) {
                } else {
                    break;
                }
                {
                    uint _e124 = k_4;
                    uint _e129 = k_4;
                    uint _e132 = wload((off_2 + 2u) + (4u * _e129), wbuf, _buffer_sizes);
                    w_2.u.inner[metal::min(unsigned(_e124), 7u)] = _e132 ^ 2155905152u;
                }
            }
            break;
        }
    }
    WSub _e138 = w_2;
    return _e138;
}

WSub wsub_decode_k(
    uint ty_1,
    uint rb_1,
    uint j_2,
    device type_4 const& wbuf,
    constant _mslBufferSizes& _buffer_sizes
) {
    WSub w_3 = {};
    uint k_5 = 0u;
    uint i_5 = 0u;
    w_3.zp = 0;
    w_3.m = 0.0;
    w_3.sc0_ = 1;
    w_3.sc1_ = 0;
    switch(ty_1) {
        case 12u: {
            uint s_3 = j_2 & 7u;
            uint off_3 = rb_1 + ((j_2 >> 3u) * 144u);
            float _e20 = wf16_(off_3, wbuf, _buffer_sizes);
            w_3.d = _e20;
            float _e24 = wf16_(off_3 + 2u, wbuf, _buffer_sizes);
            w_3.m = _e24;
            uint sc = off_3 + 4u;
            if (s_3 < 4u) {
                uint _e31 = wbyte(sc + s_3, wbuf, _buffer_sizes);
                w_3.sc0_ = static_cast<int>(_e31 & 63u);
                uint _e39 = wbyte((sc + s_3) + 4u, wbuf, _buffer_sizes);
                w_3.sc1_ = static_cast<int>(_e39 & 63u);
            } else {
                uint _e46 = wbyte((sc + s_3) + 4u, wbuf, _buffer_sizes);
                uint _e53 = wbyte((sc + s_3) - 4u, wbuf, _buffer_sizes);
                w_3.sc0_ = static_cast<int>((_e46 & 15u) | ((_e53 >> 6u) << 4u));
                uint _e64 = wbyte(sc + s_3, wbuf, _buffer_sizes);
                w_3.sc1_ = static_cast<int>((_e46 >> 4u) | ((_e64 >> 6u) << 4u));
            }
            uint qoff_1 = (off_3 + 16u) + (32u * (s_3 >> 1u));
            uint sh_1 = 4u * (s_3 & 1u);
            uint2 loop_bound_3 = uint2(4294967295u);
            bool loop_init_3 = true;
            while(true) {
                if (metal::all(loop_bound_3 == uint2(0u))) { break; }
                loop_bound_3 -= uint2(loop_bound_3.y == 0u, 1u);
                if (!loop_init_3) {
                    uint _e99 = k_5;
                    k_5 = _e99 + 1u;
                }
                loop_init_3 = false;
                uint _e84 = k_5;
                if (_e84 < 8u) {
                } else {
                    break;
                }
                {
                    uint _e88 = k_5;
                    uint _e91 = k_5;
                    uint _e94 = wload(qoff_1 + (4u * _e91), wbuf, _buffer_sizes);
                    w_3.u.inner[metal::min(unsigned(_e88), 7u)] = (_e94 >> sh_1) & 252645135u;
                }
            }
            break;
        }
        default: {
            uint s_4 = j_2 & 7u;
            uint off_4 = rb_1 + ((j_2 >> 3u) * 210u);
            uint h_2 = s_4 >> 2u;
            uint k_11 = s_4 & 3u;
            uint loff = (off_4 + (64u * h_2)) + (32u * (k_11 & 1u));
            uint hoff = (off_4 + 128u) + (32u * h_2);
            uint lsh = 4u * (k_11 >> 1u);
            uint hsh = 2u * k_11;
            uint2 loop_bound_4 = uint2(4294967295u);
            bool loop_init_4 = true;
            while(true) {
                if (metal::all(loop_bound_4 == uint2(0u))) { break; }
                loop_bound_4 -= uint2(loop_bound_4.y == 0u, 1u);
                if (!loop_init_4) {
                    uint _e159 = i_5;
                    i_5 = _e159 + 1u;
                }
                loop_init_4 = false;
                uint _e133 = i_5;
                if (_e133 < 8u) {
                } else {
                    break;
                }
                {
                    uint _e137 = i_5;
                    uint _e140 = wload(loff + (4u * _e137), wbuf, _buffer_sizes);
                    uint lo_2 = (_e140 >> lsh) & 252645135u;
                    uint _e145 = i_5;
                    uint _e148 = wload(hoff + (4u * _e145), wbuf, _buffer_sizes);
                    uint hi_2 = ((_e148 >> hsh) & 50529027u) << 4u;
                    uint _e155 = i_5;
                    w_3.u.inner[metal::min(unsigned(_e155), 7u)] = lo_2 | hi_2;
                }
            }
            w_3.zp = 32;
            uint _e169 = wbyte((off_4 + 192u) + (2u * s_4), wbuf, _buffer_sizes);
            w_3.sc0_ = metal::extract_bits(static_cast<int>(_e169), metal::min(0u, 32u), metal::min(8u, 32u - metal::min(0u, 32u)));
            uint _e180 = wbyte((off_4 + 193u) + (2u * s_4), wbuf, _buffer_sizes);
            w_3.sc1_ = metal::extract_bits(static_cast<int>(_e180), metal::min(0u, 32u), metal::min(8u, 32u - metal::min(0u, 32u)));
            float _e188 = wf16_(off_4 + 208u, wbuf, _buffer_sizes);
            w_3.d = _e188;
            break;
        }
    }
    WSub _e189 = w_3;
    return _e189;
}

WSub wsub_decode(
    uint ty_2,
    uint rb_2,
    uint j_3,
    device type_4 const& wbuf,
    constant _mslBufferSizes& _buffer_sizes
) {
    bool local_4 = {};
    if (!((ty_2 == 12u))) {
        local_4 = ty_2 == 14u;
    } else {
        local_4 = true;
    }
    bool _e11 = local_4;
    if (_e11) {
        WSub _e12 = wsub_decode_k(ty_2, rb_2, j_3, wbuf, _buffer_sizes);
        return _e12;
    }
    WSub _e13 = wsub_decode_b32_(ty_2, rb_2, j_3, wbuf, _buffer_sizes);
    return _e13;
}

int dot4_us(
    uint u_1,
    uint b_5
) {
    int _e6 = sbyte(b_5, 0u);
    int _e14 = sbyte(b_5, 1u);
    int _e23 = sbyte(b_5, 2u);
    int _e30 = sbyte(b_5, 3u);
    return as_type<int>(as_type<uint>(as_type<int>(as_type<uint>(as_type<int>(as_type<uint>(as_type<int>(as_type<uint>(static_cast<int>(u_1 & 255u)) * as_type<uint>(_e6))) + as_type<uint>(as_type<int>(as_type<uint>(static_cast<int>((u_1 >> 8u) & 255u)) * as_type<uint>(_e14))))) + as_type<uint>(as_type<int>(as_type<uint>(static_cast<int>((u_1 >> 16u) & 255u)) * as_type<uint>(_e23))))) + as_type<uint>(as_type<int>(as_type<uint>(static_cast<int>(u_1 >> 24u)) * as_type<uint>(_e30))));
}

float wsub_dot(
    uint ty_3,
    WSub w_4,
    ASub a_1
) {
    int lo = 0;
    int hi = 0;
    uint k_6 = 0u;
    uint2 loop_bound_5 = uint2(4294967295u);
    bool loop_init_5 = true;
    while(true) {
        if (metal::all(loop_bound_5 == uint2(0u))) { break; }
        loop_bound_5 -= uint2(loop_bound_5.y == 0u, 1u);
        if (!loop_init_5) {
            uint _e35 = k_6;
            k_6 = _e35 + 1u;
        }
        loop_init_5 = false;
        uint _e9 = k_6;
        if (_e9 < 4u) {
        } else {
            break;
        }
        {
            int _e12 = lo;
            uint _e14 = k_6;
            uint _e17 = k_6;
            int _e19 = dot4_us(w_4.u.inner[metal::min(unsigned(_e14), 7u)], a_1.q.inner[metal::min(unsigned(_e17), 7u)]);
            lo = as_type<int>(as_type<uint>(_e12) + as_type<uint>(_e19));
            int _e21 = hi;
            uint _e23 = k_6;
            uint _e28 = k_6;
            int _e32 = dot4_us(w_4.u.inner[metal::min(unsigned(_e23 + 4u), 7u)], a_1.q.inner[metal::min(unsigned(_e28 + 4u), 7u)]);
            hi = as_type<int>(as_type<uint>(_e21) + as_type<uint>(_e32));
        }
    }
    int _e37 = lo;
    lo = as_type<int>(as_type<uint>(_e37) - as_type<uint>(as_type<int>(as_type<uint>(w_4.zp) * as_type<uint>(a_1.sum_lo))));
    int _e42 = hi;
    hi = as_type<int>(as_type<uint>(_e42) - as_type<uint>(as_type<int>(as_type<uint>(w_4.zp) * as_type<uint>(a_1.sum_hi))));
    switch(ty_3) {
        case 3u: {
            int _e50 = lo;
            int _e51 = hi;
            return ((w_4.d * a_1.d) * static_cast<float>(as_type<int>(as_type<uint>(_e50) + as_type<uint>(_e51)))) + (w_4.m * a_1.s);
        }
        case 12u: {
            int _e63 = lo;
            int _e64 = hi;
            return ((w_4.d * a_1.d) * static_cast<float>(as_type<int>(as_type<uint>(w_4.sc0_) * as_type<uint>(as_type<int>(as_type<uint>(_e63) + as_type<uint>(_e64)))))) - ((w_4.m * a_1.d) * static_cast<float>(as_type<int>(as_type<uint>(w_4.sc1_) * as_type<uint>(as_type<int>(as_type<uint>(a_1.sum_lo) + as_type<uint>(a_1.sum_hi))))));
        }
        case 14u: {
            int _e84 = lo;
            int _e87 = hi;
            return (w_4.d * a_1.d) * static_cast<float>(as_type<int>(as_type<uint>(as_type<int>(as_type<uint>(w_4.sc0_) * as_type<uint>(_e84))) + as_type<uint>(as_type<int>(as_type<uint>(w_4.sc1_) * as_type<uint>(_e87)))));
        }
        default: {
            int _e92 = lo;
            int _e93 = hi;
            return static_cast<float>(as_type<int>(as_type<uint>(_e92) + as_type<uint>(_e93))) * (w_4.d * a_1.d);
        }
    }
}

uint naga_div(uint lhs, uint rhs) {
    return lhs / metal::select(rhs, 1u, rhs == 0u);
}

float wdequant(
    uint ty_4,
    uint rb_3,
    uint e,
    device type_4 const& wbuf,
    constant _mslBufferSizes& _buffer_sizes
) {
    WSub _e5 = wsub_decode(ty_4, rb_3, naga_div(e, 32u), wbuf, _buffer_sizes);
    uint l = e & 31u;
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
    ASub a_2 = {};
    uint k_7 = 0u;
    uint word = {};
    uint i_6 = {};
    a_2.sum_lo = 0;
    a_2.sum_hi = 0;
    uint2 loop_bound_6 = uint2(4294967295u);
    bool loop_init_6 = true;
    while(true) {
        if (metal::all(loop_bound_6 == uint2(0u))) { break; }
        loop_bound_6 -= uint2(loop_bound_6.y == 0u, 1u);
        if (!loop_init_6) {
            uint _e50 = k_7;
            k_7 = _e50 + 1u;
        }
        loop_init_6 = false;
        uint _e8 = k_7;
        if (_e8 < 8u) {
        } else {
            break;
        }
        {
            word = 0u;
            i_6 = 0u;
            uint2 loop_bound_7 = uint2(4294967295u);
            bool loop_init_7 = true;
            while(true) {
                if (metal::all(loop_bound_7 == uint2(0u))) { break; }
                loop_bound_7 -= uint2(loop_bound_7.y == 0u, 1u);
                if (!loop_init_7) {
                    uint _e43 = i_6;
                    i_6 = _e43 + 1u;
                }
                loop_init_7 = false;
                uint _e15 = i_6;
                if (_e15 < 4u) {
                } else {
                    break;
                }
                {
                    uint _e19 = k_7;
                    uint _e21 = i_6;
                    int q_1 = qs.inner[metal::min(unsigned((4u * _e19) + _e21), 31u)];
                    uint _e24 = word;
                    uint _e29 = i_6;
                    word = _e24 | ((as_type<uint>(q_1) & 255u) << (8u * _e29));
                    uint _e33 = k_7;
                    if (_e33 < 4u) {
                        int _e37 = a_2.sum_lo;
                        a_2.sum_lo = as_type<int>(as_type<uint>(_e37) + as_type<uint>(q_1));
                    } else {
                        int _e40 = a_2.sum_hi;
                        a_2.sum_hi = as_type<int>(as_type<uint>(_e40) + as_type<uint>(q_1));
                    }
                }
            }
            uint _e46 = k_7;
            uint _e48 = word;
            a_2.q.inner[metal::min(unsigned(_e46), 7u)] = _e48;
        }
    }
    ASub _e52 = a_2;
    return _e52;
}

int naga_f2i32(float value) {
    return static_cast<int>(metal::clamp(value, -2147483600.0, 2147483500.0));
}

ASub quant_q8_0_(
    type_7 x_2
) {
    float amax = 0.0;
    uint i_7 = 0u;
    type_6 qs_1 = {};
    int sum = 0;
    uint i_8 = 0u;
    ASub a_3 = {};
    uint2 loop_bound_8 = uint2(4294967295u);
    bool loop_init_8 = true;
    while(true) {
        if (metal::all(loop_bound_8 == uint2(0u))) { break; }
        loop_bound_8 -= uint2(loop_bound_8.y == 0u, 1u);
        if (!loop_init_8) {
            uint _e14 = i_7;
            i_7 = _e14 + 1u;
        }
        loop_init_8 = false;
        uint _e5 = i_7;
        if (_e5 < 32u) {
        } else {
            break;
        }
        {
            float _e8 = amax;
            uint _e9 = i_7;
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
            uint _e48 = i_8;
            i_8 = _e48 + 1u;
        }
        loop_init_9 = false;
        uint _e32 = i_8;
        if (_e32 < 32u) {
        } else {
            break;
        }
        {
            uint _e35 = i_8;
            int v_3 = naga_f2i32(metal::rint(x_2.inner[metal::min(unsigned(_e35), 31u)] * id));
            int _e40 = sum;
            sum = as_type<int>(as_type<uint>(_e40) + as_type<uint>(v_3));
            uint _e42 = i_8;
            qs_1.inner[metal::min(unsigned(_e42), 31u)] = metal::clamp(v_3, -128, 127);
        }
    }
    type_6 _e50 = qs_1;
    ASub _e51 = pack_q(_e50);
    a_3 = _e51;
    float _e54 = round_f16_(d);
    a_3.d = _e54;
    int _e56 = sum;
    float _e59 = round_f16_(d * static_cast<float>(_e56));
    a_3.s = _e59;
    ASub _e60 = a_3;
    return _e60;
}

ASub quant_q8_k(
    type_7 x_3,
    float iscale
) {
    type_6 qs_2 = {};
    uint i_9 = 0u;
    ASub a_4 = {};
    uint2 loop_bound_10 = uint2(4294967295u);
    bool loop_init_10 = true;
    while(true) {
        if (metal::all(loop_bound_10 == uint2(0u))) { break; }
        loop_bound_10 -= uint2(loop_bound_10.y == 0u, 1u);
        if (!loop_init_10) {
            uint _e18 = i_9;
            i_9 = _e18 + 1u;
        }
        loop_init_10 = false;
        uint _e5 = i_9;
        if (_e5 < 32u) {
        } else {
            break;
        }
        {
            uint _e8 = i_9;
            uint _e10 = i_9;
            qs_2.inner[metal::min(unsigned(_e8), 31u)] = metal::min(127, naga_f2i32(metal::rint(iscale * x_3.inner[metal::min(unsigned(_e10), 31u)])));
        }
    }
    type_6 _e20 = qs_2;
    ASub _e21 = pack_q(_e20);
    a_4 = _e21;
    a_4.d = (iscale == 0.0) ? 0.0 : (1.0 / iscale);
    a_4.s = 0.0;
    ASub _e32 = a_4;
    return _e32;
}

float rms_scale(
    uint base,
    uint n,
    float eps,
    uint lid_1,
    device type_8 const& x_4,
    threadgroup type_9& red,
    constant _mslBufferSizes& _buffer_sizes
) {
    float ss = 0.0;
    uint k_8 = {};
    uint h_1 = 32u;
    k_8 = lid_1;
    uint2 loop_bound_11 = uint2(4294967295u);
    bool loop_init_11 = true;
    while(true) {
        if (metal::all(loop_bound_11 == uint2(0u))) { break; }
        loop_bound_11 -= uint2(loop_bound_11.y == 0u, 1u);
        if (!loop_init_11) {
            uint _e17 = k_8;
            k_8 = _e17 + WG;
        }
        loop_init_11 = false;
        uint _e7 = k_8;
        if (_e7 < n) {
        } else {
            break;
        }
        {
            uint _e10 = k_8;
            float v_4 = x_4[metal::min(unsigned(base + _e10), (_buffer_sizes.size1 - 0 - 4) / 4)];
            float _e14 = ss;
            ss = _e14 + (v_4 * v_4);
        }
    }
    float _e22 = ss;
    red.inner[metal::min(unsigned(lid_1), 1023u)] = _e22;
    metal::threadgroup_barrier(metal::mem_flags::mem_threadgroup);
    uint2 loop_bound_12 = uint2(4294967295u);
    bool loop_init_12 = true;
    while(true) {
        if (metal::all(loop_bound_12 == uint2(0u))) { break; }
        loop_bound_12 -= uint2(loop_bound_12.y == 0u, 1u);
        if (!loop_init_12) {
            uint _e39 = h_1;
            h_1 = _e39 >> 1u;
        }
        loop_init_12 = false;
        uint _e25 = h_1;
        if (_e25 > 0u) {
        } else {
            break;
        }
        {
            uint _e28 = h_1;
            if (lid_1 < _e28) {
                float _e32 = red.inner[metal::min(unsigned(lid_1), 1023u)];
                uint _e34 = h_1;
                float _e37 = red.inner[metal::min(unsigned(lid_1 + _e34), 1023u)];
                red.inner[metal::min(unsigned(lid_1), 1023u)] = _e32 + _e37;
            }
            metal::threadgroup_barrier(metal::mem_flags::mem_threadgroup);
        }
    }
    float total = red.inner[0];
    metal::threadgroup_barrier(metal::mem_flags::mem_threadgroup);
    return 1.0 / metal::sqrt((total / static_cast<float>(n)) + eps);
}

metal::float2 rope_pair(
    float a_5,
    float b_6,
    float c,
    float s_1
) {
    return metal::float2(metal::fma(a_5, c, -((b_6 * s_1))), metal::fma(a_5, s_1, b_6 * c));
}

float swiglu(
    float g,
    float u_2
) {
    return (g / (1.0 + metal::exp(-(g)))) * u_2;
}

uint p(
    uint i_10,
    constant type_12& P
) {
    uint _e8 = P.inner[metal::min(unsigned(i_10 >> 2u), 8u)][metal::min(unsigned(i_10 & 3u), 3u)];
    return _e8;
}

float act_value(
    uint t_4,
    uint k_9,
    device type_8 const& x_4,
    constant type_12& P,
    device type_8 const& smalls,
    threadgroup type_13& nscale,
    thread uint& tin0_,
    constant _mslBufferSizes& _buffer_sizes
) {
    uint _e4 = tin0_;
    uint _e7 = p(4u, P);
    float v_5 = x_4[metal::min(unsigned(((_e4 + t_4) * _e7) + k_9), (_buffer_sizes.size1 - 0 - 4) / 4)];
    uint _e13 = p(6u, P);
    if (_e13 == NONE) {
        return v_5;
    }
    float _e18 = nscale.inner[metal::min(unsigned(t_4), 0u)];
    float _e23 = smalls[metal::min(unsigned(_e13 + k_9), (_buffer_sizes.size6 - 0 - 4) / 4)];
    return (v_5 * _e18) * _e23;
}

float q8k_iscale(
    uint t_5,
    uint k0_,
    device type_8 const& x_4,
    constant type_12& P,
    device type_8 const& smalls,
    threadgroup type_13& nscale,
    thread uint& tin0_,
    constant _mslBufferSizes& _buffer_sizes
) {
    float amax_1 = 0.0;
    float mx = 0.0;
    uint i_11 = 0u;
    uint2 loop_bound_13 = uint2(4294967295u);
    bool loop_init_13 = true;
    while(true) {
        if (metal::all(loop_bound_13 == uint2(0u))) { break; }
        loop_bound_13 -= uint2(loop_bound_13.y == 0u, 1u);
        if (!loop_init_13) {
            uint _e18 = i_11;
            i_11 = _e18 + 1u;
        }
        loop_init_13 = false;
        uint _e8 = i_11;
        if (_e8 < 256u) {
        } else {
            break;
        }
        {
            uint _e11 = i_11;
            float _e13 = act_value(t_5, k0_ + _e11, x_4, P, smalls, nscale, tin0_, _buffer_sizes);
            float av = metal::abs(_e13);
            float _e15 = amax_1;
            if (av > _e15) {
                amax_1 = av;
                mx = _e13;
            }
        }
    }
    float _e20 = mx;
    float _e23 = amax_1;
    return (_e23 == 0.0) ? 0.0 : (-127.0 / _e20);
}

uint seg_of(
    uint unit,
    constant type_12& P
) {
    uint s_2 = 0u;
    uint k_10 = 1u;
    uint2 loop_bound_14 = uint2(4294967295u);
    bool loop_init_14 = true;
    while(true) {
        if (metal::all(loop_bound_14 == uint2(0u))) { break; }
        loop_bound_14 -= uint2(loop_bound_14.y == 0u, 1u);
        if (!loop_init_14) {
            uint _e16 = k_10;
            k_10 = _e16 + 1u;
        }
        loop_init_14 = false;
        uint _e5 = k_10;
        uint _e7 = p(3u, P);
        if (_e5 < _e7) {
        } else {
            break;
        }
        {
            uint _e10 = k_10;
            uint _e12 = p(12u + _e10, P);
            if (unit >= _e12) {
                uint _e14 = k_10;
                s_2 = _e14;
            }
        }
    }
    uint _e18 = s_2;
    return _e18;
}

uint naga_mod(uint lhs, uint rhs) {
    return lhs % metal::select(rhs, 1u, rhs == 0u);
}

Slot slot_of(
    uint wg,
    uint r_3,
    constant type_12& P
) {
    Slot sl = {};
    uint ra = {};
    uint rb_4 = {};
    uint _e4 = p(0u, P);
    uint _e7 = p(26u, P);
    uint rw = naga_div(WG, _e7) * R;
    if (_e4 <= 1u) {
        uint _e15 = p(12u, P);
        sl.unit = (_e15 + (wg * rw)) + r_3;
        sl.seg = 0u;
        uint _e23 = sl.unit;
        uint _e25 = p(12u, P);
        sl.row = _e23 - _e25;
    } else {
        uint k_12 = naga_div(r_3, R);
        uint i_14 = naga_mod(r_3, R);
        sl.unit = ((wg * naga_div(rw, 2u)) + (2u * k_12)) + naga_mod(i_14, 2u);
        uint which = naga_div(i_14, 2u);
        if (_e4 == 2u) {
            sl.seg = which;
            uint _e48 = sl.unit;
            sl.row = _e48;
        } else {
            uint _e51 = sl.unit;
            uint _e52 = seg_of(_e51, P);
            sl.seg = _e52;
            uint _e55 = sl.unit;
            uint _e58 = sl.seg;
            uint _e60 = p(12u + _e58, P);
            sl.lp = _e55 - _e60;
            uint _e64 = sl.lp;
            ra = 2u * _e64;
            uint _e67 = ra;
            rb_4 = _e67 + 1u;
            uint _e72 = sl.seg;
            if (_e72 < 2u) {
                uint _e76 = p(24u, P);
                uint half_1 = naga_div(_e76, 2u);
                uint _e80 = sl.lp;
                uint head = naga_div(_e80, half_1);
                uint _e83 = sl.lp;
                uint i_15 = naga_mod(_e83, half_1);
                uint _e86 = p(25u, P);
                if (_e86 != 0u) {
                    ra = (head * _e76) + i_15;
                    uint _e91 = ra;
                    rb_4 = _e91 + half_1;
                } else {
                    ra = (head * _e76) + (2u * i_15);
                    uint _e97 = ra;
                    rb_4 = _e97 + 1u;
                }
            }
            uint _e101 = ra;
            uint _e102 = rb_4;
            sl.row = (which == 1u) ? _e102 : _e101;
        }
    }
    uint _e108 = sl.unit;
    uint _e110 = p(2u, P);
    sl.valid = _e108 < _e110;
    Slot _e112 = sl;
    return _e112;
}

float bias_at(
    uint seg,
    uint i_12,
    constant type_12& P,
    device type_8 const& smalls,
    constant _mslBufferSizes& _buffer_sizes
) {
    uint _e4 = p(20u + seg, P);
    if (_e4 == NONE) {
        return 0.0;
    }
    float _e11 = smalls[metal::min(unsigned(_e4 + i_12), (_buffer_sizes.size6 - 0 - 4) / 4)];
    return _e11;
}

uint pack_f16x2_(
    float a_6,
    float b_7
) {
    uint _e2 = f32_to_f16_bits(a_6);
    uint _e3 = f32_to_f16_bits(b_7);
    return _e2 | (_e3 << 16u);
}

void epilogue_qkv(
    uint wg_1,
    uint s0_1,
    uint t_6,
    constant type_12& P,
    constant metal::uint4& S,
    device type_8& out,
    device type_8 const& smalls,
    device type_8 const& rope,
    device type_4& kc,
    device type_4& vc,
    threadgroup type_9& fin,
    thread uint& tout0_,
    constant _mslBufferSizes& _buffer_sizes
) {
    type_15 slots_1 = {};
    uint r_4 = 0u;
    type_16 va = {};
    type_16 vb = {};
    type_17 ra_1 = {};
    type_17 rb_5 = {};
    uint u_3 = 0u;
    float a_7 = {};
    float b_8 = {};
    uint u_4 = 0u;
    bool local_5 = {};
    uint u_5 = 0u;
    uint2 loop_bound_15 = uint2(4294967295u);
    bool loop_init_15 = true;
    while(true) {
        if (metal::all(loop_bound_15 == uint2(0u))) { break; }
        loop_bound_15 -= uint2(loop_bound_15.y == 0u, 1u);
        if (!loop_init_15) {
            uint _e15 = r_4;
            r_4 = _e15 + 1u;
        }
        loop_init_15 = false;
        uint _e6 = r_4;
        if (_e6 < R) {
        } else {
            break;
        }
        {
            uint _e9 = r_4;
            uint _e11 = r_4;
            Slot _e13 = slot_of(wg_1, s0_1 + _e11, P);
            slots_1.inner[metal::min(unsigned(_e9), 3u)] = _e13;
        }
    }
    uint _e18 = p(24u, P);
    uint half_2 = naga_div(_e18, 2u);
    uint _e23 = S.x;
    uint _e25 = tout0_;
    uint pos = (_e23 + _e25) + t_6;
    uint _e29 = p(30u, P);
    uint seg_1 = slots_1.inner[0].seg;
    uint2 loop_bound_16 = uint2(4294967295u);
    bool loop_init_16 = true;
    while(true) {
        if (metal::all(loop_bound_16 == uint2(0u))) { break; }
        loop_bound_16 -= uint2(loop_bound_16.y == 0u, 1u);
        if (!loop_init_16) {
            uint _e117 = u_3;
            u_3 = _e117 + 1u;
        }
        loop_init_16 = false;
        uint _e39 = u_3;
        if (_e39 < 2u) {
        } else {
            break;
        }
        {
            uint _e42 = u_3;
            uint _e44 = u_3;
            uint _e47 = slots_1.inner[metal::min(unsigned(_e44), 3u)].row;
            ra_1.inner[metal::min(unsigned(_e42), 1u)] = _e47;
            uint _e48 = u_3;
            uint _e50 = u_3;
            uint _e55 = slots_1.inner[metal::min(unsigned(_e50 + 2u), 3u)].row;
            rb_5.inner[metal::min(unsigned(_e48), 1u)] = _e55;
            uint _e57 = u_3;
            float _e63 = fin.inner[metal::min(unsigned(((s0_1 + _e57) * TILE_T) + t_6), 1023u)];
            uint _e64 = u_3;
            uint _e66 = ra_1.inner[metal::min(unsigned(_e64), 1u)];
            float _e67 = bias_at(seg_1, _e66, P, smalls, _buffer_sizes);
            a_7 = _e63 + _e67;
            uint _e71 = u_3;
            float _e79 = fin.inner[metal::min(unsigned((((s0_1 + _e71) + 2u) * TILE_T) + t_6), 1023u)];
            uint _e80 = u_3;
            uint _e82 = rb_5.inner[metal::min(unsigned(_e80), 1u)];
            float _e83 = bias_at(seg_1, _e82, P, smalls, _buffer_sizes);
            b_8 = _e79 + _e83;
            if (seg_1 < 2u) {
                uint _e88 = u_3;
                uint _e91 = slots_1.inner[metal::min(unsigned(_e88), 3u)].lp;
                uint i_16 = naga_mod(_e91, half_2);
                uint cs = (pos * _e18) + (2u * i_16);
                float _e97 = a_7;
                float _e98 = b_8;
                float _e101 = rope[metal::min(unsigned(cs), (_buffer_sizes.size7 - 0 - 4) / 4)];
                float _e106 = rope[metal::min(unsigned(cs + 1u), (_buffer_sizes.size7 - 0 - 4) / 4)];
                metal::float2 _e107 = rope_pair(_e97, _e98, _e101, _e106);
                a_7 = _e107.x;
                b_8 = _e107.y;
            }
            uint _e110 = u_3;
            float _e112 = a_7;
            va.inner[metal::min(unsigned(_e110), 1u)] = _e112;
            uint _e113 = u_3;
            float _e115 = b_8;
            vb.inner[metal::min(unsigned(_e113), 1u)] = _e115;
        }
    }
    if (seg_1 == 0u) {
        uint _e122 = tout0_;
        uint _e125 = p(5u, P);
        uint o = (_e122 + t_6) * _e125;
        uint2 loop_bound_17 = uint2(4294967295u);
        bool loop_init_17 = true;
        while(true) {
            if (metal::all(loop_bound_17 == uint2(0u))) { break; }
            loop_bound_17 -= uint2(loop_bound_17.y == 0u, 1u);
            if (!loop_init_17) {
                uint _e151 = u_4;
                u_4 = _e151 + 1u;
            }
            loop_init_17 = false;
            uint _e129 = u_4;
            if (_e129 < 2u) {
            } else {
                break;
            }
            {
                uint _e133 = u_4;
                uint _e135 = ra_1.inner[metal::min(unsigned(_e133), 1u)];
                uint _e138 = u_4;
                float _e140 = va.inner[metal::min(unsigned(_e138), 1u)];
                out[metal::min(unsigned(o + _e135), (_buffer_sizes.size5 - 0 - 4) / 4)] = _e140;
                uint _e142 = u_4;
                uint _e144 = rb_5.inner[metal::min(unsigned(_e142), 1u)];
                uint _e147 = u_4;
                float _e149 = vb.inner[metal::min(unsigned(_e147), 1u)];
                out[metal::min(unsigned(o + _e144), (_buffer_sizes.size5 - 0 - 4) / 4)] = _e149;
            }
        }
        return;
    }
    uint base_1 = naga_div(pos * _e29, 2u);
    if (seg_1 == 1u) {
        uint _e161 = p(25u, P);
        local_5 = _e161 != 0u;
    } else {
        local_5 = false;
    }
    bool _e165 = local_5;
    if (_e165) {
        uint _e168 = ra_1.inner[0];
        float _e174 = va.inner[0];
        float _e176 = va.inner[1];
        uint _e177 = pack_f16x2_(_e174, _e176);
        kc[metal::min(unsigned(base_1 + naga_div(_e168, 2u)), (_buffer_sizes.size8 - 0 - 4) / 4)] = _e177;
        uint _e180 = rb_5.inner[0];
        float _e186 = vb.inner[0];
        float _e188 = vb.inner[1];
        uint _e189 = pack_f16x2_(_e186, _e188);
        kc[metal::min(unsigned(base_1 + naga_div(_e180, 2u)), (_buffer_sizes.size8 - 0 - 4) / 4)] = _e189;
        return;
    }
    uint2 loop_bound_18 = uint2(4294967295u);
    bool loop_init_18 = true;
    while(true) {
        if (metal::all(loop_bound_18 == uint2(0u))) { break; }
        loop_bound_18 -= uint2(loop_bound_18.y == 0u, 1u);
        if (!loop_init_18) {
            uint _e221 = u_5;
            u_5 = _e221 + 1u;
        }
        loop_init_18 = false;
        uint _e192 = u_5;
        if (_e192 < 2u) {
        } else {
            break;
        }
        {
            uint _e195 = u_5;
            float _e197 = va.inner[metal::min(unsigned(_e195), 1u)];
            uint _e198 = u_5;
            float _e200 = vb.inner[metal::min(unsigned(_e198), 1u)];
            uint _e201 = pack_f16x2_(_e197, _e200);
            if (seg_1 == 1u) {
                uint _e205 = u_5;
                uint _e207 = ra_1.inner[metal::min(unsigned(_e205), 1u)];
                kc[metal::min(unsigned(base_1 + naga_div(_e207, 2u)), (_buffer_sizes.size8 - 0 - 4) / 4)] = _e201;
            } else {
                uint _e213 = u_5;
                uint _e215 = ra_1.inner[metal::min(unsigned(_e213), 1u)];
                vc[metal::min(unsigned(base_1 + naga_div(_e215, 2u)), (_buffer_sizes.size9 - 0 - 4) / 4)] = _e201;
            }
        }
    }
    return;
}

struct main_Input {
};
[[max_total_threads_per_threadgroup(64)]] kernel void main_(
  metal::uint3 wid [[threadgroup_position_in_grid]]
, uint lid [[thread_index_in_threadgroup]]
, device type_4 const& wbuf [[buffer(2)]]
, device type_8 const& x_4 [[buffer(3)]]
, threadgroup type_9& red
, constant type_12& P [[buffer(0)]]
, constant metal::uint4& S [[buffer(1)]]
, device type_8& out [[buffer(4)]]
, device type_8 const& smalls [[buffer(5)]]
, device type_8 const& rope [[buffer(6)]]
, device type_4& kc [[buffer(7)]]
, device type_4& vc [[buffer(8)]]
, threadgroup type_13& nscale
, threadgroup type_14& kis
, threadgroup type_9& fin
, constant _mslBufferSizes& _buffer_sizes [[buffer(9)]]
) {
    uint tin0_ = {};
    uint ntile = {};
    uint tout0_ = {};
    uint t = 0u;
    uint i = {};
    float v = {};
    type_15 slots = {};
    uint r = 0u;
    type_19 acc = {};
    uint i_1 = 0u;
    uint j = {};
    type_20 a = {};
    uint t_1 = {};
    type_7 xs = {};
    uint i_2 = {};
    uint r_1 = {};
    WSub w = {};
    uint t_2 = {};
    uint i_3 = 0u;
    uint i_4 = {};
    float s = {};
    uint k = {};
    uint t_3 = 0u;
    uint s0_ = {};
    uint u = {};
    uint r_2 = {};
    uint _e5 = p(28u, P);
    uint wg_2 = wid.x + (wid.y * _e5);
    uint n_step = S.y;
    uint _e12 = p(27u, P);
    if (_e12 == 1u) {
        tin0_ = n_step - 1u;
        ntile = 1u;
        tout0_ = 0u;
    } else {
        uint _e23 = p(27u, P);
        if (_e23 == 2u) {
            tout0_ = wid.z * TILE_T;
            uint _e33 = S.z;
            uint _e35 = tout0_;
            tin0_ = _e33 + _e35;
            uint _e40 = tout0_;
            ntile = metal::min(TILE_T, n_step - _e40);
        } else {
            tin0_ = wid.z * TILE_T;
            uint _e50 = tin0_;
            ntile = metal::min(TILE_T, n_step - _e50);
            uint _e55 = tin0_;
            tout0_ = _e55;
        }
    }
    uint _e57 = p(1u, P);
    uint _e59 = p(6u, P);
    if (_e59 != NONE) {
        uint2 loop_bound_19 = uint2(4294967295u);
        bool loop_init_19 = true;
        while(true) {
            if (metal::all(loop_bound_19 == uint2(0u))) { break; }
            loop_bound_19 -= uint2(loop_bound_19.y == 0u, 1u);
            if (!loop_init_19) {
                uint _e89 = t;
                t = _e89 + 1u;
            }
            loop_init_19 = false;
            uint _e64 = t;
            if (_e64 < TILE_T) {
            } else {
                break;
            }
            {
                uint _e68 = tin0_;
                uint _e69 = t;
                uint _e71 = ntile;
                uint _e77 = p(4u, P);
                uint _e80 = p(7u, P);
                float _e82 = rms_scale((_e68 + metal::min(_e69, _e71 - 1u)) * _e77, _e57, as_type<float>(_e80), lid, x_4, red, _buffer_sizes);
                if (lid == 0u) {
                    uint _e86 = t;
                    nscale.inner[metal::min(unsigned(_e86), 0u)] = _e82;
                }
            }
        }
        metal::threadgroup_barrier(metal::mem_flags::mem_threadgroup);
    }
    if (KQ) {
        uint n_sb = naga_div(_e57, 256u);
        i = lid;
        uint2 loop_bound_20 = uint2(4294967295u);
        bool loop_init_20 = true;
        while(true) {
            if (metal::all(loop_bound_20 == uint2(0u))) { break; }
            loop_bound_20 -= uint2(loop_bound_20.y == 0u, 1u);
            if (!loop_init_20) {
                uint _e117 = i;
                i = _e117 + WG;
            }
            loop_init_20 = false;
            uint _e95 = i;
            if (_e95 < (TILE_T * n_sb)) {
            } else {
                break;
            }
            {
                uint _e99 = i;
                uint t_7 = naga_div(_e99, n_sb);
                uint _e101 = i;
                uint sb = naga_mod(_e101, n_sb);
                v = 0.0;
                uint _e106 = ntile;
                if (t_7 < _e106) {
                    float _e110 = q8k_iscale(t_7, sb * 256u, x_4, P, smalls, nscale, tin0_, _buffer_sizes);
                    v = _e110;
                }
                float _e116 = v;
                kis.inner[metal::min(unsigned((t_7 * MAX_KSB) + sb), 511u)] = _e116;
            }
        }
        metal::threadgroup_barrier(metal::mem_flags::mem_threadgroup);
    }
    uint _e121 = p(26u, P);
    uint grp = naga_div(lid, _e121);
    uint lane = naga_mod(lid, _e121);
    uint2 loop_bound_21 = uint2(4294967295u);
    bool loop_init_21 = true;
    while(true) {
        if (metal::all(loop_bound_21 == uint2(0u))) { break; }
        loop_bound_21 -= uint2(loop_bound_21.y == 0u, 1u);
        if (!loop_init_21) {
            uint _e138 = r;
            r = _e138 + 1u;
        }
        loop_init_21 = false;
        uint _e127 = r;
        if (_e127 < R) {
        } else {
            break;
        }
        {
            uint _e130 = r;
            uint _e134 = r;
            Slot _e136 = slot_of(wg_2, (grp * R) + _e134, P);
            slots.inner[metal::min(unsigned(_e130), 3u)] = _e136;
        }
    }
    uint2 loop_bound_22 = uint2(4294967295u);
    bool loop_init_22 = true;
    while(true) {
        if (metal::all(loop_bound_22 == uint2(0u))) { break; }
        loop_bound_22 -= uint2(loop_bound_22.y == 0u, 1u);
        if (!loop_init_22) {
            uint _e150 = i_1;
            i_1 = _e150 + 1u;
        }
        loop_init_22 = false;
        uint _e143 = i_1;
        if (_e143 < 4u) {
        } else {
            break;
        }
        {
            uint _e146 = i_1;
            acc.inner[metal::min(unsigned(_e146), 15u)] = 0.0;
        }
    }
    uint n_sub = naga_div(_e57, 32u);
    j = lane;
    uint2 loop_bound_23 = uint2(4294967295u);
    bool loop_init_23 = true;
    while(true) {
        if (metal::all(loop_bound_23 == uint2(0u))) { break; }
        loop_bound_23 -= uint2(loop_bound_23.y == 0u, 1u);
        if (!loop_init_23) {
            uint _e268 = j;
            j = _e268 + _e121;
        }
        loop_init_23 = false;
        uint _e155 = j;
        if (_e155 < n_sub) {
        } else {
            break;
        }
        {
            a = type_20 {};
            t_1 = 0u;
            uint2 loop_bound_24 = uint2(4294967295u);
            bool loop_init_24 = true;
            while(true) {
                if (metal::all(loop_bound_24 == uint2(0u))) { break; }
                loop_bound_24 -= uint2(loop_bound_24.y == 0u, 1u);
                if (!loop_init_24) {
                    uint _e207 = t_1;
                    t_1 = _e207 + 1u;
                }
                loop_init_24 = false;
                uint _e161 = t_1;
                if (_e161 < TILE_T) {
                } else {
                    break;
                }
                {
                    uint _e164 = t_1;
                    uint _e166 = ntile;
                    if (_e164 < _e166) {
                        xs = type_7 {};
                        i_2 = 0u;
                        uint2 loop_bound_25 = uint2(4294967295u);
                        bool loop_init_25 = true;
                        while(true) {
                            if (metal::all(loop_bound_25 == uint2(0u))) { break; }
                            loop_bound_25 -= uint2(loop_bound_25.y == 0u, 1u);
                            if (!loop_init_25) {
                                uint _e185 = i_2;
                                i_2 = _e185 + 1u;
                            }
                            loop_init_25 = false;
                            uint _e172 = i_2;
                            if (_e172 < 32u) {
                            } else {
                                break;
                            }
                            {
                                uint _e175 = i_2;
                                uint _e177 = t_1;
                                uint _e179 = j;
                                uint _e181 = i_2;
                                float _e183 = act_value(_e177, (32u * _e179) + _e181, x_4, P, smalls, nscale, tin0_, _buffer_sizes);
                                xs.inner[metal::min(unsigned(_e175), 31u)] = _e183;
                            }
                        }
                        if (KQ) {
                            uint _e188 = t_1;
                            type_7 _e190 = xs;
                            uint _e192 = t_1;
                            uint _e195 = j;
                            float _e200 = kis.inner[metal::min(unsigned((_e192 * MAX_KSB) + naga_div(_e195, 8u)), 511u)];
                            ASub _e201 = quant_q8_k(_e190, _e200);
                            a.inner[metal::min(unsigned(_e188), 0u)] = _e201;
                        } else {
                            uint _e202 = t_1;
                            type_7 _e204 = xs;
                            ASub _e205 = quant_q8_0_(_e204);
                            a.inner[metal::min(unsigned(_e202), 0u)] = _e205;
                        }
                    }
                }
            }
            r_1 = 0u;
            uint2 loop_bound_26 = uint2(4294967295u);
            bool loop_init_26 = true;
            while(true) {
                if (metal::all(loop_bound_26 == uint2(0u))) { break; }
                loop_bound_26 -= uint2(loop_bound_26.y == 0u, 1u);
                if (!loop_init_26) {
                    uint _e266 = r_1;
                    r_1 = _e266 + 1u;
                }
                loop_init_26 = false;
                uint _e211 = r_1;
                if (_e211 < R) {
                } else {
                    break;
                }
                {
                    uint _e214 = r_1;
                    Slot sl_1 = slots.inner[metal::min(unsigned(_e214), 3u)];
                    if (sl_1.valid) {
                        uint _e221 = p(8u + sl_1.seg, P);
                        uint _e225 = p(32u + sl_1.seg, P);
                        uint _e230 = p(16u + sl_1.seg, P);
                        uint rb_6 = _e225 + (sl_1.row * _e230);
                        w = WSub {};
                        if (KQ) {
                            uint _e236 = j;
                            WSub _e237 = wsub_decode_k(_e221, rb_6, _e236, wbuf, _buffer_sizes);
                            w = _e237;
                        } else {
                            uint _e238 = j;
                            WSub _e239 = wsub_decode_b32_(_e221, rb_6, _e238, wbuf, _buffer_sizes);
                            w = _e239;
                        }
                        t_2 = 0u;
                        uint2 loop_bound_27 = uint2(4294967295u);
                        bool loop_init_27 = true;
                        while(true) {
                            if (metal::all(loop_bound_27 == uint2(0u))) { break; }
                            loop_bound_27 -= uint2(loop_bound_27.y == 0u, 1u);
                            if (!loop_init_27) {
                                uint _e263 = t_2;
                                t_2 = _e263 + 1u;
                            }
                            loop_init_27 = false;
                            uint _e242 = t_2;
                            if (_e242 < TILE_T) {
                            } else {
                                break;
                            }
                            {
                                uint _e245 = t_2;
                                uint _e247 = ntile;
                                if (_e245 < _e247) {
                                    uint _e249 = r_1;
                                    uint _e252 = t_2;
                                    float _e255 = acc.inner[metal::min(unsigned((_e249 * TILE_T) + _e252), 15u)];
                                    WSub _e256 = w;
                                    uint _e257 = t_2;
                                    ASub _e259 = a.inner[metal::min(unsigned(_e257), 0u)];
                                    float _e260 = wsub_dot(_e221, _e256, _e259);
                                    acc.inner[metal::min(unsigned((_e249 * TILE_T) + _e252), 15u)] = _e255 + _e260;
                                }
                            }
                        }
                    }
                }
            }
        }
    }
    uint2 loop_bound_28 = uint2(4294967295u);
    bool loop_init_28 = true;
    while(true) {
        if (metal::all(loop_bound_28 == uint2(0u))) { break; }
        loop_bound_28 -= uint2(loop_bound_28.y == 0u, 1u);
        if (!loop_init_28) {
            uint _e289 = i_3;
            i_3 = _e289 + 1u;
        }
        loop_init_28 = false;
        uint _e272 = i_3;
        if (_e272 < 4u) {
        } else {
            break;
        }
        {
            uint _e280 = i_3;
            uint _e285 = i_3;
            float _e287 = acc.inner[metal::min(unsigned(_e285), 15u)];
            red.inner[metal::min(unsigned(((((grp * R) * TILE_T) + _e280) * _e121) + lane), 1023u)] = _e287;
        }
    }
    metal::threadgroup_barrier(metal::mem_flags::mem_threadgroup);
    uint n_fin = (naga_div(WG, _e121) * R) * TILE_T;
    i_4 = lid;
    uint2 loop_bound_29 = uint2(4294967295u);
    bool loop_init_29 = true;
    while(true) {
        if (metal::all(loop_bound_29 == uint2(0u))) { break; }
        loop_bound_29 -= uint2(loop_bound_29.y == 0u, 1u);
        if (!loop_init_29) {
            uint _e322 = i_4;
            i_4 = _e322 + WG;
        }
        loop_init_29 = false;
        uint _e298 = i_4;
        if (_e298 < n_fin) {
        } else {
            break;
        }
        {
            s = 0.0;
            k = 0u;
            uint2 loop_bound_30 = uint2(4294967295u);
            bool loop_init_30 = true;
            while(true) {
                if (metal::all(loop_bound_30 == uint2(0u))) { break; }
                loop_bound_30 -= uint2(loop_bound_30.y == 0u, 1u);
                if (!loop_init_30) {
                    uint _e316 = k;
                    k = _e316 + 1u;
                }
                loop_init_30 = false;
                uint _e304 = k;
                if (_e304 < _e121) {
                } else {
                    break;
                }
                {
                    float _e306 = s;
                    uint _e308 = i_4;
                    uint _e310 = k;
                    float _e313 = red.inner[metal::min(unsigned((_e308 * _e121) + _e310), 1023u)];
                    s = _e306 + _e313;
                }
            }
            uint _e319 = i_4;
            float _e321 = s;
            fin.inner[metal::min(unsigned(_e319), 1023u)] = _e321;
        }
    }
    metal::threadgroup_barrier(metal::mem_flags::mem_threadgroup);
    if (lid != 0u) {
        return;
    }
    uint _e328 = p(0u, P);
    uint n_slots = naga_div(WG, _e121) * R;
    uint2 loop_bound_31 = uint2(4294967295u);
    bool loop_init_31 = true;
    while(true) {
        if (metal::all(loop_bound_31 == uint2(0u))) { break; }
        loop_bound_31 -= uint2(loop_bound_31.y == 0u, 1u);
        if (!loop_init_31) {
            uint _e440 = t_3;
            t_3 = _e440 + 1u;
        }
        loop_init_31 = false;
        uint _e335 = t_3;
        uint _e337 = ntile;
        if (_e335 < _e337) {
        } else {
            break;
        }
        {
            uint _e340 = tout0_;
            uint _e341 = t_3;
            uint _e344 = p(5u, P);
            uint o_1 = (_e340 + _e341) * _e344;
            s0_ = 0u;
            uint2 loop_bound_32 = uint2(4294967295u);
            bool loop_init_32 = true;
            while(true) {
                if (metal::all(loop_bound_32 == uint2(0u))) { break; }
                loop_bound_32 -= uint2(loop_bound_32.y == 0u, 1u);
                if (!loop_init_32) {
                    uint _e436 = s0_;
                    s0_ = _e436 + R;
                }
                loop_init_32 = false;
                uint _e348 = s0_;
                if (_e348 < n_slots) {
                } else {
                    break;
                }
                {
                    if (_e328 == 3u) {
                        uint _e352 = s0_;
                        Slot _e353 = slot_of(wg_2, _e352, P);
                        if (_e353.valid) {
                            uint _e355 = s0_;
                            uint _e356 = t_3;
                            epilogue_qkv(wg_2, _e355, _e356, P, S, out, smalls, rope, kc, vc, fin, tout0_, _buffer_sizes);
                        }
                    } else {
                        if (_e328 == 2u) {
                            u = 0u;
                            uint2 loop_bound_33 = uint2(4294967295u);
                            bool loop_init_33 = true;
                            while(true) {
                                if (metal::all(loop_bound_33 == uint2(0u))) { break; }
                                loop_bound_33 -= uint2(loop_bound_33.y == 0u, 1u);
                                if (!loop_init_33) {
                                    uint _e397 = u;
                                    u = _e397 + 1u;
                                }
                                loop_init_33 = false;
                                uint _e361 = u;
                                if (_e361 < 2u) {
                                } else {
                                    break;
                                }
                                {
                                    uint _e364 = s0_;
                                    uint _e365 = u;
                                    Slot _e367 = slot_of(wg_2, _e364 + _e365, P);
                                    if (_e367.valid) {
                                        uint _e370 = s0_;
                                        uint _e371 = u;
                                        uint _e375 = t_3;
                                        float g_1 = fin.inner[metal::min(unsigned(((_e370 + _e371) * TILE_T) + _e375), 1023u)];
                                        uint _e380 = s0_;
                                        uint _e381 = u;
                                        uint _e387 = t_3;
                                        float up_2 = fin.inner[metal::min(unsigned((((_e380 + _e381) + 2u) * TILE_T) + _e387), 1023u)];
                                        float _e395 = swiglu(g_1, up_2);
                                        out[metal::min(unsigned(o_1 + _e367.unit), (_buffer_sizes.size5 - 0 - 4) / 4)] = _e395;
                                    }
                                }
                            }
                        } else {
                            uint _e399 = s0_;
                            r_2 = _e399;
                            uint2 loop_bound_34 = uint2(4294967295u);
                            bool loop_init_34 = true;
                            while(true) {
                                if (metal::all(loop_bound_34 == uint2(0u))) { break; }
                                loop_bound_34 -= uint2(loop_bound_34.y == 0u, 1u);
                                if (!loop_init_34) {
                                    uint _e434 = r_2;
                                    r_2 = _e434 + 1u;
                                }
                                loop_init_34 = false;
                                uint _e401 = r_2;
                                uint _e402 = s0_;
                                if (_e401 < (_e402 + R)) {
                                } else {
                                    break;
                                }
                                {
                                    uint _e406 = r_2;
                                    Slot _e407 = slot_of(wg_2, _e406, P);
                                    if (_e407.valid) {
                                        uint _e410 = r_2;
                                        uint _e413 = t_3;
                                        float _e416 = fin.inner[metal::min(unsigned((_e410 * TILE_T) + _e413), 1023u)];
                                        float _e419 = bias_at(0u, _e407.unit, P, smalls, _buffer_sizes);
                                        float v_6 = _e416 + _e419;
                                        if (_e328 == 1u) {
                                            float _e427 = out[metal::min(unsigned(o_1 + _e407.unit), (_buffer_sizes.size5 - 0 - 4) / 4)];
                                            out[metal::min(unsigned(o_1 + _e407.unit), (_buffer_sizes.size5 - 0 - 4) / 4)] = _e427 + v_6;
                                        } else {
                                            out[metal::min(unsigned(o_1 + _e407.unit), (_buffer_sizes.size5 - 0 - 4) / 4)] = v_6;
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
    return;
}

// Generated from kernels/gpu/shaders by naga 30 msl-out (tests/shaders.rs); do not edit.
// Module: get_rows
// language: metal3.0
#include <metal_stdlib>
#include <simd/simd.h>

using metal::uint;

struct _mslBufferSizes {
    uint size0;
    uint size1;
    uint size2;
    uint size3;
    uint size6;
    uint size7;
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
    metal::uint4 inner[8];
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
    bool local = {};
    bool local_1 = {};
    bool local_2 = {};
    bool local_3 = {};
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
    uint k_1
) {
    uint _e4 = 8u * k_1;
    return metal::extract_bits(as_type<int>(w), metal::min(_e4, 32u), metal::min(8u, 32u - metal::min(_e4, 32u)));
}

uint wword(
    uint seg_1,
    uint i,
    device type_4 const& w0_,
    device type_4 const& w1_,
    device type_4 const& w2_,
    device type_4 const& w3_,
    constant _mslBufferSizes& _buffer_sizes
) {
    switch(seg_1) {
        case 0u: {
            uint _e4 = w0_[metal::min(unsigned(i), (_buffer_sizes.size0 - 0 - 4) / 4)];
            return _e4;
        }
        case 1u: {
            uint _e7 = w1_[metal::min(unsigned(i), (_buffer_sizes.size1 - 0 - 4) / 4)];
            return _e7;
        }
        case 2u: {
            uint _e10 = w2_[metal::min(unsigned(i), (_buffer_sizes.size2 - 0 - 4) / 4)];
            return _e10;
        }
        default: {
            uint _e13 = w3_[metal::min(unsigned(i), (_buffer_sizes.size3 - 0 - 4) / 4)];
            return _e13;
        }
    }
}

uint wload(
    uint seg_2,
    uint b,
    device type_4 const& w0_,
    device type_4 const& w1_,
    device type_4 const& w2_,
    device type_4 const& w3_,
    constant _mslBufferSizes& _buffer_sizes
) {
    uint i_7 = b >> 2u;
    uint sh = (b & 3u) * 8u;
    uint _e8 = wword(seg_2, i_7, w0_, w1_, w2_, w3_, _buffer_sizes);
    if (sh == 0u) {
        return _e8;
    }
    uint _e13 = wword(seg_2, i_7 + 1u, w0_, w1_, w2_, w3_, _buffer_sizes);
    return (_e8 >> sh) | (_e13 << (32u - sh));
}

uint wbyte(
    uint seg_3,
    uint b_1,
    device type_4 const& w0_,
    device type_4 const& w1_,
    device type_4 const& w2_,
    device type_4 const& w3_,
    constant _mslBufferSizes& _buffer_sizes
) {
    uint _e4 = wword(seg_3, b_1 >> 2u, w0_, w1_, w2_, w3_, _buffer_sizes);
    return (_e4 >> ((b_1 & 3u) * 8u)) & 255u;
}

uint wu16_(
    uint seg_4,
    uint b_2,
    device type_4 const& w0_,
    device type_4 const& w1_,
    device type_4 const& w2_,
    device type_4 const& w3_,
    constant _mslBufferSizes& _buffer_sizes
) {
    uint _e2 = wload(seg_4, b_2, w0_, w1_, w2_, w3_, _buffer_sizes);
    return _e2 & 65535u;
}

float wf16_(
    uint seg_5,
    uint b_3,
    device type_4 const& w0_,
    device type_4 const& w1_,
    device type_4 const& w2_,
    device type_4 const& w3_,
    constant _mslBufferSizes& _buffer_sizes
) {
    uint _e2 = wu16_(seg_5, b_3, w0_, w1_, w2_, w3_, _buffer_sizes);
    float _e3 = f16_bits_to_f32_(_e2);
    return _e3;
}

uint spread4_(
    uint b_4
) {
    return ((((b_4 & 1u) | ((b_4 & 2u) << 7u)) | ((b_4 & 4u) << 14u)) | ((b_4 & 8u) << 21u)) << 4u;
}

WSub wsub_decode(
    uint ty,
    uint seg_6,
    uint rb,
    uint j,
    device type_4 const& w0_,
    device type_4 const& w1_,
    device type_4 const& w2_,
    device type_4 const& w3_,
    constant _mslBufferSizes& _buffer_sizes
) {
    WSub w_1 = {};
    uint k_2 = 0u;
    uint k_3 = 0u;
    uint k_4 = 0u;
    uint k_5 = 0u;
    uint i_1 = 0u;
    w_1.zp = 0;
    w_1.m = 0.0;
    w_1.sc0_ = 1;
    w_1.sc1_ = 0;
    switch(ty) {
        case 2u:
        case 3u: {
            bool q41_ = ty == 3u;
            uint off = rb + (j * (q41_ ? 20u : 18u));
            float _e21 = wf16_(seg_6, off, w0_, w1_, w2_, w3_, _buffer_sizes);
            w_1.d = _e21;
            uint qoff = off + (q41_ ? 4u : 2u);
            if (q41_) {
                float _e29 = wf16_(seg_6, off + 2u, w0_, w1_, w2_, w3_, _buffer_sizes);
                w_1.m = _e29;
            } else {
                w_1.zp = 8;
            }
            uint2 loop_bound = uint2(4294967295u);
            bool loop_init = true;
            while(true) {
                if (metal::all(loop_bound == uint2(0u))) { break; }
                loop_bound -= uint2(loop_bound.y == 0u, 1u);
                if (!loop_init) {
                    uint _e57 = k_2;
                    k_2 = _e57 + 1u;
                }
                loop_init = false;
                uint _e34 = k_2;
                if (_e34 < 4u) {
                } else {
                    break;
                }
                {
                    uint _e38 = k_2;
                    uint _e41 = wload(seg_6, qoff + (4u * _e38), w0_, w1_, w2_, w3_, _buffer_sizes);
                    uint _e43 = k_2;
                    w_1.u.inner[metal::min(unsigned(_e43), 7u)] = _e41 & 252645135u;
                    uint _e48 = k_2;
                    w_1.u.inner[metal::min(unsigned(_e48 + 4u), 7u)] = (_e41 >> 4u) & 252645135u;
                }
            }
            break;
        }
        case 6u: {
            uint off_1 = rb + (j * 22u);
            float _e63 = wf16_(seg_6, off_1, w0_, w1_, w2_, w3_, _buffer_sizes);
            w_1.d = _e63;
            uint _e66 = wload(seg_6, off_1 + 2u, w0_, w1_, w2_, w3_, _buffer_sizes);
            w_1.zp = 16;
            uint2 loop_bound_1 = uint2(4294967295u);
            bool loop_init_1 = true;
            while(true) {
                if (metal::all(loop_bound_1 == uint2(0u))) { break; }
                loop_bound_1 -= uint2(loop_bound_1.y == 0u, 1u);
                if (!loop_init_1) {
                    uint _e110 = k_3;
                    k_3 = _e110 + 1u;
                }
                loop_init_1 = false;
                uint _e71 = k_3;
                if (_e71 < 4u) {
                } else {
                    break;
                }
                {
                    uint _e77 = k_3;
                    uint _e80 = wload(seg_6, (off_1 + 6u) + (4u * _e77), w0_, w1_, w2_, w3_, _buffer_sizes);
                    uint _e82 = k_3;
                    uint _e87 = k_3;
                    uint _e90 = spread4_(_e66 >> (4u * _e87));
                    w_1.u.inner[metal::min(unsigned(_e82), 7u)] = (_e80 & 252645135u) | _e90;
                    uint _e93 = k_3;
                    uint _e103 = k_3;
                    uint _e107 = spread4_(_e66 >> (16u + (4u * _e103)));
                    w_1.u.inner[metal::min(unsigned(_e93 + 4u), 7u)] = ((_e80 >> 4u) & 252645135u) | _e107;
                }
            }
            break;
        }
        case 8u: {
            uint off_2 = rb + (j * 34u);
            float _e116 = wf16_(seg_6, off_2, w0_, w1_, w2_, w3_, _buffer_sizes);
            w_1.d = _e116;
            w_1.zp = 128;
            uint2 loop_bound_2 = uint2(4294967295u);
            bool loop_init_2 = true;
            while(true) {
                if (metal::all(loop_bound_2 == uint2(0u))) { break; }
                loop_bound_2 -= uint2(loop_bound_2.y == 0u, 1u);
                if (!loop_init_2) {
                    uint _e137 = k_4;
                    k_4 = _e137 + 1u;
                }
                loop_init_2 = false;
                uint _e121 = k_4;
                if (_e121 < 8u) {
                } else {
                    break;
                }
                {
                    uint _e125 = k_4;
                    uint _e130 = k_4;
                    uint _e133 = wload(seg_6, (off_2 + 2u) + (4u * _e130), w0_, w1_, w2_, w3_, _buffer_sizes);
                    w_1.u.inner[metal::min(unsigned(_e125), 7u)] = _e133 ^ 2155905152u;
                }
            }
            break;
        }
        case 12u: {
            uint s = j & 7u;
            uint off_3 = rb + ((j >> 3u) * 144u);
            float _e147 = wf16_(seg_6, off_3, w0_, w1_, w2_, w3_, _buffer_sizes);
            w_1.d = _e147;
            float _e151 = wf16_(seg_6, off_3 + 2u, w0_, w1_, w2_, w3_, _buffer_sizes);
            w_1.m = _e151;
            uint sc = off_3 + 4u;
            if (s < 4u) {
                uint _e158 = wbyte(seg_6, sc + s, w0_, w1_, w2_, w3_, _buffer_sizes);
                w_1.sc0_ = static_cast<int>(_e158 & 63u);
                uint _e166 = wbyte(seg_6, (sc + s) + 4u, w0_, w1_, w2_, w3_, _buffer_sizes);
                w_1.sc1_ = static_cast<int>(_e166 & 63u);
            } else {
                uint _e173 = wbyte(seg_6, (sc + s) + 4u, w0_, w1_, w2_, w3_, _buffer_sizes);
                uint _e180 = wbyte(seg_6, (sc + s) - 4u, w0_, w1_, w2_, w3_, _buffer_sizes);
                w_1.sc0_ = static_cast<int>((_e173 & 15u) | ((_e180 >> 6u) << 4u));
                uint _e191 = wbyte(seg_6, sc + s, w0_, w1_, w2_, w3_, _buffer_sizes);
                w_1.sc1_ = static_cast<int>((_e173 >> 4u) | ((_e191 >> 6u) << 4u));
            }
            uint qoff_1 = (off_3 + 16u) + (32u * (s >> 1u));
            uint sh_1 = 4u * (s & 1u);
            uint2 loop_bound_3 = uint2(4294967295u);
            bool loop_init_3 = true;
            while(true) {
                if (metal::all(loop_bound_3 == uint2(0u))) { break; }
                loop_bound_3 -= uint2(loop_bound_3.y == 0u, 1u);
                if (!loop_init_3) {
                    uint _e226 = k_5;
                    k_5 = _e226 + 1u;
                }
                loop_init_3 = false;
                uint _e211 = k_5;
                if (_e211 < 8u) {
                } else {
                    break;
                }
                {
                    uint _e215 = k_5;
                    uint _e218 = k_5;
                    uint _e221 = wload(seg_6, qoff_1 + (4u * _e218), w0_, w1_, w2_, w3_, _buffer_sizes);
                    w_1.u.inner[metal::min(unsigned(_e215), 7u)] = (_e221 >> sh_1) & 252645135u;
                }
            }
            break;
        }
        default: {
            uint s_1 = j & 7u;
            uint off_4 = rb + ((j >> 3u) * 210u);
            uint h_1 = s_1 >> 2u;
            uint k_8 = s_1 & 3u;
            uint loff = (off_4 + (64u * h_1)) + (32u * (k_8 & 1u));
            uint hoff = (off_4 + 128u) + (32u * h_1);
            uint lsh = 4u * (k_8 >> 1u);
            uint hsh = 2u * k_8;
            uint2 loop_bound_4 = uint2(4294967295u);
            bool loop_init_4 = true;
            while(true) {
                if (metal::all(loop_bound_4 == uint2(0u))) { break; }
                loop_bound_4 -= uint2(loop_bound_4.y == 0u, 1u);
                if (!loop_init_4) {
                    uint _e286 = i_1;
                    i_1 = _e286 + 1u;
                }
                loop_init_4 = false;
                uint _e260 = i_1;
                if (_e260 < 8u) {
                } else {
                    break;
                }
                {
                    uint _e264 = i_1;
                    uint _e267 = wload(seg_6, loff + (4u * _e264), w0_, w1_, w2_, w3_, _buffer_sizes);
                    uint lo_1 = (_e267 >> lsh) & 252645135u;
                    uint _e272 = i_1;
                    uint _e275 = wload(seg_6, hoff + (4u * _e272), w0_, w1_, w2_, w3_, _buffer_sizes);
                    uint hi_1 = ((_e275 >> hsh) & 50529027u) << 4u;
                    uint _e282 = i_1;
                    w_1.u.inner[metal::min(unsigned(_e282), 7u)] = lo_1 | hi_1;
                }
            }
            w_1.zp = 32;
            uint _e296 = wbyte(seg_6, (off_4 + 192u) + (2u * s_1), w0_, w1_, w2_, w3_, _buffer_sizes);
            w_1.sc0_ = metal::extract_bits(static_cast<int>(_e296), metal::min(0u, 32u), metal::min(8u, 32u - metal::min(0u, 32u)));
            uint _e307 = wbyte(seg_6, (off_4 + 193u) + (2u * s_1), w0_, w1_, w2_, w3_, _buffer_sizes);
            w_1.sc1_ = metal::extract_bits(static_cast<int>(_e307), metal::min(0u, 32u), metal::min(8u, 32u - metal::min(0u, 32u)));
            float _e315 = wf16_(seg_6, off_4 + 208u, w0_, w1_, w2_, w3_, _buffer_sizes);
            w_1.d = _e315;
            break;
        }
    }
    WSub _e316 = w_1;
    return _e316;
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
    uint ty_1,
    WSub w_2,
    ASub a
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
            int _e19 = dot4_us(w_2.u.inner[metal::min(unsigned(_e14), 7u)], a.q.inner[metal::min(unsigned(_e17), 7u)]);
            lo = as_type<int>(as_type<uint>(_e12) + as_type<uint>(_e19));
            int _e21 = hi;
            uint _e23 = k_6;
            uint _e28 = k_6;
            int _e32 = dot4_us(w_2.u.inner[metal::min(unsigned(_e23 + 4u), 7u)], a.q.inner[metal::min(unsigned(_e28 + 4u), 7u)]);
            hi = as_type<int>(as_type<uint>(_e21) + as_type<uint>(_e32));
        }
    }
    int _e37 = lo;
    lo = as_type<int>(as_type<uint>(_e37) - as_type<uint>(as_type<int>(as_type<uint>(w_2.zp) * as_type<uint>(a.sum_lo))));
    int _e42 = hi;
    hi = as_type<int>(as_type<uint>(_e42) - as_type<uint>(as_type<int>(as_type<uint>(w_2.zp) * as_type<uint>(a.sum_hi))));
    switch(ty_1) {
        case 3u: {
            int _e50 = lo;
            int _e51 = hi;
            return ((w_2.d * a.d) * static_cast<float>(as_type<int>(as_type<uint>(_e50) + as_type<uint>(_e51)))) + (w_2.m * a.s);
        }
        case 12u: {
            int _e63 = lo;
            int _e64 = hi;
            return ((w_2.d * a.d) * static_cast<float>(as_type<int>(as_type<uint>(w_2.sc0_) * as_type<uint>(as_type<int>(as_type<uint>(_e63) + as_type<uint>(_e64)))))) - ((w_2.m * a.d) * static_cast<float>(as_type<int>(as_type<uint>(w_2.sc1_) * as_type<uint>(as_type<int>(as_type<uint>(a.sum_lo) + as_type<uint>(a.sum_hi))))));
        }
        case 14u: {
            int _e84 = lo;
            int _e87 = hi;
            return (w_2.d * a.d) * static_cast<float>(as_type<int>(as_type<uint>(as_type<int>(as_type<uint>(w_2.sc0_) * as_type<uint>(_e84))) + as_type<uint>(as_type<int>(as_type<uint>(w_2.sc1_) * as_type<uint>(_e87)))));
        }
        default: {
            int _e92 = lo;
            int _e93 = hi;
            return static_cast<float>(as_type<int>(as_type<uint>(_e92) + as_type<uint>(_e93))) * (w_2.d * a.d);
        }
    }
}

uint naga_div(uint lhs, uint rhs) {
    return lhs / metal::select(rhs, 1u, rhs == 0u);
}

float wdequant(
    uint ty_2,
    uint seg_7,
    uint rb_1,
    uint e_1,
    device type_4 const& w0_,
    device type_4 const& w1_,
    device type_4 const& w2_,
    device type_4 const& w3_,
    constant _mslBufferSizes& _buffer_sizes
) {
    WSub _e6 = wsub_decode(ty_2, seg_7, rb_1, naga_div(e_1, 32u), w0_, w1_, w2_, w3_, _buffer_sizes);
    uint l = e_1 & 31u;
    int q = as_type<int>(as_type<uint>(static_cast<int>((_e6.u.inner[metal::min(unsigned(l >> 2u), 7u)] >> (8u * (l & 3u))) & 255u)) - as_type<uint>(_e6.zp));
    switch(ty_2) {
        case 3u: {
            return (static_cast<float>(q) * _e6.d) + _e6.m;
        }
        case 12u: {
            return ((_e6.d * static_cast<float>(_e6.sc0_)) * static_cast<float>(q)) - (_e6.m * static_cast<float>(_e6.sc1_));
        }
        case 14u: {
            return (_e6.d * static_cast<float>((l >= 16u) ? _e6.sc1_ : _e6.sc0_)) * static_cast<float>(q);
        }
        default: {
            return static_cast<float>(q) * _e6.d;
        }
    }
}

ASub pack_q(
    type_6 qs
) {
    ASub a_1 = {};
    uint k_7 = 0u;
    uint word = {};
    uint i_2 = {};
    a_1.sum_lo = 0;
    a_1.sum_hi = 0;
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
            i_2 = 0u;
            uint2 loop_bound_7 = uint2(4294967295u);
            bool loop_init_7 = true;
            while(true) {
                if (metal::all(loop_bound_7 == uint2(0u))) { break; }
                loop_bound_7 -= uint2(loop_bound_7.y == 0u, 1u);
                if (!loop_init_7) {
                    uint _e43 = i_2;
                    i_2 = _e43 + 1u;
                }
                loop_init_7 = false;
                uint _e15 = i_2;
                if (_e15 < 4u) {
                } else {
                    break;
                }
                {
                    uint _e19 = k_7;
                    uint _e21 = i_2;
                    int q_1 = qs.inner[metal::min(unsigned((4u * _e19) + _e21), 31u)];
                    uint _e24 = word;
                    uint _e29 = i_2;
                    word = _e24 | ((as_type<uint>(q_1) & 255u) << (8u * _e29));
                    uint _e33 = k_7;
                    if (_e33 < 4u) {
                        int _e37 = a_1.sum_lo;
                        a_1.sum_lo = as_type<int>(as_type<uint>(_e37) + as_type<uint>(q_1));
                    } else {
                        int _e40 = a_1.sum_hi;
                        a_1.sum_hi = as_type<int>(as_type<uint>(_e40) + as_type<uint>(q_1));
                    }
                }
            }
            uint _e46 = k_7;
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
    uint i_3 = 0u;
    type_6 qs_1 = {};
    int sum = 0;
    uint i_4 = 0u;
    ASub a_2 = {};
    uint2 loop_bound_8 = uint2(4294967295u);
    bool loop_init_8 = true;
    while(true) {
        if (metal::all(loop_bound_8 == uint2(0u))) { break; }
        loop_bound_8 -= uint2(loop_bound_8.y == 0u, 1u);
        if (!loop_init_8) {
            uint _e14 = i_3;
            i_3 = _e14 + 1u;
        }
        loop_init_8 = false;
        uint _e5 = i_3;
        if (_e5 < 32u) {
        } else {
            break;
        }
        {
            float _e8 = amax;
            uint _e9 = i_3;
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
            uint _e48 = i_4;
            i_4 = _e48 + 1u;
        }
        loop_init_9 = false;
        uint _e32 = i_4;
        if (_e32 < 32u) {
        } else {
            break;
        }
        {
            uint _e35 = i_4;
            int v_2 = naga_f2i32(metal::rint(x_2.inner[metal::min(unsigned(_e35), 31u)] * id));
            int _e40 = sum;
            sum = as_type<int>(as_type<uint>(_e40) + as_type<uint>(v_2));
            uint _e42 = i_4;
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
    uint i_5 = 0u;
    ASub a_3 = {};
    uint2 loop_bound_10 = uint2(4294967295u);
    bool loop_init_10 = true;
    while(true) {
        if (metal::all(loop_bound_10 == uint2(0u))) { break; }
        loop_bound_10 -= uint2(loop_bound_10.y == 0u, 1u);
        if (!loop_init_10) {
            uint _e18 = i_5;
            i_5 = _e18 + 1u;
        }
        loop_init_10 = false;
        uint _e5 = i_5;
        if (_e5 < 32u) {
        } else {
            break;
        }
        {
            uint _e8 = i_5;
            uint _e10 = i_5;
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
    uint i_6,
    constant type_9& P
) {
    uint _e8 = P.inner[metal::min(unsigned(i_6 >> 2u), 7u)][metal::min(unsigned(i_6 & 3u), 3u)];
    return _e8;
}

struct main_Input {
};
[[max_total_threads_per_threadgroup(64)]] kernel void main_(
  metal::uint3 wid [[threadgroup_position_in_grid]]
, uint lid [[thread_index_in_threadgroup]]
, device type_4 const& w0_ [[buffer(2)]]
, device type_4 const& w1_ [[buffer(3)]]
, device type_4 const& w2_ [[buffer(4)]]
, device type_4 const& w3_ [[buffer(5)]]
, constant type_9& P [[buffer(0)]]
, device type_4 const& ids [[buffer(6)]]
, device type_10& out [[buffer(7)]]
, constant _mslBufferSizes& _buffer_sizes [[buffer(8)]]
) {
    uint seg = 0u;
    uint k = 1u;
    uint e = {};
    uint t = wid.x;
    uint id_1 = ids[metal::min(unsigned(t), (_buffer_sizes.size6 - 0 - 4) / 4)];
    uint2 loop_bound_11 = uint2(4294967295u);
    bool loop_init_11 = true;
    while(true) {
        if (metal::all(loop_bound_11 == uint2(0u))) { break; }
        loop_bound_11 -= uint2(loop_bound_11.y == 0u, 1u);
        if (!loop_init_11) {
            uint _e21 = k;
            k = _e21 + 1u;
        }
        loop_init_11 = false;
        uint _e10 = k;
        uint _e12 = p(3u, P);
        if (_e10 < _e12) {
        } else {
            break;
        }
        {
            uint _e15 = k;
            uint _e17 = p(12u + _e15, P);
            if (id_1 >= _e17) {
                uint _e19 = k;
                seg = _e19;
            }
        }
    }
    uint _e24 = seg;
    uint _e26 = p(8u + _e24, P);
    uint _e28 = seg;
    uint _e30 = p(12u + _e28, P);
    uint _e33 = seg;
    uint _e35 = p(16u + _e33, P);
    uint rb_2 = (id_1 - _e30) * _e35;
    uint _e38 = p(1u, P);
    e = lid;
    uint2 loop_bound_12 = uint2(4294967295u);
    bool loop_init_12 = true;
    while(true) {
        if (metal::all(loop_bound_12 == uint2(0u))) { break; }
        loop_bound_12 -= uint2(loop_bound_12.y == 0u, 1u);
        if (!loop_init_12) {
            uint _e50 = e;
            e = _e50 + WG;
        }
        loop_init_12 = false;
        uint _e40 = e;
        if (_e40 < _e38) {
        } else {
            break;
        }
        {
            uint _e44 = e;
            uint _e47 = seg;
            uint _e48 = e;
            float _e49 = wdequant(_e26, _e47, rb_2, _e48, w0_, w1_, w2_, w3_, _buffer_sizes);
            out[metal::min(unsigned((t * _e38) + _e44), (_buffer_sizes.size7 - 0 - 4) / 4)] = _e49;
        }
    }
    return;
}

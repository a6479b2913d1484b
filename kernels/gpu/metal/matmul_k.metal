// Generated from kernels/gpu/shaders by naga 30 msl-out (tests/shaders.rs); do not edit.
// Module: matmul_k
// language: metal3.0
#include <metal_stdlib>
#include <simd/simd.h>

using metal::uint;

struct _mslBufferSizes {
    uint size0;
    uint size1;
    uint size2;
    uint size3;
    uint size4;
    uint size8;
    uint size9;
    uint size10;
    uint size11;
    uint size12;
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
    metal::uint4 inner[8];
};
struct type_13 {
    float inner[4];
};
struct type_14 {
    float inner[512];
};
struct type_15 {
    float inner[16];
};
struct Slot {
    bool valid;
    char _pad1[3];
    uint seg;
    uint row;
    uint unit;
    uint lp;
};
struct type_16 {
    Slot inner[4];
};
struct type_17 {
    float inner[2];
};
struct type_18 {
    uint inner[2];
};
struct type_20 {
    ASub inner[4];
};
constant uint WG = 64u;
constant uint TILE_T = 4u;
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
    uint w,
    uint k_1
) {
    uint _e4 = 8u * k_1;
    return metal::extract_bits(as_type<int>(w), metal::min(_e4, 32u), metal::min(8u, 32u - metal::min(_e4, 32u)));
}

uint wword(
    uint seg,
    uint i_4,
    device type_4 const& w0_,
    device type_4 const& w1_,
    device type_4 const& w2_,
    device type_4 const& w3_,
    constant _mslBufferSizes& _buffer_sizes
) {
    switch(seg) {
        case 0u: {
            uint _e4 = w0_[metal::min(unsigned(i_4), (_buffer_sizes.size0 - 0 - 4) / 4)];
            return _e4;
        }
        case 1u: {
            uint _e7 = w1_[metal::min(unsigned(i_4), (_buffer_sizes.size1 - 0 - 4) / 4)];
            return _e7;
        }
        case 2u: {
            uint _e10 = w2_[metal::min(unsigned(i_4), (_buffer_sizes.size2 - 0 - 4) / 4)];
            return _e10;
        }
        default: {
            uint _e13 = w3_[metal::min(unsigned(i_4), (_buffer_sizes.size3 - 0 - 4) / 4)];
            return _e13;
        }
    }
}

uint wload(
    uint seg_1,
    uint b,
    device type_4 const& w0_,
    device type_4 const& w1_,
    device type_4 const& w2_,
    device type_4 const& w3_,
    constant _mslBufferSizes& _buffer_sizes
) {
    uint i_13 = b >> 2u;
    uint sh = (b & 3u) * 8u;
    uint _e8 = wword(seg_1, i_13, w0_, w1_, w2_, w3_, _buffer_sizes);
    if (sh == 0u) {
        return _e8;
    }
    uint _e13 = wword(seg_1, i_13 + 1u, w0_, w1_, w2_, w3_, _buffer_sizes);
    return (_e8 >> sh) | (_e13 << (32u - sh));
}

uint wbyte(
    uint seg_2,
    uint b_1,
    device type_4 const& w0_,
    device type_4 const& w1_,
    device type_4 const& w2_,
    device type_4 const& w3_,
    constant _mslBufferSizes& _buffer_sizes
) {
    uint _e4 = wword(seg_2, b_1 >> 2u, w0_, w1_, w2_, w3_, _buffer_sizes);
    return (_e4 >> ((b_1 & 3u) * 8u)) & 255u;
}

uint wu16_(
    uint seg_3,
    uint b_2,
    device type_4 const& w0_,
    device type_4 const& w1_,
    device type_4 const& w2_,
    device type_4 const& w3_,
    constant _mslBufferSizes& _buffer_sizes
) {
    uint _e2 = wload(seg_3, b_2, w0_, w1_, w2_, w3_, _buffer_sizes);
    return _e2 & 65535u;
}

float wf16_(
    uint seg_4,
    uint b_3,
    device type_4 const& w0_,
    device type_4 const& w1_,
    device type_4 const& w2_,
    device type_4 const& w3_,
    constant _mslBufferSizes& _buffer_sizes
) {
    uint _e2 = wu16_(seg_4, b_3, w0_, w1_, w2_, w3_, _buffer_sizes);
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
    uint seg_5,
    uint rb,
    uint j_1,
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
    uint i_5 = 0u;
    w_1.zp = 0;
    w_1.m = 0.0;
    w_1.sc0_ = 1;
    w_1.sc1_ = 0;
    switch(ty) {
        case 2u:
        case 3u: {
            bool q41_ = ty == 3u;
            uint off = rb + (j_1 * (q41_ ? 20u : 18u));
            float _e21 = wf16_(seg_5, off, w0_, w1_, w2_, w3_, _buffer_sizes);
            w_1.d = _e21;
            uint qoff = off + (q41_ ? 4u : 2u);
            if (q41_) {
                float _e29 = wf16_(seg_5, off + 2u, w0_, w1_, w2_, w3_, _buffer_sizes);
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
                    uint _e41 = wload(seg_5, qoff + (4u * _e38), w0_, w1_, w2_, w3_, _buffer_sizes);
                    uint _e43 = k_2;
                    w_1.u.inner[metal::min(unsigned(_e43), 7u)] = _e41 & 252645135u;
                    uint _e48 = k_2;
                    w_1.u.inner[metal::min(unsigned(_e48 + 4u), 7u)] = (_e41 >> 4u) & 252645135u;
                }
            }
            break;
        }
        case 6u: {
            uint off_1 = rb + (j_1 * 22u);
            float _e63 = wf16_(seg_5, off_1, w0_, w1_, w2_, w3_, _buffer_sizes);
            w_1.d = _e63;
            uint _e66 = wload(seg_5, off_1 + 2u, w0_, w1_, w2_, w3_, _buffer_sizes);
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
                    uint _e80 = wload(seg_5, (off_1 + 6u) + (4u * _e77), w0_, w1_, w2_, w3_, _buffer_sizes);
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
            uint off_2 = rb + (j_1 * 34u);
            float _e116 = wf16_(seg_5, off_2, w0_, w1_, w2_, w3_, _buffer_sizes);
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
                    uint _e133 = wload(seg_5, (off_2 + 2u) + (4u * _e130), w0_, w1_, w2_, w3_, _buffer_sizes);
                    w_1.u.inner[metal::min(unsigned(_e125), 7u)] = _e133 ^ 2155905152u;
                }
            }
            break;
        }
        case 12u: {
            uint s_3 = j_1 & 7u;
            uint off_3 = rb + ((j_1 >> 3u) * 144u);
            float _e147 = wf16_(seg_5, off_3, w0_, w1_, w2_, w3_, _buffer_sizes);
            w_1.d = _e147;
            float _e151 = wf16_(seg_5, off_3 + 2u, w0_, w1_, w2_, w3_, _buffer_sizes);
            w_1.m = _e151;
            uint sc = off_3 + 4u;
            if (s_3 < 4u) {
                uint _e158 = wbyte(seg_5, sc + s_3, w0_, w1_, w2_, w3_, _buffer_sizes);
                w_1.sc0_ = static_cast<int>(_e158 & 63u);
                uint _e166 = wbyte(seg_5, (sc + s_3) + 4u, w0_, w1_, w2_, w3_, _buffer_sizes);
                w_1.sc1_ = static_cast<int>(_e166 & 63u);
            } else {
                uint _e173 = wbyte(seg_5, (sc + s_3) + 4u, w0_, w1_, w2_, w3_, _buffer_sizes);
                uint _e180 = wbyte(seg_5, (sc + s_3) - 4u, w0_, w1_, w2_, w3_, _buffer_sizes);
                w_1.sc0_ = static_cast<int>((_e173 & 15u) | ((_e180 >> 6u) << 4u));
                uint _e191 = wbyte(seg_5, sc + s_3, w0_, w1_, w2_, w3_, _buffer_sizes);
                w_1.sc1_ = static_cast<int>((_e173 >> 4u) | ((_e191 >> 6u) << 4u));
            }
            uint qoff_1 = (off_3 + 16u) + (32u * (s_3 >> 1u));
            uint sh_1 = 4u * (s_3 & 1u);
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
                    uint _e221 = wload(seg_5, qoff_1 + (4u * _e218), w0_, w1_, w2_, w3_, _buffer_sizes);
                    w_1.u.inner[metal::min(unsigned(_e215), 7u)] = (_e221 >> sh_1) & 252645135u;
                }
            }
            break;
        }
        default: {
            uint s_4 = j_1 & 7u;
            uint off_4 = rb + ((j_1 >> 3u) * 210u);
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
                    uint _e286 = i_5;
                    i_5 = _e286 + 1u;
                }
                loop_init_4 = false;
                uint _e260 = i_5;
                if (_e260 < 8u) {
                } else {
                    break;
                }
                {
                    uint _e264 = i_5;
                    uint _e267 = wload(seg_5, loff + (4u * _e264), w0_, w1_, w2_, w3_, _buffer_sizes);
                    uint lo_1 = (_e267 >> lsh) & 252645135u;
                    uint _e272 = i_5;
                    uint _e275 = wload(seg_5, hoff + (4u * _e272), w0_, w1_, w2_, w3_, _buffer_sizes);
                    uint hi_1 = ((_e275 >> hsh) & 50529027u) << 4u;
                    uint _e282 = i_5;
                    w_1.u.inner[metal::min(unsigned(_e282), 7u)] = lo_1 | hi_1;
                }
            }
            w_1.zp = 32;
            uint _e296 = wbyte(seg_5, (off_4 + 192u) + (2u * s_4), w0_, w1_, w2_, w3_, _buffer_sizes);
            w_1.sc0_ = metal::extract_bits(static_cast<int>(_e296), metal::min(0u, 32u), metal::min(8u, 32u - metal::min(0u, 32u)));
            uint _e307 = wbyte(seg_5, (off_4 + 193u) + (2u * s_4), w0_, w1_, w2_, w3_, _buffer_sizes);
            w_1.sc1_ = metal::extract_bits(static_cast<int>(_e307), metal::min(0u, 32u), metal::min(8u, 32u - metal::min(0u, 32u)));
            float _e315 = wf16_(seg_5, off_4 + 208u, w0_, w1_, w2_, w3_, _buffer_sizes);
            w_1.d = _e315;
            break;
        }
    }
    WSub _e316 = w_1;
    return _e316;
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
    uint ty_1,
    WSub w_2,
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
            int _e19 = dot4_us(w_2.u.inner[metal::min(unsigned(_e14), 7u)], a_1.q.inner[metal::min(unsigned(_e17), 7u)]);
            lo = as_type<int>(as_type<uint>(_e12) + as_type<uint>(_e19));
            int _e21 = hi;
            uint _e23 = k_6;
            uint _e28 = k_6;
            int _e32 = dot4_us(w_2.u.inner[metal::min(unsigned(_e23 + 4u), 7u)], a_1.q.inner[metal::min(unsigned(_e28 + 4u), 7u)]);
            hi = as_type<int>(as_type<uint>(_e21) + as_type<uint>(_e32));
        }
    }
    int _e37 = lo;
    lo = as_type<int>(as_type<uint>(_e37) - as_type<uint>(as_type<int>(as_type<uint>(w_2.zp) * as_type<uint>(a_1.sum_lo))));
    int _e42 = hi;
    hi = as_type<int>(as_type<uint>(_e42) - as_type<uint>(as_type<int>(as_type<uint>(w_2.zp) * as_type<uint>(a_1.sum_hi))));
    switch(ty_1) {
        case 3u: {
            int _e50 = lo;
            int _e51 = hi;
            return ((w_2.d * a_1.d) * static_cast<float>(as_type<int>(as_type<uint>(_e50) + as_type<uint>(_e51)))) + (w_2.m * a_1.s);
        }
        case 12u: {
            int _e63 = lo;
            int _e64 = hi;
            return ((w_2.d * a_1.d) * static_cast<float>(as_type<int>(as_type<uint>(w_2.sc0_) * as_type<uint>(as_type<int>(as_type<uint>(_e63) + as_type<uint>(_e64)))))) - ((w_2.m * a_1.d) * static_cast<float>(as_type<int>(as_type<uint>(w_2.sc1_) * as_type<uint>(as_type<int>(as_type<uint>(a_1.sum_lo) + as_type<uint>(a_1.sum_hi))))));
        }
        case 14u: {
            int _e84 = lo;
            int _e87 = hi;
            return (w_2.d * a_1.d) * static_cast<float>(as_type<int>(as_type<uint>(as_type<int>(as_type<uint>(w_2.sc0_) * as_type<uint>(_e84))) + as_type<uint>(as_type<int>(as_type<uint>(w_2.sc1_) * as_type<uint>(_e87)))));
        }
        default: {
            int _e92 = lo;
            int _e93 = hi;
            return static_cast<float>(as_type<int>(as_type<uint>(_e92) + as_type<uint>(_e93))) * (w_2.d * a_1.d);
        }
    }
}

uint naga_div(uint lhs, uint rhs) {
    return lhs / metal::select(rhs, 1u, rhs == 0u);
}

float wdequant(
    uint ty_2,
    uint seg_6,
    uint rb_1,
    uint e,
    device type_4 const& w0_,
    device type_4 const& w1_,
    device type_4 const& w2_,
    device type_4 const& w3_,
    constant _mslBufferSizes& _buffer_sizes
) {
    WSub _e6 = wsub_decode(ty_2, seg_6, rb_1, naga_div(e, 32u), w0_, w1_, w2_, w3_, _buffer_sizes);
    uint l = e & 31u;
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
            float v_4 = x_4[metal::min(unsigned(base + _e10), (_buffer_sizes.size4 - 0 - 4) / 4)];
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
    uint _e8 = P.inner[metal::min(unsigned(i_10 >> 2u), 7u)][metal::min(unsigned(i_10 & 3u), 3u)];
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
    float v_5 = x_4[metal::min(unsigned(((_e4 + t_4) * _e7) + k_9), (_buffer_sizes.size4 - 0 - 4) / 4)];
    uint _e13 = p(6u, P);
    if (_e13 == NONE) {
        return v_5;
    }
    float _e18 = nscale.inner[metal::min(unsigned(t_4), 3u)];
    float _e23 = smalls[metal::min(unsigned(_e13 + k_9), (_buffer_sizes.size9 - 0 - 4) / 4)];
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
    uint rb_2 = {};
    uint _e4 = p(0u, P);
    if (_e4 <= 1u) {
        sl.unit = (wg * R) + r_3;
        uint _e13 = sl.unit;
        uint _e14 = seg_of(_e13, P);
        sl.seg = _e14;
        uint _e17 = sl.unit;
        uint _e20 = sl.seg;
        uint _e22 = p(12u + _e20, P);
        sl.row = _e17 - _e22;
    } else {
        sl.unit = (wg * 2u) + naga_mod(r_3, 2u);
        uint which = naga_div(r_3, 2u);
        if (_e4 == 2u) {
            sl.seg = which;
            uint _e37 = sl.unit;
            sl.row = _e37;
        } else {
            uint _e40 = sl.unit;
            uint _e41 = seg_of(_e40, P);
            sl.seg = _e41;
            uint _e44 = sl.unit;
            uint _e47 = sl.seg;
            uint _e49 = p(12u + _e47, P);
            sl.lp = _e44 - _e49;
            uint _e53 = sl.lp;
            ra = 2u * _e53;
            uint _e56 = ra;
            rb_2 = _e56 + 1u;
            uint _e61 = sl.seg;
            if (_e61 < 2u) {
                uint _e65 = p(24u, P);
                uint half_1 = naga_div(_e65, 2u);
                uint _e69 = sl.lp;
                uint head = naga_div(_e69, half_1);
                uint _e72 = sl.lp;
                uint i_14 = naga_mod(_e72, half_1);
                uint _e75 = p(25u, P);
                if (_e75 != 0u) {
                    ra = (head * _e65) + i_14;
                    uint _e80 = ra;
                    rb_2 = _e80 + half_1;
                } else {
                    ra = (head * _e65) + (2u * i_14);
                    uint _e86 = ra;
                    rb_2 = _e86 + 1u;
                }
            }
            uint _e90 = ra;
            uint _e91 = rb_2;
            sl.row = (which == 1u) ? _e91 : _e90;
        }
    }
    uint _e97 = sl.unit;
    uint _e99 = p(2u, P);
    sl.valid = _e97 < _e99;
    Slot _e101 = sl;
    return _e101;
}

float bias_at(
    uint seg_7,
    uint i_12,
    constant type_12& P,
    device type_8 const& smalls,
    constant _mslBufferSizes& _buffer_sizes
) {
    uint _e4 = p(20u + seg_7, P);
    if (_e4 == NONE) {
        return 0.0;
    }
    float _e11 = smalls[metal::min(unsigned(_e4 + i_12), (_buffer_sizes.size9 - 0 - 4) / 4)];
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
    type_16 slots_1,
    uint t_6,
    constant type_12& P,
    constant metal::uint4& S,
    device type_8& out,
    device type_8 const& smalls,
    device type_8 const& rope,
    device type_4& kc,
    device type_4& vc,
    threadgroup type_15& fin,
    thread uint& tout0_,
    constant _mslBufferSizes& _buffer_sizes
) {
    type_17 va = {};
    type_17 vb = {};
    type_18 ra_1 = {};
    type_18 rb_3 = {};
    uint u_3 = 0u;
    float a_7 = {};
    float b_8 = {};
    uint u_4 = 0u;
    bool local_4 = {};
    uint u_5 = 0u;
    uint _e3 = p(24u, P);
    uint half_2 = naga_div(_e3, 2u);
    uint _e8 = S.x;
    uint _e10 = tout0_;
    uint pos = (_e8 + _e10) + t_6;
    uint _e14 = p(30u, P);
    uint seg_8 = slots_1.inner[0].seg;
    uint2 loop_bound_15 = uint2(4294967295u);
    bool loop_init_15 = true;
    while(true) {
        if (metal::all(loop_bound_15 == uint2(0u))) { break; }
        loop_bound_15 -= uint2(loop_bound_15.y == 0u, 1u);
        if (!loop_init_15) {
            uint _e96 = u_3;
            u_3 = _e96 + 1u;
        }
        loop_init_15 = false;
        uint _e23 = u_3;
        if (_e23 < 2u) {
        } else {
            break;
        }
        {
            uint _e26 = u_3;
            uint _e28 = u_3;
            ra_1.inner[metal::min(unsigned(_e26), 1u)] = slots_1.inner[metal::min(unsigned(_e28), 3u)].row;
            uint _e31 = u_3;
            uint _e33 = u_3;
            rb_3.inner[metal::min(unsigned(_e31), 1u)] = slots_1.inner[metal::min(unsigned(_e33 + 2u), 3u)].row;
            uint _e39 = u_3;
            float _e44 = fin.inner[metal::min(unsigned((_e39 * TILE_T) + t_6), 15u)];
            uint _e45 = u_3;
            uint _e47 = ra_1.inner[metal::min(unsigned(_e45), 1u)];
            float _e48 = bias_at(seg_8, _e47, P, smalls, _buffer_sizes);
            a_7 = _e44 + _e48;
            uint _e52 = u_3;
            float _e59 = fin.inner[metal::min(unsigned(((_e52 + 2u) * TILE_T) + t_6), 15u)];
            uint _e60 = u_3;
            uint _e62 = rb_3.inner[metal::min(unsigned(_e60), 1u)];
            float _e63 = bias_at(seg_8, _e62, P, smalls, _buffer_sizes);
            b_8 = _e59 + _e63;
            if (seg_8 < 2u) {
                uint _e68 = u_3;
                uint i_15 = naga_mod(slots_1.inner[metal::min(unsigned(_e68), 3u)].lp, half_2);
                uint cs = (pos * _e3) + (2u * i_15);
                float _e76 = a_7;
                float _e77 = b_8;
                float _e80 = rope[metal::min(unsigned(cs), (_buffer_sizes.size10 - 0 - 4) / 4)];
                float _e85 = rope[metal::min(unsigned(cs + 1u), (_buffer_sizes.size10 - 0 - 4) / 4)];
                metal::float2 _e86 = rope_pair(_e76, _e77, _e80, _e85);
                a_7 = _e86.x;
                b_8 = _e86.y;
            }
            uint _e89 = u_3;
            float _e91 = a_7;
            va.inner[metal::min(unsigned(_e89), 1u)] = _e91;
            uint _e92 = u_3;
            float _e94 = b_8;
            vb.inner[metal::min(unsigned(_e92), 1u)] = _e94;
        }
    }
    if (seg_8 == 0u) {
        uint _e101 = tout0_;
        uint _e104 = p(5u, P);
        uint o = (_e101 + t_6) * _e104;
        uint2 loop_bound_16 = uint2(4294967295u);
        bool loop_init_16 = true;
        while(true) {
            if (metal::all(loop_bound_16 == uint2(0u))) { break; }
            loop_bound_16 -= uint2(loop_bound_16.y == 0u, 1u);
            if (!loop_init_16) {
                uint _e130 = u_4;
                u_4 = _e130 + 1u;
            }
            loop_init_16 = false;
            uint _e108 = u_4;
            if (_e108 < 2u) {
            } else {
                break;
            }
            {
                uint _e112 = u_4;
                uint _e114 = ra_1.inner[metal::min(unsigned(_e112), 1u)];
                uint _e117 = u_4;
                float _e119 = va.inner[metal::min(unsigned(_e117), 1u)];
                out[metal::min(unsigned(o + _e114), (_buffer_sizes.size8 - 0 - 4) / 4)] = _e119;
                uint _e121 = u_4;
                uint _e123 = rb_3.inner[metal::min(unsigned(_e121), 1u)];
                uint _e126 = u_4;
                float _e128 = vb.inner[metal::min(unsigned(_e126), 1u)];
                out[metal::min(unsigned(o + _e123), (_buffer_sizes.size8 - 0 - 4) / 4)] = _e128;
            }
        }
        return;
    }
    uint base_1 = naga_div(pos * _e14, 2u);
    if (seg_8 == 1u) {
        uint _e140 = p(25u, P);
        local_4 = _e140 != 0u;
    } else {
        local_4 = false;
    }
    bool _e144 = local_4;
    if (_e144) {
        uint _e147 = ra_1.inner[0];
        float _e153 = va.inner[0];
        float _e155 = va.inner[1];
        uint _e156 = pack_f16x2_(_e153, _e155);
        kc[metal::min(unsigned(base_1 + naga_div(_e147, 2u)), (_buffer_sizes.size11 - 0 - 4) / 4)] = _e156;
        uint _e159 = rb_3.inner[0];
        float _e165 = vb.inner[0];
        float _e167 = vb.inner[1];
        uint _e168 = pack_f16x2_(_e165, _e167);
        kc[metal::min(unsigned(base_1 + naga_div(_e159, 2u)), (_buffer_sizes.size11 - 0 - 4) / 4)] = _e168;
        return;
    }
    uint2 loop_bound_17 = uint2(4294967295u);
    bool loop_init_17 = true;
    while(true) {
        if (metal::all(loop_bound_17 == uint2(0u))) { break; }
        loop_bound_17 -= uint2(loop_bound_17.y == 0u, 1u);
        if (!loop_init_17) {
            uint _e200 = u_5;
            u_5 = _e200 + 1u;
        }
        loop_init_17 = false;
        uint _e171 = u_5;
        if (_e171 < 2u) {
        } else {
            break;
        }
        {
            uint _e174 = u_5;
            float _e176 = va.inner[metal::min(unsigned(_e174), 1u)];
            uint _e177 = u_5;
            float _e179 = vb.inner[metal::min(unsigned(_e177), 1u)];
            uint _e180 = pack_f16x2_(_e176, _e179);
            if (seg_8 == 1u) {
                uint _e184 = u_5;
                uint _e186 = ra_1.inner[metal::min(unsigned(_e184), 1u)];
                kc[metal::min(unsigned(base_1 + naga_div(_e186, 2u)), (_buffer_sizes.size11 - 0 - 4) / 4)] = _e180;
            } else {
                uint _e192 = u_5;
                uint _e194 = ra_1.inner[metal::min(unsigned(_e192), 1u)];
                vc[metal::min(unsigned(base_1 + naga_div(_e194, 2u)), (_buffer_sizes.size12 - 0 - 4) / 4)] = _e180;
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
, device type_4 const& w0_ [[buffer(2)]]
, device type_4 const& w1_ [[buffer(3)]]
, device type_4 const& w2_ [[buffer(4)]]
, device type_4 const& w3_ [[buffer(5)]]
, device type_8 const& x_4 [[buffer(6)]]
, threadgroup type_9& red
, constant type_12& P [[buffer(0)]]
, constant metal::uint4& S [[buffer(1)]]
, device type_8& out [[buffer(7)]]
, device type_8 const& smalls [[buffer(8)]]
, device type_8 const& rope [[buffer(9)]]
, device type_4& kc [[buffer(10)]]
, device type_4& vc [[buffer(11)]]
, threadgroup type_13& nscale
, threadgroup type_14& kis
, threadgroup type_15& fin
, constant _mslBufferSizes& _buffer_sizes [[buffer(12)]]
) {
    uint tin0_ = {};
    uint ntile = {};
    uint tout0_ = {};
    if (lid == 0u) {
        red = {};
        nscale = {};
        kis = {};
        fin = {};
    }
    metal::threadgroup_barrier(metal::mem_flags::mem_threadgroup);
    uint t = 0u;
    uint i = {};
    float v = {};
    type_16 slots = {};
    uint r = 0u;
    type_15 acc = {};
    uint i_1 = 0u;
    uint j = {};
    type_20 a = {};
    uint t_1 = {};
    type_7 xs = {};
    uint i_2 = {};
    uint r_1 = {};
    uint t_2 = {};
    uint i_3 = 0u;
    float s = 0.0;
    uint k = 0u;
    uint t_3 = 0u;
    uint u = {};
    uint r_2 = {};
    uint _e5 = p(28u, P);
    uint wg_1 = wid.x + (wid.y * _e5);
    uint n_step = S.y;
    uint _e12 = p(27u, P);
    if (_e12 != 0u) {
        tin0_ = n_step - 1u;
        ntile = 1u;
        tout0_ = 0u;
    } else {
        tin0_ = wid.z * TILE_T;
        uint _e29 = tin0_;
        ntile = metal::min(TILE_T, n_step - _e29);
        uint _e34 = tin0_;
        tout0_ = _e34;
    }
    uint _e36 = p(1u, P);
    uint _e38 = p(6u, P);
    if (_e38 != NONE) {
        uint2 loop_bound_18 = uint2(4294967295u);
        bool loop_init_18 = true;
        while(true) {
            if (metal::all(loop_bound_18 == uint2(0u))) { break; }
            loop_bound_18 -= uint2(loop_bound_18.y == 0u, 1u);
            if (!loop_init_18) {
                uint _e68 = t;
                t = _e68 + 1u;
            }
            loop_init_18 = false;
            uint _e43 = t;
            if (_e43 < TILE_T) {
            } else {
                break;
            }
            {
                uint _e47 = tin0_;
                uint _e48 = t;
                uint _e50 = ntile;
                uint _e56 = p(4u, P);
                uint _e59 = p(7u, P);
                float _e61 = rms_scale((_e47 + metal::min(_e48, _e50 - 1u)) * _e56, _e36, as_type<float>(_e59), lid, x_4, red, _buffer_sizes);
                if (lid == 0u) {
                    uint _e65 = t;
                    nscale.inner[metal::min(unsigned(_e65), 3u)] = _e61;
                }
            }
        }
        metal::threadgroup_barrier(metal::mem_flags::mem_threadgroup);
    }
    if (KQ) {
        uint n_sb = naga_div(_e36, 256u);
        i = lid;
        uint2 loop_bound_19 = uint2(4294967295u);
        bool loop_init_19 = true;
        while(true) {
            if (metal::all(loop_bound_19 == uint2(0u))) { break; }
            loop_bound_19 -= uint2(loop_bound_19.y == 0u, 1u);
            if (!loop_init_19) {
                uint _e96 = i;
                i = _e96 + WG;
            }
            loop_init_19 = false;
            uint _e74 = i;
            if (_e74 < (TILE_T * n_sb)) {
            } else {
                break;
            }
            {
                uint _e78 = i;
                uint t_7 = naga_div(_e78, n_sb);
                uint _e80 = i;
                uint sb = naga_mod(_e80, n_sb);
                v = 0.0;
                uint _e85 = ntile;
                if (t_7 < _e85) {
                    float _e89 = q8k_iscale(t_7, sb * 256u, x_4, P, smalls, nscale, tin0_, _buffer_sizes);
                    v = _e89;
                }
                float _e95 = v;
                kis.inner[metal::min(unsigned((t_7 * MAX_KSB) + sb), 511u)] = _e95;
            }
        }
        metal::threadgroup_barrier(metal::mem_flags::mem_threadgroup);
    }
    uint2 loop_bound_20 = uint2(4294967295u);
    bool loop_init_20 = true;
    while(true) {
        if (metal::all(loop_bound_20 == uint2(0u))) { break; }
        loop_bound_20 -= uint2(loop_bound_20.y == 0u, 1u);
        if (!loop_init_20) {
            uint _e110 = r;
            r = _e110 + 1u;
        }
        loop_init_20 = false;
        uint _e102 = r;
        if (_e102 < R) {
        } else {
            break;
        }
        {
            uint _e105 = r;
            uint _e107 = r;
            Slot _e108 = slot_of(wg_1, _e107, P);
            slots.inner[metal::min(unsigned(_e105), 3u)] = _e108;
        }
    }
    uint2 loop_bound_21 = uint2(4294967295u);
    bool loop_init_21 = true;
    while(true) {
        if (metal::all(loop_bound_21 == uint2(0u))) { break; }
        loop_bound_21 -= uint2(loop_bound_21.y == 0u, 1u);
        if (!loop_init_21) {
            uint _e122 = i_1;
            i_1 = _e122 + 1u;
        }
        loop_init_21 = false;
        uint _e115 = i_1;
        if (_e115 < 16u) {
        } else {
            break;
        }
        {
            uint _e118 = i_1;
            acc.inner[metal::min(unsigned(_e118), 15u)] = 0.0;
        }
    }
    uint n_sub = naga_div(_e36, 32u);
    j = lid;
    uint2 loop_bound_22 = uint2(4294967295u);
    bool loop_init_22 = true;
    while(true) {
        if (metal::all(loop_bound_22 == uint2(0u))) { break; }
        loop_bound_22 -= uint2(loop_bound_22.y == 0u, 1u);
        if (!loop_init_22) {
            uint _e224 = j;
            j = _e224 + WG;
        }
        loop_init_22 = false;
        uint _e127 = j;
        if (_e127 < n_sub) {
        } else {
            break;
        }
        {
            a = type_20 {};
            t_1 = 0u;
            uint2 loop_bound_23 = uint2(4294967295u);
            bool loop_init_23 = true;
            while(true) {
                if (metal::all(loop_bound_23 == uint2(0u))) { break; }
                loop_bound_23 -= uint2(loop_bound_23.y == 0u, 1u);
                if (!loop_init_23) {
                    uint _e176 = t_1;
                    t_1 = _e176 + 1u;
                }
                loop_init_23 = false;
                uint _e133 = t_1;
                uint _e135 = ntile;
                if (_e133 < _e135) {
                } else {
                    break;
                }
                {
                    xs = type_7 {};
                    i_2 = 0u;
                    uint2 loop_bound_24 = uint2(4294967295u);
                    bool loop_init_24 = true;
                    while(true) {
                        if (metal::all(loop_bound_24 == uint2(0u))) { break; }
                        loop_bound_24 -= uint2(loop_bound_24.y == 0u, 1u);
                        if (!loop_init_24) {
                            uint _e154 = i_2;
                            i_2 = _e154 + 1u;
                        }
                        loop_init_24 = false;
                        uint _e141 = i_2;
                        if (_e141 < 32u) {
                        } else {
                            break;
                        }
                        {
                            uint _e144 = i_2;
                            uint _e146 = t_1;
                            uint _e148 = j;
                            uint _e150 = i_2;
                            float _e152 = act_value(_e146, (32u * _e148) + _e150, x_4, P, smalls, nscale, tin0_, _buffer_sizes);
                            xs.inner[metal::min(unsigned(_e144), 31u)] = _e152;
                        }
                    }
                    if (KQ) {
                        uint _e157 = t_1;
                        type_7 _e159 = xs;
                        uint _e161 = t_1;
                        uint _e164 = j;
                        float _e169 = kis.inner[metal::min(unsigned((_e161 * MAX_KSB) + naga_div(_e164, 8u)), 511u)];
                        ASub _e170 = quant_q8_k(_e159, _e169);
                        a.inner[metal::min(unsigned(_e157), 3u)] = _e170;
                    } else {
                        uint _e171 = t_1;
                        type_7 _e173 = xs;
                        ASub _e174 = quant_q8_0_(_e173);
                        a.inner[metal::min(unsigned(_e171), 3u)] = _e174;
                    }
                }
            }
            r_1 = 0u;
            uint2 loop_bound_25 = uint2(4294967295u);
            bool loop_init_25 = true;
            while(true) {
                if (metal::all(loop_bound_25 == uint2(0u))) { break; }
                loop_bound_25 -= uint2(loop_bound_25.y == 0u, 1u);
                if (!loop_init_25) {
                    uint _e222 = r_1;
                    r_1 = _e222 + 1u;
                }
                loop_init_25 = false;
                uint _e180 = r_1;
                if (_e180 < R) {
                } else {
                    break;
                }
                {
                    uint _e183 = r_1;
                    Slot sl_1 = slots.inner[metal::min(unsigned(_e183), 3u)];
                    if (sl_1.valid) {
                        uint _e190 = p(8u + sl_1.seg, P);
                        uint _e196 = p(16u + sl_1.seg, P);
                        uint _e198 = j;
                        WSub _e199 = wsub_decode(_e190, sl_1.seg, sl_1.row * _e196, _e198, w0_, w1_, w2_, w3_, _buffer_sizes);
                        t_2 = 0u;
                        uint2 loop_bound_26 = uint2(4294967295u);
                        bool loop_init_26 = true;
                        while(true) {
                            if (metal::all(loop_bound_26 == uint2(0u))) { break; }
                            loop_bound_26 -= uint2(loop_bound_26.y == 0u, 1u);
                            if (!loop_init_26) {
                                uint _e219 = t_2;
                                t_2 = _e219 + 1u;
                            }
                            loop_init_26 = false;
                            uint _e202 = t_2;
                            uint _e204 = ntile;
                            if (_e202 < _e204) {
                            } else {
                                break;
                            }
                            {
                                uint _e206 = r_1;
                                uint _e209 = t_2;
                                float _e212 = acc.inner[metal::min(unsigned((_e206 * TILE_T) + _e209), 15u)];
                                uint _e213 = t_2;
                                ASub _e215 = a.inner[metal::min(unsigned(_e213), 3u)];
                                float _e216 = wsub_dot(_e190, _e199, _e215);
                                acc.inner[metal::min(unsigned((_e206 * TILE_T) + _e209), 15u)] = _e212 + _e216;
                            }
                        }
                    }
                }
            }
        }
    }
    uint2 loop_bound_27 = uint2(4294967295u);
    bool loop_init_27 = true;
    while(true) {
        if (metal::all(loop_bound_27 == uint2(0u))) { break; }
        loop_bound_27 -= uint2(loop_bound_27.y == 0u, 1u);
        if (!loop_init_27) {
            uint _e242 = i_3;
            i_3 = _e242 + 1u;
        }
        loop_init_27 = false;
        uint _e229 = i_3;
        if (_e229 < 16u) {
        } else {
            break;
        }
        {
            uint _e233 = i_3;
            uint _e238 = i_3;
            float _e240 = acc.inner[metal::min(unsigned(_e238), 15u)];
            red.inner[metal::min(unsigned((_e233 * WG) + lid), 1023u)] = _e240;
        }
    }
    metal::threadgroup_barrier(metal::mem_flags::mem_threadgroup);
    if (lid < 16u) {
        uint2 loop_bound_28 = uint2(4294967295u);
        bool loop_init_28 = true;
        while(true) {
            if (metal::all(loop_bound_28 == uint2(0u))) { break; }
            loop_bound_28 -= uint2(loop_bound_28.y == 0u, 1u);
            if (!loop_init_28) {
                uint _e263 = k;
                k = _e263 + 1u;
            }
            loop_init_28 = false;
            uint _e250 = k;
            if (_e250 < WG) {
            } else {
                break;
            }
            {
                float _e253 = s;
                uint _e257 = k;
                float _e260 = red.inner[metal::min(unsigned((lid * WG) + _e257), 1023u)];
                s = _e253 + _e260;
            }
        }
        float _e267 = s;
        fin.inner[metal::min(unsigned(lid), 15u)] = _e267;
    }
    metal::threadgroup_barrier(metal::mem_flags::mem_threadgroup);
    if (lid != 0u) {
        return;
    }
    uint _e271 = p(0u, P);
    uint2 loop_bound_29 = uint2(4294967295u);
    bool loop_init_29 = true;
    while(true) {
        if (metal::all(loop_bound_29 == uint2(0u))) { break; }
        loop_bound_29 -= uint2(loop_bound_29.y == 0u, 1u);
        if (!loop_init_29) {
            uint _e369 = t_3;
            t_3 = _e369 + 1u;
        }
        loop_init_29 = false;
        uint _e274 = t_3;
        uint _e276 = ntile;
        if (_e274 < _e276) {
        } else {
            break;
        }
        {
            uint _e279 = tout0_;
            uint _e280 = t_3;
            uint _e283 = p(5u, P);
            uint o_1 = (_e279 + _e280) * _e283;
            if (_e271 == 3u) {
                bool _e289 = slots.inner[0].valid;
                if (_e289) {
                    type_16 _e290 = slots;
                    uint _e291 = t_3;
                    epilogue_qkv(_e290, _e291, P, S, out, smalls, rope, kc, vc, fin, tout0_, _buffer_sizes);
                }
            } else {
                if (_e271 == 2u) {
                    u = 0u;
                    uint2 loop_bound_30 = uint2(4294967295u);
                    bool loop_init_30 = true;
                    while(true) {
                        if (metal::all(loop_bound_30 == uint2(0u))) { break; }
                        loop_bound_30 -= uint2(loop_bound_30.y == 0u, 1u);
                        if (!loop_init_30) {
                            uint _e330 = u;
                            u = _e330 + 1u;
                        }
                        loop_init_30 = false;
                        uint _e296 = u;
                        if (_e296 < 2u) {
                        } else {
                            break;
                        }
                        {
                            uint _e299 = u;
                            bool _e302 = slots.inner[metal::min(unsigned(_e299), 3u)].valid;
                            if (_e302) {
                                uint _e304 = u;
                                uint _e307 = t_3;
                                float g_1 = fin.inner[metal::min(unsigned((_e304 * TILE_T) + _e307), 15u)];
                                uint _e312 = u;
                                uint _e317 = t_3;
                                float up_2 = fin.inner[metal::min(unsigned(((_e312 + 2u) * TILE_T) + _e317), 15u)];
                                uint _e322 = u;
                                uint _e325 = slots.inner[metal::min(unsigned(_e322), 3u)].unit;
                                float _e328 = swiglu(g_1, up_2);
                                out[metal::min(unsigned(o_1 + _e325), (_buffer_sizes.size8 - 0 - 4) / 4)] = _e328;
                            }
                        }
                    }
                } else {
                    r_2 = 0u;
                    uint2 loop_bound_31 = uint2(4294967295u);
                    bool loop_init_31 = true;
                    while(true) {
                        if (metal::all(loop_bound_31 == uint2(0u))) { break; }
                        loop_bound_31 -= uint2(loop_bound_31.y == 0u, 1u);
                        if (!loop_init_31) {
                            uint _e366 = r_2;
                            r_2 = _e366 + 1u;
                        }
                        loop_init_31 = false;
                        uint _e334 = r_2;
                        if (_e334 < R) {
                        } else {
                            break;
                        }
                        {
                            uint _e337 = r_2;
                            Slot sl_2 = slots.inner[metal::min(unsigned(_e337), 3u)];
                            if (sl_2.valid) {
                                uint _e342 = r_2;
                                uint _e345 = t_3;
                                float _e348 = fin.inner[metal::min(unsigned((_e342 * TILE_T) + _e345), 15u)];
                                float _e351 = bias_at(0u, sl_2.unit, P, smalls, _buffer_sizes);
                                float v_6 = _e348 + _e351;
                                if (_e271 == 1u) {
                                    float _e359 = out[metal::min(unsigned(o_1 + sl_2.unit), (_buffer_sizes.size8 - 0 - 4) / 4)];
                                    out[metal::min(unsigned(o_1 + sl_2.unit), (_buffer_sizes.size8 - 0 - 4) / 4)] = _e359 + v_6;
                                } else {
                                    out[metal::min(unsigned(o_1 + sl_2.unit), (_buffer_sizes.size8 - 0 - 4) / 4)] = v_6;
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

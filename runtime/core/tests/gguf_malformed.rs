//! Hand-made malformed GGUF buffers: each must be refused with its own error variant
//! (never a panic, never a huge allocation).

use bague::gguf::writer::{Val, array_header, encode_str};
use bague::gguf::{Error, ErrorKind, File, GgmlType, ValueType, Writer};

fn err(bytes: &[u8]) -> Error {
    match File::parse(bytes) {
        Ok(_) => panic!("parse accepted a malformed file"),
        Err(e) => {
            // Every error renders (no panic in Display) and has a kind.
            assert!(!e.to_string().is_empty());
            let _ = e.kind();
            e
        }
    }
}

fn assert_truncated(bytes: &[u8], what: &str) {
    match err(bytes) {
        Error::Truncated {
            what: w,
            offset,
            needed,
            available,
        } => {
            assert_eq!(w, what);
            assert!(
                needed > available,
                "{what}: needed {needed} <= available {available}"
            );
            assert_eq!(offset + available, bytes.len() as u64, "{what}");
        }
        e => panic!("expected Truncated {{ what: {what} }}, got {e:?}"),
    }
}

/// Header with the given counts (v3).
fn header(n_tensors: u64, n_kv: u64) -> Vec<u8> {
    let mut v = b"GGUF".to_vec();
    v.extend_from_slice(&3u32.to_le_bytes());
    v.extend_from_slice(&n_tensors.to_le_bytes());
    v.extend_from_slice(&n_kv.to_le_bytes());
    v
}

/// Header for one metadata entry `key` of type `ty`, followed by `payload`.
fn one_kv(key: &[u8], ty: u32, payload: &[u8]) -> Vec<u8> {
    let mut v = header(0, 1);
    encode_str(&mut v, key);
    v.extend_from_slice(&ty.to_le_bytes());
    v.extend_from_slice(payload);
    v
}

/// A file with one tensor entry given raw.
fn one_tensor(name: &[u8], n_dims: u32, dims: &[u64], ty: u32, offset: u64) -> Vec<u8> {
    let mut w = Writer::new();
    w.tensor_raw(name, n_dims, dims, ty, offset);
    w.data(&[0u8; 64]);
    w.finish()
}

#[test]
fn truncated_in_each_header_field() {
    assert_truncated(b"", "magic");
    assert_truncated(b"GG", "magic");
    assert_truncated(b"GGUF\x03\x00", "version");
    assert_truncated(&header(0, 0)[..12], "tensor count");
    assert_truncated(&header(0, 0)[..20], "metadata count");
    // n_kv = 1 and nothing after the header.
    assert_truncated(&header(0, 1), "key length");
    assert_truncated(&[header(0, 1), vec![5, 0, 0]].concat(), "key length");
    assert_truncated(
        &[header(0, 1), 10u64.to_le_bytes().to_vec(), b"abc".to_vec()].concat(),
        "key",
    );
    let mut v = header(0, 1);
    encode_str(&mut v, b"k");
    v.extend_from_slice(&[7, 0]);
    assert_truncated(&v, "value type");
}

#[test]
fn truncated_in_each_value_type() {
    let cases = [
        (ValueType::U8, "u8 value"),
        (ValueType::I8, "i8 value"),
        (ValueType::U16, "u16 value"),
        (ValueType::I16, "i16 value"),
        (ValueType::U32, "u32 value"),
        (ValueType::I32, "i32 value"),
        (ValueType::F32, "f32 value"),
        (ValueType::Bool, "bool value"),
        (ValueType::U64, "u64 value"),
        (ValueType::I64, "i64 value"),
        (ValueType::F64, "f64 value"),
    ];
    for (ty, what) in cases {
        let size = ty.fixed_size().unwrap();
        // every strictly shorter payload, including the empty one
        for n in 0..size {
            assert_truncated(&one_kv(b"k", ty as u32, &vec![1u8; n]), what);
        }
    }
    // string: length, then bytes
    assert_truncated(&one_kv(b"k", 8, &[3, 0, 0, 0]), "string length");
    assert_truncated(
        &one_kv(
            b"k",
            8,
            &[[5u8, 0, 0, 0, 0, 0, 0, 0].as_slice(), b"ab"].concat(),
        ),
        "string value",
    );
    // array: element type, length, data
    assert_truncated(&one_kv(b"k", 9, &[4, 0]), "array element type");
    assert_truncated(&one_kv(b"k", 9, &[4, 0, 0, 0, 2, 0, 0]), "array length");
    let mut a = Vec::new();
    array_header(&mut a, ValueType::U32 as u32, 4);
    a.extend_from_slice(&[0u8; 12]);
    assert_truncated(&one_kv(b"k", 9, &a), "array data");
    // array of strings cut inside the second string
    let mut a = Vec::new();
    array_header(&mut a, ValueType::Str as u32, 2);
    encode_str(&mut a, b"hello");
    a.extend_from_slice(&[9, 0, 0, 0, 0, 0, 0, 0, b'x']);
    assert_truncated(&one_kv(b"k", 9, &a), "string value");
    // array of arrays cut inside the inner header
    let mut a = Vec::new();
    array_header(&mut a, ValueType::Array as u32, 1);
    a.extend_from_slice(&[4, 0, 0, 0, 1]);
    assert_truncated(&one_kv(b"k", 9, &a), "array length");
}

#[test]
fn truncated_in_each_tensor_field() {
    let full = one_tensor(b"tensor", 2, &[4, 3], GgmlType::F32 as u32, 0);
    let t0 = 24; // no metadata: the tensor table starts after the header
    let cases = [
        (t0 + 3, "tensor name length"),
        (t0 + 8 + 2, "tensor name"),
        (t0 + 14 + 1, "tensor n_dims"),
        (t0 + 18 + 4, "tensor dims"),
        (t0 + 18 + 8 + 5, "tensor dims"),
        (t0 + 34 + 3, "tensor type"),
        (t0 + 38 + 7, "tensor offset"),
    ];
    for (cut, what) in cases {
        assert_truncated(&full[..cut], what);
    }
    // one byte more than the table parses
    assert!(File::parse(&full[..t0 + 46]).is_ok());
    // two tensors announced, one present (then only padding)
    let mut w = Writer::new();
    w.tensor_raw(b"a", 1, &[1], 0, 0).counts(Some(2), None);
    assert_truncated(&w.finish(), "tensor name length");
}

#[test]
fn bad_magic_and_versions() {
    assert_eq!(err(b"GGML\x03\0\0\0"), Error::BadMagic(*b"GGML"));
    for v in [0u32, 1, 4, u32::MAX] {
        let mut b = header(0, 0);
        b[4..8].copy_from_slice(&v.to_le_bytes());
        assert_eq!(err(&b), Error::UnsupportedVersion(v));
    }
    // a big-endian v3 file: the message says so
    let mut b = header(0, 0);
    b[4..8].copy_from_slice(&3u32.to_be_bytes());
    let e = err(&b);
    assert_eq!(e, Error::UnsupportedVersion(0x0300_0000));
    assert!(e.to_string().contains("big-endian"), "{e}");
    assert_eq!(e.kind(), ErrorKind::Unsupported);
    // v2 is read
    let mut w = Writer::new();
    w.version(2).kv("a", Val::U8(1));
    assert_eq!(File::parse(&w.finish()).unwrap().version(), 2);
}

#[test]
fn huge_counts_are_refused_before_any_allocation() {
    assert_eq!(
        err(&header(1 << 63, 0)),
        Error::TooManyItems {
            what: "tensor count",
            count: 1 << 63,
            max: 1 << 16,
        }
    );
    assert!(matches!(
        err(&header(70_000, 0)),
        Error::TooManyItems {
            what: "tensor count",
            ..
        }
    ));
    assert!(matches!(
        err(&header(0, u64::MAX)),
        Error::TooManyItems {
            what: "metadata count",
            ..
        }
    ));
    // under the caps but far more than the bytes: truncated at the first missing entry
    assert!(matches!(
        err(&header(65_536, 0)),
        Error::Truncated {
            what: "tensor name length",
            ..
        }
    ));
    assert!(matches!(
        err(&header(0, 65_536)),
        Error::Truncated {
            what: "key length",
            ..
        }
    ));
}

#[test]
fn lengths_past_the_end() {
    // string length 2^60
    let e = err(&one_kv(b"k", 8, &(1u64 << 60).to_le_bytes()));
    assert!(
        matches!(e, Error::Truncated { what: "string value", needed, .. } if needed == 1 << 60),
        "{e:?}"
    );
    // key length u64::MAX
    let mut b = header(0, 1);
    b.extend_from_slice(&u64::MAX.to_le_bytes());
    assert!(matches!(
        err(&b),
        Error::Truncated {
            what: "key",
            needed: u64::MAX,
            ..
        }
    ));
    // array of 2^40 u64
    let mut a = Vec::new();
    array_header(&mut a, ValueType::U64 as u32, 1 << 40);
    a.extend_from_slice(&[0u8; 64]);
    let e = err(&one_kv(b"k", 9, &a));
    assert!(
        matches!(e, Error::Truncated { what: "array data", needed, .. } if needed == 8 << 40),
        "{e:?}"
    );
    // array of 2^62 u64: the byte size itself overflows
    let mut a = Vec::new();
    array_header(&mut a, ValueType::U64 as u32, 1 << 62);
    assert_eq!(
        err(&one_kv(b"k", 9, &a)),
        Error::Overflow {
            what: "array byte size"
        }
    );
    // array of 2^40 strings stops at the first missing one
    let mut a = Vec::new();
    array_header(&mut a, ValueType::Str as u32, 1 << 40);
    encode_str(&mut a, b"one");
    assert!(matches!(
        err(&one_kv(b"k", 9, &a)),
        Error::Truncated {
            what: "string length",
            ..
        }
    ));
}

#[test]
fn unknown_types() {
    let e = err(&one_kv(b"key.x", 99, &[0; 8]));
    assert_eq!(e.to_string(), "key key.x: unknown GGUF value type 99");
    assert!(matches!(e, Error::UnknownValueType { key, ty: 99 } if key == "key.x"));
    // unknown array element type
    let mut a = Vec::new();
    array_header(&mut a, 13, 0);
    assert!(matches!(
        err(&one_kv(b"arr", 9, &a)),
        Error::UnknownValueType { ty: 13, .. }
    ));
    // unknown and removed (Q4_2 = 4) tensor types
    for ty in [99u32, 4, 31] {
        let e = err(&one_tensor(b"w", 1, &[32], ty, 0));
        assert!(
            matches!(e, Error::UnknownTensorType { name, ty: t } if name == "w" && t == ty),
            "{e:?}"
        );
    }
}

#[test]
fn dims_and_sizes_that_overflow() {
    let f32_ = GgmlType::F32 as u32;
    let overflow = Error::Overflow {
        what: "tensor element count",
    };
    // product overflows u64
    assert_eq!(
        err(&one_tensor(b"w", 3, &[1 << 32, 1 << 32, 2], f32_, 0)),
        overflow
    );
    // product fits u64 but not i64 (ggml's element count type)
    assert_eq!(
        err(&one_tensor(b"w", 2, &[1 << 32, 1 << 31], f32_, 0)),
        overflow
    );
    // a single dim above i64::MAX
    assert_eq!(
        err(&one_tensor(b"w", 1, &[u64::MAX], GgmlType::I8 as u32, 0)),
        overflow
    );
    // a zero row length does not hide an overflowing row count
    assert_eq!(
        err(&one_tensor(b"w", 3, &[0, 1 << 40, 1 << 40], f32_, 0)),
        overflow
    );
    // elements fit i64, bytes do not fit u64
    assert_eq!(
        err(&one_tensor(b"w", 1, &[1 << 61], GgmlType::F64 as u32, 0)),
        Error::Overflow {
            what: "tensor byte size"
        }
    );
    // offset + size overflows
    assert_eq!(
        err(&one_tensor(b"w", 1, &[64], f32_, !31u64)),
        Error::Overflow {
            what: "tensor data end"
        }
    );
    // data offset + (offset + size) overflows
    assert_eq!(
        err(&one_tensor(b"w", 1, &[0], f32_, !31u64)),
        Error::Overflow {
            what: "tensor data end"
        }
    );
}

#[test]
fn tensor_data_past_the_end_is_found_on_access() {
    let mut w = Writer::new();
    w.tensor("ok", GgmlType::F32, &[8], &[0; 32]);
    w.tensor_raw(
        b"blk.3.ffn_up.weight",
        2,
        &[32, 4],
        GgmlType::F32 as u32,
        4096,
    );
    let bytes = w.finish();
    let f = File::parse(&bytes).unwrap(); // header is complete: parse succeeds
    let t = f.tensor("blk.3.ffn_up.weight").unwrap();
    let start = f.data_offset() + 4096;
    let want = Error::TensorOutOfBounds {
        name: bague::gguf::Name::new("blk.3.ffn_up.weight"),
        start,
        end: start + 512,
        file_len: bytes.len() as u64,
    };
    assert_eq!(f.tensor_data(&t), Err(want));
    assert_eq!(f.check_tensor_data(), Err(want));
    assert_eq!(
        want.to_string(),
        format!(
            "truncated: tensor blk.3.ffn_up.weight needs bytes {start}..{}, file has {}",
            start + 512,
            bytes.len()
        )
    );
    assert_eq!(want.kind(), ErrorKind::Truncated);
    assert_eq!(f.tensor_data(&f.tensor("ok").unwrap()).unwrap().len(), 32);
}

#[test]
fn misaligned_offsets() {
    assert_eq!(
        err(&one_tensor(b"w", 1, &[1], GgmlType::F32 as u32, 4)),
        Error::MisalignedTensor {
            name: bague::gguf::Name::new("w"),
            offset: 4,
            alignment: 32,
        }
    );
    let mut w = Writer::new();
    w.alignment(64).tensor_raw(b"w", 1, &[1], 0, 32);
    assert!(matches!(
        err(&w.finish()),
        Error::MisalignedTensor {
            offset: 32,
            alignment: 64,
            ..
        }
    ));
}

#[test]
fn bad_dim_counts() {
    for n in [0u32, 5, u32::MAX] {
        let e = err(&one_tensor(b"w", n, &[1, 1, 1, 1, 1], 0, 0));
        assert!(
            matches!(e, Error::BadDims { name, n_dims } if name == "w" && n_dims == n),
            "{e:?}"
        );
    }
}

#[test]
fn row_length_not_a_block_multiple() {
    let e = err(&one_tensor(b"q", 2, &[33, 2], GgmlType::Q4_0 as u32, 0));
    assert!(
        matches!(
            e,
            Error::DimsNotBlockMultiple {
                ne0: 33,
                block: 32,
                ..
            }
        ),
        "{e:?}"
    );
    let e = err(&one_tensor(b"q", 2, &[128, 2], GgmlType::Q4_K as u32, 0));
    assert!(
        matches!(
            e,
            Error::DimsNotBlockMultiple {
                ne0: 128,
                block: 256,
                ..
            }
        ),
        "{e:?}"
    );
}

#[test]
fn duplicates() {
    let mut w = Writer::new();
    w.kv("b", Val::U8(1))
        .kv("a", Val::U8(1))
        .kv("c", Val::U8(1))
        .kv("a", Val::Str("x"));
    assert!(matches!(err(&w.finish()), Error::DuplicateKey(k) if k == "a"));
    let mut w = Writer::new();
    w.tensor("x", GgmlType::F32, &[1], &[0; 4])
        .tensor("y", GgmlType::F32, &[1], &[0; 4]);
    w.tensor("x", GgmlType::F32, &[1], &[0; 4]);
    assert!(matches!(err(&w.finish()), Error::DuplicateTensor(n) if n == "x"));
}

#[test]
fn invalid_utf8() {
    let b = one_kv(b"bad\xff", 0, &[1]);
    assert_eq!(
        err(&b),
        Error::InvalidUtf8 {
            what: "key",
            offset: 32
        }
    );
    let e = err(&one_kv(
        b"k",
        8,
        &[[2u8, 0, 0, 0, 0, 0, 0, 0].as_slice(), b"\xc3\x28"].concat(),
    ));
    assert_eq!(
        e,
        Error::InvalidUtf8 {
            what: "string value",
            offset: 24 + 9 + 4 + 8
        }
    );
    let mut a = Vec::new();
    array_header(&mut a, ValueType::Str as u32, 2);
    encode_str(&mut a, b"fine");
    encode_str(&mut a, b"\xed\xa0\x80"); // a UTF-16 surrogate
    assert!(matches!(
        err(&one_kv(b"k", 9, &a)),
        Error::InvalidUtf8 {
            what: "string value",
            ..
        }
    ));
    assert!(matches!(
        err(&one_tensor(b"w\x80", 1, &[1], 0, 0)),
        Error::InvalidUtf8 {
            what: "tensor name",
            ..
        }
    ));
}

#[test]
fn bad_alignment() {
    for a in [0u32, 3, 48, u32::MAX] {
        let mut w = Writer::new();
        w.kv("general.alignment", Val::U32(a));
        assert_eq!(err(&w.finish()), Error::BadAlignment(a.into()));
    }
    let mut w = Writer::new();
    w.kv("general.alignment", Val::Str("32"));
    assert!(
        matches!(err(&w.finish()), Error::WrongType { key, expected: "u32", found: "string" } if key == "general.alignment")
    );
    let mut w = Writer::new();
    w.kv("general.alignment", Val::I32(-32));
    assert!(matches!(err(&w.finish()), Error::ValueOutOfRange { .. }));
    // i32 / u64 alignments that fit are accepted
    let mut w = Writer::new();
    w.kv("general.alignment", Val::U64(64));
    assert_eq!(File::parse(&w.finish()).unwrap().alignment(), 64);
}

/// `depth` nested arrays with a u8 at the bottom.
fn nested(depth: u32) -> Vec<u8> {
    let mut payload = Vec::new();
    for _ in 0..depth - 1 {
        array_header(&mut payload, ValueType::Array as u32, 1);
    }
    array_header(&mut payload, ValueType::U8 as u32, 1);
    payload.push(7);
    one_kv(b"deep", 9, &payload)
}

#[test]
fn nesting_depth_is_capped() {
    let f_bytes = nested(8);
    let f = File::parse(&f_bytes).unwrap();
    let mut v = f.get("deep").unwrap();
    for _ in 0..7 {
        v = v.as_array().unwrap().iter().next().unwrap();
    }
    assert_eq!(v.as_array().unwrap().get(0).unwrap().as_u32(), Some(7));
    let e = err(&nested(9));
    assert!(
        matches!(e, Error::NestingTooDeep { key, depth: 9 } if key == "deep"),
        "{e:?}"
    );
    assert_eq!(e.kind(), ErrorKind::LimitExceeded);
    // a long chain: refused at the cap, not by a stack overflow
    assert!(matches!(
        err(&nested(100_000)),
        Error::NestingTooDeep { depth: 9, .. }
    ));
}

#[test]
fn getter_errors_name_the_key() {
    let mut w = Writer::new();
    w.kv("neg", Val::I32(-1))
        .kv("big", Val::U64(1 << 40))
        .kv("s", Val::Str("x"))
        .kv("arr", Val::U32Array(&[1, 2]));
    let bytes = w.finish();
    let f = File::parse(&bytes).unwrap();
    let e = f.get_u32("missing.key").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::MissingKey);
    assert_eq!(e.to_string(), "metadata key missing.key is missing");
    assert!(matches!(
        f.get_u32("neg"),
        Err(Error::ValueOutOfRange {
            expected: "u32",
            ..
        })
    ));
    assert!(matches!(
        f.get_u32("big"),
        Err(Error::ValueOutOfRange { .. })
    ));
    assert_eq!(f.get_u64("big").unwrap(), 1 << 40);
    assert_eq!(f.get_i64("neg").unwrap(), -1);
    assert!(matches!(
        f.get_u64("neg"),
        Err(Error::ValueOutOfRange { .. })
    ));
    let e = f.get_f32("s").unwrap_err();
    assert_eq!(e.to_string(), "metadata key s: expected f32, found string");
    assert_eq!(e.kind(), ErrorKind::WrongType);
    assert!(matches!(f.get_bool("s"), Err(Error::WrongType { .. })));
    assert!(matches!(
        f.get_str("arr"),
        Err(Error::WrongType {
            found: "array of u32",
            ..
        })
    ));
    assert!(matches!(f.get_array("s"), Err(Error::WrongType { .. })));
    let e = f.get_str_array("arr").unwrap_err();
    assert_eq!(
        e.to_string(),
        "metadata key arr: expected array of string, found array of u32"
    );
    assert!(f.get_array("arr").unwrap().iter_f32().is_none());
}

#[test]
fn long_names_in_errors_are_cut_at_a_char_boundary() {
    let key = "é".repeat(100);
    let mut w = Writer::new();
    w.kv(&key, Val::U8(1)).kv(&key, Val::U8(2));
    match err(&w.finish()) {
        Error::DuplicateKey(n) => {
            assert!(n.is_truncated());
            assert_eq!(n.as_str(), "é".repeat(32));
            assert!(n.to_string().ends_with('…'));
        }
        e => panic!("{e:?}"),
    }
}

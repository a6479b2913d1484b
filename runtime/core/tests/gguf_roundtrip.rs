//! Files written by `gguf::Writer` read back exactly: every value type, nested arrays,
//! versions 2 and 3, custom alignments, tensor data.

use bague::gguf::writer::Val;
use bague::gguf::{File, GgmlType, Value, ValueType, Writer};

fn all_types(w: &mut Writer) {
    w.kv("u8", Val::U8(0xfe))
        .kv("i8", Val::I8(-128))
        .kv("u16", Val::U16(0xbeef))
        .kv("i16", Val::I16(-2))
        .kv("u32", Val::U32(u32::MAX))
        .kv("i32", Val::I32(i32::MIN))
        .kv("f32", Val::F32(-1.5e-7))
        .kv("bool.t", Val::Bool(true))
        .kv("bool.f", Val::Bool(false))
        .kv("str", Val::Str("héllo ⟨think⟩ 🦀"))
        .kv("str.empty", Val::Str(""))
        .kv("u64", Val::U64(u64::MAX - 1))
        .kv("i64", Val::I64(i64::MIN + 1))
        .kv("f64", Val::F64(core::f64::consts::PI))
        .kv("nan", Val::F32(f32::from_bits(0x7fc0_1234)))
        .kv(
            "arr.u8",
            Val::Array(ValueType::U8, &[Val::U8(1), Val::U8(2)]),
        )
        .kv("arr.i8", Val::Array(ValueType::I8, &[Val::I8(-1)]))
        .kv("arr.u16", Val::Array(ValueType::U16, &[Val::U16(7)]))
        .kv("arr.i16", Val::Array(ValueType::I16, &[Val::I16(-7)]))
        .kv("arr.u32", Val::U32Array(&[1, 2, 3]))
        .kv("arr.i32", Val::I32Array(&[-1, 0, 1]))
        .kv("arr.f32", Val::F32Array(&[0.5, -0.25]))
        .kv(
            "arr.bool",
            Val::Array(ValueType::Bool, &[Val::Bool(true), Val::Bool(false)]),
        )
        .kv("arr.str", Val::StrArray(&["a", "", "ü"]))
        .kv("arr.u64", Val::Array(ValueType::U64, &[Val::U64(1 << 40)]))
        .kv(
            "arr.i64",
            Val::Array(ValueType::I64, &[Val::I64(-(1 << 40))]),
        )
        .kv("arr.f64", Val::Array(ValueType::F64, &[Val::F64(1e300)]))
        .kv("arr.empty", Val::Array(ValueType::Str, &[]))
        .kv(
            "arr.nested",
            Val::Array(
                ValueType::Array,
                &[
                    Val::StrArray(&["x", "yz"]),
                    Val::U32Array(&[]),
                    Val::Array(ValueType::Array, &[Val::I32Array(&[-5])]),
                ],
            ),
        );
}

#[test]
fn every_value_type_round_trips() {
    for version in [2, 3] {
        let mut w = Writer::new();
        w.version(version);
        all_types(&mut w);
        let bytes = w.finish();
        let f = File::parse(&bytes).unwrap();
        assert_eq!(f.version(), version);
        assert_eq!(f.get("u8"), Some(Value::U8(0xfe)));
        assert_eq!(f.get("i8"), Some(Value::I8(-128)));
        assert_eq!(f.get("u16"), Some(Value::U16(0xbeef)));
        assert_eq!(f.get("i16"), Some(Value::I16(-2)));
        assert_eq!(f.get_u32("u32").unwrap(), u32::MAX);
        assert_eq!(f.get_i64("i32").unwrap(), i64::from(i32::MIN));
        assert_eq!(f.get_f32("f32").unwrap(), -1.5e-7);
        assert!(f.get_bool("bool.t").unwrap());
        assert!(!f.get_bool("bool.f").unwrap());
        assert_eq!(f.get_str("str").unwrap(), "héllo ⟨think⟩ 🦀");
        assert_eq!(f.get_str("str.empty").unwrap(), "");
        assert_eq!(f.get_u64("u64").unwrap(), u64::MAX - 1);
        assert_eq!(f.get_i64("i64").unwrap(), i64::MIN + 1);
        assert_eq!(f.get("f64"), Some(Value::F64(core::f64::consts::PI)));
        assert_eq!(f.get_f32("f64").unwrap(), core::f64::consts::PI as f32);
        match f.get("nan") {
            Some(Value::F32(x)) => assert_eq!(x.to_bits(), 0x7fc0_1234),
            v => panic!("{v:?}"),
        }
        // small integer types are accepted by the wide getters
        assert_eq!(f.get_u32("u8").unwrap(), 0xfe);
        assert_eq!(f.get_u64("u16").unwrap(), 0xbeef);
        assert_eq!(f.get_i64("i16").unwrap(), -2);

        let a = |k| f.get_array(k).unwrap();
        assert_eq!(a("arr.u8").iter_u8().unwrap().collect::<Vec<_>>(), [1, 2]);
        assert_eq!(a("arr.i8").iter_i8().unwrap().collect::<Vec<_>>(), [-1]);
        assert_eq!(a("arr.u16").iter_u16().unwrap().collect::<Vec<_>>(), [7]);
        assert_eq!(a("arr.i16").iter_i16().unwrap().collect::<Vec<_>>(), [-7]);
        assert_eq!(
            a("arr.u32").iter_u32().unwrap().collect::<Vec<_>>(),
            [1, 2, 3]
        );
        assert_eq!(
            a("arr.u32").iter_u32().unwrap().rev().collect::<Vec<_>>(),
            [3, 2, 1]
        );
        assert_eq!(a("arr.u32").iter_u32().unwrap().nth(2), Some(3));
        assert_eq!(a("arr.u32").iter_u32().unwrap().nth(3), None);
        assert_eq!(
            a("arr.i32").iter_i32().unwrap().collect::<Vec<_>>(),
            [-1, 0, 1]
        );
        assert_eq!(
            a("arr.f32").iter_f32().unwrap().collect::<Vec<_>>(),
            [0.5, -0.25]
        );
        assert_eq!(
            a("arr.bool").iter_bool().unwrap().collect::<Vec<_>>(),
            [true, false]
        );
        assert_eq!(
            a("arr.u64").iter_u64().unwrap().collect::<Vec<_>>(),
            [1 << 40]
        );
        assert_eq!(
            a("arr.i64").iter_i64().unwrap().collect::<Vec<_>>(),
            [-(1 << 40)]
        );
        assert_eq!(
            a("arr.f64").iter_f64().unwrap().collect::<Vec<_>>(),
            [1e300]
        );
        assert_eq!(a("arr.i32").get(0), Some(Value::I32(-1)));
        assert_eq!(a("arr.i32").get(3), None);
        assert_eq!(a("arr.str").get(0), None); // strings are not random access
        assert_eq!(
            a("arr.i32").iter().collect::<Vec<_>>(),
            [Value::I32(-1), Value::I32(0), Value::I32(1)]
        );
        assert_eq!(a("arr.i32").raw_bytes().len(), 12);
        assert!(a("arr.i32").iter_u32().is_none());
        let strs = f.get_str_array("arr.str").unwrap();
        assert_eq!(strs.len(), 3);
        assert_eq!(strs.iter().collect::<Vec<_>>(), ["a", "", "ü"]);
        assert_eq!(
            a("arr.str")
                .iter()
                .map(|v| v.as_str().unwrap())
                .collect::<Vec<_>>(),
            ["a", "", "ü"]
        );
        assert!(a("arr.empty").is_empty());
        assert_eq!(f.get_str_array("arr.empty").unwrap().count(), 0);

        let nested = a("arr.nested");
        assert_eq!((nested.elem_type(), nested.len()), (ValueType::Array, 3));
        let inner: Vec<_> = nested.iter().map(|v| v.as_array().unwrap()).collect();
        assert_eq!(
            inner[0].as_str_array().unwrap().collect::<Vec<_>>(),
            ["x", "yz"]
        );
        assert_eq!((inner[1].elem_type(), inner[1].len()), (ValueType::U32, 0));
        let deepest = inner[2].iter().next().unwrap().as_array().unwrap();
        assert_eq!(deepest.iter_i32().unwrap().collect::<Vec<_>>(), [-5]);
        assert_eq!(nested.iter().len(), 3);

        // metadata() is file order, every entry once
        let keys: Vec<_> = f.metadata().map(|(k, _)| k).collect();
        assert_eq!(keys.len(), f.n_kv());
        assert_eq!(keys[..3], ["u8", "i8", "u16"]);
        assert_eq!(keys.last(), Some(&"arr.nested"));
        for (k, v) in f.metadata() {
            if k != "nan" {
                assert_eq!(f.get(k), Some(v), "{k}");
            }
        }
        assert_eq!(f.get("nope"), None);
        // no tensors: the data section starts right after the table
        assert_eq!(f.n_tensors(), 0);
        assert_eq!(f.data_offset(), bytes.len() as u64);
        assert_eq!(f.header_len(), bytes.len() as u64);
        f.check_tensor_data().unwrap();
    }
}

/// Deterministic filler bytes.
fn fill(n: usize, seed: u8) -> Vec<u8> {
    (0..n)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

#[test]
fn tensors_round_trip_with_alignments() {
    for align in [1u32, 8, 32, 64, 4096] {
        let q4k = fill(144 * 2 * 3, 1); // [512, 3] Q4_K: 2 super-blocks per row
        let f32s = fill(4 * 7, 2);
        let q80 = fill(34 * 4, 3);
        let mut w = Writer::new();
        w.kv("general.architecture", Val::Str("llama"));
        if align != 32 {
            w.alignment(align);
        }
        w.tensor("blk.0.attn_q.weight", GgmlType::Q4_K, &[512, 3], &q4k)
            .tensor("norm", GgmlType::F32, &[7], &f32s)
            .tensor("cube", GgmlType::Q8_0, &[32, 2, 1, 2], &q80);
        let bytes = w.finish();
        let f = File::parse(&bytes).unwrap();
        assert_eq!(f.alignment(), u64::from(align));
        assert_eq!(f.data_offset() % u64::from(align), 0);
        assert!(f.data_offset() >= f.header_len());
        assert!(f.data_offset() - f.header_len() < u64::from(align));
        assert_eq!(f.n_tensors(), 3);
        assert_eq!(
            f.tensor_data_end(),
            f.data_offset() + f.tensor("cube").unwrap().offset + 34 * 4
        );
        let names: Vec<_> = f.tensors().map(|t| t.name).collect();
        assert_eq!(names, ["blk.0.attn_q.weight", "norm", "cube"]);

        let q = f.tensor("blk.0.attn_q.weight").unwrap();
        assert_eq!(
            (q.ty, q.n_dims, q.dims),
            (GgmlType::Q4_K, 2, [512, 3, 1, 1])
        );
        assert_eq!(q.shape(), [512, 3]);
        assert_eq!(
            (q.n_elements(), q.n_rows(), q.row_bytes(), q.n_bytes()),
            (1536, 3, 288, 864)
        );
        assert_eq!(f.tensor_data(&q).unwrap(), &q4k[..]);
        let n = f.tensor("norm").unwrap();
        assert_eq!(f.tensor_data(&n).unwrap(), &f32s[..]);
        let c = f.tensor("cube").unwrap();
        assert_eq!((c.shape(), c.n_rows()), (&[32, 2, 1, 2][..], 4));
        assert_eq!(f.tensor_data(&c).unwrap(), &q80[..]);
        assert_eq!(f.tensor("missing"), None);
        f.check_tensor_data().unwrap();
    }
}

#[test]
fn many_tensors_and_keys_are_indexed() {
    let mut w = Writer::new();
    let names: Vec<String> = (0..3000)
        .map(|i| format!("blk.{}.w{}", i % 97, i))
        .collect();
    for (i, n) in names.iter().enumerate() {
        w.kv(&format!("k.{n}"), Val::U32(i as u32));
        w.tensor(n, GgmlType::F32, &[1], &(i as f32).to_le_bytes());
    }
    let bytes = w.finish();
    let f = File::parse(&bytes).unwrap();
    assert_eq!((f.n_tensors(), f.n_kv()), (3000, 3000));
    for (i, n) in names.iter().enumerate() {
        let t = f.tensor(n).unwrap();
        assert_eq!(t.name, n);
        assert_eq!(f.tensor_data(&t).unwrap(), (i as f32).to_le_bytes());
        assert_eq!(f.get_u32(&format!("k.{n}")).unwrap(), i as u32);
    }
}

#[test]
fn clone_is_independent_of_the_original() {
    let mut w = Writer::new();
    w.kv("a", Val::U8(1))
        .tensor("t", GgmlType::F32, &[1], &[0; 4]);
    let bytes = w.finish();
    let f = File::parse(&bytes).unwrap();
    let g = f.clone();
    drop(f);
    assert_eq!(g.get_u32("a").unwrap(), 1);
    assert!(g.tensor("t").is_some());
}

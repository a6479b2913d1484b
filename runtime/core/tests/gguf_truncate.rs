//! A valid file cut at every byte length, and randomly corrupted files: the reader returns
//! an error (or parses a complete header and reports missing data), and never panics.

use bague::gguf::writer::Val;
use bague::gguf::{ErrorKind, File, GgmlType, Value, ValueType, Writer};
use proptest::prelude::*;

fn sample() -> Vec<u8> {
    let mut w = Writer::new();
    w.kv("general.architecture", Val::Str("qwen2"))
        .kv("u8", Val::U8(1))
        .kv("i16", Val::I16(-3))
        .kv("f64", Val::F64(2.5))
        .kv("flag", Val::Bool(true))
        .kv("toks", Val::StrArray(&["<s>", "é", "🦀"]))
        .kv("scores", Val::F32Array(&[0.0, -1.0, 2.0]))
        .kv(
            "nested",
            Val::Array(
                ValueType::Array,
                &[Val::U32Array(&[1, 2]), Val::StrArray(&["x"])],
            ),
        )
        .alignment(64)
        .tensor("a", GgmlType::F32, &[3, 2], &[7u8; 24])
        .tensor("b", GgmlType::Q4_0, &[64], &[9u8; 36])
        .tensor("c.weight", GgmlType::Q8_0, &[32, 3], &[5u8; 102]);
    w.finish()
}

/// Reads everything a file exposes; returns how many items were seen.
fn walk(f: &File<'_>) -> usize {
    fn value(v: Value<'_>, n: &mut usize) {
        *n += 1;
        if let Value::Array(a) = v {
            for x in a.iter() {
                value(x, n);
            }
            if let Some(s) = a.as_str_array() {
                *n += s.count();
            }
            for i in 0..a.len().min(4) {
                let _ = a.get(i);
            }
        }
    }
    let mut n = 0;
    for (k, v) in f.metadata() {
        // (a corrupted float can be NaN, which is not equal to itself)
        assert!(f.get(k).is_some(), "{k}");
        value(v, &mut n);
    }
    for t in f.tensors() {
        assert_eq!(f.tensor(t.name), Some(t));
        let _ = (
            t.n_elements(),
            t.n_bytes(),
            t.n_rows(),
            t.row_bytes(),
            t.shape(),
        );
        if let Ok(d) = f.tensor_data(&t) {
            assert_eq!(d.len() as u64, t.n_bytes());
        }
        n += 1;
    }
    let _ = f.check_tensor_data();
    n
}

#[test]
fn cut_at_every_length() {
    let full = sample();
    let f = File::parse(&full).unwrap();
    let (header_len, data_end) = (f.header_len() as usize, f.tensor_data_end() as usize);
    assert!(data_end <= full.len() && full.len() - data_end < 64); // the writer pads the end
    let items = walk(&f);
    for len in 0..full.len() {
        let cut = &full[..len];
        match File::parse(cut) {
            Ok(g) => {
                assert!(len >= header_len, "parsed with the header cut at {len}");
                assert_eq!(walk(&g), items);
                if len < data_end {
                    let e = g.check_tensor_data().unwrap_err();
                    assert_eq!(e.kind(), ErrorKind::Truncated, "{e}");
                } else {
                    g.check_tensor_data().unwrap();
                }
            }
            Err(e) => {
                assert!(
                    len < header_len,
                    "refused at {len} >= header {header_len}: {e}"
                );
                assert_eq!(e.kind(), ErrorKind::Truncated, "cut at {len}: {e}");
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    /// Random byte overwrites of a valid file.
    #[test]
    fn corrupted_bytes_never_panic(edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8)) {
        let mut b = sample();
        for (i, v) in edits {
            let at = i.index(b.len());
            b[at] = v;
        }
        if let Ok(f) = File::parse(&b) {
            walk(&f);
        }
    }

    /// Random 8-byte words (counts, lengths) written over a valid file.
    #[test]
    fn corrupted_words_never_panic(at in any::<prop::sample::Index>(), w in prop_oneof![any::<u64>(), Just(u64::MAX), Just(1u64 << 63), 0u64..16]) {
        let mut b = sample();
        let at = at.index(b.len() - 8);
        b[at..at + 8].copy_from_slice(&w.to_le_bytes());
        if let Ok(f) = File::parse(&b) {
            walk(&f);
        }
    }

    /// Arbitrary bytes behind a valid magic and version.
    #[test]
    fn random_tails_never_panic(tail in prop::collection::vec(any::<u8>(), 0..512)) {
        let mut b = b"GGUF\x03\0\0\0".to_vec();
        b.extend_from_slice(&tail);
        if let Ok(f) = File::parse(&b) {
            walk(&f);
        }
    }
}

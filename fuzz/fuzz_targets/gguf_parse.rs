//! Fuzz the GGUF reader: parse arbitrary bytes and, when they parse, read everything the
//! file exposes (every metadata value, nested arrays, typed and string iterators, every
//! tensor's info and data, the data-bounds check). Nothing may panic, hang or allocate
//! by a count read from the input.
#![no_main]

use bague::gguf::{File, Value};
use libfuzzer_sys::fuzz_target;

fn walk_value(v: Value<'_>, sink: &mut u64) {
    match v {
        Value::Array(a) => {
            *sink += a.len() as u64;
            for x in a.iter() {
                walk_value(x, sink);
            }
            if let Some(s) = a.as_str_array() {
                *sink += s.map(|s| s.len() as u64).sum::<u64>();
            }
            if let Some(it) = a.iter_u32() {
                *sink += it.map(u64::from).sum::<u64>();
            }
            if let Some(it) = a.iter_f32() {
                *sink += it.filter(|x| x.is_finite()).count() as u64;
            }
            let _ = a.get(0);
            let _ = a.get(a.len().wrapping_sub(1));
        }
        Value::Str(s) => *sink += s.len() as u64,
        v => {
            let _ = (v.as_i64(), v.as_f32(), v.type_name());
            *sink += 1;
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(f) = File::parse(data) else { return };
    let mut sink = 0u64;
    for (k, v) in f.metadata() {
        assert!(f.get(k).is_some());
        let _ = (f.get_u32(k), f.get_f32(k), f.get_str(k), f.get_str_array(k));
        walk_value(v, &mut sink);
    }
    for t in f.tensors() {
        assert_eq!(f.tensor(t.name).map(|x| x.offset), Some(t.offset));
        let _ = (t.n_elements(), t.n_rows(), t.row_bytes(), t.shape());
        if let Ok(d) = f.tensor_data(&t) {
            assert_eq!(d.len() as u64, t.n_bytes());
        }
    }
    let _ = f.check_tensor_data();
    let _ = (
        f.alignment(),
        f.data_offset(),
        f.tensor_data_end(),
        f.n_tensors(),
        f.n_kv(),
    );
    std::hint::black_box(sink);
});

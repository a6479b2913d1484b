//! Real rows from the model files in `~/.cache/bague/models` (skipped when absent): for each
//! tensor type present, every back end's `vec_dot` / `matvec` equals the scalar reference
//! (within the tolerance of `common`) on real weight rows against real quantized
//! activations. The GGUF header is read by a throwaway parser here: `bague-kernels` must not
//! depend on the `bague` crate.

mod common;

use bague_kernels::{GgmlType, Kernels};
use common::*;
use std::collections::BTreeMap;

struct Tensor {
    name: String,
    ty: GgmlType,
    dims: Vec<u64>,
    offset: u64,
}

struct Reader<'a> {
    b: &'a [u8],
    p: usize,
}

impl Reader<'_> {
    fn take(&mut self, n: usize) -> &[u8] {
        let s = &self.b[self.p..self.p + n];
        self.p += n;
        s
    }
    fn u32(&mut self) -> u32 {
        u32::from_le_bytes(self.take(4).try_into().unwrap())
    }
    fn u64(&mut self) -> u64 {
        u64::from_le_bytes(self.take(8).try_into().unwrap())
    }
    fn string(&mut self) -> String {
        let n = self.u64() as usize;
        String::from_utf8_lossy(self.take(n)).into_owned()
    }
    /// Skip a metadata value of type `t`; returns it as u64 when it is a small integer.
    fn value(&mut self, t: u32) -> Option<u64> {
        match t {
            0 | 1 | 7 => Some(self.take(1)[0] as u64),
            2 | 3 => Some(u16::from_le_bytes(self.take(2).try_into().unwrap()) as u64),
            4..=6 => Some(self.u32() as u64),
            8 => {
                self.string();
                None
            }
            9 => {
                let et = self.u32();
                let n = self.u64();
                for _ in 0..n {
                    self.value(et);
                }
                None
            }
            10..=12 => Some(self.u64()),
            _ => panic!("bad GGUF value type {t}"),
        }
    }
}

/// (tensors, data start) of a GGUF file.
fn parse(b: &[u8]) -> (Vec<Tensor>, usize) {
    let mut r = Reader { b, p: 0 };
    assert_eq!(r.take(4), b"GGUF");
    let _version = r.u32();
    let n_tensors = r.u64();
    let n_kv = r.u64();
    let mut align = 32u64;
    for _ in 0..n_kv {
        let key = r.string();
        let t = r.u32();
        let v = r.value(t);
        if key == "general.alignment" {
            align = v.unwrap();
        }
    }
    let mut ts = Vec::new();
    for _ in 0..n_tensors {
        let name = r.string();
        let nd = r.u32();
        let dims = (0..nd).map(|_| r.u64()).collect();
        let ty = GgmlType::from_u32(r.u32()).expect("known type");
        let offset = r.u64();
        ts.push(Tensor {
            name,
            ty,
            dims,
            offset,
        });
    }
    let start = (r.p as u64).div_ceil(align) * align;
    (ts, start as usize)
}

fn model(name: &str) -> Option<Vec<u8>> {
    bague_testkit::model_bytes(name.trim_end_matches(".gguf"))
}

/// Returns the types checked (empty if the file is absent).
fn check_model(file: &str, expect: &[GgmlType]) -> Vec<GgmlType> {
    let mut checked = Vec::new();
    let Some(bytes) = model(file) else {
        return checked;
    };
    let (tensors, start) = parse(&bytes);
    // first two 2-D tensors of each type
    let mut by_type: BTreeMap<u32, Vec<&Tensor>> = BTreeMap::new();
    for t in tensors.iter().filter(|t| t.dims.len() == 2) {
        let v = by_type.entry(t.ty as u32).or_default();
        if v.len() < 2 {
            v.push(t);
        }
    }
    for ty in expect {
        assert!(
            by_type.contains_key(&(*ty as u32)),
            "{file}: no {ty} tensor"
        );
    }
    let scalar = Kernels::scalar();
    let mut rng = TestRng::new(17);
    for ts in by_type.values() {
        for t in ts {
            if !Kernels::supports(t.ty) {
                continue;
            }
            let n = t.dims[0] as usize;
            let rb = t.ty.row_bytes(n as u64).unwrap() as usize;
            let n_rows = (t.dims[1] as usize).min(64);
            let off = start + t.offset as usize;
            let Some(w) = bytes.get(off..off + rb * n_rows) else {
                continue; // truncated file
            };
            let (_, a) = quantized_activations(&scalar, &mut rng, t.ty, n);
            checked.push(t.ty);
            let mut outs = Vec::new();
            for k in simd_backends() {
                let mut out = vec![0f32; n_rows];
                k.matvec(t.ty, w, n, 0..n_rows, &a, &mut out).unwrap();
                outs.push((k.name(), out));
            }
            for r in 0..n_rows {
                let row = &w[r * rb..(r + 1) * rb];
                let want = vec_dot_ref(t.ty, row, &a);
                let mag = magnitude(t.ty, row, &a);
                assert!(want.is_finite(), "{file} {} row {r}: {want}", t.name);
                for (name, out) in &outs {
                    assert_close(
                        &format!("{file} {} ({}) row {r} {name}", t.name, t.ty),
                        out[r],
                        want,
                        mag,
                    );
                }
            }
            // activations quantized by every back end are identical
            let x = rng.activations(n);
            let at = Kernels::vec_dot_type(t.ty);
            let mut q0 = vec![0u8; at.row_bytes(n as u64).unwrap() as usize];
            scalar.quantize_activation(at, &x, &mut q0).unwrap();
            for k in simd_backends() {
                let mut q = vec![0u8; q0.len()];
                k.quantize_activation(at, &x, &mut q).unwrap();
                assert_eq!(q, q0, "{at} activations on {}", k.name());
            }
        }
    }
    eprintln!("{file}: checked {checked:?}");
    checked
}

#[test]
fn smollm2_rows() {
    let c = check_model(
        "smollm2-135m-instruct-q4_1.gguf",
        &[GgmlType::Q4_1, GgmlType::Q8_0],
    );
    assert!(c.is_empty() || c.len() >= 2);
}

#[test]
fn qwen25_rows() {
    let c = check_model(
        "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
        &[
            GgmlType::Q4_K,
            GgmlType::Q5_0,
            GgmlType::Q6_K,
            GgmlType::Q8_0,
        ],
    );
    assert!(c.is_empty() || c.len() >= 4);
}

#[test]
fn r1_head_rows() {
    // truncated file: only the tensors whose data is present are checked
    check_model("r1-distill-qwen-7b-head.gguf", &[]);
}

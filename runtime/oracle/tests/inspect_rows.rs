//! `bague inspect FILE --tensor NAME --rows A..B --json` prints the rows ggml's `to_float`
//! gives, bit for bit: for one tensor of every type present in the model files (first, second
//! and last row), through the real `bague` binary.
//!
//! The binary is the release build next to this test's own (`target/release/bague`);
//! `ci/oracle.sh test` builds it first. Set `BAGUE_BIN` to use another.

mod common;

use bague_kernels::GgmlType;
use bague_oracle as oracle;
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Command;

fn bague_bin() -> PathBuf {
    if let Some(p) = std::env::var_os("BAGUE_BIN") {
        return PathBuf::from(p);
    }
    // target/release/deps/inspect_rows-HASH → target/release/bague
    let exe = std::env::current_exe().unwrap();
    let p = exe.parent().unwrap().parent().unwrap().join("bague");
    assert!(
        p.is_file(),
        "{} not found: build it first (`cargo build --release -p bague-cli`, as ci/oracle.sh \
         does) or set BAGUE_BIN",
        p.display()
    );
    p
}

/// The rows `a..b` of `name` as `bague inspect --json` prints them.
fn inspect_rows(file: &std::path::Path, name: &str, a: u64, b: u64) -> Vec<Vec<f32>> {
    let out = Command::new(bague_bin())
        .arg("inspect")
        .arg(file)
        .args(["--tensor", name, "--rows", &format!("{a}..{b}"), "--json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "bague inspect {} --tensor {name}: {}",
        file.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    v["rows"]
        .as_array()
        .unwrap_or_else(|| panic!("no rows in {v}"))
        .iter()
        .map(|row| {
            row.as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_f64().unwrap_or_else(|| panic!("not a number: {x}")) as f32)
                .collect()
        })
        .collect()
}

#[test]
fn inspect_rows_equal_ggml_to_float() {
    let mut checked = Vec::new();
    for path in common::model_files() {
        let mut g = common::gguf::Gguf::open(&path).unwrap();
        let mut seen = BTreeSet::new();
        for t in g.tensors.clone() {
            let Some(ty) = GgmlType::from_u32(t.ty) else {
                continue;
            };
            if !seen.insert(t.ty) {
                continue;
            }
            let ne0 = t.dims[0] as usize;
            let n_rows: u64 = t.dims[1..].iter().product();
            let rb = ty.row_bytes(ne0 as u64).unwrap() as usize;
            for (a, b) in [(0, n_rows.min(2)), (n_rows - 1, n_rows)] {
                let ours = inspect_rows(&path, &t.name, a, b);
                assert_eq!(ours.len() as u64, b - a, "{}: row count", t.name);
                for (k, row) in ours.iter().enumerate() {
                    let r = a + k as u64;
                    let src = g.read(t.offset + r * rb as u64, rb).unwrap();
                    let mut want = vec![0f32; ne0];
                    if ty == GgmlType::F32 {
                        want = src
                            .chunks_exact(4)
                            .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
                            .collect();
                    } else {
                        oracle::dequantize_row(t.ty, &src, &mut want).unwrap();
                    }
                    assert_eq!(row.len(), ne0, "{}: row {r} length", t.name);
                    for (i, (x, y)) in row.iter().zip(&want).enumerate() {
                        assert!(
                            x.to_bits() == y.to_bits(),
                            "{} {} ({}) row {r} element {i}: bague inspect {x}, ggml {y}",
                            path.display(),
                            t.name,
                            ty.name()
                        );
                    }
                }
            }
            checked.push(format!(
                "{}:{} {}",
                path.file_name().unwrap().to_string_lossy(),
                t.name,
                ty.name()
            ));
        }
    }
    eprintln!("checked {} tensors: {checked:#?}", checked.len());
    assert!(!checked.is_empty(), "no model file found");
}

//! The oracle itself: the ggml build has the instruction sets the reference used, its type
//! table agrees with ours, and the safe wrappers refuse bad arguments instead of calling ggml.

use bague_kernels::GgmlType;
use bague_oracle as oracle;

#[test]
#[cfg(target_arch = "x86_64")]
fn ggml_is_built_with_avx2_fma_f16c_and_not_avx512() {
    let f = oracle::cpu_features();
    eprintln!("ggml CPU features: {f}");
    let has = |x: &str| f.split(' ').any(|w| w == x);
    for need in ["AVX", "AVX2", "FMA", "F16C", "BMI2"] {
        assert!(has(need), "ggml built without {need}: {f}");
    }
    // The reference data was made on an AVX2-only CPU: AVX-512 paths would change numerics.
    assert!(!has("AVX512"), "ggml built with AVX-512: {f}");
}

#[test]
fn type_table_agrees_with_ggml() {
    for ty in GgmlType::ALL {
        let n = ty as u32;
        let (block, bytes) = oracle::block_layout(n).unwrap_or_else(|e| panic!("{ty:?}: {e}"));
        assert_eq!(block, ty.block_size(), "{ty:?} block size");
        assert_eq!(bytes, ty.block_bytes(), "{ty:?} block bytes");
        // ggml spells names in lower case with an upper-case K ("q4_K"); ours are upper case.
        assert!(
            oracle::type_name(n)
                .unwrap()
                .eq_ignore_ascii_case(ty.name()),
            "{ty:?} name"
        );
    }
    for removed in [4u32, 5, 31, 32, 33, 36, 37, 38, 43, 1000] {
        assert_eq!(
            oracle::block_layout(removed),
            Err(oracle::Error::UnknownType(removed))
        );
        assert!(GgmlType::from_u32(removed).is_none());
    }
}

#[test]
fn vec_dot_types_are_the_standard_scheme() {
    use GgmlType::*;
    let expect = [
        (Q4_0, Q8_0),
        (Q4_1, Q8_1),
        (Q5_0, Q8_0),
        (Q5_1, Q8_1),
        (Q8_0, Q8_0),
        (Q2_K, Q8_K),
        (Q3_K, Q8_K),
        (Q4_K, Q8_K),
        (Q5_K, Q8_K),
        (Q6_K, Q8_K),
        (IQ4_NL, Q8_0),
        (IQ4_XS, Q8_K),
        (F16, F16),
        (BF16, BF16),
        (F32, F32),
    ];
    for (w, a) in expect {
        assert_eq!(oracle::vec_dot_type(w as u32), Ok(a as u32), "{w:?}");
    }
}

#[test]
fn wrappers_refuse_bad_arguments() {
    use oracle::Error;
    let q4 = GgmlType::Q4_0 as u32;
    let mut out = vec![0f32; 32];
    assert!(matches!(
        oracle::dequantize_row(q4, &[0u8; 17], &mut out),
        Err(Error::Length { .. })
    ));
    let mut out33 = vec![0f32; 33];
    assert!(matches!(
        oracle::dequantize_row(q4, &[0u8; 18], &mut out33),
        Err(Error::NotWholeBlocks { .. })
    ));
    assert!(matches!(
        oracle::dequantize_row(GgmlType::F32 as u32, &[0u8; 128], &mut out),
        Err(Error::Unsupported { .. })
    ));
    let x = vec![0.5f32; 32];
    assert!(matches!(
        oracle::quantize_row_ref(q4, &x, &mut [0u8; 19]),
        Err(Error::Length { .. })
    ));
    assert!(matches!(
        oracle::quantize_row_cpu(q4, &x, &mut [0u8; 17]),
        Err(Error::Length { .. })
    ));
    assert!(matches!(
        oracle::vec_dot(q4, 32, &[0u8; 18], &[0u8; 35]),
        Err(Error::Length { .. })
    ));
    assert!(matches!(
        oracle::vec_dot(GgmlType::Q8_1 as u32, 32, &[0u8; 36], &[0u8; 36]),
        Err(Error::Unsupported { .. })
    ));
    assert!(matches!(
        oracle::quantize_chunk(
            GgmlType::Q8_K as u32,
            &[0.0; 256],
            256,
            None,
            &mut [0u8; 292]
        ),
        Err(Error::Unsupported { .. })
    ));
    assert!(matches!(
        oracle::quantize_chunk(
            GgmlType::IQ2_XXS as u32,
            &[0.0; 256],
            256,
            None,
            &mut [0u8; 66]
        ),
        Err(Error::Unsupported { .. })
    ));
}

#[test]
fn ggml_round_trips_are_close() {
    // Sanity of the wrappers (not of our kernels): quantize then dequantize stays near the input.
    let x: Vec<f32> = (0..512)
        .map(|i| ((i * 37 % 101) as f32 - 50.0) / 25.0)
        .collect();
    for (ty, tol) in [
        (GgmlType::Q4_0, 0.3),
        (GgmlType::Q8_0, 0.02),
        (GgmlType::Q4_K, 0.2),
        (GgmlType::Q6_K, 0.05),
        (GgmlType::F16, 0.002),
    ] {
        let n = ty as u32;
        let mut q = vec![0u8; ty.block_bytes() * x.len() / ty.block_size()];
        oracle::quantize_row_ref(n, &x, &mut q).unwrap();
        let mut q2 = vec![0u8; q.len()];
        assert_eq!(
            oracle::quantize_chunk(n, &x, 256, None, &mut q2),
            Ok(q.len())
        );
        assert_eq!(
            q, q2,
            "{ty:?}: quantize_chunk without imatrix is from_float_ref row by row"
        );
        let mut y = vec![0f32; x.len()];
        oracle::dequantize_row(n, &q, &mut y).unwrap();
        let err = x
            .iter()
            .zip(&y)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f32::max);
        assert!(err < tol, "{ty:?}: round trip error {err}");
    }
}

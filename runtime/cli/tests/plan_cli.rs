//! `bague plan`: text and JSON, fits / does not fit, unknown board.

use assert_cmd::Command;

fn model(name: &str) -> String {
    bague_testkit::testdata()
        .join("models")
        .join(name)
        .display()
        .to_string()
}

#[test]
fn plan_json_fits_the_ring() {
    let out = Command::cargo_bin("bague")
        .unwrap()
        .args(["plan", &model("smol-tiny-random-q4_0.gguf")])
        .args(["--board", "ring", "--ctx", "256", "--json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["board"]["name"], "ring");
    assert_eq!(v["n_ctx"], 256);
    let p = &v["plan"];
    let sum = p["index"].as_u64().unwrap()
        + p["tokenizer"].as_u64().unwrap()
        + p["heap"]
            .as_u64()
            .unwrap()
            .max(p["tokenizer_load"].as_u64().unwrap());
    assert_eq!(p["ram_bytes"].as_u64().unwrap(), sum);
    assert_eq!(v["fit"]["fits"], true);
    assert!(v["largest_ctx"].as_u64().unwrap() >= 256);
}

#[test]
fn plan_text_says_by_how_much_it_does_not_fit() {
    let out = Command::cargo_bin("bague")
        .unwrap()
        .args([
            "plan",
            &model("r1-tiny-random-q4_0.gguf"),
            "--board",
            "ring",
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("does not fit: RAM over by "), "{text}");
    assert!(text.contains("largest context that fits: none"), "{text}");
    // The phone has room.
    let out = Command::cargo_bin("bague")
        .unwrap()
        .args([
            "plan",
            &model("r1-tiny-random-q4_0.gguf"),
            "--board",
            "phone",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("fits: "), "{text}");
}

#[test]
fn plan_unknown_board_is_an_error() {
    let out = Command::cargo_bin("bague")
        .unwrap()
        .args([
            "plan",
            &model("smol-tiny-random-q4_0.gguf"),
            "--board",
            "watch",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("unknown board") && err.contains("ring, hearing, phone, car"),
        "{err}"
    );
}

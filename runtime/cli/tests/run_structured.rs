//! `bague run` / `bague chat` with `--json-schema`, `--grammar`, `--regex` and
//! `--skip-thinking` through the binary, on the tiny models: the answer is valid, `--json`
//! keeps its shape (its `text` is the constrained output) and reports the masks, bad input
//! is a clear error before generation.

use assert_cmd::Command;
use serde_json::Value;

fn tiny(id: &str) -> String {
    bague_testkit::tiny_path(id).display().to_string()
}

fn intent_schema() -> String {
    bague_testkit::repo()
        .join("examples/structured/intent.json")
        .display()
        .to_string()
}

struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

fn bague(args: &[&str], stdin: Option<&[u8]>) -> Out {
    let home = tempfile::tempdir().unwrap();
    let mut c = Command::cargo_bin("bague").unwrap();
    c.env("BAGUE_HOME", home.path()).args(args);
    if let Some(s) = stdin {
        c.write_stdin(s.to_vec());
    }
    let o = c.output().unwrap();
    Out {
        code: o.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
}

fn check_intent(text: &str) {
    let v: Value = serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text:?}"));
    let schema: Value =
        serde_json::from_str(&std::fs::read_to_string(intent_schema()).unwrap()).unwrap();
    let intents = schema["properties"]["intent"]["enum"].as_array().unwrap();
    assert!(intents.contains(&v["intent"]), "{v}");
    let value = v["value"].as_i64().unwrap();
    assert!((-50..=100).contains(&value), "{v}");
    assert!(v["unit"].is_string(), "{v}");
    assert_eq!(v.as_object().unwrap().len(), 3, "{v}");
}

#[test]
fn run_json_schema_file_and_inline() {
    let m = tiny("smol-tiny-random-q4_0");
    let schema = intent_schema();
    for extra in [&["--temp", "0"][..], &["--seed", "3"][..]] {
        let mut args = vec![
            "run",
            "-m",
            &m,
            "--chat",
            "-p",
            "Set it to 21",
            "-n",
            "200",
            "--json",
            "--json-schema",
            &schema,
        ];
        args.extend_from_slice(extra);
        let o = bague(&args, None);
        assert_eq!(o.code, 0, "{}", o.stderr);
        let v: Value = serde_json::from_str(&o.stdout).unwrap();
        assert_eq!(v["stop_reason"], "eog", "{v}");
        check_intent(v["text"].as_str().unwrap());
        let c = &v["constraint"];
        assert_eq!(c["kind"], "JSON schema");
        assert!(c["n_masks"].as_u64().unwrap() >= 1);
        assert!(c["compile_ms"].as_f64().unwrap() > 0.0);
        assert!(c["compute_us"]["p99"].as_f64().is_some());
    }
    // The schema inline; any object.
    let o = bague(
        &[
            "run",
            "-m",
            &m,
            "-p",
            "x",
            "-n",
            "300",
            "--temp",
            "0",
            "--json",
            "--json-schema",
            r#"{"type":"object","properties":{"a":{"type":"boolean"}},"required":["a"],"additionalProperties":false}"#,
        ],
        None,
    );
    assert_eq!(o.code, 0, "{}", o.stderr);
    let v: Value = serde_json::from_str(&o.stdout).unwrap();
    let t: Value = serde_json::from_str(v["text"].as_str().unwrap()).unwrap();
    assert!(t["a"].is_boolean(), "{t}");
    // Streaming prints the answer and the mask statistics.
    let o = bague(
        &[
            "run",
            "-m",
            &m,
            "-p",
            "x",
            "-n",
            "200",
            "--temp",
            "0",
            "--json-schema",
            &schema,
        ],
        None,
    );
    assert_eq!(o.code, 0, "{}", o.stderr);
    check_intent(o.stdout.trim());
    assert!(o.stderr.contains("masks: "), "{}", o.stderr);
}

#[test]
fn grammar_regex_and_skip_thinking() {
    let r1 = tiny("r1-tiny-random-q4_0");
    let dir = tempfile::tempdir().unwrap();
    let lark = dir.path().join("moves.lark");
    std::fs::write(&lark, "start: (\"up\" | \"down\") (\" \" /[1-9]/)?\n").unwrap();
    let lark = lark.display().to_string();
    let o = bague(
        &[
            "run",
            "-m",
            &r1,
            "--chat",
            "-p",
            "Move",
            "-n",
            "100",
            "--seed",
            "1",
            "--json",
            "--grammar",
            &lark,
            "--skip-thinking",
        ],
        None,
    );
    assert_eq!(o.code, 0, "{}", o.stderr);
    let v: Value = serde_json::from_str(&o.stdout).unwrap();
    assert_eq!(v["thinking"], "", "{v}");
    assert_eq!(v["thinking_tokens"], 0);
    let t = v["text"].as_str().unwrap();
    assert!(t.starts_with("up") || t.starts_with("down"), "{t:?}");
    assert_eq!(v["constraint"]["kind"], "grammar");

    let o = bague(
        &[
            "run",
            "-m",
            &r1,
            "-p",
            "Pick",
            "-n",
            "20",
            "--temp",
            "0",
            "--json",
            "--regex",
            "(red|green|blue)!",
        ],
        None,
    );
    assert_eq!(o.code, 0, "{}", o.stderr);
    let v: Value = serde_json::from_str(&o.stdout).unwrap();
    let t = v["text"].as_str().unwrap();
    assert!(["red!", "green!", "blue!"].contains(&t), "{t:?}");
}

#[test]
fn chat_constrains_every_answer() {
    let m = tiny("smol-tiny-random-q4_0");
    let o = bague(
        &[
            "chat",
            "-m",
            &m,
            "--json",
            "-n",
            "200",
            "--temp",
            "0",
            "--json-schema",
            &intent_schema(),
        ],
        Some(b"Set it to 21\nOpen the window\n"),
    );
    assert_eq!(o.code, 0, "{}", o.stderr);
    let lines: Vec<Value> = o
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2, "{}", o.stdout);
    for v in lines {
        assert_eq!(v["stop_reason"], "eog");
        check_intent(v["text"].as_str().unwrap());
        assert!(v["constraint"]["n_masks"].as_u64().unwrap() > 1);
    }
}

#[test]
fn bad_schema_or_grammar_is_an_error_before_generation() {
    let m = tiny("smol-tiny-random-q4_0");
    let dir = tempfile::tempdir().unwrap();
    let gbnf = dir.path().join("g.gbnf");
    std::fs::write(&gbnf, "root ::= \"yes\" | \"no\"\n").unwrap();
    let gbnf = gbnf.display().to_string();
    let cases: [(&[&str], &str); 5] = [
        (
            &["--json-schema", "{\"type\": \"object\", \"properties\": 3"],
            "--json-schema: JSON schema: not valid JSON: line 1, column",
        ),
        (&["--json-schema", r#"{"type":"strnig"}"#], "strnig"),
        (&["--json-schema", "/no/such/schema.json"], "cannot read"),
        (&["--grammar", &gbnf], "GBNF"),
        (&["--regex", "(a|b"], "--regex: regex: at offset"),
    ];
    for (flags, needle) in cases {
        let mut args = vec!["run", "-m", &m, "-p", "x", "-n", "4"];
        args.extend_from_slice(flags);
        let o = bague(&args, None);
        assert_eq!(o.code, 1, "{flags:?}: {}", o.stdout);
        assert!(o.stdout.is_empty(), "nothing generated: {}", o.stdout);
        assert!(o.stderr.contains(needle), "{flags:?}: {}", o.stderr);
    }
    let o = bague(
        &[
            "run",
            "-m",
            &m,
            "-p",
            "x",
            "--json-schema",
            "{}",
            "--regex",
            "a",
        ],
        None,
    );
    assert_eq!(o.code, 2, "clap refuses both: {}", o.stderr);
}

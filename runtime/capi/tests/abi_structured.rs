//! Structured output through the C ABI: `json_schema` / `grammar` constrain the answer,
//! a bad schema or grammar is INVALID_ARGUMENT before anything runs (position and reason
//! in bague_last_error), both at once is refused, `skip_thinking` pins an empty thinking
//! block, and a session recompiles only when the text changes.

mod common;
use bague_capi::*;
use common::*;

const SCHEMA: &str = r#"{"type":"object","properties":{"intent":{"enum":["climate.set","nav.go"]},"value":{"type":"integer","minimum":0,"maximum":40}},"required":["intent","value"],"additionalProperties":false}"#;

fn s(text: &str) -> bague_str {
    bague_str {
        ptr: text.as_ptr().cast(),
        len: text.len(),
    }
}

fn check_intent(text: &str) {
    let v: serde_json::Value =
        serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text:?}"));
    let o = v.as_object().unwrap();
    assert_eq!(o.len(), 2, "{text}");
    assert!(["climate.set", "nav.go"].contains(&o["intent"].as_str().unwrap()));
    assert!((0..=40).contains(&o["value"].as_i64().unwrap()));
}

#[test]
fn schema_constrains_the_answer() {
    for id in [SMOL, R1] {
        let m = Model::open(id);
        let sess = m.session(512, 1);
        for (seed_temp, skip) in [(0.0, false), (0.8, false), (0.8, true)] {
            let p = bague_generate_params {
                max_tokens: 200,
                temperature: seed_temp,
                json_schema: s(SCHEMA),
                skip_thinking: skip,
                think_budget: 4,
                ..params(m.0)
            };
            let mut c = Collector::default();
            let (st, res) = run(&sess, b"Set it to 21 degrees", p, &mut c);
            assert_eq!(st, BAGUE_OK, "{}", last_error());
            assert_eq!(res.stop_reason, BAGUE_STOP_EOG, "{id}: {:?}", c.text(None));
            check_intent(
                c.text(Some(bague_piece_kind::BAGUE_PIECE_ANSWER))
                    .trim_start(),
            );
            if skip {
                assert!(
                    c.text(Some(bague_piece_kind::BAGUE_PIECE_THINKING))
                        .is_empty()
                );
            }
        }
        // Lifted again: the same session generates freely.
        let p = bague_generate_params {
            max_tokens: 5,
            ..greedy(5)
        };
        let (st, res) = run(&sess, b"Set it to 21 degrees", p, &mut Collector::default());
        assert_eq!(st, BAGUE_OK, "{}", last_error());
        assert_eq!(res.n_generated_tokens, 5);
    }
}

#[test]
fn lark_grammar_constrains_the_answer() {
    let m = Model::open(SMOL);
    let sess = m.session(256, 1);
    let g = "start: (\"up\" | \"down\") \" \" /[1-9]/\n";
    let p = bague_generate_params {
        max_tokens: 20,
        temperature: 0.8,
        grammar: s(g),
        ..params(m.0)
    };
    for _ in 0..3 {
        let mut c = Collector::default();
        let (st, res) = run(&sess, b"Move", p, &mut c);
        assert_eq!(st, BAGUE_OK, "{}", last_error());
        assert_eq!(res.stop_reason, BAGUE_STOP_EOG);
        let t = c.text(None);
        let (dir, n) = t.split_once(' ').unwrap();
        assert!(["up", "down"].contains(&dir) && n.len() == 1, "{t:?}");
    }
}

#[test]
fn bad_schemas_and_grammars_are_invalid_arguments() {
    let m = Model::open(SMOL);
    let sess = m.session(256, 1);
    let bad = [
        (
            bague_generate_params {
                json_schema: s("{\"type\": }"),
                ..greedy(4)
            },
            "params->json_schema: JSON schema: not valid JSON: line 1, column 10",
        ),
        (
            bague_generate_params {
                json_schema: s(r#"{"type":"integer","minimum":3,"maximum":1}"#),
                ..greedy(4)
            },
            "Unsatisfiable",
        ),
        (
            bague_generate_params {
                grammar: s("root ::= \"a\""),
                ..greedy(4)
            },
            "GBNF",
        ),
        (
            bague_generate_params {
                grammar: s("start: (\"a\"\n"),
                ..greedy(4)
            },
            "line 1, column",
        ),
        (
            bague_generate_params {
                json_schema: s(SCHEMA),
                grammar: s("start: \"a\""),
                ..greedy(4)
            },
            "both set",
        ),
    ];
    for (p, needle) in bad {
        let mut c = Collector::default();
        let (st, res) = run(&sess, b"hello", p, &mut c);
        expect_err(st, BAGUE_ERR_INVALID_ARGUMENT, needle);
        assert!(c.ids.is_empty(), "nothing ran");
        assert_eq!(res.n_generated_tokens, 0);
    }
    // Invalid UTF-8 in a schema.
    let raw = [b'{', 0xff, b'}'];
    let p = bague_generate_params {
        json_schema: bague_str {
            ptr: raw.as_ptr().cast(),
            len: raw.len(),
        },
        ..greedy(4)
    };
    let (st, _) = run(&sess, b"hello", p, &mut Collector::default());
    expect_err(st, BAGUE_ERR_INVALID_UTF8, "json_schema");
    // The session still works after the errors.
    let (st, _) = run(&sess, b"hello", greedy(3), &mut Collector::default());
    assert_eq!(st, BAGUE_OK, "{}", last_error());
}

//! Chat and sampler settings read from the committed tiny GGUF models (real R1 and SmolLM2
//! tokenizer headers): the file's template is the one llama.cpp rendered, its built-in is
//! detected, and the sampler defaults follow the model family.

mod chat_data;

use bague::chat::{Builtin, ChatTemplate};
use bague::gguf::File;
use bague::sampler::{ModelHints, SamplerConfig};

#[test]
fn r1_tiny_template_and_sampling_defaults() {
    let bytes = bague_testkit::tiny_bytes("r1-tiny-random-q4_0");
    let f = File::parse(&bytes).unwrap();
    let reference = chat_data::load("r1-tiny-random-q4_0", "r1-distill-qwen-7b-head");
    let src = f.get_str("tokenizer.chat_template").unwrap();
    assert_eq!(src, reference.template);
    assert_eq!(Builtin::detect(src), Some(Builtin::r1()));
    let t = ChatTemplate::new(src, reference.tokens.clone()).unwrap();
    for c in &reference.cases {
        assert_eq!(
            t.apply(&c.messages, c.add_generation_prompt).unwrap(),
            c.formatted_text
        );
    }
    let hints = ModelHints::from_metadata(&f);
    assert!(hints.is_r1_distill(), "R1 template detected");
    let cfg = SamplerConfig::defaults_for(&hints);
    assert_eq!((cfg.temp, cfg.top_p), (0.6, 0.95));
}

#[test]
fn smol_tiny_template_and_sampling_defaults() {
    let bytes = bague_testkit::tiny_bytes("smol-tiny-random-q4_0");
    let f = File::parse(&bytes).unwrap();
    let src = f.get_str("tokenizer.chat_template").unwrap();
    assert_eq!(Builtin::detect(src), Some(Builtin::smollm()));
    let hints = ModelHints::from_metadata(&f);
    assert!(!hints.is_r1_distill());
    assert!(hints.name.is_some_and(|n| n.contains("SmolLM2")));
    assert_eq!(
        SamplerConfig::defaults_for(&hints),
        SamplerConfig::LLAMA_DEFAULTS
    );
}

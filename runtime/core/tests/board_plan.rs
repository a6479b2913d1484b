//! The memory plan against a board: fits / does not fit by N bytes, the largest context,
//! and the plan as a contract (every byte a session allocates, and no more, on the host).

use bague::board::{BoardSpec, RING, WeightSource};
use bague::gguf::File;
use bague::session::{MemoryPlan, SessionOptions};

fn tiny() -> Vec<u8> {
    let p = bague_testkit::testdata().join("models/smol-tiny-random-q4_0.gguf");
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn ring_opts(n_ctx: usize) -> SessionOptions {
    SessionOptions {
        n_ctx,
        n_batch: RING.n_batch.min(n_ctx),
        n_threads: RING.threads,
        ..Default::default()
    }
}

#[test]
fn known_boards_by_name() {
    for name in ["ring", "hearing", "phone", "car"] {
        assert_eq!(BoardSpec::by_name(name).unwrap().name, name);
    }
    assert!(BoardSpec::by_name("watch").is_none());
}

#[test]
fn fits_and_does_not_fit_by_exactly_the_difference() {
    let bytes = tiny();
    let f = File::parse(&bytes).unwrap();
    let plan = MemoryPlan::new(&f, &ring_opts(256)).unwrap();
    assert!(plan.tokenizer > 0 && plan.index > 0);
    assert_eq!(
        plan.ram_bytes(),
        (plan.index + plan.tokenizer + plan.heap().max(plan.tokenizer_load)) as u64
    );
    let exact = BoardSpec {
        ram_bytes: plan.ram_bytes(),
        ..RING
    };
    let fit = plan.fit(&exact, bytes.len() as u64);
    assert!(fit.fits());
    let short = BoardSpec {
        ram_bytes: plan.ram_bytes() - 1,
        ..RING
    };
    let fit = plan.fit(&short, bytes.len() as u64);
    assert!(!fit.fits());
    assert_eq!(fit.ram_over(), 1);
    // XIP: the whole file must fit the weight memory.
    let small_flash = BoardSpec {
        weights: WeightSource::Xip {
            bytes: bytes.len() as u64 - 10,
        },
        ..exact
    };
    assert_eq!(plan.fit(&small_flash, bytes.len() as u64).flash_over(), 10);
    // mmap: the file counts against RAM.
    let mmap = BoardSpec {
        weights: WeightSource::Mmap,
        ..exact
    };
    assert_eq!(
        plan.fit(&mmap, bytes.len() as u64).ram_over(),
        bytes.len() as u64
    );
}

#[test]
fn largest_context_is_the_edge() {
    let bytes = tiny();
    let f = File::parse(&bytes).unwrap();
    let n = bytes.len() as u64;
    let largest = MemoryPlan::largest_ctx(&f, &ring_opts(256), &RING, n, 1 << 20)
        .unwrap()
        .expect("the tiny model fits a ring at some context");
    let fits = |ctx| {
        MemoryPlan::new(&f, &ring_opts(ctx))
            .unwrap()
            .fit(&RING, n)
            .fits()
    };
    assert!(fits(largest));
    assert!(!fits(largest + 1));
    // A board too small for one position has no largest context.
    let none = BoardSpec {
        ram_bytes: 1000,
        ..RING
    };
    assert_eq!(
        MemoryPlan::largest_ctx(&f, &ring_opts(256), &none, n, 1 << 20).unwrap(),
        None
    );
}

#[test]
fn the_header_plan_covers_what_the_bound_model_plans() {
    let bytes = tiny();
    let f = File::parse(&bytes).unwrap();
    let m = bague::model::Model::from_gguf(&f).unwrap();
    let o = ring_opts(64);
    let header = MemoryPlan::new(&f, &o).unwrap();
    let bound = MemoryPlan::for_model(&m, &o).unwrap();
    // The same session numbers; only the header's plan knows the tokenizer and index, and
    // the decoder and stop-matcher buffers, which the vocabulary's longest piece sizes.
    assert_eq!(
        (header.kv_cache, header.scratch),
        (bound.kv_cache, bound.scratch)
    );
    assert_eq!((bound.tokenizer, bound.index), (0, 0));
    let tok = bague::tokenizer::Tokenizer::from_gguf(&f).unwrap();
    let d = tok.decoder_bytes();
    let r = |n: usize| n.next_multiple_of(bague::session::PLAN_GRANULE);
    let empty = bague::tokenizer::DecoderBytes::for_max_piece(0);
    let decoder = r(d.piece) + r(d.pending) + r(d.out);
    let stop_text = 2 * (r(d.out) - r(empty.out));
    assert_eq!(header.generator - bound.generator, decoder + stop_text);
}

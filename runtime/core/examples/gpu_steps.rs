//! Runs a GGUF model on the GPU path and prints what a step costs: upload and pipeline time,
//! prefill and decode wall time, and the dispatch / pass / submission / readback counts per
//! decode token. On llvmpipe the times say nothing about a GPU; the counts are the point.
//!
//! `cargo run --release -p bague --features gpu --example gpu_steps -- MODEL.gguf [ADAPTER] [N_DECODE]`
//! (ADAPTER: a name such as `llvmpipe`; default: the best hardware adapter).

use bague::model::Model;
use bague::session::gpu::model_desc as desc;
use bague_gpu::{AdapterChoice, Device, GpuModel, GpuSession, SessionOptions};
use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let path = args
        .get(1)
        .ok_or("usage: gpu_steps MODEL.gguf [ADAPTER] [N_DECODE]")?;
    let choice = match args.get(2) {
        Some(n) if n != "auto" => AdapterChoice::Named(n.clone()),
        _ => AdapterChoice::Auto,
    };
    let n_decode: usize = args.get(3).map_or(Ok(8), |s| s.parse())?;
    let mapped = bague::loader::MappedFile::open(path)?;
    let file = mapped.parse()?;
    let model = Model::from_gguf(&file)?;
    let t = Instant::now();
    let dev = Device::new(&choice)?;
    println!(
        "adapter: {} ({:.2} s)",
        dev.adapter_name(),
        t.elapsed().as_secs_f64()
    );
    let t = Instant::now();
    let gm = GpuModel::upload(&dev, &desc(&model))?;
    println!(
        "upload + pipelines: {:.2} s, {} weight bytes on the device",
        t.elapsed().as_secs_f64(),
        gm.weight_bytes()
    );
    let mut s = GpuSession::new(
        &gm,
        SessionOptions {
            n_ctx: 512,
            n_batch: 64,
        },
    )?;
    let prompt: Vec<u32> = (0..16).map(|i| 100 + i).collect();
    let t = Instant::now();
    s.prefill(&prompt)?;
    println!(
        "first prefill (pipelines warm up): {:.3} s",
        t.elapsed().as_secs_f64()
    );
    s.reset();
    let t = Instant::now();
    let mut out = s.prefill(&prompt)?;
    let st = s.last_stats();
    println!(
        "prefill {} tokens: {:.3} s; {} dispatches, {} pass, {} submission, {} bytes read back",
        prompt.len(),
        t.elapsed().as_secs_f64(),
        st.dispatches,
        st.passes,
        st.submissions,
        st.bytes_read
    );
    for i in 0..n_decode {
        let t = Instant::now();
        out = s.decode(out.token)?;
        let st = s.last_stats();
        println!(
            "decode {i}: token {} ({:.3} s); {} dispatches ({} layers x 5 + {} for embedding, output matrix, argmax), {} pass, {} submission, {} bytes read back",
            out.token,
            t.elapsed().as_secs_f64(),
            st.dispatches,
            gm.n_layer(),
            st.dispatches - 5 * gm.n_layer() as u64,
            st.passes,
            st.submissions,
            st.bytes_read
        );
    }
    Ok(())
}

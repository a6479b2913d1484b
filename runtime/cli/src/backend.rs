//! `--backend cpu|gpu|gpu:NAME|auto` (`run`, `chat`, `bench`, `perplexity`): where a
//! session runs, and the weights uploaded once for it when that is a GPU.
//!
//! - `cpu` (the default): this process's CPU kernels.
//! - `gpu`: the best hardware adapter; no adapter, a tensor type without a GPU kernel, or a
//!   buffer the device refuses is an error naming it.
//! - `gpu:NAME`: the first adapter whose name contains NAME (case-insensitive), software
//!   ones included (`gpu:llvmpipe`, Mesa's software Vulkan device, for tests).
//! - `auto`: a hardware GPU when one is found and can run the model and the options, else
//!   the CPU with one line on stderr saying why. A software adapter is never taken.
//!
//! Built without the `gpu` feature, the CLI is CPU only: `gpu` is an error that says so and
//! `auto` runs on the CPU (with its one line).

use anyhow::{Result, bail};
use bague::model::Model;
use bague::session::{BackendChoice, Session, SessionOptions};

/// The `--backend` flag.
#[derive(clap::Args, Clone, Debug)]
pub struct BackendArgs {
    /// Where the model runs: cpu; gpu (the best hardware GPU, else an error); gpu:NAME (the
    /// first adapter whose name contains NAME, software ones included: gpu:llvmpipe); auto
    /// (a hardware GPU when one can run the model, else the CPU, saying why on stderr).
    #[arg(long, value_name = "BACKEND", default_value = "cpu", value_parser = parse_backend)]
    pub backend: BackendChoice,
}

fn parse_backend(s: &str) -> Result<BackendChoice, String> {
    s.parse().map_err(|e: &str| e.to_string())
}

/// The model's weights on the GPU when the backend is one (`None`: run on the CPU).
pub struct Backend {
    choice: BackendChoice,
    #[cfg(feature = "gpu")]
    weights: Option<bague::session::gpu::GpuModel>,
}

/// One line on stderr: `auto` runs on the CPU, and why.
fn fallback(why: &dyn std::fmt::Display) {
    eprintln!("bague: --backend auto: {why}; running on the CPU");
}

impl Backend {
    /// Opens the device and uploads `model`'s weights when `choice` asks for a GPU.
    /// Errors (for `gpu` / `gpu:NAME` only; `auto` falls back): no adapter, no adapter of
    /// that name, a tensor type without a GPU kernel, a buffer the device refuses, a build
    /// without the GPU backend.
    pub fn open(choice: &BackendChoice, model: &Model<'_>) -> Result<Backend> {
        #[cfg(feature = "gpu")]
        {
            use bague::session::gpu::{self, AdapterChoice, Device};
            let adapter = match choice {
                BackendChoice::Cpu => None,
                BackendChoice::Auto => Some(AdapterChoice::Auto),
                BackendChoice::Gpu { adapter: None } => Some(AdapterChoice::Auto),
                BackendChoice::Gpu { adapter: Some(n) } => Some(AdapterChoice::Named(n.clone())),
            };
            let weights = match adapter {
                None => None,
                Some(a) => match Device::new(&a).and_then(|dev| gpu::upload(&dev, model)) {
                    Ok(w) => Some(w),
                    Err(e) if *choice == BackendChoice::Auto => {
                        fallback(&e);
                        None
                    }
                    Err(e) => bail!("--backend {}: {e}", name(choice)),
                },
            };
            Ok(Backend {
                choice: choice.clone(),
                weights,
            })
        }
        #[cfg(not(feature = "gpu"))]
        {
            let _ = model;
            match choice {
                BackendChoice::Gpu { .. } => bail!(
                    "--backend {}: this bague was built without the GPU backend (build it with `--features gpu`)",
                    name(choice)
                ),
                BackendChoice::Auto => fallback(&"this bague was built without the GPU backend"),
                BackendChoice::Cpu => {}
            }
            Ok(Backend {
                choice: choice.clone(),
            })
        }
    }

    /// The GPU weights, when the session runs on a GPU.
    #[cfg(feature = "gpu")]
    pub fn gpu(&self) -> Option<&bague::session::gpu::GpuModel> {
        self.weights.as_ref()
    }

    /// True when sessions run on the CPU: `cpu`, or `auto` without a usable GPU (the
    /// callers then build the CPU session themselves, with `--threads auto`'s pool).
    pub fn is_cpu(&self) -> bool {
        #[cfg(feature = "gpu")]
        let on_gpu = self.weights.is_some();
        #[cfg(not(feature = "gpu"))]
        let on_gpu = false;
        !on_gpu
    }

    /// A session on this backend. `auto` falls back to the CPU (one line on stderr) when
    /// the GPU refuses the options (a Q8_0 KV cache, the context shift, a KV cache too large
    /// for the device). Errors: the CPU session's, or the GPU's for `gpu` / `gpu:NAME`.
    pub fn session<'m, 'a>(
        &'m self,
        model: &'m Model<'a>,
        opts: SessionOptions,
    ) -> Result<Session<'m, 'a>> {
        #[cfg(feature = "gpu")]
        if let Some(w) = &self.weights {
            match Session::on_gpu(model, w, opts) {
                Ok(s) => return Ok(s),
                Err(e) if self.choice == BackendChoice::Auto => fallback(&e),
                Err(e) => bail!("--backend {}: {e}", name(&self.choice)),
            }
        }
        let _ = &self.choice;
        Session::new(model, opts).map_err(crate::output::session_error)
    }
}

/// The flag's value as the user wrote it.
fn name(choice: &BackendChoice) -> String {
    match choice {
        BackendChoice::Cpu => "cpu".into(),
        BackendChoice::Auto => "auto".into(),
        BackendChoice::Gpu { adapter: None } => "gpu".into(),
        BackendChoice::Gpu { adapter: Some(n) } => format!("gpu:{n}"),
    }
}

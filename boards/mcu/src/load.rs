//! The firmware's model load sequence, the same on every board: parse the GGUF file read in
//! place, compute the [`MemoryPlan`] for the board's session options and check it against
//! the board, close the arena to the plan's bytes, then load tokenizer and model. Each step
//! prints its line (or its error) prefixed with the board's tag; the board turns a
//! [`LoadError`] into its own exit code.

use bague::board::Board;
use bague::bundle::{Bundle, BundleOptions};
use bague::gguf;
use bague::session::{MemoryPlan, SessionOptions};

use crate::{Arena, Out, say};

/// A model [`load`] loaded, with what the board needs to run it.
pub struct Loaded<'a> {
    /// File, tokenizer and model, borrowing the file's bytes.
    pub bundle: Bundle<'a>,
    /// The memory plan the arena was closed to.
    pub plan: MemoryPlan,
    /// The session options the plan is for (the board's context, batch and threads).
    pub opts: SessionOptions,
    /// Ticks of the board's clock that loading tokenizer and model took (after the plan).
    pub load_ticks: u64,
}

/// Why [`load`] stopped; it has printed the reason.
#[derive(Debug)]
pub enum LoadError {
    /// The file does not parse, or its tensor data runs past its end (the same for a
    /// board: a corrupt file, not a load error).
    CorruptGguf,
    /// No memory plan for these options (the file's numbers overflow, an unknown
    /// architecture).
    NoPlan,
    /// The plan does not fit the board's RAM or weight memory: nothing was allocated past
    /// the file's index.
    DoesNotFit,
    /// Loading tokenizer or model failed (the arena's refusal included: an `OutOfMemory`
    /// error value).
    Load(bague::bundle::Error),
}

/// Loads `model` (the GGUF file, read in place) for `board` with a context of `n_ctx`
/// tokens, printing each step as `TAG: …` to `out`.
///
/// The arena must be open (its limit at least what parsing the file's index takes): the
/// parse allocates that index before the plan can be known. Once the plan fits,
/// `arena`'s limit becomes the plan's bytes, or `arena_limit` when given (a test knob: an
/// arena closed below the plan must end in an out-of-memory error, never a fault).
///
/// The session options are the board's: `n_ctx`, a batch of the board's `n_batch` (at
/// most `n_ctx`), its threads, and its RAM budget as the memory budget.
#[allow(clippy::result_large_err)] // the core's errors go up as they are: an error ends the run
pub fn load<'a>(
    out: &mut Out,
    tag: &str,
    board: &impl Board,
    arena: &Arena,
    model: &'a [u8],
    n_ctx: usize,
    arena_limit: Option<usize>,
) -> Result<Loaded<'a>, LoadError> {
    let spec = board.spec();
    let file = match gguf::File::parse(model).and_then(|f| f.check_tensor_data().map(|()| f)) {
        Ok(f) => f,
        Err(e) => {
            say!(out, "{tag}: error: corrupt GGUF: {e}");
            return Err(LoadError::CorruptGguf);
        }
    };
    let opts = SessionOptions {
        n_ctx,
        n_batch: spec.n_batch.min(n_ctx),
        n_threads: spec.threads,
        memory_budget: Some(spec.ram_bytes as usize),
        ..SessionOptions::default()
    };
    let plan = match MemoryPlan::new(&file, &opts) {
        Ok(p) => p,
        Err(e) => {
            say!(out, "{tag}: error: no plan: {e}");
            return Err(LoadError::NoPlan);
        }
    };
    let fit = plan.fit(spec, model.len() as u64);
    say!(
        out,
        "{tag}: plan n_ctx {} n_batch {}: kv {} + scratch {} + generator {} + tokenizer {} (load +{}) + index {} = {} bytes RAM (budget {})",
        opts.n_ctx,
        opts.batch_size(),
        plan.kv_cache,
        plan.scratch,
        plan.generator,
        plan.tokenizer,
        plan.tokenizer_load,
        plan.index,
        plan.ram_bytes(),
        fit.ram_budget
    );
    if !fit.fits() {
        say!(
            out,
            "{tag}: error: does not fit: RAM over by {} bytes, weight memory over by {} bytes",
            fit.ram_over(),
            fit.flash_over()
        );
        return Err(LoadError::DoesNotFit);
    }
    // The file's index (allocated by the parse) is part of the plan: from here on the
    // arena holds exactly the plan's bytes.
    let limit = arena_limit.unwrap_or(plan.ram_bytes() as usize);
    if arena_limit.is_some() {
        say!(
            out,
            "{tag}: test: arena closed at {limit} bytes (plan {})",
            plan.ram_bytes()
        );
    }
    arena.set_limit(limit);
    let t0 = board.ticks();
    let bundle = match Bundle::from_file(
        file,
        BundleOptions {
            kernels: Some(board.kernels()),
            builtin_template: true,
        },
    ) {
        Ok(b) => b,
        Err(e) => {
            say!(out, "{tag}: error: load: {e}");
            return Err(LoadError::Load(e));
        }
    };
    Ok(Loaded {
        bundle,
        plan,
        opts,
        load_ticks: board.ticks() - t0,
    })
}

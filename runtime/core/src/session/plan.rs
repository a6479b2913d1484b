//! [`MemoryPlan`]: every byte a session allocates, computed before anything is allocated —
//! from the GGUF header alone ([`MemoryPlan::new`], even when the tensor data is not there,
//! as with the R1 head file) or from a bound model ([`MemoryPlan::for_model`]), by one
//! computation. [`Session::new`](super::Session::new) allocates exactly
//! [`MemoryPlan::session`] bytes, checks them against a budget first when it has one, and
//! refuses with an error instead of aborting when the heap cannot give them.

use super::SessionOptions;
use crate::board::{BoardSpec, WeightSource};
use crate::gguf::File;
use crate::model::{Config, Error, KvCache, KvType, Model, is_matmul_type};
use crate::sampler::Candidate;
use bague_kernels::Kernels;

/// Repetition window the generator's part of the plan assumes (llama.cpp's
/// `penalty_last_n` default).
pub const PLAN_PENALTY_LAST_N: usize = 64;

/// The most end-of-generation ids a vocabulary can have (llama.cpp's EOG texts plus the
/// EOS, EOT, EOM and FIM pad / repo / separator ids): the stop matcher's id table.
pub const PLAN_MAX_EOG: usize = crate::tokenizer::MAX_EOG_IDS;

/// The allocation granule the plan rounds every buffer up to: what a board's heap
/// reserves per request (8 bytes on the ring's first-fit heap; a host malloc's 16-byte
/// granule is within the plan's 5 %).
pub const PLAN_GRANULE: usize = 8;

/// Bytes needed to run a model with one session. Weights are mapped (an mmap, XIP flash),
/// not copied: they are counted apart from the heap.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemoryPlan {
    /// Bytes of tensor data (mapped, read in place; not heap).
    pub weights_mapped: u64,
    /// KV cache (heap): `2 × n_layer × n_ctx × kv_dim` values of the KV type.
    pub kv_cache: usize,
    /// Work buffers of the forward pass (heap): activations, quantized activations,
    /// attention scores per thread, logits, and the context shift's RoPE table and key row.
    pub scratch: usize,
    /// The generation loop's buffers (heap, while a `Generator` exists): the sampler's
    /// candidates (12 bytes per vocabulary entry) and repetition window (for a window of
    /// [`PLAN_PENALTY_LAST_N`]), the prompt's ids, the ids in the KV cache and the output
    /// ids (4 bytes per position each, for a whole context), the streaming decoder's
    /// buffers (from the longest token piece, [`crate::tokenizer::DecoderBytes`]) and the
    /// stop matcher's (its id table, [`PLAN_MAX_EOG`] ids, and two text buffers of one
    /// decoded token each: a request without stop strings — each stop string adds twice
    /// its length). Every buffer is rounded up to [`PLAN_GRANULE`].
    pub generator: usize,
    /// The tokenizer's tables in RAM once loaded ([`tokenizer_ram`]): token texts (borrowed
    /// from the file: one `&str` each), types and attributes, the text → id index, the
    /// merge table. 0 for a file without a tokenizer, and in [`for_model`](Self::for_model)
    /// (a bound model has no tokenizer).
    pub tokenizer: usize,
    /// Bytes over [`tokenizer`](Self::tokenizer) that loading the tokenizer holds for a
    /// while (the metadata's token types and merge list), freed before a session exists.
    pub tokenizer_load: usize,
    /// The parsed file's key and tensor index ([`File::index_bytes`]) and the model's
    /// table of per-layer tensor views (`n_layer` × the size of a [`Layer`](crate::model::Layer)).
    /// 0 in [`for_model`](Self::for_model) (a bound model's file was parsed before).
    pub index: usize,
}

impl MemoryPlan {
    /// The plan for `file` with the session options `opts` (`n_ctx`, `n_batch`,
    /// `n_threads`, `kv_type`; a context policy allocates nothing). Reads only the header.
    /// Errors: those of [`Config::from_gguf`]; `BadOption` for `n_ctx` 0, `n_batch` above
    /// `n_ctx`, a Q8_0 cache on a head size that is not a multiple of 32, sizes that
    /// overflow.
    pub fn new(file: &File<'_>, opts: &SessionOptions) -> Result<MemoryPlan, Error> {
        let cfg = Config::from_gguf(file)?;
        let mut weights_mapped = 0u64;
        let mut max_act = 0u64;
        for t in file.tensors() {
            weights_mapped = weights_mapped.saturating_add(t.n_bytes());
            if t.n_dims == 2 && is_matmul_type(t.ty) {
                let act = Kernels::vec_dot_type(t.ty).row_bytes(t.dims[0]);
                max_act = max_act.max(act.unwrap_or(0));
            }
        }
        let max_act = usize::try_from(max_act).map_err(|_| overflow())?;
        let max_piece = match file.get_str_array("tokenizer.ggml.tokens") {
            Ok(texts) => crate::tokenizer::max_piece_bytes(texts),
            Err(_) => 0,
        };
        let mut plan = Self::compute(&cfg, max_act, weights_mapped, opts, max_piece)?;
        plan.index = cfg
            .n_layer
            .checked_mul(core::mem::size_of::<crate::model::Layer<'_>>())
            .and_then(|l| l.checked_add(file.index_bytes()))
            .ok_or_else(overflow)?;
        let count = |key| file.get_array(key).map_or(0, |a| a.len());
        let n_tokens = count("tokenizer.ggml.tokens");
        if n_tokens > 0 {
            let missing = match file.get_str_array("tokenizer.ggml.tokens") {
                Ok(texts) => crate::tokenizer::missing_byte_symbols(texts),
                Err(_) => 0,
            };
            let t = tokenizer_ram(n_tokens, count("tokenizer.ggml.merges"), missing);
            plan.tokenizer = t.resident;
            plan.tokenizer_load = t.load;
        }
        Ok(plan)
    }

    /// The plan for a bound model (the same numbers as [`new`](Self::new) on its file,
    /// except the generator's decoder and stop-matcher buffers: a bound model has no
    /// vocabulary, its longest piece counts as 0). Errors: as `new`, without the header's.
    pub fn for_model(model: &Model<'_>, opts: &SessionOptions) -> Result<MemoryPlan, Error> {
        let max_act = crate::model::forward::max_act_row_bytes(model);
        Self::compute(&model.config, max_act, model.weight_bytes() as u64, opts, 0)
    }

    /// The one computation: options checked, every buffer sized with checked arithmetic.
    /// `max_piece`: the vocabulary's longest token piece (0 without a tokenizer).
    fn compute(
        cfg: &Config,
        max_act_row: usize,
        weights_mapped: u64,
        opts: &SessionOptions,
        max_piece: usize,
    ) -> Result<MemoryPlan, Error> {
        if opts.n_ctx == 0 {
            return Err(Error::BadOption {
                option: "n_ctx",
                why: "must be at least 1",
            });
        }
        if opts.n_batch > opts.n_ctx {
            return Err(Error::BadOption {
                option: "n_batch",
                why: "must not exceed n_ctx",
            });
        }
        if opts.kv_type == KvType::Q8_0 && cfg.head_dim % 32 != 0 {
            return Err(Error::BadOption {
                option: "kv_type",
                why: "q8_0 needs head_dim to be a multiple of 32 (the Q8_0 block)",
            });
        }
        let kv_cache = KvCache::bytes_needed(cfg, opts.n_ctx, opts.kv_type).ok_or_else(overflow)?;
        let scratch = crate::model::forward::Scratch::bytes_for(
            cfg,
            max_act_row,
            opts.batch_size(),
            opts.n_ctx,
            opts.n_threads.max(1),
        )
        .and_then(|s| s.checked_add((cfg.head_dim + cfg.kv_dim()).checked_mul(4)?))
        .ok_or_else(overflow)?;
        let generator = generator_bytes(cfg.n_vocab, opts.n_ctx, max_piece).ok_or_else(overflow)?;
        Ok(MemoryPlan {
            weights_mapped,
            kv_cache,
            scratch,
            generator,
            tokenizer: 0,
            tokenizer_load: 0,
            index: 0,
        })
    }

    /// Heap bytes [`Session::new`](super::Session::new) allocates: KV cache and work
    /// buffers.
    pub fn session(&self) -> usize {
        self.kv_cache.saturating_add(self.scratch)
    }

    /// Heap bytes of a session and its generation loop.
    pub fn heap(&self) -> usize {
        self.session().saturating_add(self.generator)
    }

    /// RAM bytes a board must give for the whole run, loading the tokenizer first: the
    /// file and model index, the tokenizer's tables, plus the larger of the load's transient buffers and the session with its
    /// generation loop. This is the static arena of an MCU board.
    pub fn ram_bytes(&self) -> u64 {
        let run = self.heap().max(self.tokenizer_load) as u64;
        (self.tokenizer as u64)
            .saturating_add(self.index as u64)
            .saturating_add(run)
    }

    /// Heap bytes plus the mapped weights (what a device must hold in RAM or map).
    pub fn total(&self) -> u64 {
        self.weights_mapped.saturating_add(self.heap() as u64)
    }
}

/// [`MemoryPlan::generator`]: one entry per allocation of `Generator::new` and
/// `Generator::generate`, each rounded up to [`PLAN_GRANULE`].
fn generator_bytes(n_vocab: usize, n_ctx: usize, max_piece: usize) -> Option<usize> {
    let ids = |n: usize| n.checked_mul(4);
    let dec = crate::tokenizer::DecoderBytes::for_max_piece(max_piece);
    let stop = crate::generate::stop::StopDetector::bytes_for(PLAN_MAX_EOG, &[], dec.out);
    let decoder = if max_piece == 0 {
        [0; 3]
    } else {
        [dec.piece, dec.pending, dec.out]
    };
    let buffers = [
        n_vocab.checked_mul(core::mem::size_of::<Candidate>())?, // sampler candidates
        ids(PLAN_PENALTY_LAST_N)?,                               // repetition window
        ids(PLAN_PENALTY_LAST_N)?,                               // and its scratch
        ids(n_ctx)?,                                             // the prompt's ids
        ids(n_ctx.checked_add(1)?)?,                             // ids in the KV cache
        ids(n_ctx.checked_add(5)?)?,                             // output ids
    ];
    buffers
        .into_iter()
        .chain(decoder)
        .chain(stop)
        .try_fold(0usize, |sum, b| {
            let b = if b == 0 {
                0
            } else {
                b.checked_next_multiple_of(PLAN_GRANULE)?
            };
            sum.checked_add(b)
        })
}

/// The tokenizer's RAM ([`MemoryPlan::tokenizer`], [`MemoryPlan::tokenizer_load`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TokenizerRam {
    /// Tables kept while the tokenizer lives.
    pub resident: usize,
    /// Transient bytes over `resident` while it is built.
    pub load: usize,
}

/// RAM of a byte-level BPE tokenizer with `n_tokens` tokens and `n_merges` merges on this
/// target (pointer width matters: a token text is a borrowed `&str`): the text slice
/// table, one byte of type and two of attributes per token, the text → id hash index
/// (hashbrown: the next power of two ≥ 8/7 of the tokens, 16-byte slots plus one control
/// byte each and a group), and the positional merge table (2 bytes per merge); while
/// loading, the metadata's `i32` types and a `&str` per merge line. `missing_bytes`: the
/// byte-level characters that are not tokens ([`crate::tokenizer::missing_byte_symbols`]),
/// each a synthetic symbol with its own short text (one [`PLAN_GRANULE`]).
/// Vocabularies whose merges are not positional (see the tokenizer's `vocab` module) use a
/// hash table instead and need more; the GGUF files the project knows are positional.
pub fn tokenizer_ram(n_tokens: usize, n_merges: usize, missing_bytes: usize) -> TokenizerRam {
    let str_ref = core::mem::size_of::<&str>();
    let cap = n_tokens.saturating_add(256); // byte-level symbols that are not tokens
    let buckets = if cap < 8 {
        8
    } else {
        cap.saturating_mul(8).div_ceil(7).next_power_of_two()
    };
    let index = buckets.saturating_mul(16 + 1).saturating_add(16);
    let resident = n_tokens
        .saturating_mul(str_ref + 1 + 2)
        .saturating_add(index)
        .saturating_add(n_merges.saturating_mul(2))
        .saturating_add(
            missing_bytes
                .saturating_mul(core::mem::size_of::<alloc::string::String>() + PLAN_GRANULE),
        );
    let load = n_tokens
        .saturating_mul(4)
        .saturating_add(n_merges.saturating_mul(str_ref));
    TokenizerRam { resident, load }
}

impl MemoryPlan {
    /// The largest context (at most `max_ctx`) whose plan for `file` with `opts` fits
    /// `board` ([`MemoryPlan::fit`]; `file_bytes` is the file's size), or `None` when not
    /// even one position fits. A plan grows with `n_ctx`, so this is a bisection. The
    /// batch size follows the context (`n_batch` is capped at `n_ctx`).
    /// Errors: those of [`MemoryPlan::new`] other than the context's.
    pub fn largest_ctx(
        file: &File<'_>,
        opts: &SessionOptions,
        board: &BoardSpec,
        file_bytes: u64,
        max_ctx: usize,
    ) -> Result<Option<usize>, Error> {
        let fits = |n_ctx: usize| -> Result<bool, Error> {
            let o = SessionOptions {
                n_ctx,
                n_batch: opts.n_batch.min(n_ctx),
                ..*opts
            };
            match MemoryPlan::new(file, &o) {
                Ok(p) => Ok(p.fit(board, file_bytes).fits()),
                Err(Error::BadOption {
                    why: "memory sizes overflow",
                    ..
                }) => Ok(false),
                Err(e) => Err(e),
            }
        };
        if max_ctx == 0 || !fits(1)? {
            return Ok(None);
        }
        let (mut lo, mut hi) = (1usize, max_ctx); // fits(lo); answer in lo..=hi
        while lo < hi {
            let mid = lo + (hi - lo).div_ceil(2);
            if fits(mid)? {
                lo = mid;
            } else {
                hi = mid - 1;
            }
        }
        Ok(Some(lo))
    }
}

fn overflow() -> Error {
    Error::BadOption {
        option: "n_ctx",
        why: "memory sizes overflow",
    }
}

/// Whether a plan fits a board, and by how much (see [`MemoryPlan::fit`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fit {
    /// Bytes of RAM the plan needs on this board: the heap ([`MemoryPlan::heap`]), plus the
    /// mapped weights on an [`WeightSource::Mmap`] board.
    pub ram_need: u64,
    /// The board's RAM budget ([`BoardSpec::ram_bytes`]).
    pub ram_budget: u64,
    /// Bytes of the weight memory the file needs on an XIP board (the whole GGUF file:
    /// header, tokenizer and tensors are read in place); 0 on an mmap board.
    pub flash_need: u64,
    /// The XIP region's size; 0 on an mmap board.
    pub flash_budget: u64,
}

impl Fit {
    /// Both RAM and weight memory are within their budgets.
    pub fn fits(&self) -> bool {
        self.ram_need <= self.ram_budget && self.flash_need <= self.flash_budget
    }

    /// RAM bytes over the budget (0 when it fits).
    pub fn ram_over(&self) -> u64 {
        self.ram_need.saturating_sub(self.ram_budget)
    }

    /// Weight-memory bytes over the XIP region (0 when it fits).
    pub fn flash_over(&self) -> u64 {
        self.flash_need.saturating_sub(self.flash_budget)
    }
}

impl MemoryPlan {
    /// This plan against `board`; `file_bytes` is the GGUF file's size (what an XIP board
    /// must hold in its weight memory).
    pub fn fit(&self, board: &BoardSpec, file_bytes: u64) -> Fit {
        match board.weights {
            WeightSource::Mmap => Fit {
                ram_need: self.ram_bytes().saturating_add(file_bytes),
                ram_budget: board.ram_bytes,
                flash_need: 0,
                flash_budget: 0,
            },
            WeightSource::Xip { bytes } => Fit {
                ram_need: self.ram_bytes(),
                ram_budget: board.ram_bytes,
                flash_need: file_bytes,
                flash_budget: bytes,
            },
        }
    }
}

//! `bague run`: generate text from a prompt and stream it, then print speed and memory.
//!
//! Also the pieces `bague chat` and `bague perplexity` share: loading a model
//! ([`Loaded`]), the sampling flags ([`SamplingArgs`]), the chat template, the Ctrl-C flag
//! and the end-of-run statistics.
//!
//! Decisions (where llama.cpp's `llama-cli` was the guide):
//! - `-p` text is tokenized with BOS as the vocabulary asks and control tokens parsed
//!   (`--no-parse-special` turns parsing off); `--chat` renders the model's own template
//!   first (the rendered prompt is always parsed).
//! - `-n` defaults to 256 tokens; `-n -1` means until end-of-generation or a full context.
//! - `--ctx` defaults to the model's training context, at most 4096.
//! - `--seed` defaults to a random one, printed in the statistics so a run can be repeated.
//! - Thinking (`<think>…</think>`, for vocabularies that have the tags) is dimmed on a
//!   terminal, written between `<think>` / `</think>` lines otherwise, or hidden.
//! - Ctrl-C stops generation; the text so far and the statistics are still printed.

use std::io::{IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::{Context, Result, bail};
use bague::chat::{ChatTemplate, Message, ReasoningConfig, SpecialTokens, StopReason};
use bague::generate::{Generator, Outcome, Piece, Request, StdClock};
use bague::gguf;
use bague::loader::MappedFile;
use bague::model::{KvType, Model};
use bague::sampler::{ModelHints, SamplerConfig};
use bague::session::{ContextPolicy, Session, SessionOptions};
use bague::tokenizer::{EncodeOptions, Tokenizer};

/// The model `bague run` and `bague chat` use without `--model` (pulled on first use).
pub const DEFAULT_MODEL: &str = "qwen2.5-coder-0.5b-instruct-q4_k_m";

/// Largest default context (tokens); `--ctx` may ask for more.
const DEFAULT_CTX_CAP: usize = 4096;

/// Arguments of `bague run`.
#[derive(clap::Args)]
pub struct Args {
    /// A GGUF file or a model id (see `bague list`); a known id is pulled on first use.
    #[arg(long, short, default_value = DEFAULT_MODEL)]
    pub model: String,
    /// The prompt text.
    #[arg(short = 'p', long = "prompt", conflicts_with = "file")]
    prompt: Option<String>,
    /// Read the prompt from a file (UTF-8). Without -p or -f, standard input is read.
    #[arg(short = 'f', long = "file")]
    file: Option<PathBuf>,
    /// Format the prompt as a user message with the model's chat template.
    #[arg(long)]
    chat: bool,
    /// System message for --chat.
    #[arg(long, requires = "chat")]
    system: Option<String>,
    /// Most tokens to generate; -1 = until end-of-generation or a full context.
    #[arg(
        short = 'n',
        long = "n-predict",
        default_value_t = 256,
        allow_negative_numbers = true
    )]
    n_predict: i64,
    #[command(flatten)]
    pub sampling: SamplingArgs,
    #[command(flatten)]
    pub session: SessionArgs,
    /// Close the thinking block after N thinking tokens and go on with the answer.
    #[arg(long, value_name = "N")]
    think_budget: Option<u32>,
    /// Do not print the thinking text.
    #[arg(long)]
    hide_thinking: bool,
    /// Stop when this text appears (not printed); may be given several times.
    #[arg(long = "stop", value_name = "STR")]
    stop: Vec<String>,
    /// Tokenize control-token text in the prompt (`<|im_start|>`) as plain text.
    #[arg(long)]
    no_parse_special: bool,
    /// Print one JSON object (ids, text, thinking, stop reason, timings) instead of streaming.
    #[arg(long)]
    json: bool,
}

/// Sampling flags shared by `run` and `chat`. Unset flags keep the model's defaults
/// (`general.sampling.*`, DeepSeek's advice for R1 distills, else llama.cpp's).
#[derive(clap::Args, Clone, Debug)]
pub struct SamplingArgs {
    /// Temperature; 0 = greedy.
    #[arg(long, value_name = "T")]
    temp: Option<f32>,
    /// Keep the K most likely tokens (0 = off).
    #[arg(long, value_name = "K")]
    top_k: Option<u32>,
    /// Keep the most likely tokens up to probability mass P (1 = off).
    #[arg(long, value_name = "P")]
    top_p: Option<f32>,
    /// Drop tokens less likely than P times the most likely (0 = off).
    #[arg(long, value_name = "P")]
    min_p: Option<f32>,
    /// Penalty for repeating the last 64 tokens (1 = off).
    #[arg(long, value_name = "R")]
    repeat_penalty: Option<f32>,
    /// Random seed (default: a random one, printed at the end).
    #[arg(long, value_name = "S")]
    seed: Option<u64>,
}

impl SamplingArgs {
    /// The model's defaults with these flags on top.
    pub fn config(&self, file: &gguf::File<'_>) -> SamplerConfig {
        let mut c = SamplerConfig::defaults_for(&ModelHints::from_metadata(file));
        if let Some(t) = self.temp {
            c.temp = t;
        }
        if let Some(k) = self.top_k {
            c.top_k = k;
        }
        if let Some(p) = self.top_p {
            c.top_p = p;
        }
        if let Some(p) = self.min_p {
            c.min_p = p;
        }
        if let Some(r) = self.repeat_penalty {
            c.penalty_repeat = r;
        }
        c.seed = self.seed.unwrap_or_else(random_seed);
        c
    }
}

/// A seed from the clock and the process id.
fn random_seed() -> u64 {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    t ^ (u64::from(std::process::id()) << 32)
}

/// Context and thread flags shared by `run` and `chat`.
#[derive(clap::Args, Clone, Debug)]
pub struct SessionArgs {
    /// Context length in tokens (default: the model's, at most 4096).
    #[arg(long = "ctx", short = 'c', value_name = "N")]
    pub ctx: Option<usize>,
    /// Worker threads (default: the CPUs available to this process).
    #[arg(long, short = 't', value_name = "N")]
    pub threads: Option<usize>,
    /// When the context is full, drop the older half of it and go on (llama.cpp's
    /// context shift) instead of stopping.
    #[arg(long)]
    pub context_shift: bool,
    /// KV cache element type for keys and values: `f16` (default, llama.cpp's) or `q8_0`
    /// (llama.cpp's `--cache-type-k/v q8_0`: 8.5 bits per value, about half the memory;
    /// needs a head size that is a multiple of 32).
    #[arg(long, value_name = "TYPE", default_value = "f16", value_parser = parse_kv_type)]
    pub kv_type: KvType,
}

/// `f16` | `q8_0` (case-insensitive).
fn parse_kv_type(s: &str) -> Result<KvType, String> {
    KvType::from_name(s).ok_or_else(|| format!("unknown KV cache type {s:?} (f16 or q8_0)"))
}

impl SessionArgs {
    /// Session options for `model`. Errors: `--threads 0`, `--ctx 0`.
    pub fn options(&self, model: &Model<'_>, n_keep: usize) -> Result<SessionOptions> {
        let n_threads = match self.threads {
            Some(0) => bail!("--threads must be at least 1"),
            Some(n) => n,
            None => std::thread::available_parallelism().map_or(1, |n| n.get()),
        };
        let n_ctx = match self.ctx {
            Some(0) => bail!("--ctx must be at least 1"),
            Some(n) => n,
            None => model.config.n_ctx_train.clamp(1, DEFAULT_CTX_CAP),
        };
        Ok(SessionOptions {
            n_ctx,
            n_threads,
            kv_type: self.kv_type,
            context_policy: if self.context_shift {
                ContextPolicy::Shift { n_keep }
            } else {
                ContextPolicy::Error
            },
            ..SessionOptions::default()
        })
    }
}

/// A mapped GGUF file; [`Loaded::open`] parses it and binds model and tokenizer.
pub struct Mapped {
    map: MappedFile,
}

/// Everything a command needs from a model file.
pub struct Loaded<'a> {
    /// The parsed header.
    pub file: gguf::File<'a>,
    /// The tokenizer.
    pub tok: Tokenizer<'a>,
    /// Config and weights.
    pub model: Model<'a>,
}

impl Mapped {
    /// Resolves `arg` (a path, or a registry id, pulled on first use) and maps the file.
    pub fn resolve(arg: &str) -> Result<Mapped> {
        let path = model_path(arg)?;
        let map =
            MappedFile::open(&path).with_context(|| format!("{}: cannot open", path.display()))?;
        Ok(Mapped { map })
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        self.map.path()
    }

    /// Parses the header and binds the tokenizer and the weights.
    /// Errors name the file and what is wrong (a truncated file names the tensor).
    pub fn open(&self) -> Result<Loaded<'_>> {
        let p = self.path().display();
        let file = self
            .map
            .parse()
            .with_context(|| format!("{p}: not a valid GGUF file"))?;
        let tok = Tokenizer::from_gguf(&file).with_context(|| format!("{p}: tokenizer"))?;
        let model =
            Model::from_gguf(&file).with_context(|| format!("{p}: cannot load the model"))?;
        Ok(Loaded { file, tok, model })
    }
}

/// A command-line model argument as a file path: an existing file; a registry id (pulled
/// into the cache if it is not there yet); otherwise the resolver's error.
fn model_path(arg: &str) -> Result<PathBuf> {
    if Path::new(arg).is_file() {
        return Ok(PathBuf::from(arg));
    }
    let reg = crate::registry::Registry::load()?;
    if reg.find(arg).is_some() {
        return crate::models::ensure_model(arg);
    }
    crate::models::resolve_model(arg)
}

impl Loaded<'_> {
    /// The model's chat template (jinja), with the vocabulary's BOS/EOS texts.
    /// Errors: no template in the file, or it does not compile.
    pub fn template(&self) -> Result<ChatTemplate> {
        let src = self.file.get_str("tokenizer.chat_template").map_err(|_| {
            anyhow::anyhow!("the model file has no chat template (tokenizer.chat_template)")
        })?;
        let text = |id: Option<u32>| {
            id.and_then(|id| self.tok.piece(id).ok())
                .map(|b| String::from_utf8_lossy(&b).into_owned())
                .unwrap_or_default()
        };
        let tokens = SpecialTokens {
            bos: text(self.tok.bos_id()),
            eos: text(self.tok.eos_id()),
            add_bos: self.tok.add_bos(),
            add_eos: self.tok.add_eos(),
        };
        Ok(ChatTemplate::new(src, tokens)?)
    }

    /// The `<think>` splitter settings when the vocabulary has both tags as tokens.
    pub fn reasoning(&self, prompt_text: &str, budget: Option<u32>) -> Option<ReasoningConfig> {
        let cfg = ReasoningConfig::r1();
        (self.tok.token_id(&cfg.open_tag).is_some() && self.tok.token_id(&cfg.close_tag).is_some())
            .then(|| {
                cfg.starts_in_thinking(bague::chat::reasoning::prompt_opens_thinking(prompt_text))
                    .budget(budget)
            })
    }

    /// Positions a context shift keeps: BOS when the vocabulary adds it.
    pub fn n_keep(&self) -> usize {
        usize::from(self.tok.add_bos())
    }
}

/// The cancel flag, raised by Ctrl-C (installed once per process).
pub fn ctrl_c_flag() -> Result<Arc<AtomicBool>> {
    let flag = Arc::new(AtomicBool::new(false));
    let f = flag.clone();
    ctrlc::set_handler(move || f.store(true, Ordering::Relaxed))
        .context("cannot install the Ctrl-C handler")?;
    Ok(flag)
}

/// Peak resident memory of this process in KiB (`VmHWM` of /proc/self/status; Linux only).
pub fn peak_rss_kib() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// The statistics line(s) printed to stderr after a generation.
pub fn stats_text(o: &Outcome, seed: Option<u64>) -> String {
    let t = &o.timings;
    let mut s = format!(
        "prompt: {} tokens ({} reused) | prefill {:.1} tok/s ({:.0} ms) | decode {:.1} tok/s ({} tokens, {:.0} ms) | ttft {:.0} ms",
        o.n_prompt,
        o.n_reused,
        t.prefill_tok_s(),
        t.prefill_ms(),
        t.decode_tok_s(),
        t.n_decode,
        t.decode_ms(),
        t.ttft_ms(),
    );
    if let Some(kib) = peak_rss_kib() {
        s.push_str(&format!(" | peak RSS {:.1} MiB", kib as f64 / 1024.0));
    }
    s.push_str(&format!(" | stop: {}", o.stop_reason));
    if let Some(seed) = seed {
        s.push_str(&format!(" | seed {seed}"));
    }
    s
}

/// Writes pieces to stdout: thinking dimmed (terminal), between tag lines (pipe), or
/// hidden. Also keeps the whole text and thinking.
pub struct Printer {
    /// Print thinking at all.
    pub show_thinking: bool,
    /// Print anything at all (`--json` collects only).
    pub stream: bool,
    tty: bool,
    in_thinking: bool,
    /// Answer text so far.
    pub text: String,
    /// Thinking text so far.
    pub thinking: String,
}

impl Printer {
    /// A printer for stdout.
    pub fn new(show_thinking: bool, stream: bool) -> Self {
        Printer {
            show_thinking,
            stream,
            tty: std::io::stdout().is_terminal(),
            in_thinking: false,
            text: String::new(),
            thinking: String::new(),
        }
    }

    /// Forgets the collected text (next chat turn).
    pub fn clear(&mut self) {
        self.text.clear();
        self.thinking.clear();
    }

    /// Handles one piece.
    pub fn piece(&mut self, p: Piece<'_>) {
        if p.thinking {
            self.thinking.push_str(p.text);
        } else {
            self.text.push_str(p.text);
        }
        if !self.stream || (p.thinking && !self.show_thinking) {
            return;
        }
        let mut out = std::io::stdout().lock();
        if p.thinking != self.in_thinking {
            self.switch(&mut out, p.thinking);
        }
        let _ = out.write_all(p.text.as_bytes());
        let _ = out.flush();
    }

    /// Closes an open thinking block on screen.
    pub fn end(&mut self) {
        if self.stream && self.in_thinking {
            let mut out = std::io::stdout().lock();
            self.switch(&mut out, false);
            let _ = out.flush();
        }
    }

    fn switch(&mut self, out: &mut impl Write, thinking: bool) {
        let mark = match (self.tty, thinking) {
            (true, true) => "\x1b[2m",
            (true, false) => "\x1b[0m",
            (false, true) => "<think>\n",
            (false, false) => "\n</think>\n",
        };
        let _ = out.write_all(mark.as_bytes());
        self.in_thinking = thinking;
    }
}

/// Reads the prompt: `-p`, `-f` (must be UTF-8), or standard input when it is not a terminal.
fn read_prompt(args: &Args) -> Result<String> {
    if let Some(p) = &args.prompt {
        return Ok(p.clone());
    }
    let (bytes, what) = match &args.file {
        Some(f) => (
            std::fs::read(f).with_context(|| format!("{}: cannot read", f.display()))?,
            f.display().to_string(),
        ),
        None => {
            let stdin = std::io::stdin();
            if stdin.is_terminal() {
                bail!("no prompt: give -p TEXT, -f FILE, or pipe the text on standard input");
            }
            let mut b = Vec::new();
            stdin
                .lock()
                .read_to_end(&mut b)
                .context("reading standard input")?;
            (b, "standard input".to_string())
        }
    };
    String::from_utf8(bytes).map_err(|e| {
        anyhow::anyhow!(
            "{what}: not valid UTF-8 (invalid byte at offset {})",
            e.utf8_error().valid_up_to()
        )
    })
}

/// Runs `bague run`.
pub fn run(args: Args) -> Result<()> {
    let text = read_prompt(&args)?;
    if let Some(0) = args.session.threads {
        bail!("--threads must be at least 1");
    }
    let mapped = Mapped::resolve(&args.model)?;
    let m = mapped.open()?;
    let (prompt_text, parse_special) = if args.chat {
        let mut msgs = Vec::new();
        if let Some(s) = &args.system {
            msgs.push(Message::system(s.clone()));
        }
        msgs.push(Message::user(text));
        (m.template()?.apply(&msgs, true)?, true)
    } else {
        (text, !args.no_parse_special)
    };
    let prompt = m.tok.encode(
        &prompt_text,
        EncodeOptions {
            add_special: true,
            parse_special,
        },
    )?;
    let opts = args.session.options(&m.model, m.n_keep())?;
    if prompt.len() > opts.n_ctx {
        bail!(
            "the prompt has {} tokens, more than the context of {} (raise --ctx or shorten the prompt)",
            prompt.len(),
            opts.n_ctx
        );
    }
    let cfg = args.sampling.config(&m.file);
    let mut session = Session::new(&m.model, opts)?;
    let mut generator = Generator::new(&m.tok, cfg)?;
    let stops: Vec<&str> = args.stop.iter().map(String::as_str).collect();
    let req = Request {
        prompt: &prompt,
        max_tokens: u32::try_from(args.n_predict).ok(),
        stop: &stops,
        reasoning: m.reasoning(&prompt_text, args.think_budget),
    };
    let cancel = ctrl_c_flag()?;
    let mut printer = Printer::new(!args.hide_thinking, !args.json);
    let clock = StdClock::new();
    let outcome = generator.generate(&mut session, &req, &cancel, &clock, &mut |p| {
        printer.piece(p)
    })?;
    printer.end();
    if args.json {
        let t = &outcome.timings;
        let v = serde_json::json!({
            "model": mapped.path().display().to_string(),
            "prompt_ids": prompt,
            "output_ids": outcome.output_ids,
            "text": printer.text,
            "thinking": printer.thinking,
            "stop_reason": outcome.stop_reason.as_str(),
            "thinking_tokens": outcome.thinking_tokens,
            "thinking_forced_end": outcome.thinking_forced_end,
            "seed": cfg.seed,
            "n_ctx": session.n_ctx(),
            "n_threads": opts.n_threads,
            "timings": {
                "n_prompt": outcome.n_prompt,
                "n_prefill": t.n_prefill,
                "n_decode": t.n_decode,
                "prefill_ms": t.prefill_ms(),
                "decode_ms": t.decode_ms(),
                "ttft_ms": t.ttft_ms(),
                "prefill_tok_s": t.prefill_tok_s(),
                "decode_tok_s": t.decode_tok_s(),
            },
            "peak_rss_kib": peak_rss_kib(),
        });
        println!("{v}");
    } else {
        println!();
        eprintln!("{}", stats_text(&outcome, Some(cfg.seed)));
    }
    if outcome.stop_reason == StopReason::Cancelled {
        eprintln!("(stopped by Ctrl-C)");
    }
    Ok(())
}

//! `bague run`: generate text from a prompt and stream it, then print speed and memory.
//!
//! Decisions (where llama.cpp's `llama-cli` was the guide):
//! - `-p` text is tokenized with BOS as the vocabulary asks and control tokens parsed
//!   (`--no-parse-special` turns parsing off); `--chat` renders the model's own template
//!   first: its markup becomes control tokens, the message text never does (a prompt
//!   cannot forge a turn by writing `<|im_start|>`), as `Bundle::chat_prompt` does it.
//! - `-n` defaults to 256 tokens; `-n -1` means until end-of-generation or a full context.
//! - `--ctx` defaults to the model's training context, at most 4096.
//! - `--seed` defaults to a random one, printed in the statistics so a run can be repeated.
//! - Thinking (`<think>…</think>`, for vocabularies that have the tags) is dimmed on a
//!   terminal, written between `<think>` / `</think>` lines otherwise, or hidden.
//! - Ctrl-C stops generation; the text so far and the statistics are still printed.
//! - `--json-schema` / `--grammar` / `--regex` constrain the answer ([`crate::constraint`]);
//!   `--json` still prints one JSON object, whose `text` is the constrained output, with the
//!   compile time and per-token mask times under `constraint`.

use std::io::{IsTerminal, Read};
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use bague::bundle::PromptError;
use bague::chat::Message;
use bague::generate::{Generator, Request, StdClock, StopReason};
use bague_board_phone::ThermalSink;

use crate::constraint::{ConstraintArgs, MaskStats};
use crate::backend::Backend;
use crate::load::{DEFAULT_MODEL, Mapped};
use crate::options::{SamplingArgs, SessionArgs};
use crate::output::{Printer, ctrl_c_flag, peak_rss_kib, stats_text, too_long};

/// Arguments of `bague run`.
#[derive(clap::Args)]
pub struct Args {
    /// A GGUF file or a model id (see `bague list`); a known id is pulled on first use.
    #[arg(long, short, default_value = DEFAULT_MODEL)]
    model: String,
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
        allow_negative_numbers = true,
        value_parser = crate::options::parse_n_predict
    )]
    n_predict: i64,
    #[command(flatten)]
    sampling: SamplingArgs,
    #[command(flatten)]
    session: SessionArgs,
    #[command(flatten)]
    constraint: ConstraintArgs,
    /// Close the thinking block after N thinking tokens and go on with the answer.
    #[arg(long, value_name = "N")]
    think_budget: Option<u32>,
    /// Do not print the thinking text.
    #[arg(long)]
    hide_thinking: bool,
    /// Stop when this text appears (not printed); may be given several times.
    #[arg(long = "stop", value_name = "STR")]
    stop: Vec<String>,
    /// Tokenize control-token text in the prompt (`<|im_start|>`) as plain text. (With
    /// --chat, message text is always plain text; only the template's markup is parsed.)
    #[arg(long, conflicts_with = "chat")]
    no_parse_special: bool,
    /// Print one JSON object (ids, text, thinking, stop reason, timings) instead of streaming.
    #[arg(long)]
    json: bool,
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
    args.session.threads()?;
    let mapped = Mapped::resolve(&args.model)?;
    let m = mapped.open()?;
    let n_ctx = args.session.n_ctx(&m)?;
    // A context shift keeps the prompt: the whole raw prompt, or a chat's preamble and
    // system message (llama.cpp's n_keep), never just BOS (or nothing, without BOS).
    let (prompt_text, prompt, n_keep) = if args.chat {
        let mut msgs = Vec::new();
        if let Some(s) = &args.system {
            msgs.push(Message::system(s.clone()));
        }
        let n_keep = m.chat_preamble_len(&msgs);
        msgs.push(Message::user(text));
        let p = m.chat_prompt(&msgs, true, n_ctx).map_err(|e| match e {
            PromptError::Tokenizer(e) => too_long(e, n_ctx),
            e => e.into(),
        })?;
        (p.text, p.ids, n_keep)
    } else {
        let ids = m
            .encode(&text, !args.no_parse_special, n_ctx)
            .map_err(|e| too_long(e, n_ctx))?;
        let n = ids.len();
        (text, ids, n)
    };
    let opts = args.session.options(&m, n_keep)?;
    let cfg = args.sampling.config(&m);
    let backend = Backend::open(&args.session.backend.backend, &m.model)?;
    // On the CPU, `--threads auto` runs the phone board's pool and thermal back-off.
    let (mut session, mut thermal) = if backend.is_cpu() {
        args.session.session(&m.model, opts)?
    } else {
        (backend.session(&m.model, opts)?, None)
    };
    let mut generator = Generator::new(&m.tokenizer, cfg)?;
    let applied = args.constraint.apply(&m, &mut generator)?;
    let stops: Vec<&str> = args.stop.iter().map(String::as_str).collect();
    let req = Request {
        prompt: &prompt,
        max_tokens: u32::try_from(args.n_predict).ok(),
        stop: &stops,
        reasoning: m.reasoning(&prompt_text, args.think_budget),
        pin_empty_thinking: args.constraint.skip_thinking,
        batch_forced: false,
    };
    let cancel = ctrl_c_flag()?;
    let mut printer = Printer::new(!args.hide_thinking, !args.json);
    let clock = StdClock::new();
    let outcome = match thermal.as_mut() {
        Some(t) => {
            let mut sink = ThermalSink::new(&mut printer, t);
            generator.generate(&mut session, &req, &cancel, &clock, &mut sink)
        }
        None => generator.generate(&mut session, &req, &cancel, &clock, &mut printer),
    }
    .map_err(|e| crate::output::generate_error(e, &generator))?;
    printer.end();
    let masks = applied.as_ref().map(|_| MaskStats::of(&outcome.masks));
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
            "backend": session.backend_name(),
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
            "constraint": applied.as_ref().zip(masks).map(|(a, s)| {
                let mut v = s.json();
                v["kind"] = a.kind.into();
                v["vocab_ms"] = a.vocab_ms.into();
                v["compile_ms"] = a.compile_ms.into();
                v
            }),
        });
        printer.line(&v.to_string())?;
    } else {
        printer.line("")?;
        eprintln!("{}", stats_text(&outcome, Some(cfg.seed)));
        if let (Some(a), Some(s)) = (&applied, masks) {
            eprintln!(
                "{}: token trie {:.1} ms, compiled in {:.2} ms | {}",
                a.kind,
                a.vocab_ms,
                a.compile_ms,
                s.line()
            );
        }
    }
    // A closed stdout stopped the generation: exit quietly (main treats it as success).
    printer.result()?;
    if outcome.stop_reason == StopReason::Cancelled {
        eprintln!("(stopped by Ctrl-C)");
        return Err(crate::output::Interrupted.into());
    }
    Ok(())
}

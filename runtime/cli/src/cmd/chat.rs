//! `bague chat`: an interactive conversation with the model's own chat template.
//!
//! Each turn renders the whole history and generates the answer. The KV cache is reused:
//! only the part of the rendered prompt after what the cache already holds is prefilled
//! (the generator keeps the common prefix). Earlier answers are kept without their
//! thinking, as the R1 template renders them, so after a thinking turn the cache is cut
//! back to where that answer began.
//!
//! `--json-schema` / `--grammar` / `--regex` constrain every answer; `--skip-thinking` pins an
//! empty thinking block before each.
//!
//! Commands: `/reset` forgets the conversation, `/exit` (or end of input) quits. Ctrl-C
//! stops the answer being written and keeps what was written; Ctrl-C at the prompt quits.

use std::io::{BufRead, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::{Context, Result};
use bague::bundle::{ChatPrompt, PromptError};
use bague::chat::{Message, reasoning::drop_thinking};
use bague::generate::{Generator, Request, StdClock, StopReason};
use bague_board_phone::ThermalSink;

use crate::constraint::{ConstraintArgs, MaskStats};
use crate::backend::Backend;
use crate::load::{DEFAULT_MODEL, Mapped};
use crate::options::{SamplingArgs, SessionArgs};
use crate::output::{Printer, stats_text};

/// Arguments of `bague chat`.
#[derive(clap::Args)]
pub struct Args {
    /// A GGUF file or a model id (see `bague list`); a known id is pulled on first use.
    #[arg(long, short, default_value = DEFAULT_MODEL)]
    model: String,
    /// System message at the start of the conversation.
    #[arg(long)]
    system: Option<String>,
    /// Most tokens per answer; -1 = until end-of-generation or a full context.
    #[arg(
        short = 'n',
        long = "n-predict",
        default_value_t = -1,
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
    /// Print the speed statistics after each answer.
    #[arg(long)]
    stats: bool,
    /// Print each answer as one JSON line (ids, text, thinking, stop reason) instead of
    /// streaming it; for scripts and tests.
    #[arg(long)]
    json: bool,
}

/// Ctrl-C: stops the answer while one is being generated; quits otherwise.
fn install_ctrl_c(generating: Arc<AtomicBool>) -> Result<Arc<AtomicBool>> {
    crate::output::ctrl_c_exits_unless(generating)
}

/// Runs `bague chat`.
pub fn run(args: Args) -> Result<()> {
    args.session.threads()?;
    let mapped = Mapped::resolve(&args.model)?;
    let m = mapped.open()?;
    m.template()?;
    let start: Vec<Message> = args
        .system
        .iter()
        .map(|s| Message::system(s.clone()))
        .collect();
    // A context shift keeps the template's preamble and the system message.
    let opts = args.session.options(&m, m.chat_preamble_len(&start))?;
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
    let generating = Arc::new(AtomicBool::new(false));
    let cancel = install_ctrl_c(generating.clone())?;
    let clock = StdClock::new();
    let mut printer = Printer::new(!args.hide_thinking, !args.json);

    let mut history = start.clone();
    eprintln!(
        "bague chat: {} (context {}, {}). /reset forgets, /exit quits, Ctrl-C stops an answer.",
        mapped.path().display(),
        opts.n_ctx,
        if session.is_gpu() {
            session.backend_name()
        } else {
            format!("{} threads", opts.n_threads)
        }
    );
    let stdin = std::io::stdin();
    let mut line = String::new();
    loop {
        eprint!("> ");
        std::io::stderr().flush().ok();
        line.clear();
        if stdin
            .lock()
            .read_line(&mut line)
            .context("reading standard input")?
            == 0
        {
            eprintln!();
            break;
        }
        let input = line.trim_end_matches(['\n', '\r']);
        match input.trim() {
            "" => continue,
            "/exit" | "/quit" => break,
            "/reset" => {
                history = start.clone();
                generator.reset();
                session.reset();
                eprintln!("(conversation reset)");
                continue;
            }
            _ => {}
        }
        history.push(Message::user(input));
        drop_thinking(&mut history);
        let fits = match m.chat_prompt(&history, true, opts.n_ctx) {
            Ok(p) => generator.validate(&session, &p.ids).map(|()| p).map_err(|e| e.to_string()),
            Err(PromptError::Tokenizer(bague::tokenizer::Error::TooManyTokens { max })) => Err(
                format!("the conversation has more than {max} tokens, more than the context"),
            ),
            Err(e) => return Err(e.into()),
        };
        let ChatPrompt { text, ids: prompt } = match fits {
            Ok(p) => p,
            Err(why) => {
                history.pop();
                eprintln!("bague: {why}: /reset, or restart with a larger --ctx");
                continue;
            }
        };
        let req = Request {
            prompt: &prompt,
            max_tokens: u32::try_from(args.n_predict).ok(),
            stop: &[],
            reasoning: m.reasoning(&text, args.think_budget),
            pin_empty_thinking: args.constraint.skip_thinking,
            batch_forced: false,
        };
        printer.clear();
        cancel.store(false, Ordering::Relaxed);
        generating.store(true, Ordering::Relaxed);
        let result = match thermal.as_mut() {
            Some(t) => {
                let mut sink = ThermalSink::new(&mut printer, t);
                generator.generate(&mut session, &req, &cancel, &clock, &mut sink)
            }
            None => generator.generate(&mut session, &req, &cancel, &clock, &mut printer),
        };
        generating.store(false, Ordering::Relaxed);
        printer.end();
        let outcome = result.map_err(|e| crate::output::generate_error(e, &generator))?;
        let masks = applied.as_ref().map(|_| MaskStats::of(&outcome.masks));
        if args.json {
            let v = serde_json::json!({
                "output_ids": outcome.output_ids,
                "text": printer.text,
                "thinking": printer.thinking,
                "stop_reason": outcome.stop_reason.as_str(),
                "thinking_tokens": outcome.thinking_tokens,
                "thinking_forced_end": outcome.thinking_forced_end,
                "n_prompt": outcome.n_prompt,
                "n_reused": outcome.n_reused,
                "constraint": masks.map(|s| s.json()),
            });
            printer.line(&v.to_string())?;
        } else {
            printer.line("")?;
        }
        if outcome.stop_reason == StopReason::Cancelled {
            eprintln!("(stopped)");
        } else if outcome.stop_reason == StopReason::ContextFull {
            eprintln!("(the context is full: /reset to go on)");
        }
        if args.stats {
            eprintln!("{}", stats_text(&outcome, None));
            if let Some(s) = masks {
                eprintln!("{}", s.line());
            }
        }
        history.push(Message::assistant(printer.text.clone()));
    }
    Ok(())
}

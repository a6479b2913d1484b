//! What the generating commands print: the streamed text ([`Printer`]: thinking dimmed on
//! a terminal, between tag lines in a pipe, or hidden), the statistics line after a
//! generation, peak memory, and the Ctrl-C flag.

use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

use anyhow::{Context, Result};
use bague::generate::{Outcome, Piece, Sink};
use std::ops::ControlFlow;

/// The process's Ctrl-C flag (also `bague pull`'s, which may run before `run` or `chat`
/// in the same process).
static CTRL_C: OnceLock<Arc<AtomicBool>> = OnceLock::new();
/// Set by `bague chat`: while this is false (no answer being generated), Ctrl-C exits.
static EXIT_UNLESS: OnceLock<Arc<AtomicBool>> = OnceLock::new();

/// The cancel flag, raised by Ctrl-C. The handler is installed on the first call; later
/// calls return the same flag (a process has one handler).
pub fn ctrl_c_flag() -> Result<Arc<AtomicBool>> {
    if let Some(f) = CTRL_C.get() {
        return Ok(f.clone());
    }
    let flag = Arc::new(AtomicBool::new(false));
    let f = flag.clone();
    ctrlc::set_handler(move || {
        if EXIT_UNLESS
            .get()
            .is_some_and(|busy| !busy.load(Ordering::Relaxed))
        {
            eprintln!();
            std::process::exit(130);
        }
        f.store(true, Ordering::Relaxed);
    })
    .context("cannot install the Ctrl-C handler")?;
    Ok(CTRL_C.get_or_init(|| flag).clone())
}

/// From now on Ctrl-C exits the process (status 130) whenever `busy` is false, and raises
/// the flag of [`ctrl_c_flag`] otherwise (`bague chat`: stop the answer, or quit).
pub fn ctrl_c_exits_unless(busy: Arc<AtomicBool>) -> Result<Arc<AtomicBool>> {
    let flag = ctrl_c_flag()?;
    let _ = EXIT_UNLESS.set(busy);
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
    let mut s = format!("prompt: {} tokens ({} reused)", o.n_prompt, o.n_reused);
    if o.output_ids.is_empty() && o.stop_reason == bague::generate::StopReason::Cancelled {
        // Stopped during the prompt: no token, so no speed or time to first token.
        s.push_str(&format!(
            " | prefill stopped after {:.0} ms",
            t.prefill_ms()
        ));
    } else {
        s.push_str(&format!(
            " | prefill {:.1} tok/s ({:.0} ms) | decode {:.1} tok/s ({} tokens, {:.0} ms) | ttft {:.0} ms",
            t.prefill_tok_s(),
            t.prefill_ms(),
            t.decode_tok_s(),
            t.n_decode,
            t.decode_ms(),
            t.ttft_ms(),
        ));
    }
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
    /// The first failed write to stdout (a closed pipe: `bague run | head`); nothing more
    /// is written after it, and as a [`Sink`] the printer then stops the generation.
    failed: Option<std::io::ErrorKind>,
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
            failed: None,
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
        if p.thinking != self.in_thinking {
            self.switch(p.thinking);
        }
        self.write(p.text);
    }

    /// Closes an open thinking block on screen.
    pub fn end(&mut self) {
        if self.stream && self.in_thinking {
            self.switch(false);
        }
    }

    /// Writes a line to stdout (the JSON result, the newline after a streamed answer)
    /// unless a write already failed. Errors: the first failed write, e.g. `BrokenPipe`.
    pub fn line(&mut self, s: &str) -> std::io::Result<()> {
        self.write(s);
        self.write("\n");
        self.result()
    }

    /// `Err` with the first failed write's kind, if any.
    pub fn result(&self) -> std::io::Result<()> {
        self.failed.map_or(Ok(()), |k| Err(k.into()))
    }

    fn switch(&mut self, thinking: bool) {
        let mark = match (self.tty, thinking) {
            (true, true) => "\x1b[2m",
            (true, false) => "\x1b[0m",
            (false, true) => "<think>\n",
            (false, false) => "\n</think>\n",
        };
        self.write(mark);
        self.in_thinking = thinking;
    }

    fn write(&mut self, s: &str) {
        if self.failed.is_some() {
            return;
        }
        let mut out = std::io::stdout().lock();
        if let Err(e) = out.write_all(s.as_bytes()).and_then(|()| out.flush()) {
            self.failed = Some(e.kind());
        }
    }
}

impl Sink for Printer {
    fn piece(&mut self, p: Piece<'_>) -> ControlFlow<()> {
        Printer::piece(self, p);
        match self.failed {
            Some(_) => ControlFlow::Break(()),
            None => ControlFlow::Continue(()),
        }
    }
}

/// The user stopped the command with Ctrl-C (after its partial output and statistics were
/// printed): `main` exits with status 130, as a shell reports SIGINT, and no message.
#[derive(Debug)]
pub struct Interrupted;

impl std::fmt::Display for Interrupted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("interrupted")
    }
}

impl std::error::Error for Interrupted {}

/// A prompt that tokenized past the context (tokenizing stopped there) as the user sees it.
pub fn too_long(e: bague::tokenizer::Error, n_ctx: usize) -> anyhow::Error {
    match e {
        bague::tokenizer::Error::TooManyTokens { .. } => anyhow::anyhow!(
            "the prompt has more than {n_ctx} tokens, more than the context of {n_ctx} (raise --ctx or shorten the prompt)"
        ),
        e => e.into(),
    }
}

/// A session that cannot be made, as the user sees it: memory names the flags that
/// change it.
pub fn session_error(e: bague::model::Error) -> anyhow::Error {
    use bague::model::Error as E;
    match e {
        E::OverBudget { need, budget } => anyhow::anyhow!(
            "the session needs {:.1} MiB (KV cache and work buffers), more than the {:.1} MiB of memory available (lower --ctx)",
            need as f64 / 1048576.0,
            budget as f64 / 1048576.0
        ),
        E::OutOfMemory { .. } => anyhow::anyhow!("{e} (lower --ctx)"),
        e => e.into(),
    }
}

/// A generation error for the user: [`with_ctx_hint`], and a constraint's failure with the
/// engine's own words.
pub fn generate_error(
    e: bague::generate::Error,
    g: &bague::generate::Generator<'_, '_>,
) -> anyhow::Error {
    match (e, g.constraint().and_then(|c| c.last_error())) {
        (bague::generate::Error::Constraint(_), Some(detail)) => anyhow::anyhow!("{e}: {detail}"),
        _ => with_ctx_hint(e),
    }
}

/// A generation error as the user sees it: a prompt that does not fit the context names the
/// flag that changes it.
pub fn with_ctx_hint(e: bague::generate::Error) -> anyhow::Error {
    match e {
        bague::generate::Error::Model(bague::model::Error::ContextFull { .. }) => {
            anyhow::anyhow!("{e} (raise --ctx or shorten the prompt)")
        }
        e => e.into(),
    }
}

//! What the generating commands print: the streamed text ([`Printer`]: thinking dimmed on
//! a terminal, between tag lines in a pipe, or hidden), the statistics line after a
//! generation, peak memory, and the Ctrl-C flag.

use std::io::{IsTerminal, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::{Context, Result};
use bague::generate::{Outcome, Piece};

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

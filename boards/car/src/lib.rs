//! bague on a car voice unit: **voice-command mode**. A transcript (the speech
//! recogniser's text) goes in; one intent, a JSON value that a JSON schema accepts, comes
//! out — or an error value, never a partial JSON reported as success.
//!
//! ```text
//! transcript ─▶ chat prompt (system message: the intents; KV cache of it kept) ─▶ prefill
//!            ─▶ greedy decode, every token from the schema's mask (llguidance)
//!            ─▶ per token: deadline? watchdog? token cap? ─▶ end-of-generation: Intent
//! ```
//!
//! What the mode fixes, so that a command is deterministic and bounded:
//!
//! - **Schema**: decoding is constrained to the intent schema
//!   ([`IntentSchema`], compiled once per model by the core's `constraint::grammar`); the
//!   model may only end where the JSON is complete.
//! - **Greedy**: the same transcript gives the same intent, at any thread count.
//! - **Forced tokens in one batch** ([`VoiceConfig::batch_forced`], on by default): the
//!   text the schema fixes whatever the model picks (`{"intent":"`, `","slots":{"`, closing
//!   braces) is fed to the model in one batch with the token before it, not one decode step
//!   per token.
//! - **Thinking pinned empty**: with a reasoning model (R1) an empty `<think>\n\n</think>`
//!   is prefilled after the prompt; the answer starts at once.
//! - **Token cap** ([`VoiceConfig::max_tokens`]): reaching it is [`CarError::TokenCap`].
//! - **Deadline** ([`VoiceConfig::deadline`], wall-clock from the call): checked at every
//!   token through the board's clock, and by an alarm thread that raises the generator's
//!   cancel flag when it passes, which the forward pass polls between layers (so a long
//!   prefill is cut too). Passing it is [`CarError::Deadline`].
//! - **Watchdog**: a callback per generated token ([`Watchdog`], [`Progress`]); breaking
//!   ends the command with [`CarError::Aborted`] (the product's own watchdog, a new
//!   utterance, ignition off).
//! - **KV reuse**: the system message's tokens stay in the KV cache between commands, so a
//!   command prefills only the transcript's turn ([`VoiceCommands::warm_up`] does the
//!   system message ahead of the first one).
//!
//! [`CarBoard`] is the core's [`Board`](bague::board::Board) for the car class
//! ([`bague::board::CAR`]: an AArch64 SoC, 2 GiB for the assistant, weights mapped, 4 cores),
//! with a monotonic clock.
//!
//! ```no_run
//! # fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use bague::bundle::Bundle;
//! use bague::constraint::grammar::Vocab;
//! use bague::loader::MappedFile;
//! use bague_board_car::{CarBoard, IntentSchema, VoiceCommands, VoiceConfig, Progress};
//! use std::ops::ControlFlow;
//! let board = CarBoard::new();
//! let file = MappedFile::open("qwen2.5-coder-0.5b-instruct-q4_k_m.gguf")?;
//! let bundle = Bundle::load(file.bytes(), board.bundle_options())?;
//! let vocab = Vocab::new(&bundle.tokenizer)?; // once per model (~2 s for 152k tokens)
//! let schema = IntentSchema::compile(&vocab, &std::fs::read_to_string("intents.json")?)?;
//! let system = std::fs::read_to_string("prompt.txt")?;
//! let mut voice = VoiceCommands::new(board, &bundle, &schema, &system, VoiceConfig::default())?;
//! voice.warm_up()?; // the system message into the KV cache, before the first command
//! let intent = voice.command("Mets la clim à 21 degrés", &mut |_: &Progress| ControlFlow::Continue(()))?;
//! println!("{} in {:?}", intent.json, intent.latency);
//! # Ok(()) }
//! ```

#![forbid(unsafe_code)]

mod board;
mod voice;

pub use board::CarBoard;
pub use voice::{
    CarError, Intent, IntentSchema, Progress, VoiceCommands, VoiceConfig, Watchdog, command,
};

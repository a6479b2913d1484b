//! One module per subcommand. Each module has `pub struct Args` (clap) and
//! `pub fn run(args: Args) -> anyhow::Result<()>`.
//!
//! To add a subcommand `foo`: write `cmd/foo.rs` with those two items, then add two lines to
//! the list below: a `///` line (its one-line help) and `Foo => foo,`.

macro_rules! subcommands {
    ($( $(#[$doc:meta])* $variant:ident => $module:ident, )*) => {
        $( pub mod $module; )*

        /// The subcommands of `bague`.
        #[derive(clap::Subcommand)]
        pub enum Command {
            $( $(#[$doc])* $variant($module::Args), )*
        }

        impl Command {
            /// Run the chosen subcommand.
            pub fn run(self) -> anyhow::Result<()> {
                match self {
                    $( Command::$variant(args) => $module::run(args), )*
                }
            }
        }
    };
}

subcommands! {
    /// Generate text from a prompt (-p, -f or stdin) and print speed and memory
    Run => run,
    /// Talk with a model, turn by turn (/reset, /exit; Ctrl-C stops an answer)
    Chat => chat,
    /// Perplexity of a text file, computed as llama.cpp's llama-perplexity does
    Perplexity => perplexity,
    /// Fetch models into the cache ($BAGUE_HOME/models) and verify their sha256
    Pull => pull,
    /// List the known models and which are on this machine
    List => list,
    /// Show a GGUF file's metadata and tensors, or dequantize a tensor's rows
    Inspect => inspect,
    /// Print the token ids and pieces of a text, as the model's tokenizer gives them
    Tokenize => tokenize,
    /// Print the text of token ids
    Detokenize => detokenize,
    /// Prefill and decode speed (tokens/s) as llama-bench measures them
    Bench => bench,
    /// Memory a model needs on a board (ring, hearing, phone, car), whether it fits, largest context
    Plan => plan,
}

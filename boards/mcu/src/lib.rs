//! What bague's microcontroller firmware shares (`boards/ring`, `boards/hearing`): the
//! counting [`Arena`] that is a board's only heap, with its limit set to the memory plan's
//! bytes; line-buffered semihosting output ([`Out`], [`say!`]); the semihosting command
//! line and exit ([`cmdline`], [`exit`]). Each board keeps its own memory map, clock,
//! board numbers and exit-code table.
#![no_std]

mod arena;
mod semihosting;

pub use arena::Arena;
pub use semihosting::{Out, cmdline, exit};

/// `writeln!` to an [`Out`], ignoring the (infallible) result.
#[macro_export]
macro_rules! say {
    ($out:expr, $($arg:tt)*) => {{
        use core::fmt::Write as _;
        let _ = writeln!($out, $($arg)*);
    }};
}

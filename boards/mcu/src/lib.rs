//! What bague's microcontroller firmware shares (`boards/ring`, `boards/hearing`): the
//! counting [`Arena`] that is a board's only heap, with its limit set to the memory plan's
//! bytes; the model [`load`] sequence (parse, plan, fit, arena limit, tokenizer and model);
//! SysTick as a 64-bit tick counter ([`SysTickCounter`], with the firmware's `SysTick`
//! handler); line-buffered semihosting output ([`Out`], [`say!`]); the semihosting command
//! line and exit ([`cmdline`], [`exit`]). Each board keeps its own memory map, SysTick
//! reload and clock rate, board numbers and exit-code table.
#![no_std]

mod arena;
mod load;
mod semihosting;
mod systick;

pub use arena::Arena;
pub use load::{LoadError, Loaded, load};
pub use semihosting::{Out, cmdline, exit};
pub use systick::SysTickCounter;

/// `writeln!` to an [`Out`], ignoring the (infallible) result.
#[macro_export]
macro_rules! say {
    ($out:expr, $($arg:tt)*) => {{
        use core::fmt::Write as _;
        let _ = writeln!($out, $($arg)*);
    }};
}

//! Progress bars on stderr (drawn only when stderr is a terminal).

use indicatif::{ProgressBar, ProgressStyle};
use std::time::Duration;

/// A bar counting `len` bytes, labelled `msg`, that redraws itself while nothing moves
/// (a download in another process) so the elapsed time stays live.
pub fn bytes_bar(len: u64, msg: &str) -> ProgressBar {
    let bar = ProgressBar::new(len);
    let style = ProgressStyle::with_template(
        "{spinner} {msg:40!} [{bar:30}] {bytes:>10}/{total_bytes:<10} {bytes_per_sec:>12} {elapsed}",
    )
    .unwrap_or_else(|_| ProgressStyle::default_bar())
    .progress_chars("=> ");
    bar.set_style(style);
    bar.set_message(msg.to_string());
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

//! The `bague` command.
fn main() {}

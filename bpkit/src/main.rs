//! The `bpkit` command.
fn main() {}
